"""Server paths stay on the server: what a client reads names files relative to
the media root (sources) and the storage root (outputs), never absolutely.

Engine messages and warnings name the paths the engine was handed, which in the
service are absolute (``source '/srv/media/clip.mp4': …``). Every text a client
can read (task results and errors, notification events, error answers) passes
through :meth:`Redactor.text` before it is stored or sent.
"""

from __future__ import annotations

import os
from typing import Any


class Redactor:
    def __init__(self, **roots: str | os.PathLike[str]) -> None:
        # Longest first, so a root inside another is replaced by its own name.
        pairs = []
        for label, root in roots.items():
            for form in {os.fspath(root), os.path.realpath(root)}:
                pairs.append((form.rstrip(os.sep), f"<{label}>"))
        self._roots = sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)

    def text(self, text: str) -> str:
        """``<root>/a/b`` → ``a/b``; the root alone → ``<label>``."""
        for root, label in self._roots:
            if root:
                text = text.replace(root + os.sep, "").replace(root, label)
        return text

    def value(self, value: Any) -> Any:
        """Every string inside a JSON-like value, redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(item) for item in value]
        return value
