"""Factories that register apps, ingest keys, domains and releases directly.

Each one commits, so that requests through the test client see the rows.
"""

import secrets

from sqlalchemy.orm import Session

from service.core.db import utcnow
from service.core.security import INGEST_KEY_PREFIX, hash_secret, new_secret
from service.registry.models import (
    App,
    Domain,
    DomainPin,
    IngestKey,
    Release,
    ReleasePinset,
)


def make_app(
    db: Session, platform: str = "android", bundle_id: str = "com.example.bank"
) -> App:
    app = App(platform=platform, bundle_id=bundle_id, name=bundle_id)
    db.add(app)
    db.commit()
    return app


def make_key(db: Session, app: App, revoked: bool = False) -> str:
    """Store a new ingest key of the app and return the key itself."""
    key = new_secret(INGEST_KEY_PREFIX)
    db.add(
        IngestKey(
            id="key_" + secrets.token_hex(6),
            app_id=app.id,
            key_hash=hash_secret(key),
            revoked_at=utcnow() if revoked else None,
        )
    )
    db.commit()
    return key


def make_domain(
    db: Session,
    hostname: str = "api.example.com",
    *pins: str,
    role: str = "current",
    include_subdomains: bool = False,
) -> Domain:
    """Register a domain with the given pins, all in one role."""
    domain = Domain(hostname=hostname, include_subdomains=include_subdomains)
    domain.pins = [DomainPin(spki_sha256=pin, role=role) for pin in pins]
    db.add(domain)
    db.commit()
    return domain


def add_pin(db: Session, domain: Domain, pin: str, role: str = "backup") -> None:
    db.add(DomainPin(domain_id=domain.id, spki_sha256=pin, role=role))
    db.commit()


def make_release(
    db: Session,
    app: App,
    version: str,
    pinsets: dict[Domain, list[str]] | None = None,
) -> Release:
    """Declare a release of the app with a pinset per domain."""
    release = Release(app_id=app.id, version=version, declared=True)
    for domain, pins in (pinsets or {}).items():
        release.pinsets.append(
            ReleasePinset(domain_id=domain.id, source="declared", pins=sorted(pins))
        )
    db.add(release)
    db.commit()
    return release
