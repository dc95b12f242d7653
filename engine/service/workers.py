"""A bounded pool of worker threads, each running one engine job at a time.

Threads, not processes: a job spends its time in FFmpeg decoding, the kernels
and OpenCV encoding, all of which release the GIL, and a thread shares the
warmed-up kernels (the first job of a process pays the JIT/cache load once).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.api import snapshot
from engine.errors import one_line
from engine.service.errors import StoreError
from engine.service.redact import Redactor
from engine.service.store import Task, TaskStore

_log = logging.getLogger("snapshots.service")
#: Seconds an idle worker waits before looking at the database again. Submissions
#: wake workers at once (counted, so none is lost); this is only a safety net.
_POLL = 1.0


@dataclass
class JobStats:
    """Since this process started (Prometheus counters reset with the process)."""

    jobs_total: int = 0
    jobs_failed: int = 0
    job_seconds_sum: float = 0.0
    running: int = 0


@dataclass(frozen=True)
class Unrecorded:
    """A task whose end the database refused (disk full): failed, held in memory
    until the database takes it, so its state never reads 'running' for ever."""

    error: dict[str, str]
    finished: float


class WorkerPool:
    def __init__(self, store: TaskStore, workers: int, storage_root: str, on_end: Callable[[Task], None], *,
                 redactor: Redactor | None = None, allow_indirect: bool = False) -> None:
        self._store = store
        self._storage_root = storage_root
        self._on_end = on_end
        self._redactor = redactor or Redactor(storage_root=storage_root)
        self._allow_indirect = allow_indirect
        self._unrecorded: dict[str, Unrecorded] = {}
        self.store_problem: str | None = None
        """The last database failure met by a worker; None once writes succeed again."""
        self._wake = threading.Condition()
        self._signals = 0  # wake-ups not yet consumed: one per submission
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.size = workers
        self.stats = JobStats()
        self._threads = [
            threading.Thread(target=self._run, name=f"snapshots-worker-{n}", daemon=True) for n in range(workers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wake(self) -> None:
        with self._wake:
            self._signals += 1
            self._wake.notify()

    def stop(self, grace: float) -> bool:
        """Stop claiming; wait up to ``grace`` s for running jobs. A job still running
        then is left 'running' in the database and handled as after a crash.
        True when every worker has ended."""
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        deadline = time.monotonic() + grace
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def mean_job_seconds(self) -> float:
        with self._lock:
            done = self.stats.jobs_total
            return self.stats.job_seconds_sum / done if done else 1.0

    def unrecorded(self, task_id: str) -> Unrecorded | None:
        with self._lock:
            return self._unrecorded.get(task_id)

    def unrecorded_count(self) -> int:
        with self._lock:
            return len(self._unrecorded)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._record_unrecorded()
            try:
                task = self._store.claim()
            except StoreError as problem:  # nothing was claimed; look again after a pause
                self._note_problem(problem)
                task = None
            if task is None:
                with self._wake:
                    # A submission committed after our claim left a signal: no wait then.
                    if self._signals == 0 and not self._stop.is_set():
                        self._wake.wait(timeout=_POLL)
                    self._signals = max(0, self._signals - 1)
                continue
            result, error, written = self._execute(task)
            try:
                ended = self._store.finish(task.id, result=result, error=error)
            except StoreError as problem:
                self._fail_unrecorded(task, problem, written)
                continue
            self.store_problem = None
            try:
                self._on_end(ended)
            except Exception:  # a notification that cannot be scheduled never ends the worker
                _log.exception("task %s: could not schedule its notification", task.id)

    def _execute(self, task: Task) -> tuple[dict[str, Any] | None, dict[str, str] | None, list[str]]:
        """Run the job: (client result, client error, absolute paths written)."""
        with self._lock:
            self.stats.running += 1
        began = time.perf_counter()
        result: dict[str, Any] | None = None
        error: dict[str, str] | None = None
        written: list[str] = []
        try:
            done = snapshot(task.path, task.process, storage_root=self._storage_root, allow_indirect=self._allow_indirect)
            written = done.paths
            result = self._redactor.value(client_view(done.to_dict(), task.source, self._storage_root))
        except Exception as failure:  # engine errors and bugs alike end the task, never the worker
            error = {"class": type(failure).__name__, "message": self._redactor.text(one_line(str(failure)))}
        seconds = time.perf_counter() - began
        with self._lock:
            self.stats.running -= 1
            self.stats.jobs_total += 1
            self.stats.jobs_failed += error is not None
            self.stats.job_seconds_sum += seconds
        return result, error, written

    def _note_problem(self, problem: StoreError) -> None:
        self.store_problem = str(problem)
        _log.error("task database: %s", problem)

    def _fail_unrecorded(self, task: Task, problem: StoreError, written: list[str]) -> None:
        """The job ended but the database refused its end: the task fails visibly
        (in memory, and in the database once it accepts writes again), and, a failed
        task leaving nothing behind, the images it wrote are removed."""
        self._note_problem(problem)
        for path in written:
            try:
                os.unlink(path)
            except OSError:
                pass
        error = {"class": "StoreError",
                 "message": f"the job ended but the task database could not record it ({problem}); "
                            "its images were removed; submit the task again"}
        with self._lock:
            self._unrecorded[task.id] = Unrecorded(error, time.time())

    def _record_unrecorded(self) -> None:
        with self._lock:
            pending = list(self._unrecorded.items())
        for task_id, held in pending:
            try:
                ended = self._store.finish(task_id, error=held.error)
            except StoreError as problem:
                self._note_problem(problem)
                return
            with self._lock:
                self._unrecorded.pop(task_id, None)
            self.store_problem = None
            try:
                self._on_end(ended)
            except Exception:
                _log.exception("task %s: could not schedule its notification", task_id)


def client_view(result: dict[str, Any], source: str, storage_root: str) -> dict[str, Any]:
    """The result as the client addresses things: the source as submitted, each
    path as ``<bucket>/<object…>`` relative to the storage root (server paths are
    none of the client's business)."""
    shots = [{**shot, "path": os.path.relpath(shot["path"], storage_root)} for shot in result["snapshots"]]
    return {**result, "source": source, "snapshots": shots}
