"""Classification of failures that arrive through the ingest endpoints.

Each case posts the same failure as a TrustKit iOS report, a TrustKit
Android report and a native event, then reads it back through the failure
listing, the incident and ``/metrics``.

The backend's CA and the CDN's CA are generated roots added to the Mozilla
root list for these tests, because no test can hold the key of a real public
CA. The inspection proxy's root stays out of that list.
"""

import base64
import hashlib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.app import create_app
from service.pins.certificates import certificate_sha256
from service.pins.pins import display_pin
from service.simulate.trustkit import android_report, ios_report
from tests.analysis.certificates import trust_as_public
from tests.certs import NOW, Chain, Issued, issue, make_chain
from tests.conftest import make_settings
from tests.factories import make_app, make_key

HOSTNAME = "api.example.com"
BUNDLE_ID = "com.example.bank"
OLD_VERSION = "4.1.0"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SOURCES = ("ios", "android", "native")
NETWORK_OR_DEVICE = {"interception", "captive_portal", "clock_skew"}
_event_numbers = itertools.count(1)


@dataclass(frozen=True)
class Certificates:
    """Every chain a failing build of the app meets in these tests."""

    backend: Chain
    # The backend's next keys, registered as backups before the rotation.
    next_leaf: Issued
    next_intermediate: Issued
    leaf_under_next_intermediate: Issued
    cdn: Chain
    inspection: Chain
    portal: Chain

    @property
    def old_build_pins(self) -> list[str]:
        """The pinset of 4.1.0, built before any backup key was registered."""
        return [self.backend.leaf.pin]


@pytest.fixture(scope="module")
def certs() -> Certificates:
    backend = make_chain(HOSTNAME, root=issue("Backend Public Root", ca=True))
    next_intermediate = issue("Backend CA 2026", backend.root, ca=True)
    return Certificates(
        backend=backend,
        next_leaf=issue(HOSTNAME, backend.intermediate, sans=[HOSTNAME]),
        next_intermediate=next_intermediate,
        leaf_under_next_intermediate=issue(
            HOSTNAME, next_intermediate, sans=[HOSTNAME]
        ),
        cdn=make_chain(HOSTNAME, root=issue("CDN Public Root", ca=True)),
        inspection=make_chain(HOSTNAME, root=issue("Corp Inspection CA", ca=True)),
        portal=make_chain("portal.hotel.example"),
    )


@pytest.fixture
def public_cas(certs: Certificates, monkeypatch: pytest.MonkeyPatch) -> None:
    trust_as_public(monkeypatch, certs.backend.root, certs.cdn.root)


@dataclass(frozen=True)
class FailureCase:
    """One failing connection of build 4.1.0 and what analysis must make of it."""

    served: list[Issued]
    known_pins: list[str]
    validation_result: int
    classification: str
    verdict: str
    device_time: datetime = field(default=NOW)


def interception(certs: Certificates) -> FailureCase:
    return FailureCase(
        served=certs.inspection.certificates,
        known_pins=certs.old_build_pins,
        validation_result=2,
        classification="interception",
        verdict="The chain ends at an untrusted root (Corp Inspection CA): "
        "TLS interception.",
    )


def captive_portal(certs: Certificates) -> FailureCase:
    return FailureCase(
        served=certs.portal.certificates,
        known_pins=certs.old_build_pins,
        validation_result=2,
        classification="captive_portal",
        verdict="The served certificate is for portal.hotel.example, not "
        "api.example.com: a captive portal or another network that redirects "
        "the connection.",
    )


def clock_in_1970(certs: Certificates) -> FailureCase:
    return FailureCase(
        served=certs.backend.certificates,
        known_pins=certs.old_build_pins,
        validation_result=2,
        classification="clock_skew",
        verdict="The device clock read 1970-01-01 00:00 UTC, ",
        device_time=EPOCH,
    )


def rotated_leaf(certs: Certificates) -> FailureCase:
    return FailureCase(
        served=[certs.next_leaf, certs.backend.intermediate, certs.backend.root],
        known_pins=certs.old_build_pins,
        validation_result=1,
        classification="rotation_casualty",
        verdict="The served leaf key is registered for api.example.com as backup "
        'but missing from this build\'s pinset. The pinned key "2025 leaf" '
        "(current) is no longer served.",
    )


def rotated_intermediate(certs: Certificates) -> FailureCase:
    return FailureCase(
        served=[
            certs.leaf_under_next_intermediate,
            certs.next_intermediate,
            certs.backend.root,
        ],
        known_pins=certs.old_build_pins,
        validation_result=1,
        classification="rotation_casualty",
        verdict="The served intermediate key is registered for api.example.com "
        "as backup but missing from this build's pinset. The pinned key "
        '"2025 leaf" (current) is no longer served.',
    )


def cdn_switch(certs: Certificates) -> FailureCase:
    # Servers leave the root out; the intermediate's issuer is checked instead.
    return FailureCase(
        served=[certs.cdn.leaf, certs.cdn.intermediate],
        known_pins=certs.old_build_pins,
        validation_result=1,
        classification="unpinned_public_key",
        verdict="The chain is publicly trusted (it leads to CDN Public Root) but "
        "contains no key registered for api.example.com: an unplanned "
        "certificate change, a CDN switch or mis-issuance.",
    )


def pasted_fingerprint(certs: Certificates) -> FailureCase:
    leaf = certs.backend.leaf
    return FailureCase(
        served=certs.backend.certificates,
        known_pins=[certificate_sha256(leaf.certificate)],
        validation_result=1,
        classification="pin_misconfigured",
        verdict="The build pins the certificate fingerprint (SHA-256 of the whole "
        "DER) of the served leaf certificate instead of its SPKI pin, "
        f"{display_pin(leaf.pin)}.",
    )


def pinned_chain_rejected(certs: Certificates) -> FailureCase:
    return FailureCase(
        served=certs.backend.certificates,
        known_pins=certs.old_build_pins,
        validation_result=2,
        classification="chain_invalid",
        verdict="The served chain contains the pinned leaf key, yet validation "
        "failed: a cause on the client, such as a device that does not trust "
        "the chain.",
    )


def no_chain(certs: Certificates) -> FailureCase:
    return FailureCase(
        served=[],
        known_pins=certs.old_build_pins,
        validation_result=1,
        classification="unknown",
        verdict="The failure carries no usable served chain, so its cause cannot "
        "be determined.",
    )


CASES: dict[str, Callable[[Certificates], FailureCase]] = {
    "interception": interception,
    "captive_portal": captive_portal,
    "clock_in_1970": clock_in_1970,
    "rotated_leaf": rotated_leaf,
    "rotated_intermediate": rotated_intermediate,
    "cdn_switch": cdn_switch,
    "pasted_fingerprint": pasted_fingerprint,
    "pinned_chain_rejected": pinned_chain_rejected,
    "no_chain": no_chain,
}


def register_domain(
    client: TestClient, admin: dict[str, str], certs: Certificates
) -> None:
    """Register the domain with its current key and the two next keys as backups."""
    response = client.put(f"/v1/domains/{HOSTNAME}", json={}, headers=admin)
    assert response.status_code == 201, response.text
    pins = [
        (certs.backend.leaf, "current", "2025 leaf"),
        (certs.next_leaf, "backup", "2026 leaf"),
        (certs.next_intermediate, "backup", "2026 intermediate"),
    ]
    for issued, role, label in pins:
        body = {"certificate": issued.pem, "role": role, "label": label}
        response = client.post(f"/v1/domains/{HOSTNAME}/pins", json=body, headers=admin)
        assert response.status_code == 201, response.text


@pytest.fixture
def keys(db: Session) -> dict[str, str]:
    """Ingest keys of the iOS and the Android app, by source."""
    ios = make_key(db, make_app(db, "ios", BUNDLE_ID))
    android = make_key(db, make_app(db, "android", BUNDLE_ID))
    return {"ios": ios, "android": android, "native": android}


def ios_body(case: FailureCase, install: str) -> bytes:
    return ios_report(
        bundle_id=BUNDLE_ID,
        app_version=OLD_VERSION,
        vendor_id=install,
        hostname=HOSTNAME,
        validated_chain=[item.certificate for item in case.served],
        known_pins=case.known_pins,
        time=case.device_time,
        validation_result=case.validation_result,
    )


def android_body(case: FailureCase, install: str) -> bytes:
    chain = [item.certificate for item in case.served]
    return android_report(
        bundle_id=BUNDLE_ID,
        app_version=OLD_VERSION,
        vendor_id=install,
        hostname=HOSTNAME,
        served_chain=chain,
        validated_chain=chain,
        known_pins=case.known_pins,
        local_time=case.device_time,
        validation_result=case.validation_result,
    )


def native_body(case: FailureCase, install: str) -> dict[str, Any]:
    result = "pin_mismatch" if case.validation_result == 1 else "chain_untrusted"
    event = {
        "id": f"event-{next(_event_numbers):06d}",
        "type": "pin_failure",
        "time": case.device_time.isoformat(),
        "hostname": HOSTNAME,
        "port": 443,
        "served_chain": [item.pem for item in case.served],
        "known_pins": case.known_pins,
        "result": result,
        "action": "blocked",
    }
    return {
        "app": {"bundle_id": BUNDLE_ID, "platform": "android", "version": OLD_VERSION},
        "install_id": install,
        "events": [event],
    }


def post_failure(
    client: TestClient, key: str, source: str, case: FailureCase, install: str
) -> None:
    """Post one failure as the source's client sends it."""
    if source == "native":
        body = native_body(case, install)
        response = client.post("/v1/events", json=body, params={"key": key})
    else:
        report = ios_body if source == "ios" else android_body
        response = client.post(
            "/v1/reports", content=report(case, install), params={"key": key}
        )
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 1


def post_three(client: TestClient, key: str, source: str, case: FailureCase) -> None:
    """Post the failure twice from one install and once from another."""
    for install in ("install-a", "install-a", "install-b"):
        post_failure(client, key, source, case, install)


def failure_groups(
    client: TestClient, reader: dict[str, str], group_by: str
) -> list[dict[str, Any]]:
    response = client.get(
        f"/v1/domains/{HOSTNAME}/failures",
        params={"group_by": group_by},
        headers=reader,
    )
    assert response.status_code == 200, response.text
    groups: list[dict[str, Any]] = response.json()["groups"]
    return groups


def only_incident(client: TestClient, reader: dict[str, str]) -> dict[str, Any]:
    [group] = failure_groups(client, reader, "signature")
    response = client.get(f"/v1/failures/{group['key']}", headers=reader)
    assert response.status_code == 200, response.text
    incident: dict[str, Any] = response.json()
    return incident


def failure_counter(client: TestClient) -> dict[tuple[str, ...], float]:
    """Return ``pinwatch_pin_failures_total`` by its four labels."""
    totals: dict[tuple[str, ...], float] = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name != "pinwatch_pin_failures_total":
                continue
            labels = sample.labels
            names = ("domain", "app", "app_version", "classification")
            totals[tuple(labels[name] for name in names)] = sample.value
    return totals


@pytest.mark.usefixtures("public_cas")
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("name", CASES)
def test_ingested_failure_is_classified(
    client: TestClient,
    admin: dict[str, str],
    reader: dict[str, str],
    keys: dict[str, str],
    certs: Certificates,
    name: str,
    source: str,
) -> None:
    case = CASES[name](certs)
    register_domain(client, admin, certs)

    post_three(client, keys[source], source, case)

    [group] = failure_groups(client, reader, "classification")
    incident = only_incident(client, reader)
    app = f"{'ios' if source == 'ios' else 'android'}:{BUNDLE_ID}"
    assert group["key"] == case.classification
    assert group["occurrences"] == 3
    assert group["unique_installs"] == 2
    assert group["versions"] == [OLD_VERSION]
    assert incident["classification"] == case.classification
    assert incident["occurrences"] == 3
    assert incident["unique_installs"] == 2
    assert incident["versions"] == [
        {"app": app, "version": OLD_VERSION, "occurrences": 3}
    ]
    assert incident["verdict"].startswith(case.verdict)
    assert incident["caused_by_network_or_device"] == (
        case.classification in NETWORK_OR_DEVICE
    )
    assert failure_counter(client) == {
        (HOSTNAME, app, OLD_VERSION, case.classification): 3
    }


@pytest.mark.usefixtures("public_cas")
@pytest.mark.parametrize("source", SOURCES)
def test_clock_verdict_names_invalid_leaf(
    client: TestClient,
    admin: dict[str, str],
    reader: dict[str, str],
    keys: dict[str, str],
    certs: Certificates,
    source: str,
) -> None:
    register_domain(client, admin, certs)

    post_three(client, keys[source], source, clock_in_1970(certs))

    verdict = only_incident(client, reader)["verdict"]
    assert "years behind the time the report arrived" in verdict
    assert verdict.endswith(
        "when the leaf certificate was not yet valid: a wrong device clock."
    )


@pytest.mark.usefixtures("public_cas")
def test_ios_report_with_unreadable_chain(
    client: TestClient,
    admin: dict[str, str],
    reader: dict[str, str],
    keys: dict[str, str],
    certs: Certificates,
) -> None:
    register_domain(client, admin, certs)
    report = json.loads(ios_body(rotated_leaf(certs), "install-a"))
    report["validated-certificate-chain"] = [
        pem[: len(pem) // 2] for pem in report["validated-certificate-chain"]
    ]

    response = client.post(
        "/v1/reports", content=json.dumps(report), params={"key": keys["ios"]}
    )

    incident = only_incident(client, reader)
    assert response.status_code == 202
    assert response.json()["accepted"] == 1
    assert incident["classification"] == "unknown"
    assert incident["served_pins"] == []
    assert incident["verdict"] == no_chain(certs).verdict


def test_cdn_chain_without_public_root_is_interception(
    client: TestClient,
    admin: dict[str, str],
    reader: dict[str, str],
    keys: dict[str, str],
    certs: Certificates,
) -> None:
    register_domain(client, admin, certs)

    post_three(client, keys["native"], "native", cdn_switch(certs))

    incident = only_incident(client, reader)
    assert incident["classification"] == "interception"


@pytest.mark.usefixtures("public_cas")
def test_inspection_root_is_named(
    migrated_url: str,
    engine: Engine,
    admin: dict[str, str],
    reader: dict[str, str],
    keys: dict[str, str],
    certs: Certificates,
) -> None:
    settings = make_settings(migrated_url, inspection_roots=["Corp Inspection CA"])
    with TestClient(create_app(settings, engine)) as client:
        register_domain(client, admin, certs)

        post_three(client, keys["android"], "android", interception(certs))

        incident = only_incident(client, reader)
    assert incident["classification"] == "interception"
    assert incident["sample"]["inspection_root"] == "Corp Inspection CA"
    assert incident["verdict"] == (
        "The chain ends at a known TLS inspection root (Corp Inspection CA): "
        "TLS interception by an inspection proxy, not a rotation problem."
    )


@pytest.mark.usefixtures("public_cas")
def test_unregistered_incident_by_computed_id(
    client: TestClient,
    reader: dict[str, str],
    keys: dict[str, str],
    certs: Certificates,
) -> None:
    digest = hashlib.sha256(b"unregistered|interception|").digest()
    incident_id = base64.urlsafe_b64encode(digest).decode().rstrip("=")

    post_three(client, keys["ios"], "ios", interception(certs))

    response = client.get(f"/v1/failures/{incident_id}", headers=reader)
    incident = response.json()
    assert response.status_code == 200, response.text
    assert incident["domain"] is None
    assert incident["classification"] == "interception"
    assert incident["occurrences"] == 3
    assert incident["served_pins"] == []
    assert incident["sample"]["hostname"] == HOSTNAME
