"""Tests of event receipts, which make a repeated event id a duplicate."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.db import utcnow
from service.ingest.models import EventReceipt
from service.ingest.receipts import insert_receipts
from tests.factories import make_app


def test_returns_only_new_ids(db: Session) -> None:
    app = make_app(db)
    now = utcnow()

    first = insert_receipts(db, app.id, ["a", "b"], now)
    second = insert_receipts(db, app.id, ["b", "c"], now)
    db.commit()

    assert first == {"a", "b"}
    assert second == {"c"}
    stored = db.scalars(select(EventReceipt.event_id).order_by(EventReceipt.event_id))
    assert stored.all() == ["a", "b", "c"]


def test_same_id_of_another_app_is_new(db: Session) -> None:
    bank = make_app(db)
    shop = make_app(db, bundle_id="com.example.shop")
    now = utcnow()

    insert_receipts(db, bank.id, ["a"], now)
    other = insert_receipts(db, shop.id, ["a"], now)

    assert other == {"a"}


def test_no_ids_inserts_nothing(db: Session) -> None:
    app = make_app(db)

    inserted = insert_receipts(db, app.id, [], utcnow())

    assert inserted == set()
