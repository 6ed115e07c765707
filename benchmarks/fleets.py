"""Large fleets loaded straight into PostgreSQL, for the readiness and scrape cases.

Installs and hourly counts go in with ``COPY``; registry rows through the
ORM. Every install is active: its last event is spread over the six days
before the load, inside the default seven-day window.
"""

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from benchmarks.database import add_app, add_domain, add_reader_token
from service.core.db import sqlalchemy_url
from service.ingest.models import AppDomain
from service.pins.pins import pin_text
from service.registry.models import Release, ReleasePinset

HOURS = 7 * 24
ACTIVE_SPREAD = timedelta(days=6)
# Newer versions have more installs: each has this many times the installs
# of the version after it.
VERSION_DECAY = 0.85


def make_pin(seed: int) -> str:
    return pin_text(seed.to_bytes(4, "big") * 8)


@dataclass(frozen=True)
class FleetShape:
    """How many domains, apps, versions per app and installs to load."""

    domains: int
    apps: int
    versions_per_app: int
    installs: int
    # Versions from this index on (oldest first) carry the backup pin.
    backup_from_version: int


@dataclass(frozen=True)
class Fleet:
    hostnames: list[str]
    token: str
    versions: int
    installs: int


def _psycopg_url(url: str) -> str:
    return sqlalchemy_url(url).replace("postgresql+psycopg://", "postgresql://", 1)


def version_shares(count: int) -> list[float]:
    """Return each version's share of installs, oldest first, summing to 1."""
    weights = [VERSION_DECAY ** (count - 1 - index) for index in range(count)]
    total = sum(weights)
    return [weight / total for weight in weights]


def _install_rows(
    app_id: int,
    releases: Sequence[int],
    installs: int,
    now: datetime,
    rng: random.Random,
) -> Iterator[tuple[Any, ...]]:
    counts = [int(installs * share) for share in version_shares(len(releases))]
    # The newest version takes what rounding down left over.
    counts[-1] += installs - sum(counts)
    seconds = ACTIVE_SPREAD.total_seconds()
    number = 0
    for release_id, count in zip(releases, counts, strict=True):
        for _ in range(count):
            number += 1
            seen = now - timedelta(seconds=rng.random() * seconds)
            digest = app_id.to_bytes(4, "big") + number.to_bytes(12, "big")
            yield (app_id, digest, release_id, seen, seen)


def copy_rows(
    connection: psycopg.Connection[Any],
    table: str,
    columns: Sequence[str],
    rows: Iterator[tuple[Any, ...]],
) -> int:
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    count = 0
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _hours(now: datetime) -> list[datetime]:
    top = now.replace(minute=0, second=0, microsecond=0)
    return [top - timedelta(hours=offset) for offset in range(HOURS)]


def _register(
    session: Session, shape: FleetShape, today: date
) -> tuple[list[int], dict[int, list[int]], list[int], list[str]]:
    """Register domains, apps and releases; return their ids and the domain names."""
    domain_ids: list[int] = []
    hostnames: list[str] = []
    for index in range(shape.domains):
        hostname = f"svc{index:02d}.fleet.example"
        pins = {
            make_pin(3 * index + 1): "current",
            make_pin(3 * index + 2): "backup",
            make_pin(3 * index + 3): "retired",
        }
        domain_ids.append(add_domain(session, hostname, pins).id)
        hostnames.append(hostname)
    releases: dict[int, list[int]] = {}
    for index in range(shape.apps):
        platform = "ios" if index % 2 else "android"
        app = add_app(session, platform, f"com.fleet.app{index // 2}")
        rows = [
            Release(app_id=app.id, version=f"6.{number}.0", declared=True)
            for number in range(shape.versions_per_app)
        ]
        session.add_all(rows)
        session.flush()
        releases[app.id] = [row.id for row in rows]
    _declare_pinsets(session, shape, domain_ids, releases, today)
    return domain_ids, releases, list(releases), hostnames


def _declare_pinsets(
    session: Session,
    shape: FleetShape,
    domain_ids: list[int],
    releases: dict[int, list[int]],
    today: date,
) -> None:
    rows = []
    for position, domain_id in enumerate(domain_ids):
        current, backup = make_pin(3 * position + 1), make_pin(3 * position + 2)
        for release_ids in releases.values():
            for number, release_id in enumerate(release_ids):
                pins = (
                    [current, backup]
                    if number >= shape.backup_from_version
                    else [current]
                )
                expires = today + timedelta(days=30 + number) if number % 2 else None
                rows.append(
                    {
                        "release_id": release_id,
                        "domain_id": domain_id,
                        "source": "declared",
                        "pins": pins,
                        "enforced": True,
                        "expires": expires,
                    }
                )
    session.execute(insert(ReleasePinset), rows)


def _link_apps(
    session: Session, domain_ids: list[int], app_ids: list[int], now: datetime
) -> None:
    rows = [
        {
            "app_id": app_id,
            "domain_id": domain_id,
            "first_seen_at": now,
            "last_event_at": now,
        }
        for domain_id in domain_ids
        for app_id in app_ids
    ]
    session.execute(insert(AppDomain), rows)


def _check_rows(
    domain_ids: list[int], app_ids: list[int], hours: list[datetime]
) -> Iterator[tuple[Any, ...]]:
    for domain_id in domain_ids:
        for app_id in app_ids:
            for hour in hours:
                yield (domain_id, app_id, hour, 5000)


def _served_rows(
    domain_ids: list[int], hours: list[datetime]
) -> Iterator[tuple[Any, ...]]:
    for position, domain_id in enumerate(domain_ids):
        for pin, checks in (
            (make_pin(3 * position + 1), 20_000),
            (make_pin(3 * position + 3), 3),
        ):
            for hour in hours:
                yield (domain_id, pin, hour, checks, hour + timedelta(minutes=59))


def load_fleet(engine: Engine, url: str, shape: FleetShape) -> Fleet:
    """Register and load a fleet of ``shape`` into a migrated PostgreSQL database."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        domain_ids, releases, app_ids, hostnames = _register(session, shape, now.date())
        _link_apps(session, domain_ids, app_ids, now)
        token = add_reader_token(session)
        session.commit()

    rng = random.Random(20260501)  # noqa: S311 (test data, not a secret)
    per_app = shape.installs // shape.apps
    with psycopg.connect(_psycopg_url(url)) as connection:
        loaded = 0
        for app_id, release_ids in releases.items():
            rows = _install_rows(app_id, release_ids, per_app, now, rng)
            columns = (
                "app_id",
                "install_hash",
                "release_id",
                "first_seen_at",
                "last_seen_at",
            )
            loaded += copy_rows(connection, "installs", columns, rows)
        hours = _hours(now)
        copy_rows(
            connection,
            "check_counts",
            ("domain_id", "app_id", "hour", "checks"),
            _check_rows(domain_ids, app_ids, hours),
        )
        copy_rows(
            connection,
            "served_key_counts",
            ("domain_id", "spki_sha256", "hour", "checks", "last_served_at"),
            _served_rows(domain_ids, hours),
        )
        connection.commit()
    _vacuum(url)
    return Fleet(hostnames, token, shape.apps * shape.versions_per_app, loaded)


def _vacuum(url: str) -> None:
    # As autovacuum would after a load: fresh statistics, and a visibility map
    # that lets counts read the install index alone.
    with psycopg.connect(_psycopg_url(url), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
