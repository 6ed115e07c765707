"""Accepting a request body: parse and check it, store it, then count and respond.

``plan_events`` and ``plan_report`` only read the body. They raise the
client's error or return a ``Plan``. ``store_plans`` writes the plans of many
requests in the caller's transaction, and ``build_response`` builds each
response and counts its events once that transaction is committed. So a
response is only sent for events that are in the database, and counters only
count committed ones. All of them run on the ingest writer's thread
(``service.ingest.writer``).
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from service.core.errors import Forbidden
from service.core.logging import get_logger
from service.core.settings import Settings
from service.ingest.body import JsonTooDeep, load_json
from service.ingest.context import Submission, storable_text
from service.ingest.counters import EventCounts
from service.ingest.events import AppIdentity, RejectedEvent, UnrecognisedReport
from service.ingest.keys import Sender
from service.ingest.native import parse_native, rejected_type_labels
from service.ingest.quarantine import quarantine_report
from service.ingest.reports import parse_report
from service.ingest.schemas import EventsAccepted, RejectedEventOut, ReportAccepted
from service.ingest.store import StoredEvents, store_submissions

log = get_logger(__name__)

# Stand-ins for reports without app-vendor-id or app-version, which RFC 7469
# reports never carry. All such reports of an app count as one install.
UNKNOWN_INSTALL = "unknown"
UNKNOWN_VERSION = "unknown"
MAX_VERSION_LENGTH = 64
MAX_SDK_LENGTH = 200

IngestResponse = EventsAccepted | ReportAccepted


@dataclass
class Plan:
    """A parsed request: the rows it stores and the facts its response needs.

    A plan contains a ``submission`` of events, or a ``quarantined`` report
    body with the reason it matched no format.
    """

    sender: Sender
    report: bool
    submission: Submission | None = None
    quarantined: tuple[bytes, str] | None = None
    received_at: datetime | None = None
    rejected: list[RejectedEvent] = field(default_factory=list)
    # The ``type`` metric label of each rejected native event.
    rejected_types: list[str] = field(default_factory=list)


def check_app(identity: AppIdentity | None, sender: Sender) -> None:
    """Raise ``app_mismatch`` when the body names another app than the key's."""
    if identity is None:
        return
    platform = identity.platform.lower() if identity.platform else sender.platform
    bundle_id = identity.bundle_id or sender.bundle_id
    if (platform, bundle_id) != (sender.platform, sender.bundle_id):
        raise Forbidden(
            f"The ingest key belongs to {sender.ref}, but the body names "
            f"{platform}:{bundle_id}.",
            code="app_mismatch",
        )


def plan_events(
    settings: Settings, sender: Sender, body: bytes, received_at: datetime
) -> Plan:
    """Parse and check a ``POST /v1/events`` body."""
    document = load_json(body)
    batch = parse_native(document, settings)
    check_app(batch.app, sender)
    assert batch.app is not None  # parse_native always names the version
    submission = Submission(
        app_id=sender.app_id,
        version=batch.app.version,
        install_id=batch.install_id,
        sdk=batch.sdk,
        received_at=received_at,
        events=[event for _, event in batch.events],
    )
    return Plan(
        sender,
        report=False,
        submission=submission,
        rejected=batch.rejected,
        rejected_types=rejected_type_labels(document, batch.rejected),
    )


def _quarantine(
    sender: Sender, body: bytes, reason: str, received_at: datetime
) -> Plan:
    return Plan(sender, True, quarantined=(body, reason), received_at=received_at)


def plan_report(
    settings: Settings, sender: Sender, body: bytes, received_at: datetime
) -> Plan:
    """Parse a ``POST /v1/reports`` body into one failure, or plan its quarantine."""
    try:
        document = load_json(body)
    except JsonTooDeep as exc:
        return _quarantine(sender, body, exc.message, received_at)
    report = parse_report(document, settings)
    if isinstance(report, UnrecognisedReport):
        return _quarantine(sender, body, report.reason, received_at)
    check_app(report.app, sender)

    version = report.app.version if report.app else UNKNOWN_VERSION
    submission = Submission(
        app_id=sender.app_id,
        version=storable_text(version, MAX_VERSION_LENGTH) or UNKNOWN_VERSION,
        install_id=report.install_id or UNKNOWN_INSTALL,
        sdk=storable_text(report.sdk, MAX_SDK_LENGTH),
        received_at=received_at,
        events=[report.event],
    )
    return Plan(sender, report=True, submission=submission)


def store_plans(
    session: Session, settings: Settings, plans: list[Plan]
) -> list[StoredEvents | None]:
    """Write every plan in the session, without committing.

    Returns the stored events of each plan, None for a quarantined report.
    """
    for plan in plans:
        if plan.quarantined is not None:
            assert plan.received_at is not None  # set with every quarantine
            body, reason = plan.quarantined
            app_id = plan.sender.app_id
            quarantine_report(session, settings, app_id, body, reason, plan.received_at)

    submissions = [plan.submission for plan in plans if plan.submission is not None]
    stored = store_submissions(session, settings, submissions)
    outcomes: list[StoredEvents | None] = []
    remaining = iter(stored)
    for plan in plans:
        outcomes.append(next(remaining) if plan.submission is not None else None)
    return outcomes


def build_response(
    counts: EventCounts,
    plan: Plan,
    stored: StoredEvents | None,
    request_id: str | None = None,
) -> IngestResponse:
    """Count a committed plan's events and build the client's response.

    ``request_id`` goes into the log lines, which the writer's thread writes
    outside the request's own logging context.
    """
    if stored is None:
        counts.add_quarantined()
        assert plan.quarantined is not None
        body, reason = plan.quarantined
        log.info(
            "report_quarantined",
            request_id=request_id,
            app=plan.sender.ref,
            size=len(body),
            reason=reason,
        )
        return ReportAccepted(accepted=0, duplicates=0, quarantined=1, rejected=[])

    assert plan.submission is not None
    version = plan.submission.version
    counts.add(plan.sender, version, stored, plan.rejected_types)
    if plan.report:
        return ReportAccepted(
            accepted=len(stored.accepted), duplicates=0, quarantined=0, rejected=[]
        )
    if plan.rejected:
        codes = sorted({rejected.code for rejected in plan.rejected})
        log.info(
            "events_rejected",
            request_id=request_id,
            app=plan.sender.ref,
            count=len(plan.rejected),
            codes=codes,
        )
    return EventsAccepted(
        accepted=len(stored.accepted),
        duplicates=len(stored.duplicates),
        rejected=[RejectedEventOut(**vars(rejected)) for rejected in plan.rejected],
    )
