"""Service errors and the one table mapping error classes to HTTP statuses.

Engine errors keep their own class names on the wire (``ProcessError`` …), so a
client sees the same class the CLI and the Python API report.
"""

from __future__ import annotations

from engine.errors import InputError, ProcessError, SnapshotError, SourceNotFoundError, TargetError, nearest_entry


class ServiceError(Exception):
    """Root of the errors the service raises on purpose."""


class BadRequestError(ServiceError):
    """The request body is not a JSON object with string ``source`` and ``process``."""


class SourceRefusedError(InputError):
    """The source path leaves the media root (absolute, '..', or a symlink out)."""


class AuthError(ServiceError):
    """No credentials, or credentials that match no client (never says which part)."""


class TaskNotFoundError(ServiceError):
    """No task with this id belongs to the caller (another client's task included)."""


class QueueFullError(ServiceError):
    """queue_size tasks are already waiting; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


#: The one table: an error's status is the entry of its nearest class (MRO order),
#: so subclasses listed before their bases win (SourceRefused 400 over Input 422).
HTTP_STATUS: dict[type[BaseException], int] = {
    BadRequestError: 400,
    ProcessError: 400,
    TargetError: 400,
    SourceRefusedError: 400,
    AuthError: 401,
    SourceNotFoundError: 404,
    TaskNotFoundError: 404,
    InputError: 422,
    QueueFullError: 429,
    SnapshotError: 500,
}


def status_for(error: BaseException) -> int:
    """The HTTP status of an error: the entry of its nearest class in HTTP_STATUS, else 500."""
    return nearest_entry(HTTP_STATUS, error, 500)


def error_body(error: BaseException) -> dict[str, dict[str, str]]:
    """``{"error": {"class", "message"}}``: the shape of every error the API answers."""
    return {"error": {"class": type(error).__name__, "message": str(error)}}


class StoreError(ServiceError):
    """The task database cannot be read or written (disk full, read-only, corrupt).

    At start it ends ``snapshots serve`` with one line and exit 2; while serving it
    answers 503 (the request may be retried once the operator has made room)."""


#: Statuses of service-side failures that are not the caller's fault.
HTTP_STATUS[StoreError] = 503
