"""Fixtures of the ingest tests: a registered app with a key, and a domain."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.app import create_app
from service.registry.models import App, Domain
from tests.certs import Chain, make_chain
from tests.conftest import make_settings
from tests.factories import make_app, make_domain, make_key

ClientFactory = Callable[..., TestClient]


@pytest.fixture
def app_row(db: Session) -> App:
    return make_app(db)


@pytest.fixture
def key(db: Session, app_row: App) -> str:
    return make_key(db, app_row)


@pytest.fixture
def chain() -> Chain:
    return make_chain("api.example.com")


@pytest.fixture
def domain(db: Session, chain: Chain) -> Domain:
    """api.example.com, pinned to the leaf key of ``chain``."""
    return make_domain(db, "api.example.com", chain.leaf.pin)


@pytest.fixture
def client_with(migrated_url: str, engine: Engine) -> Iterator[ClientFactory]:
    """Build test clients whose settings override the defaults."""
    with ExitStack() as stack:

        def build(**overrides: object) -> TestClient:
            settings = make_settings(migrated_url, **overrides)
            client = TestClient(create_app(settings, engine))
            return stack.enter_context(client)

        yield build
