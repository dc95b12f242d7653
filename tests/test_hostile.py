"""Hostile input, engine and CLI (issue #10): memory bombs, sources that open other
files, all-or-nothing jobs, permissions, long names and values.

Every child process is bounded in time and address space (tests/hostile.py), so a
regression shows as a failed assertion, not as a machine out of memory.
The service's cases are in test_hostile_service.py, the batch's in
test_hostile_batch.py.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine import snapshot
from engine.errors import IndirectSourceError, ProcessError, shown
from engine.limits import MAX_PIXELS, image_size
from engine.params import parse
from engine.probe import open_source
from engine.result import Result
from hostile import SCRIPT, TIME_LIMIT, bounded, ffmpeg, files, h264, snapshots
from oracle import SAMPLE_DIR

MAIN = str(SAMPLE_DIR / "h264_bframes.mp4")


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile-media")
    for size in ("16x256", "16x1024"):
        h264(folder / f"tall_{size}.mp4", size)
    h264(folder / "hd.mp4", "1280x720", seconds=1.2, source="testsrc2")
    # An HLS playlist naming a segment by absolute path and one climbing out with
    # '..', a concat list, an image sequence beside a file literally named like
    # its pattern, a still image and raw elementary streams.
    (folder / "elsewhere").mkdir()
    (folder / "media" / "secret").mkdir(parents=True)
    (folder / "media" / "lists").mkdir()
    segment = folder / "elsewhere" / "seg.ts"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1", "-c:v", "libx264", "-f", "mpegts", str(segment))
    (folder / "media" / "secret" / "seg.ts").write_bytes(segment.read_bytes())
    playlist = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{}\n#EXT-X-ENDLIST\n"
    (folder / "media" / "lists" / "absolute.m3u8").write_text(playlist.format(segment))
    (folder / "media" / "lists" / "climbing.m3u8").write_text(playlist.format("../secret/seg.ts"))
    (folder / "media" / "lists" / "list.ffconcat").write_text(f"ffconcat version 1.0\nfile '{segment}'\n")
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=0.3", str(folder / "media" / "img%03d.jpg"))
    (folder / "media" / "img%03d.jpg").write_bytes((folder / "media" / "img001.jpg").read_bytes())
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1", "-c:v", "libx264", "-f", "h264", str(folder / "media" / "raw.h264"))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1", "-c:v", "mpeg4", "-f", "m4v", str(folder / "media" / "raw.m4v"))
    return folder


def _one_line_error(done: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
    assert done.returncode == code, (done.returncode, done.stderr[-2000:])
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("snapshots: error: "), done.stderr[-2000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# --- 2. memory bombs ----------------------------------------------------------------

BOMBS = [
    ("tall_16x256.mp4", "video/snapshots,f_jpg,num_8,w_4096", "4096×65536"),
    ("tall_16x1024.mp4", "video/snapshots,f_jpg,w_4096", "4096×262144"),
    ("tall_16x1024.mp4", "video/snapshots,f_webp,w_256", "256×16384"),  # WebP stops at 16383
]


@pytest.mark.parametrize("source,process,size", BOMBS, ids=["num8-w4096", "w4096-16x1024", "webp-16384"])
def test_a_memory_bomb_is_a_clean_refusal_before_decoding(media, tmp_path, source, process, size):
    done = snapshots(str(media / source), process, "-o", str(tmp_path / "out" / "x"))
    _one_line_error(done, 2, f"the image would be {size}", "valid: at most")
    assert files(tmp_path) == []


def test_the_same_size_passes_where_the_format_allows_it(media, tmp_path):
    done = snapshots(str(media / "tall_16x1024.mp4"), "video/snapshots,f_jpg,w_256,num_1", "-o", str(tmp_path / "x"), "--json")
    assert done.returncode == 0, done.stderr
    (shot,) = json.loads(done.stdout)["snapshots"]
    assert (shot["width"], shot["height"]) == (256, 16384)


def test_sizes_of_the_limit():
    fit = parse("video/snapshots,f_jpg,w_4096,h_64,scaletype_fit")
    assert image_size(1000, 10, fit) == (4096, 41)  # the fitted size, not the box
    with pytest.raises(ProcessError, match=r"pw/ph: the image would be 15360×8640 .* 64 megapixels"):
        from engine.limits import check_source

        check_source(7680, 4320, parse("video/snapshots,f_png,pw_200"), "8k.mp4")
    assert 15360 * 8640 > MAX_PIXELS


_RSS_CHILD = textwrap.dedent("""
    import gc, json, os, sys
    from engine import snapshot
    from engine.heap import pin_mmap_threshold

    pin_mmap_threshold()

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    media, out = sys.argv[1], sys.argv[2]
    jobs = json.loads(sys.argv[3])
    late = json.loads(sys.argv[4])
    snapshot(os.path.join(media, "hd.mp4"), "video/snapshots,f_png,inter_200,num_5", os.path.join(out, "warm", "x"))
    gc.collect()
    gc.disable()  # what a failed job holds must go by reference counts alone
    before = rss()
    failures = []
    for source, process in jobs + [late]:
        try:
            snapshot(os.path.join(media, source), process, os.path.join(out, "bomb", "x"))
        except Exception as error:
            failures.append(type(error).__name__)
    after = rss()
    print(json.dumps({"failures": failures, "grown": after - before, "garbage": gc.collect()}))
""")


def test_failing_bombs_in_one_process_give_their_memory_back(media, tmp_path):
    """Three bombs and a job that fails after decoding full frames, in one process:
    each a clean error, and the process's memory returns without a gc pass."""
    (tmp_path / "bomb" / "x_0_3.png").mkdir(parents=True)  # the late job fails on its third image
    jobs = [[source, process] for source, process, _ in BOMBS]
    late = ["hd.mp4", "video/snapshots,f_png,inter_200,num_5"]
    done = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(media), str(tmp_path), json.dumps(jobs), json.dumps(late)],
                          capture_output=True, text=True, timeout=TIME_LIMIT, preexec_fn=bounded())
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["failures"] == ["ProcessError"] * 3 + ["TargetError"]
    assert report["garbage"] == 0, "a failed job left reference cycles (frames held until gc)"
    assert report["grown"] < 64 << 20, f"RSS grew {report['grown'] >> 20} MiB over four failed jobs"
    assert files(tmp_path / "bomb") == []  # and the late job left none of its images


# --- 3. sources that open other files --------------------------------------------------


@pytest.mark.parametrize("name,what", [
    ("lists/absolute.m3u8", "an HLS playlist"),
    ("lists/climbing.m3u8", "an HLS playlist"),
    ("lists/list.ffconcat", "an FFmpeg concat list"),
])
def test_playlists_and_lists_are_refused(media, tmp_path, name, what):
    done = snapshots(str(media / "media" / name), "video/snapshots,f_jpg,num_1", "-o", str(tmp_path / "x"))
    _one_line_error(done, 3, what, "refused")
    assert files(tmp_path) == []
    with pytest.raises(IndirectSourceError, match=what):
        snapshot(media / "media" / name, "video/snapshots,f_jpg,num_1", tmp_path / "y")


def test_a_caller_may_allow_a_playlist_explicitly(media, tmp_path):
    result = snapshot(media / "media" / "lists" / "climbing.m3u8", "video/snapshots,f_jpg,num_2", tmp_path / "x",
                      allow_indirect=True)
    assert len(result.snapshots) == 2


def _packets(path: Path) -> tuple[str, int]:
    with open_source(path) as container:
        stream = container.streams.video[0]
        return container.format.name, sum(1 for p in container.demux(stream) if p.size)


def test_an_image_pattern_names_one_file_not_a_sequence(media):
    # 'img%03d.jpg' exists literally, beside img001…img003.jpg: only it is read.
    assert _packets(media / "media" / "img%03d.jpg") == ("image2", 1)


@pytest.mark.parametrize("name,demuxers", [("img001.jpg", {"image2", "jpeg_pipe"}), ("raw.h264", {"h264"}),
                                           ("raw.m4v", {"m4v"})])
def test_still_images_and_raw_streams_still_open(media, name, demuxers):
    format_name, packets = _packets(media / "media" / name)
    assert format_name in demuxers and packets >= 1


# --- 6. all or nothing -------------------------------------------------------------


def test_a_failed_job_removes_the_images_it_wrote(tmp_path):
    out = tmp_path / "o"
    (out / "x_0_3.jpg").mkdir(parents=True)
    done = snapshots(MAIN, "video/snapshots,f_jpg,inter_2000,num_5", "-o", str(out / "x"))
    _one_line_error(done, 4, "x_0_3.jpg", "Is a directory")
    assert files(out) == []  # x_0_1, _2, _4, _5 gone; no .part


def test_a_full_disk_fails_the_job_and_removes_its_images(tmp_path):
    """Writes fail part way, as on a disk that fills up: the child may write no file
    larger than the first image (RLIMIT_FSIZE; EFBIG as ENOSPC), so the first image
    is put in place and a larger later one fails."""
    scenes, process = str(SAMPLE_DIR / "scenes.mp4"), "video/snapshots,f_png,inter_1000"
    free = snapshots(scenes, process, "-o", str(tmp_path / "free" / "x"), "--json")
    sizes = [os.path.getsize(s["path"]) for s in json.loads(free.stdout)["snapshots"]]
    assert max(sizes[1:]) > sizes[0], sizes  # the sample's scenes differ in size
    done = snapshots(scenes, process, "-o", str(tmp_path / "full" / "x"), file_size=sizes[0])
    _one_line_error(done, 4, "cannot write it")
    assert files(tmp_path / "full") == []


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["sigterm", "sigint"])
def test_an_interrupted_job_leaves_nothing(tmp_path, sig, code):
    out = tmp_path / "o"
    child = subprocess.Popen([str(SCRIPT), MAIN, "video/snapshots,f_png,inter_0", "-o", str(out / "clip")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=bounded())
    try:
        deadline = time.monotonic() + TIME_LIMIT
        while len(files(out)) < 20 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert child.poll() is None, f"the job ended before 20 files: {child.stderr.read()!r}"
        child.send_signal(sig)
        returncode = child.wait(timeout=TIME_LIMIT)
        stderr = child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stderr.close()
    assert returncode == code, stderr
    assert "the images this job had written were removed" in stderr
    assert files(out) == []


# --- 10. permissions, long names, long values, times ------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_files_get_0666_minus_the_umask(tmp_path, umask):
    done = snapshots(MAIN, "video/snapshots,f_jpg,num_2,inter_5000", "-o", str(tmp_path / "x"), umask=umask)
    assert done.returncode == 0, done.stderr
    modes = {stat.S_IMODE(os.stat(tmp_path / name).st_mode) for name in files(tmp_path)}
    assert modes == {0o666 & ~umask}


def test_a_name_of_250_bytes_works(tmp_path):
    prefix = "é" * 60 + "a" * (250 - 120 - len("_0_1.jpg"))  # 250 bytes in UTF-8
    done = snapshots(MAIN, "video/snapshots,f_jpg,num_1", "-o", str(tmp_path / prefix))
    assert done.returncode == 0, done.stderr
    (name,) = files(tmp_path)
    assert len(name.encode()) == 250


def test_a_huge_target_is_not_echoed_whole(tmp_path):
    # One argument can hold 128 KiB (Linux); the 5 MB case goes through a manifest
    # (test_hostile_batch.py) and the Python API (below).
    target = str(tmp_path / ("t" * 100_000))
    done = snapshots(MAIN, "video/snapshots,f_jpg,num_1", "-o", target)
    line = _one_line_error(done, 4, "characters)", "longer than 4096 bytes")
    assert len(line) < 1000
    with pytest.raises(Exception) as refused:
        snapshot(MAIN, "video/snapshots,f_jpg,num_1", str(tmp_path / ("t" * 5_000_000)))
    assert len(str(refused.value)) < 1000 and "5000" in str(refused.value)
    assert len(shown("x" * 10**6)) < 300


def test_duration_is_given_to_the_microsecond():
    result = Result(source="s", process="p", stream=0, snapshots=(), duration_ms=2300.0000000000005)
    assert result.duration_ms == 2300.0
    assert '"duration_ms": 2300.0' in result.to_json()
