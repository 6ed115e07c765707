import base64
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.core.errors import BadRequest, InvalidInput, PayloadTooLarge
from service.core.settings import Settings
from service.ingest.models import EventReceipt
from service.ingest.native import parse_native
from service.pins.pins import pin_text
from tests.certs import Chain, make_chain, undecodable_subject_der
from tests.conftest import make_settings
from tests.ingest.conftest import ClientFactory
from tests.ingest.payloads import (
    check_event,
    error_code,
    events_body,
    failure_event,
    post_events,
)

PIN = pin_text(bytes(range(32)))


def test_parses_check_event(settings: Settings) -> None:
    event = check_event(
        hostname="API.Example.COM.",
        served_pins=[f"sha256/{PIN}", PIN.rstrip("=")],
        matched_pin=bytes(range(32)).hex(),
        known_pins=[PIN],
        pinset_expires="2027-06-30",
        enforced=False,
        count=12,
    )

    batch = parse_native(events_body(event), settings)

    [(index, parsed)] = batch.events
    assert index == 0
    assert parsed.source == "native"
    assert parsed.hostname == "api.example.com"
    assert parsed.served_pins == [PIN]
    assert parsed.matched_pin == PIN
    assert parsed.known_pins == [PIN]
    assert parsed.pinset_expires == date(2027, 6, 30)
    assert parsed.enforced is False
    assert parsed.count == 12


def test_failure_pins_come_from_chain(settings: Settings, chain: Chain) -> None:
    event = failure_event(chain, network={"type": "wifi", "proxy": True})

    batch = parse_native(events_body(event), settings)

    [(_, parsed)] = batch.events
    assert parsed.served_pins == [item.pin for item in chain.certificates]
    assert parsed.served_chain == [item.der for item in chain.certificates]
    assert parsed.network == {"type": "wifi", "proxy": True}
    assert parsed.result == "pin_mismatch"
    assert parsed.port == 443


def test_device_time_is_kept(settings: Settings, chain: Chain) -> None:
    event = failure_event(chain, time="2026-05-01T14:00:00.123456789+02:00")

    batch = parse_native(events_body(event), settings)

    [(_, parsed)] = batch.events
    assert parsed.device_time_text == "2026-05-01T14:00:00.123456789+02:00"
    assert parsed.device_time == datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_unknown_fields_are_ignored(settings: Settings) -> None:
    body = events_body(check_event(colour="blue"))
    body["future"] = {"nested": True}

    batch = parse_native(body, settings)

    assert len(batch.events) == 1
    assert batch.rejected == []


def test_app_may_be_omitted(settings: Settings) -> None:
    body = {"version": "1.0.0", "install_id": "i", "events": []}

    batch = parse_native(body, settings)

    assert batch.app is not None
    assert batch.app.version == "1.0.0"
    assert batch.app.bundle_id is None


@pytest.mark.parametrize("document", [[], "text", {"events": {}}, {"install_id": "i"}])
def test_body_without_events_array_is_rejected(
    settings: Settings, document: object
) -> None:
    with pytest.raises(BadRequest) as raised:
        parse_native(document, settings)

    assert raised.value.code == "missing_events"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"install_id": ""}, "invalid_install_id"),
        ({"install_id": "x" * 129}, "invalid_install_id"),
        ({"install_id": 12}, "invalid_install_id"),
        ({"sdk": "bad\x00sdk"}, "invalid_sdk"),
        ({"app": "android"}, "invalid_app"),
        ({"app": {"version": "1\n2"}}, "invalid_app"),
        ({"app": {"bundle_id": "com.example.bank"}}, "missing_version"),
        ({"app": {"version": "   "}}, "missing_version"),
    ],
)
def test_bad_envelope_is_422(
    settings: Settings, change: dict[str, Any], code: str
) -> None:
    body = {**events_body(check_event()), **change}

    with pytest.raises(InvalidInput) as raised:
        parse_native(body, settings)

    assert raised.value.code == code


def test_missing_install_id_is_422(settings: Settings) -> None:
    body = events_body(check_event())
    del body["install_id"]

    with pytest.raises(InvalidInput) as raised:
        parse_native(body, settings)

    assert raised.value.code == "invalid_install_id"


def bad_events(chain: Chain) -> list[tuple[object, str]]:
    """Return (event, expected code) for each kind of bad event."""
    long_chain = make_chain().pems() * 4
    undecodable_pem = base64.b64encode(undecodable_subject_der()).decode()
    return [
        ("not an object", "invalid_event"),
        ({**check_event(), "type": "pin_party"}, "unknown_event_type"),
        ({k: v for k, v in check_event().items() if k != "type"}, "unknown_event_type"),
        ({k: v for k, v in check_event().items() if k != "id"}, "invalid_event"),
        (check_event(id=""), "invalid_event"),
        (check_event(id="x" * 65), "invalid_event"),
        (check_event(count=0), "invalid_event"),
        (check_event(count="many"), "invalid_event"),
        (check_event(hostname="bad host/name"), "invalid_event"),
        (check_event(time="yesterday"), "invalid_event"),
        (check_event(time="2026-13-01T00:00:00Z"), "invalid_event"),
        (check_event(time="2026-05-01T00:00:00"), "invalid_event"),
        (check_event(matched_pin="sha1/AAAA"), "invalid_pin"),
        (check_event(served_pins=["not a pin"]), "invalid_pin"),
        (check_event(known_pins=[PIN, "abc"]), "invalid_pin"),
        (
            failure_event(chain, served_chain=["not a certificate"]),
            "invalid_certificate",
        ),
        (
            failure_event(chain, served_chain=[undecodable_pem]),
            "invalid_certificate",
        ),
        (failure_event(chain, served_chain=long_chain), "chain_too_long"),
        (failure_event(chain, result="exploded"), "invalid_event"),
        (failure_event(chain, port=70000), "invalid_event"),
        (failure_event(chain, network={"type": "carrier pigeon"}), "invalid_event"),
    ]


def test_bad_events_are_rejected_with_code(settings: Settings, chain: Chain) -> None:
    cases = bad_events(chain)

    batch = parse_native(events_body(*[event for event, _ in cases]), settings)

    codes = [(rejected.index, rejected.code) for rejected in batch.rejected]
    assert codes == [(index, code) for index, (_, code) in enumerate(cases)]
    assert batch.events == []


def test_rejection_message_names_field(settings: Settings) -> None:
    batch = parse_native(events_body(check_event(count=0)), settings)

    [rejected] = batch.rejected
    assert rejected.message.startswith("count: ")


def test_oversized_certificate_is_rejected(chain: Chain, migrated_url: str) -> None:
    settings = make_settings(migrated_url, max_certificate_bytes=100)

    batch = parse_native(events_body(failure_event(chain)), settings)

    [rejected] = batch.rejected
    assert rejected.code == "invalid_certificate"


def test_too_many_events_is_rejected(settings: Settings) -> None:
    body = events_body(*[check_event() for _ in range(4)])
    limited = settings.model_copy(update={"max_events_per_request": 3})

    with pytest.raises(PayloadTooLarge) as raised:
        parse_native(body, limited)

    assert raised.value.code == "too_many_events"


def count_receipts(db: Session) -> int:
    db.commit()
    return db.scalar(select(func.count()).select_from(EventReceipt)) or 0


def test_mixed_batch_stores_good_events(
    client: TestClient, db: Session, key: str, chain: Chain
) -> None:
    body = events_body(
        check_event(), check_event(count=-1), failure_event(chain), "bad"
    )

    response = post_events(client, key, body)

    assert response.status_code == 202
    assert response.json()["accepted"] == 2
    assert response.json()["duplicates"] == 0
    assert [(r["index"], r["code"]) for r in response.json()["rejected"]] == [
        (1, "invalid_event"),
        (3, "invalid_event"),
    ]
    assert count_receipts(db) == 2


def test_missing_version_is_422(client: TestClient, db: Session, key: str) -> None:
    body = events_body(check_event())
    del body["app"]["version"]

    response = post_events(client, key, body)

    assert response.status_code == 422
    assert error_code(response) == "missing_version"
    assert count_receipts(db) == 0


def test_missing_events_is_400(client: TestClient, key: str) -> None:
    response = post_events(client, key, {"install_id": "i", "version": "1"})

    assert response.status_code == 400
    assert error_code(response) == "missing_events"


def test_too_many_events_is_413(client_with: ClientFactory, key: str) -> None:
    client = client_with(max_events_per_request=3)

    response = post_events(client, key, events_body(*[check_event()] * 4))

    assert response.status_code == 413
    assert error_code(response) == "too_many_events"


@pytest.mark.parametrize(
    "app", [{"platform": "ios"}, {"bundle_id": "com.example.other"}]
)
def test_other_app_is_403(
    client: TestClient, db: Session, key: str, app: dict[str, str]
) -> None:
    body = events_body(check_event())
    body["app"].update(app)

    response = post_events(client, key, body)

    assert response.status_code == 403
    assert error_code(response) == "app_mismatch"
    assert count_receipts(db) == 0


def test_platform_case_is_ignored(client: TestClient, key: str) -> None:
    body = events_body(check_event(), platform="Android")

    response = post_events(client, key, body)

    assert response.status_code == 202


def test_body_without_app_is_accepted(client: TestClient, key: str) -> None:
    body = {"version": "4.2.0", "install_id": "i", "events": [check_event()]}

    response = post_events(client, key, body)

    assert response.status_code == 202
    assert response.json()["accepted"] == 1
