"""Response bodies of the failure analysis endpoints."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from service.analysis.classify import Classification

GroupBy = Literal["signature", "classification", "version", "platform"]
CertificateKind = Literal["leaf", "intermediate", "root"]


class CertificateEntry(BaseModel):
    """One certificate of a served chain, as the failing client received it."""

    position: int = Field(description="0 for the leaf, counting up the chain.")
    kind: CertificateKind
    sha256: str = Field(description="SHA-256 of the whole DER (the fingerprint).")
    subject: str
    issuer: str
    not_before: datetime | None
    not_after: datetime | None
    subject_alt_names: list[str] = Field(description="SAN DNS names and IPs.")
    spki_sha256: str = Field(description="The SPKI pin of the certificate's key.")
    in_pinset: bool = Field(description="The failing build pins this key.")
    registered_role: str | None = Field(
        description="Role of this key for the domain, null when not registered."
    )
    public_root: bool = Field(description="The key is a Mozilla root's key.")
    issued_by_public_root: bool = Field(
        description="A Mozilla root's name and signature match the issuer."
    )


class KnownPin(BaseModel):
    """One pin of the failing build's pinset for the hostname."""

    spki_sha256: str
    served: bool = Field(description="A served certificate has this SPKI pin.")
    registered_role: str | None
    label: str | None
    wrong_hash: str | None = Field(
        description="certificate_sha256 or public_key_sha256 when the pin is that "
        "hash of a served certificate instead of its SPKI pin."
    )
    wrong_hash_position: int | None = Field(
        description="Position of the certificate that `wrong_hash` was taken from."
    )


class ChainBreakdown(BaseModel):
    """A sampled failure and its served chain, certificate by certificate."""

    received_at: datetime
    device_time: str | None = Field(description="The device's time, as reported.")
    device_time_utc: datetime | None = Field(
        description="The device's time read as UTC; null when unreadable."
    )
    hostname: str
    app: str
    version: str
    result: str = Field(description="The client's own result code.")
    known_pins: list[KnownPin]
    certificates: list[CertificateEntry]
    missing_certificates: int = Field(
        description="Served certificates whose stored copy is gone."
    )
    covers_hostname: bool | None = Field(
        description="The leaf is valid for the hostname; null without a leaf."
    )
    publicly_trusted: bool
    trust_anchor: str | None = Field(
        description="The Mozilla root the chain leads to, if any."
    )
    root: str | None = Field(description="Name of the CA at the top of the chain.")
    inspection_root: str | None = Field(
        description="The configured TLS inspection root entry that matches."
    )


class ServedPin(BaseModel):
    """A key of the incident's served chain and its standing for the domain."""

    spki_sha256: str
    registered: bool
    role: str | None
    label: str | None
    in_pinset: bool | None = Field(
        description="The latest sampled build pins it; null without a sample."
    )


class VersionCount(BaseModel):
    app: str
    version: str
    occurrences: int


class Incident(BaseModel):
    """One failure signature: a domain, a classification and a served key set."""

    signature: str = Field(description="Incident id (URL-safe base64).")
    domain: str | None = Field(description="Null for unregistered hostnames.")
    classification: Classification
    caused_by_network_or_device: bool = Field(
        description="Interception, captive portal or clock skew: never counted "
        "against removal readiness."
    )
    summary: str = Field(description="What the classification means.")
    verdict: str = Field(description="Why this incident's failures happened.")
    served_pins: list[ServedPin]
    occurrences: int
    unique_installs: int
    first_seen: datetime
    last_seen: datetime
    versions: list[VersionCount]
    sample: ChainBreakdown | None = Field(
        description="The latest sampled failure; null when none is kept."
    )


class FailureGroup(BaseModel):
    """Failures of one signature, classification, app version or platform."""

    key: str = Field(
        description="The signature id, classification, version or platform."
    )
    app: str | None = Field(description="The app of a version group.")
    classification: Classification | None = Field(
        description="Set when every failure of the group has the same one."
    )
    classifications: dict[str, int] = Field(
        description="Occurrences per classification."
    )
    occurrences: int
    unique_installs: int | None = Field(
        description="Distinct installs that hit the group's signatures up to "
        "`until`; null when it cannot be counted exactly (version groups, or a "
        "version filter)."
    )
    signatures: int
    first_seen: datetime
    last_seen: datetime
    apps: list[str]
    versions: list[str]


class FailureList(BaseModel):
    """Failures of a domain in a time range, grouped."""

    domain: str
    group_by: GroupBy
    since: datetime
    until: datetime
    total_occurrences: int
    groups: list[FailureGroup]
