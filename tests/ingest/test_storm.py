"""Failure storms through POST /v1/events: exact counts, bounded storage.

A storm is many identical failures, as when a rotation or an interception
proxy blocks a whole fleet and every relaunch reports again.
"""

import gzip
from collections import Counter
from datetime import datetime
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from service.core.db import utcnow
from service.ingest import writer
from service.ingest.context import UNREGISTERED
from service.ingest.models import (
    FailureCount,
    FailureSignature,
    PinFailure,
    SignatureInstall,
)
from service.pins.pins import pin_text
from service.registry.models import Domain
from tests.certs import Chain, issue, make_chain
from tests.ingest.conftest import ClientFactory
from tests.ingest.helpers import all_rows
from tests.ingest.payloads import events_body, failure_event

STORM_SIZE = 10_000
BATCH_SIZE = 1000
SAMPLE_CAP = 25
OLD_PIN = pin_text(b"\x0b" * 32)


@pytest.fixture
def fixed_receive_time(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Receive every request at one moment, so that all counts share one hour.

    The sample cap applies per hour, so a storm that crossed the top of an
    hour could keep twice the cap.
    """
    moment = utcnow()
    monkeypatch.setattr(writer, "utcnow", lambda: moment)
    return moment


def post_gzip(client: TestClient, key: str, body: dict[str, Any]) -> dict[str, Any]:
    """Post a gzip-compressed events body, as a batch of 1000 must be sent.

    1000 failures with a three-certificate chain exceed the 1 MiB body limit
    uncompressed, but stay far below the 8 MiB limit after decompression.
    """
    response = client.post(
        "/v1/events",
        content=gzip.compress(orjson.dumps(body)),
        headers={
            "X-Pinwatch-Key": key,
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        },
    )
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    return answer


def failure_samples(client: TestClient) -> dict[tuple[str, str], float]:
    """Return ``pinwatch_pin_failures_total`` by (domain, classification)."""
    text = client.get("/metrics").text
    totals: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "pinwatch_pin_failures_total":
                labels = sample.labels
                key = (labels["domain"], labels["classification"])
                totals[key] = totals.get(key, 0.0) + sample.value
    return totals


@pytest.mark.usefixtures("fixed_receive_time")
def test_storm_keeps_exact_counts(
    client_with: ClientFactory, db: Session, key: str, domain: Domain, chain: Chain
) -> None:
    client = client_with(failure_sample_per_hour=SAMPLE_CAP)

    for batch in range(STORM_SIZE // BATCH_SIZE):
        events = [failure_event(chain, known_pins=[OLD_PIN]) for _ in range(BATCH_SIZE)]
        body = events_body(*events, install_id=f"install-{batch}")
        assert post_gzip(client, key, body)["accepted"] == BATCH_SIZE

    [signature] = all_rows(db, FailureSignature)
    counts = all_rows(db, FailureCount)
    assert signature.classification == "rotation_casualty"
    assert signature.occurrences == STORM_SIZE
    assert sum(count.occurrences for count in counts) == STORM_SIZE
    assert sum(count.sampled for count in counts) == SAMPLE_CAP
    assert len(all_rows(db, PinFailure)) == SAMPLE_CAP
    assert len(all_rows(db, SignatureInstall)) == STORM_SIZE // BATCH_SIZE
    assert failure_samples(client) == {
        ("api.example.com", "rotation_casualty"): STORM_SIZE
    }


def unregistered_failures(count: int) -> list[dict[str, Any]]:
    """Failures for ``count`` distinct hostnames that no domain covers.

    A third each: a private chain issued for the hostname (interception), one
    shared chain for a portal host (captive portal), and no chain (unknown).
    """
    inspection = make_chain("proxy.example.net")
    portal = make_chain("portal.example.net")
    events = []
    for number in range(count):
        hostname = f"host-{number}.example.net"
        if number % 3 == 0:
            leaf = issue(hostname, inspection.intermediate, sans=[hostname])
            served = [leaf.pem, inspection.intermediate.pem, inspection.root.pem]
        elif number % 3 == 1:
            served = portal.pems()
        else:
            served = []
        events.append(
            failure_event(portal, hostname, served_chain=served, known_pins=[OLD_PIN])
        )
    return events


@pytest.mark.usefixtures("fixed_receive_time")
def test_unregistered_hosts_stay_bounded(
    client_with: ClientFactory, db: Session, key: str, domain: Domain
) -> None:
    client = client_with(failure_sample_per_hour=SAMPLE_CAP)
    events = unregistered_failures(300)

    post_gzip(client, key, events_body(*events))

    signatures = all_rows(db, FailureSignature)
    rows_per_signature = Counter(row.signature_id for row in all_rows(db, PinFailure))
    assert sorted(row.classification for row in signatures) == [
        "captive_portal",
        "interception",
        "unknown",
    ]
    assert all(row.domain_id is None for row in signatures)
    assert all(row.served_pins == [] for row in signatures)
    assert [row.occurrences for row in signatures] == [100, 100, 100]
    assert sorted(rows_per_signature.values()) == [SAMPLE_CAP] * 3


@pytest.mark.usefixtures("fixed_receive_time")
def test_unregistered_hosts_add_no_labels(
    client_with: ClientFactory, key: str, domain: Domain
) -> None:
    client = client_with()
    before = client.get("/metrics").text

    post_gzip(client, key, events_body(*unregistered_failures(30)))

    after = client.get("/metrics").text
    assert "example.net" not in after
    assert failure_samples(client) == {
        (UNREGISTERED, "interception"): 10,
        (UNREGISTERED, "captive_portal"): 10,
        (UNREGISTERED, "unknown"): 10,
    }
    assert label_values(after, "domain") <= label_values(before, "domain") | {
        UNREGISTERED
    }


def label_values(exposition: str, label: str) -> set[str]:
    """Return every value of one label across all metrics of an exposition."""
    return {
        sample.labels[label]
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if label in sample.labels
    }
