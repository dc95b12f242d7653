"""How the ``snapshots`` commands speak on stderr besides their results.

The kernels advise through :mod:`logging` (for instance that no compiled module
was installed, so Numba's JIT runs): a library must not print. A command turns
that advice into its own ``snapshots[ SUBCOMMAND]: warning: …`` line, each
message once per process, so a newcomer sees one clear line, not a log record.
"""

from __future__ import annotations

import logging
import sys

from engine.errors import one_line

__all__ = ["prefix_kernel_warnings"]


class _PrefixedOnce(logging.Handler):
    def __init__(self, prog: str) -> None:
        super().__init__(logging.WARNING)
        self.prog = prog
        self.seen: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        message = one_line(record.getMessage())
        if message not in self.seen:
            self.seen.add(message)
            print(f"{self.prog}: warning: {message}", file=sys.stderr)


def prefix_kernel_warnings(prog: str) -> None:
    """Show the kernels' warnings as ``PROG: warning: …`` lines, each once (idempotent)."""
    logger = logging.getLogger("kernels")
    for handler in logger.handlers:
        if isinstance(handler, _PrefixedOnce):
            handler.prog = prog
            return
    logger.addHandler(_PrefixedOnce(prog))
