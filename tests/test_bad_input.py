"""Hostile input (SPEC §6, issue 4): each item of the generated corpus and its outcome.

Every item has its expected outcome written here: either the files a job writes
(each image complete, its barcode the frame SPEC §2 names, computed for damaged
files from what a plain PyAV loop really decodes: ``bad_media.plain_decode``), or
the error class and the CLI's exit code with one line on stderr. Always: no
``.part`` temporary, no partial file, nothing at all written on an error.

"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import pytest

from bad_media import FRAMES, LIED_SECONDS, REAL_MS, build_corpus, complete_image, files_under, plain_decode
from engine import snapshot
from engine.errors import NotMediaError, NoVideoError, ProcessError, SourceNotFoundError
from engine.result import Result
from oracle import frame_index_of, leftovers, truth

SCRIPT = Path(sys.executable).parent / "snapshots"

@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return build_corpus(tmp_path_factory.mktemp("bad_media"))


@pytest.fixture(scope="session")
def decoded(corpus):
    cache = {}

    def get(name: str):
        if name not in cache:
            cache[name] = plain_decode(corpus[name])
        return cache[name]

    return get


def run(corpus, name: str, process: str, folder: Path, target: str = "x") -> Result:
    return snapshot(corpus[name], process, folder / target)


def check_files(result: Result, folder: Path) -> list[int | None]:
    """Every snapshot is one complete image of the size it reports, nothing else is in
    the folder (no temporary, no partial file); returns the barcodes, in serial order."""
    assert leftovers(folder) == []
    paths = [s.path for s in result.snapshots]
    assert len(set(paths)) == len(paths)
    assert files_under(folder) == set(paths)
    for shot in result.snapshots:
        assert complete_image(shot.path) == (shot.width, shot.height), shot
    assert [s.serial for s in result.snapshots] == list(range(1, len(paths) + 1))
    return [frame_index_of(p) for p in paths]


def expect_error(corpus, name, process, folder, cls, message):
    with pytest.raises(cls) as caught:
        run(corpus, name, process, folder)
    assert type(caught.value) is cls, type(caught.value)
    assert re.search(message, str(caught.value)), str(caught.value)
    assert not (folder / "x").exists() and list(folder.iterdir()) == [], "something was written on an error"
    return caught.value


def avg_targets(end: Fraction, n: int) -> list[Fraction]:
    """m_avg targets in ms over [0, D): (k + ½)·D/n."""
    return [(k + Fraction(1, 2)) * end * 1000 / n for k in range(n)]


# --- inputs that are refused ------------------------------------------------------------

REFUSED = {
    "zero_bytes": (NotMediaError, r"empty \(0 bytes\)"),
    "text": (NotMediaError, r"not a media file FFmpeg can read"),
    "random": (NotMediaError, r"not a media file FFmpeg can read"),
    "truncated_moov_at_end_50": (NotMediaError, r"not a media file FFmpeg can read"),
    "no_moov": (NotMediaError, r"not a media file FFmpeg can read"),
    "audio_no_cover": (NoVideoError, r"no video stream and no cover picture"),
    "directory": (NotMediaError, r"is a directory"),
    "missing": (SourceNotFoundError, r"no such file"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_input_raises_its_class_naming_the_input(corpus, tmp_path, name):
    cls, message = REFUSED[name]
    error = expect_error(corpus, name, "video/snapshots,f_jpg,m_avg,num_3", tmp_path, cls, message)
    assert os.fspath(corpus[name]) in str(error)


# --- the CLI on every item: exit code, one line on stderr, no traceback -------------------

#: Exit code of the CLI under SMOKE (0: it writes files) for every refused item and
#: every damaged one (the valid odd ones run in-process below; the path with spaces
#: has its own CLI run): each run is a ~1 s process start, CI has 2 cores.
EXIT = {name: 3 for name in REFUSED} | {
    "truncated_10": 0,
    "truncated_50": 0,
    "truncated_99": 0,
    "corrupt_packets": 0,
    "over_reported": 0,
}
SMOKE = "video/snapshots,f_jpg,m_avg,num_3"
#: Extra CLI runs: (item, processing string, exit code, stderr pattern). The
#: half file holds 33 packets, the last cut short: 32 pictures decode (ffprobe
#: -count_frames agrees), so D is 32 × 40 ms (SPEC §2: D from pictures).
CLI_CASES = {
    "ss_past_real_end_truncated": ("truncated_50", "video/snapshots,f_jpg,ss_2000", 2, r"ss: 2000 ms is at or past the end of the video \(1280 ms\)"),
    "ss_past_real_end_over_reported": ("over_reported", "video/snapshots,f_jpg,ss_3000", 2, r"ss: 3000 ms is at or past the end of the video \(3000 ms\)"),
}


@pytest.fixture(scope="session")
def cli_runs(corpus, tmp_path_factory):
    """Every CLI run of this module, started together (each is a ~1 s process start)."""
    base = tmp_path_factory.mktemp("cli")
    jobs = {f"smoke-{name}": (corpus[name], SMOKE, base / f"smoke-{name}") for name in EXIT}
    jobs |= {key: (corpus[item], process, base / key) for key, (item, process, _, _) in CLI_CASES.items()}
    unicode_out = base / "unicode" / "out dir ü"
    jobs["unicode"] = (corpus["unicode_path"], "video/snapshots,f_jpg,inter_1000", unicode_out)

    def one(job):
        source, process, out = job
        target = os.fspath(out) + "/" if job is jobs["unicode"] else os.fspath(out / "x")
        done = subprocess.run(
            [str(SCRIPT), os.fspath(source), process, "-o", target],
            capture_output=True, text=True, timeout=60, encoding="utf-8",
        )
        return done, out

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(jobs, pool.map(one, jobs.values())))


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("snapshots: error: "), lines[0]
    return lines[0]


def _cli_params():
    for name, code in sorted(EXIT.items()):
        yield pytest.param(name, code, id=name)


@pytest.mark.parametrize("name,code", list(_cli_params()))
def test_cli_outcome_of_every_item(cli_runs, corpus, name, code):
    done, out = cli_runs[f"smoke-{name}"]
    assert "Traceback" not in done.stderr, done.stderr
    assert leftovers(out.parent) == []
    assert done.returncode == code, done.stderr
    if code:
        line = _one_error_line(done)
        assert os.path.basename(corpus[name]) in line, line
        assert done.stdout == "" and not out.exists()
    else:
        paths = done.stdout.split("\n")[:-1]
        assert paths and files_under(out) == set(paths)
        for path in paths:
            complete_image(path)


@pytest.mark.parametrize("key", sorted(CLI_CASES))
def test_cli_start_past_the_real_end_exits_2(cli_runs, key):
    done, out = cli_runs[key]
    assert done.returncode == 2, done.stderr
    assert re.search(CLI_CASES[key][3], _one_error_line(done))
    assert done.stdout == "" and not out.exists()


def test_cli_path_with_spaces_and_non_ascii(cli_runs):
    done, out = cli_runs["unicode"]
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    names = [f"vidéo ünïcode_0_{j}.jpg" for j in (1, 2, 3, 4)]
    assert done.stdout.splitlines() == [os.fspath(out / n) for n in names]
    assert sorted(os.listdir(out)) == names
    hevc = truth("hevc.mp4")
    assert [frame_index_of(out / n) for n in names] == [hevc.at(ms).index for ms in (0, 1000, 2000, 3000)]


# --- truncated files ------------------------------------------------------------------------


def test_intact_clip_is_the_control(corpus, decoded, tmp_path):
    """The uncut clip every truncated item comes from: all 75 frames, no damage."""
    assert [i for _, i in decoded("intact").frames] == list(range(FRAMES))
    result = run(corpus, "intact", "video/snapshots,f_png,inter_0", tmp_path)
    assert check_files(result, tmp_path) == list(range(FRAMES))
    assert result.decode_errors == 0 and result.warnings == ()
    assert result.duration_ms == REAL_MS


def test_truncation_leaves_a_readable_index_and_a_partial_mdat(corpus, decoded):
    """The corpus is what it claims: the header still says 3 s, the packets say less."""
    for name, frames in (("truncated_10", 1), ("truncated_50", 32), ("truncated_99", 73)):
        with av.open(os.fspath(corpus[name])) as container:
            assert container.duration == REAL_MS * 1000
        truth_ = decoded(name)
        assert len(truth_.frames) == frames, name
        assert truth_.decode_failures >= 1, name
    assert decoded("truncated_50").packets_end == Fraction(7, 5)  # 35 frames of 40 ms demuxed
    assert decoded("truncated_50").end == Fraction(32, 25)  # 32 of them decode


@pytest.mark.parametrize("name", ["truncated_50", "truncated_99"])
def test_truncated_duration_comes_from_the_pictures(corpus, decoded, tmp_path, name):
    result = run(corpus, name, "video/snapshots,f_jpg,m_avg,num_1,w_64", tmp_path)
    assert result.duration_ms == pytest.approx(float(decoded(name).end * 1000), abs=1e-6)


@pytest.mark.parametrize("name", ["truncated_50", "truncated_99"])
def test_truncated_writes_only_complete_images_of_real_frames(corpus, decoded, tmp_path, name):
    """Whatever is written is a whole image of a frame that really decodes, the frame
    shown at the snapshot's time."""
    result = run(corpus, name, "video/snapshots,f_png,inter_0", tmp_path)
    truth_ = decoded(name)
    barcodes = check_files(result, tmp_path)
    decodable = {i for _, i in truth_.frames}
    assert barcodes and set(barcodes) <= decodable
    assert barcodes == [truth_.shown_at(s.pts_ms) for s in result.snapshots]


@pytest.mark.parametrize("name", ["truncated_50", "truncated_99"])
def test_truncated_writes_every_decodable_frame(corpus, decoded, tmp_path, name):
    result = run(corpus, name, "video/snapshots,f_png,inter_0", tmp_path)
    assert set(check_files(result, tmp_path)) == {i for _, i in decoded(name).frames}


@pytest.mark.parametrize("name", ["truncated_50", "truncated_99"])
def test_truncated_writes_no_frame_twice(corpus, tmp_path, name):
    result = run(corpus, name, "video/snapshots,f_png,inter_0", tmp_path)
    barcodes = check_files(result, tmp_path)
    assert len(barcodes) == len(set(barcodes)), barcodes
    assert len({s.pts_ms for s in result.snapshots}) == len(result.snapshots)


def damage_warnings(result: Result, source: Path) -> tuple[int | None, int | None]:
    """(frames the header lists, frames readable) from the truncation warning, and
    checks that damaged reads are warned exactly when counted, with their count."""
    name = repr(os.fspath(source))
    damaged = [w for w in result.warnings if w == f"source {name}: {result.decode_errors} damaged packet(s) or frame(s) met"]
    assert len(damaged) == (1 if result.decode_errors else 0), result.warnings
    truncated = [re.fullmatch(rf"source {re.escape(name)}: the header lists (\d+) frames but only (\d+) can be read: "
                              r"the file looks truncated", w) for w in result.warnings]
    found = [m for m in truncated if m]
    assert len(found) <= 1, result.warnings
    return (int(found[0][1]), int(found[0][2])) if found else (None, None)


@pytest.mark.parametrize("name", ["truncated_50", "truncated_99"])
def test_truncated_damage_is_reported(corpus, tmp_path, name):
    result = run(corpus, name, "video/snapshots,f_jpg,inter_0,w_64", tmp_path)
    listed, readable = damage_warnings(result, corpus[name])
    assert listed == 75 and readable is not None and len(result.snapshots) <= readable < 75


@pytest.mark.parametrize(
    "name",
    ["truncated_50", "truncated_99"],
)
def test_truncated_avg_spreads_over_the_real_duration(corpus, decoded, tmp_path, name):
    """m_avg,num_4 over D from the pictures; each target shows the last frame that
    really decodes at or before it."""
    truth_ = decoded(name)
    result = run(corpus, name, "video/snapshots,f_jpg,m_avg,num_4", tmp_path)
    targets = avg_targets(truth_.end, 4)
    assert [s.requested_ms for s in result.snapshots] == [round(float(t), 3) for t in targets]
    assert check_files(result, tmp_path) == [truth_.shown_at(t) for t in targets]


def test_truncated_start_past_the_real_end_is_a_process_error(corpus, tmp_path):
    # The header says 3 s; the packets end at 1.4 s, the pictures at 1.28 s.
    expect_error(corpus, "truncated_50", "video/snapshots,f_jpg,ss_2000", tmp_path, ProcessError, r"ss: 2000 ms is at or past the end")


def test_truncated_at_10_percent_writes_its_one_decodable_frame(corpus, decoded, tmp_path):
    assert [i for _, i in decoded("truncated_10").frames] == [0]
    result = run(corpus, "truncated_10", "video/snapshots,f_png,inter_0", tmp_path)
    assert check_files(result, tmp_path) == [0]
    listed, readable = damage_warnings(result, corpus["truncated_10"])
    assert listed == 75 and readable is not None and 1 <= readable < 75


# --- corrupted packets in the middle --------------------------------------------------------


def test_corrupt_packets_job_finishes_with_complete_images(corpus, decoded, tmp_path):
    truth_ = decoded("corrupt_packets")
    assert truth_.decode_failures >= 1  # the corpus item really is damaged
    result = run(corpus, "corrupt_packets", "video/snapshots,f_png,inter_0", tmp_path)
    barcodes = check_files(result, tmp_path)
    assert result.duration_ms == REAL_MS
    # Frames the plain decoder gets clean (barcode = their own index) are exact.
    clean = {round(float(t * 1000), 3): i for t, i in truth_.frames if i == round(t * 25)}
    assert len(clean) >= 60
    for shot, barcode in zip(result.snapshots, barcodes):
        if shot.pts_ms in clean:
            assert barcode == clean[shot.pts_ms], shot


def test_corrupt_packets_avg_job_finishes(corpus, tmp_path):
    result = run(corpus, "corrupt_packets", "video/snapshots,f_webp,m_avg,num_6,w_96", tmp_path)
    assert len(check_files(result, tmp_path)) == 6


def test_corrupt_packets_damage_is_reported(corpus, tmp_path):
    result = run(corpus, "corrupt_packets", "video/snapshots,f_jpg,inter_0,w_64", tmp_path)
    assert result.decode_errors >= 1
    assert damage_warnings(result, corpus["corrupt_packets"]) == (None, None)  # damaged, not truncated


# --- a container that over-reports its duration ---------------------------------------------


def test_over_reported_duration_is_a_lie_in_the_header(corpus):
    with av.open(os.fspath(corpus["over_reported"])) as container:
        assert container.duration == LIED_SECONDS * 1_000_000


def test_over_reported_duration_uses_the_real_end(corpus, tmp_path):
    result = run(corpus, "over_reported", "video/snapshots,f_jpg,m_avg,num_4", tmp_path)
    assert result.duration_ms == REAL_MS
    assert [s.requested_ms for s in result.snapshots] == [375.0, 1125.0, 1875.0, 2625.0]
    assert check_files(result, tmp_path) == [9, 28, 46, 65]
    assert result.decode_errors == 0


@pytest.mark.parametrize(
    "process,frames",
    [
        ("inter_1000", [0, 25, 50]),
        ("m_key", [0, 25, 50]),
        ("ss_2999,inter_0", [74]),
        ("inter_500,num_100", [0, 12, 25, 37, 50, 62]),
    ],
)
def test_over_reported_duration_writes_nothing_past_the_real_end(corpus, tmp_path, process, frames):
    result = run(corpus, "over_reported", f"video/snapshots,f_jpg,w_64,{process}", tmp_path)
    assert check_files(result, tmp_path) == frames


def test_over_reported_start_past_the_real_end(corpus, tmp_path):
    expect_error(corpus, "over_reported", "video/snapshots,f_jpg,ss_3000", tmp_path, ProcessError, r"\(3000 ms\)")


# --- degenerate but valid videos ------------------------------------------------------------


@pytest.mark.parametrize(
    "process",
    ["inter_0", "m_avg,num_3", "m_key", "m_dhash", "m_dhash,num_5", "ss_39", "inter_1,num_10", "sm_fast,m_avg,num_2"],
)
def test_single_frame_video(corpus, tmp_path, process):
    result = run(corpus, "single_frame", f"video/snapshots,f_png,{process}", tmp_path)
    assert check_files(result, tmp_path) == [0]
    assert result.duration_ms == 40.0


def test_single_frame_video_start_at_its_end(corpus, tmp_path):
    expect_error(corpus, "single_frame", "video/snapshots,f_png,ss_40", tmp_path, ProcessError, r"ss: 40 ms")


def test_single_frame_video_to_one_named_file(corpus, tmp_path):
    result = snapshot(corpus["single_frame"], "video/snapshots,f_jpg,m_avg,num_2", tmp_path / "one.jpg")
    assert check_files(result, tmp_path) == [0]
    assert result.snapshots[0].path == os.fspath(tmp_path / "one.jpg")


@pytest.mark.parametrize(
    "size,box,readable",
    [
        ("", (16, 16), True),  # the 32 px minimum is for w/h only: the source size stands
        ("w_32", (32, 32), True),
        ("h_32", (32, 32), True),
        ("w_32,h_48,scaletype_fit", (32, 32), True),
        ("pw_50", (8, 8), False),  # percent sizes may go below 32 px
        ("ph_10", (2, 2), False),  # 1.6 rounds half up to 2, both sides
        ("pw_1", (1, 1), False),  # 0.16 px: at least 1 px
        ("pw_200", (32, 32), True),
    ],
)
def test_16x16_video_sizes(corpus, tmp_path, size, box, readable):
    process = "video/snapshots,f_png,m_avg,num_1" + (f",{size}" if size else "")
    result = run(corpus, "tiny_16", process, tmp_path)
    barcodes = check_files(result, tmp_path)
    assert [(s.width, s.height) for s in result.snapshots] == [box]
    assert result.snapshots[0].requested_ms == 200.0
    if readable:
        assert barcodes == [5]


def test_16x16_video_every_frame(corpus, tmp_path):
    result = run(corpus, "tiny_16", "video/snapshots,f_png,inter_0", tmp_path)
    assert check_files(result, tmp_path) == list(range(10))
    assert {(s.width, s.height) for s in result.snapshots} == {(16, 16)}


def test_4k_frames_upscaled_to_4096(corpus, tmp_path):
    result = run(corpus, "uhd_4k", "video/snapshots,f_jpg,inter_0,w_4096", tmp_path)
    assert check_files(result, tmp_path) == [0, 1, 2]
    assert {(s.width, s.height) for s in result.snapshots} == {(4096, 2304)}


def test_4k_frame_at_source_size(corpus, tmp_path):
    result = run(corpus, "uhd_4k", "video/snapshots,f_png,m_avg,num_1", tmp_path)
    assert check_files(result, tmp_path) == [1]
    assert (result.snapshots[0].width, result.snapshots[0].height) == (3840, 2160)


def test_path_with_spaces_and_non_ascii(corpus, tmp_path):
    out = tmp_path / "sortie ü"
    result = snapshot(corpus["unicode_path"], "video/snapshots,f_png,m_avg,num_2", os.fspath(out) + "/")
    assert [os.path.basename(s.path) for s in result.snapshots] == ["vidéo ünïcode_0_1.png", "vidéo ünïcode_0_2.png"]
    assert check_files(result, out) == [25, 75]
    assert result.source == os.fspath(corpus["unicode_path"])
