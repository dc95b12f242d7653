"""Webhook notifications: POST the event of an ended task to its topic's URL,
retrying with exponential backoff; every attempt is recorded on the task.

One thread and a schedule (a heap of due times) rather than a sleeping thread
per task: a webhook that keeps failing delays nobody else's first attempt by more
than one POST timeout.
"""

from __future__ import annotations

import heapq
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from engine.service.config import NotifyPolicy
from engine.service.store import DELIVERED, UNDELIVERED, Attempt, Task, TaskStore


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
    """POST ``body``; the HTTP status, or an exception for a transport failure."""
    data = json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:  # a non-2xx answer is a status, not a transport error
        error.close()
        return int(error.code)


class Notifier:
    def __init__(self, store: TaskStore, topics: dict[str, str], policy: NotifyPolicy) -> None:
        self._store = store
        self._topics = topics
        self._policy = policy
        self._due: list[tuple[float, int, str, int]] = []  # (when, tiebreak, task id, attempt)
        self._counter = 0
        self._wake = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="snapshots-notifier", daemon=True)
        self.sent = 0
        self.failed = 0

    def start(self) -> None:
        # Notifications a previous process left pending continue where they stopped.
        for task_id in self._store.undelivered():
            self.schedule(task_id, len(self._store.attempts(task_id)) + 1)
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stop = True
            self._wake.notify_all()
        self._thread.join(timeout=self._policy.timeout + 1)

    def schedule(self, task_id: str, attempt: int = 1) -> None:
        when = time.monotonic() + self._policy.delay(attempt)
        with self._wake:
            self._counter += 1
            heapq.heappush(self._due, (when, self._counter, task_id, attempt))
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stop and (not self._due or self._due[0][0] > time.monotonic()):
                    self._wake.wait(timeout=None if not self._due else self._due[0][0] - time.monotonic())
                if self._stop:
                    return
                _, _, task_id, attempt = heapq.heappop(self._due)
            self._attempt(task_id, attempt)

    def _attempt(self, task_id: str, attempt: int) -> None:
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
        self.sent += 1
        if not ok:
            self.failed += 1
            if not last:
                self.schedule(task_id, attempt + 1)
