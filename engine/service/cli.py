"""``snapshots serve --config FILE [--host 127.0.0.1] [--port 8080]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from engine.console import prefix_kernel_warnings
from engine.service.config import ConfigError, load_config

PROG = "snapshots serve"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run the HTTP service: POST /v1/tasks, GET /v1/tasks/{id}, /healthz, /metrics, /openapi.json.",
    )
    parser.add_argument("--config", required=True, help="TOML file: media_root, storage_root, database, workers, queue_size, clients, topics, notify")
    # Loopback by default: exposing the service is a deliberate choice.
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    prefix_kernel_warnings(PROG)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    # Imported here: a bad config is reported without loading the web stack.
    import uvicorn

    from engine.service.app import create_app
    from engine.service.errors import StoreError

    try:
        app = create_app(config)  # opens and locks the database: refused here, in one line
    except StoreError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
