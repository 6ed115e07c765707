"""Tests of the per-process cache of registered domains that ingest matches against."""

from sqlalchemy import insert
from sqlalchemy.orm import Session

from service.ingest.domain_cache import DomainCache, cache_seconds
from service.ingest.store import match_domains
from service.registry.models import Domain
from tests.conftest import make_settings
from tests.factories import make_domain


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def insert_domain_without_orm(db: Session, hostname: str) -> None:
    """Register a domain the way another process would: unseen by this one."""
    db.execute(insert(Domain), [{"hostname": hostname}])
    db.commit()


def test_cache_keeps_domains_until_max_age(db: Session) -> None:
    make_domain(db, "api.example.com")
    clock = FakeClock()
    cache = DomainCache(5.0, clock)
    cache.domains(db.connection())
    insert_domain_without_orm(db, "cdn.example.com")

    clock.now += 4.0
    fresh = cache.domains(db.connection())
    clock.now += 2.0
    reloaded = cache.domains(db.connection())

    assert sorted(fresh) == ["api.example.com"]
    assert sorted(reloaded) == ["api.example.com", "cdn.example.com"]


def test_cache_reloads_after_registry_change(db: Session) -> None:
    make_domain(db, "api.example.com")
    cache = DomainCache(60.0, FakeClock())
    cache.domains(db.connection())

    make_domain(db, "cdn.example.com")
    domains = cache.domains(db.connection())

    assert sorted(domains) == ["api.example.com", "cdn.example.com"]


def test_cached_domains_keep_their_pins(db: Session) -> None:
    pin = "B" * 43 + "="
    make_domain(db, "api.example.com", pin)
    cache = DomainCache(60.0, FakeClock())

    domains = cache.domains(db.connection())
    db.close()

    assert [p.spki_sha256 for p in domains["api.example.com"].pins] == [pin]


def test_match_from_cache_equals_match_from_query(db: Session) -> None:
    make_domain(db, "example.com", include_subdomains=True)
    make_domain(db, "api.example.com")
    hostnames = {"api.example.com", "cdn.example.com", "example.org", "example.com"}

    queried = match_domains(db, hostnames)
    cached = match_domains(db, hostnames, max_age=60.0)

    def names(matched: dict[str, Domain | None]) -> dict[str, str | None]:
        return {host: d.hostname if d else None for host, d in matched.items()}

    assert names(cached) == names(queried)
    assert names(cached)["cdn.example.com"] == "example.com"
    assert names(cached)["example.org"] is None


def test_cache_seconds_default_by_environment() -> None:
    production = make_settings("sqlite://", env="production")
    test = make_settings("sqlite://")
    chosen = make_settings("sqlite://", domain_cache_seconds=2.5)

    assert cache_seconds(production) == 5.0
    assert cache_seconds(test) == 0.0
    assert cache_seconds(chosen) == 2.5
