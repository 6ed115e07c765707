import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.core.db import utcnow
from service.core.settings import Settings
from service.ingest.models import (
    CheckCount,
    EventReceipt,
    FailureCount,
    FailureSignature,
    Install,
    PinFailure,
    QuarantinedReport,
    ServedKeyCount,
)
from service.retention import PruneResult, prune
from tests.certs import Chain, make_chain
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import make_app, make_domain, make_key
from tests.ingest.payloads import check_event, events_body, failure_event, post_events

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RAW_MODELS = (PinFailure, QuarantinedReport, EventReceipt)
AGGREGATE_MODELS = (CheckCount, ServedKeyCount, FailureCount, FailureSignature, Install)


def send_traffic(client: TestClient, key: str, chain: Chain, pin: str) -> None:
    """Store one failure, one check and one quarantined report."""
    body = events_body(failure_event(chain), check_event(matched_pin=pin, count=5))
    assert post_events(client, key, body).status_code == 202
    report = client.post("/v1/reports", params={"key": key}, content=b'{"x": 1}')
    assert report.json()["quarantined"] == 1


def age_rows(db: Session, days: int) -> None:
    """Move the receive time of every raw row ``days`` into the past."""
    old = utcnow() - timedelta(days=days)
    for model in RAW_MODELS:
        db.execute(update(model).values(received_at=old))
    db.commit()


def ids(db: Session, model: Any, received_before: datetime | None = None) -> set[Any]:
    """Return the ids of a raw table's rows, or of those received before a time."""
    db.commit()
    db.expire_all()
    key = model.event_id if model is EventReceipt else model.id
    query = select(key)
    if received_before is not None:
        query = query.where(model.received_at < received_before)
    return set(db.scalars(query))


def snapshot(db: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Return every aggregate row as plain values, to compare before and after."""
    db.commit()
    db.expire_all()
    tables = {}
    for model in AGGREGATE_MODELS:
        table = model.__table__
        query = select(*table.columns).order_by(*table.primary_key.columns)
        rows = db.execute(query).all()
        tables[model.__tablename__] = [tuple(row) for row in rows]
    return tables


@pytest.fixture
def traffic(client: TestClient, db: Session) -> str:
    """Store traffic 40 days old, then new traffic; return the ingest key."""
    chain = make_chain("api.example.com")
    make_domain(db, "api.example.com", chain.leaf.pin)
    key = make_key(db, make_app(db))
    send_traffic(client, key, chain, chain.leaf.pin)
    age_rows(db, days=40)
    send_traffic(client, key, chain, chain.leaf.pin)
    return key


def test_prune_deletes_only_old_raw_rows(
    traffic: str, db: Session, settings: Settings
) -> None:
    before = {model: ids(db, model) for model in RAW_MODELS}
    cutoff = utcnow() - timedelta(days=30)
    old = {model: ids(db, model, received_before=cutoff) for model in RAW_MODELS}

    result = prune(db, settings, utcnow())
    db.commit()

    for model in RAW_MODELS:
        assert old[model] != set(), model.__name__
        assert ids(db, model) == before[model] - old[model], model.__name__
    assert result == PruneResult(
        failures=len(old[PinFailure]),
        quarantined=len(old[QuarantinedReport]),
        receipts=len(old[EventReceipt]),
    )


def test_prune_keeps_every_aggregate(
    traffic: str, db: Session, settings: Settings
) -> None:
    before = snapshot(db)

    prune(db, settings, utcnow())
    db.commit()

    after = snapshot(db)
    assert all(rows != [] for rows in before.values())
    assert after == before


def test_prune_applies_each_retention(
    client: TestClient, db: Session, migrated_url: str
) -> None:
    chain = make_chain("api.example.com")
    make_domain(db, "api.example.com", chain.leaf.pin)
    key = make_key(db, make_app(db))
    send_traffic(client, key, chain, chain.leaf.pin)
    age_rows(db, days=20)
    settings = make_settings(
        migrated_url,
        retention_failure_days=30,
        retention_quarantine_days=14,
        retention_receipt_days=21,
    )

    result = prune(db, settings, utcnow())
    db.commit()

    assert result == PruneResult(failures=0, quarantined=1, receipts=0)
    assert len(ids(db, PinFailure)) == 1
    assert ids(db, QuarantinedReport) == set()
    assert len(ids(db, EventReceipt)) == 2


def test_prune_at_cutoff_keeps_rows(
    traffic: str, db: Session, settings: Settings
) -> None:
    oldest = db.scalar(select(PinFailure.received_at).order_by(PinFailure.id))
    assert isinstance(oldest, datetime)

    result = prune(db, settings, oldest + timedelta(days=30))
    db.rollback()

    assert result.failures == 0


def test_replayed_id_after_prune_counts_again(
    client: TestClient, db: Session, settings: Settings
) -> None:
    key = make_key(db, make_app(db))
    body = events_body(check_event(id="replayed-after-retention"))
    post_events(client, key, body)
    age_rows(db, days=40)
    prune(db, settings, utcnow())
    db.commit()

    replayed = post_events(client, key, body)

    assert replayed.json()["accepted"] == 1
    assert replayed.json()["duplicates"] == 0


@pytest.mark.slow
def test_prune_command_prints_counts(
    traffic: str, migrated_url: str, tmp_path: Path
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PINWATCH_ENV": "test",
        "PINWATCH_SECRET": TEST_SECRET,
        "PINWATCH_DATABASE_URL": migrated_url,
        "PINWATCH_LOG_LEVEL": "WARNING",
    }

    completed = subprocess.run(
        [sys.executable, "-m", "service.cli", "prune"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == (
        "deleted 1 raw failures, 1 quarantined reports and 2 event receipts\n"
    )
