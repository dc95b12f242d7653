"""One small exception hierarchy; the CLI maps each class to an exit code.

Every subclass is also a built-in exception (PyAV's habit) so that callers who
catch ``ValueError`` or ``FileNotFoundError`` keep working.
"""

from __future__ import annotations


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


class TargetError(SnapshotError, ValueError):
    """The output target is refused (escapes its root) or cannot be written."""


#: The one table of CLI exit codes; 0 is success, 1 an unexpected failure.
EXIT_CODES: dict[type[BaseException], int] = {
    ProcessError: 2,
    InputError: 3,
    TargetError: 4,
    SnapshotError: 1,
}


def exit_code_for(error: BaseException) -> int:
    """The CLI exit code of an error: the entry of its nearest class in EXIT_CODES."""
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1
