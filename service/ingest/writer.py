"""The ingest writer: one thread per process that stores requests in batches.

An ingest endpoint reads the body, hands it to the writer and waits. The
writer takes every request that is waiting, up to a limit, looks up their
keys with one query, parses the bodies, stores them all in one transaction,
commits, and only then sends each request its response. Storing many
requests together costs few more statements than storing one. One thread
writes all the ingest requests of a process, so they never wait for one
another's row locks, and the event loop never waits for the database.

A request whose own input fails (key, body) gets its error and
the others go on. When storing the batch fails, each request of it is stored
again alone, so that one request cannot fail the others. When the
connection to the database was lost, or another process kept SQLite locked
past its busy timeout, every request of the batch that passed its own checks
gets the error instead, which the endpoint returns as 503.

The thread starts with the first request and ends after a second without
one, so an idle process, or an app that a test builds, keeps no thread.
"""

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from service.core.db import utcnow
from service.core.errors import STORAGE_ERRORS, StorageUnavailable
from service.core.logging import get_logger
from service.core.settings import Settings
from service.ingest.accept import (
    IngestResponse,
    Plan,
    build_response,
    plan_events,
    plan_report,
    store_plans,
)
from service.ingest.counters import EventCounts
from service.ingest.keys import KeyRing
from service.metrics.metrics import Metrics

log = get_logger(__name__)

# A batch stops taking requests once it contains this many requests or this
# many body bytes, which bounds how long its transaction keeps shared rows
# locked.
MAX_BATCH_REQUESTS = 128
MAX_BATCH_BYTES = 4 * 1024 * 1024
# Past this many bytes of waiting bodies, new requests get 503 at once, so
# that a database slower than the traffic bounds the memory of the queue.
MAX_QUEUED_BYTES = 64 * 1024 * 1024
IDLE_SECONDS = 1.0
RETRY_AFTER_SECONDS = 5


@dataclass
class IngestJob:
    """One request waiting for the writer, and the future of its response."""

    # The SHA-256 of the ingest key, which the endpoint computed already.
    key_hash: str
    body: bytes
    report: bool
    received_at: datetime
    loop: asyncio.AbstractEventLoop
    future: "asyncio.Future[IngestResponse]"
    request_id: str | None = None


# A response, or the exception to raise in the waiting request.
Outcome = tuple[IngestJob, IngestResponse | Exception]


def _resolve(outcomes: list[Outcome]) -> None:
    for job, outcome in outcomes:
        if job.future.done():  # cancelled: the client went away
            continue
        if isinstance(outcome, Exception):
            job.future.set_exception(outcome)
        else:
            job.future.set_result(outcome)


def settle(outcomes: list[Outcome]) -> None:
    """Hand each outcome to its request's event loop, with one wake-up per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = defaultdict(list)
    for job, outcome in outcomes:
        by_loop[job.loop].append((job, outcome))
    for loop, pending in by_loop.items():
        # A closed loop has no request left that waits for these outcomes.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, pending)


def plan(settings: Settings, keys: KeyRing, job: IngestJob) -> Plan:
    """Authenticate and parse one request, without writing."""
    sender = keys.sender(job.key_hash)
    parse = plan_report if job.report else plan_events
    return parse(settings, sender, job.body, job.received_at)


def connection_lost(exc: Exception) -> bool:
    """Return whether the connection broke while in use, or the pool had none free."""
    if isinstance(exc, PoolTimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def database_locked(exc: Exception) -> bool:
    """Return whether SQLite stayed locked by another process past its busy timeout."""
    code = getattr(getattr(exc, "orig", None), "sqlite_errorcode", None)
    return isinstance(exc, OperationalError) and code == sqlite3.SQLITE_BUSY


def _log_failed_batch(exc: Exception, requests: int) -> None:
    """Log a batch whose requests all get the same error."""
    if isinstance(exc, STORAGE_ERRORS):
        # Each request logs its 503 as well. The message of a database error
        # may name the server's address, so only its class is logged.
        error = type(exc).__name__
        log.warning("ingest_batch_failed", requests=requests, error=error)
        return
    log.exception("ingest_batch_failed", requests=requests)


def _overloaded() -> StorageUnavailable:
    return StorageUnavailable(
        "Pinwatch receives events faster than the database stores them. "
        f"Retry after {RETRY_AFTER_SECONDS} seconds.",
        code="ingest_overloaded",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


class IngestWriter:
    """Stores the ingest requests of one process, a batch at a time."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        metrics: Metrics,
        idle_seconds: float = IDLE_SECONDS,
        max_queued_bytes: int = MAX_QUEUED_BYTES,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._metrics = metrics
        self._idle_seconds = idle_seconds
        self._max_queued_bytes = max_queued_bytes
        self._queue: queue.SimpleQueue[IngestJob] = queue.SimpleQueue()
        # The lock guards the two fields below.
        self._lock = threading.Lock()
        self._queued_bytes = 0
        self._running = False

    async def submit(
        self, key_hash: str, body: bytes, report: bool, request_id: str | None = None
    ) -> IngestResponse:
        """Store a request's body and return its response, once it is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IngestResponse] = loop.create_future()
        job = IngestJob(key_hash, body, report, utcnow(), loop, future, request_id)
        with self._lock:
            if self._queued_bytes + len(body) > self._max_queued_bytes:
                raise _overloaded()
            self._queued_bytes += len(body)
            self._queue.put(job)
            if not self._running:
                self._running = True
                threading.Thread(
                    target=self._run, name="pinwatch-ingest-writer", daemon=True
                ).start()
        return await future

    def running(self) -> bool:
        return self._running

    def _run(self) -> None:
        idle = False
        try:
            while (jobs := self._next_batch()) is not None:
                settle(self._write_safely(jobs))
            idle = True
        finally:
            # A thread that dies of an error it does not catch lets the next
            # request start a new one. An idle thread has already done so
            # under the lock, and a new thread may be running by now.
            if not idle:
                with self._lock:
                    self._running = False

    def _next_batch(self) -> list[IngestJob] | None:
        """Wait for the next batch; return None once idle for ``idle_seconds``."""
        try:
            first = self._queue.get(timeout=self._idle_seconds)
        except queue.Empty:
            with self._lock:
                # submit() queues under the same lock, so no request can
                # arrive between this check and the thread's end.
                if self._queue.empty():
                    self._running = False
                    return None
            first = self._queue.get_nowait()
        jobs = [first]
        size = len(first.body)
        while len(jobs) < MAX_BATCH_REQUESTS and size < MAX_BATCH_BYTES:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            jobs.append(job)
            size += len(job.body)
        with self._lock:
            self._queued_bytes -= size
        return jobs

    def _write_safely(self, jobs: list[IngestJob]) -> list[Outcome]:
        try:
            return self.write(jobs)
        except Exception as exc:
            # Every request of the batch gets the error, and the thread lives
            # on, because a dead thread would leave them all waiting.
            _log_failed_batch(exc, len(jobs))
            return [(job, exc) for job in jobs]

    def write(self, jobs: list[IngestJob]) -> list[Outcome]:
        """Store a batch of requests and return the outcome of each.

        A request whose key or body is invalid gets its own error. When
        storing fails because the connection was lost or SQLite stayed
        locked, or when only one request is left to store, the requests that
        passed their own checks get the storing error. Raises only when the
        keys cannot be looked up.
        """
        outcomes: list[Outcome] = []
        with self._sessions() as session:
            keys = KeyRing(session, [job.key_hash for job in jobs])
            planned = self._plan_all(keys, jobs, outcomes)
            try:
                stored = store_plans(session, self._settings, [p for _, p in planned])
                session.commit()
            except Exception as exc:
                session.rollback()
                # Stored alone, each request would wait for the database as
                # long again, or fail the same way.
                if connection_lost(exc) or database_locked(exc) or len(planned) == 1:
                    _log_failed_batch(exc, len(planned))
                    return outcomes + [(job, exc) for job, _ in planned]
                error = type(exc).__name__
                log.warning("ingest_batch_retried", requests=len(planned), error=error)
                return outcomes + self._write_each_alone(planned)
        counts = EventCounts()
        for (job, item), result in zip(planned, stored, strict=True):
            response = build_response(counts, item, result, job.request_id)
            outcomes.append((job, response))
        counts.publish(self._metrics)
        return outcomes

    def _plan_all(
        self, keys: KeyRing, jobs: list[IngestJob], failed: list[Outcome]
    ) -> list[tuple[IngestJob, Plan]]:
        """Plan each job, adding those that fail to ``failed``."""
        planned: list[tuple[IngestJob, Plan]] = []
        for job in jobs:
            # A cancelled request is not stored: its client gave up and may
            # send it again. The future is only read here, which is safe from
            # this thread.
            if job.future.cancelled():
                continue
            try:
                planned.append((job, plan(self._settings, keys, job)))
            except Exception as exc:  # the request's own error, or a bug
                failed.append((job, exc))
        return planned

    def _write_each_alone(self, planned: list[tuple[IngestJob, Plan]]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        counts = EventCounts()
        for job, item in planned:
            try:
                with self._sessions() as session:
                    [stored] = store_plans(session, self._settings, [item])
                    session.commit()
            except Exception as exc:
                outcomes.append((job, exc))
                continue
            outcomes.append((job, build_response(counts, item, stored, job.request_id)))
        counts.publish(self._metrics)
        return outcomes
