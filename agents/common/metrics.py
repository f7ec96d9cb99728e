# SPDX-License-Identifier: EUPL-1.2
"""Prometheus metrics of one agent, in a registry of its own (two agents in one process never clash).

Counted along the path of a message: received -> decoded or rejected{reason} -> queued (entity
fragments) -> delivered or dead-lettered; plus the queue depth, whether the broker answers, and the
delivery latency from southbound receipt to the broker's acknowledgement.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class AgentMetrics:
    def __init__(self, agent: str) -> None:
        self.agent = agent
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["agent"]
        self._received = Counter(
            "citycontext_agent_uplinks_received", "Southbound messages received.", labels, registry=self.registry
        )
        self._decoded = Counter(
            "citycontext_agent_uplinks_decoded", "Southbound messages decoded into entity updates.", labels,
            registry=self.registry,
        )
        self._rejected = Counter(
            "citycontext_agent_uplinks_rejected",
            "Southbound messages (or single attributes, reason wrong_type/expression_error) refused, by reason.",
            ["agent", "reason"],
            registry=self.registry,
        )
        self._duplicates = Counter(
            "citycontext_agent_uplinks_duplicate", "MQTT redeliveries already queued (not queued again).", labels,
            registry=self.registry,
        )
        self._queued = Counter(
            "citycontext_agent_updates_queued", "Entity fragments written to the durable queue.", labels,
            registry=self.registry,
        )
        self._delivered = Counter(
            "citycontext_agent_updates_delivered", "Entity fragments the broker acknowledged.", labels,
            registry=self.registry,
        )
        self._dead = Counter(
            "citycontext_agent_updates_dead_lettered", "Entity fragments the broker refused for good (kept aside).",
            labels, registry=self.registry,
        )
        self._attempts = Counter(
            "citycontext_agent_northbound_requests", "Northbound batch requests, by outcome.", ["agent", "outcome"],
            registry=self.registry,
        )
        self._depth = Gauge(
            "citycontext_agent_queue_depth", "Entity fragments waiting in the durable queue.", labels,
            registry=self.registry,
        )
        self._broker_up = Gauge(
            "citycontext_agent_broker_up", "1 when the broker answered the last northbound request (not 5xx).", labels,
            registry=self.registry,
        )
        self._mqtt_up = Gauge(
            "citycontext_agent_mqtt_connected", "1 while connected to the MQTT broker.", labels, registry=self.registry
        )
        self._latency = Histogram(
            "citycontext_agent_delivery_latency_seconds",
            "Southbound receipt to broker acknowledgement, per entity fragment.",
            labels,
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.broker_up = True
        self.broker_state = "up"
        self.mqtt_connected = False
        self._broker_up.labels(agent).set(1)

    def received(self, n: int = 1) -> None:
        self._received.labels(self.agent).inc(n)

    def decoded(self, n: int = 1) -> None:
        self._decoded.labels(self.agent).inc(n)

    def rejected(self, reason: str) -> None:
        self._rejected.labels(self.agent, reason).inc()

    def duplicate(self) -> None:
        self._duplicates.labels(self.agent).inc()

    def queued(self, n: int, depth: int) -> None:
        self._queued.labels(self.agent).inc(n)
        self._depth.labels(self.agent).set(depth)

    def delivered(self, latencies_s: list[float], depth: int) -> None:
        self._delivered.labels(self.agent).inc(len(latencies_s))
        for latency in latencies_s:
            self._latency.labels(self.agent).observe(max(latency, 0.0))
        self._depth.labels(self.agent).set(depth)

    def dead_lettered(self, n: int, depth: int) -> None:
        self._dead.labels(self.agent).inc(n)
        self._depth.labels(self.agent).set(depth)

    def attempt(self, outcome: str) -> None:
        """outcome: answered (2xx/4xx), retry (5xx, 408, 429), unreachable (no answer)."""
        self._attempts.labels(self.agent, outcome).inc()
        self.broker_state = {"answered": "up", "retry": "failing"}.get(outcome, "unreachable")
        self.broker_up = outcome == "answered"
        self._broker_up.labels(self.agent).set(1 if self.broker_up else 0)

    def set_mqtt_connected(self, connected: bool) -> None:
        self.mqtt_connected = connected
        self._mqtt_up.labels(self.agent).set(1 if connected else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
