"""engine/service/config.py: the configuration file as a pydantic model; each problem
one line naming the key, the value and what would be valid; serve exits 2 with it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.service.cli import main
from engine.service.config import Client, ConfigError, NotifyPolicy, ServiceConfig, load_config

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
KEY = 'api_key = "alice-api-key-0123456789"'


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
    assert config.clients == {"alice": Client(name="alice", api_key="alice-api-key-0123456789")}
    assert (config.max_runs, config.allow_indirect_sources) == (2, False)
    with pytest.raises(ValueError):  # frozen: read once at start, never changed
        config.workers = 4  # type: ignore[misc]


def test_the_model_forbids_extra_keys_and_carries_bounds() -> None:
    assert ServiceConfig.model_config["extra"] == "forbid" and NotifyPolicy.model_config["extra"] == "forbid"
    workers = ServiceConfig.model_json_schema()["properties"]["workers"]
    assert (workers["minimum"], workers["maximum"]) == (1, 256)




@pytest.mark.parametrize("change, message", [
    (("workers = 3", "workers = 0"), "workers: 0 is invalid; valid: an integer 1–256"),
    (("workers = 3", "workers = true"), "workers: True is invalid; valid: an integer 1–256"),
    (("queue_size = 7", 'queue_size = "7"'), "queue_size: '7' is invalid; valid: an integer 1–1000000"),
    (("queue_size = 7", "max_runs = 101"), "max_runs: 101 is invalid; valid: an integer 1–100"),
    (('media_root = "media"', 'media_root = "nowhere"'), "media_root: '{folder}/nowhere' is not an existing folder"),
    (('media_root = "media"', ""), "media_root: expected a non-empty string, got None"),
    (('database = "tasks.db"', 'database = ""'), "database: expected a non-empty string, got ''"),
    (('database = "tasks.db"', 'database = "no/tasks.db"'), "database: folder '{folder}/no' does not exist"),
    ((KEY, 'api_key = "short"'), "clients.alice.api_key: expected a string of ≥ 16 characters"),
    ((KEY, "hmac_secret = 12345678901234567"), "clients.alice.hmac_secret: expected a string of ≥ 16 characters"),
    ((KEY, ""), "clients.alice: needs api_key or hmac_secret"),
    ((KEY, KEY + '\nname = "bob"'), "clients.alice: expected a table with api_key and/or hmac_secret"),
    ((KEY, KEY + '\n[clients.bob]\n' + KEY), "clients: two clients share an api_key; each key must name one client"),
    (("[clients.alice]\n" + KEY, ""), "clients: at least one client is needed (anonymous access is refused)"),
    (("[clients.alice]\n" + KEY, 'clients = "alice"'), "clients: expected a table of name → {api_key, hmac_secret}"),
    (('"http://127.0.0.1:9000/hook"', '"ftp://x"'), "topics.example-mns-topic: 'ftp://x' is not an http(s) URL"),
    (("factor = 3", "factor = 0.5"), "notify.factor: 0.5 is invalid; valid: a number ≥ 1.0"),
    (("factor = 3", "timeout = inf"), "notify.timeout: inf is invalid; valid: a number ≥ 0.1"),
    (("attempts = 3", "attempts = 2.0"), "notify.attempts: 2.0 is invalid; valid: an integer 1–100"),
    (("factor = 3", "retries = 3"), "notify: expected a table with attempts, backoff, factor, timeout"),
    (("workers = 3", "allow_indirect_sources = 1"), "allow_indirect_sources: 1 is invalid; valid: true or false"),
    (("workers = 3", "wrokers = 3"), "unknown key(s) ['wrokers']; valid: ['allow_indirect_sources', 'clients', "
     "'database', 'max_runs', 'media_root', 'notify', 'queue_size', 'storage_root', 'topics', 'workers']"),
    (("[notify]", "[notify\n"), "config '{folder}/service.toml': not valid TOML (Expected ']' at the end of a table "
     "declaration (at line 11, column 8))"),
], ids=lambda value: value if isinstance(value, str) and len(value) < 40 else None)
def test_each_problem_is_one_line_naming_key_value_and_valid(folder: Path, change: tuple[str, str], message: str) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    expected = message.replace("{folder}", str(folder))
    with pytest.raises(ConfigError, match=f"^{re.escape(expected)}$"):
        load_config(_write(folder, text))


def test_serve_with_a_bad_config_exits_2_with_one_line(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(folder / "missing.toml")]) == 2
    assert capsys.readouterr().err == (f"snapshots serve: error: config '{folder}/missing.toml': "
                                       "cannot read (No such file or directory)\n")
    assert main(["--config", str(_write(folder, GOOD.replace("workers = 3", "workers = 0")))]) == 2
    assert capsys.readouterr().err == "snapshots serve: error: workers: 0 is invalid; valid: an integer 1–256\n"


def test_backoff_is_exponential() -> None:
    policy = NotifyPolicy(attempts=5, backoff=0.5, factor=2.0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.0, 0.5, 1.0, 2.0, 4.0]
