"""Service pieces without a server: HMAC signing, the error → HTTP status table,
result paths (the configuration file: tests/test_service_config.py)."""

from __future__ import annotations


import pytest

from engine.errors import (
    InputError, NotMediaError, NoVideoError, ProcessError, SnapshotError, SourceNotFoundError, TargetError, UndecodableError,
)
from engine.service.auth import Authenticator, sign
from engine.service.config import Client
from engine.service.errors import (
    AuthError, BadRequestError, QueueFullError, SourceRefusedError, TaskNotFoundError, error_body, status_for,
)
from engine.service.workers import client_view
from service_harness import signed

def test_signature_recipe_matches_the_documented_one() -> None:
    body = b'{"source": "a.mp4"}'
    headers = signed("alice", "alice-hmac-secret-0123456789", "POST", "/v1/tasks", body, stamp=1_700_000_000)
    assert sign("alice-hmac-secret-0123456789", "POST", "/v1/tasks", "1700000000", body) == headers["X-Snapshots-Signature"]
    auth = Authenticator({"alice": Client(name="alice", hmac_secret="alice-hmac-secret-0123456789")}, now=lambda: 1_700_000_100)
    lowered = {k.lower(): v for k, v in headers.items()}
    assert auth.authenticate("POST", "/v1/tasks", lowered, body) == "alice"
    for bad in ({**lowered, "x-snapshots-timestamp": "1700000001"}, {**lowered, "x-snapshots-timestamp": "9" * 40},
                {**lowered, "x-snapshots-signature": "é"}):
        with pytest.raises(AuthError):
            auth.authenticate("POST", "/v1/tasks", bad, body)


def test_bearer_picks_the_right_client_among_several() -> None:
    clients = {n: Client(name=n, api_key=f"{n}-api-key-0123456789") for n in ("a", "b", "c")}
    auth = Authenticator(clients)
    assert auth.authenticate("GET", "/", {"authorization": "Bearer b-api-key-0123456789"}, b"") == "b"
    assert auth.authenticate("GET", "/", {"authorization": "bearer c-api-key-0123456789"}, b"") == "c"
    with pytest.raises(AuthError):
        auth.authenticate("GET", "/", {"authorization": "Bearer b-api-key-012345678"}, b"")


@pytest.mark.parametrize("error, status", [
    (ProcessError("x"), 400), (TargetError("x"), 400), (BadRequestError("x"), 400), (SourceRefusedError("x"), 400),
    (AuthError("x"), 401), (SourceNotFoundError("x"), 404), (TaskNotFoundError("x"), 404),
    (NotMediaError("x"), 422), (NoVideoError("x"), 422), (UndecodableError("x"), 422), (InputError("x"), 422),
    (QueueFullError("x", 3), 429), (SnapshotError("x"), 500), (RuntimeError("x"), 500),
])
def test_status_table(error: Exception, status: int) -> None:
    assert status_for(error) == status
    assert error_body(error) == {"error": {"class": type(error).__name__, "message": "x"}}


def test_result_paths_are_relative_to_the_storage_root() -> None:
    result = {"source": "/abs/media/a.mp4", "snapshots": [{"serial": 1, "path": "/srv/store/b/x_0_1.jpg"}]}
    view = client_view(result, "a.mp4", "/srv/store")
    assert view == {"source": "a.mp4", "snapshots": [{"serial": 1, "path": "b/x_0_1.jpg"}]}
