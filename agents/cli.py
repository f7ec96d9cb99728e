# SPDX-License-Identifier: EUPL-1.2
"""`citycontext agent lorawan|json ...`: the agents' command line.

broker/cli.py mounts these with add_agent_commands(subparsers) and dispatches `agent` to run(args);
`python -m agents.lorawan` and `python -m agents.json` reach the same code through main().
This is the one module of agents/ that may read the environment; it reads nothing but the options.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

from agents.common.settings import SettingsError, load_config_file


def add_agent_commands(subparsers: Any) -> argparse.ArgumentParser:
    """Add `agent {lorawan,json}` to the console script's subparsers."""
    agent = subparsers.add_parser("agent", help="run an IoT agent (lorawan, json)", description="Run an IoT agent.")
    _add_kinds(agent)
    return agent  # type: ignore[no-any-return]


def _add_kinds(parser: argparse.ArgumentParser) -> None:
    kinds = parser.add_subparsers(dest="agent_kind", metavar="AGENT", required=True)
    lorawan = kinds.add_parser(
        "lorawan",
        help="The Things Stack v3 / ChirpStack v4 uplinks over MQTT -> NGSI-LD",
        description="Subscribe to LoRaWAN uplinks (The Things Stack v3, ChirpStack v4) and update entities in the broker.",
    )
    _common_options(lorawan, queue="data/agent-lorawan-queue.db")
    lorawan.add_argument("--port", type=int, help="port of /health and /metrics (default 4042)")
    lorawan.add_argument("--tenant", help="NGSILD-Tenant of the entities (default: none, or the config's)")

    json_agent = kinds.add_parser(
        "json",
        help="FIWARE IoT Agent JSON compatible: MQTT and HTTP measures, /iot provisioning API",
        description="FIWARE IoT Agent JSON conventions: provisioning API on --north-port (4041), "
        "HTTP measures on --http-port (7896), MQTT /{apikey}/{deviceId}/attrs.",
    )
    _common_options(json_agent, queue="data/agent-json-queue.db")
    json_agent.add_argument("--north-port", type=int, help="provisioning API, /health, /metrics (default 4041)")
    json_agent.add_argument("--http-port", type=int, help="HTTP measures POST /iot/json (default 7896)")
    json_agent.add_argument("--registry", help="device registry: sqlite:///path.db (default) or postgresql://...")
    json_agent.add_argument("--no-mqtt", action="store_true", help="HTTP measures only")


def _common_options(parser: argparse.ArgumentParser, *, queue: str) -> None:
    parser.add_argument("--mqtt", help="MQTT broker, mqtt://[user:password@]host[:port] (default mqtt://127.0.0.1:1883)")
    parser.add_argument("--broker", help="NGSI-LD broker base URL (default http://127.0.0.1:1026)")
    parser.add_argument("--config", help="agents.yaml: this agent's section (and shared mqtt/northbound)")
    parser.add_argument("--host", help="address the agent's HTTP server(s) bind to (default 127.0.0.1)")
    parser.add_argument("--queue", help=f"SQLite file of the durable queue (default {queue})")
    parser.add_argument("--client-id", help="MQTT client id (stable: the session survives restarts)")
    parser.add_argument("--log-level", help="debug, info, warning, error (default info)")


def run(args: argparse.Namespace) -> int:
    """Run the agent that `args` names until SIGTERM or SIGINT; the exit status."""
    try:
        config = load_config_file(args.config, args.agent_kind) if args.config else {}
        overrides: dict[str, Any] = {
            "mqtt.url": args.mqtt,
            "northbound.broker_url": args.broker,
            "host": args.host,
            "queue_path": args.queue,
            "mqtt.client_id": args.client_id,
            "log_level": args.log_level,
        }
        if args.agent_kind == "lorawan":
            from agents.lorawan.agent import LorawanAgent
            from agents.lorawan.settings import LorawanSettings

            overrides |= {"port": args.port, "tenant": args.tenant}
            settings: Any = LorawanSettings.from_mapping(config, **overrides)
            if not settings.mqtt.client_id:
                settings = settings.model_copy(update={"mqtt": settings.mqtt.model_copy(update={"client_id": "citycontext-agent-lorawan"})})
            agent: Any = LorawanAgent(settings)
        else:
            from agents.json.agent import JsonAgent
            from agents.json.settings import JsonAgentSettings

            overrides |= {"north_port": args.north_port, "http_port": args.http_port, "registry": args.registry}
            if args.no_mqtt:
                overrides["mqtt_enabled"] = False
            settings = JsonAgentSettings.from_mapping(config, **overrides)
            if not settings.mqtt.client_id:
                settings = settings.model_copy(update={"mqtt": settings.mqtt.model_copy(update={"client_id": "citycontext-agent-json"})})
            agent = JsonAgent(settings)
    except SettingsError as exc:
        print(f"citycontext agent {args.agent_kind}: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=getattr(logging, str(settings.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    return asyncio.run(_serve(agent))


async def _serve(agent: Any) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await agent.run(stop)
    except OSError as exc:  # a port in use, a queue file that cannot be opened
        logging.getLogger("citycontext.agents").error("agent stopped: %s", exc)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="citycontext agent", description="Run a citycontext IoT agent.")
    _add_kinds(parser)
    return run(parser.parse_args(argv))
