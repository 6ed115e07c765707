"""The ingest writer: one thread per process that stores requests in batches.

An ingest endpoint reads the body, hands it to the writer and waits. The
writer takes every request that is waiting, up to a limit, looks up their
keys with one query, parses the bodies, stores them all in one transaction,
commits, and only then answers each request. Storing many requests together
costs few more statements than storing one, requests never wait for one
another's locks within a process, and the event loop never waits for the
database.

A request whose own input fails (key, rate limit, body) gets its error and
the others go on. When storing the batch fails, each request of it is stored
again alone, so that one request cannot fail the others. When the database is
unreachable, every request of the batch gets the error, which answers 503.

The thread starts with the first request and ends after a second without
one, so an idle process, or an app that a test builds, keeps no thread.
"""

import asyncio
import contextlib
import queue
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from service.core.db import utcnow
from service.core.logging import get_logger
from service.core.settings import Settings
from service.ingest.accept import (
    Answer,
    Plan,
    answer,
    plan_events,
    plan_report,
    store_plans,
)
from service.ingest.counters import EventCounts
from service.ingest.keys import KeyRing
from service.ingest.ratelimit import RateLimiter, check_rate_limit
from service.metrics.metrics import Metrics

log = get_logger(__name__)

# A batch ends at this many requests or this many body bytes, whichever comes
# first, which bounds how long its transaction holds shared rows.
MAX_BATCH_REQUESTS = 128
MAX_BATCH_BYTES = 4 * 1024 * 1024
IDLE_SECONDS = 1.0

# The database is unreachable: retrying each request alone would only wait
# for the same error again.
STORAGE_ERRORS = (OperationalError, PoolTimeoutError)


@dataclass
class IngestJob:
    """One request waiting for the writer, and the future that answers it."""

    key: str
    body: bytes
    report: bool
    received_at: datetime
    limiter: RateLimiter | None
    loop: asyncio.AbstractEventLoop
    future: "asyncio.Future[Answer]"


# An answer, or the exception to raise in the waiting request.
Outcome = tuple[IngestJob, Answer | BaseException]


def _resolve(outcomes: list[Outcome]) -> None:
    for job, outcome in outcomes:
        if job.future.done():  # cancelled: the client went away
            continue
        if isinstance(outcome, BaseException):
            job.future.set_exception(outcome)
        else:
            job.future.set_result(outcome)


def settle(outcomes: list[Outcome]) -> None:
    """Hand each outcome to its request's event loop, with one wake-up per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_loop[outcome[0].loop].append(outcome)
    for loop, pending in by_loop.items():
        # A closed loop has no request left that waits for these answers.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, pending)


def plan(settings: Settings, keys: KeyRing, job: IngestJob) -> Plan:
    """Authenticate, rate-limit and parse one request, without writing."""
    sender = keys.sender(job.key)
    check_rate_limit(job.limiter, sender)
    parse = plan_report if job.report else plan_events
    return parse(settings, sender, job.body, job.received_at)


class IngestWriter:
    """Stores the ingest requests of one process, a batch at a time."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        metrics: Metrics,
        threads: int = 1,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._metrics = metrics
        self._idle_seconds = idle_seconds
        self._queue: queue.SimpleQueue[IngestJob] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._max_threads = threads
        self._threads = 0

    async def submit(
        self, key: str, body: bytes, report: bool, limiter: RateLimiter | None
    ) -> Answer:
        """Store a request's body and return its answer, once it is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        job = IngestJob(key, body, report, utcnow(), limiter, loop, future)
        with self._lock:
            self._queue.put(job)
            if self._threads < self._max_threads:
                self._threads += 1
                threading.Thread(
                    target=self._run, name="pinwatch-ingest-writer", daemon=True
                ).start()
        return await job.future

    def running(self) -> bool:
        return self._threads > 0

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    # submit() queues under the same lock, so no request can
                    # arrive between this check and the thread's end.
                    if self._queue.empty():
                        self._threads -= 1
                        return
                continue
            settle(self.write(self._batch(first)))

    def _batch(self, first: IngestJob) -> list[IngestJob]:
        jobs = [first]
        size = len(first.body)
        while len(jobs) < MAX_BATCH_REQUESTS and size < MAX_BATCH_BYTES:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            jobs.append(job)
            size += len(job.body)
        return jobs

    def write(self, jobs: list[IngestJob]) -> list[Outcome]:
        """Store a batch of requests and return the outcome of each."""
        try:
            return self._write_together(jobs)
        except STORAGE_ERRORS as exc:
            return [(job, exc) for job in jobs]

    def _write_together(self, jobs: list[IngestJob]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        planned: list[tuple[IngestJob, Plan]] = []
        with self._sessions() as session:
            keys = KeyRing(session, [job.key for job in jobs])
            for job in jobs:
                try:
                    planned.append((job, plan(self._settings, keys, job)))
                except Exception as exc:  # the request's own error, or a bug
                    outcomes.append((job, exc))
            plans = [item for _, item in planned]
            try:
                stored = store_plans(session, self._settings, plans)
                session.commit()
            except STORAGE_ERRORS:
                raise
            except Exception as exc:
                session.rollback()
                if len(planned) == 1:
                    return [*outcomes, (planned[0][0], exc)]
                error = type(exc).__name__
                log.warning("ingest_batch_retried", requests=len(planned), error=error)
                counts = EventCounts()
                outcomes += [self._write_alone(counts, *item) for item in planned]
                counts.publish(self._metrics)
                return outcomes
        counts = EventCounts()
        for (job, item), result in zip(planned, stored, strict=True):
            outcomes.append((job, answer(counts, item, result)))
        counts.publish(self._metrics)
        return outcomes

    def _write_alone(self, counts: EventCounts, job: IngestJob, item: Plan) -> Outcome:
        try:
            with self._sessions() as session:
                stored = store_plans(session, self._settings, [item])
                session.commit()
        except Exception as exc:
            return job, exc
        return job, answer(counts, item, stored[0])
