from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from service.app import create_app
from service.core.db import create_db_engine, utcnow
from service.core.settings import Settings
from service.ingest.keys import KnownKeys
from service.registry.models import App, IngestKey
from tests.factories import make_key
from tests.ingest.conftest import ClientFactory
from tests.ingest.payloads import check_event, error_code, events_body


def post_with(
    client: TestClient,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> int:
    body = events_body(check_event())
    response = client.post("/v1/events", json=body, headers=headers, params=params)
    return response.status_code


def test_key_in_header_is_accepted(client: TestClient, key: str) -> None:
    status = post_with(client, headers={"X-Pinwatch-Key": key})

    assert status == 202


def test_key_as_bearer_is_accepted(client: TestClient, key: str) -> None:
    status = post_with(client, headers={"Authorization": f"Bearer {key}"})

    assert status == 202


def test_key_in_query_is_accepted(client: TestClient, key: str) -> None:
    status = post_with(client, params={"key": key})

    assert status == 202


def test_missing_key_is_401(client: TestClient, key: str) -> None:
    response = client.post("/v1/events", json=events_body(check_event()))

    assert response.status_code == 401
    assert error_code(response) == "missing_key"


@pytest.mark.parametrize(
    "presented", ["pwk_unknown", "pwt_not-an-ingest-key", "pwk_" + "x" * 300]
)
def test_unknown_key_is_401(client: TestClient, key: str, presented: str) -> None:
    response = client.post(
        "/v1/events",
        json=events_body(check_event()),
        headers={"X-Pinwatch-Key": presented},
    )

    assert response.status_code == 401
    assert error_code(response) == "invalid_key"


def test_revoked_key_is_403(client: TestClient, db: Session, app_row: App) -> None:
    revoked = make_key(db, app_row, revoked=True)

    response = client.post(
        "/v1/events",
        json=events_body(check_event()),
        headers={"X-Pinwatch-Key": revoked},
    )

    assert response.status_code == 403
    assert error_code(response) == "key_revoked"


def test_revocation_applies_to_next_request(
    client: TestClient, db: Session, key: str
) -> None:
    before = post_with(client, headers={"X-Pinwatch-Key": key})
    db.execute(update(IngestKey).values(revoked_at=utcnow()))
    db.commit()

    after = post_with(client, headers={"X-Pinwatch-Key": key})

    assert before == 202
    assert after == 403


def test_header_wins_over_query(client: TestClient, key: str) -> None:
    status = post_with(
        client, headers={"X-Pinwatch-Key": key}, params={"key": "pwk_unknown"}
    )

    assert status == 202


@pytest.fixture
def other_engine(settings: Settings) -> Iterator[Engine]:
    """A second engine with its own pool, as a second server process has."""
    engine = create_db_engine(settings)
    yield engine
    engine.dispose()


def test_revocation_reaches_other_instances(
    settings: Settings,
    engine: Engine,
    other_engine: Engine,
    db: Session,
    key: str,
    admin: dict[str, str],
) -> None:
    revoking = TestClient(create_app(settings, engine))
    serving = TestClient(create_app(settings, other_engine))
    key_id = db.scalars(select(IngestKey.id)).one()
    before = post_with(serving, headers={"X-Pinwatch-Key": key})

    revoked = revoking.delete(
        f"/v1/apps/android:com.example.bank/keys/{key_id}", headers=admin
    )
    after = post_with(serving, headers={"X-Pinwatch-Key": key})

    assert before == 202
    assert revoked.status_code == 204
    assert after == 403


def test_unknown_key_is_refused_before_body(
    client_with: ClientFactory, key: str
) -> None:
    client = client_with(max_body_bytes=100)
    body = events_body(*[check_event() for _ in range(20)])

    unknown = client.post("/v1/events", json=body, headers={"X-Pinwatch-Key": "pwk_x"})
    known = client.post("/v1/events", json=body, headers={"X-Pinwatch-Key": key})

    assert unknown.status_code == 401
    assert known.status_code == 413


def test_known_keys_drop_least_recently_used() -> None:
    known = KnownKeys(max_keys=2)
    known.add("hash-a", "a")
    known.add("hash-b", "b")
    known.get("hash-a")

    known.add("hash-c", "c")

    assert known.get("hash-a") == "a"
    assert known.get("hash-b") is None
    assert known.get("hash-c") == "c"
