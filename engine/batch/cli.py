"""``snapshots batch MANIFEST [--results FILE] [--workers N | --scheduler ADDRESS]
[--storage-root DIR] [--retry-failed] [--[no-]progress]``.

Exit: 0 every item ok; 1 some item failed or has no result (see the results
file); 2 bad arguments, unreadable manifest, results file in use, unwritable, not
a results file or an input of the batch, scheduler unreachable; 130 interrupted by
SIGINT, 143 by SIGTERM (re-run to resume).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from engine.batch.core import RESULTS_SUFFIX, BatchSummary, SetupError, run_batch
from engine.batch.progress import PREFIX
from engine import settings
from engine.console import prefix_kernel_warnings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="snapshots batch",
        description="Run many snapshot jobs from a JSON-lines manifest; one result line per item; resumable.",
        epilog='manifest line: {"source": "clip.mp4", "process": "video/snapshots,f_jpg,inter_10000", "target": "out/clip"}',
    )
    parser.add_argument("manifest", help="JSON lines: source, process, target (relative paths: from the manifest's folder)")
    parser.add_argument("--results", help=f"results file (default: MANIFEST{RESULTS_SUFFIX}); items with a line in it are skipped")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_positive, help="local worker processes (default: the CPU count)")
    where.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask distributed cluster, e.g. tcp://host:8786")
    parser.add_argument("--storage-root", help="folder holding the buckets of sys/saveas; targets are then relative to it")
    parser.add_argument("--retry-failed", action="store_true", help="run items whose recorded result is an error again")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar on stderr (default: when stderr is a terminal)")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}; valid: an integer ≥ 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # main returns its code, as `snapshots` expects
        return exit_.code if isinstance(exit_.code, int) else 2
    progress = args.progress if args.progress is not None else sys.stderr.isatty()
    stop = threading.Event()
    received: list[int] = []  # the signals that arrived, in order
    try:
        with _kernels_chosen_once(local=args.scheduler is None), _graceful(stop, received):
            summary = run_batch(
                args.manifest, results=args.results, workers=args.workers, scheduler=args.scheduler,
                storage_root=args.storage_root, retry_failed=args.retry_failed, progress=progress, stop=stop,
            )
    except (*SetupError, KernelChoiceError) as error:
        print(f"{PREFIX}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PREFIX}: stopped at once: running items were abandoned (workers told to remove what they "
              "wrote) and not recorded; items finished before are in the results file; re-run the same "
              "command to resume", file=sys.stderr)
        return _signal_exit(received)
    print(f"{PREFIX}: {_describe(summary, received)}", file=sys.stderr)
    return _signal_exit(received) if summary.interrupted else summary.exit_code


class KernelChoiceError(Exception):
    """SNAPSHOTS_KERNELS is not a choice, or asks for a compiled module that cannot be used."""


@contextmanager
def _kernels_chosen_once(*, local: bool) -> Iterator[None]:
    """Say once, here, which kernels the local workers run, and have them follow
    that choice quietly: each worker process would otherwise repeat the warning.
    (Workers of a Dask cluster run elsewhere and report in their own logs.)"""
    prefix_kernel_warnings(PREFIX)
    if not local:
        yield
        return
    from kernels import native

    try:
        compiled = native.backend() == "aot"  # warns, prefixed, when it is not
    except (RuntimeError, ValueError) as error:
        raise KernelChoiceError(str(error)) from error
    if compiled:
        yield
        return
    with settings.kernels_for_children("jit"):
        yield


def _signal_exit(received: list[int]) -> int:
    """128 + the first signal's number, as a shell reports a process it ended."""
    return 128 + (received[0] if received else signal.SIGINT)


def _describe(s: BatchSummary, received: list[int]) -> str:
    parts = [f"{s.items} items: {s.ok} ok, {s.failed} failed"]
    if s.missing:
        parts.append(f"{s.missing} without a result")
    parts.append(f"ran {s.ran}, skipped {s.skipped} already done")
    if s.duplicates:
        parts.append(f"{s.duplicates} repeated lines ignored")
    text = "; ".join(parts) + f"; {s.elapsed_s:.1f} s; results: {s.results}"
    if s.interrupted:
        name = signal.Signals(received[0]).name if received else "interrupt"
        what = f"stopped by {name}: no item started after it; {s.ran} item(s) recorded by this run"
        if s.abandoned:
            what += f", {s.abandoned} running item(s) abandoned (their images removed)"
        text = f"{what}; re-run to resume. " + text
    return text


@contextmanager
def _graceful(stop: threading.Event, received: list[int]) -> Iterator[None]:
    """First SIGINT/SIGTERM: set ``stop``: no item starts any more; the running ones
    finish and are recorded (or, when the signal reached the workers too, as a
    SIGTERM to the process group does, are abandoned cleanly); exit 128 + signal.
    A second one: KeyboardInterrupt, which tells the workers to abandon their items."""

    def handler(signum: int, frame: object) -> None:
        received.append(signum)
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print(f"\n{PREFIX}: {signal.Signals(signum).name}: no new item starts; the running items finish and are "
              "recorded, unless the signal reached them too (then they are abandoned, their images removed); "
              "interrupt again to abandon them now", file=sys.stderr, flush=True)

    if threading.current_thread() is not threading.main_thread():
        yield  # signals can only be handled in the main thread
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
