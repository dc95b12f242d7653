"""Batch mode end to end: the real ``snapshots batch`` CLI on a local pool, the same
manifest on an in-process Dask LocalCluster, error lines, and resume after lost
result lines, SIGKILL and SIGINT.

Outputs are checked frame by frame as tests/test_end_to_end.py does: the barcode of
every image written must be the frame the contract names (oracle: tests/oracle.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.batch import run_batch
from oracle import SAMPLE_DIR, frame_index_of, leftovers, truth
from sample_media.catalog import SAMPLES
from test_end_to_end import _dhash_oracle, expected_avg, expected_inter

SCRIPT = Path(sys.executable).parent / "snapshots"
MAIN = "h264_bframes.mp4"
BUCKET_B64 = "YnVja2V0"  # "bucket"
OBJECT_B64 = "c2hvdHMvY2xpcC17aW5kZXh9LnthdXRvZXh0fQ"  # "shots/clip-{index}.{autoext}"


def _dhash_events() -> list[int]:
    candidates, scores, _ = _dhash_oracle("scenes.mp4", 1000)
    return [c for c, s in zip(candidates, scores) if s > 15]


def _keyframes(name: str) -> list[int]:
    return [f.index for f in truth(name).frames if f.keyframe]


#: (source, process, target, expected frames of the images, in serial order).
GOOD: list[tuple[str, str, str, Callable[[], list[int]]]] = [
    (MAIN, "video/snapshots,f_jpg,w_512,h_512,scaletype_crop,inter_10000", "out/seed", lambda: [0, 299, 599, 899]),
    (MAIN, "video/snapshots,f_jpg,m_avg,num_10", "out/avg", lambda: expected_avg(MAIN, 10)),
    (MAIN, "video/snapshots,ss_11000,f_png,pw_50,ph_50,num_5,inter_4000", "out/from11", lambda: expected_inter(MAIN, 11000, 4000, 5)),
    ("scenes.mp4", "video/snapshots,m_dhash,f_jpg,inter_1000,thr_15", "out/events", _dhash_events),
    ("vp9_odd.webm", "video/snapshots,m_key,f_webp", "out/keys", lambda: _keyframes("vp9_odd.webm")),
    ("cover.flac", "video/snapshots,f_jpg,w_128", "out/cover.jpg", lambda: [SAMPLES["cover.flac"].cover_index]),
]
#: (manifest line, error class, exit code): one bad item never stops the batch.
BAD = [
    (json.dumps({"source": "no_such_clip.mp4", "process": "video/snapshots,f_jpg", "target": "out/missing"}), "SourceNotFoundError", 3),
    (json.dumps({"source": "SAMPLE/" + MAIN, "process": "video/snapshots,f_gif", "target": "out/gif"}), "ProcessError", 2),
    ('{"source": "clip.mp4", "process": ', "ManifestLineError", 2),
]


def manifest_lines(sample_prefix: str) -> list[str]:
    lines = [json.dumps({"source": f"{sample_prefix}/{s}", "process": p, "target": t}) for s, p, t, _ in GOOD]
    lines[2:2] = [bad.replace("SAMPLE", sample_prefix) for bad, _, _ in BAD]  # bad items in the middle
    return lines


def write_manifest(folder: Path, lines: list[str], name: str = "jobs.jsonl") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def read_results(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def batch(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists(), f"{SCRIPT}: the package is not installed (pip install -e .)"
    return subprocess.run([str(SCRIPT), "batch", *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def check_results(records: list[dict], sample_prefix: str, out_root: Path) -> None:
    """Exactly one line per item; good items show the right frames, bad ones the
    right error class and exit code."""
    assert len(records) == len({r["key"] for r in records}) == len(GOOD) + len(BAD)
    by_target = {r["target"]: r for r in records}
    for source, process, target, expected in GOOD:
        record = by_target[target]
        assert record["ok"], record
        assert record["source"] == f"{sample_prefix}/{source}"
        shots = record["result"]["snapshots"]
        assert all(Path(s["path"]).is_relative_to(out_root / "out") for s in shots), shots
        assert [frame_index_of(s["path"]) for s in shots] == expected(), (process, record)
    bad = [r for r in records if not r["ok"]]
    assert sorted((r["error"]["class"], r["error"]["exit_code"]) for r in bad) == sorted((c, e) for _, c, e in BAD)
    lines = {r["line"]: r for r in bad}
    assert set(lines) == {3, 4, 5}  # manifest line numbers, 1-based
    assert lines[5]["source"] is None and "not JSON" in lines[5]["error"]["message"]
    assert "no_such_clip.mp4" in lines[3]["error"]["message"]
    assert leftovers(out_root) == []


# --- the CLI, local process pool --------------------------------------------------


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """One real CLI batch on 2 workers; relative sources/targets from the manifest's folder."""
    folder = tmp_path_factory.mktemp("local")
    (folder / "media").symlink_to(SAMPLE_DIR)
    manifest = write_manifest(folder, manifest_lines("media"))
    done = batch(str(manifest), "--workers", "2", "--no-progress", cwd=tmp_path_factory.getbasetemp())
    return folder, manifest, done


def test_cli_batch_writes_the_right_frames_and_error_lines(local_run):
    folder, manifest, done = local_run
    assert done.returncode == 1, done.stderr  # some items failed
    check_results(read_results(Path(f"{manifest}.results.jsonl")), "media", folder)
    assert f"{len(GOOD) + len(BAD)} items: {len(GOOD)} ok, {len(BAD)} failed" in done.stderr
    assert "line 3: SourceNotFoundError" in done.stderr and "line 5: ManifestLineError" in done.stderr
    assert "\r" not in done.stderr  # --no-progress: no bar


def test_cli_batch_resumes_after_lost_result_lines(local_run, tmp_path):
    folder, manifest, _ = local_run
    results = Path(f"{manifest}.results.jsonl")
    records = read_results(results)
    # Forget one good item and one bad one; keep the rest, as a kill would.
    forget = {next(r["key"] for r in records if r["target"] == "out/avg"), next(r["key"] for r in records if not r["ok"])}
    results.write_text("".join(json.dumps(r) + "\n" for r in records if r["key"] not in forget))
    kept_files = {s["path"]: os.stat(s["path"]).st_mtime_ns for r in records if r["ok"] and r["key"] not in forget
                  for s in r["result"]["snapshots"]}
    done = batch(str(manifest), "--no-progress", "--progress")  # the last flag wins: a bar, on a pipe
    assert done.returncode == 1, done.stderr
    total = len(GOOD) + len(BAD)
    assert f"resuming: {total - 2} of {total} items already have a result" in done.stderr
    assert f"ran 2, skipped {total - 2} already done" in done.stderr
    assert "100%" in done.stderr  # the forced tqdm bar
    assert {p: os.stat(p).st_mtime_ns for p in kept_files} == kept_files  # finished items not redone
    final = read_results(results)
    assert {r["key"] for r in final[-2:]} == forget
    check_results(final, "media", folder)


# --- the same manifest on a Dask cluster ------------------------------------------


def test_dask_cluster_batch_same_results_and_resume(tmp_path):
    distributed = pytest.importorskip("distributed")
    # With a storage root, targets are taken relative to it (and confined there);
    # a sys/saveas item needs no target at all.
    store = tmp_path / "store"
    (store / "bucket").mkdir(parents=True)
    saveas = {"source": str(SAMPLE_DIR / MAIN), "process": f"video/snapshots,f_png,m_avg,num_2,w_64|sys/saveas,b_{BUCKET_B64},o_{OBJECT_B64}"}
    manifest = write_manifest(tmp_path / "jobs", manifest_lines(str(SAMPLE_DIR)) + [json.dumps(saveas)])
    seen: list[dict] = []
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        summary = run_batch(manifest, scheduler=cluster.scheduler_address, storage_root=store, on_record=seen.append)
        again = run_batch(manifest, scheduler=cluster.scheduler_address, storage_root=store)
    total = len(GOOD) + len(BAD) + 1
    assert (summary.items, summary.ran, summary.ok, summary.failed, summary.exit_code) == (total, total, total - 3, 3, 1)
    assert (again.ran, again.skipped, again.exit_code) == (0, total, 1)
    records = read_results(Path(f"{manifest}.results.jsonl"))
    assert records == json.loads(json.dumps(seen))  # streamed to the file as they completed
    saved = records.pop()
    assert saved["target"] is None and saved["ok"]
    assert [Path(s["path"]).relative_to(store) for s in saved["result"]["snapshots"]] == [
        Path("bucket/shots/clip-1.png"), Path("bucket/shots/clip-2.png")]
    assert [frame_index_of(s["path"]) for s in saved["result"]["snapshots"]] == expected_avg(MAIN, 2)
    check_results(records, str(SAMPLE_DIR), store)


# --- interrupted batches ----------------------------------------------------------

LIGHT = 40  # small items (~0.03 s each) so an interrupt lands mid-batch


def _light_manifest(folder: Path) -> Path:
    names = [MAIN, "hevc.mp4", "vp9_odd.webm"]
    lines = [json.dumps({"source": str(SAMPLE_DIR / names[i % 3]), "process": f"video/snapshots,f_jpg,m_avg,num_{1 + i % 3},w_64",
                         "target": f"out/item{i}"}) for i in range(LIGHT)]
    return write_manifest(folder, lines)


def _count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["sigkill", "sigint"])
def test_interrupted_batch_resumes_without_redoing_finished_items(tmp_path, sig):
    manifest = _light_manifest(tmp_path)
    results = tmp_path / "results.jsonl"
    child = subprocess.Popen([str(SCRIPT), "batch", str(manifest), "--results", str(results), "--workers", "1", "--no-progress"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while _count_lines(results) < 3 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert child.poll() is None, f"the batch ended before 3 items: {child.stderr.read()!r}"
        child.send_signal(sig)
        code = child.wait(timeout=30)
        stderr = child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stderr.close()
    if sig == signal.SIGKILL:
        assert code == -signal.SIGKILL
    else:  # graceful: the running item finishes and is recorded, exit 130
        assert code == 130, stderr
        assert "stopped by SIGINT: no item started after it" in stderr and "re-run to resume" in stderr
    first = read_results(results)  # every line whole, even after SIGKILL
    assert 3 <= len(first) < LIGHT, "the interrupt came too late to test anything"
    assert all(r["ok"] for r in first)
    mtimes = {s["path"]: os.stat(s["path"]).st_mtime_ns for r in first for s in r["result"]["snapshots"]}

    done = batch(str(manifest), "--results", str(results), "--workers", "2", "--no-progress")
    assert done.returncode == 0, done.stderr
    assert f"resuming: {len(first)} of {LIGHT} items already have a result" in done.stderr
    assert f"ran {LIGHT - len(first)}, skipped {len(first)} already done" in done.stderr
    assert {p: os.stat(p).st_mtime_ns for p in mtimes} == mtimes  # finished items were not redone
    final = read_results(results)
    assert final[: len(first)] == first
    assert sorted(r["line"] for r in final) == list(range(1, LIGHT + 1))  # exactly one line per item
    for record in final:
        n = 1 + (record["line"] - 1) % 3
        assert len(record["result"]["snapshots"]) == n
    assert leftovers(tmp_path) == []
