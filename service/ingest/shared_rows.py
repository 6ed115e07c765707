"""The rows that every request of an app and domain updates, written last.

App-domain links, hourly check counts and hourly served-key counts are shared
by all requests of an app and its domains. On PostgreSQL an update locks its
row until the transaction commits, so concurrent requests queue on these
rows. There the three upserts go out as one statement, and a request holds
the locks for one round trip and the commit instead of three round trips and
the commit. SQLite lets one transaction write at a time, so it gets the three
statements.
"""

from collections import Counter
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from service.core.db import UTCDateTime
from service.ingest.checks import add_checks, add_served_keys
from service.ingest.context import Origin
from service.ingest.models import AppDomain, CheckCount, ServedKeyCount
from service.ingest.upsert import upsert


def _table(model: type[Any]) -> Table:
    table: Table = model.__table__
    return table


def _array(name: str, item: Any) -> Any:
    """Return a bound array, unnested into one row per item."""
    return func.unnest(bindparam(name, type_=postgresql.ARRAY(item)))


@cache
def _shared_upsert() -> postgresql.Insert:
    # One execution of this statement with empty arrays writes nothing.
    app_id = bindparam("app_id", type_=Integer)
    now = bindparam("now", type_=UTCDateTime)
    hour = bindparam("hour", type_=UTCDateTime)

    links = postgresql.insert(_table(AppDomain)).from_select(
        ["app_id", "domain_id", "first_seen_at", "last_event_at"],
        select(app_id, _array("link_domains", Integer), now, now),
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
            app_id,
            hour,
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
            hour,
            _array("served_counts", BigInteger),
            now,
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


def _shared_values(
    origin: Origin,
    domain_ids: set[int],
    checks: Counter[int],
    served: Counter[tuple[int, str]],
) -> dict[str, object]:
    # Sorted, so that concurrent requests lock shared rows in the same order.
    counted = sorted(checks.items())
    keys = sorted(served.items())
    return {
        "app_id": origin.app_id,
        "now": origin.received_at,
        "hour": origin.hour,
        "link_domains": sorted(domain_ids),
        "check_domains": [domain_id for domain_id, _ in counted],
        "check_counts": [count for _, count in counted],
        "served_domains": [domain_id for (domain_id, _), _ in keys],
        "served_pins": [pin for (_, pin), _ in keys],
        "served_counts": [count for _, count in keys],
    }


def _touch_last_event(excluded: Any) -> dict[str, Any]:
    return {"last_event_at": excluded.last_event_at}


def touch_app_domains(
    session: Session, app_id: int, domain_ids: set[int], now: datetime
) -> None:
    """Record that the app uses these domains, and when it last sent events."""
    rows = [
        {
            "app_id": app_id,
            "domain_id": domain_id,
            "first_seen_at": now,
            "last_event_at": now,
        }
        for domain_id in sorted(domain_ids)
    ]
    upsert(
        session,
        AppDomain,
        rows,
        conflict=["app_id", "domain_id"],
        update=_touch_last_event,
    )


def update_shared_rows(
    session: Session,
    origin: Origin,
    domain_ids: set[int],
    checks: Counter[int],
    served: Counter[tuple[int, str]],
) -> None:
    """Link the app to the domains, and add check and served-key counts.

    ``checks`` counts per domain id, ``served`` per (domain id, served pin).
    """
    if not (domain_ids or checks or served):
        return
    if session.get_bind().dialect.name == "postgresql":
        values = _shared_values(origin, domain_ids, checks, served)
        session.execute(_shared_upsert(), values)
        return
    touch_app_domains(session, origin.app_id, domain_ids, origin.received_at)
    add_checks(session, origin, checks)
    add_served_keys(session, origin, served)
