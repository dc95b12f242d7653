"""Durability and overload: SIGKILL the service mid-queue and restart it on the same
database (nothing lost, the interrupted task run again once); a burst against a
one-slot queue answers 429 with Retry-After, never hangs; the recovery rule itself
on a database prepared by hand."""

from __future__ import annotations

import time
from pathlib import Path

from engine.service.config import NotifyPolicy
from engine.service.notify import Notifier
from engine.service.store import Attempt, Task, TaskStore
from oracle import SAMPLE_DIR, frame_index_of, truth
from service_harness import Webhook, bearer, process, serving, wait_final, write_config

SOURCE = "h264_bframes.mp4"
# 151 snapshots (every 200 ms of a 30 s clip) at 64×64: most of a second of work, long
# enough to be caught running, short enough for several in the time budget.
STYLE = "video/snapshots,f_jpg,w_64,h_64,inter_200"
SEED = "video/snapshots,f_jpg,w_512,h_512,scaletype_crop,inter_10000"


def test_sigkill_mid_queue_loses_no_task(tmp_path: Path) -> None:
    config = write_config(tmp_path, SAMPLE_DIR, workers=1, queue_size=20)
    (tmp_path / "storage" / "b").mkdir()
    with serving(config, tmp_path / "server.log") as server:
        ids = []
        for n in range(4):
            response = server.http.post("/v1/tasks", headers=bearer(),
                                        json={"source": SOURCE, "process": process(STYLE, "b", f"run{n}/clip")})
            assert response.status_code == 202, response.text
            ids.append(response.json()["TaskId"])
        deadline = time.monotonic() + 20
        while server.http.get(f"/v1/tasks/{ids[0]}", headers=bearer()).json()["state"] != "running":
            assert time.monotonic() < deadline, "the first task never started"
            time.sleep(0.01)
        server.kill()  # SIGKILL: task 0 running, tasks 1–3 queued
    with serving(config, tmp_path / "server.log") as server:
        views = [wait_final(server, task, timeout=40) for task in ids]
    assert [v["state"] for v in views] == ["succeeded"] * 4, views
    assert [v["runs"] for v in views] == [2, 1, 1, 1]  # the interrupted one ran again, once
    clip = truth(SOURCE)
    for view in views:
        shots = view["result"]["snapshots"]
        assert len(shots) == 151
        for shot in (shots[0], shots[75], shots[-1]):
            path = tmp_path / "storage" / shot["path"]
            assert frame_index_of(path) == clip.at(shot["requested_ms"]).index, shot


def test_overload_answers_429_with_retry_after(tmp_path: Path) -> None:
    config = write_config(tmp_path, SAMPLE_DIR, workers=1, queue_size=1)
    (tmp_path / "storage" / "b").mkdir()
    with serving(config, tmp_path / "server.log") as server:
        answers = []
        for n in range(8):  # a burst: far faster than one job
            body = {"source": SOURCE, "process": process(SEED, "b", f"burst{n}/clip")}
            answers.append(server.http.post("/v1/tasks", json=body, headers=bearer(), timeout=5.0))
        codes = [r.status_code for r in answers]
        assert set(codes) <= {202, 429} and 202 in codes and 429 in codes, codes
        # At most one running and one queued when the burst is faster than a job.
        assert codes.count(202) <= 3, codes
        for refused in (r for r in answers if r.status_code == 429):
            assert int(refused.headers["Retry-After"]) >= 1
            assert refused.json()["error"]["class"] == "QueueFullError"
        accepted = [r.json()["TaskId"] for r in answers if r.status_code == 202]
        assert all(wait_final(server, t)["state"] == "succeeded" for t in accepted)
        # Drained: accepted again.
        again = server.http.post("/v1/tasks", headers=bearer(), json={"source": SOURCE, "process": process(SEED, "b", "later/clip")})
        assert again.status_code == 202


def _task(n: int) -> Task:
    return Task(id=f"t{n}", request_id=f"r{n}", event_id=f"e{n}", client="alice", source=SOURCE,
                path=str(SAMPLE_DIR / SOURCE), process="video/snapshots,f_jpg", topic=None)


def test_recovery_requeues_once_then_fails_with_a_reason(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "tasks.db")
    for n in range(3):
        assert store.admit(_task(n), limit=10)
    first, second = store.claim(), store.claim()
    assert (first.id, first.runs, second.id) == ("t0", 1, "t1")
    store.recover(max_runs=2)  # crash 1: both back in the queue
    assert store.counts() == {"queued": 3, "running": 0, "succeeded": 0, "failed": 0}
    assert store.claim().id == "t0" and store.get("t0").runs == 2  # oldest first, counter kept
    requeued, failed = store.recover(max_runs=2)  # crash 2 while t0 runs its second time
    assert (requeued, failed) == ([], ["t0"])
    lost = store.get("t0")
    assert lost.state == "failed" and lost.error["class"] == "InterruptedError" and "2 time(s)" in lost.error["message"]
    store.close()
    reopened = TaskStore(tmp_path / "tasks.db")  # and all of it is on disk
    assert reopened.counts() == {"queued": 2, "running": 0, "succeeded": 0, "failed": 1}
    reopened.close()


def test_admission_never_overshoots_the_queue(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "tasks.db")
    assert [store.admit(_task(n), limit=2) for n in range(4)] == [True, True, False, False]
    store.claim()  # a running task no longer counts against the queue
    assert store.admit(_task(9), limit=2)
    store.close()


def test_a_pending_notification_resumes_after_a_restart(tmp_path: Path) -> None:
    """The process died after one failed attempt: the next process sends attempt 2."""
    hook = Webhook()
    store = TaskStore(tmp_path / "tasks.db")
    try:
        task = _task(0)
        store.admit(Task(**{**task.__dict__, "topic": "t"}), limit=10)
        store.claim()
        store.finish("t0", result={"snapshots": []})
        store.record_attempt("t0", Attempt(1, time.time(), 503, None))  # then the crash
        notifier = Notifier(store, {"t": f"{hook.url}/ok/t"}, NotifyPolicy(attempts=3, backoff=0.05))
        notifier.start()
        deadline = time.monotonic() + 10
        while store.get("t0").notify_state == "pending":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        notifier.stop()
        assert [(a.attempt, a.status) for a in store.attempts("t0")] == [(1, 503), (2, 200)]
        (_, event, _), = hook.events("e0")
        assert (event["TaskId"], event["state"], event["result"]) == ("t0", "succeeded", {"snapshots": []})
    finally:
        store.close()
        hook.close()
