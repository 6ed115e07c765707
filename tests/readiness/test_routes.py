from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.pins.pins import PLACEHOLDER, display_pin
from tests.certs import make_chain
from tests.readiness.factories import (
    BACKUP,
    CURRENT,
    add_checks,
    add_pin,
    make_app,
    make_domain,
    make_version,
)

READINESS = "/v1/domains/api.example.com/readiness"
PREFLIGHT = "/v1/domains/api.example.com/preflight"


def arrange_fleet(db: Session) -> None:
    domain = make_domain(db)
    add_pin(domain, CURRENT, role="current", label="2025 key")
    add_pin(domain, BACKUP, role="backup", label="2026 key")
    app = make_app(db, domain)
    make_version(db, app, domain, "4.2.0", [CURRENT, BACKUP], 96)
    make_version(db, app, domain, "4.1.0", [CURRENT], 4)
    add_checks(db, domain, app, 1000)
    db.commit()


def test_readiness_returns_documented_fields(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    arrange_fleet(db)

    response = client.get(READINESS, headers=reader)

    assert response.status_code == 200
    body = response.json()
    assert {"domain", "computed_at", "policy", "rotate", "remove"} <= body.keys()
    rotate = body["rotate"][0]
    assert {"spki_sha256", "label", "ready", "adoption", "apps", "reasons"} <= (
        rotate.keys()
    )
    assert {
        "app",
        "active_installs",
        "accepting",
        "covered_by_pin",
        "unenforced",
        "adoption",
        "ready",
        "blocking_versions",
    } <= rotate["apps"][0].keys()
    assert rotate["apps"][0]["blocking_versions"] == [
        {"version": "4.1.0", "installs": 4, "share": 0.04, "status": "lacks_pin"}
    ]
    removal = body["remove"][0]
    assert {
        "spki_sha256",
        "role",
        "served_share",
        "checks",
        "last_served_at",
        "removable",
        "reasons",
    } <= removal.keys()


def test_readiness_measures_the_backup_pin(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    arrange_fleet(db)

    body = client.get(READINESS, headers=reader).json()

    assert body["domain"] == "api.example.com"
    assert body["rotate"][0]["spki_sha256"] == BACKUP
    assert body["rotate"][0]["ready"] is True
    assert body["rotate"][0]["adoption"] == 0.96
    assert body["remove"][0]["spki_sha256"] == CURRENT
    assert body["remove"][0]["checks"] == 1000


def test_readiness_of_unknown_domain_is_404(
    client: TestClient, reader: dict[str, str]
) -> None:
    response = client.get("/v1/domains/missing.example.com/readiness", headers=reader)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "domain_not_found"


def test_readiness_without_token_is_401(client: TestClient, db: Session) -> None:
    arrange_fleet(db)

    response = client.get(READINESS)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_token"


def test_preflight_without_token_is_401(client: TestClient, db: Session) -> None:
    arrange_fleet(db)

    response = client.post(PREFLIGHT, json={"pins": [BACKUP]})

    assert response.status_code == 401


def test_preflight_of_unknown_domain_is_404(
    client: TestClient, reader: dict[str, str]
) -> None:
    response = client.post(
        "/v1/domains/missing.example.com/preflight",
        json={"pins": [BACKUP]},
        headers=reader,
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "domain_not_found"


def test_preflight_chain_matches_any_certificate(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    chain = make_chain()
    domain = make_domain(db)
    app = make_app(db, domain)
    make_version(db, app, domain, "5.0.0", [CURRENT, chain.intermediate.pin], 30)
    make_version(db, app, domain, "4.2.0", [CURRENT], 10)
    db.commit()

    response = client.post(PREFLIGHT, json={"chain": chain.pems()}, headers=reader)

    assert response.status_code == 200
    body = response.json()
    assert body["accepting_share"] == 0.75
    assert body["pins"] == sorted(item.pin for item in chain.certificates)
    assert body["apps"][0]["accepting"] == 30
    assert body["apps"][0]["blocking_versions"][0]["version"] == "4.2.0"


def test_preflight_with_pins_accepts_any_pin_form(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    arrange_fleet(db)
    hex_backup = "02" * 32  # the same 32 bytes as BACKUP, written as hex

    response = client.post(
        PREFLIGHT, json={"pins": [display_pin(BACKUP), hex_backup]}, headers=reader
    )

    assert response.status_code == 200
    body = response.json()
    assert body["pins"] == [BACKUP]
    assert body["accepting_share"] == 0.96
    assert body["warnings"] == [
        f"{display_pin(BACKUP)} appears more than once; it counts once."
    ]


def test_preflight_warns_about_placeholder(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    arrange_fleet(db)

    response = client.post(PREFLIGHT, json={"pins": [PLACEHOLDER]}, headers=reader)

    body = response.json()
    assert body["pins"] == []
    assert body["accepting_share"] == 0.0
    assert "placeholder" in body["warnings"][0]


def test_preflight_rejects_invalid_pin(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    arrange_fleet(db)

    response = client.post(
        PREFLIGHT, json={"pins": [BACKUP, "sha1/abc"]}, headers=reader
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_pin"
    assert error["details"][0]["field"] == "pins.1"


def test_preflight_rejects_invalid_certificate(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    arrange_fleet(db)
    pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"

    response = client.post(PREFLIGHT, json={"chain": [pem]}, headers=reader)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_certificate"


def test_preflight_rejects_too_long_chain(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    arrange_fleet(db)
    pems = make_chain().pems() * 4

    response = client.post(PREFLIGHT, json={"chain": pems}, headers=reader)

    assert response.status_code == 422
    assert "maximum is 10" in response.json()["error"]["message"]


def test_preflight_without_candidate_is_422(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    arrange_fleet(db)

    response = client.post(PREFLIGHT, json={}, headers=reader)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


def test_preflight_with_chain_and_pins_is_422(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    arrange_fleet(db)
    body = {"chain": make_chain().pems(), "pins": [BACKUP]}

    response = client.post(PREFLIGHT, json=body, headers=reader)

    assert response.status_code == 422
    assert "not both" in response.json()["error"]["message"]


def test_preflight_with_empty_pins_is_422(
    client: TestClient, db: Session, reader: dict[str, str]
) -> None:
    arrange_fleet(db)

    response = client.post(PREFLIGHT, json={"pins": []}, headers=reader)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"


def test_openapi_documents_readiness_models(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    readiness = schema["paths"]["/v1/domains/{hostname}/readiness"]["get"]
    assert "ReadinessReport" in str(readiness["responses"]["200"])
    assert "404" in readiness["responses"]
    assert "RotateReadiness" in schema["components"]["schemas"]
