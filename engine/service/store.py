"""Durable tasks in SQLite (WAL): the database *is* the queue.

A task is committed before the client hears 202, workers claim the oldest queued
row, and a restart finds every task where the last commit left it. One connection
behind one lock: every statement is short, and a single writer is what SQLite
wants anyway.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from engine.service.errors import StoreError

try:  # POSIX: one service process per database
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock
    fcntl = None  # type: ignore[assignment]

_P = ParamSpec("_P")
_R = TypeVar("_R")

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
STATES = (QUEUED, RUNNING, SUCCEEDED, FAILED)
#: Notification states; NULL in the table when the task has no topic.
PENDING, DELIVERED, UNDELIVERED = "pending", "delivered", "failed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    request_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    client TEXT NOT NULL,
    source TEXT NOT NULL,
    path TEXT NOT NULL,
    process TEXT NOT NULL,
    topic TEXT,
    state TEXT NOT NULL,
    runs INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    error TEXT,
    notify_state TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS tasks_by_state ON tasks (state, seq);
CREATE TABLE IF NOT EXISTS attempts (
    task_id TEXT NOT NULL REFERENCES tasks (id),
    attempt INTEGER NOT NULL,
    at REAL NOT NULL,
    status INTEGER,
    error TEXT,
    PRIMARY KEY (task_id, attempt)
);
"""


@dataclass(frozen=True)
class Task:
    id: str
    request_id: str
    event_id: str
    client: str
    source: str
    """As the client gave it, relative to the media root."""
    path: str
    """Resolved absolute path the worker opens."""
    process: str
    topic: str | None
    state: str = QUEUED
    runs: int = 0
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    notify_state: str | None = None
    created: float = 0.0
    started: float | None = None
    finished: float | None = None


@dataclass(frozen=True)
class Attempt:
    attempt: int
    at: float
    status: int | None
    error: str | None


def _store_errors(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """SQLite failures (disk full, I/O error, read-only, corrupt) as StoreError."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as error:
            raise StoreError(f"the task database cannot be used now ({error}); retry later") from error

    return wrapper


class DatabaseLock:
    """``<database>.lock``, locked for the life of the process that serves the database.

    A second ``snapshots serve`` on the same database would re-queue the first one's
    running tasks as if it had crashed (and run them twice); it is refused instead.
    The kernel drops the lock when the process ends, however it ends.
    """

    def __init__(self, database: str | Path) -> None:
        self.path = f"{os.fspath(database)}.lock"
        try:
            self._file = open(self.path, "a+")
        except OSError as error:
            raise StoreError(f"database lock {self.path!r}: cannot be created ({error.strerror or error})") from None
        if fcntl is None:
            return
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.seek(0)
            holder = self._file.read().strip() or "unknown"
            self._file.close()
            raise StoreError(
                f"database {os.fspath(database)!r}: in use by another snapshots serve (pid {holder}); "
                "valid: one service process per database"
            ) from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"{os.getpid()}\n")
        self._file.flush()

    def release(self) -> None:
        self._file.close()


class TaskStore:
    def __init__(self, path: str | Path) -> None:
        name = os.fspath(path)
        try:
            # check_same_thread=False: workers, the notifier and the server threads
            # share this connection, serialised by self._lock.
            self._db = sqlite3.connect(name, check_same_thread=False, isolation_level=None, timeout=30)
            self._lock = threading.Lock()
            with self._lock:
                self._db.execute("PRAGMA journal_mode=WAL")
                # FULL: a 202 promises the task survives a crash, so the commit is fsynced.
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.executescript(_SCHEMA)
                # A database that reads but cannot be written (a read-only folder or
                # file) must fail here, not at the first submission.
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("UPDATE tasks SET seq = seq WHERE 0")
                self._db.execute("COMMIT")
        except sqlite3.Error as error:
            raise StoreError(
                f"database {name!r}: cannot be used ({error}); valid: an SQLite database (or a new "
                "file) in a folder this process can write"
            ) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @_store_errors
    def admit(self, task: Task, limit: int) -> bool:
        """Insert ``task`` as queued unless ``limit`` tasks already wait (then False).

        Count and insert in one transaction, so a burst cannot overshoot the limit.
        """
        with self._lock, self._tx():
            (waiting,) = self._db.execute("SELECT COUNT(*) FROM tasks WHERE state = ?", (QUEUED,)).fetchone()
            if waiting >= limit:
                return False
            self._db.execute(
                "INSERT INTO tasks (id, request_id, event_id, client, source, path, process, topic, state, notify_state, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (task.id, task.request_id, task.event_id, task.client, task.source, task.path, task.process,
                 task.topic, QUEUED, PENDING if task.topic else None, time.time()),
            )
            return True

    @_store_errors
    def claim(self) -> Task | None:
        """The oldest queued task, now marked running with its run counter raised."""
        with self._lock, self._tx():
            row = self._db.execute("SELECT id FROM tasks WHERE state = ? ORDER BY seq LIMIT 1", (QUEUED,)).fetchone()
            if row is None:
                return None
            self._db.execute(
                "UPDATE tasks SET state = ?, runs = runs + 1, started = ? WHERE id = ?", (RUNNING, time.time(), row[0])
            )
            return self._get(row[0])

    @_store_errors
    def finish(self, task_id: str, *, result: dict[str, Any] | None = None, error: dict[str, str] | None = None) -> Task:
        state = SUCCEEDED if error is None else FAILED
        with self._lock, self._tx():
            self._db.execute(
                "UPDATE tasks SET state = ?, result = ?, error = ?, finished = ? WHERE id = ?",
                (state, _dump(result), _dump(error), time.time(), task_id),
            )
            task = self._get(task_id)
        assert task is not None
        return task

    @_store_errors
    def recover(self, max_runs: int) -> tuple[list[str], list[str]]:
        """After a crash: running tasks go back to the queue while ``runs < max_runs``,
        else fail with a reason. Returns (requeued ids, failed ids)."""
        with self._lock, self._tx():
            rows = self._db.execute("SELECT id, runs FROM tasks WHERE state = ? ORDER BY seq", (RUNNING,)).fetchall()
            requeued = [i for i, runs in rows if runs < max_runs]
            failed = [i for i, runs in rows if runs >= max_runs]
            self._db.executemany("UPDATE tasks SET state = ? WHERE id = ?", [(QUEUED, i) for i in requeued])
            error = _dump({
                "class": "InterruptedError",
                "message": f"the service stopped while this task was running, {max_runs} time(s); not run again",
            })
            self._db.executemany(
                "UPDATE tasks SET state = ?, error = ?, finished = ? WHERE id = ?",
                [(FAILED, error, time.time(), i) for i in failed],
            )
        return requeued, failed

    @_store_errors
    def get(self, task_id: str) -> Task | None:
        with self._lock:
            return self._get(task_id)

    @_store_errors
    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = dict(self._db.execute("SELECT state, COUNT(*) FROM tasks GROUP BY state").fetchall())
        return {state: int(rows.get(state, 0)) for state in STATES}

    @_store_errors
    def record_attempt(self, task_id: str, attempt: Attempt, notify_state: str | None = None) -> None:
        with self._lock, self._tx():
            self._db.execute(
                "INSERT OR REPLACE INTO attempts (task_id, attempt, at, status, error) VALUES (?, ?, ?, ?, ?)",
                (task_id, attempt.attempt, attempt.at, attempt.status, attempt.error),
            )
            if notify_state is not None:
                self._db.execute("UPDATE tasks SET notify_state = ? WHERE id = ?", (notify_state, task_id))

    @_store_errors
    def attempts(self, task_id: str) -> list[Attempt]:
        with self._lock:
            rows = self._db.execute(
                "SELECT attempt, at, status, error FROM attempts WHERE task_id = ? ORDER BY attempt", (task_id,)
            ).fetchall()
        return [Attempt(*row) for row in rows]

    @_store_errors
    def undelivered(self) -> list[str]:
        """Ended tasks whose notification is still pending (e.g. the service died mid-retry)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id FROM tasks WHERE notify_state = ? AND state IN (?, ?) ORDER BY seq", (PENDING, SUCCEEDED, FAILED)
            ).fetchall()
        return [r[0] for r in rows]

    def _get(self, task_id: str) -> Task | None:
        row = self._db.execute(
            "SELECT id, request_id, event_id, client, source, path, process, topic, state, runs, result, error,"
            " notify_state, created, started, finished FROM tasks WHERE id = ?", (task_id,)
        ).fetchone()
        if row is None:
            return None
        values = list(row)
        values[10], values[11] = _load(values[10]), _load(values[11])
        return Task(*values)

    def _tx(self) -> "_Transaction":
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, ROLLBACK on error (the connection is in autocommit)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, value: object, tb: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")


def _dump(value: object) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)
