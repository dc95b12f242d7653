"""Helpers for the service tests (no tests here): start ``snapshots serve`` as a real
subprocess on a free loopback port, sign requests, receive webhooks, poll tasks.

Everything is bounded: server start, polling, webhook waits each have a deadline,
and every server process is killed when its context ends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

SCRIPT = Path(sys.executable).parent / "snapshots"
HOST = "127.0.0.1"
FINAL = ("succeeded", "failed")
ALICE_KEY = "alice-api-key-0123456789"
ALICE_SECRET = "alice-hmac-secret-0123456789"
BOB_KEY = "bob-api-key-0123456789abc"
CAROL_SECRET = "carol-hmac-secret-0123456789"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def process(style: str, bucket: str, obj: str, topic: str | None = None) -> str:
    text = f"{style}|sys/saveas,b_{b64(bucket)},o_{b64(obj)}"
    return text + (f"/notify,topic_{b64(topic)}" if topic else "")


def bearer(key: str = ALICE_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def signed(client: str, secret: str, method: str, path: str, body: bytes = b"", stamp: int | None = None) -> dict[str, str]:
    """The HMAC headers, computed here from the documented recipe (not the server's code)."""
    ts = str(int(time.time()) if stamp is None else stamp)
    message = f"{method}\n{path}\n{ts}\n{hashlib.sha256(body).hexdigest()}".encode()
    signature = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return {"X-Snapshots-Client": client, "X-Snapshots-Timestamp": ts, "X-Snapshots-Signature": signature}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def write_config(folder: Path, media_root: Path, *, workers: int = 2, queue_size: int = 50,
                 topics: dict[str, str] | None = None, database: Path | None = None) -> Path:
    storage = folder / "storage"
    storage.mkdir(exist_ok=True)
    lines = [
        f"media_root = {json.dumps(str(media_root))}",
        f"storage_root = {json.dumps(str(storage))}",
        f"database = {json.dumps(str(database or folder / 'tasks.db'))}",
        f"workers = {workers}",
        f"queue_size = {queue_size}",
        "[clients.alice]", f'api_key = "{ALICE_KEY}"', f'hmac_secret = "{ALICE_SECRET}"',
        "[clients.bob]", f'api_key = "{BOB_KEY}"',
        "[clients.carol]", f'hmac_secret = "{CAROL_SECRET}"',
        "[topics]", *(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in (topics or {}).items()),
        "[notify]", "attempts = 4", "backoff = 0.1", "factor = 2.0", "timeout = 2.0",
    ]
    path = folder / "service.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


class Server:
    """A running ``snapshots serve`` child and an httpx client bound to it."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.url = f"http://{HOST}:{port}"
        self.log = log
        self.http = httpx.Client(base_url=self.url, timeout=10.0)

    def kill(self) -> None:
        """SIGKILL: no handler runs, as in a crash."""
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@contextmanager
def serving(config: Path, log: Path, *, tries: int = 3) -> Iterator[Server]:
    """Start the service, wait (≤ 30 s) for /healthz, yield it, kill it at the end."""
    server = _start(config, log, tries)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.terminate()  # graceful first: exercises the shutdown path
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        server.kill()


def _start(config: Path, log: Path, tries: int, preexec_fn=None) -> Server:
    """``snapshots serve`` on a free loopback port, once it answers /healthz;
    ``preexec_fn`` runs in the child before it starts (resource limits)."""
    for _ in range(tries):  # another process may take the free port before the child binds it
        port = free_port()
        with open(log, "ab") as out:
            child = subprocess.Popen(
                [str(SCRIPT), "serve", "--config", str(config), "--port", str(port), "--log-level", "warning"],
                stdout=out, stderr=subprocess.STDOUT, preexec_fn=preexec_fn,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and child.poll() is None:
            try:
                if httpx.get(f"http://{HOST}:{port}/healthz", timeout=1.0).status_code == 200:
                    return Server(child, port, log)
            except httpx.HTTPError:
                time.sleep(0.05)
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)
    raise AssertionError(f"the service did not start; log:\n{log.read_text(errors='replace')[-3000:]}")


def wait_final(server: Server, task_id: str, headers: dict[str, str] | None = None, timeout: float = 30.0) -> dict[str, Any]:
    """Poll until the task is succeeded/failed (its notification settled, if any)."""
    deadline = time.monotonic() + timeout
    while True:
        view = server.http.get(f"/v1/tasks/{task_id}", headers=bearer() if headers is None else headers).json()
        note = view.get("notification")
        if view.get("state") in FINAL and (note is None or note["state"] != "pending"):
            return view
        assert time.monotonic() < deadline, f"task {task_id} not final after {timeout} s: {view}"
        time.sleep(0.05)


class Webhook:
    """A loopback HTTP receiver. ``/ok/…`` answers 200; ``/flaky/…`` answers 500 to
    the first two POSTs of each EventId, then 200."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any], float]] = []
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with hook._cond:
                    hook.received.append((self.path, body, time.monotonic()))
                    count = hook._seen[body["EventId"]] = hook._seen.get(body["EventId"], 0) + 1
                    hook._cond.notify_all()
                code = 500 if self.path.startswith("/flaky") and count <= 2 else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def events(self, event_id: str) -> list[tuple[str, dict[str, Any], float]]:
        with self._lock:
            return [r for r in self.received if r[1].get("EventId") == event_id]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


def environment_ok() -> bool:
    return SCRIPT.exists() and os.access(SCRIPT, os.X_OK)
