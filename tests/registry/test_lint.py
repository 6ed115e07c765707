from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.ingest.models import Certificate
from service.pins.certificates import (
    certificate_sha256,
    public_key_sha256,
    public_roots,
    spki_pin,
)
from service.pins.pins import PLACEHOLDER
from service.registry.lint import (
    KnownCertificates,
    check_backup_pin,
    check_backup_pin_in_pinset,
    check_current_pin_in_pinset,
    check_duplicates,
    check_expiry,
    check_fingerprints,
    check_placeholders,
    check_raw_key_hashes,
    check_report_uri,
    known_certificates,
)
from service.registry.models import Domain, DomainPin
from tests.certs import Issued, make_chain
from tests.registry.factories import (
    BACKUP_PIN,
    CURRENT_PIN,
    HOSTNAME,
    add_pin,
    pin_of,
    put_release,
    register_app,
    register_domain,
    register_rotation_domain,
    warning_codes,
)

ISRG_ROOT_X1_PIN = "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M="
TODAY = date(2030, 6, 1)
Headers = dict[str, str]


def make_domain(
    hostname: str = HOSTNAME,
    include_subdomains: bool = False,
    roles: dict[str, str] | None = None,
) -> Domain:
    """Build an unsaved domain whose pins are given as ``{pin: role}``."""
    pins = [
        DomainPin(spki_sha256=pin, role=role) for pin, role in (roles or {}).items()
    ]
    return Domain(hostname=hostname, include_subdomains=include_subdomains, pins=pins)


def rotation_domain() -> Domain:
    return make_domain(roles={CURRENT_PIN: "current", BACKUP_PIN: "backup"})


def codes(warnings: list[Any]) -> list[str]:
    return [warning.code for warning in warnings]


def isrg_root_x1() -> Any:
    return public_roots()[ISRG_ROOT_X1_PIN]


def store_seen_certificate(db: Session, issued: Issued) -> None:
    certificate = issued.certificate
    db.add(
        Certificate(
            sha256=certificate_sha256(certificate),
            der=issued.der,
            spki_sha256=issued.pin,
            subject=certificate.subject.rfc4514_string(),
        )
    )
    db.commit()


# Checks, one at a time


def test_placeholder_pin_is_reported() -> None:
    warnings = check_placeholders([CURRENT_PIN, PLACEHOLDER], "the pinset")

    assert codes(warnings) == ["placeholder_pin"]
    assert f"sha256/{PLACEHOLDER} in the pinset" in warnings[0].message


def test_real_pins_are_not_placeholders() -> None:
    assert check_placeholders([CURRENT_PIN, BACKUP_PIN]) == []


def test_duplicate_pin_is_reported_once() -> None:
    warnings = check_duplicates([CURRENT_PIN, BACKUP_PIN, CURRENT_PIN], "the pinset")

    assert codes(warnings) == ["duplicate_pin"]
    assert "appears 2 times" in warnings[0].message


def test_certificate_hash_is_reported_with_subject() -> None:
    known = KnownCertificates(fingerprints={CURRENT_PIN: "CN=api.example.com"})

    warnings = check_fingerprints([CURRENT_PIN, BACKUP_PIN], known)

    assert codes(warnings) == ["certificate_hash_pin"]
    assert "CN=api.example.com" in warnings[0].message


def test_raw_key_hash_is_reported_with_subject() -> None:
    known = KnownCertificates(raw_key_hashes={BACKUP_PIN: "CN=api.example.com"})

    warnings = check_raw_key_hashes([CURRENT_PIN, BACKUP_PIN], known)

    assert codes(warnings) == ["raw_key_hash_pin"]
    assert "CN=api.example.com" in warnings[0].message


def test_domain_without_backup_is_reported() -> None:
    domain = make_domain(roles={CURRENT_PIN: "current"})

    assert codes(check_backup_pin(domain)) == ["no_backup_pin"]


def test_placeholder_backup_is_not_usable() -> None:
    domain = make_domain(roles={PLACEHOLDER: "backup"})

    assert codes(check_backup_pin(domain)) == ["no_backup_pin"]


def test_retired_pin_is_not_a_backup() -> None:
    domain = make_domain(roles={BACKUP_PIN: "retired"})

    assert codes(check_backup_pin(domain)) == ["no_backup_pin"]


def test_domain_with_backup_passes() -> None:
    assert check_backup_pin(rotation_domain()) == []


def test_pinset_without_current_pin_is_reported() -> None:
    warnings = check_current_pin_in_pinset([BACKUP_PIN], rotation_domain())

    assert codes(warnings) == ["pinset_lacks_current_pin"]


def test_pinset_with_current_pin_passes() -> None:
    assert check_current_pin_in_pinset([CURRENT_PIN], rotation_domain()) == []


def test_empty_pinset_lacks_nothing() -> None:
    domain = rotation_domain()

    assert check_current_pin_in_pinset([], domain) == []
    assert check_backup_pin_in_pinset([], domain) == []


def test_domain_without_current_pins_skips_check() -> None:
    domain = make_domain(roles={BACKUP_PIN: "backup"})

    assert check_current_pin_in_pinset([pin_of(7)], domain) == []


def test_pinset_without_backup_pin_is_reported() -> None:
    warnings = check_backup_pin_in_pinset([CURRENT_PIN], rotation_domain())

    assert codes(warnings) == ["pinset_lacks_backup_pin"]


@pytest.mark.parametrize(
    ("days", "expected_code", "expected_text"),
    [
        (-1, "pinset_expired", "expired on 2030-05-31"),
        (0, "pinset_expires_soon", "in 0 days (within 30 days)"),
        (30, "pinset_expires_soon", "in 30 days (within 30 days)"),
        (31, "pinset_expires_soon", "in 31 days (within 60 days)"),
        (60, "pinset_expires_soon", "in 60 days (within 60 days)"),
        (61, "pinset_expires_soon", "in 61 days (within 90 days)"),
        (90, "pinset_expires_soon", "in 90 days (within 90 days)"),
    ],
)
def test_expiry_warning_names_days(
    days: int, expected_code: str, expected_text: str
) -> None:
    warnings = check_expiry(TODAY + timedelta(days=days), TODAY)

    assert codes(warnings) == [expected_code]
    assert expected_text in warnings[0].message


def test_distant_expiry_passes() -> None:
    assert check_expiry(TODAY + timedelta(days=91), TODAY) == []


def test_no_expiry_passes() -> None:
    assert check_expiry(None, TODAY) == []


def test_report_uri_under_pinned_domain_is_reported() -> None:
    domain = make_domain("example.com", include_subdomains=True)

    warnings = check_report_uri("https://reports.example.com/pins", [domain])

    assert codes(warnings) == ["report_uri_pinned"]
    assert "reports.example.com" in warnings[0].message


def test_report_uri_elsewhere_passes() -> None:
    domain = make_domain("example.com", include_subdomains=True)

    assert check_report_uri("https://pinwatch.example.net/r", [domain]) == []
    assert check_report_uri(None, [domain]) == []


# Known certificates


def test_known_certificates_include_public_roots(db: Session) -> None:
    root = isrg_root_x1()

    known = known_certificates(db, [])

    assert (
        known.fingerprints[certificate_sha256(root)]
        == "CN=ISRG Root X1,O=Internet Security Research Group,C=US"
    )
    assert public_key_sha256(root) in known.raw_key_hashes
    assert ISRG_ROOT_X1_PIN not in known.fingerprints
    assert ISRG_ROOT_X1_PIN not in known.raw_key_hashes


def test_known_certificates_include_seen_certificates(db: Session) -> None:
    leaf = make_chain("seen.example.com").leaf
    store_seen_certificate(db, leaf)

    known = known_certificates(db, [certificate_sha256(leaf.certificate)])

    assert known.fingerprints[certificate_sha256(leaf.certificate)] == (
        "CN=seen.example.com"
    )
    assert known.raw_key_hashes[public_key_sha256(leaf.certificate)] == (
        "CN=seen.example.com"
    )
    assert leaf.pin not in known.fingerprints


# Warnings in API responses


def add_pin_warnings(client: TestClient, admin: Headers, body: dict[str, Any]) -> Any:
    response = client.post(f"/v1/domains/{HOSTNAME}/pins", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def test_adding_placeholder_warns(client: TestClient, admin: Headers) -> None:
    register_domain(client, admin)
    add_pin(client, admin, BACKUP_PIN)

    body = add_pin_warnings(client, admin, {"pin": "00" * 32, "role": "current"})

    assert warning_codes(body) == ["placeholder_pin"]


def test_adding_root_fingerprint_warns(client: TestClient, admin: Headers) -> None:
    register_domain(client, admin)
    add_pin(client, admin, BACKUP_PIN)
    fingerprint = certificate_sha256(isrg_root_x1())

    body = add_pin_warnings(client, admin, {"pin": fingerprint, "role": "current"})

    assert warning_codes(body) == ["certificate_hash_pin"]
    assert "ISRG Root X1" in body["warnings"][0]["message"]


def test_adding_root_raw_key_hash_warns(client: TestClient, admin: Headers) -> None:
    register_domain(client, admin)
    add_pin(client, admin, BACKUP_PIN)
    raw_key_hash = public_key_sha256(isrg_root_x1())

    body = add_pin_warnings(client, admin, {"pin": raw_key_hash, "role": "current"})

    assert warning_codes(body) == ["raw_key_hash_pin"]


def test_adding_seen_certificate_fingerprint_warns(
    client: TestClient, admin: Headers, db: Session
) -> None:
    register_domain(client, admin)
    add_pin(client, admin, BACKUP_PIN)
    leaf = make_chain(HOSTNAME).leaf
    store_seen_certificate(db, leaf)

    body = add_pin_warnings(
        client, admin, {"pin": certificate_sha256(leaf.certificate), "role": "current"}
    )

    assert warning_codes(body) == ["certificate_hash_pin"]
    assert f"CN={HOSTNAME}" in body["warnings"][0]["message"]


def test_adding_seen_certificate_raw_key_warns(
    client: TestClient, admin: Headers, db: Session
) -> None:
    register_domain(client, admin)
    add_pin(client, admin, BACKUP_PIN)
    leaf = make_chain(HOSTNAME).leaf
    store_seen_certificate(db, leaf)

    body = add_pin_warnings(
        client, admin, {"pin": public_key_sha256(leaf.certificate), "role": "current"}
    )

    assert warning_codes(body) == ["raw_key_hash_pin"]


def test_adding_registered_certificate_fingerprint_warns(
    client: TestClient, admin: Headers
) -> None:
    register_domain(client, admin)
    leaf = make_chain(HOSTNAME).leaf
    from_certificate = add_pin_warnings(client, admin, {"certificate": leaf.pem})

    body = add_pin_warnings(
        client, admin, {"pin": from_certificate["certificate_sha256"]}
    )

    assert warning_codes(from_certificate) == []
    assert warning_codes(body) == ["certificate_hash_pin"]


def test_adding_real_spki_pin_passes(client: TestClient, admin: Headers) -> None:
    register_domain(client, admin)
    add_pin(client, admin, BACKUP_PIN)
    leaf = make_chain(HOSTNAME).leaf

    body = add_pin_warnings(client, admin, {"pin": spki_pin(leaf.certificate)})

    assert warning_codes(body) == []


def test_domain_without_backup_warns_until_added(
    client: TestClient, admin: Headers
) -> None:
    register_domain(client, admin)

    current = add_pin(client, admin, CURRENT_PIN, role="current")
    backup = add_pin(client, admin, BACKUP_PIN, role="backup")

    assert warning_codes(current) == ["no_backup_pin"]
    assert warning_codes(backup) == []


def test_retiring_last_backup_warns(client: TestClient, admin: Headers) -> None:
    register_rotation_domain(client, admin)

    response = client.patch(
        f"/v1/domains/{HOSTNAME}/pins/{'02' * 32}",
        json={"role": "retired"},
        headers=admin,
    )

    assert warning_codes(response.json()) == ["no_backup_pin"]


def release_warnings(
    client: TestClient, admin: Headers, body: dict[str, Any]
) -> list[str]:
    response = put_release(client, admin, body)
    assert response.status_code in (200, 201), response.text
    return warning_codes(response.json())


def test_release_pinset_warnings(client: TestClient, admin: Headers) -> None:
    register_app(client, admin)
    register_rotation_domain(client, admin)
    pins = [pin_of(7), pin_of(7), PLACEHOLDER]

    result = release_warnings(client, admin, {"pins": {HOSTNAME: pins}})

    assert result == [
        "placeholder_pin",
        "duplicate_pin",
        "pinset_lacks_current_pin",
        "pinset_lacks_backup_pin",
    ]


def test_release_certificate_hash_warns(client: TestClient, admin: Headers) -> None:
    register_app(client, admin)
    register_rotation_domain(client, admin)
    fingerprint = certificate_sha256(isrg_root_x1())

    result = release_warnings(
        client, admin, {"pins": {HOSTNAME: [CURRENT_PIN, BACKUP_PIN, fingerprint]}}
    )

    assert result == ["certificate_hash_pin"]


def test_release_expiring_soon_warns(client: TestClient, admin: Headers) -> None:
    register_app(client, admin)
    register_rotation_domain(client, admin)
    expires = date.today() + timedelta(days=45)
    body = {
        "pins": {HOSTNAME: [CURRENT_PIN, BACKUP_PIN]},
        "pinset_expires": expires.isoformat(),
    }

    response = put_release(client, admin, body)

    warnings = response.json()["warnings"]
    assert warning_codes(response.json()) == ["pinset_expires_soon"]
    assert "within 60 days" in warnings[0]["message"]


def test_release_expired_warns(client: TestClient, admin: Headers) -> None:
    register_app(client, admin)
    register_rotation_domain(client, admin)
    expires = date.today() - timedelta(days=1)
    body = {
        "pins": {HOSTNAME: [CURRENT_PIN, BACKUP_PIN]},
        "pinset_expires": expires.isoformat(),
    }

    assert release_warnings(client, admin, body) == ["pinset_expired"]


def test_release_report_uri_on_pinned_host_warns(
    client: TestClient, admin: Headers
) -> None:
    register_app(client, admin)
    register_rotation_domain(client, admin)
    body = {
        "pins": {HOSTNAME: [CURRENT_PIN, BACKUP_PIN]},
        "report_uri": f"https://{HOSTNAME}/pin-reports",
    }

    assert release_warnings(client, admin, body) == ["report_uri_pinned"]


def test_report_uri_on_unpinned_host_passes(client: TestClient, admin: Headers) -> None:
    register_app(client, admin)
    register_rotation_domain(client, admin)
    body = {
        "pins": {HOSTNAME: [CURRENT_PIN, BACKUP_PIN]},
        "report_uri": "https://pinwatch.example.net/v1/reports?key=pwk_x",
    }

    assert release_warnings(client, admin, body) == []


def test_report_uri_on_host_with_empty_pinset_passes(
    client: TestClient, admin: Headers
) -> None:
    register_app(client, admin)
    register_rotation_domain(client, admin)
    register_domain(client, admin, "reports.example.net")
    body = {
        "pins": {HOSTNAME: [CURRENT_PIN, BACKUP_PIN], "reports.example.net": []},
        "report_uri": "https://reports.example.net/r",
    }

    assert release_warnings(client, admin, body) == []


def test_dsa_certificate_pin_is_not_raw_key_hash() -> None:
    key = dsa.generate_private_key(key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dsa.example.com")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2030, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2031, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    known = KnownCertificates()

    known.add(certificate)

    assert check_raw_key_hashes([spki_pin(certificate)], known) == []
    assert list(known.fingerprints) == [certificate_sha256(certificate)]
