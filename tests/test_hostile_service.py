"""Hostile input against the real ``snapshots serve`` process on loopback (issue #10):
webhook receivers that trickle or cut their answers, playlists reaching outside the
media root, broken, shared and full databases, server paths in answers.

Every wait is bounded; the server children are bounded in address space too.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from engine.service.notify import post_json
from hostile import bounded, ffmpeg, files
from oracle import SAMPLE_DIR
from service_harness import _start as start_server
from service_harness import (
    HOST, SCRIPT, Server, Webhook, bearer, free_port, process, wait_final, write_config,
)

SOURCE = "clip.mp4"
SMALL = "video/snapshots,f_jpg,w_64,num_2,inter_5000"


class RawReceiver:
    """A loopback TCP 'webhook' that answers with ``answer(connection)``; counts
    connections. Used for receivers no HTTP library would write: one that trickles
    its headers a byte at a time, one that cuts its answer short."""

    def __init__(self, answer) -> None:
        self.connections = 0
        self.closing = threading.Event()
        self._answer = answer
        self._lock = threading.Lock()
        self._server = socket.create_server((HOST, 0))
        self._server.settimeout(0.1)
        self.url = f"http://{HOST}:{self._server.getsockname()[1]}/hook"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self.closing.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)  # the request (its size does not matter here)
                self._answer(self, conn)
            except OSError:
                pass  # the client gave up: that is the point

    def count(self) -> int:
        with self._lock:
            return self.connections

    def close(self) -> None:
        self.closing.set()
        self._thread.join(timeout=5)
        self._server.close()


def trickle(receiver: RawReceiver, conn: socket.socket) -> None:
    """A status line and a header that never end: one byte every 0.2 s, up to 60 s."""
    for byte in (b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 300):
        if receiver.closing.wait(0.2):
            return
        conn.sendall(bytes([byte]))


def cut_short(receiver: RawReceiver, conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")


@pytest.fixture
def media_root(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    (root / SOURCE).write_bytes((SAMPLE_DIR / "h264_bframes.mp4").read_bytes())
    return root


def _start(config: Path, log: Path, **limits: int) -> Server:
    """``snapshots serve`` bounded in address space (and, if asked, file size)."""
    return start_server(config, log, 3, preexec_fn=bounded(**limits))


@contextmanager
def running(config: Path, log: Path, **limits: int) -> Iterator[Server]:
    server = _start(config, log, **limits)
    try:
        yield server
    finally:
        server.kill()


def _submit(server: Server, source: str, style: str, obj: str = "out/x", topic: str | None = None) -> httpx.Response:
    return server.http.post("/v1/tasks", headers=bearer(), json={"source": source, "process": process(style, "b", obj, topic)})


def _bucket(config: Path) -> Path:
    bucket = config.parent / "storage" / "b"
    bucket.mkdir(parents=True, exist_ok=True)
    return bucket


# --- 1. notifications never stall each other ---------------------------------------------


def test_a_trickling_receiver_delays_no_other_topic(tmp_path, media_root):
    slow, hook = RawReceiver(trickle), Webhook()
    config = write_config(tmp_path, media_root, topics={"slow": slow.url, "fast": f"{hook.url}/ok/fast"})
    _bucket(config)
    try:
        with running(config, tmp_path / "log") as server:
            answer = _submit(server, SOURCE, SMALL, "slow/x", topic="slow")
            assert answer.status_code == 202, answer.text
            slow_task = answer.json()["TaskId"]
            deadline = time.monotonic() + 60
            while slow.count() == 0:  # its first attempt is in progress (and trickling)
                assert time.monotonic() < deadline, "the slow topic was never called"
                time.sleep(0.02)
            fast_task = _submit(server, SOURCE, SMALL, "fast/x", topic="fast").json()["TaskId"]
            # Bounded well below the trickle's 60 s: delivered while the other waits.
            fast = wait_final(server, fast_task, timeout=30)
            assert fast["notification"]["state"] == "delivered"
            slowed = wait_final(server, slow_task, timeout=60)
            note = slowed["notification"]
            assert note["state"] == "failed" and len(note["attempts"]) == 4
            for attempt in note["attempts"]:  # each cut at notify.timeout, none a 200
                assert attempt["status"] is None and "within notify.timeout" in attempt["error"], attempt
    finally:
        slow.close()
        hook.close()


def test_an_answer_cut_short_is_a_failed_attempt(tmp_path, media_root):
    cut = RawReceiver(cut_short)
    config = write_config(tmp_path, media_root, topics={"cut": cut.url})
    _bucket(config)
    try:
        with running(config, tmp_path / "log") as server:
            task = _submit(server, SOURCE, SMALL, topic="cut").json()["TaskId"]
            note = wait_final(server, task, timeout=60)["notification"]
        assert note["state"] == "failed"
        assert [a["status"] for a in note["attempts"]] == [None] * 4
        assert all("cut short (3 of 100 bytes)" in a["error"] for a in note["attempts"])
    finally:
        cut.close()


def test_complete_answers_in_every_framing_are_deliveries():
    answers = [b"HTTP/1.1 204 No Content\r\n\r\n",
               b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
               b"HTTP/1.0 202 Accepted\r\n\r\nqueued"]
    for answer in answers:
        receiver = RawReceiver(lambda r, conn, answer=answer: conn.sendall(answer))
        try:
            assert post_json(receiver.url, {"a": 1}, 5.0) == int(answer.split()[1])
        finally:
            receiver.close()


# --- 3. the service reads only its media root ---------------------------------------------


def test_playlists_reaching_outside_the_media_root_are_refused(tmp_path, media_root):
    elsewhere = tmp_path / "elsewhere"
    (media_root / "secret").mkdir()
    elsewhere.mkdir()
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1", "-c:v", "libx264", "-f", "mpegts",
           str(elsewhere / "seg.ts"))
    (media_root / "secret" / "seg.ts").write_bytes((elsewhere / "seg.ts").read_bytes())
    playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{}\n#EXT-X-ENDLIST\n"
    (media_root / "pl").mkdir()
    (media_root / "pl" / "absolute.m3u8").write_text(playlist.format(elsewhere / "seg.ts"))
    (media_root / "pl" / "climbing.m3u8").write_text(playlist.format("../secret/seg.ts"))
    config = write_config(tmp_path, media_root)
    bucket = _bucket(config)
    with running(config, tmp_path / "log") as server:
        for name in ("pl/absolute.m3u8", "pl/climbing.m3u8"):
            answer = _submit(server, name, "video/snapshots,f_jpg,num_1")
            assert answer.status_code == 202, answer.text
            view = wait_final(server, answer.json()["TaskId"])
            assert view["state"] == "failed" and view["error"]["class"] == "IndirectSourceError", view
            assert f"source {name!r}: an HLS playlist" in view["error"]["message"]
    assert files(bucket) == []


# --- 7. the service's state stays true ------------------------------------------------------


def _serve_once(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), "serve", "--config", str(config), "--port", str(free_port())],
                          capture_output=True, text=True, timeout=60, preexec_fn=bounded())


def _one_line(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("snapshots serve: error: "), done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_a_database_of_random_bytes_is_one_line_and_exit_2(tmp_path, media_root):
    database = tmp_path / "tasks.db"
    database.write_bytes(os.urandom(8192))
    _one_line(_serve_once(write_config(tmp_path, media_root, database=database)), "cannot be used", "not a database")


def test_a_database_that_cannot_be_written_is_one_line_and_exit_2(tmp_path, media_root):
    if os.geteuid() == 0:  # permissions do not stop root; /proc takes no new files from anyone
        database = Path("/proc/snapshots-tasks.db")
    else:
        folder = tmp_path / "readonly"
        folder.mkdir()
        folder.chmod(0o500)
        database = folder / "tasks.db"
    _one_line(_serve_once(write_config(tmp_path, media_root, database=database)), "cannot")


def test_a_second_service_on_the_same_database_is_refused(tmp_path, media_root):
    config = write_config(tmp_path, media_root)
    _bucket(config)
    with running(config, tmp_path / "log") as server:
        task = _submit(server, SOURCE, "video/snapshots,f_jpg,w_64,inter_0").json()["TaskId"]
        _one_line(_serve_once(config), "in use by another snapshots serve", f"pid {server.process.pid}")
        view = wait_final(server, task, timeout=60)
        assert view["state"] == "succeeded" and view["runs"] == 1  # not re-queued by the second one


def test_a_full_database_fails_tasks_visibly_and_health_says_so(tmp_path, media_root):
    """Files of the server may not pass 160 KiB (RLIMIT_FSIZE; writes then fail as on
    a full disk): the 900-snapshot result cannot be recorded, submissions soon cannot."""
    config = write_config(tmp_path, media_root, workers=1, queue_size=10_000)
    bucket = _bucket(config)
    with running(config, tmp_path / "log", file_size=160 << 10) as server:
        big = _submit(server, SOURCE, "video/snapshots,f_jpg,w_32,inter_0")
        assert big.status_code == 202, big.text
        view = wait_final(server, big.json()["TaskId"], timeout=90)
        assert view["state"] == "failed" and view["error"]["class"] == "StoreError", view
        assert "could not record it" in view["error"]["message"]
        assert files(bucket) == []  # a failed task leaves nothing
        health = server.http.get("/healthz").json()
        assert health["running"] == 0, health  # not 'running' for ever
        statuses = []
        for n in range(400):
            answer = _submit(server, SOURCE, "video/snapshots,f_jpg,num_1", f"flood/{n}/{'x' * 2000}")
            statuses.append(answer.status_code)
            if answer.status_code != 202:
                break
        assert statuses[-1] == 503, statuses[-5:]
        assert answer.json()["error"]["class"] == "StoreError"
        health = server.http.get("/healthz")
        assert health.status_code == 503 and health.json()["status"] == "degraded", health.text
        assert str(tmp_path) not in health.text


# --- 9. no server paths leak to clients -------------------------------------------------------


def test_answers_name_paths_relative_to_the_roots(tmp_path, media_root):
    (media_root / "notes.mp4").write_text("not a video\n")
    config = write_config(tmp_path, media_root, topics={"private-topic-name": "http://127.0.0.1:9/x"})
    _bucket(config)
    with running(config, tmp_path / "log") as server:
        failed = wait_final(server, _submit(server, "notes.mp4", "video/snapshots,f_jpg").json()["TaskId"])
        warned = wait_final(server, _submit(server, SOURCE, "video/snapshots,f_jpg,num_1", "dir/x.png").json()["TaskId"])
        no_bucket = server.http.post("/v1/tasks", headers=bearer(), json={
            "source": SOURCE, "process": process("video/snapshots,f_jpg", "nobucket", "x")})
        no_topic = _submit(server, SOURCE, "video/snapshots,f_jpg", topic="guess")
    assert failed["error"]["class"] == "NotMediaError"
    assert failed["error"]["message"].startswith("source 'notes.mp4': not a media file")
    assert any(w.startswith("target 'b/dir/x.png': suffix '.png'") for w in warned["result"]["warnings"]), warned
    assert no_bucket.status_code == 400 and "'nobucket' does not exist" in no_bucket.text
    assert no_topic.status_code == 400 and "private-topic-name" not in no_topic.text
    for text in (json.dumps(failed), json.dumps(warned), no_bucket.text, no_topic.text):
        assert str(tmp_path) not in text and os.path.realpath(tmp_path) not in text, text
