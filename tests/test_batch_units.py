"""Batch mode pieces that need no worker: manifest parsing and path resolution,
item keys, the results file (partial lines, lock, retry), CLI argument errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.batch import (
    ManifestFileError,
    ResultsFile,
    ResultsFileError,
    SchedulerError,
    item_key,
    read_manifest,
    run_batch,
)
from engine.batch.cli import main
from engine.batch.runners import DaskRunner

SAVEAS = "video/snapshots,f_jpg|sys/saveas,b_YnVja2V0,o_b2Jq"


def _manifest(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "m" / "jobs.jsonl"
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_manifest_lines_paths_and_errors(tmp_path):
    path = _manifest(
        tmp_path,
        json.dumps({"source": "a.mp4", "process": "video/snapshots,f_jpg", "target": "out/a"}),
        "",
        json.dumps({"source": "/abs/b.mp4", "process": SAVEAS}),
        "   ",
        json.dumps({"source": "c.mp4", "process": "video/snapshots,f_jpg"}),
        json.dumps({"source": "c.mp4", "process": "video/snapshots,f_jpg", "traget": "x"}),
        json.dumps(["c.mp4"]),
        json.dumps({"source": "", "process": "video/snapshots,f_jpg", "target": "x"}),
        json.dumps({"source": "c.mp4", "target": "x"}),
        json.dumps({"source": "c.mp4", "process": "video/snapshots,f_gif"}),
        "not json",
    )
    with open(path, "ab") as manifest:
        manifest.write(b'{"source": "\xff"}\n')  # a line that is not UTF-8
    entries = read_manifest(path)
    assert [e.line for e in entries] == [1, 3, 5, 6, 7, 8, 9, 10, 11, 12]  # blank lines are not items
    a, b, *bad = entries
    folder = path.parent.resolve()
    assert (a.job.source, a.job.target, a.job.storage_root) == (str(folder / "a.mp4"), str(folder / "out/a"), None)
    assert (a.source, a.target) == ("a.mp4", "out/a")  # recorded as written
    assert (b.job.source, b.job.target) == ("/abs/b.mp4", None)  # saveas: no target needed
    messages = [str(e.error) if e.error else None for e in bad]
    assert messages[0].startswith("target: missing")
    assert messages[1].startswith("line: unknown key(s) 'traget'")
    assert messages[2].startswith("line: a JSON list")
    assert messages[3].startswith("source: '' is not valid")
    assert messages[4].startswith("process: missing")
    assert messages[5] is None  # a bad processing string is the worker's ProcessError
    assert messages[6].startswith("line: not JSON")
    assert messages[7].startswith("line: not UTF-8")
    assert len({e.key for e in entries}) == len(entries)


def test_storage_root_keeps_targets_as_written(tmp_path):
    path = _manifest(tmp_path, json.dumps({"source": "a.mp4", "process": "video/snapshots,f_jpg", "target": "out/a"}))
    (entry,) = read_manifest(path, storage_root="store")
    assert (entry.job.target, entry.job.storage_root) == ("out/a", os.path.abspath("store"))


def test_item_key_is_stable_and_field_sensitive():
    key = item_key("a.mp4", "video/snapshots,f_jpg", "out/a")
    assert key == item_key("a.mp4", "video/snapshots,f_jpg", "out/a") and len(key) == 16
    assert key == "46938082dccae2b2"  # a hash of the fields, not of the process or machine
    assert len({key, item_key("a.mp4", "video/snapshots,f_jpg", "out/b"), item_key("a.mp4", "video/snapshots,f_png", "out/a"),
                item_key("a.mp4", "video/snapshots,f_jpg", None)}) == 4


def test_results_file_drops_a_partial_last_line_and_locks(tmp_path):
    path = tmp_path / "r.jsonl"
    whole = json.dumps({"key": "k1", "ok": True}) + "\n" + json.dumps({"key": "k2", "ok": False}) + "\n"
    path.write_text(whole + '{"key": "k3", "ok": tr')  # a kill in the middle of a line
    with ResultsFile(path) as results:
        assert results.done == {"k1": True, "k2": False}
        assert path.read_text() == whole
        with pytest.raises(ResultsFileError, match="in use by another batch"):
            ResultsFile(path)
        results.append({"key": "k3", "ok": True})
        assert results.forget(["k2", "nope"]) == 1
        assert results.done == {"k1": True, "k3": True}
    assert [json.loads(line)["key"] for line in path.read_text().splitlines()] == ["k1", "k3"]


def test_retry_failed_runs_failed_items_again(tmp_path):
    # Lines that never reach a worker, so no pool starts.
    path = _manifest(tmp_path, "oops", json.dumps({"source": "a.mp4", "process": "video/snapshots,f_jpg"}))
    first = run_batch(path)
    assert (first.ran, first.failed, first.exit_code) == (2, 2, 1)
    assert run_batch(path).ran == 0
    retried = run_batch(path, retry_failed=True)
    assert (retried.ran, retried.skipped, retried.failed) == (2, 0, 2)
    assert len(Path(f"{path}.results.jsonl").read_text().splitlines()) == 2


def test_empty_manifest_is_a_success(tmp_path):
    summary = run_batch(_manifest(tmp_path, ""))
    assert (summary.items, summary.exit_code) == (0, 0)


@pytest.mark.parametrize(
    "args,message",
    [
        (["missing.jsonl"], "manifest 'missing.jsonl': No such file or directory"),
        (["."], "manifest '.': Is a directory"),
        (["jobs.jsonl", "--workers", "0"], "argument --workers: '0'; valid: an integer ≥ 1"),
        (["jobs.jsonl", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not allowed with argument"),
        ([], "the following arguments are required: manifest"),
    ],
)
def test_bad_arguments_exit_2(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_unreachable_scheduler(tmp_path):
    pytest.importorskip("distributed")
    with pytest.raises(SchedulerError, match="cannot connect"):
        DaskRunner("tcp://127.0.0.1:1", timeout_s=0.5)


def test_results_file_in_a_missing_folder_exits_2(tmp_path, capsys):
    path = _manifest(tmp_path, "")
    assert main([str(path), "--results", str(tmp_path / "no" / "r.jsonl")]) == 2
    assert "No such file or directory" in capsys.readouterr().err


def test_manifest_file_error_is_a_setup_error(tmp_path):
    with pytest.raises(ManifestFileError):
        read_manifest(tmp_path / "none.jsonl")
