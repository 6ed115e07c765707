from pathlib import Path

import pytest

from service.cli import main
from service.core.settings import get_settings


def test_missing_secret_is_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PINWATCH_SECRET", raising=False)
    monkeypatch.setenv("PINWATCH_ENV", "production")
    get_settings.cache_clear()

    status = main(["token", "create", "--role", "admin"])

    error = capsys.readouterr().err
    get_settings.cache_clear()
    assert status == 2
    assert error.startswith("pinwatch: invalid settings: PINWATCH_SECRET is missing")
    assert "Traceback" not in error


def create_token_on(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str]:
    """Run ``pinwatch token create`` on a database, and return its status and stderr."""
    monkeypatch.setenv("PINWATCH_ENV", "development")
    monkeypatch.setenv("PINWATCH_DATABASE_URL", database_url)
    get_settings.cache_clear()

    status = main(["token", "create", "--role", "reader"])

    get_settings.cache_clear()
    return status, capsys.readouterr().err


def test_unmigrated_database_is_one_line_error(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"

    status, error = create_token_on(url, monkeypatch, capsys)

    assert status == 2
    assert "Run 'pinwatch migrate' first" in error
    assert "Traceback" not in error


def test_unreachable_database_has_no_migrate_hint(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # A folder in place of the database file cannot be opened.
    status, error = create_token_on(f"sqlite:///{tmp_path}", monkeypatch, capsys)

    assert status == 2
    assert error.startswith("pinwatch: the database failed: OperationalError")
    assert "pinwatch migrate" not in error
