"""The results file: one JSON line per finished item, appended and synced per item.

It is also the batch's only state: a key with a line is done, so a re-run after an
interruption resumes where it stopped. A kill can cut the last line short; that
partial line is dropped on open (its item is redone), so every line is whole JSON.

The batch never destroys a file it did not create: a file that is not a results
file (any whole line that is not a record, a cut-off line that is not the start of
one, a folder or device) or that is an input of the batch (the manifest, a source)
is refused before anything is written, and stays byte for byte as it was.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from typing import Any, BinaryIO

from engine.files import replace_atomically

try:  # POSIX: one batch at a time per results file
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock
    fcntl = None  # type: ignore[assignment]

Record = dict[str, Any]
#: How a record line begins: a line a kill cut short must begin so to be dropped.
RECORD_START = b"{"


class ResultsFileError(Exception):
    """The results file cannot be opened, locked or written."""


class ResultsFile:
    """Open (creating if needed), lock and repair a results file; append records."""

    def __init__(self, path: str | os.PathLike[str], *, inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
        """``inputs``: the batch's own input files (manifest, sources): refused as results."""
        self.path = os.fspath(path)
        _refuse_foreign(self.path, inputs)
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
        """Key -> ok of every whole line; truncates a partial last line, once the
        whole file has been read as a results file (else: refused, untouched)."""
        self._file.seek(0)
        data = self._file.read()
        end = data.rfind(b"\n") + 1
        done: dict[str, bool] = {}
        for number, raw in enumerate(data[:end].split(b"\n")[:-1], start=1):
            if not raw.strip():
                continue
            record = _record(raw)
            if record is None:
                raise ResultsFileError(
                    f"results {self.path!r}: line {number} is not a result record, so this is not a results "
                    "file; it was left untouched; valid: a new file or one an earlier batch wrote"
                )
            done[record[0]] = record[1]
        partial = data[end:]
        if partial and not (RECORD_START.startswith(partial[: len(RECORD_START)]) and _is_text(partial)):
            raise ResultsFileError(
                f"results {self.path!r}: ends in {len(partial)} bytes that are not the start of a result record, "
                "so this is not a results file; it was left untouched"
            )
        if partial:  # a record a kill cut short: its item is redone
            self._file.truncate(end)
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
        try:
            replace_atomically(self.path, b"".join(kept))
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


def _record(raw: bytes) -> tuple[str, bool] | None:
    """(key, ok) of a record line; None for anything else."""
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("key"), str) or not isinstance(record.get("ok"), bool):
        return None
    return record["key"], record["ok"]


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start >= len(data) - 3  # a character cut at the very end
    return True


def _refuse_foreign(path: str, inputs: Iterable[str | os.PathLike[str]]) -> None:
    """Refuse a results path that is an input of the batch, or not a regular file."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as error:
        raise ResultsFileError(f"results {path!r}: {error.strerror or error}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ResultsFileError(f"results {path!r}: not a regular file; valid: a results file path")
    for name in inputs:
        try:
            other = os.stat(name)
        except (OSError, ValueError):
            continue
        if (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino):
            raise ResultsFileError(
                f"results {path!r}: is an input of this batch ({os.fspath(name)!r}); it was left untouched; "
                "valid: a file of its own (default: MANIFEST.results.jsonl)"
            )


def _key_of(raw: bytes) -> str | None:
    try:
        return str(json.loads(raw)["key"])
    except (ValueError, KeyError, TypeError):
        return None
