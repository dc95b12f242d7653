"""The per-item function, the same for the local pool and a Dask cluster.

:func:`run_item` is module-level and takes/returns plain data, so it pickles by
reference (the worker imports this module once and keeps it, with the engine,
its loaded kernels and OpenCV, warm for every later item).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

from engine.api import snapshot
from engine.batch.manifest import Job
from engine.errors import SnapshotError, exit_code_for, one_line
from engine.heap import pin_mmap_threshold
from engine.interrupts import Terminated

Outcome = dict[str, Any]
"""``{"ok": True, "result": Result.to_dict()}`` or ``{"ok": False, "error": {...}}``;
an item abandoned on SIGTERM has ``"abandoned": True`` and is not recorded."""

#: Whether this process is running an item now: SIGTERM abandons an item, and is
#: ignored between items (the parent then shuts the pool down).
_in_item = False


def run_item(job: Job) -> Outcome:
    """Run one job; every failure of the job becomes an error outcome, never a raise,
    so one bad item cannot fail the batch (or a Dask task's retries)."""
    global _in_item
    pin_mmap_threshold()  # every worker, local or Dask, runs its items here; idempotent
    _in_item = True
    try:
        result = snapshot(job.source, job.process, job.target, storage_root=job.storage_root)
        _in_item = False  # done and in place: a SIGTERM from here on leaves it finished
        return {"ok": True, "result": result.to_dict()}
    except Terminated:
        # The engine has removed the item's images (all or nothing): nothing of it
        # remains, and the parent leaves it unrecorded so a resumed batch runs it.
        return abandoned_outcome()
    except SnapshotError as error:
        return error_outcome(type(error).__name__, str(error), exit_code_for(error))
    except Exception as error:  # an engine bug or an OS surprise: still this item's
        return error_outcome(type(error).__name__, f"internal error: {error}", exit_code_for(error))
    finally:
        _in_item = False


def error_outcome(cls: str, message: str, exit_code: int) -> Outcome:
    return {"ok": False, "error": {"class": cls, "message": one_line(message), "exit_code": exit_code}}


def abandoned_outcome() -> Outcome:
    outcome = error_outcome("Terminated", "abandoned on SIGTERM; its images were removed; it runs again on resume", 143)
    return {**outcome, "abandoned": True}


def _terminate_item(signum: int, frame: object) -> None:
    if _in_item:
        raise Terminated()


def init_local_worker(parent_pid: int) -> None:
    """Initializer of local pool processes.

    Ctrl-C in a terminal reaches the whole process group; the parent decides what
    an interrupt means (finish the running items, record them, stop), so workers
    ignore it instead of failing their current item with KeyboardInterrupt.

    SIGTERM (systemd, ``timeout`` and ``kill`` of the group, or the parent's second
    interrupt) asks for a prompt stop: the running item is abandoned cleanly (the
    engine removes what it wrote, no ``.part`` is left) and reported as abandoned.

    A parent killed outright (SIGKILL, OOM) cannot shut the pool down, and an idle
    worker waiting for its next item would wait forever; a watcher thread ends the
    worker once the batch process is gone.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _terminate_item)  # the forkserver ignores it (runners.py)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), name="batch-parent-watch", daemon=True).start()


def _exit_with_parent(parent_pid: int, period_s: float = 0.5) -> None:
    while True:
        time.sleep(period_s)
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass  # alive, someone else's: cannot happen for our parent, but harmless
