"""Prometheus metrics of the process.

Counters (per process):
- ``pinwatch_events_total{source, type, outcome}``
- ``pinwatch_pin_failures_total{domain, app, app_version, classification}``
- ``pinwatch_pin_checks_total{domain, app}``

Gauges derived from the database are produced by ``DatabaseCollector`` in
``service.metrics.collector`` and are the same on every replica.
"""

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter

from service.metrics.labels import VersionLabels


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    versions: VersionLabels = field(default_factory=VersionLabels)

    def __post_init__(self) -> None:
        self.events = Counter(
            "pinwatch_events",
            "Events received, by source format, event type and outcome.",
            ["source", "type", "outcome"],
            registry=self.registry,
        )
        self.pin_failures = Counter(
            "pinwatch_pin_failures",
            "Pin validation failures, by domain, app, app version and cause.",
            ["domain", "app", "app_version", "classification"],
            registry=self.registry,
        )
        self.pin_checks = Counter(
            "pinwatch_pin_checks",
            "Successful pin validations summarised by pin_check events.",
            ["domain", "app"],
            registry=self.registry,
        )
