"""Removal readiness: whether live traffic still serves a current or retired key.

A key can leave the next release when, over the domain's quiet period, at most
``removal_max_share`` of checks saw it served, there were at least
``removal_min_checks`` checks, and no failure showed it in the served chain.
Failures caused by interception, captive portals or a wrong device clock do not
count, because their chains do not show what the backend serves.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.ingest.models import (
    CheckCount,
    FailureCount,
    FailureSignature,
    ServedKeyCount,
)
from service.readiness.acceptance import ratio
from service.readiness.schemas import ReadinessPolicy, RemovalReadiness
from service.registry.models import Domain, DomainPin

IGNORED_CLASSIFICATIONS = ("interception", "captive_portal", "clock_skew")


@dataclass(frozen=True)
class ServedTraffic:
    """Served-key telemetry of one domain over the quiet period."""

    checks: int
    served: dict[str, int]
    last_served_at: dict[str, datetime]
    # Failure occurrences per pin seen in a served chain.
    failures: dict[str, int]


def removal_readiness(
    session: Session, domain: Domain, pins: list[DomainPin], now: datetime
) -> list[RemovalReadiness]:
    """Measure removal readiness of each given pin of the domain."""
    if not pins:
        return []
    policy = ReadinessPolicy.model_validate(domain)
    since = now - timedelta(days=domain.removal_quiet_days)
    keys = [pin.spki_sha256 for pin in pins]
    traffic = load_served_traffic(session, domain, keys, since)
    return [_measure_pin(pin, traffic, policy) for pin in pins]


def load_served_traffic(
    session: Session, domain: Domain, pins: list[str], since: datetime
) -> ServedTraffic:
    return ServedTraffic(
        checks=_checks(session, domain, since),
        served=_served(session, domain, pins, since),
        last_served_at=_last_served(session, domain, pins),
        failures=_failures(session, domain, pins, since),
    )


def _checks(session: Session, domain: Domain, since: datetime) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(CheckCount.checks), 0)).where(
            CheckCount.domain_id == domain.id, CheckCount.hour >= since
        )
    )
    return int(total or 0)


def _served(
    session: Session, domain: Domain, pins: list[str], since: datetime
) -> dict[str, int]:
    rows = session.execute(
        select(ServedKeyCount.spki_sha256, func.sum(ServedKeyCount.checks))
        .where(
            ServedKeyCount.domain_id == domain.id,
            ServedKeyCount.spki_sha256.in_(pins),
            ServedKeyCount.hour >= since,
        )
        .group_by(ServedKeyCount.spki_sha256)
    )
    return {pin: int(served) for pin, served in rows}


def _last_served(
    session: Session, domain: Domain, pins: list[str]
) -> dict[str, datetime]:
    rows = session.execute(
        select(ServedKeyCount.spki_sha256, func.max(ServedKeyCount.last_served_at))
        .where(
            ServedKeyCount.domain_id == domain.id,
            ServedKeyCount.spki_sha256.in_(pins),
        )
        .group_by(ServedKeyCount.spki_sha256)
    )
    return dict(rows.all())


def _failures(
    session: Session, domain: Domain, pins: list[str], since: datetime
) -> dict[str, int]:
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
        select(FailureSignature.served_pins, recent.c.occurrences)
        .join(recent, recent.c.signature_id == FailureSignature.id)
        .where(
            FailureSignature.domain_id == domain.id,
            FailureSignature.classification.not_in(IGNORED_CLASSIFICATIONS),
        )
    )
    # Served pins are a JSON list, which SQLite and PostgreSQL query
    # differently, so membership is checked here.
    counts = dict.fromkeys(pins, 0)
    for served_pins, occurrences in rows:
        for pin in set(served_pins or []) & counts.keys():
            counts[pin] += int(occurrences)
    return {pin: count for pin, count in counts.items() if count}


def _measure_pin(
    pin: DomainPin, traffic: ServedTraffic, policy: ReadinessPolicy
) -> RemovalReadiness:
    share = ratio(traffic.served.get(pin.spki_sha256, 0), traffic.checks)
    failures = traffic.failures.get(pin.spki_sha256, 0)
    reasons = _blocking_reasons(share, traffic.checks, failures, policy)
    if not reasons:
        reasons = [_removable_reason(traffic.checks, policy)]
    return RemovalReadiness(
        spki_sha256=pin.spki_sha256,
        label=pin.label,
        role=pin.role,
        served_share=share,
        checks=traffic.checks,
        last_served_at=traffic.last_served_at.get(pin.spki_sha256),
        removable=failures == 0
        and share <= policy.removal_max_share
        and traffic.checks >= policy.removal_min_checks,
        reasons=reasons,
    )


def _blocking_reasons(
    share: float, checks: int, failures: int, policy: ReadinessPolicy
) -> list[str]:
    days = policy.removal_quiet_days
    reasons = []
    if checks < policy.removal_min_checks:
        reasons.append(
            f"Not removable: insufficient data, {checks} checks in the last {days} "
            f"days, below the minimum of {policy.removal_min_checks}."
        )
    if share > policy.removal_max_share:
        reasons.append(
            f"The key was served in {share_text(share)} of checks in the last "
            f"{days} days, above the maximum of "
            f"{share_text(policy.removal_max_share)}."
        )
    if failures:
        reasons.append(
            f"{failures} pin failures in the last {days} days show the key in "
            "the served chain."
        )
    return reasons


def _removable_reason(checks: int, policy: ReadinessPolicy) -> str:
    return (
        f"Served in at most {share_text(policy.removal_max_share)} of {checks} "
        f"checks in the last {policy.removal_quiet_days} days and seen in no "
        "failure: the pin can leave the next release."
    )


def share_text(value: float) -> str:
    """Format a small ratio as a percentage with three significant digits."""
    return f"{value * 100:.3g} %"
