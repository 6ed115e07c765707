"""Telemetry tables: installs, event receipts, check counts, failures, quarantine."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.core.db import Base, UTCDateTime, utcnow
from service.registry.models import PIN_LENGTH


class EventReceipt(Base):
    """One row per native event id, so that a repeated id is stored once."""

    __tablename__ = "event_receipts"

    app_id: Mapped[int] = mapped_column(
        ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True
    )
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Install(Base):
    """One app installation, known only by the keyed hash of its id."""

    __tablename__ = "installs"
    __table_args__ = (
        Index(
            "ix_installs_app_id_last_seen_at", "app_id", "last_seen_at", "release_id"
        ),
    )

    app_id: Mapped[int] = mapped_column(
        ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True
    )
    install_hash: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    # The release of the install's most recent event, by receive time.
    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE")
    )
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AppDomain(Base):
    """An app uses a domain once it sent events for it or declared a pinset."""

    __tablename__ = "app_domains"

    app_id: Mapped[int] = mapped_column(
        ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True
    )
    domain_id: Mapped[int] = mapped_column(
        ForeignKey("domains.id", ondelete="CASCADE"), primary_key=True
    )
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CheckCount(Base):
    """Successful validations per domain, app and hour of receipt."""

    __tablename__ = "check_counts"

    domain_id: Mapped[int] = mapped_column(
        ForeignKey("domains.id", ondelete="CASCADE"), primary_key=True
    )
    app_id: Mapped[int] = mapped_column(
        ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    checks: Mapped[int] = mapped_column(BigInteger, default=0)


class ServedKeyCount(Base):
    """Checks per hour whose served chain contained a key (or matched its pin)."""

    __tablename__ = "served_key_counts"

    domain_id: Mapped[int] = mapped_column(
        ForeignKey("domains.id", ondelete="CASCADE"), primary_key=True
    )
    spki_sha256: Mapped[str] = mapped_column(String(PIN_LENGTH), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    checks: Mapped[int] = mapped_column(BigInteger, default=0)
    last_served_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Certificate(Base):
    """A certificate seen in a served chain, stored once by its SHA-256."""

    __tablename__ = "certificates"

    sha256: Mapped[str] = mapped_column(String(PIN_LENGTH), primary_key=True)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    spki_sha256: Mapped[str] = mapped_column(String(PIN_LENGTH), index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    issuer: Mapped[str] = mapped_column(Text, default="")
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FailureSignature(Base):
    """An incident: failures of one domain, classification and served key set."""

    __tablename__ = "failure_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    signature: Mapped[str] = mapped_column(String(PIN_LENGTH), unique=True)
    # NULL for hostnames that match no registered domain.
    domain_id: Mapped[int | None] = mapped_column(
        ForeignKey("domains.id", ondelete="CASCADE"), index=True
    )
    classification: Mapped[str] = mapped_column(String(32))
    served_pins: Mapped[list[str]] = mapped_column(JSON, default=list)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    occurrences: Mapped[int] = mapped_column(BigInteger, default=0)


class FailureCount(Base):
    """Exact failure counts per signature, hour, app and release."""

    __tablename__ = "failure_counts"

    signature_id: Mapped[int] = mapped_column(
        ForeignKey("failure_signatures.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    app_id: Mapped[int] = mapped_column(
        ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True
    )
    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True
    )
    occurrences: Mapped[int] = mapped_column(BigInteger, default=0)
    sampled: Mapped[int] = mapped_column(Integer, default=0)


class SignatureInstall(Base):
    """Installs that hit a signature, for unique-install counts."""

    __tablename__ = "signature_installs"

    signature_id: Mapped[int] = mapped_column(
        ForeignKey("failure_signatures.id", ondelete="CASCADE"), primary_key=True
    )
    install_hash: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PinFailure(Base):
    """One raw failure, kept for analysis; sampled per signature and hour."""

    __tablename__ = "pin_failures"
    __table_args__ = (
        Index("ix_pin_failures_domain_id_received_at", "domain_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    device_time: Mapped[str | None] = mapped_column(String(64))
    device_time_parsed: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signature_id: Mapped[int] = mapped_column(
        ForeignKey("failure_signatures.id", ondelete="CASCADE"), index=True
    )
    domain_id: Mapped[int | None] = mapped_column(
        ForeignKey("domains.id", ondelete="CASCADE")
    )
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE")
    )
    install_hash: Mapped[bytes] = mapped_column(LargeBinary(16))
    event_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    hostname: Mapped[str] = mapped_column(String(253))
    port: Mapped[int | None] = mapped_column(Integer)
    noted_hostname: Mapped[str | None] = mapped_column(String(253))
    classification: Mapped[str] = mapped_column(String(32))
    result: Mapped[str] = mapped_column(String(32))
    action: Mapped[str | None] = mapped_column(String(16))
    enforced: Mapped[bool] = mapped_column(default=True)
    pinset_expires: Mapped[date | None] = mapped_column(Date)
    # SHA-256 (base64) of each served certificate, leaf first; see Certificate.
    served_chain: Mapped[list[str]] = mapped_column(JSON, default=list)
    served_pins: Mapped[list[str]] = mapped_column(JSON, default=list)
    known_pins: Mapped[list[str]] = mapped_column(JSON, default=list)
    network: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sdk: Mapped[str | None] = mapped_column(String(200))


class QuarantinedReport(Base):
    """A report that parsed as JSON but matched no known format."""

    __tablename__ = "quarantined_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    app_id: Mapped[int | None] = mapped_column(
        ForeignKey("apps.id", ondelete="CASCADE")
    )
    reason: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(Integer)
    truncated: Mapped[bool] = mapped_column(default=False)
    body: Mapped[bytes] = mapped_column(LargeBinary)
