"""Counts of successful pin validations, per domain and per served key.

Only hostnames of registered domains are counted in the database. Checks of
other hostnames are only counted in the metrics, under ``unregistered``.
"""

from collections import Counter

from service.ingest.events import IncomingEvent

# An event with the id of its registered domain, None when it has none.
EventOfDomain = tuple[IncomingEvent, int | None]


def served_keys(event: IncomingEvent) -> list[str]:
    """Return the pins a check saw served: the served pins, else the matched one."""
    if event.served_pins:
        return list(dict.fromkeys(event.served_pins))
    return [event.matched_pin] if event.matched_pin else []


def count_checks(
    events: list[EventOfDomain],
) -> tuple[Counter[int], Counter[tuple[int, str]]]:
    """Sum pin_check counts per domain id, and per (domain id, served pin)."""
    checks: Counter[int] = Counter()
    served: Counter[tuple[int, str]] = Counter()
    for event, domain_id in events:
        if domain_id is None:
            continue
        checks[domain_id] += event.count
        for pin in served_keys(event):
            served[(domain_id, pin)] += event.count
    return checks, served
