"""The active fleet of a domain: installs per app and release, with their pinsets.

Readiness and preflight both start from this snapshot, so that the installs are
counted once however many keys are then measured against it.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
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
    apps = _apps_using(session, domain)
    since = now - timedelta(days=domain.window_days)
    counts = _active_installs(session, list(apps), since)
    releases = _releases(session, list(apps))
    pinsets = _pinsets(session, domain, list(apps), now.date())

    fleets = {app_id: AppFleet(ref) for app_id, ref in apps.items()}
    for (app_id, release_id), installs in counts.items():
        version = releases.get(release_id, f"release {release_id}")
        pinset = pinsets.get(release_id)
        fleets[app_id].releases.append(ReleaseInstalls(version, installs, pinset))
    return sorted(fleets.values(), key=lambda fleet: fleet.ref)


def _apps_using(session: Session, domain: Domain) -> dict[int, str]:
    rows = session.execute(
        select(App.id, App.platform, App.bundle_id)
        .join(AppDomain, AppDomain.app_id == App.id)
        .where(AppDomain.domain_id == domain.id)
    )
    return {app_id: f"{platform}:{bundle_id}" for app_id, platform, bundle_id in rows}


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


def _pinsets(
    session: Session, domain: Domain, app_ids: list[int], today: date
) -> dict[int, Pinset]:
    """Return the effective pinset per release, preferring declared over learned."""
    if not app_ids:
        return {}
    rows = session.execute(
        select(ReleasePinset, Release.pinset_expires)
        .join(Release, Release.id == ReleasePinset.release_id)
        .where(Release.app_id.in_(app_ids), ReleasePinset.domain_id == domain.id)
    )
    chosen: dict[int, tuple[ReleasePinset, date | None]] = {}
    for row, release_expires in rows:
        current = chosen.get(row.release_id)
        if current is None or row.source == "declared":
            chosen[row.release_id] = (row, release_expires)
    return {
        release_id: _effective(row, release_expires, today)
        for release_id, (row, release_expires) in chosen.items()
    }


def _effective(row: ReleasePinset, release_expires: date | None, today: date) -> Pinset:
    # The pinset's own expiry wins. The release-wide date covers pinsets that
    # were stored without one.
    expires = row.expires or release_expires
    expired = expires is not None and expires < today
    return Pinset(pins=usable_pins(row.pins), enforced=row.enforced and not expired)


def usable_pins(pins: list[str]) -> frozenset[str]:
    """Drop placeholders and duplicates from canonical pins."""
    return frozenset(pin for pin in pins if not is_placeholder(pin))
