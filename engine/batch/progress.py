"""The progress bar (tqdm on stderr) and the batch's stderr messages.

Messages go through the bar when there is one, so a failure line does not tear
the bar apart. tqdm is optional: without it (batch extra not installed) there is
simply no bar.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

PREFIX = "snapshots batch"


class Progress:
    def __init__(self, total: int, *, enabled: bool, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._bar: Any = None
        self._failed = 0
        if enabled and total:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self._bar = tqdm(total=total, file=self._stream, unit="item", dynamic_ncols=True, desc=PREFIX)

    def advance(self, ok: bool) -> None:
        if self._bar is None:
            return
        self._bar.update(1)
        if not ok:
            self._failed += 1
            self._bar.set_postfix(failed=self._failed, refresh=False)

    def say(self, message: str) -> None:
        line = f"{PREFIX}: {message}"
        if self._bar is not None:
            self._bar.write(line, file=self._stream)
        else:
            print(line, file=self._stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
