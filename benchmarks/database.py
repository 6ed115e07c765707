"""Scratch databases and the registry rows that every case sends events against.

PostgreSQL cases use a database created on the local server for this run and
dropped when it ends. SQLite cases use a file in the run's temporary folder.
"""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service.core.db import sqlalchemy_url
from service.core.migrate import upgrade
from service.core.security import (
    API_TOKEN_PREFIX,
    INGEST_KEY_PREFIX,
    hash_secret,
    new_secret,
)
from service.pins.pins import display_pin
from service.registry.models import ApiToken, App, Domain, DomainPin, IngestKey
from service.simulate.scenario import build_scenario

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
SEED = "pinwatch-benchmark"
INGEST_HOSTNAMES = ("api.bench.example", "cdn.bench.example")
INGEST_VERSIONS = ("5.0.0", "5.1.0", "5.2.0", "5.3.0")
BUNDLE_ID = "com.bench.ingest"


@contextmanager
def postgres_database() -> Iterator[str]:
    """Create an empty database on the local server, and drop it afterwards."""
    name = f"pinwatch_bench_{secrets.token_hex(5)}"
    admin = create_engine(
        sqlalchemy_url(f"{POSTGRES_SERVER}/postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield f"{POSTGRES_SERVER}/{name}"
        finally:
            with admin.connect() as connection:
                connection.execute(
                    text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                )
    finally:
        admin.dispose()


def postgres_version() -> str:
    """Return the local server's version, or why it could not be read."""
    engine = create_engine(sqlalchemy_url(f"{POSTGRES_SERVER}/postgres"))
    try:
        with engine.connect() as connection:
            return str(connection.scalar(text("SHOW server_version")))
    except OperationalError as exc:
        return f"unreachable ({type(exc.orig).__name__})"
    finally:
        engine.dispose()


@contextmanager
def migrated_engine(url: str) -> Iterator[Engine]:
    """Migrate the database to the head revision and yield an engine on it."""
    upgrade(url)
    engine = create_engine(sqlalchemy_url(url))
    try:
        yield engine
    finally:
        engine.dispose()


@dataclass(frozen=True)
class IngestRegistry:
    """An app per platform with an ingest key, and two domains with two pins each."""

    # Ingest key by platform (android, ios).
    keys: dict[str, str]
    hostnames: tuple[str, ...]
    versions: tuple[str, ...]
    # Pins in the forms apps send them.
    known_pins: tuple[str, ...]
    served_pins: tuple[str, ...]


def add_app(session: Session, platform: str, bundle_id: str) -> App:
    app = App(platform=platform, bundle_id=bundle_id, name=f"{bundle_id} (benchmark)")
    session.add(app)
    session.flush()
    return app


def add_ingest_key(session: Session, app: App) -> str:
    key = new_secret(INGEST_KEY_PREFIX)
    row = IngestKey(id="key_" + secrets.token_hex(8), app_id=app.id)
    row.key_hash = hash_secret(key)
    session.add(row)
    return key


def add_reader_token(session: Session) -> str:
    token = new_secret(API_TOKEN_PREFIX)
    row = ApiToken(id="tok_" + secrets.token_hex(6), role="reader", name="benchmark")
    row.token_hash = hash_secret(token)
    session.add(row)
    return token


def add_domain(session: Session, hostname: str, pins: dict[str, str]) -> Domain:
    """Register a domain with pins given as {pin: role}."""
    domain = Domain(hostname=hostname, owner_team="benchmark")
    domain.pins = [
        DomainPin(spki_sha256=pin, role=role, label=f"{role} key")
        for pin, role in pins.items()
    ]
    session.add(domain)
    session.flush()
    return domain


def ingest_registry(keys: dict[str, str]) -> IngestRegistry:
    """Describe the ingest registry with the given keys, without a database."""
    scenario = build_scenario(INGEST_HOSTNAMES[0], SEED)
    return IngestRegistry(
        keys=keys,
        hostnames=INGEST_HOSTNAMES,
        versions=INGEST_VERSIONS,
        known_pins=(
            display_pin(scenario.current_pin),
            display_pin(scenario.backup_pin),
        ),
        served_pins=tuple(display_pin(pin) for pin in scenario.current.pins()),
    )


def seed_ingest(engine: Engine) -> IngestRegistry:
    """Register what the ingest cases post against."""
    scenario = build_scenario(INGEST_HOSTNAMES[0], SEED)
    pins = {scenario.current_pin: "current", scenario.backup_pin: "backup"}
    with Session(engine) as session:
        keys = {
            platform: add_ingest_key(session, add_app(session, platform, BUNDLE_ID))
            for platform in ("android", "ios")
        }
        for hostname in INGEST_HOSTNAMES:
            add_domain(session, hostname, pins)
        session.commit()
    return ingest_registry(keys)
