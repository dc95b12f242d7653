"""The HTTP service end to end: one real ``snapshots serve`` subprocess on a
loopback port (module scope), driven over HTTP: auth, validation, a seed example
job checked frame by frame, isolation between clients, notifications with
retries, health/metrics/OpenAPI, and a bounded fuzz of POST /v1/tasks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from oracle import SAMPLE_DIR, frame_index_of
from service_harness import (
    ALICE_KEY, ALICE_SECRET, BOB_KEY, CAROL_SECRET, Server, Webhook, b64, bearer, process, serving, signed, wait_final,
    write_config,
)

# The seed's first worked example, verbatim: 512×512 centre crop every 10 s, saved
# as outbucket/outobjprefix-{index}.{autoext}, notify topic "example-mns-topic".
SEED = ("video/snapshots,f_jpg,w_512,h_512,scaletype_crop,inter_10000|sys/saveas,b_b3V0YnVja2V0,"
        "o_b3V0b2JqcHJlZml4LXtpbmRleH0ue2F1dG9leHR9Cg/notify,topic_ZXhhbXBsZS1tbnMtdG9waWMK")
SEED_FRAMES = [0, 299, 599, 899]
SOURCE = "h264_bframes.mp4"
QUICK = "video/snapshots,f_jpg,w_64,h_64,inter_10000"


@pytest.fixture(scope="module")
def hook() -> Iterator[Webhook]:
    receiver = Webhook()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, hook: Webhook) -> Iterator[tuple[Server, Path]]:
    folder = tmp_path_factory.mktemp("service")
    topics = {"example-mns-topic": f"{hook.url}/ok/seed", "ok": f"{hook.url}/ok/x",
              "flaky": f"{hook.url}/flaky/x", "dead": "http://127.0.0.1:9/nothing-listens"}
    config = write_config(folder, SAMPLE_DIR, workers=2, queue_size=200, topics=topics)
    storage = folder / "storage"
    for bucket in ("outbucket", "b"):
        (storage / bucket).mkdir()
    with serving(config, folder / "server.log") as server:
        yield server, storage


@pytest.fixture
def server(env: tuple[Server, Path]) -> Server:
    return env[0]


def submit(server: Server, source: str, proc: str, headers: dict[str, str] | None = None) -> Any:
    return server.http.post("/v1/tasks", json={"source": source, "process": proc}, headers=bearer() if headers is None else headers)


def error_of(response: Any) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"class", "message"}, body
    return body["error"]


# --- authentication ---------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {},
    bearer("not-a-key-of-anyone-at-all"),
    {"Authorization": f"Basic {ALICE_KEY}"},
    {"Authorization": "Bearer"},
], ids=["anonymous", "bad-key", "wrong-scheme", "empty-bearer"])
def test_bad_or_missing_credentials_are_401(server: Server, headers: dict[str, str]) -> None:
    for response in (submit(server, SOURCE, process(QUICK, "b", "auth/x"), headers),
                     server.http.get("/v1/tasks/whatever", headers=headers)):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert error_of(response)["class"] == "AuthError"


def _hmac_post(server: Server, client: str, secret: str, body: bytes, **kw: Any) -> Any:
    headers = {"Content-Type": "application/json", **signed(client, secret, "POST", "/v1/tasks", body, **kw)}
    return server.http.post("/v1/tasks", content=body, headers=headers)


def test_hmac_failures_are_401_and_read_alike(server: Server) -> None:
    body = json.dumps({"source": SOURCE, "process": process(QUICK, "b", "auth/y")}).encode()
    wrong_secret = _hmac_post(server, "alice", "not-alice-secret-0123456789", body)
    unknown_client = _hmac_post(server, "mallory", ALICE_SECRET, body)
    key_only_client = _hmac_post(server, "bob", BOB_KEY, body)  # bob has no hmac_secret
    headers = signed("alice", ALICE_SECRET, "POST", "/v1/tasks", body)
    tampered = server.http.post("/v1/tasks", content=body + b" ", headers=headers)  # body changed after signing
    wrong_path = server.http.post("/v1/tasks", content=body, headers=signed("alice", ALICE_SECRET, "POST", "/v1/other", body))
    answers = [wrong_secret, unknown_client, key_only_client, tampered, wrong_path]
    assert [r.status_code for r in answers] == [401] * 5
    # One message for all: nothing says whether the name, the secret or the signature was wrong.
    assert len({json.dumps(error_of(r)) for r in answers}) == 1


@pytest.mark.parametrize("offset", [-310, 310, -10_000])
def test_stale_timestamp_is_401(server: Server, offset: int) -> None:
    body = json.dumps({"source": SOURCE, "process": process(QUICK, "b", "auth/z")}).encode()
    response = _hmac_post(server, "alice", ALICE_SECRET, body, stamp=int(time.time()) + offset)
    assert response.status_code == 401
    assert "Timestamp" in error_of(response)["message"]


def test_accepted_with_key_and_with_hmac(server: Server) -> None:
    with_key = submit(server, SOURCE, process(QUICK, "b", "auth/key"))
    body = json.dumps({"source": SOURCE, "process": process(QUICK, "b", "auth/hmac")}).encode()
    with_hmac = _hmac_post(server, "carol", CAROL_SECRET, body)
    for response in (with_key, with_hmac):
        assert response.status_code == 202, response.text
        accepted = response.json()
        assert set(accepted) == {"TaskId", "RequestId", "EventId", "state"} and accepted["state"] == "queued"
        assert response.headers["Location"] == f"/v1/tasks/{accepted['TaskId']}"
    task = with_hmac.json()["TaskId"]
    path = f"/v1/tasks/{task}"
    view = wait_final(server, task, headers=signed("carol", CAROL_SECRET, "GET", path))
    # The signature covers method, path and timestamp, so this one GET signature serves every
    # poll within the ±300 s window (replay inside the window is accepted; see docs_service.md).
    assert view["TaskId"] == task


# --- the seed example, end to end ----------------------------------------------------


def test_seed_example_job_frame_by_frame(env: tuple[Server, Path], hook: Webhook) -> None:
    server, storage = env
    response = submit(server, SOURCE, SEED)
    assert response.status_code == 202, response.text
    accepted = response.json()
    view = wait_final(server, accepted["TaskId"])
    assert view["state"] == "succeeded", view
    assert (view["RequestId"], view["EventId"], view["runs"], view["error"]) == (accepted["RequestId"], accepted["EventId"], 1, None)
    shots = view["result"]["snapshots"]
    assert [s["path"] for s in shots] == [f"outbucket/outobjprefix-{j}.jpg" for j in (1, 2, 3, 4)]
    for shot, frame in zip(shots, SEED_FRAMES):
        assert (shot["width"], shot["height"]) == (512, 512)
        assert frame_index_of(storage / shot["path"]) == frame, shot
    # The notification: one delivery to the seed's topic, the event naming this task.
    assert view["notification"]["state"] == "delivered"
    assert [a["status"] for a in view["notification"]["attempts"]] == [200]
    (path, event, _), = hook.events(accepted["EventId"])
    assert path == "/ok/seed"
    assert {k: event[k] for k in ("EventId", "TaskId", "RequestId", "state")} == {**accepted, "state": "succeeded"}
    assert event["result"] == view["result"] and "error" not in event


# --- validation at submission -----------------------------------------------------------


@pytest.mark.parametrize("body, status, cls, names", [
    ({"source": SOURCE, "process": "video/snapshots,f_gif|sys/saveas,b_Yg,o_eA"}, 400, "ProcessError", "gif"),
    ({"source": SOURCE, "process": "video/snapshots,f_jpg,inter_10000"}, 400, "ProcessError", "sys/saveas"),
    ({"source": SOURCE, "process": process(QUICK, "b", "v/x", topic="no-such-topic")}, 400, "ProcessError", "no-such-topic"),
    ({"source": "missing.mp4", "process": process(QUICK, "b", "v/x")}, 404, "SourceNotFoundError", "missing.mp4"),
    ({"source": "../README.md", "process": process(QUICK, "b", "v/x")}, 400, "SourceRefusedError", "../README.md"),
    ({"source": "/etc/passwd", "process": process(QUICK, "b", "v/x")}, 400, "SourceRefusedError", "/etc/passwd"),
    ({"source": SOURCE, "process": process(QUICK, "nobucket", "v/x")}, 400, "TargetError", "nobucket"),
    ({"source": SOURCE, "process": process(QUICK, "b", "../escape")}, 400, "TargetError", "../escape"),
    ({"process": process(QUICK, "b", "v/x")}, 400, "BadRequestError", "source"),
    ({"source": 7, "process": process(QUICK, "b", "v/x")}, 400, "BadRequestError", "source"),
    ({"source": SOURCE, "process": process(QUICK, "b", "v/x"), "extra": 1}, 400, "BadRequestError", "extra"),
], ids=["bad-process", "no-saveas", "unknown-topic", "missing-source", "source-climbs", "source-absolute",
        "no-bucket", "object-escapes", "no-source-field", "source-not-string", "unknown-field"])
def test_submission_is_validated_at_once(server: Server, body: dict[str, Any], status: int, cls: str, names: str) -> None:
    response = server.http.post("/v1/tasks", json=body, headers=bearer())
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["class"] == cls and names in error["message"], error


def test_not_json_is_400(server: Server) -> None:
    response = server.http.post("/v1/tasks", content=b"{not json", headers=bearer())
    assert response.status_code == 400 and error_of(response)["class"] == "BadRequestError"


# --- tasks: ownership, failure, notifications --------------------------------------------


def test_a_client_cannot_read_another_clients_task(server: Server) -> None:
    task = submit(server, SOURCE, process(QUICK, "b", "own/x")).json()["TaskId"]
    theirs = server.http.get(f"/v1/tasks/{task}", headers=bearer(BOB_KEY))
    unknown = server.http.get("/v1/tasks/snapshots-0000", headers=bearer(BOB_KEY))
    assert theirs.status_code == unknown.status_code == 404
    assert error_of(theirs)["class"] == error_of(unknown)["class"] == "TaskNotFoundError"
    assert server.http.get(f"/v1/tasks/{task}", headers=bearer()).status_code == 200


def test_a_failing_job_is_failed_with_its_error_and_notified(server: Server, hook: Webhook) -> None:
    # README.md exists in the media root but is no media: found at submission, refused by the engine.
    accepted = submit(server, "README.md", process(QUICK, "b", "fail/x", topic="ok")).json()
    view = wait_final(server, accepted["TaskId"])
    assert view["state"] == "failed" and view["result"] is None
    assert view["error"]["class"] == "NotMediaError" and "README.md" in view["error"]["message"]
    (_, event, _), = hook.events(accepted["EventId"])
    assert event["state"] == "failed" and event["error"] == view["error"] and "result" not in event


def test_notification_retries_with_backoff_until_delivered(server: Server, hook: Webhook) -> None:
    accepted = submit(server, SOURCE, process(QUICK, "b", "flaky/x", topic="flaky")).json()
    view = wait_final(server, accepted["TaskId"])
    attempts = view["notification"]["attempts"]
    assert [(a["attempt"], a["status"], a["error"]) for a in attempts] == [(1, 500, None), (2, 500, None), (3, 200, None)]
    assert view["notification"]["state"] == "delivered"
    times = [t for _, _, t in hook.events(accepted["EventId"])]
    assert len(times) == 3
    # backoff 0.1 s, factor 2: the gaps are about 0.1 s then 0.2 s.
    assert times[1] - times[0] >= 0.09 and times[2] - times[1] >= 0.19


def test_notification_gives_up_after_the_configured_attempts(server: Server) -> None:
    task = submit(server, SOURCE, process(QUICK, "b", "dead/x", topic="dead")).json()["TaskId"]
    view = wait_final(server, task)
    assert view["state"] == "succeeded"  # an undelivered notification does not fail the task
    attempts = view["notification"]["attempts"]
    assert view["notification"]["state"] == "failed" and len(attempts) == 4
    assert all(a["status"] is None and "refused" in a["error"].lower() for a in attempts), attempts


# --- health, metrics, OpenAPI --------------------------------------------------------------


def test_health_metrics_and_openapi(server: Server) -> None:
    health = server.http.get("/healthz")  # no credentials needed
    assert health.status_code == 200
    assert {"status": "ok", "workers": 2, "queue_size": 200}.items() <= health.json().items()
    assert {"queue_depth", "running"} <= set(health.json())
    metrics = server.http.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in metrics.text.splitlines() if not line.startswith("#")}
    for name in ('snapshots_tasks{state="queued"}', 'snapshots_tasks{state="succeeded"}', "snapshots_queue_depth",
                 "snapshots_jobs_total", "snapshots_jobs_failed_total", "snapshots_job_seconds_sum"):
        assert name in values, name
    assert values["snapshots_workers"] == 2
    spec = server.http.get("/openapi.json").json()
    assert {"/v1/tasks", "/v1/tasks/{task_id}", "/healthz", "/metrics"} <= set(spec["paths"])


# --- fuzz: random bodies against the OpenAPI document --------------------------------------

_FRAGMENTS = ["video/snapshots,f_jpg", "|sys/saveas,b_Yg,o_eA", "/notify,topic_b2s", "../", "\x00", "h264_bframes.mp4",
              "README.md", "/etc/passwd", "\ud800", "%2e%2e", "inter_", "w_99999", "=", ","]
_KEYS = ["f", "m", "thr", "num", "inter", "w", "h", "pw", "ph", "scaletype", "ss", "ar", "q", "sm", "vs", "zz", ""]
_VALUES = st.sampled_from(["jpg", "png", "gif", "inter", "key", "avg", "dhash", "crop", "fit", "0", "-1", "4097", "auto"])
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
# Sources that pass or fail each check but never start a long job: no real video.
_SOURCES = st.sampled_from(["README.md", "missing.mp4", "../README.md", "/etc/passwd", "sample_media", ".", "a\x00b"]) | st.text(min_size=1, max_size=12)


@st.composite
def _processes(draw: st.DrawFn) -> str:
    """Processing strings that follow the grammar's shape with random keys and values,
    so the fuzz reaches parse(), the saveas/topic checks and the source checks."""
    pairs = draw(st.lists(st.tuples(st.sampled_from(_KEYS), _VALUES | st.integers(-5, 10**6).map(str)), max_size=3))
    pairs.insert(0, ("f", draw(st.sampled_from(["jpg", "png", "webp", "gif"]))))
    text = "video/snapshots," + ",".join(f"{k}_{v}" for k, v in pairs)
    if draw(st.integers(0, 3)):  # mostly with a target, as the service needs one
        bucket = draw(st.sampled_from(["b", "b", "nobucket", "..", ""]) | st.text(max_size=4))
        text += f"|sys/saveas,b_{b64(bucket)},o_{b64(draw(st.text(max_size=10)))}"
        if draw(st.booleans()):
            text += f"/notify,topic_{b64(draw(st.sampled_from(['ok', 'nope', ''])))}"
    return text


def _strings(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    plain = st.text(min_size=schema.get("minLength", 0), max_size=40)
    return plain | st.lists(st.sampled_from(_FRAGMENTS) | st.text(max_size=5), max_size=6).map("".join)


def _bodies(schema: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """Well-formed objects of the schema's fields (grammar-shaped process strings),
    schema-driven objects (each property conforming or not, required ones sometimes
    dropped, extras sometimes added), any JSON value, and raw bytes."""
    well_formed = st.fixed_dictionaries({"source": _SOURCES, "process": _processes()})
    fields = {name: st.one_of(_strings(prop), _json) for name, prop in schema["properties"].items()}
    mixed = st.tuples(st.fixed_dictionaries({}, optional=fields), st.dictionaries(st.text(max_size=6), _json, max_size=2))
    objects = st.one_of(well_formed, well_formed, well_formed, mixed.map(lambda p: {**p[1], **p[0]}))
    return st.one_of(objects.map(lambda o: json.dumps(o).encode()), objects.map(lambda o: json.dumps(o).encode()),
                     _json.map(lambda v: json.dumps(v).encode()), st.binary(max_size=64))


@pytest.fixture(scope="module")
def submit_operation(env: tuple[Server, Path]) -> dict[str, Any]:
    return env[0].http.get("/openapi.json").json()["paths"]["/v1/tasks"]["post"]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_submit_never_5xx(env: tuple[Server, Path], submit_operation: dict[str, Any], data: st.DataObject) -> None:
    server = env[0]
    schema = submit_operation["requestBody"]["content"]["application/json"]["schema"]
    body = data.draw(_bodies(schema))
    response = server.http.post("/v1/tasks", content=body, headers={**bearer(), "Content-Type": "application/json"})
    declared = {int(code) for code in submit_operation["responses"]}
    assert response.status_code in declared, (body, response.status_code, response.text)
    if response.status_code != 202:
        assert 400 <= response.status_code < 500
        event(f"{response.status_code} {error_of(response)['class']}")  # shown by --hypothesis-show-statistics
