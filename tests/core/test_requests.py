"""Ingest keys sent in the query string never reach the server's output.

The server runs as ``pinwatch serve`` at log level INFO, so its access line,
the ingest warnings and uvicorn's own output all land in the captured log.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy.orm import Session

from service.core.db import create_db_engine, session_factory
from service.core.migrate import upgrade
from service.simulate.trustkit import ios_report
from tests.certs import make_chain
from tests.conftest import make_settings
from tests.factories import make_app, make_key
from tests.ingest.payloads import check_event, events_body
from tests.integration.ingest import pinwatch_server, server_env

pytestmark = pytest.mark.slow


def trustkit_body() -> bytes:
    chain = make_chain("api.example.com")
    return ios_report(
        bundle_id="com.example.bank",
        app_version="4.2.0",
        vendor_id="9A1F0C2E-5B7D-4E3C-8A51-0E2F4D6B8C90",
        hostname="api.example.com",
        validated_chain=[item.certificate for item in chain.certificates],
        known_pins=[chain.leaf.pin],
        time=datetime.now(UTC),
    )


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'pinwatch.db'}"
    upgrade(url)
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    engine = create_db_engine(make_settings(database_url))
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


def send_requests(url: str, key: str, revoked: str) -> list[int]:
    """Send every kind of ingest request with the key in ``?key=``."""
    body = orjson.dumps(events_body(check_event(), platform="ios"))
    sent = [
        ("/v1/reports", key, trustkit_body()),
        ("/v1/events", key, body),
        ("/v1/events", key, b"{not json"),
        ("/v1/events", revoked, body),
        ("/v1/events", "pwk_unknown-key-that-matches-no-row", body),
        # The burst is 3 and the revoked and unknown keys take no token of
        # this key, so both reports below are rate limited.
        ("/v1/reports", key, trustkit_body()),
        ("/v1/reports", key, trustkit_body()),
    ]
    with httpx.Client(base_url=url, timeout=10.0) as http:
        return [
            http.post(path, params={"key": value}, content=content).status_code
            for path, value, content in sent
        ]


def test_query_keys_never_reach_logs(
    database_url: str, db: Session, tmp_path: Path
) -> None:
    app = make_app(db, "ios", "com.example.bank")
    key = make_key(db, app)
    revoked = make_key(db, app, revoked=True)
    env = server_env(
        database_url,
        # DEBUG includes the access lines of successful ingest requests.
        PINWATCH_LOG_LEVEL="DEBUG",
        PINWATCH_INGEST_RATE_PER_SECOND="0.01",
        PINWATCH_INGEST_RATE_BURST="3",
    )

    with pinwatch_server(env, tmp_path) as server:
        statuses = send_requests(server.url, key, revoked)
    output = server.log.read_text()

    access_lines = [line for line in output.splitlines() if '"request"' in line]
    assert statuses == [202, 202, 400, 403, 401, 429, 429]
    assert len(access_lines) >= len(statuses)
    assert '"ingest_rate_limited"' in output
    assert '"ingest_key_revoked"' in output
    assert key not in output
    assert revoked not in output
    assert "pwk_" not in output
    assert "key=" not in output


def test_successful_ingest_is_logged_at_debug(
    database_url: str, db: Session, tmp_path: Path
) -> None:
    app = make_app(db, "ios", "com.example.bank")
    key = make_key(db, app)
    env = server_env(database_url, PINWATCH_LOG_LEVEL="INFO")

    body = orjson.dumps(events_body(check_event(), platform="ios"))
    sent = [("/v1/reports", trustkit_body()), ("/v1/events", body)]
    sent.append(("/v1/events", b"{not json"))

    with pinwatch_server(env, tmp_path) as server, httpx.Client() as http:
        responses = [
            http.post(f"{server.url}{path}", params={"key": key}, content=content)
            for path, content in sent
        ]
    output = server.log.read_text()

    lines = output.splitlines()
    access_lines = [line for line in lines if '"request"' in line and "/v1/" in line]
    assert [response.status_code for response in responses] == [202, 202, 400]
    assert len(access_lines) == 1
    assert '"status":400' in access_lines[0]


def test_writer_logs_carry_request_id(
    database_url: str, db: Session, tmp_path: Path
) -> None:
    app = make_app(db, "ios", "com.example.bank")
    key = make_key(db, app)
    env = server_env(database_url, PINWATCH_LOG_LEVEL="INFO")
    bad_event = events_body(check_event(count=-1), platform="ios")
    sent = [
        ("/v1/reports", "trace-quarantined", b'{"not": "a report"}'),
        ("/v1/events", "trace-rejected", orjson.dumps(bad_event)),
    ]

    with pinwatch_server(env, tmp_path) as server, httpx.Client() as http:
        responses = [
            http.post(
                f"{server.url}{path}",
                params={"key": key},
                headers={"X-Request-Id": request_id},
                content=content,
            )
            for path, request_id, content in sent
        ]
    output = server.log.read_text().splitlines()
    lines = [orjson.loads(line) for line in output if line.startswith("{")]

    by_event = {line["event"]: line for line in lines if "event" in line}
    assert [response.status_code for response in responses] == [202, 202]
    assert by_event["report_quarantined"]["request_id"] == "trace-quarantined"
    assert by_event["events_rejected"]["request_id"] == "trace-rejected"
