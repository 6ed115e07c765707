from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.security import hash_secret
from service.ingest.models import AppDomain
from service.registry.models import (
    ApiToken,
    App,
    AuditEntry,
    Domain,
    IngestKey,
    Release,
    ReleasePinset,
)
from tests.certs import make_chain
from tests.registry.factories import (
    APP_REF,
    BACKUP_PIN,
    CURRENT_PIN,
    HOSTNAME,
    add_pin,
    pin_of,
    put_release,
    register_app,
    register_domain,
    register_rotation_domain,
)

Headers = dict[str, str]


def error_code(response: Any) -> str:
    code: str = response.json()["error"]["code"]
    return code


def audit_actions(db: Session) -> list[str]:
    db.rollback()
    return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


# Authentication


def test_missing_token_is_401(client: TestClient) -> None:
    response = client.get("/v1/apps")

    assert response.status_code == 401
    assert error_code(response) == "missing_token"


def test_invalid_token_is_401(client: TestClient) -> None:
    headers = {"Authorization": "Bearer pwt_not-a-real-token"}

    response = client.get("/v1/apps", headers=headers)

    assert response.status_code == 401
    assert error_code(response) == "invalid_token"


def test_token_without_prefix_is_401(client: TestClient) -> None:
    response = client.get("/v1/apps", headers={"Authorization": "Bearer abc"})

    assert response.status_code == 401
    assert error_code(response) == "invalid_token"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/v1/apps"),
        ("post", f"/v1/apps/{APP_REF}/keys"),
        ("delete", f"/v1/apps/{APP_REF}/keys/key_1"),
        ("put", f"/v1/domains/{HOSTNAME}"),
        ("post", f"/v1/domains/{HOSTNAME}/pins"),
        ("patch", f"/v1/domains/{HOSTNAME}/pins/{'ab' * 32}"),
        ("put", f"/v1/apps/{APP_REF}/releases/1.0"),
    ],
)
def test_reader_on_admin_route_is_403(
    client: TestClient, reader: Headers, method: str, path: str
) -> None:
    response = client.request(method, path, headers=reader, json={})

    assert response.status_code == 403
    assert error_code(response) == "admin_required"


def test_reader_can_list_registry(
    client: TestClient, admin: Headers, reader: Headers
) -> None:
    register_app(client, admin)
    register_rotation_domain(client, admin)

    apps = client.get("/v1/apps", headers=reader)
    domains = client.get("/v1/domains", headers=reader)
    domain = client.get(f"/v1/domains/{HOSTNAME}", headers=reader)
    releases = client.get(f"/v1/apps/{APP_REF}/releases", headers=reader)

    assert apps.status_code == 200
    assert domains.status_code == 200
    assert domain.status_code == 200
    assert releases.status_code == 200


# Apps


def test_register_app_returns_ref(client: TestClient, admin: Headers) -> None:
    body = {"bundle_id": "com.example.bank", "platform": "iOS", "name": "Bank"}

    response = client.post("/v1/apps", json=body, headers=admin)

    assert response.status_code == 201
    assert response.json()["ref"] == "ios:com.example.bank"
    assert response.json()["platform"] == "ios"
    assert response.json()["name"] == "Bank"


def test_register_app_twice_is_409(client: TestClient, admin: Headers) -> None:
    register_app(client, admin)
    body = {"bundle_id": "com.example.bank", "platform": "ios"}

    response = client.post("/v1/apps", json=body, headers=admin)

    assert response.status_code == 409
    assert error_code(response) == "app_exists"


def test_same_bundle_on_two_platforms(client: TestClient, admin: Headers) -> None:
    register_app(client, admin, "ios:com.example.bank")

    register_app(client, admin, "android:com.example.bank")

    refs = [app["ref"] for app in client.get("/v1/apps", headers=admin).json()]
    assert refs == ["android:com.example.bank", "ios:com.example.bank"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"bundle_id": "com.example", "platform": "web"}, "body.platform"),
        ({"bundle_id": "com:example", "platform": "ios"}, "body.bundle_id"),
        ({"bundle_id": "com example", "platform": "ios"}, "body.bundle_id"),
        ({"bundle_id": "", "platform": "ios"}, "body.bundle_id"),
        ({"platform": "ios"}, "body.bundle_id"),
        ({"bundle_id": "com.example", "platform": "ios", "team": "x"}, "body.team"),
        (
            {"bundle_id": "com.example", "platform": "ios", "name": "a\x00b"},
            "body.name",
        ),
    ],
    ids=["platform", "colon", "space", "empty", "missing", "unknown field", "nul"],
)
def test_register_app_rejects_invalid_body(
    client: TestClient, admin: Headers, body: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/apps", json=body, headers=admin)

    assert response.status_code == 422
    assert error_code(response) == "invalid_input"
    assert [item["field"] for item in response.json()["error"]["details"]] == [field]


def test_non_json_body_is_400(client: TestClient, admin: Headers, db: Session) -> None:
    headers = {**admin, "Content-Type": "application/json"}
    body = b'{"bundle_id": "com.ex'

    response = client.post("/v1/apps", content=body, headers=headers)

    assert response.status_code == 400
    assert error_code(response) == "invalid_json"
    assert response.json()["error"]["message"] == (
        "The body is not valid JSON (Unterminated string starting at: character 14)."
    )
    assert db.scalars(select(App)).all() == []


def test_unsupported_platform_lists_allowed(client: TestClient, admin: Headers) -> None:
    body = {"bundle_id": "com.example", "platform": "web"}

    response = client.post("/v1/apps", json=body, headers=admin)

    message = response.json()["error"]["details"][0]["message"]
    assert "use ios, android" in message


# Ingest keys


def test_create_key_stores_only_hash(
    client: TestClient, admin: Headers, db: Session
) -> None:
    register_app(client, admin)

    response = client.post(f"/v1/apps/{APP_REF}/keys", headers=admin)

    body = response.json()
    row = db.get(IngestKey, body["id"])
    assert response.status_code == 201
    assert body["key"].startswith("pwk_")
    assert row is not None
    assert row.key_hash == hash_secret(body["key"])
    assert body["key"] not in row.key_hash


def test_reader_lists_keys_and_audit(
    client: TestClient, admin: Headers, reader: Headers
) -> None:
    register_app(client, admin)
    created = client.post(f"/v1/apps/{APP_REF}/keys", headers=admin).json()

    keys = client.get(f"/v1/apps/{APP_REF}/keys", headers=reader)
    audit = client.get("/v1/audit", headers=reader)

    assert keys.status_code == 200
    assert [key["id"] for key in keys.json()] == [created["id"]]
    assert created["key"] not in keys.text
    assert audit.status_code == 200
    assert "key.create" in [entry["action"] for entry in audit.json()]


def test_key_never_listed_or_audited(
    client: TestClient, admin: Headers, db: Session
) -> None:
    register_app(client, admin)
    key = client.post(f"/v1/apps/{APP_REF}/keys", headers=admin).json()["key"]

    listing = client.get(f"/v1/apps/{APP_REF}/keys", headers=admin)
    audit = client.get("/v1/audit", headers=admin)

    assert listing.status_code == 200
    assert "key" not in listing.json()[0]
    assert key not in listing.text
    assert key not in audit.text


def test_revoke_key_sets_revoked_at(
    client: TestClient, admin: Headers, db: Session
) -> None:
    register_app(client, admin)
    key_id = client.post(f"/v1/apps/{APP_REF}/keys", headers=admin).json()["id"]

    response = client.delete(f"/v1/apps/{APP_REF}/keys/{key_id}", headers=admin)

    listing = client.get(f"/v1/apps/{APP_REF}/keys", headers=admin).json()
    assert response.status_code == 204
    assert response.content == b""
    assert listing[0]["revoked_at"] is not None


def test_revoke_key_twice_audits_once(
    client: TestClient, admin: Headers, db: Session
) -> None:
    register_app(client, admin)
    key_id = client.post(f"/v1/apps/{APP_REF}/keys", headers=admin).json()["id"]
    client.delete(f"/v1/apps/{APP_REF}/keys/{key_id}", headers=admin)

    response = client.delete(f"/v1/apps/{APP_REF}/keys/{key_id}", headers=admin)

    assert response.status_code == 204
    assert audit_actions(db).count("key.revoke") == 1


def test_revoke_unknown_key_is_404(client: TestClient, admin: Headers) -> None:
    register_app(client, admin)

    response = client.delete(f"/v1/apps/{APP_REF}/keys/key_missing", headers=admin)

    assert response.status_code == 404
    assert error_code(response) == "key_not_found"


def test_revoke_key_of_other_app_is_404(client: TestClient, admin: Headers) -> None:
    register_app(client, admin)
    register_app(client, admin, "android:com.example.bank")
    path = "/v1/apps/android:com.example.bank/keys"
    key_id = client.post(path, headers=admin).json()["id"]

    response = client.delete(f"/v1/apps/{APP_REF}/keys/{key_id}", headers=admin)

    assert response.status_code == 404
    assert error_code(response) == "key_not_found"


def test_key_for_unknown_app_is_404(client: TestClient, admin: Headers) -> None:
    response = client.post("/v1/apps/ios:com.example.missing/keys", headers=admin)

    assert response.status_code == 404
    assert error_code(response) == "app_not_found"


def test_malformed_app_ref_is_422(client: TestClient, admin: Headers) -> None:
    response = client.post("/v1/apps/com.example.bank/keys", headers=admin)

    assert response.status_code == 422
    assert error_code(response) == "invalid_app_ref"


def test_app_ref_with_nul_is_422(client: TestClient, admin: Headers) -> None:
    response = client.get("/v1/apps/ios:com.example%00/releases", headers=admin)

    assert response.status_code == 422
    assert error_code(response) == "invalid_app_ref"


def test_revoke_key_id_with_nul_is_422(client: TestClient, admin: Headers) -> None:
    register_app(client, admin)

    response = client.delete(f"/v1/apps/{APP_REF}/keys/key_%00", headers=admin)

    assert response.status_code == 422
    assert error_code(response) == "invalid_input"


# Domains


def test_put_domain_creates_with_defaults(client: TestClient, admin: Headers) -> None:
    response = client.put(
        "/v1/domains/API.Example.COM.", json={"owner_team": "payments"}, headers=admin
    )

    body = response.json()
    assert response.status_code == 201
    assert body["hostname"] == "api.example.com"
    assert body["owner_team"] == "payments"
    assert body["include_subdomains"] is False
    assert body["pins"] == []
    assert body["policy"] == {
        "adoption_threshold": 0.95,
        "window_days": 7,
        "min_installs": 100,
        "removal_max_share": 0.001,
        "removal_quiet_days": 7,
        "removal_min_checks": 1000,
    }


def test_put_domain_again_updates(client: TestClient, admin: Headers) -> None:
    register_domain(client, admin, policy={"window_days": 14, "min_installs": 5})
    body = {"include_subdomains": True, "policy": {"adoption_threshold": 0.9}}

    response = client.put(f"/v1/domains/{HOSTNAME}", json=body, headers=admin)

    policy = response.json()["policy"]
    assert response.status_code == 200
    assert response.json()["include_subdomains"] is True
    assert policy["adoption_threshold"] == 0.9
    assert policy["window_days"] == 7
    assert policy["min_installs"] == 100


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        ({"adoption_threshold": 0}, "adoption_threshold"),
        ({"adoption_threshold": 1.01}, "adoption_threshold"),
        ({"window_days": 0}, "window_days"),
        ({"window_days": 91}, "window_days"),
        ({"min_installs": 0}, "min_installs"),
        ({"removal_max_share": -0.1}, "removal_max_share"),
        ({"removal_max_share": 1.5}, "removal_max_share"),
        ({"removal_quiet_days": 0}, "removal_quiet_days"),
        ({"removal_min_checks": 0}, "removal_min_checks"),
        ({"window_days": "seven"}, "window_days"),
        ({"adoption_treshold": 0.9}, "adoption_treshold"),
    ],
)
def test_put_domain_rejects_policy_out_of_range(
    client: TestClient, admin: Headers, policy: dict[str, Any], field: str
) -> None:
    response = client.put(
        f"/v1/domains/{HOSTNAME}", json={"policy": policy}, headers=admin
    )

    details = response.json()["error"]["details"]
    assert response.status_code == 422
    assert error_code(response) == "invalid_input"
    assert [item["field"] for item in details] == [f"body.policy.{field}"]


def test_threshold_of_one_is_allowed(client: TestClient, admin: Headers) -> None:
    body = register_domain(client, admin, policy={"adoption_threshold": 1})

    assert body["policy"]["adoption_threshold"] == 1.0


@pytest.mark.parametrize(
    ("hostname", "reason"),
    [
        ("*.example.com", "wildcards are not allowed"),
        ("api..example.com", "label ''"),
        ("-api.example.com", "label '-api'"),
        ("api_v2.example.com", "label 'api_v2'"),
        ("a" * 64 + ".example.com", "label"),
        (".".join(["a" * 60] * 5), "longer than 253"),
        ("api%0A.example.com", "label 'api\\n'"),
    ],
    ids=[
        "wildcard",
        "empty label",
        "leading hyphen",
        "underscore",
        "long label",
        "long",
        "line break",
    ],
)
def test_put_domain_rejects_invalid_hostname(
    client: TestClient, admin: Headers, hostname: str, reason: str
) -> None:
    response = client.put(f"/v1/domains/{hostname}", json={}, headers=admin)

    assert response.status_code == 422
    assert error_code(response) == "invalid_hostname"
    assert reason in response.json()["error"]["message"]


def test_get_unknown_domain_is_404(client: TestClient, reader: Headers) -> None:
    response = client.get("/v1/domains/missing.example.com", headers=reader)

    assert response.status_code == 404
    assert error_code(response) == "domain_not_found"


def test_get_domain_by_unicode_name(client: TestClient, admin: Headers) -> None:
    register_domain(client, admin, "bücher.example")

    response = client.get("/v1/domains/bücher.example", headers=admin)

    assert response.status_code == 200
    assert response.json()["hostname"] == "xn--bcher-kva.example"


def test_get_domain_with_nul_is_404(client: TestClient, reader: Headers) -> None:
    response = client.get("/v1/domains/api%00.example.com", headers=reader)

    assert response.status_code == 404
    assert error_code(response) == "domain_not_found"


def test_get_domain_shows_pins_and_team(
    client: TestClient, admin: Headers, reader: Headers
) -> None:
    register_domain(client, admin, owner_team="payments")
    add_pin(client, admin, CURRENT_PIN, role="current")

    body = client.get(f"/v1/domains/{HOSTNAME}", headers=reader).json()

    assert body["owner_team"] == "payments"
    assert [pin["spki_sha256"] for pin in body["pins"]] == [CURRENT_PIN]
    assert body["pins"][0]["role"] == "current"
    assert body["pins"][0]["display"] == f"sha256/{CURRENT_PIN}"


def test_list_domains_by_hostname(client: TestClient, admin: Headers) -> None:
    register_domain(client, admin, "b.example.com")
    register_domain(client, admin, "a.example.com")

    body = client.get("/v1/domains", headers=admin).json()

    assert [domain["hostname"] for domain in body] == ["a.example.com", "b.example.com"]


# Pins


def test_add_pin_from_text_normalises(client: TestClient, admin: Headers) -> None:
    register_domain(client, admin)
    body = {"pin": "SHA256:" + "02" * 32, "label": "next key"}

    response = client.post(f"/v1/domains/{HOSTNAME}/pins", json=body, headers=admin)

    result = response.json()
    assert response.status_code == 201
    assert result["spki_sha256"] == BACKUP_PIN
    assert result["display"] == f"sha256/{BACKUP_PIN}"
    assert result["role"] == "backup"
    assert result["label"] == "next key"
    assert result["certificate_sha256"] is None
    assert result["warnings"] == []


def test_add_pin_from_certificate_stores_details(
    client: TestClient, admin: Headers
) -> None:
    register_domain(client, admin)
    leaf = make_chain(HOSTNAME).leaf
    body = {"certificate": leaf.pem, "role": "current"}

    response = client.post(f"/v1/domains/{HOSTNAME}/pins", json=body, headers=admin)

    result = response.json()
    not_after = leaf.certificate.not_valid_after_utc
    assert response.status_code == 201
    assert result["spki_sha256"] == leaf.pin
    assert result["subject"] == f"CN={HOSTNAME}"
    assert result["not_after"] == not_after.isoformat().replace("+00:00", "Z")
    assert result["certificate_sha256"] is not None
    assert result["certificate_sha256"] != leaf.pin


def test_add_pin_with_invalid_text_is_422(client: TestClient, admin: Headers) -> None:
    register_domain(client, admin)
    body = {"pin": "sha1/" + "A" * 28}

    response = client.post(f"/v1/domains/{HOSTNAME}/pins", json=body, headers=admin)

    assert response.status_code == 422
    assert error_code(response) == "invalid_pin"
    assert "sha1 pins are not supported" in response.json()["error"]["message"]


def test_add_pin_with_bad_certificate_is_422(
    client: TestClient, admin: Headers
) -> None:
    register_domain(client, admin)
    body = {
        "certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"
    }

    response = client.post(f"/v1/domains/{HOSTNAME}/pins", json=body, headers=admin)

    assert response.status_code == 422
    assert error_code(response) == "invalid_certificate"


def test_add_pin_from_whole_chain_is_422(client: TestClient, admin: Headers) -> None:
    register_domain(client, admin)
    body = {"certificate": "".join(make_chain().pems())}

    response = client.post(f"/v1/domains/{HOSTNAME}/pins", json=body, headers=admin)

    assert response.status_code == 422
    assert error_code(response) == "invalid_certificate"
    assert "contains 3 certificates" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"pin": CURRENT_PIN, "certificate": "x"},
        {"pin": CURRENT_PIN, "role": "x"},
        {"pin": CURRENT_PIN, "label": "line\nbreak"},
    ],
    ids=["neither", "both", "unknown role", "control character in label"],
)
def test_add_pin_rejects_invalid_body(
    client: TestClient, admin: Headers, body: dict[str, Any]
) -> None:
    register_domain(client, admin)

    response = client.post(f"/v1/domains/{HOSTNAME}/pins", json=body, headers=admin)

    assert response.status_code == 422
    assert error_code(response) == "invalid_input"


def test_add_existing_pin_is_409(client: TestClient, admin: Headers) -> None:
    register_domain(client, admin)
    add_pin(client, admin, CURRENT_PIN)
    body = {"pin": "01" * 32}

    response = client.post(f"/v1/domains/{HOSTNAME}/pins", json=body, headers=admin)

    assert response.status_code == 409
    assert error_code(response) == "pin_exists"


def test_add_pin_to_unknown_domain_is_404(client: TestClient, admin: Headers) -> None:
    body = {"pin": CURRENT_PIN}

    response = client.post("/v1/domains/missing.example/pins", json=body, headers=admin)

    assert response.status_code == 404
    assert error_code(response) == "domain_not_found"


@pytest.mark.parametrize(
    "path_pin",
    [
        "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE",
        "01" * 32,
        "sha256/AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
    ],
    ids=["url-safe base64", "hex", "display form"],
)
def test_patch_pin_changes_role_and_label(
    client: TestClient, admin: Headers, path_pin: str
) -> None:
    register_domain(client, admin)
    add_pin(client, admin, CURRENT_PIN, role="current")
    body = {"role": "retired", "label": "old key"}

    response = client.patch(
        f"/v1/domains/{HOSTNAME}/pins/{path_pin}", json=body, headers=admin
    )

    pins = client.get(f"/v1/domains/{HOSTNAME}", headers=admin).json()["pins"]
    assert response.status_code == 200
    assert response.json()["role"] == "retired"
    assert pins[0]["role"] == "retired"
    assert pins[0]["label"] == "old key"


def test_patch_pin_url_pin_round_trips(client: TestClient, admin: Headers) -> None:
    register_domain(client, admin)
    leaf = make_chain().leaf
    added = client.post(
        f"/v1/domains/{HOSTNAME}/pins",
        json={"certificate": leaf.pem},
        headers=admin,
    ).json()

    response = client.patch(
        f"/v1/domains/{HOSTNAME}/pins/{added['url_pin']}",
        json={"label": "edge"},
        headers=admin,
    )

    assert response.status_code == 200
    assert response.json()["spki_sha256"] == leaf.pin


def test_patch_unknown_pin_is_404(client: TestClient, admin: Headers) -> None:
    register_domain(client, admin)

    response = client.patch(
        f"/v1/domains/{HOSTNAME}/pins/{'ab' * 32}",
        json={"role": "current"},
        headers=admin,
    )

    assert response.status_code == 404
    assert error_code(response) == "pin_not_found"


def test_patch_invalid_pin_is_422(client: TestClient, admin: Headers) -> None:
    register_domain(client, admin)

    response = client.patch(
        f"/v1/domains/{HOSTNAME}/pins/abc", json={"role": "current"}, headers=admin
    )

    assert response.status_code == 422
    assert error_code(response) == "invalid_pin"


# Releases


def test_put_release_declares_pinset(
    client: TestClient, admin: Headers, db: Session
) -> None:
    register_app(client, admin)
    register_rotation_domain(client, admin)
    body = {
        "pins": {HOSTNAME: [f"sha256/{CURRENT_PIN}", "02" * 32]},
        "pinset_expires": "2099-12-31",
    }

    response = put_release(client, admin, body)

    result = response.json()
    assert response.status_code == 201
    assert result["app"] == APP_REF
    assert result["version"] == "4.2.0"
    assert result["declared"] is True
    assert result["pinset_expires"] == "2099-12-31"
    assert result["pinsets"] == [
        {
            "domain": HOSTNAME,
            "source": "declared",
            "pins": [CURRENT_PIN, BACKUP_PIN],
            "expires": "2099-12-31",
            "enforced": True,
        }
    ]
    assert result["warnings"] == []


def test_put_release_records_app_domain(
    client: TestClient, admin: Headers, db: Session
) -> None:
    register_app(client, admin)
    register_domain(client, admin)

    put_release(client, admin, {"pins": {HOSTNAME: [CURRENT_PIN]}})

    app = db.scalars(select(App)).one()
    uses = db.scalars(select(AppDomain).where(AppDomain.app_id == app.id)).all()
    assert len(uses) == 1


def test_put_release_again_replaces_pinsets(client: TestClient, admin: Headers) -> None:
    register_app(client, admin)
    register_domain(client, admin)
    register_domain(client, admin, "cdn.example.com")
    first = {"pins": {HOSTNAME: [CURRENT_PIN], "cdn.example.com": [CURRENT_PIN]}}
    put_release(client, admin, first)

    response = put_release(client, admin, {"pins": {HOSTNAME: [BACKUP_PIN]}})

    pinsets = response.json()["pinsets"]
    assert response.status_code == 200
    assert [pinset["domain"] for pinset in pinsets] == [HOSTNAME]
    assert pinsets[0]["pins"] == [BACKUP_PIN]


def test_put_release_allows_empty_pinset(client: TestClient, admin: Headers) -> None:
    register_app(client, admin)
    register_domain(client, admin)

    response = put_release(client, admin, {"pins": {HOSTNAME: []}})

    assert response.status_code == 201
    assert response.json()["pinsets"][0]["pins"] == []


def test_put_release_matches_subdomain(client: TestClient, admin: Headers) -> None:
    register_app(client, admin)
    register_domain(client, admin, "example.com", include_subdomains=True)

    response = put_release(client, admin, {"pins": {"API.example.com": [BACKUP_PIN]}})

    assert response.status_code == 201
    assert response.json()["pinsets"][0]["domain"] == "example.com"


def test_put_release_unknown_domain_is_422(client: TestClient, admin: Headers) -> None:
    register_app(client, admin)
    register_domain(client, admin)

    response = put_release(client, admin, {"pins": {"other.example.com": []}})

    assert response.status_code == 422
    assert error_code(response) == "domain_not_found"
    assert "'other.example.com'" in response.json()["error"]["message"]


def test_put_release_invalid_pin_names_position(
    client: TestClient, admin: Headers
) -> None:
    register_app(client, admin)
    register_domain(client, admin)

    response = put_release(
        client, admin, {"pins": {HOSTNAME: [CURRENT_PIN, "md5:" + "00" * 16]}}
    )

    message = response.json()["error"]["message"]
    assert response.status_code == 422
    assert error_code(response) == "invalid_pin"
    assert f"pins['{HOSTNAME}'][1]" in message
    assert "md5 pins are not supported" in message


def test_put_release_conflicting_hostnames_is_422(
    client: TestClient, admin: Headers
) -> None:
    register_app(client, admin)
    register_domain(client, admin, "example.com", include_subdomains=True)
    pins = {"a.example.com": [CURRENT_PIN], "b.example.com": [BACKUP_PIN]}

    response = put_release(client, admin, {"pins": pins})

    assert response.status_code == 422
    assert error_code(response) == "conflicting_pinsets"


def test_put_release_same_pins_for_two_hostnames(
    client: TestClient, admin: Headers
) -> None:
    register_app(client, admin)
    register_domain(client, admin, "example.com", include_subdomains=True)
    pins = {"a.example.com": [CURRENT_PIN], "b.example.com": ["01" * 32]}

    response = put_release(client, admin, {"pins": pins})

    assert response.status_code == 201
    assert response.json()["pinsets"][0]["pins"] == [CURRENT_PIN]


@pytest.mark.parametrize(
    "body",
    [
        {"pins": {HOSTNAME: []}, "report_uri": "ftp://reports.example.net/"},
        {"pins": {HOSTNAME: []}, "report_uri": "not a url"},
        {"pins": {HOSTNAME: []}, "pinset_expires": "31/12/2099"},
        {"pins": {HOSTNAME: "sha256/abc"}},
        {"pins": {HOSTNAME: []}, "report_uri": "https://a\x00b.example/"},
        {},
    ],
    ids=[
        "ftp report uri",
        "report uri text",
        "expiry format",
        "pins text",
        "nul in report uri",
        "empty",
    ],
)
def test_put_release_rejects_invalid_body(
    client: TestClient, admin: Headers, body: dict[str, Any]
) -> None:
    register_app(client, admin)
    register_domain(client, admin)

    response = put_release(client, admin, body)

    assert response.status_code == 422
    assert error_code(response) == "invalid_input"


def test_put_release_rejects_version_with_space(
    client: TestClient, admin: Headers
) -> None:
    register_app(client, admin)

    response = put_release(client, admin, {"pins": {}}, version="4.2 beta")

    assert response.status_code == 422


def test_put_release_rejects_version_with_nul(
    client: TestClient, admin: Headers
) -> None:
    register_app(client, admin)

    response = put_release(client, admin, {"pins": {}}, version="4.2%00")

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "path.version"


def test_put_release_for_unknown_app_is_404(client: TestClient, admin: Headers) -> None:
    response = put_release(client, admin, {"pins": {}})

    assert response.status_code == 404
    assert error_code(response) == "app_not_found"


def add_learned_release(
    db: Session, version: str, domain_id: int, pins: list[str]
) -> None:
    app = db.scalars(select(App)).one()
    release = Release(app_id=app.id, version=version, declared=False)
    release.pinsets.append(
        ReleasePinset(domain_id=domain_id, source="learned", pins=pins, enforced=False)
    )
    db.add(release)
    db.commit()


def domain_id(db: Session, hostname: str) -> int:
    return db.scalars(select(Domain.id).where(Domain.hostname == hostname)).one()


def test_list_releases_prefers_declared_pinset(
    client: TestClient, admin: Headers, db: Session
) -> None:
    register_app(client, admin)
    register_domain(client, admin)
    register_domain(client, admin, "cdn.example.com")
    add_learned_release(db, "4.2.0", domain_id(db, HOSTNAME), [pin_of(9)])
    db.add(
        ReleasePinset(
            release_id=db.scalars(select(Release.id)).one(),
            domain_id=domain_id(db, "cdn.example.com"),
            source="learned",
            pins=[pin_of(8)],
            enforced=True,
        )
    )
    db.commit()
    put_release(client, admin, {"pins": {HOSTNAME: [CURRENT_PIN]}})

    response = client.get(f"/v1/apps/{APP_REF}/releases", headers=admin)

    pinsets = {item["domain"]: item for item in response.json()[0]["pinsets"]}
    assert response.status_code == 200
    assert pinsets[HOSTNAME]["source"] == "declared"
    assert pinsets[HOSTNAME]["pins"] == [CURRENT_PIN]
    assert pinsets["cdn.example.com"]["source"] == "learned"
    assert pinsets["cdn.example.com"]["pins"] == [pin_of(8)]


def test_list_releases_shows_learned_only_release(
    client: TestClient, admin: Headers, db: Session
) -> None:
    register_app(client, admin)
    register_domain(client, admin)
    add_learned_release(db, "4.1.0", domain_id(db, HOSTNAME), [pin_of(9)])

    body = client.get(f"/v1/apps/{APP_REF}/releases", headers=admin).json()

    assert body[0]["version"] == "4.1.0"
    assert body[0]["declared"] is False
    assert body[0]["pinsets"][0]["source"] == "learned"
    assert body[0]["pinsets"][0]["enforced"] is False


def test_list_releases_newest_first_with_limit(
    client: TestClient, admin: Headers
) -> None:
    register_app(client, admin)
    register_domain(client, admin)
    for version in ("1.0", "1.1", "1.2"):
        put_release(client, admin, {"pins": {HOSTNAME: []}}, version=version)

    response = client.get(f"/v1/apps/{APP_REF}/releases?limit=2", headers=admin)

    assert [release["version"] for release in response.json()] == ["1.2", "1.1"]


# Audit


def test_every_change_is_audited(
    client: TestClient, admin: Headers, db: Session
) -> None:
    register_app(client, admin)
    key_id = client.post(f"/v1/apps/{APP_REF}/keys", headers=admin).json()["id"]
    client.delete(f"/v1/apps/{APP_REF}/keys/{key_id}", headers=admin)
    register_domain(client, admin)
    register_domain(client, admin, owner_team="payments")
    add_pin(client, admin, CURRENT_PIN, role="current")
    client.patch(
        f"/v1/domains/{HOSTNAME}/pins/{'01' * 32}", json={"label": "a"}, headers=admin
    )
    put_release(client, admin, {"pins": {HOSTNAME: [CURRENT_PIN]}})

    actions = [action for action in audit_actions(db) if action != "token.create"]

    assert actions == [
        "app.create",
        "key.create",
        "key.revoke",
        "domain.create",
        "domain.update",
        "pin.add",
        "pin.update",
        "release.put",
    ]


def test_audit_names_token_as_actor(
    client: TestClient, admin: Headers, db: Session
) -> None:
    register_app(client, admin)

    entry = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "app.create")
    ).one()

    token_id = db.scalars(select(ApiToken.id).where(ApiToken.role == "admin")).one()
    assert entry.actor == f"token:{token_id}"
    assert entry.target == APP_REF


def test_patch_without_change_is_not_audited(
    client: TestClient, admin: Headers, db: Session
) -> None:
    register_domain(client, admin)
    add_pin(client, admin, CURRENT_PIN, role="current")

    client.patch(
        f"/v1/domains/{HOSTNAME}/pins/{'01' * 32}",
        json={"role": "current"},
        headers=admin,
    )

    assert "pin.update" not in audit_actions(db)


def test_audit_lists_newest_first(client: TestClient, admin: Headers) -> None:
    register_app(client, admin)
    register_domain(client, admin)

    response = client.get("/v1/audit?limit=2", headers=admin)

    body = response.json()
    assert response.status_code == 200
    assert [entry["action"] for entry in body] == ["domain.create", "app.create"]
    assert body[0]["details"]["owner_team"] == ""


def test_audit_masks_key_in_report_uri(
    client: TestClient, admin: Headers, db: Session
) -> None:
    register_app(client, admin)
    register_domain(client, admin)
    key = client.post(f"/v1/apps/{APP_REF}/keys", headers=admin).json()["key"]
    report_uri = f"https://pinwatch.example.net/v1/reports?key={key}"

    put_release(client, admin, {"pins": {HOSTNAME: []}, "report_uri": report_uri})

    db.rollback()
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "release.put"))
    details = entry.one().details
    assert details["report_uri"] == (
        "https://pinwatch.example.net/v1/reports?key=pwk_[redacted]"
    )


def test_audit_limit_is_bounded(client: TestClient, admin: Headers) -> None:
    response = client.get("/v1/audit?limit=0", headers=admin)

    assert response.status_code == 422
    assert error_code(response) == "invalid_input"


def test_failed_change_writes_no_audit(
    client: TestClient, admin: Headers, db: Session
) -> None:
    register_app(client, admin)

    client.post(
        "/v1/apps",
        json={"bundle_id": "com.example.bank", "platform": "ios"},
        headers=admin,
    )

    assert audit_actions(db).count("app.create") == 1


def test_expiry_in_past_is_stored(client: TestClient, admin: Headers) -> None:
    register_app(client, admin)
    register_domain(client, admin)
    yesterday = (date.today() - timedelta(days=1)).isoformat()

    response = put_release(
        client, admin, {"pins": {HOSTNAME: []}, "pinset_expires": yesterday}
    )

    assert response.status_code == 201
    assert response.json()["pinset_expires"] == yesterday
