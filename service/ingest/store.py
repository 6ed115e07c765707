"""Storage of validated events: receipts, releases, installs and app domains.

Every function writes through the request's session and never commits. The
caller commits once, so a request is stored whole or not at all. Rows are
written in a fixed order of tables, and sorted within each statement, so that
concurrent requests on PostgreSQL lock shared rows in the same order, which
avoids lock-order deadlocks between them.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from service.core.security import install_hash
from service.core.settings import Settings
from service.ingest.checks import store_checks
from service.ingest.context import Origin, Submission
from service.ingest.events import IncomingEvent
from service.ingest.failures import FailureLabel, classify_failures, store_failures
from service.ingest.models import AppDomain, EventReceipt, Install
from service.ingest.pinsets import learn_pinsets
from service.ingest.served_certificates import store_certificates
from service.ingest.upsert import upsert
from service.registry.lookup import match_domain
from service.registry.models import Domain, Release

# Past this many candidate names, every domain is loaded instead, which keeps
# the query within SQLite's bind parameter limit.
MAX_DOMAIN_CANDIDATES = 1000


@dataclass
class StoredEvents:
    """The outcome of each event of a request, for the response and the metrics."""

    accepted: list[IncomingEvent] = field(default_factory=list)
    duplicates: list[IncomingEvent] = field(default_factory=list)
    failures: list[FailureLabel] = field(default_factory=list)
    # (domain label, count) of every accepted pin_check.
    checks: list[tuple[str, int]] = field(default_factory=list)


def claim_event_ids(
    session: Session, app_id: int, events: list[IncomingEvent], now: datetime
) -> tuple[list[IncomingEvent], list[IncomingEvent]]:
    """Split events into new ones and duplicates by recording their ids.

    An id seen before, in an earlier request or earlier in this one, makes a
    duplicate. The insert itself decides, so two concurrent retries of a batch
    cannot both store it. Events without an id are always new.
    """
    first: dict[str, IncomingEvent] = {}
    for event in events:
        if event.event_id is not None:
            first.setdefault(event.event_id, event)
    rows = [
        {"app_id": app_id, "event_id": event_id, "received_at": now}
        for event_id in sorted(first)
    ]
    returned = upsert(
        session,
        EventReceipt,
        rows,
        conflict=["app_id", "event_id"],
        returning=[EventReceipt.event_id],
    )
    inserted = {row.event_id for row in returned}

    fresh: list[IncomingEvent] = []
    duplicates: list[IncomingEvent] = []
    for event in events:
        new = event.event_id is None or (
            first[event.event_id] is event and event.event_id in inserted
        )
        (fresh if new else duplicates).append(event)
    return fresh, duplicates


def ensure_release(session: Session, app_id: int, version: str, now: datetime) -> int:
    """Return the id of the app's release of a version, creating it if needed."""
    query = select(Release.id).where(
        Release.app_id == app_id, Release.version == version
    )
    release_id = session.scalar(query)
    if release_id is not None:
        return release_id

    # When a concurrent request creates the same release, the insert does
    # nothing and the second select finds that request's row.
    row = {
        "app_id": app_id,
        "version": version,
        "declared": False,
        "created_at": now,
        "updated_at": now,
    }
    upsert(session, Release, [row], conflict=["app_id", "version"])
    created = session.scalar(query)
    assert created is not None  # inserted above or by a concurrent request
    return created


def record_install(
    session: Session, settings: Settings, submission: Submission, release_id: int
) -> bytes:
    """Store the install's current release and last-seen time, returning its hash."""
    digest = install_hash(settings.secret, submission.app.id, submission.install_id)
    row = {
        "app_id": submission.app.id,
        "install_hash": digest,
        "release_id": release_id,
        "first_seen_at": submission.received_at,
        "last_seen_at": submission.received_at,
    }
    upsert(
        session,
        Install,
        [row],
        conflict=["app_id", "install_hash"],
        update=lambda excluded: {
            "release_id": excluded.release_id,
            "last_seen_at": excluded.last_seen_at,
        },
    )
    return digest


def parent_hostnames(hostname: str) -> list[str]:
    """Return a hostname and every parent name: a.b.c, b.c and c."""
    labels = hostname.split(".")
    return [".".join(labels[start:]) for start in range(len(labels))]


def match_domains(session: Session, hostnames: set[str]) -> dict[str, Domain | None]:
    """Return the registered domain, with its pins, that covers each hostname."""
    candidates = {name for host in hostnames for name in parent_hostnames(host)}
    query = select(Domain).options(joinedload(Domain.pins))
    if len(candidates) <= MAX_DOMAIN_CANDIDATES:
        query = query.where(Domain.hostname.in_(sorted(candidates)))
    domains = session.scalars(query).unique().all()
    return {hostname: match_domain(hostname, domains) for hostname in hostnames}


def touch_app_domains(
    session: Session, app_id: int, domain_ids: set[int], now: datetime
) -> None:
    """Record that the app uses these domains, and when it last sent events."""
    rows = [
        {
            "app_id": app_id,
            "domain_id": domain_id,
            "first_seen_at": now,
            "last_event_at": now,
        }
        for domain_id in sorted(domain_ids)
    ]
    upsert(
        session,
        AppDomain,
        rows,
        conflict=["app_id", "domain_id"],
        update=lambda excluded: {"last_event_at": excluded.last_event_at},
    )


def store_events(
    session: Session, settings: Settings, submission: Submission
) -> StoredEvents:
    """Store a request's events, returning which were new and what they counted."""
    now = submission.received_at
    accepted, duplicates = claim_event_ids(
        session, submission.app.id, submission.events, now
    )
    stored = StoredEvents(accepted=accepted, duplicates=duplicates)
    if not accepted:
        return stored

    release_id = ensure_release(session, submission.app.id, submission.version, now)
    digest = record_install(session, settings, submission, release_id)
    origin = Origin(submission.app.id, release_id, digest, submission.sdk, now)
    domains = match_domains(session, {event.hostname for event in accepted})
    matched = [(event, domains[event.hostname]) for event in accepted]
    learn_pinsets(session, release_id, matched, now)
    failures = [pair for pair in matched if pair[0].type == "pin_failure"]
    classified = classify_failures(settings, origin, failures)
    store_certificates(session, classified.certificates, now)

    # The rows below are shared by every request of an app and domain, and on
    # PostgreSQL each update locks its row until commit. Writing them last,
    # after the CPU work, keeps concurrent requests waiting the least.
    stored.failures = store_failures(session, settings, origin, classified.failures)
    used = {domain.id for domain in domains.values() if domain is not None}
    touch_app_domains(session, origin.app_id, used, now)
    checks = [(event, domain) for event, domain in matched if event.type == "pin_check"]
    stored.checks = store_checks(session, origin, checks)
    return stored
