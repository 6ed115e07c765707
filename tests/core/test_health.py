from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from service.core.migrate import head_revision, schema_is_outdated


def test_healthz_answers_ok(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_current_schema(client: TestClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["schema"] == "0001"


def test_schema_is_outdated_by_revision() -> None:
    assert schema_is_outdated(None)
    assert not schema_is_outdated(head_revision())
    assert not schema_is_outdated("f00dfeedbeef")


def test_readyz_fails_without_schema(client: TestClient, engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))

    response = client.get("/readyz")

    with engine.begin() as connection:
        connection.execute(text("INSERT INTO alembic_version VALUES ('0001')"))
    assert response.status_code == 503
    assert response.json()["database"] == "schema_outdated"
