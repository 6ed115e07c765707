"""Counts of successful pin validations, per domain and per served key.

Only hostnames of registered domains are counted in the database. Checks of
other hostnames are only counted in the metrics, under ``unregistered``.
"""

from collections import Counter

from service.ingest.context import domain_label
from service.ingest.events import IncomingEvent
from service.registry.models import Domain


def served_keys(event: IncomingEvent) -> list[str]:
    """Return the pins a check saw served: the served pins, else the matched one."""
    if event.served_pins:
        return list(dict.fromkeys(event.served_pins))
    return [event.matched_pin] if event.matched_pin else []


def count_checks(
    events: list[tuple[IncomingEvent, Domain | None]],
) -> tuple[Counter[int], Counter[tuple[int, str]]]:
    """Sum pin_check counts per domain id, and per (domain id, served pin)."""
    checks: Counter[int] = Counter()
    served: Counter[tuple[int, str]] = Counter()
    for event, domain in events:
        if domain is None:
            continue
        checks[domain.id] += event.count
        for pin in served_keys(event):
            served[(domain.id, pin)] += event.count
    return checks, served


def check_labels(
    events: list[tuple[IncomingEvent, Domain | None]],
) -> list[tuple[str, int]]:
    """Return the (domain label, count) of each pin_check, for the metrics."""
    return [(domain_label(domain), event.count) for event, domain in events]
