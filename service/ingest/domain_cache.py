"""The registered domains that ingest matches hostnames against, cached briefly.

Every ingest request needs the domains, with their pins, that cover its
hostnames. With ``domain_cache_seconds`` above 0 each process loads all
domains at most that often, instead of querying on every request. A process
drops its copy as soon as it commits a registry change itself. A domain or pin
registered through another process reaches this one within that time, and
until then its events count as they did before the change.
"""

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session, joinedload

from service.core.settings import Settings
from service.ingest.registry_changes import registry_generation
from service.registry.models import Domain

# The default outside development and test, where domains are always fresh.
PRODUCTION_CACHE_SECONDS = 5.0


def cache_seconds(settings: Settings) -> float:
    if settings.domain_cache_seconds is not None:
        return settings.domain_cache_seconds
    return PRODUCTION_CACHE_SECONDS if settings.env == "production" else 0.0


@dataclass(frozen=True)
class _Snapshot:
    loaded_at: float
    generation: int
    # Detached Domain objects with their pins loaded, by hostname.
    domains: dict[str, Domain]


def load_domains(connection: Connection) -> dict[str, Domain]:
    """Load every registered domain with its pins, detached from any session.

    The query runs on the caller's connection, because a request that has a
    connection checked out and waits for a second one from a full pool could
    wait until the pool times out.
    """
    # rollback_only: closing this session leaves the caller's transaction be.
    with Session(bind=connection, join_transaction_mode="rollback_only") as session:
        query = select(Domain).options(joinedload(Domain.pins))
        domains = session.scalars(query).unique().all()
    return {domain.hostname: domain for domain in domains}


class DomainCache:
    """All registered domains of one database, reloaded when too old."""

    def __init__(
        self, max_age: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_age = max_age
        self._clock = clock
        self._snapshot: _Snapshot | None = None

    def domains(self, connection: Connection) -> dict[str, Domain]:
        """Return the domains by hostname, loading them when the copy is stale."""
        snapshot = self._snapshot
        generation = registry_generation()
        now = self._clock()
        if (
            snapshot is not None
            and snapshot.generation == generation
            and now - snapshot.loaded_at < self.max_age
        ):
            return snapshot.domains
        # Threads that find the copy stale at once may each load it. The last
        # one to finish wins, and every copy is complete.
        domains = load_domains(connection)
        self._snapshot = _Snapshot(now, generation, domains)
        return domains


_caches: "weakref.WeakKeyDictionary[Engine, DomainCache]" = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def domain_cache(engine: Engine, max_age: float) -> DomainCache:
    """Return the cache of an engine's database, creating it on first use."""
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None or cache.max_age != max_age:
            cache = _caches[engine] = DomainCache(max_age)
        return cache
