"""Requests generated from the OpenAPI schema never get a server error.

Schemathesis builds requests for every operation, valid ones and ones that
break the schema, and sends them to the ASGI app in this process. Each request
carries an admin token and an ingest key, so that the generated bodies reach
the endpoints instead of stopping at authentication. The database is a fresh
SQLite file, shared by every operation, so later requests see what earlier
ones stored.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy.orm import Session

from service.app import create_app
from service.core.db import create_db_engine, session_factory
from service.core.migrate import upgrade
from service.core.security import API_TOKEN_PREFIX, hash_secret, new_secret
from service.registry.models import ApiToken
from tests.conftest import make_settings
from tests.factories import make_app, make_domain, make_key

pytestmark = pytest.mark.slow

# Enough for the fuzzing phase to vary every field while the whole run stays
# within about two minutes.
MAX_EXAMPLES = 25


def add_admin_token(db: Session) -> str:
    token = new_secret(API_TOKEN_PREFIX)
    db.add(ApiToken(id="tok_schemathesis", role="admin", token_hash=hash_secret(token)))
    db.commit()
    return token


@dataclass(frozen=True)
class Target:
    app: FastAPI
    # The credentials every generated request carries.
    headers: dict[str, str]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """Build the app on a database with an app, its key, a domain and a token."""
    folder: Path = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite:///{folder / 'pinwatch.db'}"
    upgrade(url)
    settings = make_settings(url, ingest_rate_per_second=0)
    engine = create_db_engine(settings)
    with session_factory(engine)() as db:
        key = make_key(db, make_app(db))
        make_domain(db, "api.example.com")
        token = add_admin_token(db)
    headers = {"Authorization": f"Bearer {token}", "X-Pinwatch-Key": key}
    yield Target(create_app(settings, engine), headers)
    engine.dispose()


# The schema is read from an app whose in-memory database is never opened.
# Each test passes the app of ``target`` to the call instead, because
# schemathesis (4.32) loads fixture-built schemas through a pytest attribute
# that pytest 9.2 removed.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(make_settings("sqlite://"))
)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_server_errors(case: schemathesis.Case, target: Target) -> None:
    case.call_and_validate(
        headers=target.headers, checks=[not_a_server_error], app=target.app
    )
