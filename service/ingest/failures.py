"""Pin failures: classification, incident signatures, exact counts, sampled rows.

Counts per signature, hour, app and release are exact. Raw rows are kept
only while the signature has fewer than ``failure_sample_per_hour`` of them
in the hour of receipt, so a storm of identical failures stays bounded.
"""

import base64
import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from service.analysis.classify import FailureFacts, classify
from service.core.settings import Settings
from service.ingest.context import Origin, domain_label, storable_text
from service.ingest.events import IncomingEvent
from service.ingest.models import (
    FailureCount,
    FailureSignature,
    PinFailure,
    SignatureInstall,
)
from service.ingest.served_certificates import fingerprint, load_chains
from service.ingest.upsert import upsert
from service.pins.certificates import spki_pin
from service.registry.models import Domain

# (domain label, classification) of one stored failure.
FailureLabel = tuple[str, str]


@dataclass(frozen=True)
class Failure:
    """A failure event with its domain, classification and signature."""

    event: IncomingEvent
    domain: Domain | None
    served_pins: list[str]
    classification: str
    signature: str


def failure_signature(
    domain: Domain | None, classification: str, served_pins: list[str]
) -> str:
    """Return the incident key: base64 SHA-256 of ``domain|classification|pins``.

    The pins are the distinct served pins, sorted and joined by commas.
    Hostnames of no registered domain share one signature per classification,
    whatever they served, so client-sent hostnames cannot add signatures
    without bound.
    """
    pins = ",".join(sorted(set(served_pins))) if domain else ""
    key = f"{domain_label(domain)}|{classification}|{pins}"
    return base64.b64encode(hashlib.sha256(key.encode()).digest()).decode()


def _registered_pins(domain: Domain | None) -> dict[str, str]:
    return {pin.spki_sha256: pin.role for pin in domain.pins} if domain else {}


def classify_failure(
    event: IncomingEvent,
    domain: Domain | None,
    chain: list[x509.Certificate],
    origin: Origin,
    max_clock_skew: timedelta,
) -> Failure:
    served_pins = event.served_pins or list(dict.fromkeys(map(spki_pin, chain)))
    facts = FailureFacts(
        hostname=event.hostname,
        received_at=origin.received_at,
        served_chain=chain,
        served_pins=served_pins,
        known_pins=event.known_pins,
        registered=_registered_pins(domain),
        validation_result=event.validation_result,
        result=event.result,
        device_time=event.device_time,
    )
    classification = classify(facts, max_clock_skew=max_clock_skew)
    signature = failure_signature(domain, classification, served_pins)
    return Failure(event, domain, served_pins, classification, signature)


def _add_occurrences(excluded: Any) -> dict[str, Any]:
    return {
        "occurrences": FailureSignature.occurrences + excluded.occurrences,
        "last_seen_at": excluded.last_seen_at,
    }


# A failure with the request it came from.
Received = tuple[Origin, Failure]


def upsert_signatures(session: Session, received: list[Received]) -> dict[str, int]:
    """Add the failures to their signatures, returning each signature's id.

    On PostgreSQL the update locks each signature row until commit. Every
    other row written for a failure belongs to its signature, so this one
    sorted statement also orders the locks of the rest, and it serialises
    concurrent batches of one signature for the sampling below.
    """
    occurrences = Counter(failure.signature for _, failure in received)
    first: dict[str, Failure] = {}
    seen: dict[str, list[datetime]] = {}
    for origin, failure in received:
        first.setdefault(failure.signature, failure)
        seen.setdefault(failure.signature, []).append(origin.received_at)
    rows = [
        {
            "signature": signature,
            "domain_id": failure.domain.id if failure.domain else None,
            "classification": failure.classification,
            "served_pins": sorted(set(failure.served_pins)) if failure.domain else [],
            "first_seen_at": min(seen[signature]),
            "last_seen_at": max(seen[signature]),
            "occurrences": occurrences[signature],
        }
        for signature, failure in sorted(first.items())
    ]
    returned = upsert(
        session,
        FailureSignature,
        rows,
        conflict=["signature"],
        update=_add_occurrences,
        returning=[FailureSignature.id, FailureSignature.signature],
    )
    return {row.signature: row.id for row in returned}


# Built once, because every batch with failures runs it.
SAMPLED_THIS_HOUR = (
    select(
        FailureCount.signature_id,
        FailureCount.hour,
        func.sum(FailureCount.sampled).label("sampled"),
    )
    .where(
        FailureCount.signature_id.in_(bindparam("signature_ids", expanding=True)),
        FailureCount.hour.in_(bindparam("hours", expanding=True)),
    )
    .group_by(FailureCount.signature_id, FailureCount.hour)
)

# (signature id, hour) of a sampling budget.
BudgetKey = tuple[int, datetime]


def _sample_budgets(
    session: Session, keys: set[BudgetKey], cap: int
) -> dict[BudgetKey, int]:
    """Return how many more raw rows each signature may keep in each hour.

    Called after ``upsert_signatures`` has locked the signature rows, so on
    PostgreSQL (read committed) the sums include every earlier batch of the
    hour. SQLite runs one writer at a time, so the sums are exact there too.
    """
    values = {
        "signature_ids": sorted({signature_id for signature_id, _ in keys}),
        "hours": sorted({hour for _, hour in keys}),
    }
    used = session.execute(SAMPLED_THIS_HOUR, values)
    sampled = {(row.signature_id, row.hour): int(row.sampled or 0) for row in used}
    return {key: max(0, cap - sampled.get(key, 0)) for key in keys}


def sample_failures(
    session: Session,
    settings: Settings,
    received: list[Received],
    signature_ids: dict[str, int],
) -> list[Received]:
    """Return the failures to keep as raw rows, within each signature's budget."""
    keys = {(signature_ids[f.signature], origin.hour) for origin, f in received}
    budgets = _sample_budgets(session, keys, settings.failure_sample_per_hour)
    sampled: list[Received] = []
    for origin, failure in received:
        key = (signature_ids[failure.signature], origin.hour)
        if budgets[key] > 0:
            budgets[key] -= 1
            sampled.append((origin, failure))
    return sampled


def _add_counts(excluded: Any) -> dict[str, Any]:
    return {
        "occurrences": FailureCount.occurrences + excluded.occurrences,
        "sampled": FailureCount.sampled + excluded.sampled,
    }


# (signature id, hour, app id, release id) of a failure count.
CountKey = tuple[int, datetime, int, int]


def add_failure_counts(
    session: Session, occurrences: Counter[CountKey], sampled: Counter[CountKey]
) -> None:
    rows = [
        {
            "signature_id": signature_id,
            "hour": hour,
            "app_id": app_id,
            "release_id": release_id,
            "occurrences": count,
            "sampled": sampled[(signature_id, hour, app_id, release_id)],
        }
        for (signature_id, hour, app_id, release_id), count in sorted(
            occurrences.items()
        )
    ]
    upsert(
        session,
        FailureCount,
        rows,
        conflict=["signature_id", "hour", "app_id", "release_id"],
        update=_add_counts,
    )


def add_signature_installs(
    session: Session, installs: dict[tuple[int, bytes], datetime]
) -> None:
    """Record the installs per signature, with when each was first seen."""
    rows = [
        {"signature_id": signature_id, "install_hash": digest, "first_seen_at": time}
        for (signature_id, digest), time in sorted(installs.items())
    ]
    upsert(session, SignatureInstall, rows, conflict=["signature_id", "install_hash"])


def _raw_row(failure: Failure, signature_id: int, origin: Origin) -> dict[str, Any]:
    event = failure.event
    return {
        "received_at": origin.received_at,
        "device_time": storable_text(event.device_time_text, 64),
        "device_time_parsed": event.device_time,
        "signature_id": signature_id,
        "domain_id": failure.domain.id if failure.domain else None,
        "app_id": origin.app_id,
        "release_id": origin.release_id,
        "install_hash": origin.install_hash,
        "event_id": event.event_id,
        "source": event.source,
        "hostname": event.hostname,
        "port": event.port,
        "noted_hostname": event.noted_hostname,
        "classification": failure.classification,
        "result": event.result or "other",
        "action": event.action,
        "enforced": event.enforced is not False,
        "pinset_expires": event.pinset_expires,
        "served_chain": [fingerprint(der) for der in event.served_chain],
        "served_pins": failure.served_pins,
        "known_pins": event.known_pins,
        "network": event.network,
        "sdk": storable_text(origin.sdk, 200),
    }


@dataclass(frozen=True)
class ClassifiedFailures:
    """A request's failures with the certificates of their served chains."""

    certificates: dict[bytes, x509.Certificate]
    failures: list[Failure]


def classify_failures(
    settings: Settings,
    origin: Origin,
    events: list[tuple[IncomingEvent, Domain | None]],
) -> ClassifiedFailures:
    """Load the served chains and classify each failure, without writing."""
    certificates = load_chains(
        (event for event, _ in events), settings.max_certificate_bytes
    )
    max_clock_skew = timedelta(seconds=settings.clock_skew_seconds)
    failures = [
        classify_failure(
            event,
            domain,
            [certificates[der] for der in event.served_chain],
            origin,
            max_clock_skew,
        )
        for event, domain in events
    ]
    return ClassifiedFailures(certificates, failures)


def _count_key(origin: Origin, signature_id: int) -> CountKey:
    return (signature_id, origin.hour, origin.app_id, origin.release_id)


def store_failures(
    session: Session, settings: Settings, received: list[Received]
) -> None:
    """Count failures into their signatures and store the sampled raw rows."""
    if not received:
        return
    signature_ids = upsert_signatures(session, received)
    sampled = sample_failures(session, settings, received, signature_ids)
    add_failure_counts(
        session,
        Counter(_count_key(o, signature_ids[f.signature]) for o, f in received),
        Counter(_count_key(o, signature_ids[f.signature]) for o, f in sampled),
    )
    installs: dict[tuple[int, bytes], datetime] = {}
    for origin, failure in received:
        key = (signature_ids[failure.signature], origin.install_hash)
        installs[key] = min(origin.received_at, installs.get(key, origin.received_at))
    add_signature_installs(session, installs)
    rows = [_raw_row(f, signature_ids[f.signature], o) for o, f in sampled]
    if rows:
        session.execute(insert(PinFailure), rows)


def failure_labels(failures: list[Failure]) -> list[FailureLabel]:
    """Return the metric labels of each failure: domain and classification."""
    return [(domain_label(f.domain), f.classification) for f in failures]
