import argparse
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import client as http_client
from service.cli import main
from service.pins.certificates import certificate_sha256
from service.pins.pins import display_pin
from service.registry.client_cli import pins_by_hostname, pinset_argument
from service.registry.models import Domain
from tests.certs import make_chain
from tests.registry.factories import (
    APP_REF,
    BACKUP_PIN,
    CURRENT_PIN,
    HOSTNAME,
    pin_of,
    register_app,
    register_rotation_domain,
)
from tests.transport import forward_to

Headers = dict[str, str]
PLACEHOLDER = pin_of(0)


@pytest.fixture
def server(
    client: TestClient, admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> TestClient:
    """Route client commands to the in-process app, as an admin."""
    monkeypatch.setenv("PINWATCH_TOKEN", admin_token)
    monkeypatch.setattr(http_client, "default_transport", lambda: forward_to(client))
    return client


def warning_lines(error_output: str) -> list[str]:
    return [line for line in error_output.splitlines() if line.startswith("warning:")]


def warning_codes(error_output: str) -> list[str]:
    return [line.split(": ")[1] for line in warning_lines(error_output)]


def stored_domain(db: Session) -> Domain:
    db.rollback()
    return db.scalars(select(Domain).where(Domain.hostname == HOSTNAME)).one()


# domain put


@pytest.mark.usefixtures("server")
def test_domain_put_sets_team_scope_and_policy(
    db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ["domain", "put", HOSTNAME, "--owner-team", "payments"]
    arguments += ["--include-subdomains", "--threshold", "0.9", "--min-installs", "50"]

    status = main(arguments)

    output = capsys.readouterr()
    domain = stored_domain(db)
    assert status == 0
    assert output.out.splitlines() == [
        "domain api.example.com and its subdomains registered",
        "owner team: payments",
        "policy: adoption_threshold=0.9 window_days=7 min_installs=50 "
        "removal_max_share=0.001 removal_quiet_days=7 removal_min_checks=1000",
        "pins: 0",
    ]
    assert output.err == ""
    assert domain.owner_team == "payments"
    assert domain.include_subdomains is True
    assert domain.adoption_threshold == 0.9
    assert domain.min_installs == 50


@pytest.mark.usefixtures("server")
def test_domain_put_takes_every_policy_option(db: Session) -> None:
    options = {
        "--adoption-threshold": "0.99",
        "--window-days": "14",
        "--min-installs": "500",
        "--removal-max-share": "0.01",
        "--removal-quiet-days": "3",
        "--removal-min-checks": "20",
    }
    arguments = [part for pair in options.items() for part in pair]

    status = main(["domain", "put", HOSTNAME, *arguments])

    domain = stored_domain(db)
    assert status == 0
    assert domain.adoption_threshold == 0.99
    assert domain.window_days == 14
    assert domain.min_installs == 500
    assert domain.removal_max_share == 0.01
    assert domain.removal_quiet_days == 3
    assert domain.removal_min_checks == 20


@pytest.mark.usefixtures("server")
def test_domain_put_resets_omitted_policy(db: Session) -> None:
    main(["domain", "put", HOSTNAME, "--owner-team", "payments", "--threshold", "0.8"])

    status = main(["domain", "put", HOSTNAME])

    domain = stored_domain(db)
    assert status == 0
    assert domain.owner_team == ""
    assert domain.adoption_threshold == 0.95


@pytest.mark.usefixtures("server")
def test_domain_put_rejected_value_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["domain", "put", HOSTNAME, "--threshold", "1.5"])

    error = capsys.readouterr().err
    assert status == 2
    assert error.startswith("pinwatch: HTTP 422 ")
    assert "adoption_threshold" in error


@pytest.mark.usefixtures("server")
def test_domain_put_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["domain", "put", HOSTNAME, "--json"])

    body = json.loads(capsys.readouterr().out)
    assert status == 0
    assert body["hostname"] == HOSTNAME
    assert body["policy"]["adoption_threshold"] == 0.95


# domain pin-add


@pytest.mark.usefixtures("server")
def test_pin_add_prints_pin_and_warnings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["domain", "put", HOSTNAME])
    capsys.readouterr()

    status = main(["domain", "pin-add", HOSTNAME, "--pin", PLACEHOLDER])

    output = capsys.readouterr()
    assert status == 0
    assert (
        output.out == f"{HOSTNAME}: {display_pin(PLACEHOLDER)} registered as backup\n"
    )
    assert warning_codes(output.err) == ["placeholder_pin", "no_backup_pin"]
    assert warning_lines(output.err)[0] == (
        f"warning: placeholder_pin: pin {display_pin(PLACEHOLDER)} is an all-zero "
        "placeholder, which matches no key; replace it with the pin of a real key"
    )


@pytest.mark.usefixtures("server")
def test_pin_add_from_pem_file(
    db: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = make_chain(HOSTNAME).leaf
    path = tmp_path / "leaf.pem"
    path.write_text(leaf.pem)
    main(["domain", "put", HOSTNAME])
    capsys.readouterr()
    arguments = ["domain", "pin-add", HOSTNAME, "--certificate", str(path)]

    status = main([*arguments, "--role", "current", "--label", "2025 key"])

    output = capsys.readouterr()
    [pin] = stored_domain(db).pins
    expires = f"{leaf.certificate.not_valid_after_utc:%Y-%m-%d}"
    assert status == 0
    assert output.out.splitlines() == [
        f'{HOSTNAME}: {display_pin(leaf.pin)} registered as current "2025 key"',
        f"certificate: CN={HOSTNAME}, expires {expires}",
    ]
    assert warning_codes(output.err) == ["no_backup_pin"]
    assert pin.spki_sha256 == leaf.pin
    assert pin.label == "2025 key"


@pytest.mark.usefixtures("server")
def test_pin_add_from_der_file(db: Session, tmp_path: Path) -> None:
    leaf = make_chain(HOSTNAME).leaf
    path = tmp_path / "leaf.der"
    path.write_bytes(leaf.der)
    main(["domain", "put", HOSTNAME])

    status = main(["domain", "pin-add", HOSTNAME, "--certificate", str(path)])

    [pin] = stored_domain(db).pins
    assert status == 0
    assert pin.spki_sha256 == leaf.pin
    assert pin.role == "backup"


@pytest.mark.usefixtures("server")
def test_pin_add_warns_about_certificate_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = make_chain(HOSTNAME).leaf
    path = tmp_path / "leaf.pem"
    path.write_text(leaf.pem)
    main(["domain", "put", HOSTNAME])
    main(["domain", "pin-add", HOSTNAME, "--certificate", str(path)])
    capsys.readouterr()
    fingerprint = certificate_sha256(leaf.certificate)

    status = main(["domain", "pin-add", HOSTNAME, "--pin", fingerprint])

    output = capsys.readouterr()
    assert status == 0
    assert warning_codes(output.err) == ["certificate_hash_pin"]
    assert f"certificate CN={HOSTNAME}, not of its public key" in output.err


@pytest.mark.usefixtures("server")
def test_pin_add_bundle_exits_2(
    db: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "chain.pem"
    path.write_text("".join(make_chain(HOSTNAME).pems()))
    main(["domain", "put", HOSTNAME])

    status = main(["domain", "pin-add", HOSTNAME, "--certificate", str(path)])

    error = capsys.readouterr().err
    assert status == 2
    assert "HTTP 422 invalid_certificate" in error
    assert "contains 3 certificates" in error
    assert stored_domain(db).pins == []


@pytest.mark.usefixtures("server")
def test_pin_add_missing_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "missing.pem"

    status = main(["domain", "pin-add", HOSTNAME, "--certificate", str(path)])

    assert status == 2
    assert capsys.readouterr().err.startswith(f"pinwatch: cannot read {path}")


@pytest.mark.usefixtures("server")
def test_pin_add_unknown_domain_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["domain", "pin-add", "other.example.com", "--pin", CURRENT_PIN])

    assert status == 2
    assert capsys.readouterr().err.startswith("pinwatch: HTTP 404 ")


@pytest.mark.usefixtures("server")
def test_pin_add_invalid_pin_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    main(["domain", "put", HOSTNAME])

    status = main(["domain", "pin-add", HOSTNAME, "--pin", "sha1/AAAA"])

    assert status == 2
    assert "HTTP 422 invalid_pin" in capsys.readouterr().err


def test_pin_add_needs_pin_or_certificate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["domain", "pin-add", HOSTNAME])

    assert exit_info.value.code == 2
    assert "one of the arguments --pin --certificate is required" in (
        capsys.readouterr().err
    )


def test_reader_token_exits_2(
    client: TestClient,
    reader_token: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PINWATCH_TOKEN", reader_token)
    monkeypatch.setattr(http_client, "default_transport", lambda: forward_to(client))

    status = main(["domain", "put", HOSTNAME])

    assert status == 2
    assert capsys.readouterr().err.startswith("pinwatch: HTTP 403 ")


# release put


@pytest.fixture
def rotation(server: TestClient, admin: Headers) -> None:
    """Register the app and a domain with one current and one backup pin."""
    register_app(server, admin)
    register_rotation_domain(server, admin)


@pytest.mark.usefixtures("rotation")
def test_release_put_without_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    pins = f"{HOSTNAME}=sha256/{CURRENT_PIN},{BACKUP_PIN}"

    status = main(["release", "put", APP_REF, "4.2.0", "--pins", pins])

    output = capsys.readouterr()
    assert status == 0
    assert output.out.splitlines() == [
        f"release {APP_REF} 4.2.0 declared",
        "pinsets expire: never",
        f"{HOSTNAME} (declared): {display_pin(CURRENT_PIN)}, {display_pin(BACKUP_PIN)}",
    ]
    assert output.err == ""


@pytest.mark.usefixtures("rotation")
def test_release_put_prints_each_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    expires = date.today() + timedelta(days=20)
    pins = f"{HOSTNAME}={CURRENT_PIN},{CURRENT_PIN}"

    arguments = ["release", "put", APP_REF, "4.2.0", "--pins", pins]
    arguments += ["--expires", expires.isoformat()]
    arguments += ["--report-uri", f"https://{HOSTNAME}/reports"]

    status = main(arguments)

    output = capsys.readouterr()
    assert status == 0
    assert f"pinsets expire: {expires.isoformat()}" in output.out
    assert f"report URI: https://{HOSTNAME}/reports" in output.out
    assert warning_codes(output.err) == [
        "duplicate_pin",
        "pinset_lacks_backup_pin",
        "pinset_expires_soon",
        "report_uri_pinned",
    ]
    assert all(line.count(": ") >= 2 for line in warning_lines(output.err))


@pytest.mark.usefixtures("rotation")
def test_release_put_unpinned_host(
    server: TestClient, admin: Headers, capsys: pytest.CaptureFixture[str]
) -> None:
    server.put("/v1/domains/cdn.example.com", json={}, headers=admin)
    hosts = [f"{HOSTNAME}={CURRENT_PIN},{BACKUP_PIN}", "cdn.example.com="]

    status = main(["release", "put", APP_REF, "4.2.0", "--pins", *hosts])

    output = capsys.readouterr().out
    assert status == 0
    assert "cdn.example.com (declared): not pinned" in output


@pytest.mark.usefixtures("rotation")
def test_release_put_unknown_host_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pins = f"other.example.org={CURRENT_PIN}"

    status = main(["release", "put", APP_REF, "4.2.0", "--pins", pins])

    error = capsys.readouterr().err
    assert status == 2
    assert "HTTP 422 domain_not_found" in error
    assert "'other.example.org' matches no registered domain" in error


@pytest.mark.usefixtures("rotation")
def test_release_put_prints_json(
    db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    pins = f"{HOSTNAME}={CURRENT_PIN}"

    status = main(["release", "put", APP_REF, "4.2.0", "--pins", pins, "--json"])

    output = capsys.readouterr()
    body = json.loads(output.out)
    assert status == 0
    assert body["version"] == "4.2.0"
    assert [item["code"] for item in body["warnings"]] == ["pinset_lacks_backup_pin"]
    assert warning_codes(output.err) == ["pinset_lacks_backup_pin"]


def test_release_put_bad_expiry_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["release", "put", APP_REF, "4.2.0", "--pins", f"{HOSTNAME}="]

    with pytest.raises(SystemExit) as exit_info:
        main([*arguments, "--expires", "30.06.2027"])

    assert exit_info.value.code == 2
    assert "'30.06.2027' is not a valid date. Use YYYY-MM-DD" in capsys.readouterr().err


def test_release_put_without_token_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PINWATCH_TOKEN", raising=False)

    status = main(["release", "put", APP_REF, "4.2.0", "--pins", f"{HOSTNAME}="])

    assert status == 2
    assert "PINWATCH_TOKEN is not set" in capsys.readouterr().err


# --pins values


def test_pinset_argument_splits_host_and_pins() -> None:
    text = f'{HOSTNAME}=pin-sha256="{CURRENT_PIN}", sha256/{BACKUP_PIN}'

    hostname, pins = pinset_argument(text)

    assert hostname == HOSTNAME
    assert pins == [f'pin-sha256="{CURRENT_PIN}"', f"sha256/{BACKUP_PIN}"]


def test_pinset_argument_empty_pinset() -> None:
    assert pinset_argument(f"{HOSTNAME}=") == (HOSTNAME, [])


@pytest.mark.parametrize("text", [CURRENT_PIN.rstrip("="), f"={CURRENT_PIN}"])
def test_pinset_argument_rejects_missing_host(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="is not in the form HOST=PIN"):
        pinset_argument(text)


def test_pins_by_hostname_joins_repeated_host() -> None:
    pinsets = [(HOSTNAME, ["a"]), ("cdn.example.com", []), (HOSTNAME, ["b"])]

    assert pins_by_hostname(pinsets) == {HOSTNAME: ["a", "b"], "cdn.example.com": []}


def test_release_put_replaces_pinset(server: TestClient, admin: Headers) -> None:
    register_app(server, admin)
    register_rotation_domain(server, admin)
    main(["release", "put", APP_REF, "4.2.0", "--pins", f"{HOSTNAME}={BACKUP_PIN}"])

    status = main(
        ["release", "put", APP_REF, "4.2.0", "--pins", f"{HOSTNAME}={CURRENT_PIN}"]
    )

    response = server.get(f"/v1/apps/{APP_REF}/releases", headers=admin)
    [release] = response.json()
    assert status == 0
    assert release["pinsets"][0]["pins"] == [CURRENT_PIN]
