"""The results file: one JSON line per finished item, appended and synced per item.

It is also the batch's only state: a key with a line is done, so a re-run after an
interruption resumes where it stopped. A kill can cut the last line short; that
partial line is dropped on open (its item is redone), so every line is whole JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any, BinaryIO

try:  # POSIX: one batch at a time per results file
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock
    fcntl = None  # type: ignore[assignment]

Record = dict[str, Any]


class ResultsFileError(Exception):
    """The results file cannot be opened, locked or written."""


class ResultsFile:
    """Open (creating if needed), lock and repair a results file; append records."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        try:
            self._file: BinaryIO = open(self.path, "a+b")
        except OSError as error:
            raise ResultsFileError(f"results {self.path!r}: {error.strerror or error}") from None
        try:
            self._lock()
            self.done: dict[str, bool] = self._load()
        except BaseException:
            self._file.close()
            raise

    def _lock(self) -> None:
        # Two batches appending to one file would run the same items twice.
        if fcntl is None:
            return
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ResultsFileError(f"results {self.path!r}: in use by another batch") from None

    def _load(self) -> dict[str, bool]:
        """Key -> ok of every whole line; truncates a partial last line."""
        self._file.seek(0)
        data = self._file.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            self._file.truncate(end)
        done: dict[str, bool] = {}
        for raw in data[:end].splitlines():
            try:
                record = json.loads(raw)
                done[str(record["key"])] = bool(record["ok"])
            except (ValueError, KeyError, TypeError):
                continue  # not ours (edited by hand): ignore, never fail the batch
        return done

    def append(self, record: Record) -> None:
        """One line, written in one call, flushed and synced: once this returns the
        item survives a kill or a power cut and will not be redone."""
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        try:
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as error:
            raise ResultsFileError(f"results {self.path!r}: {error.strerror or error}") from None
        self.done[str(record["key"])] = bool(record["ok"])

    def forget(self, keys: Iterable[str]) -> int:
        """Drop the lines of ``keys`` (to run those items again); returns how many.

        Rewritten to a temporary file and renamed over the old one, so a kill
        during the rewrite leaves the old file or the new one, never half of it.
        """
        drop = set(keys) & set(self.done)
        if not drop:
            return 0
        self._file.seek(0)
        kept = [raw for raw in self._file.read().splitlines(keepends=True) if _key_of(raw) not in drop]
        temporary = f"{self.path}.{os.getpid()}.part"
        try:
            with open(temporary, "wb") as out:
                out.write(b"".join(kept))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
            self._file.close()
            self._file = open(self.path, "a+b")
        except OSError as error:
            raise ResultsFileError(f"results {self.path!r}: {error.strerror or error}") from None
        self._lock()
        for key in drop:
            del self.done[key]
        return len(drop)

    def close(self) -> None:
        self._file.close()  # also releases the lock

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _key_of(raw: bytes) -> str | None:
    try:
        return str(json.loads(raw)["key"])
    except (ValueError, KeyError, TypeError):
        return None
