"""Event receipts: one row per native event id, so a repeated id is stored once."""

from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Integer, String, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from service.core.db import UTCDateTime
from service.ingest.models import EventReceipt
from service.ingest.upsert import upsert


@cache
def _array_insert() -> ReturningInsert[Any]:
    # unnest() returns the ids in array order, so rows are still inserted in
    # the sorted order that the callers rely on to lock rows consistently.
    # NOTE: PostgreSQL does not document this order for INSERT ... SELECT,
    # though it is the order observed. Another order could only cause a rare
    # deadlock between processes, after which each request is stored alone.
    ids = select(
        bindparam("app_id", type_=Integer),
        func.unnest(bindparam("event_ids", type_=postgresql.ARRAY(String))),
        bindparam("received_at", type_=UTCDateTime),
    )
    # The Core table, because an ORM entity would make this an ORM bulk insert.
    table = cast(Table, EventReceipt.__table__)
    return (
        postgresql.insert(table)
        .from_select(["app_id", "event_id", "received_at"], ids)
        .on_conflict_do_nothing(index_elements=["app_id", "event_id"])
        .returning(table.c.event_id)
    )


def insert_receipts(
    session: Session, app_id: int, event_ids: list[str], now: datetime
) -> set[str]:
    """Insert receipts of sorted, distinct ids and return the ids that were new.

    On PostgreSQL the ids travel as one array parameter, as in ``upsert``, but
    the app id and time stay single parameters, so a batch converts one time,
    where ``upsert`` would send and convert one per event.
    """
    if not event_ids:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        values = {"app_id": app_id, "event_ids": event_ids, "received_at": now}
        return set(session.scalars(_array_insert(), values).all())

    rows = [
        {"app_id": app_id, "event_id": event_id, "received_at": now}
        for event_id in event_ids
    ]
    returned = upsert(
        session,
        EventReceipt,
        rows,
        conflict=["app_id", "event_id"],
        returning=[EventReceipt.event_id],
    )
    return {row.event_id for row in returned}
