import base64
import hashlib
import threading
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from service.core.db import session_factory
from service.core.security import install_hash
from service.core.settings import Settings
from service.ingest.failures import failure_signature
from service.ingest.models import (
    Certificate,
    FailureCount,
    FailureSignature,
    PinFailure,
    SignatureInstall,
)
from service.pins.pins import pin_text
from service.registry.models import App, Domain, IngestKey
from tests.certs import Chain, make_chain
from tests.conftest import make_settings
from tests.factories import make_domain
from tests.ingest.conftest import ClientFactory
from tests.ingest.helpers import all_rows, store_events_body
from tests.ingest.payloads import (
    DEVICE_TIME,
    INSTALL_ID,
    events_body,
    failure_event,
    post_events,
)

OLD_PIN = pin_text(b"\x0a" * 32)


def old_build_failure(
    chain: Chain, hostname: str = "api.example.com"
) -> dict[str, Any]:
    """A failure of a build that trusts only an old key, not the served one."""
    return failure_event(chain, hostname, known_pins=[OLD_PIN])


def test_failure_is_stored_with_signature(
    client: TestClient, db: Session, key: str, domain: Domain, chain: Chain
) -> None:
    post_events(client, key, events_body(old_build_failure(chain)))

    [signature] = all_rows(db, FailureSignature)
    chain_pins = sorted(item.pin for item in chain.certificates)
    assert signature.domain_id == domain.id
    assert signature.classification == "rotation_casualty"
    assert signature.served_pins == chain_pins
    assert signature.occurrences == 1
    assert signature.signature == failure_signature(
        domain, "rotation_casualty", chain_pins
    )


def test_signature_hashes_domain_cause_and_pins(domain: Domain) -> None:
    key = "api.example.com|interception|" + ",".join(["A", "B"])
    expected = base64.b64encode(hashlib.sha256(key.encode()).digest()).decode()

    signature = failure_signature(domain, "interception", ["B", "A", "B"])

    assert signature == expected


def test_raw_failure_keeps_event_details(
    client: TestClient,
    db: Session,
    key: str,
    domain: Domain,
    chain: Chain,
    app_row: App,
    settings: Settings,
) -> None:
    event = old_build_failure(chain)
    event.update(noted_hostname="Example.COM", network={"type": "wifi"})

    post_events(client, key, events_body(event))

    [row] = all_rows(db, PinFailure)
    assert row.event_id == event["id"]
    assert row.source == "native"
    assert row.hostname == "api.example.com"
    assert row.noted_hostname == "example.com"
    assert row.port == 443
    assert row.result == "pin_mismatch"
    assert row.action == "blocked"
    assert row.enforced is True
    assert row.device_time == DEVICE_TIME
    assert row.served_pins == [item.pin for item in chain.certificates]
    assert row.known_pins == [OLD_PIN]
    assert row.network == {"type": "wifi"}
    assert row.sdk == "pinwatch-android 1.0.0"
    assert row.app_id == app_row.id
    assert row.install_hash == install_hash(settings.secret, app_row.id, INSTALL_ID)


def test_served_certificates_are_stored_once(
    client: TestClient, db: Session, key: str, domain: Domain, chain: Chain
) -> None:
    events = [old_build_failure(chain), old_build_failure(chain)]

    post_events(client, key, events_body(*events))
    post_events(client, key, events_body(old_build_failure(chain)))

    certificates = {row.spki_sha256: row for row in all_rows(db, Certificate)}
    [failure, *_] = all_rows(db, PinFailure)
    assert sorted(certificates) == sorted(item.pin for item in chain.certificates)
    assert certificates[chain.leaf.pin].subject == "CN=api.example.com"
    assert certificates[chain.leaf.pin].issuer == "CN=Test Intermediate CA"
    assert certificates[chain.leaf.pin].der == chain.leaf.der
    assert certificates[chain.leaf.pin].not_after is not None
    assert failure.served_chain == [
        base64.b64encode(hashlib.sha256(item.der).digest()).decode()
        for item in chain.certificates
    ]


def test_storm_counts_exactly_and_samples_rows(
    client_with: ClientFactory, db: Session, key: str, domain: Domain, chain: Chain
) -> None:
    client = client_with(failure_sample_per_hour=5)
    events = [old_build_failure(chain) for _ in range(50)]

    response = post_events(client, key, events_body(*events))

    [count] = all_rows(db, FailureCount)
    [signature] = all_rows(db, FailureSignature)
    assert response.json()["accepted"] == 50
    assert count.occurrences == 50
    assert count.sampled == 5
    assert signature.occurrences == 50
    assert len(all_rows(db, PinFailure)) == 5
    assert len(all_rows(db, SignatureInstall)) == 1


def test_sample_cap_spans_requests(
    client_with: ClientFactory, db: Session, key: str, domain: Domain, chain: Chain
) -> None:
    client = client_with(failure_sample_per_hour=5)

    for _ in range(3):
        events = [old_build_failure(chain), old_build_failure(chain)]
        post_events(client, key, events_body(*events))

    [count] = all_rows(db, FailureCount)
    assert count.occurrences == 6
    assert count.sampled == 5
    assert len(all_rows(db, PinFailure)) == 5


def test_sample_cap_spans_releases(
    client_with: ClientFactory, db: Session, key: str, domain: Domain, chain: Chain
) -> None:
    client = client_with(failure_sample_per_hour=5)
    old = [old_build_failure(chain) for _ in range(4)]
    new = [old_build_failure(chain) for _ in range(4)]

    post_events(client, key, events_body(*old, version="1.0.0"))
    post_events(client, key, events_body(*new, version="2.0.0"))

    counts = sorted(
        (row.occurrences, row.sampled) for row in all_rows(db, FailureCount)
    )
    assert counts == [(4, 1), (4, 4)]
    assert len(all_rows(db, PinFailure)) == 5


def test_installs_of_signature_are_counted(
    client: TestClient, db: Session, key: str, domain: Domain, chain: Chain
) -> None:
    for install in ("install-a", "install-b", "install-a"):
        body = events_body(old_build_failure(chain), install_id=install)
        post_events(client, key, body)

    assert len(all_rows(db, SignatureInstall)) == 2


def test_causes_get_own_signatures(
    client: TestClient, db: Session, key: str, domain: Domain, chain: Chain
) -> None:
    trusted = failure_event(chain, known_pins=[chain.leaf.pin])

    post_events(client, key, events_body(old_build_failure(chain), trusted))

    causes = sorted(row.classification for row in all_rows(db, FailureSignature))
    assert causes == ["chain_invalid", "rotation_casualty"]


def test_unregistered_hosts_share_bucket(
    client: TestClient, db: Session, key: str, domain: Domain
) -> None:
    events = [
        failure_event(make_chain("one.example.net"), "one.example.net"),
        failure_event(make_chain("two.example.net"), "two.example.net"),
    ]

    post_events(client, key, events_body(*events))

    [signature] = all_rows(db, FailureSignature)
    rows = all_rows(db, PinFailure)
    assert signature.domain_id is None
    assert signature.served_pins == []
    assert signature.occurrences == 2
    assert signature.signature == failure_signature(None, signature.classification, [])
    assert sorted(row.hostname for row in rows) == [
        "one.example.net",
        "two.example.net",
    ]
    assert all(row.domain_id is None for row in rows)


def test_failure_without_chain_is_stored(
    client: TestClient, db: Session, key: str, domain: Domain, chain: Chain
) -> None:
    event = failure_event(chain, served_chain=[])

    response = post_events(client, key, events_body(event))

    [row] = all_rows(db, PinFailure)
    assert response.json()["accepted"] == 1
    assert row.served_chain == []
    assert row.classification == "unknown"


def test_subdomain_failure_uses_domain(
    client: TestClient, db: Session, key: str, chain: Chain
) -> None:
    wide = make_domain(db, "example.com", chain.leaf.pin, include_subdomains=True)

    post_events(client, key, events_body(old_build_failure(chain)))

    [signature] = all_rows(db, FailureSignature)
    assert signature.domain_id == wide.id


def test_sample_cap_holds_under_concurrency(
    engine: Engine,
    migrated_url: str,
    db: Session,
    key: str,
    domain: Domain,
    chain: Chain,
) -> None:
    settings = make_settings(migrated_url, failure_sample_per_hour=5)
    ingest_key = db.scalars(select(IngestKey)).one()
    # Separate installs, so that no shared install row orders the requests.
    bodies = [
        orjson.dumps(
            events_body(
                *[old_build_failure(chain) for _ in range(4)],
                install_id=f"install-{number}",
            )
        )
        for number in range(4)
    ]
    sessions = session_factory(engine)
    start = threading.Barrier(len(bodies))

    def post(body: bytes) -> None:
        with sessions() as session:
            start.wait()
            store_events_body(session, settings, ingest_key, body)

    threads = [threading.Thread(target=post, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    [count] = all_rows(db, FailureCount)
    assert count.occurrences == 16
    assert count.sampled == 5
    assert len(all_rows(db, PinFailure)) == 5
