"""HTTP service for the snapshot engine (``snapshots serve``): durable SQLite task
queue, a bounded worker pool, Bearer/HMAC auth and webhook notifications.

Needs the ``service`` extra (FastAPI, uvicorn); ``engine`` itself does not import it.
"""

from engine.service.config import ConfigError, ServiceConfig, load_config

__all__ = ["ConfigError", "ServiceConfig", "load_config", "create_app"]


def __getattr__(name: str) -> object:
    # create_app pulls in FastAPI; load it only when asked for.
    if name == "create_app":
        from engine.service.app import create_app

        return create_app
    raise AttributeError(name)
