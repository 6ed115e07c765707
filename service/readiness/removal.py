"""Removal readiness: whether live traffic still serves a current or retired key.

A key can leave the next release when, over the domain's quiet period, at most
``removal_max_share`` of checks saw it served, there were at least
``removal_min_checks`` checks, and no failure showed it in the served chain.
Failures caused by interception, captive portals or a wrong device clock do not
count, because their chains do not show what the backend serves.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from service.readiness.acceptance import ratio
from service.readiness.schemas import ReadinessPolicy, RemovalReadiness
from service.readiness.traffic import ServedTraffic, load_served_traffic
from service.registry.models import Domain, DomainPin


def removal_readiness(
    session: Session, domain: Domain, pins: list[DomainPin], now: datetime
) -> list[RemovalReadiness]:
    """Measure removal readiness of each given pin of the domain."""
    return removal_readiness_of_domains(session, [(domain, pins)], now)[domain.id]


def removal_readiness_of_domains(
    session: Session,
    domain_pins: Sequence[tuple[Domain, list[DomainPin]]],
    now: datetime,
) -> dict[int, list[RemovalReadiness]]:
    """Measure removal readiness of the given pins of each domain, by domain id."""
    measured = [(domain, pins) for domain, pins in domain_pins if pins]
    keys = [(domain, [pin.spki_sha256 for pin in pins]) for domain, pins in measured]
    traffic = load_served_traffic(session, keys, now)
    readiness: dict[int, list[RemovalReadiness]] = {
        domain.id: [] for domain, _ in domain_pins
    }
    for domain, pins in measured:
        policy = ReadinessPolicy.model_validate(domain)
        readiness[domain.id] = [
            _measure_pin(pin, traffic[domain.id], policy) for pin in pins
        ]
    return readiness


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
