"""Readiness endpoints: rotate and removal readiness, and preflight of a chain."""

from fastapi import APIRouter
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.core.db import utcnow
from service.core.deps import SessionDep, SettingsDep
from service.core.errors import error_responses
from service.readiness.compute import compute_preflight, compute_readiness
from service.readiness.preflight import candidate_pins
from service.readiness.schemas import PreflightReport, PreflightRequest, ReadinessReport
from service.readiness.snapshots import readiness_snapshots, snapshot_seconds
from service.registry.auth import ReaderDep
from service.registry.lookup import get_domain

router = APIRouter(prefix="/v1/domains", tags=["readiness"])


@router.get(
    "/{hostname}/readiness",
    response_model=ReadinessReport,
    responses=error_responses(401, 403, 404),
)
def get_readiness(
    hostname: str, session: SessionDep, settings: SettingsDep, _caller: ReaderDep
) -> ReadinessReport:
    """Report whether the backend can rotate to a backup key, and which old pins can go.

    **rotate** has one item per backup pin. For every app that uses the domain
    it counts the active installs (an event within `window_days`) by the
    release of their latest event. A release accepts the key when its pinset
    (declared, else learned from events) contains it (`covered_by_pin`), or
    when its pinning is not enforced because the pinset expired or the app
    turned enforcement off (`unenforced`: accepted, but unprotected). A release
    with no known pinset for the domain counts as rejecting until its release
    is declared. An app is ready when `adoption` reaches `adoption_threshold`
    with at least `min_installs` active installs. The pin is ready when every
    app is ready, and its `adoption` is the lowest over the apps.

    **remove** has one item per current or retired pin: the share of checks in
    the last `removal_quiet_days` whose served chain contained the key. The pin
    is removable when that share is at most `removal_max_share`, there were at
    least `removal_min_checks` checks, and no failure in the period (other than
    interception, captive portal or clock skew) showed the key.

    Counting the active installs reads every install in the window, so the
    report can come from a snapshot that each server process keeps per
    domain. A snapshot is used until it is `PINWATCH_READINESS_CACHE_SECONDS`
    old: 30 s unless set, and never in development and test. While a stale
    report is recomputed, other requests get the previous one, so its age
    can pass the limit by the time one computation takes. `computed_at` is
    when the report was computed. Registry changes made through the same
    process show at once.
    """
    domain = get_domain(session, hostname)
    max_age = snapshot_seconds(settings)
    if max_age <= 0:
        return compute_readiness(session, domain, utcnow())

    snapshots = readiness_snapshots(_engine(session), max_age)
    return snapshots.report(
        domain.id, lambda: compute_readiness(session, domain, utcnow())
    )


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


@router.post(
    "/{hostname}/preflight",
    response_model=PreflightReport,
    responses=error_responses(401, 403, 404, 422),
)
def preflight(
    hostname: str,
    body: PreflightRequest,
    session: SessionDep,
    settings: SettingsDep,
    _caller: ReaderDep,
) -> PreflightReport:
    """Measure which active installs would accept a candidate chain or set of pins.

    Send `{"chain": [PEM, ...]}` (every certificate's key counts, leaf,
    intermediates and root) or `{"pins": [text, ...]}`, not both. The response
    gives the share of active installs over every app that would accept it,
    and per app the same fields as readiness. Invalid certificates are
    rejected with `invalid_certificate`, invalid pin text with `invalid_pin`.
    """
    domain = get_domain(session, hostname)
    pins, warnings = candidate_pins(body, settings)
    return compute_preflight(session, domain, pins, utcnow(), warnings)
