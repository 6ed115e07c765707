"""A server killed with SIGKILL under load loses no acknowledged event.

Worker threads post native batches with unique event ids to ``pinwatch serve``
until enough are acknowledged, then the server is killed. A second server on
the same database receives every batch that got no response, with the same ids,
and every batch never sent. Each acknowledged event must then be stored once.
"""

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.ingest.models import CheckCount, EventReceipt, ServedKeyCount
from tests.certs import make_chain
from tests.factories import make_app, make_domain, make_key
from tests.integration.ingest import (
    REQUEST_SECONDS,
    Sender,
    check_event,
    event_ids,
    native_batch,
    pinwatch_server,
    server_env,
)

pytestmark = pytest.mark.slow

BATCHES = 120
EVENTS_PER_BATCH = 20
WORKERS = 4
# The server is killed once this many batches are acknowledged, well before
# the last batch, so that requests are in flight when it dies.
KILL_AFTER = 40
LOAD_SECONDS = 60.0


Batches = list[dict[str, Any]]


def make_batches(pin: str) -> Batches:
    """Return batches whose event ids are unique and whose counts vary (1 to 3)."""
    batches = []
    for index in range(BATCHES):
        events = [
            check_event(f"durable-{index:04d}-{number:02d}", 1 + number % 3, pin)
            for number in range(EVENTS_PER_BATCH)
        ]
        batches.append(native_batch(f"install-{index % 10}", events))
    return batches


def total_checks(batches: Batches) -> int:
    return sum(event["count"] for batch in batches for event in batch["events"])


def wait_for_acknowledged(sender: Sender, count: int) -> None:
    deadline = time.monotonic() + LOAD_SECONDS
    while sender.acknowledged() < count:
        if time.monotonic() > deadline:
            pytest.fail(f"only {sender.acknowledged()} batches acknowledged")
        time.sleep(0.005)


def stored_ids(db: Session) -> list[str]:
    db.commit()
    return list(db.scalars(select(EventReceipt.event_id)))


def summed(db: Session, column: Any) -> int:
    db.commit()
    return int(db.scalar(select(func.coalesce(func.sum(column), 0))))


def load_until_killed(
    env: dict[str, str], folder: Path, key: str, batches: Batches
) -> Sender:
    """Post the batches until KILL_AFTER are acknowledged, then SIGKILL the server."""
    with pinwatch_server(env, folder) as server:
        sender = Sender(server.url, key, batches)
        sender.start(WORKERS)
        wait_for_acknowledged(sender, KILL_AFTER)
        server.process.kill()
        server.process.wait(timeout=10)
        sender.join(timeout=REQUEST_SECONDS + 5)
    return sender


def send_after_restart(
    env: dict[str, str], folder: Path, key: str, batches: Batches, indexes: list[int]
) -> Sender:
    """Post the batches at ``indexes`` to a new server on the same database."""
    with pinwatch_server(env, folder) as server:
        sender = Sender(server.url, key, batches)
        sender.start(WORKERS, indexes)
        sender.join(timeout=LOAD_SECONDS)
    return sender


def test_sigkill_loses_no_acknowledged_event(
    migrated_url: str, db: Session, tmp_path: Path
) -> None:
    pin = make_chain("api.example.com").leaf.pin
    key = make_key(db, make_app(db))
    make_domain(db, "api.example.com", pin)
    batches = make_batches(pin)
    env = server_env(migrated_url)

    killed = load_until_killed(env, tmp_path, key, batches)
    unsent = killed.unsent()
    acknowledged = [i for i, a in killed.responses.items() if a.status_code == 202]
    # The first acknowledged batch is sent again to show a plain duplicate.
    restarted = send_after_restart(
        env, tmp_path, key, batches, acknowledged[:1] + killed.unanswered + unsent
    )
    resent = restarted.responses[acknowledged[0]].json()

    retries = [restarted.responses[index] for index in killed.unanswered]
    retry_counts = [(a.json()["accepted"], a.json()["duplicates"]) for a in retries]
    late = [restarted.responses[index] for index in unsent]
    acknowledged_ids = {id_ for i in acknowledged for id_ in event_ids(batches[i])}
    all_ids = {id_ for batch in batches for id_ in event_ids(batch)}
    stored = stored_ids(db)
    # Every request before the kill got 202, and at least the last request
    # of each worker got no response.
    assert all(response.status_code == 202 for response in killed.responses.values())
    assert len(acknowledged) >= KILL_AFTER
    assert len(killed.unanswered) >= 1
    assert restarted.unanswered == []
    assert all(response.status_code == 202 for response in retries)
    # A request commits whole or not at all, so a retry is all new or all seen.
    assert all(
        counts in {(EVENTS_PER_BATCH, 0), (0, EVENTS_PER_BATCH)}
        for counts in retry_counts
    )
    assert all(response.json()["accepted"] == EVENTS_PER_BATCH for response in late)
    assert resent["duplicates"] == EVENTS_PER_BATCH
    assert resent["accepted"] == 0
    assert acknowledged_ids <= set(stored)
    assert len(stored) == len(set(stored))
    assert set(stored) == all_ids
    assert summed(db, CheckCount.checks) == total_checks(batches)
    assert summed(db, ServedKeyCount.checks) == total_checks(batches)
