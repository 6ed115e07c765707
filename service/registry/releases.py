"""Releases: the pinsets each app version declares, and the effective ones."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from service.core.db import utcnow
from service.core.errors import Conflict, InvalidInput
from service.ingest.models import AppDomain
from service.registry.inputs import canonical_pin, normalize_hostname
from service.registry.lookup import match_domain
from service.registry.models import App, Domain, Release, ReleasePinset

# A declared pinset wins over one learned from telemetry.
SOURCE_PRECEDENCE = {"learned": 0, "declared": 1}


@dataclass
class DeclaredPinset:
    """The pins a request declares for one registered domain.

    ``pins`` is canonical and keeps duplicates, so that lint can report them.
    """

    domain: Domain
    hostnames: list[str] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)


def _parse_pins(hostname: str, texts: Sequence[str]) -> list[str]:
    return [
        canonical_pin(text, f"pins[{hostname!r}][{index}]")
        for index, text in enumerate(texts)
    ]


def _resolve_domain(hostname: str, domains: Sequence[Domain]) -> Domain:
    domain = match_domain(normalize_hostname(hostname), domains)
    if domain is None:
        raise InvalidInput(
            f"hostname {hostname!r} matches no registered domain; register it "
            "with PUT /v1/domains/{hostname} first",
            code="domain_not_found",
            details=[{"field": f"pins[{hostname!r}]", "hostname": hostname}],
        )
    return domain


def _merge(pinset: DeclaredPinset, hostname: str, pins: list[str]) -> None:
    if pinset.hostnames and set(pins) != set(pinset.pins):
        raise InvalidInput(
            f"hostnames {pinset.hostnames[0]!r} and {hostname!r} both belong to "
            f"domain {pinset.domain.hostname} but declare different pins; "
            "declare one pinset per registered domain",
            code="conflicting_pinsets",
        )
    if not pinset.hostnames:
        pinset.pins = pins
    pinset.hostnames.append(hostname)


def resolve_pinsets(
    session: Session, pins_by_hostname: Mapping[str, Sequence[str]]
) -> list[DeclaredPinset]:
    """Match each hostname to its registered domain and normalise its pins."""
    domains = session.scalars(select(Domain)).all()
    pinsets: dict[int, DeclaredPinset] = {}
    for hostname, texts in pins_by_hostname.items():
        domain = _resolve_domain(hostname, domains)
        pins = _parse_pins(hostname, texts)
        pinset = pinsets.setdefault(domain.id, DeclaredPinset(domain))
        _merge(pinset, hostname, pins)
    return list(pinsets.values())


def _get_or_create_release(
    session: Session, app: App, version: str
) -> tuple[Release, bool]:
    query = (
        select(Release)
        .where(Release.app_id == app.id, Release.version == version)
        .options(selectinload(Release.pinsets))
    )
    release = session.scalars(query).first()
    if release is not None:
        return release, False
    release = Release(app_id=app.id, version=version, pinsets=[], created_at=utcnow())
    session.add(release)
    return release, True


def _replace_declared_pinsets(
    release: Release, pinsets: Sequence[DeclaredPinset], expires: date | None
) -> None:
    # Rows are updated in place: the unit of work inserts before it deletes,
    # so a delete and re-insert would break the unique constraint.
    requested = {pinset.domain.id: pinset for pinset in pinsets}
    for row in [row for row in release.pinsets if row.source == "declared"]:
        if row.domain_id not in requested:
            release.pinsets.remove(row)
    existing = {
        row.domain_id: row for row in release.pinsets if row.source == "declared"
    }
    for domain_id, pinset in requested.items():
        row = existing.get(domain_id) or _new_declared_pinset(release, domain_id)
        row.pins = list(dict.fromkeys(pinset.pins))
        row.expires = expires
        row.enforced = True
        row.updated_at = utcnow()


def _new_declared_pinset(release: Release, domain_id: int) -> ReleasePinset:
    row = ReleasePinset(domain_id=domain_id, source="declared")
    release.pinsets.append(row)
    return row


def ensure_app_domain(session: Session, app_id: int, domain_id: int) -> None:
    """Record that an app uses a domain, unless it is already recorded."""
    if session.get(AppDomain, (app_id, domain_id)) is not None:
        return
    values = {"app_id": app_id, "domain_id": domain_id, "first_seen_at": utcnow()}
    if session.get_bind().dialect.name == "postgresql":
        statement = postgresql.insert(AppDomain).values(values).on_conflict_do_nothing()
        session.execute(statement)
    else:
        statement_sqlite = sqlite.insert(AppDomain).values(values)
        session.execute(statement_sqlite.on_conflict_do_nothing())


def put_release(
    session: Session,
    app: App,
    version: str,
    pinsets: Sequence[DeclaredPinset],
    expires: date | None,
    report_uri: str | None,
) -> tuple[Release, bool]:
    """Declare a release's pinsets; return the release and whether it is new.

    The declared pinsets replace the ones declared before; pinsets learned from
    telemetry stay, and count only for domains without a declared one.
    """
    release, created = _get_or_create_release(session, app, version)
    release.declared = True
    release.pinset_expires = expires
    release.report_uri = report_uri
    release.updated_at = utcnow()
    _replace_declared_pinsets(release, pinsets, expires)

    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"release {version!r} of {app.ref} was changed by another request at "
            "the same time; retry the request",
            code="concurrent_change",
        ) from exc
    for pinset in pinsets:
        ensure_app_domain(session, app.id, pinset.domain.id)
    return release, created


def list_releases(session: Session, app: App, limit: int) -> Sequence[Release]:
    """Return the app's newest releases first."""
    query = (
        select(Release)
        .where(Release.app_id == app.id)
        .options(selectinload(Release.pinsets))
        .order_by(Release.created_at.desc(), Release.id.desc())
        .limit(limit)
    )
    return session.scalars(query).all()


def effective_pinsets(release: Release) -> list[ReleasePinset]:
    """Return one pinset per domain, the declared one when there are both."""
    chosen: dict[int, ReleasePinset] = {}
    for row in sorted(
        release.pinsets, key=lambda row: SOURCE_PRECEDENCE.get(row.source, 0)
    ):
        chosen[row.domain_id] = row
    return list(chosen.values())


def domain_hostnames(session: Session) -> dict[int, str]:
    rows = session.execute(select(Domain.id, Domain.hostname))
    return {row.id: row.hostname for row in rows}
