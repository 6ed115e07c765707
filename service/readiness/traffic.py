"""Served-key telemetry of domains over their quiet period, for removal readiness.

Each query covers many domains at once, one query per distinct quiet period,
so the metrics collector reads every domain in a few queries.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.ingest.models import (
    CheckCount,
    FailureCount,
    FailureSignature,
    ServedKeyCount,
)
from service.registry.models import Domain

IGNORED_CLASSIFICATIONS = ("interception", "captive_portal", "clock_skew")


@dataclass
class ServedTraffic:
    """Served-key telemetry of one domain over the quiet period."""

    checks: int = 0
    served: dict[str, int] = field(default_factory=dict)
    last_served_at: dict[str, datetime] = field(default_factory=dict)
    # Failure occurrences per pin seen in a served chain.
    failures: dict[str, int] = field(default_factory=dict)


def load_served_traffic(
    session: Session, domain_pins: Sequence[tuple[Domain, list[str]]], now: datetime
) -> dict[int, ServedTraffic]:
    """Load the traffic of each domain for the given pins, by domain id.

    The quiet period of each domain is its ``removal_quiet_days`` before ``now``.
    """
    traffic = {domain.id: ServedTraffic() for domain, _ in domain_pins}
    if not domain_pins:
        return traffic
    pins = sorted({pin for _, keys in domain_pins for pin in keys})
    for days in sorted({domain.removal_quiet_days for domain, _ in domain_pins}):
        since = now - timedelta(days=days)
        ids = [
            domain.id for domain, _ in domain_pins if domain.removal_quiet_days == days
        ]
        _add_checks(session, traffic, ids, since)
        _add_served(session, traffic, ids, pins, since)
        _add_failures(session, traffic, ids, since)
    _add_last_served(session, traffic, pins)
    for domain, keys in domain_pins:
        _keep_only(traffic[domain.id], set(keys))
    return traffic


def _add_checks(
    session: Session, traffic: dict[int, ServedTraffic], ids: list[int], since: datetime
) -> None:
    rows = session.execute(
        select(CheckCount.domain_id, func.sum(CheckCount.checks))
        .where(CheckCount.domain_id.in_(ids), CheckCount.hour >= since)
        .group_by(CheckCount.domain_id)
    )
    for domain_id, total in rows:
        traffic[domain_id].checks = int(total or 0)


def _add_served(
    session: Session,
    traffic: dict[int, ServedTraffic],
    ids: list[int],
    pins: list[str],
    since: datetime,
) -> None:
    rows = session.execute(
        select(
            ServedKeyCount.domain_id,
            ServedKeyCount.spki_sha256,
            func.sum(ServedKeyCount.checks),
        )
        .where(
            ServedKeyCount.domain_id.in_(ids),
            ServedKeyCount.spki_sha256.in_(pins),
            ServedKeyCount.hour >= since,
        )
        .group_by(ServedKeyCount.domain_id, ServedKeyCount.spki_sha256)
    )
    for domain_id, pin, served in rows:
        traffic[domain_id].served[pin] = int(served)


def _add_last_served(
    session: Session, traffic: dict[int, ServedTraffic], pins: list[str]
) -> None:
    rows = session.execute(
        select(
            ServedKeyCount.domain_id,
            ServedKeyCount.spki_sha256,
            func.max(ServedKeyCount.last_served_at),
        )
        .where(
            ServedKeyCount.domain_id.in_(list(traffic)),
            ServedKeyCount.spki_sha256.in_(pins),
        )
        .group_by(ServedKeyCount.domain_id, ServedKeyCount.spki_sha256)
    )
    for domain_id, pin, last_served_at in rows:
        traffic[domain_id].last_served_at[pin] = last_served_at


def _add_failures(
    session: Session, traffic: dict[int, ServedTraffic], ids: list[int], since: datetime
) -> None:
    """Count failures in the period per pin that their served chain showed."""
    recent = (
        select(
            FailureCount.signature_id,
            func.sum(FailureCount.occurrences).label("occurrences"),
        )
        .where(FailureCount.hour >= since)
        .group_by(FailureCount.signature_id)
        .subquery()
    )
    rows = session.execute(
        select(
            FailureSignature.domain_id,
            FailureSignature.served_pins,
            recent.c.occurrences,
        )
        .join(recent, recent.c.signature_id == FailureSignature.id)
        .where(
            FailureSignature.domain_id.in_(ids),
            FailureSignature.classification.not_in(IGNORED_CLASSIFICATIONS),
        )
    )
    # Served pins are a JSON list, which SQLite and PostgreSQL query
    # differently, so membership is checked here.
    for domain_id, served_pins, occurrences in rows:
        failures = traffic[domain_id].failures
        for pin in set(served_pins or []):
            failures[pin] = failures.get(pin, 0) + int(occurrences)


def _keep_only(traffic: ServedTraffic, pins: set[str]) -> None:
    """Drop figures of pins that another domain of the batch asked for."""
    traffic.served = {pin: n for pin, n in traffic.served.items() if pin in pins}
    traffic.last_served_at = {
        pin: at for pin, at in traffic.last_served_at.items() if pin in pins
    }
    traffic.failures = {
        pin: n for pin, n in traffic.failures.items() if pin in pins and n
    }
