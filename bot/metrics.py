"""Prometheus metrics of one process: requests, acks, errors, latency, outbox."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "cop_requests", "Slack requests received", ["kind", "status"], registry=self.registry
        )
        self.ack_seconds = Histogram(
            "cop_ack_seconds",
            "Time from receiving a Slack request to answering it",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
            registry=self.registry,
        )
        self.errors = Counter("cop_errors", "Unhandled errors", ["where"], registry=self.registry)
        self.outbox = Counter(
            "cop_outbox_messages", "Outbox results", ["result"], registry=self.registry
        )
        self.slack_events = Counter(
            "cop_events", "Slack events handled", ["type", "result"], registry=self.registry
        )
        self.scheduler_leader = Gauge(
            "cop_scheduler_leader",
            "1 when this replica holds the scheduler lock (runs the rituals tick)",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
