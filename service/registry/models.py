"""Registry tables: apps, keys, tokens, domains, pins, releases and the audit log."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.core.db import Base, UTCDateTime, utcnow

PIN_LENGTH = 44  # standard base64 of 32 bytes, with padding


class App(Base):
    __tablename__ = "apps"
    __table_args__ = (UniqueConstraint("platform", "bundle_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    bundle_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def ref(self) -> str:
        return f"{self.platform}:{self.bundle_id}"


class IngestKey(Base):
    __tablename__ = "ingest_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    app: Mapped[App] = relationship(lazy="joined")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Domain(Base):
    __tablename__ = "domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    hostname: Mapped[str] = mapped_column(String(253), unique=True)
    include_subdomains: Mapped[bool] = mapped_column(default=False)
    owner_team: Mapped[str] = mapped_column(String(100), default="")
    adoption_threshold: Mapped[float] = mapped_column(Float, default=0.95)
    window_days: Mapped[int] = mapped_column(Integer, default=7)
    min_installs: Mapped[int] = mapped_column(Integer, default=100)
    removal_max_share: Mapped[float] = mapped_column(Float, default=0.001)
    removal_quiet_days: Mapped[int] = mapped_column(Integer, default=7)
    removal_min_checks: Mapped[int] = mapped_column(Integer, default=1000)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    pins: Mapped[list["DomainPin"]] = relationship(
        back_populates="domain", order_by="DomainPin.id", cascade="all, delete-orphan"
    )


class DomainPin(Base):
    __tablename__ = "domain_pins"
    __table_args__ = (UniqueConstraint("domain_id", "spki_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"))
    spki_sha256: Mapped[str] = mapped_column(String(PIN_LENGTH))
    role: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(100), default="")
    # Set when the pin was registered from a certificate.
    certificate_sha256: Mapped[str | None] = mapped_column(String(PIN_LENGTH))
    subject: Mapped[str | None] = mapped_column(String(1000))
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    domain: Mapped[Domain] = relationship(back_populates="pins")


class Release(Base):
    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("app_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(64))
    declared: Mapped[bool] = mapped_column(default=False)
    pinset_expires: Mapped[date | None] = mapped_column(Date)
    report_uri: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    pinsets: Mapped[list["ReleasePinset"]] = relationship(
        back_populates="release", cascade="all, delete-orphan"
    )


class ReleasePinset(Base):
    """The pins one build trusts for one domain.

    ``source`` is ``declared`` (through the API) or ``learned`` (from the
    ``known_pins`` of events); a declared pinset wins over a learned one.
    """

    __tablename__ = "release_pinsets"
    __table_args__ = (UniqueConstraint("release_id", "domain_id", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE")
    )
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))
    pins: Mapped[list[str]] = mapped_column(JSON, default=list)
    enforced: Mapped[bool] = mapped_column(default=True)
    expires: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    release: Mapped[Release] = relationship(back_populates="pinsets")


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(300))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
