"""Storage of validated events: receipts, releases, installs and app domains.

Every function writes through the request's session and never commits. The
caller commits once, so a request is stored whole or not at all. Rows are
written in a fixed order of tables, and sorted within each statement, so that
concurrent requests on PostgreSQL lock shared rows in the same order, which
avoids lock-order deadlocks between them.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session, joinedload

from service.core.security import install_hash
from service.core.settings import Settings
from service.ingest.checks import check_labels, count_checks
from service.ingest.context import Origin, Submission
from service.ingest.domain_cache import cache_seconds, domain_cache
from service.ingest.events import IncomingEvent
from service.ingest.failures import FailureLabel, classify_failures, store_failures
from service.ingest.models import Install
from service.ingest.pinsets import learn_pinsets
from service.ingest.receipts import insert_receipts
from service.ingest.served_certificates import store_certificates
from service.ingest.shared_rows import update_shared_rows
from service.ingest.upsert import upsert
from service.registry.lookup import match_domain
from service.registry.models import Domain, Release

# Past this many candidate names, every domain is loaded instead, which keeps
# the query within SQLite's bind parameter limit.
MAX_DOMAIN_CANDIDATES = 1000

# Statements that every request runs are built once, with bound parameters:
# building one per request took almost as much CPU again as executing it.
RELEASE_ID = select(Release.id).where(
    Release.app_id == bindparam("app_id"), Release.version == bindparam("version")
)


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
    inserted = insert_receipts(session, app_id, sorted(first), now)

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
    values = {"app_id": app_id, "version": version}
    release_id = session.scalar(RELEASE_ID, values)
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
    created = session.scalar(RELEASE_ID, values)
    assert created is not None  # inserted above or by a concurrent request
    return created


def _move_install(excluded: Any) -> dict[str, Any]:
    return {
        "release_id": excluded.release_id,
        "last_seen_at": excluded.last_seen_at,
    }


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
        update=_move_install,
    )
    return digest


def parent_hostnames(hostname: str) -> list[str]:
    """Return a hostname and every parent name: a.b.c, b.c and c."""
    labels = hostname.split(".")
    return [".".join(labels[start:]) for start in range(len(labels))]


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _covering(hostname: str, registered: dict[str, Domain]) -> Domain | None:
    names = parent_hostnames(hostname)
    return match_domain(hostname, [registered[n] for n in names if n in registered])


def match_domains(
    session: Session, hostnames: set[str], max_age: float = 0.0
) -> dict[str, Domain | None]:
    """Return the registered domain, with its pins, that covers each hostname.

    With ``max_age`` above 0 the domains may come from this process's cache,
    up to that many seconds old (see ``service.ingest.domain_cache``).
    """
    if max_age > 0:
        cache = domain_cache(_engine(session), max_age)
        registered = cache.domains(session.connection())
        return {hostname: _covering(hostname, registered) for hostname in hostnames}

    candidates = {name for host in hostnames for name in parent_hostnames(host)}
    query = select(Domain).options(joinedload(Domain.pins))
    if len(candidates) <= MAX_DOMAIN_CANDIDATES:
        query = query.where(Domain.hostname.in_(sorted(candidates)))
    domains = session.scalars(query).unique().all()
    return {hostname: match_domain(hostname, domains) for hostname in hostnames}


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
    hostnames = {event.hostname for event in accepted}
    domains = match_domains(session, hostnames, cache_seconds(settings))
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
    checks = [(event, domain) for event, domain in matched if event.type == "pin_check"]
    counted, served = count_checks(checks)
    update_shared_rows(session, origin, used, counted, served)
    stored.checks = check_labels(checks)
    return stored
