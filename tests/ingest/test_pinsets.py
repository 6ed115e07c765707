from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.pins.pins import pin_text
from service.registry.models import App, Domain, ReleasePinset
from tests.factories import make_release
from tests.ingest.helpers import all_rows
from tests.ingest.payloads import check_event, events_body, post_events

PIN_A = pin_text(b"\x0a" * 32)
PIN_B = pin_text(b"\x0b" * 32)


def learned(db: Session) -> list[ReleasePinset]:
    return [row for row in all_rows(db, ReleasePinset) if row.source == "learned"]


def test_known_pins_teach_pinset(
    client: TestClient, db: Session, key: str, domain: Domain
) -> None:
    event = check_event(
        known_pins=[f"sha256/{PIN_B}", PIN_A, PIN_B],
        pinset_expires="2027-06-30",
    )

    post_events(client, key, events_body(event))

    [pinset] = learned(db)
    assert pinset.domain_id == domain.id
    assert pinset.pins == [PIN_A, PIN_B]
    assert pinset.expires == date(2027, 6, 30)
    assert pinset.enforced is True


def test_unenforced_pinning_is_learned(
    client: TestClient, db: Session, key: str, domain: Domain
) -> None:
    event = check_event(known_pins=[PIN_A], enforced=False)

    post_events(client, key, events_body(event))

    [pinset] = learned(db)
    assert pinset.enforced is False


def test_changed_pins_replace_learned_pinset(
    client: TestClient, db: Session, key: str, domain: Domain
) -> None:
    post_events(client, key, events_body(check_event(known_pins=[PIN_A])))

    post_events(client, key, events_body(check_event(known_pins=[PIN_A, PIN_B])))

    [pinset] = learned(db)
    assert pinset.pins == [PIN_A, PIN_B]


def test_declared_pinset_is_untouched(
    client: TestClient, db: Session, key: str, domain: Domain, app_row: App
) -> None:
    make_release(db, app_row, "4.2.0", {domain: [PIN_A]})

    post_events(client, key, events_body(check_event(known_pins=[PIN_B])))

    pinsets = {row.source: row.pins for row in all_rows(db, ReleasePinset)}
    assert pinsets == {"declared": [PIN_A], "learned": [PIN_B]}


def test_unregistered_host_teaches_nothing(
    client: TestClient, db: Session, key: str, domain: Domain
) -> None:
    event = check_event("other.example.net", known_pins=[PIN_A])

    post_events(client, key, events_body(event))

    assert learned(db) == []


def test_event_without_known_pins_teaches_nothing(
    client: TestClient, db: Session, key: str, domain: Domain
) -> None:
    post_events(client, key, events_body(check_event()))

    assert learned(db) == []
