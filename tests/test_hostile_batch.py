"""Hostile input against the real ``snapshots batch`` CLI and its worker processes
(issue #10): results files that are not results files, manifest lines of any
bytes, SIGTERM to the parent and to the whole process group.

Every child is bounded in time and address space; every wait has a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from hostile import SCRIPT, TIME_LIMIT, bounded, files
from oracle import SAMPLE_DIR

MAIN = str(SAMPLE_DIR / "h264_bframes.mp4")
LIGHT = "video/snapshots,f_jpg,w_64,num_1"
#: Long items: every frame as PNG (900 files, seconds each), so a signal lands mid-item.
HEAVY = "video/snapshots,f_png,inter_0"


def batch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), "batch", *args, "--no-progress"], capture_output=True, text=True,
                          timeout=TIME_LIMIT, preexec_fn=bounded())


def _manifest(folder: Path, lines: list[bytes]) -> Path:
    path = folder / "m.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _item(target: str, process: str = LIGHT) -> bytes:
    return json.dumps({"source": MAIN, "process": process, "target": target}).encode()


# --- 4. a results file that is not one is left alone ----------------------------------------


@pytest.mark.parametrize("victim", ["video", "manifest", "text"])
def test_a_file_that_is_not_a_results_file_is_refused_untouched(tmp_path, victim):
    manifest = _manifest(tmp_path, [_item("out/a")])
    target = {"video": tmp_path / "victim.mp4", "manifest": manifest, "text": tmp_path / "notes.txt"}[victim]
    if victim == "video":
        target.write_bytes(Path(MAIN).read_bytes())
    elif victim == "text":
        target.write_bytes(b"my notes\nsecond line, no newline at the end")
    before = target.read_bytes()
    done = batch(str(manifest), "--results", str(target))
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "left untouched" in done.stderr, done.stderr
    assert target.read_bytes() == before
    assert not (tmp_path / "out").exists()  # nothing ran


def test_a_source_of_the_batch_is_not_a_results_file(tmp_path):
    source = tmp_path / "clip.mp4"
    source.write_bytes(Path(MAIN).read_bytes())
    manifest = _manifest(tmp_path, [json.dumps({"source": "clip.mp4", "process": LIGHT, "target": "out/a"}).encode()])
    done = batch(str(manifest), "--results", str(source))
    assert done.returncode == 2 and "is an input of this batch" in done.stderr, done.stderr
    assert source.read_bytes() == Path(MAIN).read_bytes()


# --- 5. one bad manifest line is one error result -------------------------------------------


def test_any_bytes_on_a_line_are_that_lines_error_only(tmp_path):
    lines = [
        b"\xef\xbb\xbf" + _item("out/bom"),  # a byte order mark: line 1 is still an item
        b'{"source": "\\udcff.mp4", "process": "video/snapshots,f_jpg", "target": "out/s"}',  # lone surrogate
        b"[" * 100_000,  # nesting deeper than the JSON parser recurses
        b'{"source": "\xff\xfe", "process": "x", "target": "y"}',  # not UTF-8
        json.dumps({"source": MAIN, "process": LIGHT, "target": "out/" + "t" * 5_000_000}).encode(),  # 5 MB
        _item("out/last"),
    ]
    manifest = _manifest(tmp_path, lines)
    done = batch(str(manifest))
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and len(done.stderr) < 20_000
    records = {r["line"]: r for r in map(json.loads, Path(f"{manifest}.results.jsonl").read_text().splitlines())}
    assert sorted(records) == [1, 2, 3, 4, 5, 6]
    assert records[1]["ok"] and records[6]["ok"]
    for line in (2, 3, 4):
        assert records[line]["error"]["class"] == "ManifestLineError", records[line]
    assert "lone surrogate" in records[2]["error"]["message"]
    assert records[5]["error"]["class"] == "TargetError" and len(json.dumps(records[5])) < 5000  # echoes capped


# --- 8. batch stops as documented ----------------------------------------------------------


def _heavy_batch(tmp_path: Path, items: int, workers: int) -> tuple[subprocess.Popen[str], Path]:
    manifest = _manifest(tmp_path, [_item(f"out/item{i}/clip", HEAVY) for i in range(items)])
    child = subprocess.Popen([str(SCRIPT), "batch", str(manifest), "--workers", str(workers), "--no-progress"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             start_new_session=True, preexec_fn=bounded())
    return child, manifest


def _when_writing(child: subprocess.Popen[str], folder: Path, count: int) -> None:
    deadline = time.monotonic() + TIME_LIMIT
    while len(files(folder)) < count and child.poll() is None:
        assert time.monotonic() < deadline, "no item started writing"
        time.sleep(0.005)
    assert child.poll() is None, child.stderr.read()


def _finish(child: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        code = child.wait(timeout=TIME_LIMIT)
        return code, child.stderr.read()
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        child.stderr.close()


def _records(manifest: Path) -> list[dict]:
    path = Path(f"{manifest}.results.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_sigterm_to_the_parent_starts_nothing_more_and_records_the_running_item(tmp_path):
    child, manifest = _heavy_batch(tmp_path, items=4, workers=1)
    _when_writing(child, tmp_path / "out" / "item0", 5)
    child.send_signal(signal.SIGTERM)  # the parent alone
    code, stderr = _finish(child)
    assert code == 143, stderr
    assert [r["line"] for r in _records(manifest)] == [1] and _records(manifest)[0]["ok"]
    assert sorted(os.listdir(tmp_path / "out")) == ["item0"], "an item started after the signal"
    assert "stopped by SIGTERM: no item started after it; 1 item(s) recorded" in stderr
    assert not any(name.endswith(".part") for name in files(tmp_path))


def test_sigterm_to_the_process_group_abandons_running_items_cleanly(tmp_path):
    child, manifest = _heavy_batch(tmp_path, items=4, workers=2)
    for n in (0, 1):
        _when_writing(child, tmp_path / "out" / f"item{n}", 5)
    os.killpg(child.pid, signal.SIGTERM)  # what systemd and `timeout` send
    code, stderr = _finish(child)
    assert code == 143, stderr
    assert _records(manifest) == []  # nothing finished; nothing pretends to have
    assert [f for f in files(tmp_path / "out")] == []  # abandoned items removed their images, no .part
    assert "2 running item(s) abandoned (their images removed)" in stderr, stderr
    assert "finish and are recorded, unless the signal reached them too" in stderr

    resumed = batch(str(manifest), "--workers", "2")  # and the resume runs them all
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(r["line"] for r in _records(manifest)) == [1, 2, 3, 4]
