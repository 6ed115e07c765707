"""Failure analysis endpoints: grouped failures of a domain, and one incident."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from service.analysis.classify import Classification
from service.analysis.groups import FailureQuery, list_failure_groups
from service.analysis.incidents import build_incident, get_signature
from service.analysis.schemas import FailureList, GroupBy, Incident
from service.core.db import PRINTABLE_TEXT, utcnow
from service.core.deps import SessionDep, SettingsDep
from service.core.errors import InvalidInput, error_responses
from service.registry.auth import ReaderDep
from service.registry.lookup import get_app, get_domain

router = APIRouter(prefix="/v1", tags=["failures"])

DEFAULT_RANGE = timedelta(hours=24)


def _invalid_time(name: str, value: datetime, problem: str) -> InvalidInput:
    return InvalidInput(
        f"{name} {value.isoformat()!r} {problem}", code="invalid_time_range"
    )


def _as_utc(name: str, value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise _invalid_time(
            name,
            value,
            "has no time zone: use RFC 3339, for example 2026-01-31T00:00:00Z",
        )
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise _invalid_time(
            name, value, "is outside the years 1 to 9999 in UTC"
        ) from exc


def time_range(
    since: datetime | None, until: datetime | None
) -> tuple[datetime, datetime]:
    """Return the requested range in UTC, by default the 24 hours before now.

    Times are converted to UTC first, because hourly counts start at whole
    UTC hours.
    """
    start = _as_utc("since", since)
    end = _as_utc("until", until) or utcnow()
    if start is None:
        try:
            start = end - DEFAULT_RANGE
        except OverflowError as exc:
            raise _invalid_time(
                "until", end, "is too early for the default 24-hour range: set since"
            ) from exc
    if start >= end:
        raise InvalidInput(
            f"since ({start.isoformat()}) must be before until ({end.isoformat()})",
            code="invalid_time_range",
        )
    return start, end


@router.get(
    "/domains/{hostname}/failures",
    response_model=FailureList,
    responses=error_responses(401, 403, 404, 422),
)
def list_failures(
    hostname: str,
    session: SessionDep,
    _caller: ReaderDep,
    group_by: GroupBy = "signature",
    since: Annotated[
        datetime | None, Query(description="Start (RFC 3339); default until - 24 h.")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="End (RFC 3339), exclusive; default now.")
    ] = None,
    classification: Classification | None = None,
    app: Annotated[
        str | None, Query(description="Only this app, as <platform>:<bundle_id>.")
    ] = None,
    version: Annotated[
        str | None,
        Query(
            max_length=64, pattern=PRINTABLE_TEXT, description="Only this app version."
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Maximum groups.")] = 50,
) -> FailureList:
    """List a domain's failures in a time range, grouped, most occurrences first.

    `group_by` is `signature` (one incident: a classification and a served key
    set; `key` is the id for `GET /v1/failures/{signature}`), `classification`,
    `version` (per app) or `platform`. Each group has its exact `occurrences`,
    the `classifications` behind them, and the apps and versions affected.

    Counts are kept per hour of receipt, so the range is read in whole hours:
    an hour counts when it starts at or after `since` rounded down to the hour
    and before `until`. `first_seen` and `last_seen` are exact for an incident
    whose failures all fall in the range, and accurate to the hour otherwise.

    `unique_installs` counts the installs that hit the group's signatures
    before `until`, including hits before `since`. It is exact for signature,
    classification and platform groups (and for one app with `app`), and null
    for version groups or with `version`, because installs are not stored per
    version of their failures.
    """
    domain = get_domain(session, hostname)
    start, end = time_range(since, until)
    query = FailureQuery(
        domain_id=domain.id,
        since=start,
        until=end,
        group_by=group_by,
        classification=classification,
        app_id=get_app(session, app).id if app else None,
        version=version,
        limit=limit,
    )
    groups, total = list_failure_groups(session, query)
    return FailureList(
        domain=domain.hostname,
        group_by=group_by,
        since=start,
        until=end,
        total_occurrences=total,
        groups=groups,
    )


@router.get(
    "/failures/{signature}",
    response_model=Incident,
    responses=error_responses(401, 403, 404),
)
def get_incident(
    signature: str, session: SessionDep, settings: SettingsDep, _caller: ReaderDep
) -> Incident:
    """Explain one incident: why its failures happened, where, and how often.

    `signature` is the `key` of a signature group (URL-safe base64; standard
    base64 and hex work too). The response gives the classification and a
    plain-sentence `verdict`, the served keys with their registration status,
    all-time counts per app version, and the certificate-by-certificate
    breakdown of the latest sampled failure (`sample`). Interception, captive
    portals and clock skew are marked `caused_by_network_or_device`: they never
    count against removal readiness. A chain that ends at a root listed in the
    `inspection_roots` setting names it in `sample.inspection_root`.
    """
    found = get_signature(session, signature)
    return build_incident(session, found, settings.inspection_roots)
