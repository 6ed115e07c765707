"""Gauges derived from the database, computed on scrape and cached briefly.

Every replica reads the same database, so these gauges are identical across
processes; dashboards and alerts aggregate them with ``max without (instance, pod)``.
"""

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from service.core.db import utcnow
from service.core.logging import get_logger
from service.ingest.models import AppDomain, Install
from service.metrics.labels import VersionLabels
from service.pins.pins import is_placeholder
from service.readiness.compute import compute_readiness_of_domains
from service.readiness.schemas import ReadinessReport
from service.registry.models import App, Domain, Release, ReleasePinset

log = get_logger(__name__)

GaugeRows = list[tuple[tuple[str, ...], float]]


@dataclass
class Gauge:
    name: str
    documentation: str
    labels: tuple[str, ...]
    rows: GaugeRows = field(default_factory=list)

    def add(self, value: float, *label_values: str) -> None:
        self.rows.append((label_values, value))

    def family(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labels)
        for label_values, value in self.rows:
            family.add_metric(list(label_values), value)
        return family


def _gauges() -> dict[str, Gauge]:
    specs = [
        (
            "active_installs",
            "Installs active in the domain's window.",
            ("domain", "app"),
        ),
        (
            "pin_adoption_ratio",
            "Share of an app's active installs whose build accepts the pin.",
            ("domain", "app", "spki_sha256", "role"),
        ),
        (
            "rotation_ready",
            "1 when every app using the domain is ready to rotate to the pin.",
            ("domain", "spki_sha256"),
        ),
        (
            "adoption_threshold_ratio",
            "Adoption a backup pin needs before rotation.",
            ("domain",),
        ),
        (
            "pin_served_ratio",
            "Share of checks in the quiet period whose served chain had the pin.",
            ("domain", "spki_sha256"),
        ),
        (
            "pin_removable",
            "1 when the pin can leave the next release.",
            ("domain", "spki_sha256"),
        ),
        ("backup_pins", "Usable backup pins registered for the domain.", ("domain",)),
        (
            "pin_info",
            "Registered pins with their role and label (value is always 1).",
            ("domain", "spki_sha256", "role", "label"),
        ),
        (
            "pin_not_after_timestamp_seconds",
            "Expiry of the certificate a pin was registered from.",
            ("domain", "spki_sha256"),
        ),
        (
            "pinset_expiry_timestamp_seconds",
            "Expiry of a release's pinset for the domain.",
            ("domain", "app", "app_version"),
        ),
        (
            "last_event_timestamp_seconds",
            "Receive time of the latest event of an app for the domain.",
            ("domain", "app"),
        ),
        (
            "domain_info",
            "Registered domains with their owner team (value is always 1).",
            ("domain", "team"),
        ),
    ]
    return {key: Gauge(f"pinwatch_{key}", doc, labels) for key, doc, labels in specs}


class DatabaseCollector(Collector):
    """Compute the database gauges at most once per ``cache_seconds``."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        versions: VersionLabels,
        cache_seconds: float = 15.0,
    ) -> None:
        self.sessions = sessions
        self.versions = versions
        self.cache_seconds = cache_seconds
        self._families: list[Metric] = []
        self._computed_at = float("-inf")
        self._last_success = 0.0
        self._duration = 0.0
        self._lock = threading.Lock()

    def describe(self) -> Iterable[Metric]:
        # Describing nothing keeps registration from running a collection.
        return []

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if time.monotonic() - self._computed_at >= self.cache_seconds:
                self._refresh()
            families = list(self._families)
        yield from families
        yield from self._own_families()

    def _refresh(self) -> None:
        started = time.perf_counter()
        try:
            with self.sessions() as session:
                gauges = self._compute(session, utcnow())
        except SQLAlchemyError as exc:
            log.error("metrics_collect_failed", error=type(exc).__name__)
            return
        finally:
            self._duration = time.perf_counter() - started
        self._families = [gauge.family() for gauge in gauges.values()]
        self._computed_at = time.monotonic()
        self._last_success = time.time()

    def _own_families(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "pinwatch_collect_duration_seconds",
            "Time the last collection of database gauges took.",
            value=self._duration,
        )
        yield GaugeMetricFamily(
            "pinwatch_collect_last_success_timestamp_seconds",
            "When the database gauges were last collected successfully.",
            value=self._last_success,
        )

    def _compute(self, session: Session, now: datetime) -> dict[str, Gauge]:
        gauges = _gauges()
        apps = {app.id: app.ref for app in session.scalars(select(App))}
        self._load_versions(session, now)
        # Every query below covers all domains, so a collection costs a few
        # queries however many domains there are.
        query = select(Domain).options(selectinload(Domain.pins))
        domains = session.scalars(query.order_by(Domain.hostname)).all()
        links = _app_links(session)
        expiries = _pinset_expiries(session)
        reports = compute_readiness_of_domains(session, domains, now)
        for domain, report in zip(domains, reports, strict=True):
            _add_registry(gauges, domain)
            _add_activity(gauges, domain, links.get(domain.id, []), apps, report)
            _add_pinset_expiry(
                gauges, domain, expiries.get(domain.id, []), apps, self.versions
            )
            _add_readiness(gauges, domain, report)
        return gauges

    def _load_versions(self, session: Session, now: datetime) -> None:
        since = now - timedelta(days=7)
        installs = func.count().label("installs")
        rows = session.execute(
            select(Install.app_id, Release.version, installs)
            .join(Release, Release.id == Install.release_id)
            .where(Install.last_seen_at >= since)
            .group_by(Install.app_id, Release.version)
            .order_by(Install.app_id, installs.desc(), Release.version)
        ).all()
        by_app: dict[int, list[str]] = {}
        for app_id, version, _count in rows:
            by_app.setdefault(app_id, []).append(version)
        for app_id, versions in by_app.items():
            self.versions.load(app_id, versions)


def _add_registry(gauges: dict[str, Gauge], domain: Domain) -> None:
    host = domain.hostname
    gauges["domain_info"].add(1, host, domain.owner_team)
    gauges["adoption_threshold_ratio"].add(domain.adoption_threshold, host)
    usable_backups = 0
    for pin in domain.pins:
        gauges["pin_info"].add(1, host, pin.spki_sha256, pin.role, pin.label)
        if pin.not_after is not None:
            expiry = pin.not_after.timestamp()
            gauges["pin_not_after_timestamp_seconds"].add(expiry, host, pin.spki_sha256)
        if pin.role == "backup" and not is_placeholder(pin.spki_sha256):
            usable_backups += 1
    gauges["backup_pins"].add(usable_backups, host)


def _app_links(session: Session) -> dict[int, list[AppDomain]]:
    links: dict[int, list[AppDomain]] = {}
    for link in session.scalars(select(AppDomain)):
        links.setdefault(link.domain_id, []).append(link)
    return links


def _add_activity(
    gauges: dict[str, Gauge],
    domain: Domain,
    links: list[AppDomain],
    apps: dict[int, str],
    report: ReadinessReport,
) -> None:
    # Readiness counted the active installs of every app that uses the domain.
    for link in links:
        app = apps[link.app_id]
        active = report.active_installs.get(app, 0)
        gauges["active_installs"].add(float(active), domain.hostname, app)
        if link.last_event_at is not None:
            last = link.last_event_at.timestamp()
            gauges["last_event_timestamp_seconds"].add(last, domain.hostname, app)


ExpiryRow = tuple[int, str, str, date | None]


def _pinset_expiries(session: Session) -> dict[int, list[ExpiryRow]]:
    """Return (app id, version, source, expiry) of each pinset with an expiry."""
    rows = session.execute(
        select(
            ReleasePinset.domain_id,
            Release.app_id,
            Release.version,
            ReleasePinset.source,
            ReleasePinset.expires,
        )
        .join(ReleasePinset, ReleasePinset.release_id == Release.id)
        .where(ReleasePinset.expires.is_not(None))
        .order_by(
            ReleasePinset.domain_id,
            ReleasePinset.source,
            Release.app_id,
            Release.version,
        )
    )
    expiries: dict[int, list[ExpiryRow]] = {}
    for domain_id, app_id, version, source, expires in rows:
        row = (app_id, version, source, expires)
        expiries.setdefault(domain_id, []).append(row)
    return expiries


def _add_pinset_expiry(
    gauges: dict[str, Gauge],
    domain: Domain,
    rows: list[ExpiryRow],
    apps: dict[int, str],
    versions: VersionLabels,
) -> None:
    # "declared" sorts before "learned", so a declared expiry wins; versions
    # folded into "other" show the earliest expiry among them.
    effective: dict[tuple[int, str], float] = {}
    for app_id, version, _source, expires in rows:
        if expires is None:
            continue
        midnight = datetime(expires.year, expires.month, expires.day, tzinfo=UTC)
        effective.setdefault((app_id, version), midnight.timestamp())
    earliest: dict[tuple[str, str], float] = {}
    for (app_id, version), expiry in effective.items():
        key = (apps[app_id], versions.label(app_id, version))
        earliest[key] = min(expiry, earliest.get(key, expiry))
    for (app, label), expiry in sorted(earliest.items()):
        gauges["pinset_expiry_timestamp_seconds"].add(
            expiry, domain.hostname, app, label
        )


def _add_readiness(
    gauges: dict[str, Gauge], domain: Domain, report: ReadinessReport
) -> None:
    host = domain.hostname
    for item in report.rotate:
        gauges["rotation_ready"].add(float(item.ready), host, item.spki_sha256)
        for app in item.apps:
            gauges["pin_adoption_ratio"].add(
                app.adoption, host, app.app, item.spki_sha256, "backup"
            )
    for removal in report.remove:
        gauges["pin_served_ratio"].add(removal.served_share, host, removal.spki_sha256)
        gauges["pin_removable"].add(float(removal.removable), host, removal.spki_sha256)
