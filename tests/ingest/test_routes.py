import gzip
from datetime import UTC, datetime

import orjson
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service.core.security import install_hash
from service.core.settings import Settings
from service.ingest import accept
from service.ingest.models import (
    EventReceipt,
    FailureCount,
    FailureSignature,
    Install,
    PinFailure,
    QuarantinedReport,
)
from service.pins.pins import pin_text
from service.registry.models import App, Domain, Release
from service.simulate.trustkit import hpkp_report, ios_report
from tests.certs import Chain
from tests.factories import make_app, make_key
from tests.ingest.conftest import ClientFactory
from tests.ingest.helpers import all_rows
from tests.ingest.payloads import check_event, error_code, events_body, post_events

OLD_PIN = pin_text(b"\x0a" * 32)
VENDOR_ID = "9A1F0C2E-5B7D-4E3C-8A51-0E2F4D6B8C90"


def trustkit_body(chain: Chain, bundle_id: str = "com.example.bank") -> bytes:
    return ios_report(
        bundle_id=bundle_id,
        app_version="4.2.0",
        vendor_id=VENDOR_ID,
        hostname="api.example.com",
        validated_chain=[item.certificate for item in chain.certificates],
        known_pins=[OLD_PIN],
        time=datetime.now(UTC),
    )


@pytest.fixture
def ios_app(db: Session) -> App:
    return make_app(db, "ios", "com.example.bank")


@pytest.fixture
def ios_key(db: Session, ios_app: App) -> str:
    return make_key(db, ios_app)


def post_report(
    client: TestClient, key: str, content: bytes, **headers: str
) -> Response:
    return client.post(
        "/v1/reports", params={"key": key}, content=content, headers=headers
    )


def test_trustkit_report_is_stored_as_failure(
    client: TestClient,
    db: Session,
    ios_key: str,
    domain: Domain,
    chain: Chain,
    ios_app: App,
    settings: Settings,
) -> None:
    response = post_report(client, ios_key, trustkit_body(chain))

    [row] = all_rows(db, PinFailure)
    [install] = all_rows(db, Install)
    release = db.get(Release, install.release_id)
    assert response.status_code == 202
    assert response.json() == {
        "accepted": 1,
        "duplicates": 0,
        "quarantined": 0,
        "rejected": [],
    }
    assert row.source == "trustkit"
    assert row.domain_id == domain.id
    assert row.event_id is None
    assert row.sdk == "trustkit-ios 3.0.3"
    assert install.install_hash == install_hash(settings.secret, ios_app.id, VENDOR_ID)
    assert release is not None
    assert release.version == "4.2.0"


def test_repeated_report_counts_each_time(
    client: TestClient, db: Session, ios_key: str, domain: Domain, chain: Chain
) -> None:
    body = trustkit_body(chain)

    post_report(client, ios_key, body)
    post_report(client, ios_key, body)

    [signature] = all_rows(db, FailureSignature)
    [count] = all_rows(db, FailureCount)
    assert signature.occurrences == 2
    assert count.occurrences == 2
    assert all_rows(db, EventReceipt) == []


def test_gzip_report_is_accepted(
    client: TestClient, ios_key: str, domain: Domain, chain: Chain
) -> None:
    content = gzip.compress(trustkit_body(chain))

    response = post_report(client, ios_key, content, **{"Content-Encoding": "gzip"})

    assert response.status_code == 202
    assert response.json()["accepted"] == 1


def test_hpkp_report_uses_unknown_install(
    client: TestClient,
    db: Session,
    key: str,
    domain: Domain,
    chain: Chain,
    app_row: App,
    settings: Settings,
) -> None:
    body = hpkp_report(
        hostname="api.example.com",
        served_chain=[item.certificate for item in chain.certificates],
        validated_chain=None,
        known_pins=[OLD_PIN],
        time=datetime.now(UTC),
    )

    response = post_report(client, key, body)

    [install] = all_rows(db, Install)
    [row] = all_rows(db, PinFailure)
    release = db.get(Release, install.release_id)
    assert response.json()["accepted"] == 1
    assert row.source == "hpkp"
    assert install.install_hash == install_hash(settings.secret, app_row.id, "unknown")
    assert release is not None
    assert release.version == "unknown"


@pytest.mark.parametrize(
    "content", [b'{"hello": "world"}', b"[1, 2, 3]", b'"text"', b"null"]
)
def test_unrecognised_json_is_quarantined(
    client: TestClient, db: Session, key: str, app_row: App, content: bytes
) -> None:
    response = post_report(client, key, content)

    [row] = all_rows(db, QuarantinedReport)
    assert response.status_code == 202
    assert response.json() == {
        "accepted": 0,
        "duplicates": 0,
        "quarantined": 1,
        "rejected": [],
    }
    assert row.body == content
    assert row.size == len(content)
    assert row.truncated is False
    assert row.app_id == app_row.id
    assert row.reason != ""


def test_quarantine_cuts_large_body(
    client_with: ClientFactory, db: Session, key: str
) -> None:
    client = client_with(max_quarantine_bytes=100)
    content = orjson.dumps({"padding": "x" * 500})

    post_report(client, key, content)

    [row] = all_rows(db, QuarantinedReport)
    assert row.body == content[:100]
    assert row.size == len(content)
    assert row.truncated is True


def test_deep_report_is_quarantined(client: TestClient, db: Session, key: str) -> None:
    content = b"[" * 40 + b"]" * 40

    response = post_report(client, key, content)

    [row] = all_rows(db, QuarantinedReport)
    assert response.json()["quarantined"] == 1
    assert "nested deeper" in row.reason


def test_quarantine_is_counted(client: TestClient, key: str) -> None:
    post_report(client, key, b"{}")

    registry = client.app.state.metrics.registry  # type: ignore[attr-defined]
    labels = {"source": "unknown", "type": "unknown", "outcome": "quarantined"}
    assert registry.get_sample_value("pinwatch_events_total", labels) == 1


def test_report_failure_is_counted(
    client: TestClient, ios_key: str, domain: Domain, chain: Chain
) -> None:
    post_report(client, ios_key, trustkit_body(chain))

    registry = client.app.state.metrics.registry  # type: ignore[attr-defined]
    labels = {"source": "trustkit", "type": "pin_failure", "outcome": "accepted"}
    assert registry.get_sample_value("pinwatch_events_total", labels) == 1


@pytest.mark.parametrize("content", [b"not json", b'{"a": ', b""])
def test_unparseable_report_is_400(
    client: TestClient, db: Session, key: str, content: bytes
) -> None:
    response = post_report(client, key, content)

    assert response.status_code == 400
    assert error_code(response) == "invalid_json"
    assert all_rows(db, QuarantinedReport) == []


def test_report_of_other_app_is_403(
    client: TestClient, db: Session, ios_key: str, domain: Domain, chain: Chain
) -> None:
    response = post_report(client, ios_key, trustkit_body(chain, "com.example.other"))

    assert response.status_code == 403
    assert error_code(response) == "app_mismatch"
    assert response.headers["access-control-allow-origin"] == "*"
    assert all_rows(db, PinFailure) == []


def test_report_without_key_is_401(client: TestClient, chain: Chain) -> None:
    response = client.post("/v1/reports", content=trustkit_body(chain))

    assert response.status_code == 401
    assert error_code(response) == "missing_key"
    assert response.headers["access-control-allow-origin"] == "*"


def test_oversized_report_is_413(
    client_with: ClientFactory, key: str, chain: Chain
) -> None:
    client = client_with(max_body_bytes=1000)

    response = post_report(client, key, trustkit_body(chain))

    assert response.status_code == 413
    assert error_code(response) == "payload_too_large"


def test_report_response_allows_any_origin(client: TestClient, key: str) -> None:
    response = post_report(client, key, b"{}")

    assert response.headers["access-control-allow-origin"] == "*"


def test_preflight_allows_post(client: TestClient) -> None:
    response = client.options(
        "/v1/reports",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
        },
    )

    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]


@pytest.fixture
def storage_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every batch fail as if the database had closed the connection."""

    def unavailable(*_args: object) -> None:
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(accept, "store_submissions", unavailable)


@pytest.mark.usefixtures("storage_down")
def test_storage_error_is_503(client: TestClient, key: str, domain: Domain) -> None:
    response = post_events(client, key, events_body(check_event()))

    assert response.status_code == 503
    assert error_code(response) == "storage_unavailable"
    assert response.headers["retry-after"] == "5"


@pytest.mark.usefixtures("storage_down")
def test_report_storage_error_allows_any_origin(
    client: TestClient, ios_key: str, chain: Chain, domain: Domain
) -> None:
    response = post_report(client, ios_key, trustkit_body(chain))

    assert response.status_code == 503
    assert error_code(response) == "storage_unavailable"
    assert response.headers["retry-after"] == "5"
    assert response.headers["access-control-allow-origin"] == "*"


def test_failed_commit_stores_nothing(
    client: TestClient,
    db: Session,
    key: str,
    domain: Domain,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail_commit(self: Session) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(Session, "commit", fail_commit)
    response = post_events(client, key, events_body(check_event()))
    monkeypatch.undo()

    assert response.status_code == 503
    assert all_rows(db, EventReceipt) == []
    assert all_rows(db, Install) == []
