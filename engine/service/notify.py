"""Webhook notifications: POST the event of an ended task to its topic's URL,
retrying with exponential backoff; every attempt is recorded on the task.

Each topic has its own lane (a thread and a schedule of due attempts), so a
receiver that is slow or never answers delays only its own topic's events. Each
attempt has one deadline for the whole exchange (connect, send, status line,
headers, body): a receiver that trickles one byte a second cannot stretch it,
and an answer cut short is a failed attempt, never a delivery.
"""

from __future__ import annotations

import heapq
import json
import logging
import socket
import ssl
import threading
import time
import urllib.parse
from typing import Any

from engine.service.config import NotifyPolicy
from engine.service.store import DELIVERED, UNDELIVERED, Attempt, Task, TaskStore

_log = logging.getLogger("snapshots.service")
#: The most of an answer read: a webhook's answer is its status; the body is only
#: read to see that it is complete.
MAX_ANSWER = 64 * 1024


class DeliveryError(Exception):
    """One attempt failed before a complete answer: deadline, refused, cut short."""


def event_of(task: Task) -> dict[str, Any]:
    """The JSON body a webhook receives."""
    event: dict[str, Any] = {
        "EventId": task.event_id,
        "TaskId": task.id,
        "RequestId": task.request_id,
        "Topic": task.topic,
        "state": task.state,
    }
    if task.error is not None:
        event["error"] = task.error
    else:
        event["result"] = task.result
    return event


def post_json(url: str, body: dict[str, Any], timeout: float) -> int:
    """POST ``body``; the HTTP status of a complete answer, within ``timeout`` seconds
    in all. Raises :class:`DeliveryError` (or ``OSError``) otherwise."""
    deadline = time.monotonic() + timeout
    parts = urllib.parse.urlsplit(url)
    secure = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    data = json.dumps(body, ensure_ascii=False).encode()
    head = (
        f"POST {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\nUser-Agent: snapshots-service\r\n\r\n"
    ).encode()
    with socket.create_connection((host, port), timeout=_left(deadline)) as raw:
        sock: socket.socket = raw
        if secure:
            sock = ssl.create_default_context().wrap_socket(raw, server_hostname=host)
        try:
            _send(sock, head + data, deadline)
            return _read_answer(sock, deadline)
        finally:
            if sock is not raw:
                sock.close()


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeliveryError("no complete answer within notify.timeout")
    return left


def _send(sock: socket.socket, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        sock.settimeout(_left(deadline))
        try:
            sent = sock.send(view)
        except TimeoutError:
            raise DeliveryError("no complete answer within notify.timeout") from None
        view = view[sent:]


def _read_answer(sock: socket.socket, deadline: float) -> int:
    """Read status line, headers and body (by Content-Length, chunks, or to the
    close) before the deadline; the status, or DeliveryError for anything short."""
    buffer = b""
    closed = False

    def more() -> None:
        nonlocal buffer, closed
        sock.settimeout(_left(deadline))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise DeliveryError("no complete answer within notify.timeout") from None
        if not chunk:
            closed = True
        buffer += chunk
        if len(buffer) > MAX_ANSWER + 65536:
            raise DeliveryError(f"answer longer than {MAX_ANSWER} bytes")

    while b"\r\n\r\n" not in buffer:
        if closed:
            raise DeliveryError("the answer ended before its headers did")
        more()
    header_text, _, buffer = buffer.partition(b"\r\n\r\n")
    lines = header_text.decode("latin-1").split("\r\n")
    status_parts = lines[0].split(" ", 2)
    if len(status_parts) < 2 or not status_parts[0].startswith("HTTP/") or not status_parts[1].isdigit():
        raise DeliveryError(f"not an HTTP answer: {lines[0][:80]!r}")
    status = int(status_parts[1])
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while not _chunks_complete(buffer):
            if closed:
                raise DeliveryError("the answer's chunked body was cut short")
            more()
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise DeliveryError(f"bad Content-Length {headers['content-length'][:40]!r}") from None
        while len(buffer) < length:
            if closed:
                raise DeliveryError(f"the answer's body was cut short ({len(buffer)} of {length} bytes)")
            more()
    elif status not in (204, 304) and not 100 <= status < 200:
        while not closed:  # no length given: the body ends with the connection
            more()
    return status


def _chunks_complete(body: bytes) -> bool:
    """Whether ``body`` holds a whole chunked body (through the zero-size chunk)."""
    position = 0
    while True:
        end = body.find(b"\r\n", position)
        if end < 0:
            return False
        try:
            size = int(body[position:end].split(b";")[0].strip() or b"x", 16)
        except ValueError:
            raise DeliveryError("bad chunk size in the answer") from None
        if size == 0:
            return body.find(b"\r\n", end + 2) >= 0 or body[end + 2:end + 4] == b"\r\n"
        position = end + 2 + size + 2
        if position > len(body):
            return False


class _Lane:
    """One topic's thread and schedule of due attempts (when, tiebreak, task id, attempt)."""

    def __init__(self, notifier: Notifier, topic: str) -> None:
        self.notifier = notifier
        self.due: list[tuple[float, int, str, int]] = []
        self.wake = threading.Condition()
        self.thread = threading.Thread(target=self.run, name=f"snapshots-notify-{topic[:40]}", daemon=True)

    def push(self, when: float, counter: int, task_id: str, attempt: int) -> None:
        with self.wake:
            heapq.heappush(self.due, (when, counter, task_id, attempt))
            self.wake.notify()

    def run(self) -> None:
        while True:
            with self.wake:
                while not self.notifier.stopping and (not self.due or self.due[0][0] > time.monotonic()):
                    self.wake.wait(timeout=None if not self.due else self.due[0][0] - time.monotonic())
                if self.notifier.stopping:
                    return
                _, _, task_id, attempt = heapq.heappop(self.due)
            try:
                self.notifier.attempt(task_id, attempt)
            except Exception:  # the database failed under us: the lane lives on for later events
                _log.exception("task %s: notification attempt %d could not be recorded", task_id, attempt)

    def stop(self) -> None:
        with self.wake:
            self.wake.notify_all()


class Notifier:
    def __init__(self, store: TaskStore, topics: dict[str, str], policy: NotifyPolicy) -> None:
        self._store = store
        self._topics = topics
        self._policy = policy
        self._lanes: dict[str, _Lane] = {}
        self._lock = threading.Lock()
        self._counter = 0
        self._started = False
        self.stopping = False
        self.sent = 0
        self.failed = 0

    def start(self) -> None:
        # Notifications a previous process left pending continue where they stopped.
        for task_id in self._store.undelivered():
            self.schedule(task_id, len(self._store.attempts(task_id)) + 1)
        with self._lock:
            self._started = True
            lanes = list(self._lanes.values())
        for lane in lanes:
            lane.thread.start()

    def stop(self) -> None:
        with self._lock:
            self.stopping = True
            lanes = list(self._lanes.values())
        for lane in lanes:
            lane.stop()
        # An attempt in flight ends by its own deadline at the latest.
        deadline = time.monotonic() + self._policy.timeout + 1
        for lane in lanes:
            if lane.thread.is_alive():
                lane.thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def schedule(self, task_id: str, attempt: int = 1) -> None:
        task = self._store.get(task_id)
        if task is None or task.topic is None:
            return
        when = time.monotonic() + self._policy.delay(attempt)
        with self._lock:
            self._counter += 1
            counter = self._counter
            lane = self._lanes.get(task.topic)
            if lane is None:
                lane = self._lanes[task.topic] = _Lane(self, task.topic)
                if self._started:
                    lane.thread.start()
        lane.push(when, counter, task_id, attempt)

    def attempt(self, task_id: str, attempt: int) -> None:
        task = self._store.get(task_id)
        if task is None or task.topic is None:
            return
        status: int | None = None
        error: str | None = None
        try:
            status = post_json(self._topics[task.topic], event_of(task), self._policy.timeout)
        except Exception as failure:  # any transport failure is one failed attempt, recorded
            error = f"{type(failure).__name__}: {failure}"
        ok = status is not None and 200 <= status < 300
        last = attempt >= self._policy.attempts
        state = DELIVERED if ok else (UNDELIVERED if last else None)
        self._store.record_attempt(task_id, Attempt(attempt, time.time(), status, error), state)
        with self._lock:
            self.sent += 1
            self.failed += not ok
        if not ok and not last:
            self.schedule(task_id, attempt + 1)
