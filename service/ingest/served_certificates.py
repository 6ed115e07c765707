"""Certificates of served chains, stored once each by their SHA-256."""

import base64
import hashlib
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

from cryptography import x509
from sqlalchemy.orm import Session

from service.ingest.events import IncomingEvent
from service.ingest.models import Certificate
from service.ingest.upsert import upsert
from service.pins.certificates import load_certificate, spki_pin

# Longer names are cut, because they only help people recognise a
# certificate.
MAX_NAME_LENGTH = 1000
# Rows are described once per certificate, because clients report the same
# few chains again and again.
CACHED_CERTIFICATES = 1024


def fingerprint(der: bytes) -> str:
    """Return the SHA-256 of a whole DER certificate in base64, its stored key."""
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def load_chains(
    events: Iterable[IncomingEvent], max_bytes: int
) -> dict[bytes, x509.Certificate]:
    """Load every distinct certificate of the events' served chains, by DER."""
    certificates: dict[bytes, x509.Certificate] = {}
    for event in events:
        for der in event.served_chain:
            if der not in certificates:
                certificates[der] = load_certificate(der, max_bytes)
    return certificates


def _name(certificate: x509.Certificate, part: str) -> str:
    try:
        name: x509.Name = getattr(certificate, part)
        return name.rfc4514_string()[:MAX_NAME_LENGTH]
    except ValueError:
        # cryptography cannot decode an attribute. The name is only a label.
        return ""


def _validity(
    certificate: x509.Certificate,
) -> tuple[datetime | None, datetime | None]:
    try:
        return certificate.not_valid_before_utc, certificate.not_valid_after_utc
    except ValueError:
        return None, None


@lru_cache(maxsize=CACHED_CERTIFICATES)
def _described(certificate: x509.Certificate) -> tuple[tuple[str, object], ...]:
    not_before, not_after = _validity(certificate)
    return (
        ("spki_sha256", spki_pin(certificate)),
        ("subject", _name(certificate, "subject")),
        ("issuer", _name(certificate, "issuer")),
        ("not_before", not_before),
        ("not_after", not_after),
    )


def _row(der: bytes, certificate: x509.Certificate, now: datetime) -> dict[str, object]:
    described = dict(_described(certificate))
    return {"sha256": fingerprint(der), "der": der, **described, "first_seen_at": now}


def store_certificates(
    session: Session, certificates: dict[bytes, x509.Certificate], now: datetime
) -> None:
    """Store the certificates not stored yet; known ones are left as they are."""
    rows = sorted(
        (_row(der, certificate, now) for der, certificate in certificates.items()),
        key=lambda row: str(row["sha256"]),
    )
    upsert(session, Certificate, rows, conflict=["sha256"])
