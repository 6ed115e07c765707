"""Storage of validated events: receipts, releases, installs and app domains.

Every function writes through the request's session and never commits. The
caller commits once, so a request is stored whole or not at all. Rows are
written in a fixed order of tables, and sorted within each statement, so that
concurrent requests on PostgreSQL lock shared rows in the same order, which
avoids lock-order deadlocks between them.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session, joinedload

from service.core.security import install_hash
from service.core.settings import Settings
from service.ingest.checks import count_checks
from service.ingest.context import Origin, Submission, domain_label
from service.ingest.domain_cache import cache_seconds, domain_cache
from service.ingest.events import IncomingEvent
from service.ingest.failures import (
    FailureLabel,
    Received,
    classify_failures,
    failure_labels,
    store_failures,
)
from service.ingest.models import Install
from service.ingest.pinsets import Pinset, PinsetKey, learn_pinsets, reported_pinsets
from service.ingest.receipts import insert_receipts
from service.ingest.served_certificates import store_certificates
from service.ingest.shared_rows import SharedRows, write_shared_rows
from service.ingest.upsert import upsert
from service.registry.lookup import match_domain
from service.registry.models import Domain, Release

# Past this many candidate names, every domain is loaded instead, which keeps
# the query within SQLite's bind parameter limit.
MAX_DOMAIN_CANDIDATES = 1000

# Statements that every request runs are built once, with bound parameters:
# building one per request took almost as much CPU again as executing it.
# It may return releases of other pairs of the apps and versions, which are
# skipped.
RELEASE_IDS = select(Release.app_id, Release.version, Release.id).where(
    Release.app_id.in_(bindparam("app_ids", expanding=True)),
    Release.version.in_(bindparam("versions", expanding=True)),
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class StoredEvents:
    """The outcome of each event of a request, for the response and the metrics."""

    accepted: list[IncomingEvent] = field(default_factory=list)
    duplicates: list[IncomingEvent] = field(default_factory=list)
    failures: list[FailureLabel] = field(default_factory=list)
    # (domain label, count) of every accepted pin_check.
    checks: list[tuple[str, int]] = field(default_factory=list)


def claim_event_ids(
    session: Session, submissions: list[Submission]
) -> list[StoredEvents]:
    """Split each submission's events into new ones and duplicates.

    An id seen before, in an earlier request, earlier in this request or in an
    earlier request of the batch, makes a duplicate. The insert itself decides,
    so two concurrent retries of a batch cannot both store it. Events without
    an id are always new. Receipts take the latest receive time of their app
    in the batch.
    """
    first: dict[tuple[int, str], IncomingEvent] = {}
    received: dict[int, datetime] = {}
    for submission in submissions:
        app_id = submission.app_id
        received[app_id] = max(submission.received_at, received.get(app_id, EPOCH))
        for event in submission.events:
            if event.event_id is not None:
                first.setdefault((app_id, event.event_id), event)

    inserted: set[tuple[int, str]] = set()
    for app_id, now in sorted(received.items()):
        ids = sorted(event_id for app, event_id in first if app == app_id)
        new_ids = insert_receipts(session, app_id, ids, now)
        inserted.update((app_id, event_id) for event_id in new_ids)

    claimed: list[StoredEvents] = []
    for submission in submissions:
        stored = StoredEvents()
        for event in submission.events:
            key = (submission.app_id, event.event_id or "")
            new = event.event_id is None or (first[key] is event and key in inserted)
            (stored.accepted if new else stored.duplicates).append(event)
        claimed.append(stored)
    return claimed


# (app id, version) of a release.
ReleaseKey = tuple[int, str]


def _release_ids(session: Session, keys: set[ReleaseKey]) -> dict[ReleaseKey, int]:
    values = {
        "app_ids": sorted({app_id for app_id, _ in keys}),
        "versions": sorted({version for _, version in keys}),
    }
    rows = session.execute(RELEASE_IDS, values)
    found = {(row.app_id, row.version): row.id for row in rows}
    return {key: found[key] for key in keys if key in found}


def ensure_releases(
    session: Session, keys: set[ReleaseKey], now: datetime
) -> dict[ReleaseKey, int]:
    """Return the id of each app's release of a version, creating missing ones."""
    release_ids = _release_ids(session, keys)
    missing = sorted(keys - release_ids.keys())
    if not missing:
        return release_ids

    # When a concurrent batch creates the same release, the insert does
    # nothing and the second select finds that batch's row.
    rows = [
        {
            "app_id": app_id,
            "version": version,
            "declared": False,
            "created_at": now,
            "updated_at": now,
        }
        for app_id, version in missing
    ]
    upsert(session, Release, rows, conflict=["app_id", "version"])
    created = _release_ids(session, keys)
    assert created.keys() == keys  # inserted above or by a concurrent batch
    return created


def _move_install(excluded: Any) -> dict[str, Any]:
    return {
        "release_id": excluded.release_id,
        "last_seen_at": excluded.last_seen_at,
    }


def record_installs(session: Session, origins: list[Origin]) -> None:
    """Store each install's current release and last-seen time.

    When a batch holds several requests of one install, the last one sets
    its release.
    """
    rows: dict[tuple[int, bytes], dict[str, Any]] = {}
    for origin in origins:
        key = (origin.app_id, origin.install_hash)
        first_seen = rows[key]["first_seen_at"] if key in rows else origin.received_at
        rows[key] = {
            "app_id": origin.app_id,
            "install_hash": origin.install_hash,
            "release_id": origin.release_id,
            "first_seen_at": first_seen,
            "last_seen_at": origin.received_at,
        }
    upsert(
        session,
        Install,
        [rows[key] for key in sorted(rows)],
        conflict=["app_id", "install_hash"],
        update=_move_install,
    )


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


def _origins(
    session: Session,
    settings: Settings,
    submissions: list[Submission],
    claimed: list[StoredEvents],
) -> list[tuple[Submission, StoredEvents, Origin]]:
    """Return an origin per submission with new events, creating its release."""
    fresh = [(s, c) for s, c in zip(submissions, claimed, strict=True) if c.accepted]
    if not fresh:
        return []
    now = max(submission.received_at for submission, _ in fresh)
    releases = ensure_releases(session, {(s.app_id, s.version) for s, _ in fresh}, now)
    return [
        (
            submission,
            stored,
            Origin(
                submission.app_id,
                releases[(submission.app_id, submission.version)],
                install_hash(settings.secret, submission.app_id, submission.install_id),
                submission.sdk,
                submission.received_at,
            ),
        )
        for submission, stored in fresh
    ]


@dataclass
class _MatchedDomains:
    """The registered domain of each hostname of a batch, with its id and label.

    Ids and labels are read once per hostname, so that the per-event loops
    touch no ORM attribute, which made up a fifth of storing a batch.
    """

    domains: dict[str, Domain | None]
    ids: dict[str, int | None] = field(init=False)
    labels: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        items = self.domains.items()
        self.ids = {host: domain.id if domain else None for host, domain in items}
        self.labels = {host: domain_label(domain) for host, domain in items}


@dataclass
class _BatchRows:
    """Rows that every request of a batch adds to, written once at the end."""

    pinsets: dict[PinsetKey, Pinset] = field(default_factory=dict)
    certificates: dict[bytes, x509.Certificate] = field(default_factory=dict)
    failures: list[Received] = field(default_factory=list)
    shared: SharedRows = field(default_factory=SharedRows)

    def add(
        self,
        settings: Settings,
        origin: Origin,
        stored: StoredEvents,
        matched: _MatchedDomains,
    ) -> None:
        """Classify and count one request's new events, and label them."""
        events = [(event, matched.ids[event.hostname]) for event in stored.accepted]
        for domain_id, pinset in reported_pinsets(events).items():
            self.pinsets[(origin.release_id, domain_id)] = pinset

        failures = [
            (event, matched.domains[event.hostname])
            for event in stored.accepted
            if event.type == "pin_failure"
        ]
        classified = classify_failures(settings, origin, failures)
        self.certificates.update(classified.certificates)
        self.failures.extend((origin, failure) for failure in classified.failures)
        stored.failures = failure_labels(classified.failures)

        checked = [pair for pair in events if pair[0].type == "pin_check"]
        stored.checks = [(matched.labels[e.hostname], e.count) for e, _ in checked]
        used = {domain_id for _, domain_id in events if domain_id is not None}
        self.shared.add(origin, used, *count_checks(checked))


def store_submissions(
    session: Session, settings: Settings, submissions: list[Submission]
) -> list[StoredEvents]:
    """Store the submissions of a batch of requests, and return each one's outcome.

    Each table gets one statement for the whole batch, or one per app, so a
    batch costs about as many round trips as a single request.
    """
    claimed = claim_event_ids(session, submissions)
    origins = _origins(session, settings, submissions, claimed)
    if not origins:
        return claimed
    record_installs(session, [origin for _, _, origin in origins])
    hostnames = {e.hostname for _, stored, _ in origins for e in stored.accepted}
    matched = _MatchedDomains(
        match_domains(session, hostnames, cache_seconds(settings))
    )

    rows = _BatchRows()
    for _, stored, origin in origins:
        rows.add(settings, origin, stored, matched)
    now = max(origin.received_at for _, _, origin in origins)
    learn_pinsets(session, rows.pinsets, now)
    store_certificates(session, rows.certificates, now)
    store_failures(session, settings, rows.failures)

    # The rows below are shared by every request of an app and domain, and on
    # PostgreSQL each update locks its row until commit. Writing them last,
    # after the CPU work, keeps concurrent batches waiting the least.
    write_shared_rows(session, rows.shared)
    return claimed
