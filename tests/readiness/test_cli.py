import json
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service import client as http_client
from service.cli import main
from service.pins.pins import display_pin
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
from tests.transport import forward_to


@pytest.fixture
def server(
    client: TestClient, reader_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PINWATCH_TOKEN", reader_token)
    monkeypatch.setattr(http_client, "default_transport", lambda: forward_to(client))


def arrange_fleet(db: Session, installs_with_backup: int) -> None:
    domain = make_domain(db)
    add_pin(domain, CURRENT, role="current", label="2025 key")
    add_pin(domain, BACKUP, role="backup", label="2026 key")
    app = make_app(db, domain)
    make_version(db, app, domain, "4.2.0", [CURRENT, BACKUP], installs_with_backup)
    make_version(db, app, domain, "4.1.0", [CURRENT], 100 - installs_with_backup)
    add_checks(db, domain, app, 1000)
    db.commit()


@pytest.mark.usefixtures("server")
def test_readiness_exits_0_when_backup_ready(
    db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    arrange_fleet(db, installs_with_backup=96)

    status = main(["readiness", "api.example.com"])

    output = capsys.readouterr().out
    assert status == 0
    assert display_pin(BACKUP) in output
    assert '"2026 key"' in output
    assert "adoption 96.0 % (threshold 95.0 %)  READY" in output


@pytest.mark.usefixtures("server")
def test_readiness_exits_1_when_none_ready(
    db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    arrange_fleet(db, installs_with_backup=90)

    status = main(["readiness", "api.example.com"])

    output = capsys.readouterr().out
    assert status == 1
    assert "NOT READY" in output
    assert "Blocking versions:" in output
    assert "4.1.0" in output
    assert "rejects (pin not in pinset)" in output
    assert "adoption 90.0 % is below the 95.0 % threshold" in output


@pytest.mark.usefixtures("server")
def test_readiness_table_shows_app_and_removal_rows(
    db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    arrange_fleet(db, installs_with_backup=96)

    main(["readiness", "api.example.com"])

    lines = capsys.readouterr().out.splitlines()
    app_rows = [line for line in lines if line.startswith("    android:")]
    assert app_rows[0].split() == [
        "android:com.example.bank",
        "100",
        "96",
        "96",
        "0",
        "96.0",
        "%",
        "yes",
    ]
    removal = [line for line in lines if display_pin(CURRENT) in line]
    assert "current  served 0 % of 1000 checks" in removal[0]
    assert removal[0].endswith("REMOVABLE")


@pytest.mark.usefixtures("server")
def test_readiness_json_prints_the_response(
    db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    arrange_fleet(db, installs_with_backup=90)

    status = main(["readiness", "api.example.com", "--json"])

    body = json.loads(capsys.readouterr().out)
    assert status == 1
    assert body["domain"] == "api.example.com"
    assert body["rotate"][0]["adoption"] == 0.9


@pytest.mark.usefixtures("server")
def test_readiness_of_unknown_domain_exits_2(
    db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["readiness", "missing.example.com"])

    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert captured.err.startswith("pinwatch: HTTP 404 domain_not_found:")
    assert len(captured.err.splitlines()) == 1


def test_readiness_without_token_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PINWATCH_TOKEN", raising=False)

    status = main(["readiness", "api.example.com"])

    assert status == 2
    assert "PINWATCH_TOKEN is not set" in capsys.readouterr().err


def test_readiness_with_refused_connection_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    monkeypatch.setenv("PINWATCH_TOKEN", "pwt_test")
    monkeypatch.setattr(
        http_client, "default_transport", lambda: httpx.MockTransport(refuse)
    )

    status = main(["readiness", "api.example.com", "--url", "http://127.0.0.1:9"])

    assert status == 2
    assert capsys.readouterr().err == (
        "pinwatch: cannot reach http://127.0.0.1:9: connection refused\n"
    )


@pytest.mark.usefixtures("server")
def test_preflight_prints_share_per_version(
    db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    arrange_fleet(db, installs_with_backup=90)

    status = main(["preflight", "api.example.com", "--pin", display_pin(BACKUP)])

    captured = capsys.readouterr()
    output = captured.out
    assert captured.err == ""
    assert status == 0
    assert "Accepting: 90.0 % of 100 active installs" in output
    assert "Versions:" in output
    rows = [line.split() for line in output.splitlines() if " 4.2.0 " in line]
    assert rows[0] == [
        "android:com.example.bank",
        "4.2.0",
        "90",
        "90.0",
        "%",
        "accepts",
        "(pin",
        "in",
        "pinset)",
    ]


@pytest.mark.usefixtures("server")
def test_preflight_with_chain_file(
    db: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chain = make_chain()
    domain = make_domain(db)
    app = make_app(db, domain)
    make_version(db, app, domain, "5.0.0", [chain.leaf.pin], 10)
    db.commit()
    path = tmp_path / "chain.pem"
    path.write_text("".join(chain.pems()))

    status = main(["preflight", "api.example.com", "--chain", str(path), "--json"])

    body = json.loads(capsys.readouterr().out)
    assert status == 0
    assert body["accepting_share"] == 1.0
    assert len(body["pins"]) == 3


@pytest.mark.usefixtures("server")
def test_preflight_with_invalid_pin_exits_2(
    db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    arrange_fleet(db, installs_with_backup=90)

    status = main(["preflight", "api.example.com", "--pin", "sha1/abc"])

    assert status == 2
    assert "invalid_pin" in capsys.readouterr().err


@pytest.mark.usefixtures("server")
def test_preflight_with_missing_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.pem"

    status = main(["preflight", "api.example.com", "--chain", str(missing)])

    assert status == 2
    assert f"cannot read {missing}" in capsys.readouterr().err


@pytest.mark.usefixtures("server")
def test_preflight_file_without_certificate_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("no certificate here\n")

    status = main(["preflight", "api.example.com", "--chain", str(path)])

    assert status == 2
    assert "contains no PEM certificate" in capsys.readouterr().err


@pytest.mark.usefixtures("server")
def test_readiness_without_backup_pin_exits_1(
    db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    make_domain(db)
    db.commit()

    status = main(["readiness", "api.example.com"])

    output = capsys.readouterr().out
    assert status == 1
    assert "Warning: api.example.com has no backup pin" in output
    assert "(no backup pin)" in output
    assert "Active installs: no app uses the domain" in output
