"""The FastAPI application: routes, error answers and the service's lifetime."""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from engine.errors import ProcessError, SnapshotError, SourceNotFoundError, one_line, shown
from engine.files import escape, is_within
from engine.params import parse
from engine.service.auth import Authenticator
from engine.service.config import ServiceConfig
from engine.service.errors import (
    AuthError, BadRequestError, QueueFullError, ServiceError, SourceRefusedError, StoreError, TaskNotFoundError,
    error_body, status_for,
)
from engine.service.metrics import prometheus_text
from engine.service.models import ErrorBody, Health, TaskAccepted, TaskIn, TaskView
from engine.service.notify import Notifier
from engine.service.redact import Redactor
from engine.service.store import FAILED, DatabaseLock, Task, TaskStore
from engine.service.workers import WorkerPool
from engine.writer import saveas_target

MAX_BODY = 64 * 1024
#: Seconds a stopping service waits for running jobs before leaving them to recovery.
SHUTDOWN_GRACE = 10.0
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {400: "invalid request", 401: "not authenticated", 404: "no such source / task",
                       429: "queue full (see Retry-After)"}.items()
}


class Service:
    """Everything the routes share: config, store, workers, notifier."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.auth = Authenticator(config.clients)
        # Held until the process ends: a second service on this database is refused
        # before it can re-queue (and so run twice) this one's running tasks.
        self.lock = DatabaseLock(config.database)
        try:
            self.store = TaskStore(config.database)
        except BaseException:
            self.lock.release()
            raise
        self.redactor = Redactor(media_root=config.media_root, storage_root=config.storage_root)
        self.store_problem: str | None = None
        """The last failed submission's database error; None once one succeeds."""
        self.notifier = Notifier(self.store, config.topics, config.notify)
        self.pool = WorkerPool(self.store, config.workers, str(config.storage_root), self._ended,
                               redactor=self.redactor, allow_indirect=config.allow_indirect_sources)

    def start(self) -> None:
        self.store.recover(self.config.max_runs)
        self.notifier.start()
        self.pool.start()

    def stop(self) -> None:
        stopped = self.pool.stop(SHUTDOWN_GRACE)
        self.notifier.stop()
        if stopped:  # a job still running would write to a closed connection
            self.store.close()
            self.lock.release()

    def _ended(self, task: Task) -> None:
        if task.topic is not None:
            self.notifier.schedule(task.id)

    def authenticate(self, request: Request, body: bytes) -> str:
        return self.auth.authenticate(request.method, request.url.path, request.headers, body)

    def accept(self, client: str, body: bytes) -> Task:
        """Validate a submission completely, then commit it as queued (or refuse)."""
        submitted = _task_in(body)
        request = parse(submitted.process)
        if request.saveas is None:
            raise ProcessError("process: the service writes only through sys/saveas; append '|sys/saveas,b_<bucket b64>,o_<object b64>'")
        if request.notify_topic is not None and request.notify_topic not in self.config.topics:
            # The configured topics are the operator's business: not listed to callers.
            raise ProcessError(f"topic: {shown(request.notify_topic)} is not configured on this service; "
                               "valid: a topic the operator has configured")
        saveas_target(request.saveas, str(self.config.storage_root))  # TargetError now, not after queueing
        path = resolve_source(self.config.media_root, submitted.source)
        task = Task(
            id=f"snapshots-{uuid.uuid4().hex}", request_id=uuid.uuid4().hex.upper(), event_id=uuid.uuid4().hex.upper(),
            client=client, source=submitted.source, path=path, process=submitted.process, topic=request.notify_topic,
        )
        try:
            admitted = self.store.admit(task, self.config.queue_size)
        except StoreError as problem:
            self.store_problem = str(problem)  # /healthz says so until a write succeeds again
            raise
        self.store_problem = None
        if not admitted:
            waiting = self.config.queue_size
            retry = math.ceil(self.pool.mean_job_seconds() * (waiting + 1) / self.pool.size)
            raise QueueFullError(f"queue full: {waiting} task(s) waiting; retry later", max(1, min(retry, 3600)))
        self.pool.wake()
        return task

    def view(self, client: str, task_id: str) -> dict[str, Any]:
        task = self.store.get(task_id)
        if task is None or task.client != client:  # another client's task reads as unknown
            raise TaskNotFoundError(f"task {shown(task_id)}: not found")
        held = self.pool.unrecorded(task.id)
        if held is not None:  # ended, but the database could not record it yet
            task = Task(**{**task.__dict__, "state": FAILED, "result": None, "error": held.error, "finished": held.finished})
        notification = None
        if task.topic is not None:
            attempts = [
                {"attempt": a.attempt, "at": _iso(a.at), "status": a.status, "error": a.error}
                for a in self.store.attempts(task.id)
            ]
            notification = {"topic": task.topic, "state": task.notify_state, "attempts": attempts}
        return {
            "TaskId": task.id, "RequestId": task.request_id, "EventId": task.event_id, "state": task.state,
            "source": task.source, "process": task.process, "runs": task.runs,
            "created_at": _iso(task.created), "started_at": _iso(task.started), "finished_at": _iso(task.finished),
            "result": task.result, "error": task.error, "notification": notification,
        }

    def health(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body): 503 "degraded" while the task database fails, with
        the running count of the workers themselves then."""
        problem = self.pool.store_problem or self.store_problem
        try:
            counts = self.store.counts()
            # A task whose end the database refused is failed, not running.
            running = max(0, counts["running"] - self.pool.unrecorded_count())
            queued = counts["queued"]
        except StoreError as error:
            problem = str(error)
            running, queued = self.pool.stats.running, None
        body = {"status": "ok" if problem is None else "degraded", "queue_depth": queued,
                "queue_size": self.config.queue_size, "running": running, "workers": self.pool.size}
        if problem is not None:
            body["problem"] = self.redactor.text(problem)
        return (200 if problem is None else 503), body


def resolve_source(media_root: Path, source: str) -> str:
    """The real path of ``source`` inside the media root; escapes are refused."""
    why = escape(source)
    if why is not None:
        raise SourceRefusedError(f"source {source!r} {why}; valid: a relative path inside the media root")
    real = os.path.realpath(media_root / source)
    if not is_within(real, str(media_root)):
        raise SourceRefusedError(f"source {source!r}: resolves outside the media root; valid: a path inside it")
    if not os.path.isfile(real):
        raise SourceNotFoundError(f"source {source!r}: no such file in the media root")
    return real


def create_app(config: ServiceConfig) -> FastAPI:
    service = Service(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()
        yield
        await run_in_threadpool(service.stop)

    app = FastAPI(title="snapshots", version="1", lifespan=lifespan,
                  description="Asynchronous video snapshot tasks (video/snapshots … |sys/saveas …).")
    app.state.service = service

    @app.post("/v1/tasks", status_code=202, response_model=TaskAccepted, responses=_ERRORS,
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": TaskIn.model_json_schema()}}}})
    async def submit(request: Request) -> JSONResponse:
        """Queue a snapshot task; validated at once, run by a worker later."""
        body = await _body(request)
        client = service.authenticate(request, body)
        task = await run_in_threadpool(service.accept, client, body)
        accepted = {"TaskId": task.id, "RequestId": task.request_id, "EventId": task.event_id, "state": task.state}
        return JSONResponse(accepted, status_code=202, headers={"Location": f"/v1/tasks/{task.id}"})

    @app.get("/v1/tasks/{task_id}", response_model=TaskView, responses=_ERRORS)
    async def read(task_id: str, request: Request) -> JSONResponse:
        """A task's state, result or error, and its notification attempts (own tasks only)."""
        client = service.authenticate(request, await _body(request))
        return JSONResponse(await run_in_threadpool(service.view, client, task_id))

    @app.get("/healthz", response_model=Health, responses={503: {"model": Health, "description": "the task database fails"}})
    async def healthz() -> JSONResponse:
        """Liveness and load; no authentication. 503 while the task database fails."""
        status, body = await run_in_threadpool(service.health)
        return JSONResponse(body, status_code=status)

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        """Prometheus text format; no authentication (counts only)."""
        text = await run_in_threadpool(lambda: prometheus_text(service.store.counts(), service.pool, service.notifier))
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    @app.exception_handler(ServiceError)
    @app.exception_handler(SnapshotError)
    async def known(request: Request, error: Exception) -> JSONResponse:
        headers: dict[str, str] = {}
        if isinstance(error, AuthError):
            headers["WWW-Authenticate"] = 'Bearer realm="snapshots"'
        if isinstance(error, QueueFullError):
            headers["Retry-After"] = str(error.retry_after)
        body = error_body(error)
        # No server path in an answer (a bucket's or a source's absolute path).
        body["error"]["message"] = service.redactor.text(one_line(body["error"]["message"]))
        return JSONResponse(body, status_code=status_for(error), headers=headers)

    @app.exception_handler(HTTPException)
    async def http(request: Request, error: HTTPException) -> JSONResponse:
        # Unknown route, wrong method: the same error shape as everything else.
        body = {"error": {"class": "HTTPException", "message": str(error.detail)}}
        return JSONResponse(body, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(Exception)
    async def internal(request: Request, error: Exception) -> JSONResponse:
        # A bug: answer the shape clients parse, without a traceback.
        return JSONResponse({"error": {"class": "InternalError", "message": type(error).__name__}}, status_code=500)

    return app


async def _body(request: Request) -> bytes:
    """The request body, read no further than MAX_BODY bytes (a huge body is refused
    while it streams in, not after it has filled memory)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise BadRequestError(f"body: more than {MAX_BODY} bytes; valid: at most {MAX_BODY}")
        chunks.append(chunk)
    return b"".join(chunks)


def _task_in(body: bytes) -> TaskIn:
    try:
        submitted = TaskIn.model_validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise BadRequestError(f"{where}: {first['msg']}; valid: a JSON object {{\"source\": str, \"process\": str}}") from None
    for name in ("source", "process"):
        try:
            getattr(submitted, name).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate escape (\ud800) names no file
            raise BadRequestError(f"{name}: not valid Unicode text") from None
    return submitted


def _iso(seconds: float | None) -> str | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds")
