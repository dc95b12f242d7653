"""Hard cases made here with the FFmpeg CLI, each checked against the same oracle
as the real-world corpus (tests/ffmpeg_oracle.py): raw elementary streams, a
still image, concatenated and cut MPEG-TS, MBAFF interlaced H.264, open-GOP
MPEG-2 in a program stream, B-frames in AVI, an unseekable Matroska, IVF, a
stream-copied MP4 with an edit list, VFR made by concatenation.

The corpus is a sample of the world; these files exercise the causes it showed,
made the way users' tools make them.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

import ffmpeg_oracle
from engine import snapshot

pytestmark = pytest.mark.skipif(not ffmpeg_oracle.available(), reason="the FFmpeg CLI oracle is not installed")

#: A counter and moving bars: every frame differs from its neighbours.
SOURCE = ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"]
#: Another pattern, for the second segment of a concatenation.
SECOND = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25"]


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, timeout=120)


def _make(folder: Path, name: str) -> Path:
    out = folder / name
    make = MAKERS[name]
    make(folder, out)
    return out


def _raw_h264(folder: Path, out: Path) -> None:
    _ffmpeg(*SOURCE, "-t", "3", "-c:v", "libx264", "-g", "25", "-bf", "2", "-f", "h264", str(out))


def _raw_hevc(folder: Path, out: Path) -> None:
    _ffmpeg(*SOURCE, "-t", "3", "-c:v", "libx265", "-x265-params", "log-level=error:keyint=25", "-f", "hevc", str(out))


def _raw_h263(folder: Path, out: Path) -> None:
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=352x288:rate=25", "-t", "3", "-c:v", "h263", "-g", "12", "-f", "h263", str(out))


def _raw_m4v(folder: Path, out: Path) -> None:
    _ffmpeg(*SOURCE, "-t", "3", "-c:v", "mpeg4", "-g", "12", "-bf", "2", "-f", "m4v", str(out))


def _still_jpeg(folder: Path, out: Path) -> None:
    _ffmpeg(*SOURCE, "-frames:v", "1", str(out))


def _concatenated_ts(folder: Path, out: Path) -> None:
    first, second = folder / "seg1.ts", folder / "seg2.ts"
    _ffmpeg(*SOURCE, "-t", "2", "-c:v", "libx264", "-g", "25", "-f", "mpegts", str(first))
    _ffmpeg(*SECOND, "-t", "2", "-c:v", "libx264", "-g", "25", "-f", "mpegts", str(second))
    out.write_bytes(first.read_bytes() + second.read_bytes())


def _cut_ts(folder: Path, out: Path) -> None:
    whole = folder / "whole.ts"
    _ffmpeg(*SOURCE, "-t", "4", "-c:v", "libx264", "-g", "50", "-bf", "2", "-f", "mpegts", str(whole))
    data = whole.read_bytes()
    # Cut at a 188-byte TS packet boundary a third of the way in: mid-GOP.
    start = (len(data) // 3) // 188 * 188
    out.write_bytes(data[start:])


def _mbaff_ts(folder: Path, out: Path) -> None:
    _ffmpeg(*SOURCE, "-t", "3", "-vf", "scale=720:480", "-c:v", "libx264", "-flags", "+ildct+ilme",
            "-x264-params", "interlaced=1:tff=1", "-g", "25", "-f", "mpegts", str(out))


def _open_gop_ps(folder: Path, out: Path) -> None:
    _ffmpeg(*SOURCE, "-t", "4", "-c:v", "mpeg2video", "-g", "12", "-bf", "2", "-flags", "-cgop",
            "-b:v", "2M", "-f", "vob", str(out))


def _bframes_avi(folder: Path, out: Path) -> None:
    _ffmpeg(*SOURCE, "-t", "3", "-c:v", "mpeg4", "-vtag", "XVID", "-g", "12", "-bf", "2", str(out))


def _unseekable_mkv(folder: Path, out: Path) -> None:
    # Written to a pipe: no cues, no seek head, so the demuxer cannot seek by index.
    with open(out, "wb") as sink:
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", *SOURCE, "-t", "4", "-c:v", "libx264", "-g", "25",
                        "-f", "matroska", "pipe:1"], stdout=sink, check=True, timeout=120)


def _ivf(folder: Path, out: Path) -> None:
    _ffmpeg(*SOURCE, "-t", "3", "-c:v", "libvpx", "-g", "25", "-b:v", "500k", "-f", "ivf", str(out))


def _edit_list_copy(folder: Path, out: Path) -> None:
    whole = folder / "whole.mp4"
    _ffmpeg(*SOURCE, "-t", "4", "-c:v", "libx264", "-g", "25", "-bf", "2", str(whole))
    # A stream copy from a point between keyframes keeps the GOP and writes an
    # edit list that starts the presentation at the cut.
    _ffmpeg("-ss", "1.3", "-i", str(whole), "-c", "copy", str(out))


def _vfr_concat(folder: Path, out: Path) -> None:
    first, second, listing = folder / "a.mp4", folder / "b.mp4", folder / "list.txt"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "2", "-c:v", "libx264", "-video_track_timescale", "90000", str(first))
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10", "-t", "2", "-c:v", "libx264", "-video_track_timescale", "90000", str(second))
    listing.write_text(f"file '{first}'\nfile '{second}'\n")
    _ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(out))


MAKERS = {
    "raw.h264": _raw_h264,
    "raw.hevc": _raw_hevc,
    "raw.h263": _raw_h263,
    "raw.m4v": _raw_m4v,
    "still.jpg": _still_jpeg,
    "concatenated.ts": _concatenated_ts,
    "cut_mid_gop.ts": _cut_ts,
    "mbaff.ts": _mbaff_ts,
    "open_gop.vob": _open_gop_ps,
    "bframes.avi": _bframes_avi,
    "unseekable.mkv": _unseekable_mkv,
    "vp8.ivf": _ivf,
    "edit_list_copy.mp4": _edit_list_copy,
    "vfr_concat.mp4": _vfr_concat,
}

@pytest.fixture(scope="module")
def media(tmp_path_factory):
    made: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in made:
            folder = tmp_path_factory.mktemp(name.replace(".", "_"))
            made[name] = _make(folder, name)
        return made[name]

    return get


def _read_rgb(path: str) -> np.ndarray:
    return np.ascontiguousarray(cv2.imread(path, cv2.IMREAD_COLOR)[:, :, ::-1])


@pytest.mark.parametrize("case", sorted(ffmpeg_oracle.CASES))
@pytest.mark.parametrize("name", sorted(MAKERS))
def test_hard_case_frames(media, tmp_path, name, case, probe_path):
    path = str(media(name))
    result = ffmpeg_oracle.check_job(path, ffmpeg_oracle.CASES[case], str(tmp_path / "o"))
    if result is not None:
        # Nothing here is damaged: a damage or truncation warning would be false.
        assert not [w for w in result.warnings if "damaged" in w or "truncated" in w], result.warnings


def test_concatenated_segments_warn_and_stay_apart(media, tmp_path):
    """Two TS segments joined with cat: one timeline in file order, with a warning;
    the second segment's pictures come after the first's."""
    result = snapshot(str(media("concatenated.ts")), "video/snapshots,f_png,inter_500", str(tmp_path / "o"))
    assert any("jump back" in w for w in result.warnings), result.warnings
    assert result.duration_ms == pytest.approx(4000, abs=80)
    times = [s.pts_ms for s in result.snapshots]
    assert times == sorted(times) and len(times) == 8


def test_unseekable_matroska_same_with_one_decoder(media, tmp_path, monkeypatch):
    """Seeks that fail must not change the output: one decoder and several agree."""
    path = str(media("unseekable.mkv"))
    process = "video/snapshots,f_png,ss_100,inter_600"
    several = ffmpeg_oracle.check_job(path, process, str(tmp_path / "a"))
    monkeypatch.setenv("SNAPSHOTS_DECODERS", "1")
    single = snapshot(path, process, str(tmp_path / "b"))
    assert [s.pts_ms for s in single.snapshots] == [s.pts_ms for s in several.snapshots]
    for a, b in zip(several.snapshots, single.snapshots):
        assert np.array_equal(_read_rgb(a.path), _read_rgb(b.path))


def test_still_image_is_one_frame(media, tmp_path):
    result = snapshot(str(media("still.jpg")), "video/snapshots,f_png,inter_1000", str(tmp_path / "o"))
    assert len(result.snapshots) == 1 and result.warnings == ()
    assert (result.snapshots[0].width, result.snapshots[0].height) == (320, 240)
    assert os.path.getsize(result.snapshots[0].path) > 0


@pytest.mark.parametrize("name", ["edit_list_copy.mp4", "vp8.ivf"])
def test_whole_files_do_not_look_damaged(media, name):
    """Packets outside an edit list are not missing frames: such a file is whole, keeps
    the parallel decoders and gets no "looks truncated" warning."""
    from engine.probe import open_source, probe

    path = str(media(name))
    with open_source(path) as container:
        info = probe(container, reopen=lambda: open_source(path))
    assert not info.looks_truncated and not info.looks_damaged

