"""Prometheus counters of committed requests, summed over a batch, then added.

A batch of single-event requests repeats the same few label sets, so each
label set is looked up and incremented once per batch, not once per request.
"""

from collections import Counter

from service.ingest.keys import Sender
from service.ingest.store import StoredEvents
from service.metrics.metrics import Metrics

# Labels of a report body that matched no known format.
QUARANTINE_LABELS = ("unknown", "unknown", "quarantined")


class EventCounts:
    """Events by outcome, failures by cause and checks by domain, to be added."""

    def __init__(self) -> None:
        # (source, type, outcome)
        self.events: Counter[tuple[str, str, str]] = Counter()
        # (domain, app ref, app id, version, cause). The version becomes a
        # bounded label value only when the counts are added.
        self.failures: Counter[tuple[str, str, int, str, str]] = Counter()
        # (domain, app ref)
        self.checks: Counter[tuple[str, str]] = Counter()

    def add(
        self,
        sender: Sender,
        version: str,
        stored: StoredEvents,
        rejected_types: list[str],
    ) -> None:
        """Count one request's stored events.

        ``rejected_types`` contains the ``type`` label of each rejected native
        event.
        """
        self.events.update((e.source, e.type, "accepted") for e in stored.accepted)
        self.events.update((e.source, e.type, "duplicate") for e in stored.duplicates)
        self.events.update(("native", kind, "rejected") for kind in rejected_types)
        app = (sender.ref, sender.app_id, version)
        self.failures.update((domain, *app, cause) for domain, cause in stored.failures)
        for domain, count in stored.checks:
            self.checks[(domain, sender.ref)] += count

    def add_quarantined(self) -> None:
        self.events[QUARANTINE_LABELS] += 1

    def publish(self, metrics: Metrics) -> None:
        """Add the counts to the metrics."""
        for labels, count in self.events.items():
            metrics.events.labels(*labels).inc(count)
        for (domain, ref, app_id, version, cause), count in self.failures.items():
            version_label = metrics.versions.label(app_id, version)
            metrics.pin_failures.labels(domain, ref, version_label, cause).inc(count)
        for (domain, ref), count in self.checks.items():
            metrics.pin_checks.labels(domain, ref).inc(count)
