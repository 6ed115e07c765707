"""Certificate-by-certificate breakdown of a stored failure.

A stored failure keeps its served chain as the SHA-256 ids of ``Certificate``
rows, leaf first. The breakdown loads them and shows, for each certificate,
whether the failing build pins its key, whether the key is registered for the
domain, and whether it is or was issued by a Mozilla root.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.analysis import chains
from service.analysis.classify import misconfigured_pins
from service.analysis.schemas import (
    CertificateEntry,
    CertificateKind,
    ChainBreakdown,
    KnownPin,
)
from service.ingest.models import Certificate, PinFailure
from service.pins.certificates import CertificateError, load_certificate
from service.registry.models import App, DomainPin, Release


@dataclass(frozen=True)
class StoredCertificate:
    """A served certificate: its stored row and the parsed certificate."""

    row: Certificate
    certificate: x509.Certificate


def load_served_chain(
    session: Session, ids: Sequence[str]
) -> tuple[list[StoredCertificate], int]:
    """Load a failure's served certificates in chain order.

    Returns the certificates found and how many ids had no readable row.
    """
    rows = session.scalars(select(Certificate).where(Certificate.sha256.in_(ids)))
    by_id = {row.sha256: row for row in rows}
    chain: list[StoredCertificate] = []
    for certificate_id in ids:
        row = by_id.get(certificate_id)
        certificate = _parse(row)
        if row is not None and certificate is not None:
            chain.append(StoredCertificate(row, certificate))
    return chain, len(ids) - len(chain)


def _parse(row: Certificate | None) -> x509.Certificate | None:
    if row is None:
        return None
    try:
        return load_certificate(row.der)
    except CertificateError:
        return None


def certificate_kind(position: int, certificate: x509.Certificate) -> CertificateKind:
    if position == 0:
        return "leaf"
    if certificate.subject == certificate.issuer:
        return "root"
    return "intermediate"


def certificate_entry(
    position: int,
    stored: StoredCertificate,
    known_pins: set[str],
    registered: Mapping[str, DomainPin],
) -> CertificateEntry:
    certificate, row = stored.certificate, stored.row
    pin = registered.get(row.spki_sha256)
    return CertificateEntry(
        position=position,
        kind=certificate_kind(position, certificate),
        sha256=row.sha256,
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        subject_alt_names=chains.subject_alt_names(certificate) or [],
        spki_sha256=row.spki_sha256,
        in_pinset=row.spki_sha256 in known_pins,
        registered_role=pin.role if pin else None,
        public_root=chains.is_public_root(certificate),
        issued_by_public_root=chains.issuing_public_root(certificate) is not None,
    )


def known_pin_entries(
    failure: PinFailure,
    chain: Sequence[StoredCertificate],
    registered: Mapping[str, DomainPin],
) -> list[KnownPin]:
    served = {stored.row.spki_sha256 for stored in chain} | set(failure.served_pins)
    certificates = [stored.certificate for stored in chain]
    wrong = misconfigured_pins(certificates, failure.known_pins)
    entries = []
    for pin in dict.fromkeys(failure.known_pins):
        domain_pin = registered.get(pin)
        position, kind = wrong.get(pin, (None, None))
        entries.append(
            KnownPin(
                spki_sha256=pin,
                served=pin in served,
                registered_role=domain_pin.role if domain_pin else None,
                label=domain_pin.label if domain_pin else None,
                wrong_hash=kind,
                wrong_hash_position=position,
            )
        )
    return entries


def build_breakdown(
    session: Session,
    failure: PinFailure,
    registered: Mapping[str, DomainPin],
    inspection_roots: Sequence[str],
) -> ChainBreakdown:
    """Break a stored failure down certificate by certificate.

    ``registered`` maps the domain's pins to their rows; ``inspection_roots``
    are the configured TLS inspection root entries.
    """
    chain, missing = load_served_chain(session, failure.served_chain)
    certificates = [stored.certificate for stored in chain]
    known = set(failure.known_pins)
    entries = [
        certificate_entry(position, stored, known, registered)
        for position, stored in enumerate(chain)
    ]
    anchor = chains.public_trust_anchor(certificates) if certificates else None
    app = session.get_one(App, failure.app_id)
    release = session.get_one(Release, failure.release_id)
    return ChainBreakdown(
        received_at=failure.received_at,
        device_time=failure.device_time,
        device_time_utc=failure.device_time_parsed,
        hostname=failure.hostname,
        app=app.ref,
        version=release.version,
        result=failure.result,
        known_pins=known_pin_entries(failure, chain, registered),
        certificates=entries,
        missing_certificates=missing,
        covers_hostname=_covers(certificates, failure.hostname),
        publicly_trusted=anchor is not None,
        trust_anchor=chains.display_name(anchor.subject) if anchor else None,
        root=chains.root_name(certificates) if certificates else None,
        inspection_root=_inspection_root(certificates, anchor, inspection_roots),
    )


def _covers(certificates: Sequence[x509.Certificate], hostname: str) -> bool | None:
    if not certificates:
        return None
    return chains.covers_hostname(certificates[0], hostname)


def _inspection_root(
    certificates: Sequence[x509.Certificate],
    anchor: x509.Certificate | None,
    entries: Sequence[str],
) -> str | None:
    # Only an untrusted chain is interception, so a configured name that also
    # matches part of a public CA's name must not relabel a public chain.
    if anchor is not None or not certificates:
        return None
    return chains.match_inspection_root(certificates, entries)
