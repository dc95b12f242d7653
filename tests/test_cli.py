"""The console script: exit codes, one-line errors, JSON, nothing written on failure.

Runs the installed ``snapshots`` entry point in a child process, as users do.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from oracle import SAMPLE_DIR, frame_index_of

MAIN = str(SAMPLE_DIR / "h264_bframes.mp4")


# The console script installed beside the interpreter running the tests.
SCRIPT = Path(sys.executable).parent / "snapshots"


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists(), f"{SCRIPT}: the package is not installed (pip install -e .)"
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_json_result(tmp_path):
    done = cli(MAIN, "video/snapshots,f_jpg,w_512,h_512,scaletype_crop,inter_10000", "-o", str(tmp_path / "clip"), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    shots = result["snapshots"]
    assert [s["serial"] for s in shots] == [1, 2, 3, 4]
    assert [frame_index_of(s["path"]) for s in shots] == [0, 299, 599, 899]
    assert {(s["width"], s["height"]) for s in shots} == {(512, 512)}
    assert result["decode_errors"] == 0 and result["warnings"] == []


def test_plain_output_lists_paths_and_warnings_go_to_stderr(tmp_path):
    done = cli(MAIN, "video/snapshots,f_jpg,m_avg,num_2,thr_5", "-o", str(tmp_path / "c"))
    assert done.returncode == 0
    assert done.stdout.split() == [str(tmp_path / "c_0_1.jpg"), str(tmp_path / "c_0_2.jpg")]
    assert done.stderr.startswith("snapshots: warning: thr: ignored")


def test_default_target_is_the_current_folder(tmp_path):
    done = cli(MAIN, "video/snapshots,f_png,m_avg,num_1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h264_bframes_0_1.png"]


@pytest.mark.parametrize(
    "process,code,message",
    [
        ("video/snapshots,f_gif", 2, r"f: 'gif' is not valid; valid: jpg, png, webp"),
        ("video/snapshots,f_jpg,w_10", 2, r"w: 10 is out of range; valid: an integer 32–4096"),
        ("video/snapshots,f_jpg,m_avg", 2, r"num: 0 \(the default\) is not valid with m_avg"),
        ("video/snapshots,f_jpg,ss_99000", 2, r"ss: 99000 ms is at or past the end"),
        ("video/snapshots,f_jpg,vs_1", 2, r"vs: 1 is out of range"),
        ("image/resize,f_jpg", 2, r"action 'image/resize' is not supported"),
    ],
)
def test_bad_processing_string_exits_2(tmp_path, process, code, message):
    done = cli(MAIN, process, "-o", str(tmp_path / "x"))
    assert done.returncode == code
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert re.search(message, lines[0]), lines[0]
    assert list(tmp_path.iterdir()) == []


def _text_file(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    return str(path)


def _empty_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    return str(path)


@pytest.mark.parametrize(
    "make_source,message",
    [
        (lambda tmp: str(tmp / "missing.mp4"), r"missing\.mp4'?: no such file"),
        (lambda tmp: str(tmp), r"is a directory"),
        (_empty_file, r"empty \(0 bytes\)"),
        (_text_file, r"not a media file"),
        (lambda tmp: str(SAMPLE_DIR / "no_cover.mp3"), r"no video stream and no cover picture"),
    ],
    ids=["missing", "directory", "empty", "text-as-mp4", "audio-without-cover"],
)
def test_bad_input_exits_3(tmp_path, make_source, message):
    source = make_source(tmp_path)
    out = tmp_path / "out"
    done = cli(source, "video/snapshots,f_jpg", "-o", str(out / "x"))
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert re.search(message, lines[0]), lines[0]
    assert source.split("/")[-1] in lines[0]  # the message names the input
    assert not out.exists()


def test_refused_target_exits_4(tmp_path):
    process = "video/snapshots,f_jpg|sys/saveas,b_YnVja2V0,o_Li4vZXNjYXBl"  # bucket, ../escape
    (tmp_path / "bucket").mkdir()
    done = cli(MAIN, process, "--storage-root", str(tmp_path))
    assert done.returncode == 4
    assert "o: object '../escape' climbs out" in done.stderr
    assert list((tmp_path / "bucket").iterdir()) == []
