"""The load generator: keep-alive HTTP/1.1 connections at a fixed concurrency.

Each worker process runs asyncio with its share of the connections. A
connection sends one request, waits for the whole response, then sends the
next, so the number of requests in flight is the number of connections.
Requests are written as raw bytes built by a ``RequestSource``, because a
full HTTP client costs more CPU per request than a bare FastAPI endpoint and
would compete with the server for the same cores.

Only requests that start after the warm-up and finish before the deadline
count, so the throughput is over a window in which every connection is busy.
"""

import asyncio
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Protocol

HOST = "127.0.0.1"
# Spawned workers import this module before they start. They all wait for
# this moment, so the connections start together.
STARTUP_SECONDS = 2.0
# A request still open this long after the deadline counts as failed.
GRACE_SECONDS = 30.0
MAX_HEADER_BYTES = 64 * 1024


class RequestSource(Protocol):
    """Builds requests and reads their responses; must be picklable."""

    def build(self, worker: int, connection: int, sequence: int) -> bytes:
        """Return a whole HTTP/1.1 request, unique per worker, connection, sequence."""
        ...

    def events(self, status: int, body: bytes) -> int:
        """Return the events a response acknowledges, or -1 when it is a failure."""
        ...


@dataclass(frozen=True)
class LoadPlan:
    port: int
    source: RequestSource
    connections: int
    processes: int
    warmup_seconds: float
    duration_seconds: float


@dataclass
class WorkerStats:
    latencies: list[float] = field(default_factory=list)
    events: int = 0
    failures: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failure_sample: str = ""


@dataclass(frozen=True)
class LoadResult:
    """Figures of one load run, measured over ``duration_seconds``."""

    requests: int
    events: int
    failures: int
    duration_seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int]
    failure_sample: str
    # CPU time the server used during the whole run, warm-up included.
    server_cpu_seconds: float = 0.0

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.duration_seconds

    @property
    def events_per_second(self) -> float:
        return self.events / self.duration_seconds

    def server_cpu_ms_per_request(self, warmup_seconds: float) -> float:
        """Return server CPU per request, counting warm-up requests at the same rate."""
        total = self.duration_seconds + warmup_seconds
        requests = self.requests_per_second * total
        return self.server_cpu_seconds / requests * 1000 if requests else float("nan")


def _content_length(head: bytes) -> int:
    for line in head.lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return int(line[15:])
    if b"transfer-encoding: chunked" in head.lower():
        raise ValueError("chunked responses are not supported by the load generator")
    return 0


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_HEADER_BYTES:
        raise ValueError("the response headers are too long")
    body = await reader.readexactly(_content_length(head))
    return int(head[9:12]), body


def _record(
    stats: WorkerStats, source: RequestSource, status: int, body: bytes
) -> None:
    stats.statuses[status] += 1
    events = source.events(status, body)
    if events < 0:
        stats.failures += 1
        stats.failure_sample = stats.failure_sample or f"{status} {body[:300]!r}"
    else:
        stats.events += events


async def _connection(
    plan: LoadPlan,
    worker: int,
    index: int,
    window: tuple[float, float],
    stats: WorkerStats,
) -> None:
    measure_from, deadline = window
    reader, writer = await asyncio.open_connection(HOST, plan.port)
    sequence = 0
    try:
        while time.monotonic() < deadline:
            request = plan.source.build(worker, index, sequence)
            sequence += 1
            started = time.monotonic()
            status, body = await _exchange(reader, writer, request)
            finished = time.monotonic()
            if started >= measure_from and finished <= deadline:
                stats.latencies.append(finished - started)
                _record(stats, plan.source, status, body)
    finally:
        writer.close()


async def _run_worker(plan: LoadPlan, worker: int, start_at: float) -> WorkerStats:
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    measure_from = start_at + plan.warmup_seconds
    window = (measure_from, measure_from + plan.duration_seconds)
    stats = WorkerStats()
    indexes = range(worker, plan.connections, plan.processes)
    tasks = [_connection(plan, worker, index, window, stats) for index in indexes]
    async with asyncio.timeout(window[1] - time.monotonic() + GRACE_SECONDS):
        await asyncio.gather(*tasks)
    return stats


def run_worker(plan: LoadPlan, worker: int, start_at: float) -> WorkerStats:
    """Drive this worker's share of the connections (runs in a child process)."""
    return asyncio.run(_run_worker(plan, worker, start_at))


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _combine(parts: list[WorkerStats], duration: float) -> LoadResult:
    latencies = sorted(value for part in parts for value in part.latencies)
    statuses: Counter[int] = Counter()
    for part in parts:
        statuses.update(part.statuses)
    samples = [part.failure_sample for part in parts if part.failure_sample]
    return LoadResult(
        requests=len(latencies),
        events=sum(part.events for part in parts),
        failures=sum(part.failures for part in parts),
        duration_seconds=duration,
        p50_ms=_percentile(latencies, 0.50) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        max_ms=(latencies[-1] if latencies else float("nan")) * 1000,
        statuses=dict(statuses),
        failure_sample=samples[0] if samples else "",
    )


def run_load(plan: LoadPlan) -> LoadResult:
    """Run the plan in ``plan.processes`` worker processes and combine their stats."""
    context = get_context("spawn")
    with ProcessPoolExecutor(plan.processes, mp_context=context) as pool:
        start_at = time.monotonic() + STARTUP_SECONDS
        futures = [
            pool.submit(run_worker, plan, worker, start_at)
            for worker in range(plan.processes)
        ]
        parts = [future.result() for future in futures]
    return _combine(parts, plan.duration_seconds)
