"""Pinset lint: warnings about pins and pinsets that are accepted but risky.

A warning never blocks a change. It names a mistake that would otherwise show
up only when a rotation blocks users: a placeholder or repeated pin, a value
that hashes the wrong bytes, a domain or build without a usable backup key, a
pinset about to expire, or a report URI that pinning failures would cut off.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from urllib.parse import urlsplit

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.logging import get_logger
from service.ingest.models import Certificate
from service.pins.certificates import (
    CertificateError,
    certificate_sha256,
    load_certificate,
    public_key_sha256,
    public_root_certificates,
    spki_pin,
)
from service.pins.pins import display_pin, is_placeholder
from service.registry.lookup import match_domain
from service.registry.models import Domain, DomainPin

log = get_logger(__name__)

EXPIRY_WARNING_DAYS = (30, 60, 90)
# Certificates seen in served chains whose raw key hash is compared with new
# pins, newest first. NOTE: the raw key hash of older certificates is not
# checked. Their whole-certificate hash always is, as one indexed look-up.
RAW_KEY_SCAN_LIMIT = 2000


@dataclass(frozen=True)
class LintWarning:
    code: str
    message: str


@dataclass
class KnownCertificates:
    """Hashes of known certificates that a pin must not equal, with subjects.

    ``fingerprints`` maps the SHA-256 of a whole certificate and
    ``raw_key_hashes`` the SHA-256 of its bare public key (without the
    SubjectPublicKeyInfo wrapper) to the certificate's subject.
    """

    fingerprints: dict[str, str] = field(default_factory=dict)
    raw_key_hashes: dict[str, str] = field(default_factory=dict)

    def add(self, certificate: x509.Certificate) -> None:
        subject = certificate.subject.rfc4514_string()
        self.fingerprints[certificate_sha256(certificate)] = subject
        raw_key_hash = public_key_sha256(certificate)
        # For key types without a bare encoding (DSA, for one), the raw key
        # hash falls back to the SPKI hash, which is the correct pin.
        if raw_key_hash != spki_pin(certificate):
            self.raw_key_hashes[raw_key_hash] = subject


@lru_cache(maxsize=1)
def _public_root_hashes() -> KnownCertificates:
    known = KnownCertificates()
    for root in public_root_certificates():
        known.add(root)
    return known


def _add_seen_certificates(session: Session, known: KnownCertificates) -> None:
    rows = session.execute(
        select(Certificate.sha256, Certificate.der)
        .order_by(Certificate.first_seen_at.desc())
        .limit(RAW_KEY_SCAN_LIMIT)
    )
    for fingerprint, der in rows:
        try:
            known.add(load_certificate(der))
        except CertificateError as exc:
            log.warning(
                "stored_certificate_unreadable", sha256=fingerprint, error=str(exc)
            )


def _add_fingerprint_matches(
    session: Session, pins: set[str], known: KnownCertificates
) -> None:
    seen = session.execute(
        select(Certificate.sha256, Certificate.subject).where(
            Certificate.sha256.in_(pins)
        )
    )
    registered = session.execute(
        select(DomainPin.certificate_sha256, DomainPin.subject).where(
            DomainPin.certificate_sha256.in_(pins)
        )
    )
    for fingerprint, subject in [*seen, *registered]:
        if fingerprint is not None:
            known.fingerprints[fingerprint] = subject or "a registered certificate"


def known_certificates(session: Session, pins: Iterable[str]) -> KnownCertificates:
    """Collect the hashes of public roots, served and registered certificates."""
    roots = _public_root_hashes()
    known = KnownCertificates(dict(roots.fingerprints), dict(roots.raw_key_hashes))
    _add_fingerprint_matches(session, set(pins), known)
    _add_seen_certificates(session, known)
    return known


def _named(pin: str, where: str | None) -> str:
    """Name a pin in a message, with the pinset it belongs to when there is one."""
    name = f"pin {display_pin(pin)}"
    return f"{name} in {where}" if where else name


def check_placeholders(
    pins: Sequence[str], where: str | None = None
) -> list[LintWarning]:
    return [
        LintWarning(
            "placeholder_pin",
            f"{_named(pin, where)} is an all-zero placeholder, which "
            "matches no key; replace it with the pin of a real key",
        )
        for pin in dict.fromkeys(pins)
        if is_placeholder(pin)
    ]


def check_duplicates(pins: Sequence[str], where: str) -> list[LintWarning]:
    counts = Counter(pins)
    return [
        LintWarning(
            "duplicate_pin",
            f"pin {display_pin(pin)} appears {count} times in {where}; a repeated "
            "pin adds no backup key",
        )
        for pin, count in counts.items()
        if count > 1
    ]


def check_fingerprints(
    pins: Sequence[str], known: KnownCertificates, where: str | None = None
) -> list[LintWarning]:
    return [
        LintWarning(
            "certificate_hash_pin",
            f"{_named(pin, where)} is the SHA-256 of the whole certificate "
            f"{known.fingerprints[pin]}, not of its public key; compute the pin "
            "with 'pinwatch pin CERTIFICATE_FILE'",
        )
        for pin in dict.fromkeys(pins)
        if pin in known.fingerprints
    ]


def check_raw_key_hashes(
    pins: Sequence[str], known: KnownCertificates, where: str | None = None
) -> list[LintWarning]:
    return [
        LintWarning(
            "raw_key_hash_pin",
            f"{_named(pin, where)} is the SHA-256 of the bare public key of "
            f"{known.raw_key_hashes[pin]}, without the SubjectPublicKeyInfo "
            "wrapper; compute the pin with 'pinwatch pin CERTIFICATE_FILE'",
        )
        for pin in dict.fromkeys(pins)
        if pin in known.raw_key_hashes
    ]


def usable_backup_pins(domain: Domain) -> list[str]:
    """Return the domain's backup pins that are not placeholders."""
    return [
        pin.spki_sha256
        for pin in domain.pins
        if pin.role == "backup" and not is_placeholder(pin.spki_sha256)
    ]


def check_backup_pin(domain: Domain) -> list[LintWarning]:
    if usable_backup_pins(domain):
        return []
    return [
        LintWarning(
            "no_backup_pin",
            f"domain {domain.hostname} has no usable backup pin; register one and "
            "ship it in a release before the server key is rotated",
        )
    ]


def _pins_with_role(domain: Domain, role: str) -> list[str]:
    return [pin.spki_sha256 for pin in domain.pins if pin.role == role]


def check_current_pin_in_pinset(
    pins: Sequence[str], domain: Domain
) -> list[LintWarning]:
    current = _pins_with_role(domain, "current")
    if not pins or not current or set(current) & set(pins):
        return []
    return [
        LintWarning(
            "pinset_lacks_current_pin",
            f"the pinset for {domain.hostname} contains none of the domain's current "
            "pins, so this build rejects the key the server presents now",
        )
    ]


def check_backup_pin_in_pinset(
    pins: Sequence[str], domain: Domain
) -> list[LintWarning]:
    backups = usable_backup_pins(domain)
    if not pins or not backups or set(backups) & set(pins):
        return []
    return [
        LintWarning(
            "pinset_lacks_backup_pin",
            f"the pinset for {domain.hostname} contains none of the domain's backup "
            "pins, so this build blocks its installs once the server key is rotated",
        )
    ]


def check_expiry(expires: date | None, today: date) -> list[LintWarning]:
    if expires is None:
        return []
    days = (expires - today).days
    if days < 0:
        return [
            LintWarning(
                "pinset_expired",
                f"the pinset expired on {expires.isoformat()}, so this build no "
                "longer enforces pinning",
            )
        ]
    within = next((limit for limit in EXPIRY_WARNING_DAYS if days <= limit), None)
    if within is None:
        return []
    return [
        LintWarning(
            "pinset_expires_soon",
            f"the pinset expires on {expires.isoformat()}, in {days} days (within "
            f"{within} days); after that this build no longer enforces pinning",
        )
    ]


def check_report_uri(
    report_uri: str | None, pinned_domains: Sequence[Domain]
) -> list[LintWarning]:
    host = urlsplit(report_uri).hostname if report_uri else None
    domain = match_domain(host, pinned_domains) if host else None
    if domain is None:
        return []
    return [
        LintWarning(
            "report_uri_pinned",
            f"the report URI host {host} is covered by the pinned domain "
            f"{domain.hostname}, so reports of failures for that domain cannot "
            "arrive; send reports to a host this build does not pin",
        )
    ]


def lint_pin_text(session: Session, pin: str) -> list[LintWarning]:
    """Check one pin entered as text (a certificate always gives a real pin)."""
    known = known_certificates(session, [pin])
    return [
        *check_placeholders([pin]),
        *check_fingerprints([pin], known),
        *check_raw_key_hashes([pin], known),
    ]


def lint_pinset(
    pins: Sequence[str], domain: Domain, known: KnownCertificates
) -> list[LintWarning]:
    """Check one release pinset for one domain."""
    where = f"the pinset for {domain.hostname}"
    return [
        *check_placeholders(pins, where),
        *check_duplicates(pins, where),
        *check_fingerprints(pins, known, where),
        *check_raw_key_hashes(pins, known, where),
        *check_current_pin_in_pinset(pins, domain),
        *check_backup_pin_in_pinset(pins, domain),
    ]


def lint_release(
    session: Session,
    pinsets: Sequence[tuple[Domain, list[str]]],
    expires: date | None,
    report_uri: str | None,
    today: date,
) -> list[LintWarning]:
    """Check every pinset of a release, its expiry and its report URI."""
    known = known_certificates(session, [pin for _, pins in pinsets for pin in pins])
    warnings: list[LintWarning] = []
    for domain, pins in pinsets:
        warnings += lint_pinset(pins, domain, known)
    pinned = [domain for domain, pins in pinsets if pins]
    warnings += check_expiry(expires, today)
    warnings += check_report_uri(report_uri, pinned)
    return warnings
