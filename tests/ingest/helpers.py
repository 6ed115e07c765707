"""Reading stored rows back, and storing a body the way the ingest writer does."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.db import utcnow
from service.core.settings import Settings
from service.ingest.accept import (
    IngestResponse,
    build_response,
    plan_events,
    store_plans,
)
from service.ingest.counters import EventCounts
from service.ingest.keys import Sender
from service.metrics.metrics import Metrics
from service.registry.models import IngestKey


def all_rows(db: Session, model: type[Any]) -> list[Any]:
    """Return every row of a table as the database has it now."""
    db.commit()
    db.expire_all()
    return list(db.scalars(select(model)).all())


def sender_of(key: IngestKey) -> Sender:
    return Sender(key.id, key.app.id, key.app.platform, key.app.bundle_id)


def store_events_body(
    session: Session, settings: Settings, key: IngestKey, body: bytes
) -> IngestResponse:
    """Store a ``POST /v1/events`` body in its own transaction, as the writer does."""
    plan = plan_events(settings, sender_of(key), body, utcnow())
    [stored] = store_plans(session, settings, [plan])
    session.commit()
    counts = EventCounts()
    response = build_response(counts, plan, stored)
    counts.publish(Metrics())
    return response
