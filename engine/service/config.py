"""The service's TOML configuration file, read once at start and validated whole.

Relative paths in the file are taken relative to the file's own folder, so a
config and its data can move together.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """The configuration file is missing, not TOML, or holds an invalid value."""


@dataclass(frozen=True)
class Client:
    """One API client: a Bearer key, an HMAC secret, or both."""

    name: str
    api_key: str | None = None
    hmac_secret: str | None = None


@dataclass(frozen=True)
class NotifyPolicy:
    """Webhook delivery: attempt k (1-based) is sent backoff·factor^(k-2) s after k−1."""

    attempts: int = 5
    backoff: float = 1.0
    factor: float = 2.0
    timeout: float = 5.0
    """Seconds one POST may take before it counts as a failed attempt."""

    def delay(self, attempt: int) -> float:
        """Seconds to wait before ``attempt`` (the first is sent at once)."""
        return 0.0 if attempt <= 1 else self.backoff * self.factor ** (attempt - 2)


@dataclass(frozen=True)
class ServiceConfig:
    media_root: Path
    storage_root: Path
    database: Path
    workers: int = 2
    queue_size: int = 100
    clients: dict[str, Client] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)
    notify: NotifyPolicy = field(default_factory=NotifyPolicy)
    max_runs: int = 2
    """A task found running after a crash is run again while runs < max_runs."""
    allow_indirect_sources: bool = False
    """Let sources be playlists, concat lists or image sequences that open other
    files (SPEC §6); they may then read outside media_root."""


_TOP_KEYS = {"media_root", "storage_root", "database", "workers", "queue_size", "clients", "topics", "notify", "max_runs",
             "allow_indirect_sources"}


def load_config(path: str | os.PathLike[str]) -> ServiceConfig:
    """Read and validate the file; every problem is a :class:`ConfigError` naming the key."""
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"config {str(file)!r}: cannot read ({error.strerror or error})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config {str(file)!r}: not valid TOML ({error})") from None
    return parse_config(data, base=file.resolve().parent)


def parse_config(data: dict[str, Any], base: Path) -> ServiceConfig:
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown}; valid: {sorted(_TOP_KEYS)}")
    media_root = _folder(data, "media_root", base, must_exist=True)
    storage_root = _folder(data, "storage_root", base, must_exist=True)
    database = base / _str(data, "database")
    if not database.parent.is_dir():
        raise ConfigError(f"database: folder {str(database.parent)!r} does not exist")
    clients = _clients(data.get("clients", {}))
    if not clients:
        raise ConfigError("clients: at least one client is needed (anonymous access is refused)")
    return ServiceConfig(
        media_root=media_root,
        storage_root=storage_root,
        database=database,
        workers=_int(data, "workers", 2, 1, 256),
        queue_size=_int(data, "queue_size", 100, 1, 1_000_000),
        clients=clients,
        topics=_topics(data.get("topics", {})),
        notify=_notify(data.get("notify", {})),
        max_runs=_int(data, "max_runs", 2, 1, 100),
        allow_indirect_sources=_bool(data, "allow_indirect_sources", False),
    )


def _bool(data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: {value!r} is invalid; valid: true or false")
    return value


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key}: expected a non-empty string, got {value!r}")
    return value


def _folder(data: dict[str, Any], key: str, base: Path, *, must_exist: bool) -> Path:
    path = (base / _str(data, key)).resolve()
    if must_exist and not path.is_dir():
        raise ConfigError(f"{key}: {str(path)!r} is not an existing folder")
    return path


def _int(data: dict[str, Any], key: str, default: int, low: int, high: int, prefix: str = "") -> int:
    value = data.get(key, default)
    # bool is an int subclass: `workers = true` is a typo, not 1.
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"{prefix}{key}: {value!r} is invalid; valid: an integer {low}–{high}")
    return value


def _number(data: dict[str, Any], key: str, default: float, low: float) -> float:
    value = data.get(key, default)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < low:
        raise ConfigError(f"notify.{key}: {value!r} is invalid; valid: a number ≥ {low}")
    return float(value)


def _clients(table: object) -> dict[str, Client]:
    if not isinstance(table, dict):
        raise ConfigError("clients: expected a table of name → {api_key, hmac_secret}")
    clients: dict[str, Client] = {}
    for name, entry in table.items():
        if not isinstance(entry, dict) or set(entry) - {"api_key", "hmac_secret"}:
            raise ConfigError(f"clients.{name}: expected a table with api_key and/or hmac_secret")
        secrets = {k: entry.get(k) for k in ("api_key", "hmac_secret")}
        for key, value in secrets.items():
            # A short secret is guessable; 16 characters is a floor, not a recommendation.
            if value is not None and (not isinstance(value, str) or len(value) < 16):
                raise ConfigError(f"clients.{name}.{key}: expected a string of ≥ 16 characters")
        if not any(secrets.values()):
            raise ConfigError(f"clients.{name}: needs api_key or hmac_secret")
        clients[name] = Client(name, secrets["api_key"], secrets["hmac_secret"])
    keys = [c.api_key for c in clients.values() if c.api_key]
    if len(keys) != len(set(keys)):
        raise ConfigError("clients: two clients share an api_key; each key must name one client")
    return clients


def _topics(table: object) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ConfigError("topics: expected a table of topic → webhook URL")
    for name, url in table.items():
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"topics.{name}: {url!r} is not an http(s) URL")
    return dict(table)


def _notify(table: object) -> NotifyPolicy:
    if not isinstance(table, dict) or set(table) - {"attempts", "backoff", "factor", "timeout"}:
        raise ConfigError("notify: expected a table with attempts, backoff, factor, timeout")
    return NotifyPolicy(
        attempts=_int(table, "attempts", 5, 1, 100, prefix="notify."),
        backoff=_number(table, "backoff", 1.0, 0.0),
        factor=_number(table, "factor", 2.0, 1.0),
        timeout=_number(table, "timeout", 5.0, 0.1),
    )
