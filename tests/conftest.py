"""Fixtures: every database test runs on SQLite and on the local PostgreSQL.

PostgreSQL tests are skipped when the server cannot be reached, unless
``PINWATCH_REQUIRE_POSTGRES=1`` is set (as CI does), which turns that into a failure.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from service.app import create_app
from service.core.db import create_db_engine, session_factory
from service.core.migrate import upgrade
from service.core.settings import Settings
from service.models import Base
from service.registry.cli import create_token

POSTGRES_URL = os.environ.get(
    "PINWATCH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("PINWATCH_REQUIRE_POSTGRES") == "1"
TEST_SECRET = "test-secret-that-is-long-enough-for-production-rules"


def _postgres_admin_engine() -> Engine:
    url = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """Create a scratch PostgreSQL database for this test session."""
    admin = _postgres_admin_engine()
    name = f"pinwatch_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required: {exc}")
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}")
    base, _, _ = POSTGRES_URL.rpartition("/")
    yield f"{base}/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("db") / "pinwatch.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def migrated_url(request: pytest.FixtureRequest) -> str:
    """A database URL migrated to the head revision, once per backend."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    upgrade(url)
    return url


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "database_url": database_url,
        "secret": TEST_SECRET,
        "log_json": True,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _empty_tables(engine: Engine) -> None:
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{name}"' for name in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                connection.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
def settings(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("PINWATCH_DATABASE_URL", migrated_url)
    monkeypatch.setenv("PINWATCH_SECRET", TEST_SECRET)
    monkeypatch.setenv("PINWATCH_ENV", "test")
    from service.core.settings import get_settings

    get_settings.cache_clear()
    return make_settings(migrated_url)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings)
    _empty_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session for arranging and checking rows directly."""
    with session_factory(engine)() as session:
        yield session


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings, engine)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def admin_token(engine: Engine) -> str:
    _token_id, token = create_token("admin", "tests")
    return token


@pytest.fixture
def reader_token(engine: Engine) -> str:
    _token_id, token = create_token("reader", "tests")
    return token


@pytest.fixture
def admin(admin_token: str) -> dict[str, str]:
    """Headers of an admin caller."""
    return {"Authorization": f"Bearer {admin_token}"}


@pytest.fixture
def reader(reader_token: str) -> dict[str, str]:
    """Headers of a reader caller."""
    return {"Authorization": f"Bearer {reader_token}"}
