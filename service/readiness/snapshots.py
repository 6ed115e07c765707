"""Readiness reports kept per domain in each process, and recomputed when too old.

Computing readiness counts every active install of the apps that use the
domain, so its cost grows with the installs (docs/benchmarks.md has figures
for a million). With ``readiness_cache_seconds`` above 0 each process keeps
the last report of each domain and serves it until it is that many seconds
old. Its ``computed_at`` is when it was computed. While one request
recomputes a stale report, others get the previous one, so a report can be
older than the limit by the time one computation takes. A registry change
committed by this process drops every report at once. Changes made through
other processes, and new events, show within the limit.
"""

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from service.core.settings import Settings
from service.ingest.registry_changes import registry_generation
from service.readiness.schemas import ReadinessReport

# The default outside development and test, where reports are always fresh.
PRODUCTION_CACHE_SECONDS = 30.0


def snapshot_seconds(settings: Settings) -> float:
    if settings.readiness_cache_seconds is not None:
        return settings.readiness_cache_seconds
    return PRODUCTION_CACHE_SECONDS if settings.env == "production" else 0.0


@dataclass
class _Snapshot:
    report: ReadinessReport
    # Monotonic clock reading when the computation started.
    started_at: float
    generation: int
    refreshing: bool = False


class ReadinessSnapshots:
    """The latest readiness report of each domain of one database."""

    def __init__(
        self, max_age: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshots: dict[int, _Snapshot] = {}

    def report(
        self, domain_id: int, compute: Callable[[], ReadinessReport]
    ) -> ReadinessReport:
        """Return the domain's report, calling ``compute`` when it is stale."""
        generation = registry_generation()
        started_at = self._clock()
        with self._lock:
            snapshot = self._snapshots.get(domain_id)
            if snapshot is not None and self._usable(snapshot, generation, started_at):
                return snapshot.report
            if snapshot is not None:
                snapshot.refreshing = True

        try:
            report = compute()
        finally:
            if snapshot is not None:
                snapshot.refreshing = False
        with self._lock:
            self._snapshots[domain_id] = _Snapshot(report, started_at, generation)
        return report

    def _usable(self, snapshot: _Snapshot, generation: int, now: float) -> bool:
        if snapshot.generation != generation:
            return False
        age = now - snapshot.started_at
        if age < self.max_age:
            return True
        # Another request is recomputing it: serve this one meanwhile, unless
        # that computation has taken as long as the limit itself.
        return snapshot.refreshing and age < 2 * self.max_age


_stores: "weakref.WeakKeyDictionary[Engine, ReadinessSnapshots]" = (
    weakref.WeakKeyDictionary()
)
_stores_lock = threading.Lock()


def readiness_snapshots(engine: Engine, max_age: float) -> ReadinessSnapshots:
    """Return the snapshots of an engine's database, creating them on first use."""
    with _stores_lock:
        store = _stores.get(engine)
        if store is None or store.max_age != max_age:
            store = _stores[engine] = ReadinessSnapshots(max_age)
        return store
