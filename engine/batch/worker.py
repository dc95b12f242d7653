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
from engine.errors import SnapshotError, exit_code_for
from engine.heap import pin_mmap_threshold

Outcome = dict[str, Any]
"""``{"ok": True, "result": Result.to_dict()}`` or ``{"ok": False, "error": {...}}``."""


def run_item(job: Job) -> Outcome:
    """Run one job; every failure of the job becomes an error outcome, never a raise,
    so one bad item cannot fail the batch (or a Dask task's retries)."""
    pin_mmap_threshold()  # every worker, local or Dask, runs its items here; idempotent
    try:
        result = snapshot(job.source, job.process, job.target, storage_root=job.storage_root)
    except SnapshotError as error:
        return error_outcome(type(error).__name__, str(error), exit_code_for(error))
    except Exception as error:  # an engine bug or an OS surprise: still this item's
        return error_outcome(type(error).__name__, f"internal error: {error}", exit_code_for(error))
    return {"ok": True, "result": result.to_dict()}


def error_outcome(cls: str, message: str, exit_code: int) -> Outcome:
    return {"ok": False, "error": {"class": cls, "message": message, "exit_code": exit_code}}


def init_local_worker(parent_pid: int) -> None:
    """Initializer of local pool processes.

    Ctrl-C in a terminal reaches the whole process group; the parent decides what
    an interrupt means (finish the running items, record them, stop), so workers
    ignore it instead of failing their current item with KeyboardInterrupt.

    A parent killed outright (SIGKILL, OOM) cannot shut the pool down, and an idle
    worker waiting for its next item would wait forever; a watcher thread ends the
    worker once the batch process is gone.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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
