"""Event receipts: one row per native event id, so a repeated id is stored once."""

from datetime import datetime

from sqlalchemy.orm import Session

from service.ingest.models import EventReceipt
from service.ingest.upsert import upsert


def insert_receipts(
    session: Session, app_id: int, event_ids: list[str], now: datetime
) -> set[str]:
    """Insert receipts of sorted, distinct ids; return the ids that were new.

    The receipts are inserted in the order of ``event_ids``, which callers
    sort so that concurrent batches lock rows in the same order.
    """
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
