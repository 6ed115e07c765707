"""Counts of successful pin validations, per domain and per served key.

Only hostnames of registered domains are counted in the database. Checks of
other hostnames are only counted in the metrics, under ``unregistered``.
"""

from collections import Counter
from typing import Any

from sqlalchemy.orm import Session

from service.ingest.context import Origin, domain_label
from service.ingest.events import IncomingEvent
from service.ingest.models import CheckCount, ServedKeyCount
from service.ingest.upsert import upsert
from service.registry.models import Domain


def served_keys(event: IncomingEvent) -> list[str]:
    """Return the pins a check saw served: the served pins, else the matched one."""
    if event.served_pins:
        return list(dict.fromkeys(event.served_pins))
    return [event.matched_pin] if event.matched_pin else []


def _add_to_checks(excluded: Any) -> dict[str, Any]:
    return {"checks": CheckCount.checks + excluded.checks}


def _add_to_served_keys(excluded: Any) -> dict[str, Any]:
    return {
        "checks": ServedKeyCount.checks + excluded.checks,
        "last_served_at": excluded.last_served_at,
    }


def add_checks(session: Session, origin: Origin, checks: Counter[int]) -> None:
    """Add check counts per domain id to the hour of receipt."""
    rows = [
        {
            "domain_id": domain_id,
            "app_id": origin.app_id,
            "hour": origin.hour,
            "checks": count,
        }
        for domain_id, count in sorted(checks.items())
    ]
    upsert(
        session,
        CheckCount,
        rows,
        conflict=["domain_id", "app_id", "hour"],
        update=_add_to_checks,
    )


def add_served_keys(
    session: Session, origin: Origin, served: Counter[tuple[int, str]]
) -> None:
    """Add check counts per (domain id, served pin) to the hour of receipt."""
    rows = [
        {
            "domain_id": domain_id,
            "spki_sha256": pin,
            "hour": origin.hour,
            "checks": count,
            "last_served_at": origin.received_at,
        }
        for (domain_id, pin), count in sorted(served.items())
    ]
    upsert(
        session,
        ServedKeyCount,
        rows,
        conflict=["domain_id", "spki_sha256", "hour"],
        update=_add_to_served_keys,
    )


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
