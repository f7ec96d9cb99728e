# SPDX-License-Identifier: EUPL-1.2
"""The agents' command line and settings: mounted under `citycontext agent`, clear errors."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from agents.cli import add_agent_commands
from agents.common.settings import SettingsError, load_config_file
from agents.json.settings import JsonAgentSettings
from agents.lorawan.settings import LorawanSettings


def test_add_agent_commands_mounts_both_agents_under_agent() -> None:
    parser = argparse.ArgumentParser(prog="citycontext")
    add_agent_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["agent", "lorawan", "--mqtt", "mqtt://127.0.0.1:1883", "--broker", "http://127.0.0.1:1026",
                              "--config", "agents.yaml"])
    assert (args.command, args.agent_kind, args.config) == ("agent", "lorawan", "agents.yaml")
    args = parser.parse_args(["agent", "json", "--north-port", "4041", "--http-port", "7896"])
    assert (args.agent_kind, args.north_port, args.http_port) == ("json", 4041, 7896)


def test_the_json_agent_defaults_are_fiware_ports() -> None:
    settings = JsonAgentSettings.from_mapping({})
    assert (settings.north_port, settings.http_port, settings.mqtt.qos) == (4041, 7896, 1)
    assert settings.northbound.broker_url == "http://127.0.0.1:1026"


def test_one_agents_yaml_holds_both_sections_and_shared_mqtt(tmp_path: Path) -> None:
    path = tmp_path / "agents.yaml"
    path.write_text(
        "mqtt: {url: 'mqtt://10.0.0.5:1883'}\n"
        "lorawan: {tenant: hamm, profiles: {p: {entity_type: Thing}}, mqtt: {client_id: lw}}\n"
        "json: {north_port: 5041}\n",
        encoding="utf-8",
    )
    lorawan = LorawanSettings.from_mapping(load_config_file(path, "lorawan"), **{"northbound.broker_url": "http://b:1026"})
    assert (lorawan.mqtt.host, lorawan.mqtt.client_id, lorawan.tenant) == ("10.0.0.5", "lw", "hamm")
    assert lorawan.northbound.broker_url == "http://b:1026"
    assert JsonAgentSettings.from_mapping(load_config_file(path, "json")).north_port == 5041


def test_a_bad_setting_names_its_path() -> None:
    with pytest.raises(SettingsError, match=r"northbound\.batch_size"):
        LorawanSettings.from_mapping({"northbound": {"batch_size": 0}})
    with pytest.raises(SettingsError, match="no profile named"):
        LorawanSettings.from_mapping({"devices": {"d": {"profile": "missing"}}})


def test_a_bad_config_file_exits_2_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "agents.yaml"
    path.write_text("lorawan: {mqtt: {url: 'http://not-mqtt'}}\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "agents.lorawan", "--config", str(path)],
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "mqtt.url" in result.stderr
