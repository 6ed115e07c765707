"""Factories that arrange registry and telemetry rows for readiness tests."""

import secrets
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from service.ingest.models import (
    AppDomain,
    CheckCount,
    FailureCount,
    FailureSignature,
    Install,
    ServedKeyCount,
)
from service.pins.pins import pin_text
from service.registry.models import App, Domain, DomainPin, Release, ReleasePinset

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
TODAY = NOW.date()


def make_pin(seed: int) -> str:
    """Return a canonical pin whose 32 bytes all equal ``seed``."""
    return pin_text(bytes([seed]) * 32)


CURRENT = make_pin(1)
BACKUP = make_pin(2)
OTHER = make_pin(3)


def make_domain(
    db: Session, hostname: str = "api.example.com", **policy: float
) -> Domain:
    domain = Domain(hostname=hostname, **policy)
    db.add(domain)
    db.flush()
    return domain


def add_pin(
    domain: Domain, pin: str, role: str = "backup", label: str = ""
) -> DomainPin:
    registered = DomainPin(spki_sha256=pin, role=role, label=label)
    domain.pins.append(registered)
    return registered


def make_app(
    db: Session,
    domain: Domain | None = None,
    platform: str = "android",
    bundle_id: str = "com.example.bank",
) -> App:
    """Register an app; with a domain, record that the app uses it."""
    app = App(platform=platform, bundle_id=bundle_id)
    db.add(app)
    db.flush()
    if domain is not None:
        db.add(AppDomain(app_id=app.id, domain_id=domain.id, first_seen_at=NOW))
        db.flush()
    return app


def make_release(
    db: Session, app: App, version: str, pinset_expires: date | None = None
) -> Release:
    release = Release(app_id=app.id, version=version, pinset_expires=pinset_expires)
    db.add(release)
    db.flush()
    return release


def add_pinset(
    db: Session,
    release: Release,
    domain: Domain,
    pins: list[str],
    *,
    source: str = "declared",
    enforced: bool = True,
    expires: date | None = None,
) -> ReleasePinset:
    pinset = ReleasePinset(
        release_id=release.id,
        domain_id=domain.id,
        source=source,
        pins=pins,
        enforced=enforced,
        expires=expires,
    )
    db.add(pinset)
    db.flush()
    return pinset


def make_version(
    db: Session,
    app: App,
    domain: Domain,
    version: str,
    pins: list[str],
    installs: int,
) -> Release:
    """Arrange a release with a declared pinset and active installs."""
    release = make_release(db, app, version)
    add_pinset(db, release, domain, pins)
    add_installs(db, app, release, installs)
    return release


def add_installs(
    db: Session,
    app: App,
    release: Release,
    count: int,
    last_seen_at: datetime = NOW,
) -> None:
    rows = [
        {
            "app_id": app.id,
            "install_hash": secrets.token_bytes(16),
            "release_id": release.id,
            "first_seen_at": last_seen_at - timedelta(days=30),
            "last_seen_at": last_seen_at,
        }
        for _ in range(count)
    ]
    if rows:
        db.execute(insert(Install), rows)


def add_checks(
    db: Session, domain: Domain, app: App, checks: int, hour: datetime = NOW
) -> None:
    db.add(CheckCount(domain_id=domain.id, app_id=app.id, hour=hour, checks=checks))
    db.flush()


def add_served(
    db: Session,
    domain: Domain,
    pin: str,
    checks: int,
    hour: datetime = NOW,
    last_served_at: datetime | None = None,
) -> None:
    db.add(
        ServedKeyCount(
            domain_id=domain.id,
            spki_sha256=pin,
            hour=hour,
            checks=checks,
            last_served_at=last_served_at or hour + timedelta(minutes=30),
        )
    )
    db.flush()


def add_failure(
    db: Session,
    domain: Domain,
    release: Release,
    served_pins: list[str],
    *,
    classification: str = "rotation_casualty",
    hour: datetime = NOW,
    occurrences: int = 1,
) -> None:
    signature = FailureSignature(
        signature=pin_text(secrets.token_bytes(32)),
        domain_id=domain.id,
        classification=classification,
        served_pins=served_pins,
        first_seen_at=hour,
        last_seen_at=hour,
        occurrences=occurrences,
    )
    db.add(signature)
    db.flush()
    db.add(
        FailureCount(
            signature_id=signature.id,
            hour=hour,
            app_id=release.app_id,
            release_id=release.id,
            occurrences=occurrences,
        )
    )
    db.flush()
