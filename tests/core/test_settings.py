from pathlib import Path

import pytest
from pydantic import ValidationError

from service.core.settings import DEVELOPMENT_SECRET, Settings

CONFIGURATION = Path(__file__).parents[2] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    text = CONFIGURATION.read_text()

    missing = [
        f"PINWATCH_{name.upper()}"
        for name in Settings.model_fields
        if f"`PINWATCH_{name.upper()}`" not in text
    ]

    assert missing == []


def test_production_requires_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PINWATCH_SECRET", raising=False)

    with pytest.raises(ValidationError, match="PINWATCH_SECRET is missing"):
        Settings(env="production")


def test_production_rejects_short_secret() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(env="production", secret="short")


def test_development_uses_builtin_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PINWATCH_SECRET", raising=False)

    settings = Settings(env="development")

    assert settings.secret == DEVELOPMENT_SECRET


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_decompressed_bytes", -5),
        ("max_body_bytes", 0),
        ("max_events_per_request", 0),
        ("db_pool_size", 0),
        ("ingest_rate_per_second", float("inf")),
        ("failure_sample_per_hour", -1),
    ],
)
def test_out_of_range_setting_is_rejected(name: str, value: object) -> None:
    with pytest.raises(ValidationError, match=name):
        Settings(env="development", **{name: value})
