"""Accepting a request body: parse, check the app, store, commit, then count.

The functions here run in a worker thread, because storing is blocking
database work. They commit before they return, so a response is only sent
for events that are in the database, and counters only count committed ones.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from service.core.db import utcnow
from service.core.errors import Forbidden
from service.core.logging import get_logger
from service.core.settings import Settings
from service.ingest.body import JsonTooDeep, load_json
from service.ingest.context import Submission, storable_text
from service.ingest.counters import count_events, count_quarantined
from service.ingest.events import AppIdentity, UnrecognisedReport
from service.ingest.native import parse_native, rejected_type_labels
from service.ingest.quarantine import quarantine_report
from service.ingest.reports import parse_report
from service.ingest.schemas import EventsAccepted, RejectedEventOut, ReportAccepted
from service.ingest.store import store_events
from service.metrics.metrics import Metrics
from service.registry.models import App, IngestKey

log = get_logger(__name__)

# Stand-ins for reports without app-vendor-id or app-version, which RFC 7469
# reports never carry. All such reports of an app count as one install.
UNKNOWN_INSTALL = "unknown"
UNKNOWN_VERSION = "unknown"
MAX_VERSION_LENGTH = 64
MAX_SDK_LENGTH = 200

# SQLite lets one connection write at a time and makes the others retry after
# growing sleeps, so under load a few requests wait for seconds. Threads of
# this process take turns on this lock instead, in the order they arrive.
_sqlite_writer = threading.Lock()


@contextmanager
def one_writer(session: Session) -> Iterator[None]:
    """Hold the process's SQLite write turn while storing and committing."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    with _sqlite_writer:
        yield


def check_app(identity: AppIdentity | None, app: App) -> None:
    """Raise ``app_mismatch`` when the body names another app than the key's."""
    if identity is None:
        return
    platform = identity.platform.lower() if identity.platform else app.platform
    bundle_id = identity.bundle_id or app.bundle_id
    if (platform, bundle_id) != (app.platform, app.bundle_id):
        raise Forbidden(
            f"The ingest key belongs to {app.ref}, but the body names "
            f"{platform}:{bundle_id}.",
            code="app_mismatch",
        )


def accept_events(
    session: Session, settings: Settings, metrics: Metrics, key: IngestKey, body: bytes
) -> EventsAccepted:
    """Store a ``POST /v1/events`` body and return the response for the client."""
    received_at = utcnow()
    document = load_json(body)
    batch = parse_native(document, settings)
    check_app(batch.app, key.app)
    assert batch.app is not None  # parse_native always names the version
    submission = Submission(
        app=key.app,
        version=batch.app.version,
        install_id=batch.install_id,
        sdk=batch.sdk,
        received_at=received_at,
        events=[event for _, event in batch.events],
    )

    with one_writer(session):
        stored = store_events(session, settings, submission)
        session.commit()

    rejected_types = rejected_type_labels(document, batch.rejected)
    count_events(metrics, key.app, submission.version, stored, rejected_types)
    if batch.rejected:
        codes = sorted({rejected.code for rejected in batch.rejected})
        log.info(
            "events_rejected", app=key.app.ref, count=len(rejected_types), codes=codes
        )
    return EventsAccepted(
        accepted=len(stored.accepted),
        duplicates=len(stored.duplicates),
        rejected=[RejectedEventOut(**vars(rejected)) for rejected in batch.rejected],
    )


def _quarantine(
    session: Session,
    settings: Settings,
    metrics: Metrics,
    key: IngestKey,
    body: bytes,
    reason: str,
) -> ReportAccepted:
    with one_writer(session):
        quarantine_report(session, settings, key.app_id, body, reason)
        session.commit()
    count_quarantined(metrics)
    log.info("report_quarantined", app=key.app.ref, size=len(body), reason=reason)
    return ReportAccepted(accepted=0, duplicates=0, quarantined=1, rejected=[])


def accept_report(
    session: Session, settings: Settings, metrics: Metrics, key: IngestKey, body: bytes
) -> ReportAccepted:
    """Store a ``POST /v1/reports`` body as one failure, or quarantine it."""
    received_at = utcnow()
    try:
        document = load_json(body)
    except JsonTooDeep as exc:
        return _quarantine(session, settings, metrics, key, body, exc.message)
    report = parse_report(document, settings)
    if isinstance(report, UnrecognisedReport):
        return _quarantine(session, settings, metrics, key, body, report.reason)
    check_app(report.app, key.app)

    version = report.app.version if report.app else UNKNOWN_VERSION
    submission = Submission(
        app=key.app,
        version=storable_text(version, MAX_VERSION_LENGTH) or UNKNOWN_VERSION,
        install_id=report.install_id or UNKNOWN_INSTALL,
        sdk=storable_text(report.sdk, MAX_SDK_LENGTH),
        received_at=received_at,
        events=[report.event],
    )
    with one_writer(session):
        stored = store_events(session, settings, submission)
        session.commit()

    count_events(metrics, key.app, submission.version, stored, [])
    return ReportAccepted(
        accepted=len(stored.accepted), duplicates=0, quarantined=0, rejected=[]
    )
