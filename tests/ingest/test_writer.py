"""The ingest writer: batches of requests, their separate errors, and its thread."""

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from service.app import create_app
from service.core.db import session_factory, utcnow
from service.core.errors import (
    BadRequest,
    Forbidden,
    StorageUnavailable,
    Unauthorized,
)
from service.core.security import hash_secret
from service.core.settings import Settings
from service.ingest import accept
from service.ingest import writer as writer_module
from service.ingest.models import CheckCount, EventReceipt
from service.ingest.schemas import EventsAccepted, ReportAccepted
from service.ingest.writer import IngestJob, IngestWriter, Outcome
from service.metrics.metrics import Metrics
from service.registry.models import Domain
from tests.ingest.helpers import all_rows
from tests.ingest.payloads import check_event, events_body, new_id, post_events


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def writer(engine: Engine, settings: Settings) -> IngestWriter:
    return IngestWriter(session_factory(engine), settings, Metrics())


def job(
    loop: asyncio.AbstractEventLoop, key: str, body: Any, report: bool = False
) -> IngestJob:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    future = loop.create_future()
    return IngestJob(hash_secret(key), data, report, utcnow(), loop, future)


def results(outcomes: list[Outcome]) -> list[Any]:
    return [outcome for _, outcome in outcomes]


def test_batch_counts_a_repeated_id_once(
    writer: IngestWriter, loop: asyncio.AbstractEventLoop, key: str, db: Session
) -> None:
    event_id = new_id()
    body = events_body(check_event(id=event_id, count=3))

    first, retry = results(writer.write([job(loop, key, body), job(loop, key, body)]))

    assert (first.accepted, first.duplicates) == (1, 0)
    assert (retry.accepted, retry.duplicates) == (0, 1)
    assert db.scalars(select(EventReceipt.event_id)).all() == [event_id]


def test_batch_sums_shared_counts(
    writer: IngestWriter,
    loop: asyncio.AbstractEventLoop,
    key: str,
    domain: Domain,
    db: Session,
) -> None:
    jobs = [
        job(loop, key, events_body(check_event(count=count), install_id=f"i-{count}"))
        for count in (1, 2, 4)
    ]

    outcomes = results(writer.write(jobs))

    assert [outcome.accepted for outcome in outcomes] == [1, 1, 1]
    assert [row.checks for row in all_rows(db, CheckCount)] == [7]


def test_request_errors_leave_others_stored(
    writer: IngestWriter, loop: asyncio.AbstractEventLoop, key: str, db: Session
) -> None:
    good = events_body(check_event())
    other_app = events_body(check_event(), platform="ios")
    jobs = [
        job(loop, "pwk_unknown", good),
        job(loop, key, b"{not json"),
        job(loop, key, other_app),
        job(loop, key, good),
    ]

    unknown, broken, mismatch, stored = results(writer.write(jobs))

    assert isinstance(unknown, Unauthorized)
    assert isinstance(broken, BadRequest)
    assert isinstance(mismatch, Forbidden)
    assert mismatch.code == "app_mismatch"
    assert isinstance(stored, EventsAccepted)
    assert stored.accepted == 1
    assert len(all_rows(db, EventReceipt)) == 1


def test_batch_returns_each_response_shape(
    writer: IngestWriter, loop: asyncio.AbstractEventLoop, key: str
) -> None:
    jobs = [job(loop, key, b'{"unknown": "format"}', report=True)]
    jobs.append(job(loop, key, events_body(check_event())))

    quarantined, events = results(writer.write(jobs))

    assert isinstance(quarantined, ReportAccepted)
    assert quarantined.quarantined == 1
    assert isinstance(events, EventsAccepted)
    assert events.accepted == 1


def test_failed_batch_is_stored_request_by_request(
    writer: IngestWriter,
    loop: asyncio.AbstractEventLoop,
    key: str,
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = accept.store_submissions

    def fails_together(session: Session, settings: Settings, submissions: Any) -> Any:
        if len(submissions) > 1:
            raise IntegrityError("INSERT", {}, Exception("conflict"))
        return store(session, settings, submissions)

    monkeypatch.setattr(accept, "store_submissions", fails_together)
    jobs = [job(loop, key, events_body(check_event())) for _ in range(3)]

    outcomes = results(writer.write(jobs))

    assert [outcome.accepted for outcome in outcomes] == [1, 1, 1]
    assert len(all_rows(db, EventReceipt)) == 3


def lost_connection() -> OperationalError:
    cause = Exception("server closed the connection unexpectedly")
    return OperationalError("INSERT", {}, cause, connection_invalidated=True)


def test_lost_connection_fails_the_batch_without_retries(
    writer: IngestWriter,
    loop: asyncio.AbstractEventLoop,
    key: str,
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []

    def unreachable(_session: Session, _settings: Settings, submissions: Any) -> None:
        calls.append(len(submissions))
        raise lost_connection()

    monkeypatch.setattr(accept, "store_submissions", unreachable)
    jobs = [job(loop, key, events_body(check_event())) for _ in range(2)]

    outcomes = results(writer.write(jobs))

    assert calls == [2]
    assert all(isinstance(outcome, OperationalError) for outcome in outcomes)
    assert all_rows(db, EventReceipt) == []


def test_locked_database_fails_the_batch_without_retries(
    writer: IngestWriter,
    loop: asyncio.AbstractEventLoop,
    key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorcode = sqlite3.SQLITE_BUSY
    calls: list[int] = []

    def busy(_session: Session, _settings: Settings, submissions: Any) -> None:
        calls.append(len(submissions))
        raise OperationalError("INSERT", {}, locked)

    monkeypatch.setattr(accept, "store_submissions", busy)
    jobs = [job(loop, key, events_body(check_event())) for _ in range(3)]

    outcomes = results(writer.write(jobs))

    assert calls == [3]
    assert all(isinstance(outcome, OperationalError) for outcome in outcomes)


def test_failed_batch_keeps_request_errors(
    writer: IngestWriter,
    loop: asyncio.AbstractEventLoop,
    key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unreachable(*_args: object) -> None:
        raise lost_connection()

    monkeypatch.setattr(accept, "store_submissions", unreachable)
    good = events_body(check_event())
    jobs = [job(loop, "pwk_unknown", good), job(loop, key, b"{not json")]
    jobs.append(job(loop, key, good))

    unknown, broken, stored = results(writer.write(jobs))

    assert isinstance(unknown, Unauthorized)
    assert isinstance(broken, BadRequest)
    assert isinstance(stored, OperationalError)


def test_thread_ends_when_idle_and_restarts(
    engine: Engine, settings: Settings, key: str
) -> None:
    sessions = session_factory(engine)
    writer = IngestWriter(sessions, settings, Metrics(), idle_seconds=0.05)

    async def post() -> Any:
        body = orjson.dumps(events_body(check_event()))
        return await writer.submit(hash_secret(key), body, report=False)

    first = asyncio.run(post())
    deadline = time.monotonic() + 5
    while writer.running() and time.monotonic() < deadline:
        time.sleep(0.01)
    idle = writer.running()
    second = asyncio.run(post())

    assert first.accepted == 1
    assert idle is False
    assert second.accepted == 1


def test_concurrent_requests_all_get_responses(client: TestClient, key: str) -> None:
    async def post_many() -> list[Any]:
        writer: IngestWriter = client.app.state.ingest_writer  # type: ignore[attr-defined]
        bodies = [orjson.dumps(events_body(check_event())) for _ in range(20)]
        posts = [writer.submit(hash_secret(key), body, False) for body in bodies]
        return await asyncio.gather(*posts)

    responses = asyncio.run(post_many())
    after = post_events(client, key, events_body(check_event()))

    assert [response.accepted for response in responses] == [1] * 20
    assert after.status_code == 202


def test_batch_adds_each_request_to_the_metrics(
    engine: Engine,
    settings: Settings,
    loop: asyncio.AbstractEventLoop,
    key: str,
    domain: Domain,
) -> None:
    metrics = Metrics()
    writer = IngestWriter(session_factory(engine), settings, metrics)
    repeated = check_event(count=2)
    jobs = [job(loop, key, events_body(check_event(count=2))) for _ in range(3)]
    jobs += [
        job(loop, key, events_body(repeated)),
        job(loop, key, events_body(repeated)),
    ]

    writer.write(jobs)

    def sample(name: str, **labels: str) -> float | None:
        value: float | None = metrics.registry.get_sample_value(name, labels)
        return value

    events = {"source": "native", "type": "pin_check"}
    assert sample("pinwatch_events_total", **events, outcome="accepted") == 4
    assert sample("pinwatch_events_total", **events, outcome="duplicate") == 1
    checks = {"domain": "api.example.com", "app": "android:com.example.bank"}
    assert sample("pinwatch_pin_checks_total", **checks) == 8


def test_unexpected_error_is_json_500(
    settings: Settings, engine: Engine, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("planner bug")

    monkeypatch.setattr(writer_module, "plan", broken)
    client = TestClient(create_app(settings, engine), raise_server_exceptions=False)

    response = post_events(client, key, events_body(check_event()))
    after = client.get("/healthz")

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert after.status_code == 200


def test_full_queue_rejects_with_503(
    engine: Engine, settings: Settings, key: str
) -> None:
    sessions = session_factory(engine)
    writer = IngestWriter(sessions, settings, Metrics(), max_queued_bytes=10)
    body = orjson.dumps(events_body(check_event()))

    with pytest.raises(StorageUnavailable) as raised:
        asyncio.run(writer.submit(hash_secret(key), body, report=False))

    assert raised.value.status_code == 503
    assert raised.value.code == "ingest_overloaded"
    assert raised.value.headers == {"Retry-After": "5"}
    assert writer.running() is False
