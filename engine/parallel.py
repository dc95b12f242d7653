"""Decode runs side by side, one decoder per thread, handed back in plan order.

A decode run is short (a seek, then a GOP's worth of frames at most), and FFmpeg's
frame threads gain little on short runs: each seek empties their pipeline. Separate
decoders on separate runs do scale: measured on two cores, twelve 1080p runs take
1.8 s on one frame-threaded decoder and 1.2 s on two single-threaded ones.

Each worker thread opens its own container and decoder (PyAV contexts are never
shared across threads) and takes every ``workers``-th run. The consumer reads the
runs in plan order, so everything downstream (names, dhash scoring, "a frame is
given once") sees exactly the sequential order. Queues are bounded, so workers run
at most a few frames ahead and memory does not grow with the number of runs.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import nullcontext

import av

from engine import settings
from engine.decoder import DecodeRun, Decoder, DecodeStats, Resolved, given_once
from engine.planner import Plan, StreamFacts

__all__ = ["decoder_count", "parallel_resolve"]

#: More decoders than this only add memory: runs are also limited by disk reads.
MAX_DECODERS = 4
#: Frames a worker may hold decoded ahead of the consumer.
QUEUE_FRAMES = 4

_END = object()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def decoder_count(runs: int) -> int:
    """How many decoders a plan of ``runs`` decode runs gets: one per core, at most
    :data:`MAX_DECODERS` and one per run; ``$SNAPSHOTS_DECODERS`` overrides the cap."""
    setting = settings.decoders()
    cap = setting if setting is not None else min(_cores(), MAX_DECODERS)
    return max(1, min(cap, runs))


class _Worker(threading.Thread):
    def __init__(self, open_container: Callable[[], av.container.InputContainer], stream_index: int,
                 plan: Plan, runs: tuple[DecodeRun, ...], numbers: list[int], facts: StreamFacts, threads: int,
                 stop: threading.Event, container: av.container.InputContainer | None = None) -> None:
        super().__init__(daemon=True, name=f"decode-runs-{numbers[0]}")
        self._open = open_container
        self._container = container
        self._stream_index = stream_index
        self._plan = plan
        self._runs = runs
        self._numbers = numbers
        self._facts = facts
        self._threads = threads
        self._halt = stop
        self.stats = DecodeStats()
        self.out: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)

    def _put(self, item) -> bool:
        while not self._halt.is_set():
            try:
                self.out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        try:
            own = self._container is None
            with (self._open() if own else nullcontext(self._container)) as container:
                decoder = Decoder(container, self._stream_index, keyframes_only=self._plan.keyframes_only,
                                  stats=self.stats, threads=self._threads)
                for number in self._numbers:
                    for resolved in decoder.run(self._runs[number], self._plan, self._facts):
                        if not self._put((number, resolved)):
                            return
                    if not self._put((number, _END)):
                        return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            self._put((None, exc))


def parallel_resolve(
    open_container: Callable[[], av.container.InputContainer],
    stream_index: int,
    plan: Plan,
    facts: StreamFacts,
    runs: tuple[DecodeRun, ...],
    stats: DecodeStats,
    workers: int,
    container: av.container.InputContainer | None = None,
) -> Iterator[Resolved]:
    """What one decoder gives for ``runs``, decoded by ``workers`` decoders.

    ``open_container`` opens the source anew for each worker; the first takes
    ``container`` when given (the job's own, idle meanwhile: a long file's index
    costs megabytes per open container). The workers' counts
    are added to ``stats`` when the iteration ends, however it ends.
    """
    workers = min(workers, len(runs))
    if workers < 1:
        return
    stop = threading.Event()
    threads = max(1, _cores() // workers)
    pool = [
        _Worker(open_container, stream_index, plan, runs, list(range(first, len(runs), workers)), facts, threads, stop,
                container if first == 0 else None)
        for first in range(workers)
    ]
    for worker in pool:
        worker.start()
    try:
        yield from given_once(_in_plan_order(pool, len(runs)), stats)
    finally:
        stop.set()
        for worker in pool:
            worker.join()
        for worker in pool:
            stats.add(worker.stats)


def _in_plan_order(pool: list[_Worker], runs: int) -> Iterator[Resolved]:
    """Run after run, from the worker that decoded it; a worker's error is raised here."""
    for number in range(runs):
        source = pool[number % len(pool)].out
        while True:
            run_number, item = source.get()
            if run_number is None:
                raise item
            if item is _END:
                break
            yield item
