"""Read a batch manifest: JSON lines ``{"source", "process", "target"}``.

Pure apart from reading the file: every line becomes an :class:`Entry` that is
either a runnable :class:`Job` or a :class:`ManifestLineError`, so one bad line
never stops the others. Paths are resolved here, in the process that reads the
manifest, so workers (local or on a cluster) get absolute paths and never depend
on their own current folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ProcessError, shown
from engine.params import parse

FIELDS = ("source", "process", "target")
REQUIRED = ("source", "process")


class ManifestLineError(ProcessError):
    """A manifest line that is not a valid item (not JSON, wrong keys or types).

    A ProcessError, so ``exit_code_for`` gives 2: like a bad processing string it
    is a bad argument, not a bad input file.
    """


class ManifestFileError(Exception):
    """The manifest itself cannot be read (missing, a folder, no permission)."""


@dataclass(frozen=True)
class Job:
    """One snapshot call, fully resolved: what a worker runs. Picklable by design
    (plain fields, module-level class) so it crosses process and network borders."""

    source: str
    process: str
    target: str | None
    storage_root: str | None = None


@dataclass(frozen=True)
class Entry:
    """One non-blank manifest line: its number, key, the fields as written, and the
    job to run or the reason it cannot run."""

    line: int
    key: str
    source: str | None
    target: str | None
    job: Job | None = None
    error: ManifestLineError | None = None


def item_key(source: str, process: str, target: str | None) -> str:
    """Stable id of an item: a hash of its fields exactly as written.

    As written (not resolved) so that a manifest moved together with its results
    file keeps its keys; independent of the line number so that inserting lines
    does not redo finished items.
    """
    canonical = json.dumps({"source": source, "process": process, "target": target},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _malformed_key(line: int, raw: bytes) -> str:
    # A line that is not an item has no fields to hash; its number and bytes make it
    # unique, so it still gets exactly one result line and is skipped on resume.
    return hashlib.sha256(b"malformed:%d:" % line + raw).hexdigest()[:16]


def read_manifest(path: str | os.PathLike[str], *, storage_root: str | None = None) -> list[Entry]:
    """Every non-blank line of the manifest as an Entry (1-based line numbers).

    Relative sources are taken relative to the manifest's folder. Relative targets
    too, unless ``storage_root`` is given: then the engine takes targets relative to
    the root and confines them there, so they are passed on as written.
    """
    manifest = Path(path)
    try:
        data = manifest.read_bytes()
    except OSError as error:
        raise ManifestFileError(f"manifest {os.fspath(path)!r}: {error.strerror or error}") from None
    base = manifest.resolve().parent
    root = os.path.abspath(storage_root) if storage_root is not None else None
    entries = []
    # A UTF-8 byte order mark (editors on Windows add one) belongs to no line.
    data = data.removeprefix(b"\xef\xbb\xbf")
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if raw.strip():
            entries.append(parse_line(number, raw, base, root))
    return entries


def parse_line(number: int, raw: bytes, base: Path, storage_root: str | None = None) -> Entry:
    """One manifest line as an Entry; never raises, whatever the bytes: a line that is
    not an item is that line's ManifestLineError and nothing more."""
    try:
        return _entry(number, raw, base, storage_root)
    except ManifestLineError as error:
        return Entry(number, _malformed_key(number, raw), None, None, error=error)
    except Exception as error:  # e.g. RecursionError on [[[[…: still only this line's error
        failure = ManifestLineError(f"line: cannot be read ({type(error).__name__}: {shown(str(error))})")
        return Entry(number, _malformed_key(number, raw), None, None, error=failure)


def _entry(number: int, raw: bytes, base: Path, storage_root: str | None) -> Entry:
    fields = _fields(raw)
    source, process, target = fields["source"], fields["process"], fields.get("target")
    key = item_key(source, process, target)
    if target is None and not _has_saveas(process):
        error = ManifestLineError("target: missing; valid: a path, or a processing string with sys/saveas")
        return Entry(number, key, source, target, error=error)
    job = Job(
        source=str(base / source),  # an absolute source stays as it is
        process=process,
        target=target if target is None or storage_root is not None else str(base / target),
        storage_root=storage_root,
    )
    return Entry(number, key, source, target, job=job)


def _fields(raw: bytes) -> dict[str, str]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ManifestLineError(f"line: not UTF-8 ({error.reason} at byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise ManifestLineError(f"line: not JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(value, dict):
        raise ManifestLineError(f"line: a JSON {type(value).__name__}; valid: an object with keys {', '.join(FIELDS)}")
    unknown = sorted(set(value) - set(FIELDS))
    if unknown:
        raise ManifestLineError(f"line: unknown key(s) {', '.join(map(shown, unknown))}; valid: {', '.join(FIELDS)}")
    for name in FIELDS:
        if name not in value or (name == "target" and value[name] is None):
            if name in REQUIRED:
                raise ManifestLineError(f"{name}: missing; valid: a non-empty string")
            continue
        if not isinstance(value[name], str) or not value[name]:
            raise ManifestLineError(f"{name}: {shown(value[name])} is not valid; valid: a non-empty string")
        try:
            value[name].encode("utf-8")
        except UnicodeEncodeError as error:  # "\udcff": a lone surrogate escape names no file
            raise ManifestLineError(
                f"{name}: {shown(value[name])} is not valid Unicode text (a lone surrogate "
                f"{value[name][error.start]!r}); valid: a string of Unicode characters"
            ) from None
        if "\x00" in value[name]:
            raise ManifestLineError(f"{name}: {shown(value[name])} contains a NUL character; valid: a path or string without NUL")
    return value


def _has_saveas(process: str) -> bool:
    try:
        return parse(process).saveas is not None
    except ProcessError:
        # Let the worker report the bad processing string as the item's own
        # ProcessError, with the engine's message, rather than as a missing target.
        return True
