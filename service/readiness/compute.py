"""Rotate readiness, removal readiness and preflight of one domain.

These functions read the database through the given session and never write,
so the metrics collector can call them as well as the API.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from service.pins.pins import is_placeholder
from service.readiness.acceptance import app_reasons, measure_app, ratio
from service.readiness.fleet import AppFleet, load_fleet, load_fleets, usable_pins
from service.readiness.removal import removal_readiness_of_domains
from service.readiness.schemas import (
    AppAcceptance,
    PreflightReport,
    ReadinessPolicy,
    ReadinessReport,
    RemovalReadiness,
    RotateReadiness,
)
from service.registry.models import Domain, DomainPin


def compute_readiness(
    session: Session, domain: Domain, now: datetime
) -> ReadinessReport:
    """Compute rotate readiness of each backup pin and removal readiness of the rest.

    A backup pin is ready when every app that uses the domain is ready, and
    its ``adoption`` is the lowest adoption over those apps.
    """
    return compute_readiness_of_domains(session, [domain], now)[0]


def compute_readiness_of_domains(
    session: Session, domains: Sequence[Domain], now: datetime
) -> list[ReadinessReport]:
    """Compute the readiness of each domain, in order, as ``compute_readiness`` does.

    The rows of every domain are loaded together, so the number of queries
    does not grow with the number of domains.
    """
    fleets = load_fleets(session, domains, now)
    others = [
        (domain, [pin for pin in domain.pins if pin.role != "backup"])
        for domain in domains
    ]
    removals = removal_readiness_of_domains(session, others, now)
    return [
        _report(domain, fleets[domain.id], removals[domain.id], now)
        for domain in domains
    ]


def _report(
    domain: Domain,
    fleets: list[AppFleet],
    removals: list[RemovalReadiness],
    now: datetime,
) -> ReadinessReport:
    policy = ReadinessPolicy.model_validate(domain)
    backups = [pin for pin in domain.pins if pin.role == "backup"]
    return ReadinessReport(
        domain=domain.hostname,
        computed_at=now,
        policy=policy,
        active_installs={fleet.ref: fleet.active_installs for fleet in fleets},
        rotate=[rotate_readiness(pin, fleets, policy, domain) for pin in backups],
        remove=removals,
        warnings=[] if backups else [_no_backup_warning(domain)],
    )


def rotate_readiness(
    pin: DomainPin, fleets: list[AppFleet], policy: ReadinessPolicy, domain: Domain
) -> RotateReadiness:
    """Measure whether the active installs of every app accept one backup pin."""
    candidate = usable_pins([pin.spki_sha256])
    apps = [measure_app(fleet, candidate, policy) for fleet in fleets]
    ready = bool(apps) and all(app.ready for app in apps)

    reasons = _fleet_reasons(apps, policy, domain, "lacks the pin")
    if is_placeholder(pin.spki_sha256):
        reasons.insert(0, "The pin is an all-zero placeholder that no build matches.")
    if ready:
        reasons.insert(0, _ready_reason(domain, policy))
    return RotateReadiness(
        spki_sha256=pin.spki_sha256,
        label=pin.label,
        ready=ready,
        adoption=min((app.adoption for app in apps), default=0.0),
        apps=apps,
        reasons=reasons,
    )


def compute_preflight(
    session: Session,
    domain: Domain,
    pins: list[str],
    now: datetime,
    warnings: list[str] | None = None,
) -> PreflightReport:
    """Measure how many active installs would accept a chain with these pins."""
    policy = ReadinessPolicy.model_validate(domain)
    fleets = load_fleet(session, domain, now)
    candidate = usable_pins(pins)
    apps = [measure_app(fleet, candidate, policy) for fleet in fleets]
    accepting = sum(app.accepting for app in apps)
    active = sum(app.active_installs for app in apps)
    return PreflightReport(
        domain=domain.hostname,
        computed_at=now,
        pins=sorted(candidate),
        accepting_share=ratio(accepting, active),
        apps=apps,
        reasons=_fleet_reasons(apps, policy, domain, "lacks every candidate pin"),
        warnings=warnings or [],
    )


def _fleet_reasons(
    apps: list[AppAcceptance], policy: ReadinessPolicy, domain: Domain, lacks: str
) -> list[str]:
    if not apps:
        return [
            f"No app uses {domain.hostname} yet: declare a release with a pinset "
            "for it, or let the apps send events."
        ]
    return [
        reason
        for app in apps
        for reason in app_reasons(app, policy, domain.hostname, lacks)
    ]


def _ready_reason(domain: Domain, policy: ReadinessPolicy) -> str:
    return (
        f"Every app that uses {domain.hostname} reaches the "
        f"{policy.adoption_threshold * 100:.1f} % threshold with at least "
        f"{policy.min_installs} active installs: the backend can switch to this key."
    )


def _no_backup_warning(domain: Domain) -> str:
    return (
        f"{domain.hostname} has no backup pin: register one with role backup and "
        "ship it in a release before the next rotation."
    )
