"""One small exception hierarchy; the CLI maps each class to an exit code.

Every subclass is also a built-in exception (PyAV's habit) so that callers who
catch ``ValueError`` or ``FileNotFoundError`` keep working.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable, Mapping
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")
_T = TypeVar("_T")


class SnapshotError(Exception):
    """Root of every error the engine raises on purpose."""


class ProcessError(SnapshotError, ValueError):
    """The processing string is malformed, or a value is invalid (for this source)."""


class InputError(SnapshotError):
    """The source cannot be used: missing, not media, or nothing decodable."""


class SourceNotFoundError(InputError, FileNotFoundError):
    """The source path does not exist or is not a regular file."""


class NotMediaError(InputError, ValueError):
    """The source exists but is not a media file FFmpeg can open."""


class NoVideoError(InputError, ValueError):
    """The media has no video stream and no cover picture."""


class UndecodableError(InputError, ValueError):
    """Not one frame could be decoded from the chosen stream."""


class IndirectSourceError(InputError, ValueError):
    """The source would make FFmpeg open other files or URLs (a playlist, a concat
    list, an image-sequence pattern) and the caller has not allowed that (SPEC §6)."""


class RemoteSourceError(InputError, ValueError):
    """The source is a URL (``https://…``, ``s3://…``): only local files are read, for now."""


class TargetError(SnapshotError, ValueError):
    """The output target is refused (escapes its root) or cannot be written."""


#: The one table of CLI exit codes; 0 is success, 1 an unexpected failure.
EXIT_CODES: dict[type[BaseException], int] = {
    ProcessError: 2,
    InputError: 3,
    TargetError: 4,
    SnapshotError: 1,
}


#: Characters of a caller's value that a message repeats; the rest is elided, so a
#: 5 MB target cannot become a 5 MB error line, log entry or result record.
SHOWN_CHARACTERS = 200


def shown(value: object, limit: int = SHOWN_CHARACTERS) -> str:
    """``repr(value)``, cut to about ``limit`` characters with the full length said."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = len(value) if isinstance(value, (str, bytes)) else len(text)
    return f"{text[:limit]}… ({size} characters)"


def clipped(text: str | None, limit: int = SHOWN_CHARACTERS * 5) -> str | None:
    """A caller's value echoed in a record (not a message): cut past ``limit``."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


#: Longest message a front end prints or records (a backstop to :func:`shown`).
MAX_MESSAGE = 2000


def one_line(message: str, limit: int = MAX_MESSAGE) -> str:
    """A message as one line of at most about ``limit`` characters."""
    text = " ".join(line.strip() for line in message.splitlines() if line.strip())
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def nearest_entry(table: Mapping[type[BaseException], _T], error: BaseException, default: _T) -> _T:
    """The entry of the error's nearest class in ``table`` (MRO order), so a subclass
    listed beside its base wins; ``default`` when no class of it is listed."""
    for cls in type(error).__mro__:
        if cls in table:
            return table[cls]
    return default


def exit_code_for(error: BaseException) -> int:
    """The CLI exit code of an error: the entry of its nearest class in EXIT_CODES, else 1."""
    return nearest_entry(EXIT_CODES, error, 1)


def frees_on_failure(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Clear the locals of every finished frame an escaping exception carries.

    An exception's traceback keeps each frame it passed through alive, with its
    locals: decoded frames, full-size RGB images, the writer's futures, whose
    stored exception points back at the traceback. Those are reference cycles that
    only a full ``gc`` pass frees, so a failed job in a long-lived process (the
    service, a batch worker) would hold its images until then. The exception and
    its message are kept; only the locals go.
    """

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return function(*args, **kwargs)
        except BaseException as error:
            traceback.clear_frames(error.__traceback__)
            for linked in (error.__context__, error.__cause__):
                if linked is not None:
                    traceback.clear_frames(linked.__traceback__)
            raise

    return wrapper
