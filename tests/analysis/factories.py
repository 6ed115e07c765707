"""Factories that arrange incidents: signatures, counts, installs and samples."""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy.orm import Session

from service.ingest.models import (
    Certificate,
    FailureCount,
    FailureSignature,
    Install,
    PinFailure,
    SignatureInstall,
)
from service.pins.certificates import spki_pin
from service.pins.pins import pin_text
from service.registry.models import App, Domain, DomainPin, Release
from tests.certs import Issued

HOUR = timedelta(hours=1)
# A fixed past hour, so time ranges in tests never depend on the clock.
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def make_domain(db: Session, hostname: str = "api.example.com") -> Domain:
    domain = Domain(hostname=hostname)
    db.add(domain)
    db.flush()
    return domain


def add_pin(
    db: Session, domain: Domain, pin: str, role: str = "current", label: str = ""
) -> DomainPin:
    registered = DomainPin(spki_sha256=pin, role=role, label=label)
    domain.pins.append(registered)
    db.flush()
    return registered


def make_app(
    db: Session, platform: str = "android", bundle_id: str = "com.example.bank"
) -> App:
    app = App(platform=platform, bundle_id=bundle_id)
    db.add(app)
    db.flush()
    return app


def make_release(db: Session, app: App, version: str) -> Release:
    release = Release(app_id=app.id, version=version)
    db.add(release)
    db.flush()
    return release


def make_signature(
    db: Session,
    domain: Domain | None,
    classification: str,
    *,
    served_pins: list[str] | None = None,
    first_seen: datetime = T0,
    last_seen: datetime = T0 + HOUR / 2,
) -> FailureSignature:
    signature = FailureSignature(
        signature=pin_text(secrets.token_bytes(32)),
        domain_id=domain.id if domain else None,
        classification=classification,
        served_pins=served_pins or [],
        first_seen_at=first_seen,
        last_seen_at=last_seen,
    )
    db.add(signature)
    db.flush()
    return signature


def add_count(
    db: Session,
    signature: FailureSignature,
    release: Release,
    occurrences: int,
    hour: datetime = T0,
) -> None:
    db.add(
        FailureCount(
            signature_id=signature.id,
            hour=hour,
            app_id=release.app_id,
            release_id=release.id,
            occurrences=occurrences,
        )
    )
    signature.occurrences += occurrences
    db.flush()


def add_installs(
    db: Session,
    signature: FailureSignature,
    release: Release,
    count: int,
    first_seen: datetime = T0,
) -> list[bytes]:
    """Record ``count`` new installs of the release that hit the signature."""
    hashes = [secrets.token_bytes(16) for _ in range(count)]
    for install_hash in hashes:
        db.add(
            Install(
                app_id=release.app_id,
                install_hash=install_hash,
                release_id=release.id,
                first_seen_at=first_seen,
                last_seen_at=first_seen,
            )
        )
        db.add(
            SignatureInstall(
                signature_id=signature.id,
                install_hash=install_hash,
                first_seen_at=first_seen,
            )
        )
    db.flush()
    return hashes


def hit_again(
    db: Session, signature: FailureSignature, hashes: list[bytes], when: datetime
) -> None:
    """Record that installs already known hit another signature."""
    for install_hash in hashes:
        db.add(
            SignatureInstall(
                signature_id=signature.id, install_hash=install_hash, first_seen_at=when
            )
        )
    db.flush()


def store_certificate(db: Session, certificate: x509.Certificate) -> str:
    """Store a served certificate once and return its id (SHA-256, base64)."""
    der = certificate.public_bytes(Encoding.DER)
    certificate_id = pin_text(hashlib.sha256(der).digest())
    if db.get(Certificate, certificate_id) is None:
        db.add(
            Certificate(
                sha256=certificate_id,
                der=der,
                spki_sha256=spki_pin(certificate),
                subject=certificate.subject.rfc4514_string(),
                issuer=certificate.issuer.rfc4514_string(),
                not_before=certificate.not_valid_before_utc,
                not_after=certificate.not_valid_after_utc,
            )
        )
        db.flush()
    return certificate_id


def add_sample(
    db: Session,
    signature: FailureSignature,
    release: Release,
    served: list[Issued],
    known_pins: list[str],
    *,
    received_at: datetime = T0,
    hostname: str = "api.example.com",
    device_time: datetime | None = None,
) -> PinFailure:
    """Store one sampled raw failure with its served chain."""
    sample = PinFailure(
        received_at=received_at,
        device_time=device_time.isoformat() if device_time else None,
        device_time_parsed=device_time,
        signature_id=signature.id,
        domain_id=signature.domain_id,
        app_id=release.app_id,
        release_id=release.id,
        install_hash=secrets.token_bytes(16),
        source="native",
        hostname=hostname,
        classification=signature.classification,
        result="pin_mismatch",
        served_chain=[store_certificate(db, item.certificate) for item in served],
        served_pins=[issued.pin for issued in served],
        known_pins=known_pins,
    )
    db.add(sample)
    db.flush()
    return sample
