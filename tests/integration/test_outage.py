"""A database outage gets 503 with Retry-After, and the app recovers by itself.

The app reaches PostgreSQL through a TCP proxy that the test cuts and
restores. While the proxy is cut, every route that needs the database responds
with 503 ``storage_unavailable`` and ``Retry-After``, and so does ``/readyz``.
``/healthz`` does not touch the database and stays 200. ``/metrics`` stays 200
with the gauges of the last successful collection, so that counters are still
scraped, and ``pinwatch_collect_last_success_timestamp_seconds`` stops moving
(which the PinwatchCollectStale alert watches). Once the proxy listens again,
the pool replaces its dead connections (``pool_pre_ping``) and requests
succeed without a restart.
"""

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from service.app import create_app
from service.core.db import create_db_engine
from service.core.migrate import upgrade
from service.ingest.models import EventReceipt
from tests.conftest import make_settings
from tests.factories import make_app, make_domain, make_key
from tests.ingest.payloads import check_event, error_code, events_body
from tests.integration.tcp_proxy import TcpProxy

pytestmark = pytest.mark.slow

LAST_SUCCESS = re.compile(
    r"^pinwatch_collect_last_success_timestamp_seconds (\S+)$", re.MULTILINE
)


@pytest.fixture(scope="session")
def migrated_url(postgresql_url: str) -> str:
    """The outage is simulated in front of PostgreSQL only."""
    upgrade(postgresql_url)
    return postgresql_url


@pytest.fixture
def proxy(migrated_url: str) -> Iterator[TcpProxy]:
    url = make_url(migrated_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield proxy


@pytest.fixture
def proxied_url(migrated_url: str, proxy: TcpProxy) -> str:
    url = make_url(migrated_url).set(port=proxy.port)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def proxied_engine(proxied_url: str) -> Iterator[Engine]:
    engine = create_db_engine(make_settings(proxied_url))
    yield engine
    engine.dispose()


@pytest.fixture
def proxied(
    proxied_url: str, engine: Engine, proxied_engine: Engine
) -> Iterator[TestClient]:
    """A client of an app whose database connections go through the proxy.

    ``engine`` empties the tables first, over a direct connection.
    """
    settings = make_settings(
        proxied_url,
        ingest_rate_per_second=0,
        # Every scrape reads the database, so the outage reaches /metrics.
        metrics_cache_seconds=0,
    )
    with TestClient(create_app(settings, proxied_engine)) as client:
        yield client


class CutAtCommit:
    """A commit listener that cuts the proxy once, before the commit is sent.

    The batch is then written in an open transaction when the database goes
    away, the worst moment for a request.
    """

    def __init__(self, proxy: TcpProxy) -> None:
        self.proxy = proxy
        self.fired = False

    def __call__(self, _connection: Connection) -> None:
        if not self.fired:
            self.fired = True
            self.proxy.cut()


def post_check(client: TestClient, key: str) -> httpx.Response:
    body = events_body(check_event())
    return client.post("/v1/events", json=body, headers={"X-Pinwatch-Key": key})


def last_success(client: TestClient) -> float:
    response = client.get("/metrics")
    match = LAST_SUCCESS.search(response.text)
    assert match is not None, response.text[-2000:]
    return float(match[1])


def receipt_count(db: Session) -> int:
    db.commit()
    return int(db.scalar(select(func.count()).select_from(EventReceipt)))


def assert_storage_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert error_code(response) == "storage_unavailable"
    assert int(response.headers["retry-after"]) >= 1


def test_outage_gets_503_and_recovers(
    proxied: TestClient, proxy: TcpProxy, db: Session, admin: dict[str, str]
) -> None:
    key = make_key(db, make_app(db))
    make_domain(db, "api.example.com")
    before = post_check(proxied, key)
    collected_at = last_success(proxied)

    proxy.cut()
    during = {
        "events": post_check(proxied, key),
        "reports": proxied.post("/v1/reports", params={"key": key}, content=b"{}"),
        "apps": proxied.get("/v1/apps", headers=admin),
        "readiness": proxied.get(
            "/v1/domains/api.example.com/readiness", headers=admin
        ),
    }
    readyz_during = proxied.get("/readyz")
    healthz_during = proxied.get("/healthz")
    metrics_during = proxied.get("/metrics")
    collected_during = last_success(proxied)
    proxy.restore()
    after = post_check(proxied, key)
    readyz_after = proxied.get("/readyz")

    assert before.status_code == 202
    for response in during.values():
        assert_storage_unavailable(response)
    assert readyz_during.status_code == 503
    assert readyz_during.json()["database"] == "unreachable"
    assert int(readyz_during.headers["retry-after"]) >= 1
    assert healthz_during.status_code == 200
    assert metrics_during.status_code == 200
    assert "pinwatch_events_total" in metrics_during.text
    assert collected_during == collected_at
    assert after.status_code == 202
    assert readyz_after.status_code == 200
    assert last_success(proxied) > collected_at
    assert receipt_count(db) == 2


def test_cut_before_commit_stores_nothing(
    proxied: TestClient, proxied_engine: Engine, proxy: TcpProxy, db: Session
) -> None:
    key = make_key(db, make_app(db))
    post_check(proxied, key)
    body = events_body(*[check_event() for _ in range(50)])

    cut = CutAtCommit(proxy)
    event.listen(proxied_engine, "commit", cut)
    during = proxied.post("/v1/events", json=body, headers={"X-Pinwatch-Key": key})
    event.remove(proxied_engine, "commit", cut)
    proxy.restore()
    retried = proxied.post("/v1/events", json=body, headers={"X-Pinwatch-Key": key})

    assert cut.fired
    assert_storage_unavailable(during)
    assert retried.status_code == 202
    assert retried.json()["accepted"] == 50
    assert retried.json()["duplicates"] == 0
    assert receipt_count(db) == 51
