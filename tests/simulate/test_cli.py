from contextlib import nullcontext

import pytest
from fastapi.testclient import TestClient

from service.cli import main
from service.simulate import cli as simulate_cli
from service.simulate.cli import is_loopback_url

ARGS = ["simulate", "--domain", "api.example.com", "--installs", "30"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://127.8.9.10",
        "http://localhost:8000",
        "http://[::1]:8000",
    ],
)
def test_loopback_urls_are_allowed(url: str) -> None:
    assert is_loopback_url(url) is True


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.5:8000", "https://pinwatch.example.com", "http://0.0.0.0:80"],
)
def test_other_urls_are_not_loopback(url: str) -> None:
    assert is_loopback_url(url) is False


def test_simulate_rejects_remote_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PINWATCH_TOKEN", "pwt_example")

    status = main([*ARGS, "--url", "https://pinwatch.example.com"])

    assert status == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_simulate_requires_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PINWATCH_TOKEN", raising=False)

    status = main([*ARGS, "--url", "http://127.0.0.1:8000"])

    assert status == 2
    assert "PINWATCH_TOKEN" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--days", "0"], "--days"),
        (["--days", "3", "--rotate-at-day", "4"], "--rotate-at-day"),
        (["--workers", "0"], "--workers"),
        (["--installs", "0"], "--installs"),
    ],
)
def test_simulate_rejects_out_of_range_options(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("PINWATCH_TOKEN", "pwt_example")

    status = main([*ARGS, "--url", "http://127.0.0.1:8000", *extra])

    assert status == 2
    assert message in capsys.readouterr().err


def test_simulate_prints_one_line_per_day(
    client: TestClient,
    admin_token: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PINWATCH_TOKEN", admin_token)
    monkeypatch.setattr(
        simulate_cli,
        "open_simulation_client",
        lambda _url, _workers: nullcontext(client),
    )

    status = main(
        [*ARGS, "--url", "http://127.0.0.1:8000", "--days", "2", "--register"]
    )

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[0].startswith("simulating 30 installs per app for api.example.com")
    assert lines[1].startswith("day 1: ")
    assert lines[2].startswith("day 2: ")
    assert "backup adoption android:com.example.bank" in lines[2]
    assert len(lines) == 3
