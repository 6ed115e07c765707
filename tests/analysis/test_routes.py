import base64
from datetime import timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.core.db import utcnow
from service.core.settings import Settings
from service.pins.certificates import certificate_sha256
from service.pins.pins import url_pin
from tests.analysis.certificates import public_root, trust_as_public
from tests.analysis.factories import (
    HOUR,
    T0,
    add_count,
    add_installs,
    add_pin,
    add_sample,
    hit_again,
    make_app,
    make_domain,
    make_release,
    make_signature,
    store_certificate,
)
from tests.certs import NOW, issue, make_chain

HOSTNAME = "api.example.com"
RANGE = {"since": T0.isoformat(), "until": (T0 + 6 * HOUR).isoformat()}


def get_failures(
    client: TestClient, reader: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = client.get(
        f"/v1/domains/{HOSTNAME}/failures",
        params={**RANGE, **params},
        headers=reader,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def get_incident(
    client: TestClient, reader: dict[str, str], signature: str
) -> dict[str, Any]:
    response = client.get(f"/v1/failures/{url_pin(signature)}", headers=reader)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def by_key(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {group["key"]: group for group in body["groups"]}


def test_groups_by_signature_with_counts(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    app = make_app(db)
    old, new = make_release(db, app, "4.1.0"), make_release(db, app, "4.2.0")
    rotation = make_signature(db, domain, "rotation_casualty")
    add_count(db, rotation, old, 30)
    add_count(db, rotation, old, 12, hour=T0 + HOUR)
    add_count(db, rotation, new, 5)
    add_installs(db, rotation, old, 7)
    db.commit()

    body = get_failures(client, reader)

    group = body["groups"][0]
    assert body["total_occurrences"] == 47
    assert group["key"] == url_pin(rotation.signature)
    assert group["classification"] == "rotation_casualty"
    assert group["occurrences"] == 47
    assert group["unique_installs"] == 7
    assert group["versions"] == ["4.1.0", "4.2.0"]
    assert group["apps"] == ["android:com.example.bank"]
    assert group["first_seen"] == "2026-03-02T10:00:00Z"
    assert group["last_seen"] == "2026-03-02T10:30:00Z"


def test_orders_groups_by_occurrences(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    small = make_signature(db, domain, "interception")
    large = make_signature(db, domain, "clock_skew")
    add_count(db, small, release, 3)
    add_count(db, large, release, 9)
    db.commit()

    body = get_failures(client, reader)

    assert [group["occurrences"] for group in body["groups"]] == [9, 3]
    assert body["groups"][0]["key"] == url_pin(large.signature)


def test_time_range_excludes_outside_hours(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    signature = make_signature(
        db, domain, "interception", first_seen=T0 - 48 * HOUR, last_seen=T0 + 7 * HOUR
    )
    add_count(db, signature, release, 100, hour=T0 - 48 * HOUR)
    add_count(db, signature, release, 4, hour=T0 + 2 * HOUR)
    add_count(db, signature, release, 50, hour=T0 + 6 * HOUR)
    db.commit()

    body = get_failures(client, reader)

    group = body["groups"][0]
    assert group["occurrences"] == 4
    assert group["first_seen"] == "2026-03-02T12:00:00Z"
    assert group["last_seen"] == "2026-03-02T13:00:00Z"


def test_since_counts_its_whole_hour(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    signature = make_signature(db, domain, "interception")
    add_count(db, signature, release, 6)
    db.commit()

    body = get_failures(client, reader, since=(T0 + HOUR / 2).isoformat())

    assert body["total_occurrences"] == 6


def test_default_range_is_last_24_hours(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    signature = make_signature(
        db, domain, "interception", first_seen=hour - 72 * HOUR, last_seen=hour
    )
    add_count(db, signature, release, 8, hour=hour - 72 * HOUR)
    add_count(db, signature, release, 2, hour=hour - HOUR)
    db.commit()

    response = client.get(f"/v1/domains/{HOSTNAME}/failures", headers=reader)

    body = response.json()
    assert response.status_code == 200
    assert body["total_occurrences"] == 2
    assert body["groups"][0]["occurrences"] == 2


def test_groups_by_classification_counts_distinct_installs(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    first = make_signature(db, domain, "interception")
    second = make_signature(db, domain, "interception")
    portal = make_signature(db, domain, "captive_portal")
    add_count(db, first, release, 10)
    add_count(db, second, release, 5)
    add_count(db, portal, release, 1)
    shared = add_installs(db, first, release, 4)
    hit_again(db, second, shared[:2], T0)
    add_installs(db, second, release, 3)
    add_installs(db, portal, release, 1)
    db.commit()

    body = get_failures(client, reader, group_by="classification")

    groups = by_key(body)
    assert groups["interception"]["occurrences"] == 15
    assert groups["interception"]["signatures"] == 2
    assert groups["interception"]["unique_installs"] == 7
    assert groups["captive_portal"]["unique_installs"] == 1


def test_install_counts_stop_at_until(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    signature = make_signature(db, domain, "interception")
    add_count(db, signature, release, 10)
    add_installs(db, signature, release, 2, first_seen=T0 - 24 * HOUR)
    add_installs(db, signature, release, 5, first_seen=T0 + 9 * HOUR)
    db.commit()

    body = get_failures(client, reader)

    assert body["groups"][0]["unique_installs"] == 2


def test_groups_by_version_per_app(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    android = make_app(db)
    ios = make_app(db, platform="ios")
    signature = make_signature(db, domain, "rotation_casualty")
    portal = make_signature(db, domain, "captive_portal")
    add_count(db, signature, make_release(db, android, "4.1.0"), 20)
    add_count(db, signature, make_release(db, ios, "4.1.0"), 7)
    add_count(db, portal, make_release(db, ios, "4.2.0"), 1)
    db.commit()

    body = get_failures(client, reader, group_by="version")

    groups = [(g["app"], g["key"], g["occurrences"]) for g in body["groups"]]
    assert groups == [
        ("android:com.example.bank", "4.1.0", 20),
        ("ios:com.example.bank", "4.1.0", 7),
        ("ios:com.example.bank", "4.2.0", 1),
    ]
    assert body["groups"][0]["unique_installs"] is None
    assert body["groups"][2]["classification"] == "captive_portal"


def test_groups_by_platform_counts_installs_per_platform(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    android = make_release(db, make_app(db), "4.1.0")
    ios = make_release(db, make_app(db, platform="ios"), "4.1.0")
    signature = make_signature(db, domain, "clock_skew")
    add_count(db, signature, android, 9)
    add_count(db, signature, ios, 4)
    add_installs(db, signature, android, 6)
    add_installs(db, signature, ios, 2)
    db.commit()

    body = get_failures(client, reader, group_by="platform")

    groups = by_key(body)
    assert groups["android"]["occurrences"] == 9
    assert groups["android"]["unique_installs"] == 6
    assert groups["ios"]["unique_installs"] == 2


def test_mixed_group_has_no_single_classification(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    add_count(db, make_signature(db, domain, "interception"), release, 3)
    add_count(db, make_signature(db, domain, "clock_skew"), release, 2)
    db.commit()

    body = get_failures(client, reader, group_by="platform")

    group = body["groups"][0]
    assert group["classification"] is None
    assert group["classifications"] == {"interception": 3, "clock_skew": 2}


def test_filters_by_classification(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    add_count(db, make_signature(db, domain, "interception"), release, 3)
    add_count(db, make_signature(db, domain, "rotation_casualty"), release, 2)
    db.commit()

    body = get_failures(client, reader, classification="rotation_casualty")

    assert body["total_occurrences"] == 2
    assert [g["classification"] for g in body["groups"]] == ["rotation_casualty"]


def test_filters_by_app_and_counts_its_installs(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    android = make_release(db, make_app(db), "4.1.0")
    ios = make_release(db, make_app(db, platform="ios"), "4.1.0")
    signature = make_signature(db, domain, "interception")
    add_count(db, signature, android, 9)
    add_count(db, signature, ios, 4)
    add_installs(db, signature, android, 6)
    add_installs(db, signature, ios, 2)
    db.commit()

    body = get_failures(client, reader, app="ios:com.example.bank")

    assert body["total_occurrences"] == 4
    assert body["groups"][0]["unique_installs"] == 2


def test_filters_by_version_without_install_count(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    app = make_app(db)
    signature = make_signature(db, domain, "rotation_casualty")
    add_count(db, signature, make_release(db, app, "4.1.0"), 9)
    add_count(db, signature, make_release(db, app, "4.2.0"), 1)
    db.commit()

    body = get_failures(client, reader, version="4.2.0")

    assert body["total_occurrences"] == 1
    assert body["groups"][0]["versions"] == ["4.2.0"]
    assert body["groups"][0]["unique_installs"] is None


def test_limit_keeps_largest_groups_and_total(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    for occurrences in (1, 5, 3):
        add_count(db, make_signature(db, domain, "interception"), release, occurrences)
    db.commit()

    body = get_failures(client, reader, limit=2)

    assert [g["occurrences"] for g in body["groups"]] == [5, 3]
    assert body["total_occurrences"] == 9


def test_ignores_other_domains(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    make_domain(db)
    other = make_domain(db, "cdn.example.com")
    release = make_release(db, make_app(db), "4.1.0")
    add_count(db, make_signature(db, other, "interception"), release, 3)
    db.commit()

    body = get_failures(client, reader)

    assert body["groups"] == []
    assert body["total_occurrences"] == 0


def test_unknown_domain_is_404(client: TestClient, reader: dict[str, str]) -> None:
    response = client.get("/v1/domains/nowhere.example/failures", headers=reader)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "domain_not_found"


def test_unknown_app_filter_is_404(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    make_domain(db)
    db.commit()

    response = client.get(
        f"/v1/domains/{HOSTNAME}/failures",
        params={"app": "ios:com.example.none"},
        headers=reader,
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "app_not_found"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"since": "2026-03-02T10:00:00"}, "invalid_time_range"),
        (
            {"since": "2026-03-02T10:00:00Z", "until": "2026-03-02T09:00:00Z"},
            "invalid_time_range",
        ),
        ({"since": "yesterday"}, "invalid_input"),
        ({"group_by": "install"}, "invalid_input"),
        ({"classification": "bad_luck"}, "invalid_input"),
        ({"limit": "0"}, "invalid_input"),
        ({"version": "4.1\x00"}, "invalid_input"),
        ({"until": "0001-01-01T00:00:00Z"}, "invalid_time_range"),
        ({"since": "0001-01-01T00:00:00+14:00"}, "invalid_time_range"),
        ({"until": "9999-12-31T23:59:59-14:00"}, "invalid_time_range"),
    ],
)
def test_rejects_invalid_query(
    client: TestClient,
    db: Session,
    reader: dict[str, str],
    params: dict[str, str],
    code: str,
) -> None:
    make_domain(db)
    db.commit()

    response = client.get(
        f"/v1/domains/{HOSTNAME}/failures", params=params, headers=reader
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


def test_range_rounds_down_to_the_utc_hour(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    add_count(db, make_signature(db, domain, "interception"), release, 3, hour=T0)
    db.commit()
    india = timezone(timedelta(hours=5, minutes=30))
    since = (T0 + HOUR * 3 / 4).astimezone(india)

    body = get_failures(client, reader, since=since.isoformat())

    assert body["total_occurrences"] == 3
    assert body["since"] == "2026-03-02T10:45:00Z"


def test_incident_id_with_nul_is_404(
    client: TestClient, reader: dict[str, str]
) -> None:
    response = client.get("/v1/failures/abc%00", headers=reader)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "incident_not_found"


def test_failures_need_a_token(client: TestClient, db: Session) -> None:
    make_domain(db)
    db.commit()

    response = client.get(f"/v1/domains/{HOSTNAME}/failures")

    assert response.status_code == 401


def test_incident_rotation_verdict_and_breakdown(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    old = make_chain(HOSTNAME)
    intermediate = issue("Test Intermediate CA 2", old.root, ca=True)
    leaf = issue(HOSTNAME, intermediate, sans=[HOSTNAME])
    add_pin(db, domain, old.intermediate.pin, "retired", "2025 intermediate")
    add_pin(db, domain, intermediate.pin, "current", "2026 intermediate")
    add_pin(db, domain, leaf.pin, "backup")
    release = make_release(db, make_app(db), "4.1.0")
    served = [leaf, intermediate, old.root]
    signature = make_signature(
        db, domain, "rotation_casualty", served_pins=[c.pin for c in served]
    )
    add_count(db, signature, release, 12)
    add_installs(db, signature, release, 3)
    add_sample(db, signature, release, served, [old.intermediate.pin])
    db.commit()

    body = get_incident(client, reader, signature.signature)

    assert body["verdict"] == (
        "The served leaf and intermediate keys are registered for api.example.com "
        "as backup and current but missing from this build's pinset. The pinned "
        'key "2025 intermediate" (retired) is no longer served.'
    )
    assert body["domain"] == HOSTNAME
    assert body["classification"] == "rotation_casualty"
    assert body["caused_by_network_or_device"] is False
    assert body["occurrences"] == 12
    assert body["unique_installs"] == 3
    assert body["versions"] == [
        {"app": "android:com.example.bank", "version": "4.1.0", "occurrences": 12}
    ]
    certificates = body["sample"]["certificates"]
    assert [c["kind"] for c in certificates] == ["leaf", "intermediate", "root"]
    assert [c["registered_role"] for c in certificates] == ["backup", "current", None]
    assert [c["in_pinset"] for c in certificates] == [False, False, False]
    served_pins = {pin["spki_sha256"]: pin for pin in body["served_pins"]}
    assert served_pins[intermediate.pin]["label"] == "2026 intermediate"
    assert served_pins[old.root.pin]["registered"] is False


def test_incident_interception_verdict(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    inspection = make_chain(HOSTNAME, root=issue("Corp Inspection CA", ca=True))
    signature = make_signature(db, domain, "interception")
    add_count(db, signature, release, 1)
    add_sample(db, signature, release, [inspection.leaf, inspection.intermediate], [])
    db.commit()

    body = get_incident(client, reader, signature.signature)

    assert body["verdict"] == (
        "The chain ends at an untrusted root (Corp Inspection CA): TLS interception."
    )
    assert body["caused_by_network_or_device"] is True
    assert body["sample"]["publicly_trusted"] is False
    assert body["sample"]["inspection_root"] is None


def test_incident_names_known_inspection_root(
    client: TestClient,
    db: Session,
    reader: dict[str, str],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "inspection_roots", ["Corp Inspection"])
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    inspection = make_chain(HOSTNAME, root=issue("Corp Inspection CA", ca=True))
    signature = make_signature(db, domain, "interception")
    add_sample(db, signature, release, inspection.certificates, [])
    db.commit()

    body = get_incident(client, reader, signature.signature)

    assert body["classification"] == "interception"
    assert body["sample"]["inspection_root"] == "Corp Inspection"
    assert body["verdict"] == (
        "The chain ends at a known TLS inspection root (Corp Inspection CA): "
        "TLS interception by an inspection proxy, not a rotation problem."
    )


def test_incident_captive_portal_verdict(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    portal = make_chain("portal.hotel.example")
    signature = make_signature(db, domain, "captive_portal")
    add_sample(db, signature, release, portal.certificates, [])
    db.commit()

    body = get_incident(client, reader, signature.signature)

    assert body["verdict"] == (
        "The served certificate is for portal.hotel.example, not api.example.com: "
        "a captive portal or another network that redirects the connection."
    )
    assert body["sample"]["covers_hostname"] is False


def test_incident_clock_skew_verdict(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    chain = make_chain(HOSTNAME)
    signature = make_signature(db, domain, "clock_skew")
    device_time = NOW.replace(year=1970)
    add_sample(
        db,
        signature,
        release,
        chain.certificates,
        [chain.intermediate.pin],
        received_at=NOW,
        device_time=device_time,
    )
    db.commit()

    body = get_incident(client, reader, signature.signature)

    years = NOW.year - 1970
    assert body["verdict"] == (
        f"The device clock read {device_time:%Y-%m-%d %H:%M} UTC, {years} years "
        "behind the time the report arrived, when the leaf certificate was not "
        "yet valid: a wrong device clock."
    )


def test_incident_pin_misconfigured_verdict(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    chain = make_chain(HOSTNAME)
    fingerprint = certificate_sha256(chain.leaf.certificate)
    signature = make_signature(db, domain, "pin_misconfigured")
    add_sample(db, signature, release, chain.certificates, [fingerprint])
    db.commit()

    body = get_incident(client, reader, signature.signature)

    assert body["verdict"] == (
        "The build pins the certificate fingerprint (SHA-256 of the whole DER) "
        "of the served leaf certificate instead of its SPKI pin, "
        f"sha256/{chain.leaf.pin}."
    )
    known = body["sample"]["known_pins"][0]
    assert known["wrong_hash"] == "certificate_sha256"
    assert known["wrong_hash_position"] == 0


def test_incident_chain_invalid_verdict(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    chain = make_chain(HOSTNAME)
    signature = make_signature(db, domain, "chain_invalid")
    add_sample(db, signature, release, chain.certificates, [chain.intermediate.pin])
    db.commit()

    body = get_incident(client, reader, signature.signature)

    assert body["verdict"] == (
        "The served chain contains the pinned intermediate key, yet validation "
        "failed: a cause on the client, such as a device that does not trust the "
        "chain."
    )


def test_incident_unpinned_public_key_verdict(
    client: TestClient,
    db: Session,
    reader: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cdn_root = issue("CDN Public Root", ca=True)
    trust_as_public(monkeypatch, cdn_root)
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    cdn = make_chain(HOSTNAME, root=cdn_root)
    signature = make_signature(db, domain, "unpinned_public_key")
    old_pin = make_chain(HOSTNAME).intermediate.pin
    add_sample(db, signature, release, [cdn.leaf, cdn.intermediate], [old_pin])
    db.commit()

    body = get_incident(client, reader, signature.signature)

    assert body["verdict"] == (
        "The chain is publicly trusted (it leads to CDN Public Root) but contains no "
        "key registered for api.example.com: an unplanned certificate change, a "
        "CDN switch or mis-issuance."
    )
    assert body["sample"]["trust_anchor"] == "CDN Public Root"


def test_appended_certifi_root_is_no_anchor(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    chain = make_chain(HOSTNAME)
    signature = make_signature(db, domain, "unpinned_public_key")
    sample = add_sample(db, signature, release, [chain.leaf, chain.intermediate], [])
    root_id = store_certificate(db, public_root("ISRG Root X1"))
    sample.served_chain = [*sample.served_chain, root_id]
    db.commit()

    body = get_incident(client, reader, signature.signature)

    certificates = body["sample"]["certificates"]
    assert [c["public_root"] for c in certificates] == [False, False, True]
    assert body["sample"]["trust_anchor"] is None


def test_incident_unknown_without_chain(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    signature = make_signature(db, domain, "unknown")
    add_sample(db, signature, release, [], [])
    db.commit()

    body = get_incident(client, reader, signature.signature)

    assert body["verdict"] == (
        "The failure carries no usable served chain, so its cause cannot be determined."
    )
    assert body["sample"]["certificates"] == []


def test_incident_without_sample_uses_summary(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    release = make_release(db, make_app(db), "4.1.0")
    signature = make_signature(db, domain, "interception")
    add_count(db, signature, release, 2)
    db.commit()

    body = get_incident(client, reader, signature.signature)

    assert body["sample"] is None
    assert body["verdict"] == body["summary"]
    assert body["verdict"].startswith("The chain leads to a root that is not")


def test_incident_uses_latest_sample(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    domain = make_domain(db)
    app = make_app(db)
    signature = make_signature(db, domain, "interception")
    chain = make_chain(HOSTNAME, root=issue("Corp Inspection CA", ca=True))
    add_sample(db, signature, make_release(db, app, "4.2.0"), chain.certificates, [])
    older = make_release(db, app, "4.1.0")
    add_sample(db, signature, older, chain.certificates, [], received_at=T0 - HOUR)
    db.commit()

    body = get_incident(client, reader, signature.signature)

    assert body["sample"]["version"] == "4.2.0"


def test_incident_found_by_hex_id(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    signature = make_signature(db, make_domain(db), "interception")
    db.commit()
    hex_id = base64.b64decode(signature.signature).hex()

    response = client.get(f"/v1/failures/{hex_id}", headers=reader)

    assert response.status_code == 200
    assert response.json()["signature"] == url_pin(signature.signature)


@pytest.mark.parametrize("incident_id", ["not-an-id", "A" * 43])
def test_unknown_incident_is_404(
    client: TestClient, reader: dict[str, str], incident_id: str
) -> None:
    response = client.get(f"/v1/failures/{incident_id}", headers=reader)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "incident_not_found"
