"""The active fleet of a domain: installs per app and release, with their pinsets.

Readiness and preflight both start from this snapshot, so that the installs are
counted once however many keys are then measured against it.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from service.ingest.models import AppDomain, Install
from service.pins.pins import is_placeholder
from service.registry.models import App, Domain, Release, ReleasePinset


@dataclass(frozen=True)
class Pinset:
    """The pins a build trusts for the domain, placeholders and duplicates removed."""

    pins: frozenset[str]
    # False when the app turned enforcement off or the pinset has expired, so
    # the build accepts any chain.
    enforced: bool


@dataclass(frozen=True)
class ReleaseInstalls:
    """Active installs whose most recent event came from one release."""

    version: str
    installs: int
    # None when no pinset for the domain is declared or learned.
    pinset: Pinset | None


@dataclass
class AppFleet:
    ref: str
    releases: list[ReleaseInstalls] = field(default_factory=list)

    @property
    def active_installs(self) -> int:
        return sum(release.installs for release in self.releases)


def load_fleet(session: Session, domain: Domain, now: datetime) -> list[AppFleet]:
    """Load the apps that use the domain with their active installs per release.

    An install is active when its last event arrived within the domain's
    ``window_days`` before ``now``. Apps come sorted by reference.
    """
    return load_fleets(session, [domain], now)[domain.id]


def load_fleets(
    session: Session, domains: Sequence[Domain], now: datetime
) -> dict[int, list[AppFleet]]:
    """Load the fleet of each domain, as ``load_fleet`` does, by domain id.

    The queries cover every domain at once, so their number does not grow
    with the domains: the installs are counted once per distinct window.
    """
    domain_ids = [domain.id for domain in domains]
    apps = _apps_using(session, domain_ids)
    app_ids = sorted({app_id for used in apps.values() for app_id in used})
    windows = {domain.window_days for domain in domains}
    counts = {
        days: _active_installs(session, app_ids, now - timedelta(days=days))
        for days in sorted(windows)
    }
    releases = _releases(session, app_ids)
    pinsets = _pinsets(session, domain_ids, app_ids, now.date())
    return {
        domain.id: _assemble(
            apps.get(domain.id, {}),
            counts[domain.window_days],
            releases,
            pinsets.get(domain.id, {}),
        )
        for domain in domains
    }


def _assemble(
    apps: dict[int, str],
    counts: dict[tuple[int, int], int],
    releases: dict[int, str],
    pinsets: dict[int, Pinset],
) -> list[AppFleet]:
    fleets = {app_id: AppFleet(ref) for app_id, ref in apps.items()}
    for (app_id, release_id), installs in counts.items():
        fleet = fleets.get(app_id)
        if fleet is None:
            continue  # an app that only uses other domains of the batch
        version = releases.get(release_id, f"release {release_id}")
        pinset = pinsets.get(release_id)
        fleet.releases.append(ReleaseInstalls(version, installs, pinset))
    return sorted(fleets.values(), key=lambda fleet: fleet.ref)


def _apps_using(session: Session, domain_ids: list[int]) -> dict[int, dict[int, str]]:
    """Return the apps that use each domain: {domain id: {app id: reference}}."""
    rows = session.execute(
        select(AppDomain.domain_id, App.id, App.platform, App.bundle_id)
        .join(AppDomain, AppDomain.app_id == App.id)
        .where(AppDomain.domain_id.in_(domain_ids))
    )
    apps: dict[int, dict[int, str]] = {}
    for domain_id, app_id, platform, bundle_id in rows:
        apps.setdefault(domain_id, {})[app_id] = f"{platform}:{bundle_id}"
    return apps


def _active_installs(
    session: Session, app_ids: list[int], since: datetime
) -> dict[tuple[int, int], int]:
    """Count active installs per (app, release) in one grouped query.

    The index on (app_id, last_seen_at, release_id) covers the query, so it
    reads only the index entries inside the window.
    """
    if not app_ids:
        return {}
    rows = session.execute(
        select(Install.app_id, Install.release_id, func.count())
        .where(Install.app_id.in_(app_ids), Install.last_seen_at >= since)
        .group_by(Install.app_id, Install.release_id)
    )
    return {(app_id, release_id): count for app_id, release_id, count in rows}


def _releases(session: Session, app_ids: list[int]) -> dict[int, str]:
    if not app_ids:
        return {}
    rows = session.execute(
        select(Release.id, Release.version).where(Release.app_id.in_(app_ids))
    )
    return dict(rows.all())


# domain_id, release_id, source, pins, enforced, expires, pinset_expires
PinsetRow = Row[int, int, str, list[str], bool, date | None, date | None]


def _pinsets(
    session: Session, domain_ids: list[int], app_ids: list[int], today: date
) -> dict[int, dict[int, Pinset]]:
    """Return the effective pinset per domain and release, declared over learned."""
    if not app_ids:
        return {}
    # Columns rather than ORM objects: the metrics collector reads thousands.
    rows = session.execute(
        select(
            ReleasePinset.domain_id,
            ReleasePinset.release_id,
            ReleasePinset.source,
            ReleasePinset.pins,
            ReleasePinset.enforced,
            ReleasePinset.expires,
            Release.pinset_expires,
        )
        .join(Release, Release.id == ReleasePinset.release_id)
        .where(Release.app_id.in_(app_ids), ReleasePinset.domain_id.in_(domain_ids))
    )
    chosen: dict[tuple[int, int], PinsetRow] = {}
    for row in rows:
        key = (row.domain_id, row.release_id)
        if key not in chosen or row.source == "declared":
            chosen[key] = row
    pinsets: dict[int, dict[int, Pinset]] = {}
    for (domain_id, release_id), row in chosen.items():
        pinsets.setdefault(domain_id, {})[release_id] = _effective(row, today)
    return pinsets


def _effective(row: PinsetRow, today: date) -> Pinset:
    # The pinset's own expiry wins. The release-wide date covers pinsets that
    # were stored without one.
    expires = row.expires or row.pinset_expires
    expired = expires is not None and expires < today
    return Pinset(pins=usable_pins(row.pins), enforced=row.enforced and not expired)


def usable_pins(pins: list[str]) -> frozenset[str]:
    """Drop placeholders and duplicates from canonical pins."""
    return frozenset(pin for pin in pins if not is_placeholder(pin))
