"""Prometheus counters of one stored request, incremented after its commit."""

from collections import Counter

from service.ingest.keys import Sender
from service.ingest.store import StoredEvents
from service.metrics.metrics import Metrics

# Labels of a report body that matched no known format.
QUARANTINE_LABELS = ("unknown", "unknown", "quarantined")


def count_events(
    metrics: Metrics,
    sender: Sender,
    version: str,
    stored: StoredEvents,
    rejected_types: list[str],
) -> None:
    """Count events by outcome, failures by cause, and checks by domain.

    ``rejected_types`` contains the ``type`` label of each rejected native event.
    """
    outcomes: Counter[tuple[str, str, str]] = Counter()
    outcomes.update((e.source, e.type, "accepted") for e in stored.accepted)
    outcomes.update((e.source, e.type, "duplicate") for e in stored.duplicates)
    outcomes.update(("native", kind, "rejected") for kind in rejected_types)
    for labels, count in outcomes.items():
        metrics.events.labels(*labels).inc(count)

    if stored.failures:
        version_label = metrics.versions.label(sender.app_id, version)
        for (domain, cause), count in Counter(stored.failures).items():
            metrics.pin_failures.labels(domain, sender.ref, version_label, cause).inc(
                count
            )

    checks: Counter[str] = Counter()
    for domain, count in stored.checks:
        checks[domain] += count
    for domain, count in checks.items():
        metrics.pin_checks.labels(domain, sender.ref).inc(count)


def count_quarantined(metrics: Metrics) -> None:
    metrics.events.labels(*QUARANTINE_LABELS).inc()
