"""Two file-system rules the writer, the batch and the service share.

* **Confinement**: a path given relative to a root (a storage bucket, the service's
  media root) must name a place inside it: :func:`escape` says why a relative path
  cannot (before any file is touched), :func:`real_location` and :func:`is_within`
  check where it really leads once symlinks are resolved.
* **Atomic replacement**: :func:`replace_atomically` writes a file under a
  temporary name in its folder and renames it into place, so a reader (or a
  re-run after a kill) sees the old file or the new one, never half of one.

Callers word their own errors (an image target, a service source, a results file);
these helpers raise only ``OSError``.
"""

from __future__ import annotations

import os
import re
import secrets

__all__ = ["NAME_MAX", "escape", "is_within", "real_location", "replace_atomically", "temporary_name"]


def escape(relative: str) -> str | None:
    """Why ``relative`` cannot name a place inside a root, or None: it holds a NUL,
    is absolute, or climbs out with ``..`` (either slash counts as a separator)."""
    if "\x00" in relative:
        return "contains a NUL byte"
    if os.path.isabs(relative) or relative.startswith(("/", "\\")):
        return "is an absolute path"
    if ".." in re.split(r"[\\/]", relative):
        return "climbs out with '..'"
    return None


def real_location(path: str) -> str:
    """Where ``path`` leads, symlinks resolved; a file that does not exist yet
    resolves through its folder (what a write to it would create)."""
    if os.path.islink(path):
        return os.path.realpath(path)
    return os.path.join(os.path.realpath(os.path.dirname(path) or "."), os.path.basename(path))


def is_within(real: str, root: str) -> bool:
    """Whether the resolved path ``real`` lies inside ``root`` (itself resolved)."""
    real_root = os.path.realpath(root)
    return os.path.commonpath([real_root, real]) == real_root


#: Longest file name (bytes) when the filesystem does not say (POSIX NAME_MAX).
NAME_MAX = 255
#: Bytes a temporary name adds to the file's own name: "." + "." + 8 + ".part".
_TEMPORARY_EXTRA = 15


def temporary_name(path: str) -> str:
    """A hidden name in the file's folder for writing it: ``.<name>.<random>.part``,
    with ``<name>`` shortened (at a character boundary) when the whole would pass
    the filesystem's name limit, so any name the filesystem accepts can be written."""
    directory, base = os.path.split(path)
    try:
        limit = os.pathconf(directory or ".", "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = NAME_MAX
    encoded = os.fsencode(base)
    room = max(1, min(limit, NAME_MAX) - _TEMPORARY_EXTRA)
    if len(encoded) > room:
        base = os.fsdecode(encoded[:room].decode("utf-8", "ignore").encode("utf-8")) or "file"
    return os.path.join(directory, f".{base}.{secrets.token_hex(4)}.part")


def replace_atomically(path: str, data: bytes) -> None:
    """Put ``data`` at ``path`` whole or not at all: written to a temporary name in
    the same folder, synced, then renamed over ``path``. On any failure (an
    ``OSError``, or an interrupt) the temporary is removed and ``path`` is as it was.

    The file is created with mode 0666 and the process's umask applies, as for any
    program's files (``mkstemp`` would make it 0600 whatever the umask).
    """
    while True:
        temporary = temporary_name(path)
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            break
        except FileExistsError:
            continue  # 32 random bits met another temporary: draw again
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
