import threading

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from service.core.db import session_factory
from service.core.security import install_hash
from service.core.settings import Settings
from service.ingest.accept import IngestResponse
from service.ingest.models import AppDomain, CheckCount, EventReceipt, Install
from service.ingest.store import parent_hostnames
from service.registry.models import App, Domain, IngestKey, Release
from tests.certs import Chain
from tests.factories import make_app, make_domain, make_key, make_release
from tests.ingest.helpers import all_rows, store_events_body
from tests.ingest.payloads import (
    INSTALL_ID,
    check_event,
    events_body,
    failure_event,
    post_events,
)


def test_repeated_batch_is_stored_once(
    client: TestClient, db: Session, key: str, domain: Domain
) -> None:
    body = events_body(check_event(count=5), check_event(count=7))
    first = post_events(client, key, body)

    second = post_events(client, key, body)

    assert first.json()["accepted"] == 2
    assert second.json() == {"accepted": 0, "duplicates": 2, "rejected": []}
    assert len(all_rows(db, EventReceipt)) == 2
    assert [row.checks for row in all_rows(db, CheckCount)] == [12]


def test_repeated_id_in_batch_is_duplicate(
    client: TestClient, db: Session, key: str, domain: Domain
) -> None:
    event = check_event(count=5)

    response = post_events(client, key, events_body(event, dict(event)))

    assert response.json()["accepted"] == 1
    assert response.json()["duplicates"] == 1
    assert [row.checks for row in all_rows(db, CheckCount)] == [5]


def test_partly_repeated_batch_stores_new_events(
    client: TestClient, db: Session, key: str, domain: Domain
) -> None:
    old = check_event(count=1)
    post_events(client, key, events_body(old))

    response = post_events(client, key, events_body(old, check_event(count=2)))

    assert response.json()["accepted"] == 1
    assert response.json()["duplicates"] == 1
    assert [row.checks for row in all_rows(db, CheckCount)] == [3]


def test_same_id_from_other_app_is_new(
    client: TestClient, db: Session, key: str, domain: Domain
) -> None:
    other = make_app(db, "ios", "com.example.bank")
    other_key = make_key(db, other)
    event = check_event()
    post_events(client, key, events_body(event))

    response = post_events(client, other_key, events_body(event, platform="ios"))

    assert response.json()["accepted"] == 1


def test_release_is_created_for_version(
    client: TestClient, db: Session, key: str, app_row: App
) -> None:
    post_events(client, key, events_body(check_event(), version="5.0.0"))
    post_events(client, key, events_body(check_event(), version="5.0.0"))

    releases = all_rows(db, Release)

    assert [(r.app_id, r.version) for r in releases] == [(app_row.id, "5.0.0")]
    assert releases[0].declared is False


def test_declared_release_is_reused(
    client: TestClient, db: Session, key: str, app_row: App
) -> None:
    declared = make_release(db, app_row, "5.0.0")

    post_events(client, key, events_body(check_event(), version="5.0.0"))

    [install] = all_rows(db, Install)
    assert install.release_id == declared.id
    assert len(all_rows(db, Release)) == 1


def test_upgrade_keeps_one_install(
    client: TestClient, db: Session, key: str, app_row: App, settings: Settings
) -> None:
    post_events(client, key, events_body(check_event(), version="4.0.0"))
    [before] = all_rows(db, Install)
    first_seen, last_seen = before.first_seen_at, before.last_seen_at

    post_events(client, key, events_body(check_event(), version="4.1.0"))

    [after] = all_rows(db, Install)
    release = db.get(Release, after.release_id)
    assert release is not None
    assert release.version == "4.1.0"
    assert after.first_seen_at == first_seen
    assert after.last_seen_at > last_seen
    assert after.install_hash == install_hash(settings.secret, app_row.id, INSTALL_ID)


def test_raw_install_id_is_not_stored(
    client: TestClient, db: Session, key: str
) -> None:
    post_events(client, key, events_body(check_event()))

    [install] = all_rows(db, Install)

    assert INSTALL_ID.encode() not in install.install_hash
    assert len(install.install_hash) == 16


def test_batch_of_duplicates_touches_nothing(
    client: TestClient, db: Session, key: str
) -> None:
    event = check_event()
    post_events(client, key, events_body(event, version="1.0.0"))

    post_events(client, key, events_body(event, version="2.0.0"))

    [install] = all_rows(db, Install)
    assert [release.version for release in all_rows(db, Release)] == ["1.0.0"]
    assert db.get(Release, install.release_id) is not None


def test_app_domains_are_recorded(
    client: TestClient, db: Session, key: str, app_row: App, chain: Chain
) -> None:
    api = make_domain(db, "api.example.com")
    wide = make_domain(db, "example.org", include_subdomains=True)
    body = events_body(
        check_event("api.example.com"),
        failure_event(chain, "cdn.example.org"),
        check_event("elsewhere.example.net"),
    )

    post_events(client, key, body)

    rows = all_rows(db, AppDomain)
    assert sorted(row.domain_id for row in rows) == sorted([api.id, wide.id])
    assert all(row.app_id == app_row.id for row in rows)
    assert all(row.last_event_at is not None for row in rows)


def test_parent_hostnames_run_to_top_label() -> None:
    names = parent_hostnames("a.b.example.com")

    assert names == ["a.b.example.com", "b.example.com", "example.com", "com"]


def test_concurrent_retries_store_once(
    engine: Engine, settings: Settings, db: Session, key: str, domain: Domain
) -> None:
    ingest_key = db.scalars(select(IngestKey)).one()
    body = orjson.dumps(events_body(check_event(count=5)))
    sessions = session_factory(engine)
    start = threading.Barrier(2)
    responses: list[IngestResponse] = []

    def post() -> None:
        with sessions() as session:
            start.wait()
            responses.append(store_events_body(session, settings, ingest_key, body))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(response.accepted for response in responses) == [0, 1]
    assert sorted(response.duplicates for response in responses) == [0, 1]
    assert [row.checks for row in all_rows(db, CheckCount)] == [5]
