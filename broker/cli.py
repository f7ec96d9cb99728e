# SPDX-License-Identifier: EUPL-1.2
"""The `citycontext` console script: `citycontext serve` starts the NGSI-LD broker."""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
from collections.abc import Sequence

import broker
from agents.cli import add_agent_commands
from agents.cli import run as run_agent
from broker.settings import DEFAULT_STORE_URL, Settings, SettingsError
from broker.store import UnsupportedStore, open_store
from smart_data_models import UnknownModel, WriteValidation
from smart_data_models.demo import add_demo_command, add_serve_demo_option, run_demo_command, start_demo_loader


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="citycontext", description="citycontext: the NGSI-LD urban data platform of Hamm."
    )
    parser.add_argument(
        "--version", action="version", version=f"citycontext {broker.__version__} (NGSI-LD {broker.NGSI_LD_SPEC_VERSION})"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="start the NGSI-LD context broker",
        description="Start the NGSI-LD context broker (API under /ngsi-ld/v1). "
        "Options override the CITYCONTEXT_HOST, CITYCONTEXT_PORT and CITYCONTEXT_STORE environment variables.",
    )
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="TCP port (default 1026)")
    serve.add_argument("--store", help=f"store URL (default {DEFAULT_STORE_URL}, relative to the working directory)")
    add_serve_demo_option(serve)
    add_demo_command(commands)
    export = commands.add_parser(
        "export",
        help="download the history of a type's entities as open data (CSV, GeoJSON, JSON Lines)",
        description="Write every attribute instance of the entities of a type, one row each, with the licence "
        "of CITYCONTEXT_OPEN_DATA_LICENCE; the same as GET /open-data/<type>.<format>.",
    )
    export.add_argument("--type", required=True, help="entity type, e.g. WeatherObserved")
    export.add_argument("--attrs", help="attributes, comma-separated (default: all)")
    export.add_argument("--from", dest="start", help="first day (YYYY-MM-DD) or DateTime")
    export.add_argument("--to", dest="end", help="last day (YYYY-MM-DD, inclusive) or DateTime (exclusive)")
    export.add_argument("--format", choices=("csv", "geojson", "jsonl"), default="csv")
    export.add_argument("--tenant", default="", help="NGSI-LD tenant (default: the default tenant)")
    export.add_argument("--store", help="store URL (default: CITYCONTEXT_STORE)")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    add_agent_commands(commands)
    return parser


def export_history(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib

    from broker.errors import NgsiLdError
    from broker.temporal.open_data import download_to

    settings = Settings.from_mapping(os.environ, store=args.store)
    attrs = [name.strip() for name in args.attrs.split(",")] if args.attrs else None
    with contextlib.ExitStack() as files:
        output = files.enter_context(open(args.output, "wb")) if args.output else sys.stdout.buffer
        try:
            asyncio.run(
                download_to(
                    output, settings, entity_type=args.type, attrs=attrs, start=args.start, end=args.end,
                    fmt=args.format, tenant=args.tenant,
                )
            )
        except NgsiLdError as exc:
            print(f"citycontext export: {exc.detail}", file=sys.stderr)
            return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "agent":
        return run_agent(args)
    if args.command == "demo":
        return run_demo_command(args)
    if args.command == "export":
        try:
            return export_history(args)
        except (SettingsError, UnsupportedStore) as exc:
            print(f"citycontext: {exc}", file=sys.stderr)
            return 2
    if args.command != "serve":
        parser.print_help()
        return 2
    try:
        settings = Settings.from_mapping(os.environ, host=args.host, port=args.port, store=args.store)
        open_store(settings)  # fail before binding a port when the store URL cannot work
        WriteValidation.from_setting(settings.validate_types)  # an unknown model name fails here
    except (SettingsError, UnsupportedStore, UnknownModel) as exc:
        print(f"citycontext: {exc}", file=sys.stderr)
        return 2
    if args.demo:
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        start_demo_loader(f"http://{f'[{host}]' if ':' in host else host}:{settings.port}", history=True)
    return serve(settings)


def tune_gc(settings: Settings) -> None:
    """Python's cyclic GC for a long-running broker: the start-up objects (modules, the app, the compiled
    core @context) are frozen out of every collection, and the young generation is traced only after
    settings.gc_gen0_threshold allocations, so that a batch's objects, alive until it is answered, are not
    traced over and over. Reference counting frees nearly everything the broker allocates anyway."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(settings.gc_gen0_threshold, gen1, gen2)


def serve(settings: Settings) -> int:
    import uvicorn

    from broker.api import create_app
    from broker.api.observability import configure_logging

    log_listener = configure_logging(settings.log_level)
    app = create_app(settings)
    tune_gc(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # keep our JSON log lines; uvicorn's own loggers propagate to them
        lifespan="on",
        access_log=False,
        loop="auto",
        http="auto",
    )
    server = uvicorn.Server(config)
    # uvicorn handles SIGINT/SIGTERM (stop accepting, finish requests, close the store) and then
    # re-raises the signal to the handler that was installed before it: make that one a no-op,
    # so a clean shutdown exits with status 0 rather than dying of the signal.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    try:
        server.run()
    finally:
        log_listener.stop()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
