"""The service's TOML configuration file, read once at start and validated whole.

The file's shape is a pydantic model (:class:`ServiceConfig`): unknown keys are
refused (``extra="forbid"``), numbers carry their bounds, and a value of the wrong
type is refused rather than converted (``workers = true`` is a typo, not 1). Every
problem becomes one :class:`ConfigError` line naming the key, the value and what
would be valid, as ``snapshots serve`` prints it.

Relative paths in the file are taken relative to the file's own folder, so a
config and its data can move together.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator


class ConfigError(ValueError):
    """The configuration file is missing, not TOML, or holds an invalid value."""


def _integer(low: int, high: int, default: int) -> Any:
    return Field(default, strict=True, ge=low, le=high, description=f"an integer {low}–{high}")


def _number(low: float, default: float) -> Any:
    return Field(default, strict=True, ge=low, allow_inf_nan=False, description=f"a number ≥ {low}")


_SHAPE = ConfigDict(extra="forbid", frozen=True)


class Client(BaseModel):
    """One API client: a Bearer key, an HMAC secret, or both."""

    model_config = _SHAPE

    name: str
    # A short secret is guessable; 16 characters is a floor, not a recommendation.
    api_key: Annotated[str, Field(strict=True, min_length=16)] | None = None
    hmac_secret: Annotated[str, Field(strict=True, min_length=16)] | None = None

    @model_validator(mode="after")
    def _one_secret_at_least(self) -> Client:
        if not (self.api_key or self.hmac_secret):
            raise ValueError(f"clients.{self.name}: needs api_key or hmac_secret")
        return self


class NotifyPolicy(BaseModel):
    """Webhook delivery: attempt k (1-based) is sent backoff·factor^(k-2) s after k−1."""

    model_config = _SHAPE

    attempts: int = _integer(1, 100, 5)
    backoff: float = _number(0.0, 1.0)
    factor: float = _number(1.0, 2.0)
    timeout: float = _number(0.1, 5.0)
    """Seconds one POST may take before it counts as a failed attempt."""

    def delay(self, attempt: int) -> float:
        """Seconds to wait before ``attempt`` (the first is sent at once)."""
        return 0.0 if attempt <= 1 else self.backoff * self.factor ** (attempt - 2)


class ServiceConfig(BaseModel):
    """What ``snapshots serve --config FILE`` reads (see the README's service section)."""

    model_config = _SHAPE

    media_root: Path = Field(None, validate_default=True)
    storage_root: Path = Field(None, validate_default=True)
    database: Path = Field(None, validate_default=True)
    clients: dict[str, Client] = Field({}, validate_default=True)
    workers: int = _integer(1, 256, 2)
    queue_size: int = _integer(1, 1_000_000, 100)
    topics: dict[str, str] = {}
    notify: NotifyPolicy = NotifyPolicy()
    max_runs: int = _integer(1, 100, 2)
    """A task found running after a crash is run again while runs < max_runs."""
    allow_indirect_sources: bool = Field(False, strict=True, description="true or false")
    """Let sources be playlists, concat lists or image sequences that open other
    files (see the README's hostile-input reference); they may then read outside media_root."""

    @field_validator("media_root", "storage_root", "database", mode="before")
    @classmethod
    def _relative_to_the_file(cls, value: object, info: ValidationInfo) -> Path:
        if not isinstance(value, str) or not value:
            raise ValueError(f"{info.field_name}: expected a non-empty string, got {value!r}")
        base = (info.context or {}).get("base", Path.cwd())
        path = base / value
        if info.field_name == "database":
            if not path.parent.is_dir():
                raise ValueError(f"database: folder {str(path.parent)!r} does not exist")
            return path
        path = path.resolve()
        if not path.is_dir():
            raise ValueError(f"{info.field_name}: {str(path)!r} is not an existing folder")
        return path

    @field_validator("clients", mode="before")
    @classmethod
    def _named_clients(cls, table: object) -> object:
        if not isinstance(table, dict):
            raise ValueError("clients: expected a table of name → {api_key, hmac_secret}")
        named = {}
        for name, entry in table.items():
            if not isinstance(entry, dict) or set(entry) - {"api_key", "hmac_secret"}:
                raise ValueError(f"clients.{name}: expected a table with api_key and/or hmac_secret")
            named[name] = {**entry, "name": name}
        return named

    @field_validator("clients")
    @classmethod
    def _some_distinct_clients(cls, clients: dict[str, Client]) -> dict[str, Client]:
        if not clients:
            raise ValueError("clients: at least one client is needed (anonymous access is refused)")
        keys = [c.api_key for c in clients.values() if c.api_key]
        if len(keys) != len(set(keys)):
            raise ValueError("clients: two clients share an api_key; each key must name one client")
        return clients

    @field_validator("topics", mode="before")
    @classmethod
    def _webhook_urls(cls, table: object) -> object:
        if not isinstance(table, dict):
            raise ValueError("topics: expected a table of topic → webhook URL")
        for name, url in table.items():
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise ValueError(f"topics.{name}: {url!r} is not an http(s) URL")
        return table

    @field_validator("notify", mode="before")
    @classmethod
    def _notify_table(cls, table: object) -> object:
        if not isinstance(table, dict) or set(table) - set(NotifyPolicy.model_fields):
            raise ValueError("notify: expected a table with attempts, backoff, factor, timeout")
        return table


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
    """The configuration a TOML document describes, relative paths taken from ``base``."""
    try:
        return ServiceConfig.model_validate(data, context={"base": base})
    except ValidationError as error:
        raise ConfigError(_one_line(error)) from None


def _one_line(error: ValidationError) -> str:
    """The first problem pydantic found, worded as the key, the value and what is valid."""
    problems = error.errors(include_url=False)
    unknown = sorted(str(p["loc"][0]) for p in problems if p["type"] == "extra_forbidden" and len(p["loc"]) == 1)
    if unknown:
        return f"unknown key(s) {unknown}; valid: {sorted(ServiceConfig.model_fields)}"
    problem = problems[0]
    if problem["type"] == "value_error":  # our validators' own sentences
        return str(problem["ctx"]["error"])
    loc = problem["loc"]
    if loc[0] == "clients" and len(loc) == 3:  # clients.<name>.<secret>: the name is a key of the table, not a field
        return f"clients.{loc[1]}.{loc[2]}: expected a string of ≥ 16 characters"
    return f"{'.'.join(map(str, loc))}: {problem['input']!r} is invalid; valid: {_valid(loc)}"


def _valid(loc: tuple[int | str, ...]) -> str:
    """The description of the field at ``loc`` (what its values may be)."""
    model: type[BaseModel] = ServiceConfig
    field = None
    for part in loc:
        field = model.model_fields[str(part)]
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            model = field.annotation
    return field.description if field is not None and field.description else "see the README's service section"
