"""Service pieces without a server: config validation, the CLI's config errors,
HMAC signing, the error → HTTP status table, result paths, backoff."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import (
    InputError, NotMediaError, NoVideoError, ProcessError, SnapshotError, SourceNotFoundError, TargetError, UndecodableError,
)
from engine.service.auth import Authenticator, sign
from engine.service.cli import main
from engine.service.config import Client, ConfigError, NotifyPolicy, load_config
from engine.service.errors import (
    AuthError, BadRequestError, QueueFullError, SourceRefusedError, TaskNotFoundError, error_body, status_for,
)
from engine.service.workers import client_view
from test_service_harness import signed

GOOD = """
media_root = "media"
storage_root = "store"
database = "tasks.db"
workers = 3
queue_size = 7
[clients.alice]
api_key = "alice-api-key-0123456789"
[topics]
example-mns-topic = "http://127.0.0.1:9000/hook"
[notify]
attempts = 3
backoff = 0.5
factor = 3
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "media").mkdir()
    (tmp_path / "store").mkdir()
    return tmp_path


def _write(folder: Path, text: str) -> Path:
    path = folder / "service.toml"
    path.write_text(text)
    return path


def test_config_paths_are_relative_to_the_file(folder: Path) -> None:
    config = load_config(_write(folder, GOOD))
    assert (config.media_root, config.storage_root, config.database) == (folder / "media", folder / "store", folder / "tasks.db")
    assert (config.workers, config.queue_size, config.topics) == (3, 7, {"example-mns-topic": "http://127.0.0.1:9000/hook"})
    assert config.notify == NotifyPolicy(attempts=3, backoff=0.5, factor=3.0, timeout=5.0)


@pytest.mark.parametrize("change, names", [
    (("workers = 3", "workers = 0"), "workers"),
    (("workers = 3", "workers = true"), "workers"),
    (("queue_size = 7", 'queue_size = "7"'), "queue_size"),
    (('media_root = "media"', 'media_root = "nowhere"'), "media_root"),
    (('api_key = "alice-api-key-0123456789"', 'api_key = "short"'), "clients.alice.api_key"),
    (('[clients.alice]\napi_key = "alice-api-key-0123456789"', ""), "clients"),
    (('"http://127.0.0.1:9000/hook"', '"ftp://x"'), "topics.example-mns-topic"),
    (("factor = 3", "factor = 0.5"), "factor"),
    (("workers = 3", "wrokers = 3"), "wrokers"),
    (("[notify]", "[notify\n"), "TOML"),
])
def test_config_errors_name_the_key(folder: Path, change: tuple[str, str], names: str) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        load_config(_write(folder, text))


def test_serve_with_a_bad_config_exits_2_with_one_line(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(folder / "missing.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("snapshots serve: error: config") and "missing.toml" in err


def test_signature_recipe_matches_the_documented_one() -> None:
    body = b'{"source": "a.mp4"}'
    headers = signed("alice", "alice-hmac-secret-0123456789", "POST", "/v1/tasks", body, stamp=1_700_000_000)
    assert sign("alice-hmac-secret-0123456789", "POST", "/v1/tasks", "1700000000", body) == headers["X-Snapshots-Signature"]
    auth = Authenticator({"alice": Client("alice", hmac_secret="alice-hmac-secret-0123456789")}, now=lambda: 1_700_000_100)
    lowered = {k.lower(): v for k, v in headers.items()}
    assert auth.authenticate("POST", "/v1/tasks", lowered, body) == "alice"
    for bad in ({**lowered, "x-snapshots-timestamp": "1700000001"}, {**lowered, "x-snapshots-timestamp": "9" * 40},
                {**lowered, "x-snapshots-signature": "é"}):
        with pytest.raises(AuthError):
            auth.authenticate("POST", "/v1/tasks", bad, body)


def test_bearer_picks_the_right_client_among_several() -> None:
    clients = {n: Client(n, api_key=f"{n}-api-key-0123456789") for n in ("a", "b", "c")}
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


def test_backoff_is_exponential() -> None:
    policy = NotifyPolicy(attempts=5, backoff=0.5, factor=2.0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.0, 0.5, 1.0, 2.0, 4.0]
