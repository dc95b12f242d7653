"""SIGTERM as an exception, so a terminated job cleans up like an interrupted one.

Python turns SIGINT into ``KeyboardInterrupt``; SIGTERM's default action ends the
process where it stands, leaving a job's images and its ``.part`` temporaries.
With :func:`sigterm_raises` installed, SIGTERM raises :class:`Terminated` (a
``KeyboardInterrupt``) in the main thread instead, and the job's all-or-nothing
cleanup (SPEC §4) runs on the way out.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: Exit status of a process ended by a signal, as a shell reports it: 128 + number.
SIGNAL_EXIT_BASE = 128


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: stop the job and clean up, as for Ctrl-C."""

    signal_number = signal.SIGTERM


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """130 for SIGINT (Ctrl-C), 143 for SIGTERM."""
    number = signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT
    return SIGNAL_EXIT_BASE + int(number)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be installed from the main thread
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
