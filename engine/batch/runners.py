"""Where items run: a local process pool, or a Dask distributed cluster.

Both take ``(key, Job)`` pairs and yield ``(key, Outcome)`` as items finish (in
completion order, not manifest order). Both watch a ``stop`` event between
completions: once it is set nothing new starts, queued items are cancelled, and
the runner returns (the local pool first lets running items finish and yields
them, so their work is recorded rather than redone).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from engine.batch.manifest import Job
from engine.batch.worker import Outcome, error_outcome, init_local_worker, run_item

ItemFn = Callable[[Job], Outcome]
#: How often a waiting runner looks at the stop event (seconds).
POLL_S = 0.2
#: Seconds workers get to abandon their items on a second interrupt before SIGKILL.
KILL_GRACE_S = 10.0


class SchedulerError(Exception):
    """The Dask scheduler cannot be reached, or Dask is not installed."""


class Runner(Protocol):
    def run(self, jobs: Iterable[tuple[str, Job]], stop: threading.Event) -> Iterator[tuple[str, Outcome]]: ...

    def close(self) -> None: ...

    def kill(self) -> None: ...


class LocalRunner:
    """A pool of long-lived worker processes (``ProcessPoolExecutor``).

    Processes are started once and serve every item, so imports, the loaded
    kernels and OpenCV stay warm; nothing is spawned per item. They are forked from
    a forkserver that has already imported the engine (fast starts, and safe even
    when the parent has threads, unlike a plain fork).
    """

    def __init__(self, workers: int, fn: ItemFn = run_item) -> None:
        if workers < 1:
            raise ValueError(f"workers: {workers}; valid: 1 or more")
        self.workers = workers
        self._fn = fn
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        context = None
        if "forkserver" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["engine.batch.worker"])
            _start_forkserver_shielded()
        return ProcessPoolExecutor(self.workers, mp_context=context, initializer=init_local_worker, initargs=(os.getpid(),))

    def run(self, jobs: Iterable[tuple[str, Job]], stop: threading.Event) -> Iterator[tuple[str, Outcome]]:
        queue: deque[tuple[str, Job]] = deque(jobs)
        # Items in flight when a worker process died. Each runs alone afterwards, so
        # the one that kills its worker cannot take innocent neighbours with it.
        suspects: dict[str, int] = {}
        running: dict[Future[Outcome], tuple[str, Job]] = {}
        # One per worker and no more: an item handed to the pool cannot be taken
        # back (the executor moves it to its call queue at once), so anything beyond
        # the running items would still start after a stop.
        window = self.workers
        if self._pool is None:
            self._pool = self._new_pool()
        while queue or running:
            if stop.is_set():
                queue.clear()
                for future in running:
                    future.cancel()  # only those not started yet; running ones finish
            while queue and not stop.is_set() and len(running) < window:
                if queue[0][0] in suspects and running:
                    break  # a suspect waits for an empty pool ...
                key, job = queue.popleft()
                running[self._pool.submit(self._fn, job)] = (key, job)
                if key in suspects:
                    break  # ... and runs alone
            if not running:
                continue
            done, _ = wait(running, timeout=POLL_S, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                key, job = running.pop(future)
                if future.cancelled():
                    continue
                error = future.exception()
                if isinstance(error, BrokenProcessPool):
                    broken = True
                    suspects[key] = suspects.get(key, 0) + 1
                    if suspects[key] >= 2:
                        yield key, error_outcome("WorkerCrashed", "the worker process died running this item (twice)", 1)
                    else:
                        queue.appendleft((key, job))
                elif error is not None:  # the item could not be sent or returned
                    yield key, error_outcome(type(error).__name__, f"internal error: {error}", 1)
                else:
                    yield key, future.result()
            if broken and not running:
                # Every future of a broken pool fails; once all have, start afresh.
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def kill(self, grace_s: float | None = None) -> None:
        """Stop now (a second interrupt): SIGTERM makes each worker abandon its item
        cleanly (the engine removes what the item wrote); a worker still alive after
        ``grace_s`` is killed (then only complete images or hidden ``.part`` files
        can remain)."""
        if self._pool is None:
            return
        processes = list(getattr(self._pool, "_processes", {}).values())
        for process in processes:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + (KILL_GRACE_S if grace_s is None else grace_s)
        for process in processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None


def _start_forkserver_shielded() -> None:
    """Start the forkserver with SIGTERM ignored (a disposition it keeps across exec).

    The pool learns that a worker ended through the forkserver's pipes; a SIGTERM
    to the process group (systemd, ``timeout``) that ended the forkserver would make
    every worker look dead and the pool broken, and the batch would give up on items
    its workers were still finishing or cleanly abandoning. The forkserver ends by
    itself when the batch process does; workers set their own SIGTERM handler
    (init_local_worker). Dispositions can only be changed from the main thread;
    elsewhere (run_batch called from a thread) the forkserver starts as it is.
    """
    from multiprocessing import forkserver

    if threading.current_thread() is not threading.main_thread():
        forkserver.ensure_running()
        return
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGTERM, previous)


class DaskRunner:
    """Items as tasks on a Dask distributed cluster, streamed back with
    ``as_completed``. Workers must see the same paths (a shared filesystem) and have
    the engine installed; each worker process keeps it warm across tasks."""

    def __init__(self, address: str, fn: ItemFn = run_item, *, timeout_s: float = 10) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise SchedulerError("--scheduler needs Dask: pip install 'snapshots-engine[batch]'") from None
        self._fn = fn
        try:
            self.client = Client(address, timeout=timeout_s)
        except (OSError, TimeoutError, ValueError) as error:
            raise SchedulerError(f"scheduler {address!r}: cannot connect ({error or type(error).__name__})") from None

    def run(self, jobs: Iterable[tuple[str, Job]], stop: threading.Event) -> Iterator[tuple[str, Outcome]]:
        from distributed import as_completed

        keys: dict[str, str] = {}
        futures = []
        for key, job in jobs:
            # The item key as the task key: stable, readable on the dashboard, and
            # unique in a batch (the manifest's duplicates were removed).
            future = self.client.submit(self._fn, job, key=f"snapshot-{key}")
            keys[future.key] = key
            futures.append(future)
        completed = as_completed(futures)
        while not completed.is_empty():
            if stop.is_set():
                # Tasks already running on workers still finish there; their results
                # are not recorded, so a resumed batch runs them again.
                self.client.cancel(futures)
                return
            batch = completed.next_batch(block=False)
            if not batch:
                stop.wait(POLL_S / 4)
                continue
            for future in batch:
                if future.cancelled():
                    continue
                if future.status == "error":
                    # Not the item's own failure (run_item returns those): the task
                    # could not run, e.g. KilledWorker after repeated worker deaths.
                    error = future.exception()
                    yield keys[future.key], error_outcome(type(error).__name__, str(error), 1)
                else:
                    yield keys[future.key], future.result()
                future.release()

    def close(self) -> None:
        self.client.close()

    def kill(self) -> None:
        self.close()
