"""``run_batch``: manifest in, one result line per item out, resumable.

The flow: read the manifest → open (lock, repair) the results file → drop items
that already have a line (resume) and repeated items → record malformed lines
→ run the rest on a runner, appending each result as it arrives.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.batch.manifest import Entry, ManifestFileError, read_manifest
from engine.batch.progress import Progress
from engine.batch.results import Record, ResultsFile, ResultsFileError
from engine.batch.runners import DaskRunner, LocalRunner, Runner, SchedulerError
from engine.batch.worker import Outcome, error_outcome
from engine.errors import clipped, exit_code_for

RESULTS_SUFFIX = ".results.jsonl"
#: The batch could not start (exit 2): bad manifest file, results file, scheduler.
SetupError = (ManifestFileError, ResultsFileError, SchedulerError)


@dataclass(frozen=True)
class BatchSummary:
    results: str
    """Path of the results file."""
    items: int
    """Distinct items in the manifest (malformed lines included, repeats not)."""
    duplicates: int
    """Lines repeating an earlier item (same key): run once, one result line."""
    skipped: int
    """Items that already had a result line (resume)."""
    ran: int
    """Items recorded by this run."""
    ok: int
    failed: int
    """Over all items, this run's and earlier runs'."""
    missing: int
    """Items still without a result (interrupted, or the runner stopped)."""
    interrupted: bool
    elapsed_s: float
    abandoned: int = 0
    """Items that were running when SIGTERM reached their workers: stopped, their
    images removed, not recorded (a resumed batch runs them)."""

    @property
    def exit_code(self) -> int:
        """130 interrupted; 1 some item failed or has no result; 0 all ok."""
        if self.interrupted:
            return 130
        return 1 if self.failed or self.missing else 0


def default_results_path(manifest: str | os.PathLike[str]) -> str:
    return os.fspath(manifest) + RESULTS_SUFFIX


def run_batch(
    manifest: str | os.PathLike[str],
    *,
    results: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    storage_root: str | os.PathLike[str] | None = None,
    retry_failed: bool = False,
    progress: bool = False,
    stop: threading.Event | None = None,
    on_record: Callable[[Record], None] | None = None,
) -> BatchSummary:
    """Run every item of ``manifest`` that has no result yet (the README's "Batch mode").

    ``workers``: local pool size (default ``os.cpu_count()``, never more than the
    items to run); ``scheduler``: a Dask scheduler address instead of the local
    pool. ``stop``: set it (the CLI does on SIGINT/SIGTERM) to stop cleanly.
    Raises ``SetupError`` members when the batch cannot start.
    """
    started = time.monotonic()
    stop = stop if stop is not None else threading.Event()
    results_path = os.fspath(results) if results is not None else default_results_path(manifest)
    root = os.fspath(storage_root) if storage_root is not None else None
    entries = read_manifest(manifest, storage_root=root)
    unique: dict[str, Entry] = {}
    for entry in entries:
        unique.setdefault(entry.key, entry)
    ran = 0
    abandoned = 0
    inputs = [os.fspath(manifest), *(e.job.source for e in unique.values() if e.job is not None)]
    with ResultsFile(results_path, inputs=inputs) as log:
        if retry_failed:
            log.forget(key for key, ok in log.done.items() if not ok and key in unique)
        todo = [e for e in unique.values() if e.key not in log.done]
        skipped = len(unique) - len(todo)
        bar = Progress(len(todo), enabled=progress)
        if skipped:
            bar.say(f"resuming: {skipped} of {len(unique)} items already have a result in {results_path}; skipping them")

        def record(entry: Entry, outcome: Outcome) -> None:
            nonlocal ran, abandoned
            if outcome.get("abandoned"):  # nothing of it remains: left for the resume
                abandoned += 1
                bar.say(f"line {entry.line}: abandoned on SIGTERM (its images were removed); it runs again on resume")
                return
            # As written, but a 5 MB field is not copied whole into every record.
            line: Record = {"line": entry.line, "key": entry.key, "source": clipped(entry.source),
                            "target": clipped(entry.target), **outcome}
            log.append(line)
            ran += 1
            bar.advance(bool(outcome["ok"]))
            if not outcome["ok"]:
                error = outcome["error"]
                bar.say(f"line {entry.line}: {error['class']}: {error['message']}")
            if on_record is not None:
                on_record(line)

        try:
            for entry in todo:
                if entry.error is not None:
                    error = entry.error
                    record(entry, error_outcome(type(error).__name__, str(error), exit_code_for(error)))
            jobs = [(e.key, e.job) for e in todo if e.job is not None]
            if jobs and not stop.is_set():
                runner = _runner(scheduler, workers, len(jobs))
                try:
                    by_key = {e.key: e for e in todo}
                    for key, outcome in runner.run(jobs, stop):
                        record(by_key[key], outcome)
                except KeyboardInterrupt:  # the second interrupt: stop now
                    runner.kill()
                    raise
                finally:
                    runner.close()
        finally:
            bar.close()
        done = {key: log.done[key] for key in unique if key in log.done}
    return BatchSummary(
        results=results_path,
        items=len(unique),
        duplicates=len(entries) - len(unique),
        skipped=skipped,
        ran=ran,
        ok=sum(done.values()),
        failed=len(done) - sum(done.values()),
        missing=len(unique) - len(done),
        interrupted=stop.is_set(),
        elapsed_s=time.monotonic() - started,
        abandoned=abandoned,
    )


def _runner(scheduler: str | None, workers: int | None, jobs: int) -> Runner:
    if scheduler is not None:
        return DaskRunner(scheduler)
    # More processes than items would only cost start-up time.
    return LocalRunner(min(workers or os.cpu_count() or 1, jobs))
