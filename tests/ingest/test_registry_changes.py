"""Tests of the per-process count of committed registry changes."""

from sqlalchemy import insert
from sqlalchemy.orm import Session

from service.core.db import utcnow
from service.ingest.models import EventReceipt
from service.ingest.registry_changes import registry_generation
from service.registry.models import Domain
from tests.factories import make_app


def test_commit_of_domain_counts_as_change(db: Session) -> None:
    before = registry_generation()

    db.add(Domain(hostname="changes.example.com"))
    db.commit()

    assert registry_generation() == before + 1


def test_rolled_back_change_is_not_counted(db: Session) -> None:
    before = registry_generation()

    db.add(Domain(hostname="changes.example.com"))
    db.flush()
    db.rollback()
    db.commit()

    assert registry_generation() == before


def test_core_insert_of_telemetry_is_not_counted(db: Session) -> None:
    app = make_app(db)
    before = registry_generation()

    row = {"app_id": app.id, "event_id": "e-1", "received_at": utcnow()}
    db.execute(insert(EventReceipt), [row])
    db.commit()

    assert registry_generation() == before
