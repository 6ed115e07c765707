from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.ingest.models import CheckCount, ServedKeyCount
from service.pins.pins import pin_text
from service.registry.models import App, Domain
from tests.factories import make_domain
from tests.ingest.helpers import all_rows
from tests.ingest.payloads import check_event, events_body, post_events

PIN_A = pin_text(b"\x0a" * 32)
PIN_B = pin_text(b"\x0b" * 32)


def served_counts(db: Session) -> dict[str, int]:
    return {row.spki_sha256: row.checks for row in all_rows(db, ServedKeyCount)}


def test_checks_add_up_in_hour(
    client: TestClient, db: Session, key: str, domain: Domain, app_row: App
) -> None:
    post_events(client, key, events_body(check_event(count=5), check_event(count=7)))

    post_events(client, key, events_body(check_event(count=30)))

    [row] = all_rows(db, CheckCount)
    assert row.checks == 42
    assert row.domain_id == domain.id
    assert row.app_id == app_row.id
    assert (row.hour.minute, row.hour.second, row.hour.microsecond) == (0, 0, 0)


def test_served_pins_are_counted(
    client: TestClient, db: Session, key: str, domain: Domain
) -> None:
    events = [
        check_event(served_pins=[PIN_A, PIN_B], matched_pin=PIN_A, count=3),
        check_event(served_pins=[PIN_B], count=2),
    ]

    post_events(client, key, events_body(*events))

    assert served_counts(db) == {PIN_A: 3, PIN_B: 5}


def test_matched_pin_counts_without_served_pins(
    client: TestClient, db: Session, key: str, domain: Domain
) -> None:
    post_events(client, key, events_body(check_event(matched_pin=PIN_A, count=4)))

    [row] = all_rows(db, ServedKeyCount)
    assert (row.spki_sha256, row.checks) == (PIN_A, 4)
    assert row.last_served_at is not None


def test_subdomain_checks_count_for_domain(
    client: TestClient, db: Session, key: str
) -> None:
    domain = make_domain(db, "example.com", include_subdomains=True)

    post_events(client, key, events_body(check_event("a.b.example.com", count=2)))

    [row] = all_rows(db, CheckCount)
    assert (row.domain_id, row.checks) == (domain.id, 2)


def test_unregistered_checks_are_not_stored(
    client: TestClient, db: Session, key: str, domain: Domain
) -> None:
    event = check_event("other.example.net", matched_pin=PIN_A)

    response = post_events(client, key, events_body(event))

    assert response.json()["accepted"] == 1
    assert all_rows(db, CheckCount) == []
    assert all_rows(db, ServedKeyCount) == []
