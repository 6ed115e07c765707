"""One incident: a failure signature with its counts, chain and verdict.

Counts cover the signature's whole stored life: occurrences and versions are
summed from its hourly counts, unique installs from ``SignatureInstall``.
"""

from collections.abc import Mapping, Sequence
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.analysis.breakdown import build_breakdown
from service.analysis.classify import (
    CLASSIFICATIONS,
    NETWORK_OR_DEVICE_CAUSES,
    Classification,
)
from service.analysis.schemas import ChainBreakdown, Incident, ServedPin, VersionCount
from service.analysis.signatures import signature_id, stored_forms
from service.analysis.verdict import SUMMARIES, verdict
from service.core.errors import NotFound
from service.ingest.models import (
    FailureCount,
    FailureSignature,
    PinFailure,
    SignatureInstall,
)
from service.registry.models import App, Domain, DomainPin, Release


def _incident_not_found(text: str) -> NotFound:
    return NotFound(f"incident {text!r} was not found", code="incident_not_found")


def get_signature(session: Session, text: str) -> FailureSignature:
    """Return the signature an incident id names, or raise incident_not_found."""
    if "\x00" in text:
        # No stored id contains NUL, and PostgreSQL rejects it in a query.
        raise _incident_not_found(text)
    signature = session.scalars(
        select(FailureSignature).where(
            FailureSignature.signature.in_(stored_forms(text))
        )
    ).first()
    if signature is None:
        raise _incident_not_found(text)
    return signature


def latest_sample(session: Session, signature: FailureSignature) -> PinFailure | None:
    return session.scalars(
        select(PinFailure)
        .where(PinFailure.signature_id == signature.id)
        .order_by(PinFailure.received_at.desc(), PinFailure.id.desc())
        .limit(1)
    ).first()


def version_counts(session: Session, signature: FailureSignature) -> list[VersionCount]:
    """Return the signature's occurrences per app and version, largest first."""
    rows = session.execute(
        select(App, Release.version, func.sum(FailureCount.occurrences))
        .join(App, App.id == FailureCount.app_id)
        .join(Release, Release.id == FailureCount.release_id)
        .where(FailureCount.signature_id == signature.id)
        .group_by(App.id, Release.id)
    ).all()
    counts = [
        VersionCount(app=app.ref, version=version, occurrences=int(total))
        for app, version, total in rows
    ]
    return sorted(counts, key=lambda item: (-item.occurrences, item.app, item.version))


def unique_installs(session: Session, signature: FailureSignature) -> int:
    statement = select(func.count()).where(
        SignatureInstall.signature_id == signature.id
    )
    return session.scalar(statement) or 0


def served_pin_entries(
    signature: FailureSignature,
    registered: Mapping[str, DomainPin],
    sample: PinFailure | None,
) -> list[ServedPin]:
    entries = []
    for pin in signature.served_pins:
        domain_pin = registered.get(pin)
        entries.append(
            ServedPin(
                spki_sha256=pin,
                registered=domain_pin is not None,
                role=domain_pin.role if domain_pin else None,
                label=domain_pin.label if domain_pin else None,
                in_pinset=pin in sample.known_pins if sample else None,
            )
        )
    return entries


def known_classification(text: str) -> Classification:
    """Return a stored classification, or ``unknown`` for a name no rule has."""
    if text in CLASSIFICATIONS:
        return cast(Classification, text)
    return "unknown"


def build_incident(
    session: Session, signature: FailureSignature, inspection_roots: Sequence[str]
) -> Incident:
    """Describe one incident, with the breakdown of its latest sampled failure."""
    domain = session.get(Domain, signature.domain_id) if signature.domain_id else None
    registered = {pin.spki_sha256: pin for pin in domain.pins} if domain else {}
    sample = latest_sample(session, signature)
    breakdown: ChainBreakdown | None = None
    if sample is not None:
        breakdown = build_breakdown(session, sample, registered, inspection_roots)
    classification = known_classification(signature.classification)
    versions = version_counts(session, signature)
    hostname = domain.hostname if domain else None
    return Incident(
        signature=signature_id(signature.signature),
        domain=hostname,
        classification=classification,
        caused_by_network_or_device=classification in NETWORK_OR_DEVICE_CAUSES,
        summary=SUMMARIES[classification],
        verdict=verdict(classification, breakdown, hostname),
        served_pins=served_pin_entries(signature, registered, sample),
        occurrences=sum(item.occurrences for item in versions),
        unique_installs=unique_installs(session, signature),
        first_seen=signature.first_seen_at,
        last_seen=signature.last_seen_at,
        versions=versions,
        sample=breakdown,
    )
