"""The rows that every request of an app and domain updates, written last.

App-domain links, hourly check counts and hourly served-key counts are shared
by all requests of an app and its domains. The requests of a batch add to one
``SharedRows``, which merges their additions, so each shared row is written
once per batch. On PostgreSQL an update locks its row until the transaction
commits. There the three upserts go out as one statement, so a batch keeps
the rows locked for one round trip and the commit. SQLite lets one
transaction write at a time, so it gets three statements.

Rows are sorted within each statement, so that concurrent batches of other
processes lock them in the same order.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from service.core.db import UTCDateTime
from service.ingest.context import Origin
from service.ingest.models import AppDomain, CheckCount, ServedKeyCount
from service.ingest.upsert import upsert

# (app id, domain id), (domain id, app id, hour) and (domain id, pin, hour).
LinkKey = tuple[int, int]
CheckKey = tuple[int, int, datetime]
ServedKey = tuple[int, str, datetime]


@dataclass
class SharedRows:
    """Additions of a batch of requests to the shared rows, merged per row."""

    # The times of the first and the last event per link.
    links: dict[LinkKey, tuple[datetime, datetime]] = field(default_factory=dict)
    checks: Counter[CheckKey] = field(default_factory=Counter)
    served: Counter[ServedKey] = field(default_factory=Counter)
    last_served: dict[ServedKey, datetime] = field(default_factory=dict)

    def add(
        self,
        origin: Origin,
        domain_ids: set[int],
        checks: Counter[int],
        served: Counter[tuple[int, str]],
    ) -> None:
        """Add one request's domains, and its checks per domain and served pin."""
        now, hour = origin.received_at, origin.hour
        for domain_id in domain_ids:
            link = (origin.app_id, domain_id)
            first, last = self.links.get(link, (now, now))
            self.links[link] = (min(first, now), max(last, now))
        for domain_id, count in checks.items():
            self.checks[(domain_id, origin.app_id, hour)] += count
        for (domain_id, pin), count in served.items():
            key = (domain_id, pin, hour)
            self.served[key] += count
            self.last_served[key] = max(now, self.last_served.get(key, now))

    def __bool__(self) -> bool:
        return bool(self.links or self.checks or self.served)


def _table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table


def _array(name: str, item: Any) -> Any:
    """Return a bound array, unnested into one row per item."""
    return func.unnest(bindparam(name, type_=postgresql.ARRAY(item)))


@cache
def _shared_upsert() -> postgresql.Insert:
    # One execution of this statement with empty arrays writes nothing. The
    # arrays of each table are unnested side by side, one row per position.
    links = postgresql.insert(_table(AppDomain)).from_select(
        ["app_id", "domain_id", "first_seen_at", "last_event_at"],
        select(
            _array("link_apps", Integer),
            _array("link_domains", Integer),
            _array("link_firsts", UTCDateTime),
            _array("link_lasts", UTCDateTime),
        ),
    )
    links = links.on_conflict_do_update(
        index_elements=["app_id", "domain_id"],
        set_={"last_event_at": links.excluded.last_event_at},
    )

    checks_table = _table(CheckCount)
    checks = postgresql.insert(checks_table).from_select(
        ["domain_id", "app_id", "hour", "checks"],
        select(
            _array("check_domains", Integer),
            _array("check_apps", Integer),
            _array("check_hours", UTCDateTime),
            _array("check_counts", BigInteger),
        ),
    )
    checks = checks.on_conflict_do_update(
        index_elements=["domain_id", "app_id", "hour"],
        set_={"checks": checks_table.c.checks + checks.excluded.checks},
    )

    served_table = _table(ServedKeyCount)
    served = postgresql.insert(served_table).from_select(
        ["domain_id", "spki_sha256", "hour", "checks", "last_served_at"],
        select(
            _array("served_domains", Integer),
            _array("served_pins", String),
            _array("served_hours", UTCDateTime),
            _array("served_counts", BigInteger),
            _array("served_times", UTCDateTime),
        ),
    )
    served = served.on_conflict_do_update(
        index_elements=["domain_id", "spki_sha256", "hour"],
        set_={
            "checks": served_table.c.checks + served.excluded.checks,
            "last_served_at": served.excluded.last_served_at,
        },
    )
    return served.add_cte(links.cte("links"), checks.cte("checks"))


def _link_rows(shared: SharedRows) -> list[dict[str, Any]]:
    return [
        {
            "app_id": app_id,
            "domain_id": domain_id,
            "first_seen_at": first,
            "last_event_at": last,
        }
        for (app_id, domain_id), (first, last) in sorted(shared.links.items())
    ]


def _check_rows(shared: SharedRows) -> list[dict[str, Any]]:
    return [
        {"domain_id": domain_id, "app_id": app_id, "hour": hour, "checks": count}
        for (domain_id, app_id, hour), count in sorted(shared.checks.items())
    ]


def _served_rows(shared: SharedRows) -> list[dict[str, Any]]:
    return [
        {
            "domain_id": domain_id,
            "spki_sha256": pin,
            "hour": hour,
            "checks": count,
            "last_served_at": shared.last_served[(domain_id, pin, hour)],
        }
        for (domain_id, pin, hour), count in sorted(shared.served.items())
    ]


def _columns(rows: list[dict[str, Any]], **names: str) -> dict[str, list[Any]]:
    """Return one array per column: ``names`` maps each array to its column."""
    return {array: [row[column] for row in rows] for array, column in names.items()}


def _touch_last_event(excluded: Any) -> dict[str, Any]:
    return {"last_event_at": excluded.last_event_at}


def _add_to_checks(excluded: Any) -> dict[str, Any]:
    return {"checks": CheckCount.checks + excluded.checks}


def _add_to_served_keys(excluded: Any) -> dict[str, Any]:
    return {
        "checks": ServedKeyCount.checks + excluded.checks,
        "last_served_at": excluded.last_served_at,
    }


def write_shared_rows(session: Session, shared: SharedRows) -> None:
    """Link apps to domains, and add the check and served-key counts."""
    if not shared:
        return
    links = _link_rows(shared)
    checks = _check_rows(shared)
    served = _served_rows(shared)
    if session.get_bind().dialect.name == "postgresql":
        values = {
            **_columns(
                links,
                link_apps="app_id",
                link_domains="domain_id",
                link_firsts="first_seen_at",
                link_lasts="last_event_at",
            ),
            **_columns(
                checks,
                check_domains="domain_id",
                check_apps="app_id",
                check_hours="hour",
                check_counts="checks",
            ),
            **_columns(
                served,
                served_domains="domain_id",
                served_pins="spki_sha256",
                served_hours="hour",
                served_counts="checks",
                served_times="last_served_at",
            ),
        }
        session.execute(_shared_upsert(), values)
        return
    served_key = ["domain_id", "spki_sha256", "hour"]
    upsert(session, AppDomain, links, ["app_id", "domain_id"], _touch_last_event)
    upsert(session, CheckCount, checks, ["domain_id", "app_id", "hour"], _add_to_checks)
    upsert(session, ServedKeyCount, served, served_key, _add_to_served_keys)
