import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service import client as http_client
from service.cli import main
from service.pins.pins import url_pin
from tests.analysis.factories import (
    HOUR,
    T0,
    add_count,
    add_installs,
    make_app,
    make_domain,
    make_release,
    make_signature,
)
from tests.transport import forward_to

RANGE = ["--since", T0.isoformat(), "--until", (T0 + 6 * HOUR).isoformat()]


@pytest.fixture
def server(
    client: TestClient, reader_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PINWATCH_TOKEN", reader_token)
    monkeypatch.setattr(http_client, "default_transport", lambda: forward_to(client))


def arrange_incident(db: Session) -> str:
    domain = make_domain(db)
    app = make_app(db)
    signature = make_signature(db, domain, "rotation_casualty")
    add_count(db, signature, make_release(db, app, "4.1.0"), 1200)
    add_count(db, signature, make_release(db, app, "4.0.3"), 34)
    add_installs(db, signature, make_release(db, app, "4.0.2"), 15)
    db.commit()
    return url_pin(signature.signature)


@pytest.mark.usefixtures("server")
def test_single_failure_is_singular(
    db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    domain = make_domain(db)
    signature = make_signature(db, domain, "rotation_casualty")
    add_count(db, signature, make_release(db, make_app(db), "4.1.0"), 1)
    db.commit()

    status = main(["failures", "api.example.com", *RANGE])

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[0] == (
        "api.example.com: 1 failure from 2026-03-02 10:00 to 2026-03-02 16:00 UTC"
    )


@pytest.mark.usefixtures("server")
def test_failures_prints_a_table(
    db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    signature = arrange_incident(db)

    status = main(["failures", "api.example.com", *RANGE])

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[0] == (
        "api.example.com: 1234 failures from 2026-03-02 10:00 to 2026-03-02 16:00 UTC"
    )
    assert lines[1].split() == [
        "SIGNATURE",
        "CAUSE",
        "OCCURRENCES",
        "INSTALLS",
        "FIRST",
        "SEEN",
        "LAST",
        "SEEN",
        "VERSIONS",
    ]
    assert lines[2].split() == [
        signature,
        "rotation_casualty",
        "1234",
        "15",
        "2026-03-02",
        "10:00",
        "2026-03-02",
        "10:30",
        "4.0.3,",
        "4.1.0",
    ]


@pytest.mark.usefixtures("server")
def test_failures_by_version_shows_app(
    db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    arrange_incident(db)

    status = main(["failures", "api.example.com", "--group-by", "version", *RANGE])

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[1].startswith("VERSION")
    assert lines[2].split()[:5] == [
        "android:com.example.bank",
        "4.1.0",
        "rotation_casualty",
        "1200",
        "-",
    ]


@pytest.mark.usefixtures("server")
def test_failures_json_prints_the_response(
    db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    signature = arrange_incident(db)

    status = main(["failures", "api.example.com", "--json", *RANGE])

    body = json.loads(capsys.readouterr().out)
    assert status == 0
    assert body["groups"][0]["key"] == signature
    assert body["total_occurrences"] == 1234


@pytest.mark.usefixtures("server")
def test_failures_says_when_there_are_none(
    db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    make_domain(db)
    db.commit()

    status = main(["failures", "api.example.com", *RANGE])

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[1] == "No failures in this range."


@pytest.mark.usefixtures("server")
def test_failures_of_unknown_domain_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["failures", "nowhere.example"])

    error = capsys.readouterr().err
    assert status == 2
    assert error.startswith("pinwatch: HTTP 404 domain_not_found:")


def test_failures_without_token_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PINWATCH_TOKEN", raising=False)

    status = main(["failures", "api.example.com"])

    assert status == 2
    assert "PINWATCH_TOKEN is not set" in capsys.readouterr().err
