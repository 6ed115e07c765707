"""Typed settings, read once from environment variables prefixed ``PINWATCH_``."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///var/pinwatch.db"
DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"  # noqa: S105


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PINWATCH_", extra="ignore")

    env: Literal["development", "test", "production"] = "production"
    database_url: str = DEFAULT_DATABASE_URL
    secret: str = Field(default="", repr=False)
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    log_level: str = "INFO"
    log_json: bool = True

    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    max_decompressed_bytes: int = Field(default=8 * 1024 * 1024, ge=1)
    max_events_per_request: int = Field(default=1000, ge=1)
    max_chain_certificates: int = Field(default=10, ge=1)
    max_certificate_bytes: int = Field(default=64 * 1024, ge=1)
    max_quarantine_bytes: int = Field(default=64 * 1024, ge=0)
    # Requests a second per ingest key, in each process: with R replicas or
    # workers a key may send R times this. A key serves a whole app, and 50 a
    # second covers about 180,000 installs that each post once an hour.
    # 0 turns the limit off.
    ingest_rate_per_second: float = Field(default=50.0, ge=0, allow_inf_nan=False)
    # Requests a key may send at once after a quiet spell.
    ingest_rate_burst: int = Field(default=200, ge=1)

    metrics_max_versions: int = Field(default=15, ge=1)
    metrics_cache_seconds: float = Field(default=15.0, ge=0)
    # Seconds a process may serve readiness from a snapshot, and keep the
    # registered domains that ingest matches hostnames against. Unset means
    # 30 and 5 in production, and 0 (always fresh) in development and test.
    readiness_cache_seconds: float | None = Field(default=None, ge=0)
    domain_cache_seconds: float | None = Field(default=None, ge=0)
    failure_sample_per_hour: int = Field(default=100, ge=0)
    # A device clock further than this from the receive time is a clock skew.
    clock_skew_seconds: int = Field(default=24 * 60 * 60, ge=1)
    # Enterprise TLS inspection roots, as SPKI pins or parts of a subject name
    # (a JSON list in PINWATCH_INSPECTION_ROOTS); they label interception.
    inspection_roots: list[str] = Field(default_factory=list)

    retention_failure_days: int = Field(default=30, ge=1)
    retention_quarantine_days: int = Field(default=14, ge=1)
    # A replayed event id older than this is no longer recognised as a duplicate.
    retention_receipt_days: int = Field(default=30, ge=1)

    @model_validator(mode="after")
    def _require_secret_outside_development(self) -> "Settings":
        if not self.secret:
            if self.env == "production":
                raise ValueError(
                    "PINWATCH_SECRET is missing: set it to a long random value "
                    "(it keys the install id hash), or set PINWATCH_ENV=development"
                )
            self.secret = DEVELOPMENT_SECRET
        elif self.env == "production" and len(self.secret) < 32:
            raise ValueError("PINWATCH_SECRET must be at least 32 characters long")
        return self

    def sqlite_path(self) -> Path | None:
        """Return the file of an SQLite URL, so its folder can be created."""
        prefix = "sqlite:///"
        if not self.database_url.startswith(prefix):
            return None
        path = self.database_url.removeprefix(prefix)
        return None if path in ("", ":memory:") else Path(path)


@lru_cache
def get_settings() -> Settings:
    return Settings()
