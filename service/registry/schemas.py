"""Request and response bodies of the registry API.

Request bodies reject unknown fields, so that a misspelt policy name fails
instead of silently taking the default.
"""

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from service.core.db import PRINTABLE_TEXT
from service.pins.pins import display_pin, url_pin
from service.registry.apps import BUNDLE_ID_PATTERN, PLATFORMS
from service.registry.lint import LintWarning
from service.registry.models import (
    App,
    AuditEntry,
    Domain,
    DomainPin,
    Release,
    ReleasePinset,
)
from service.registry.releases import effective_pinsets

PinRole = Literal["current", "backup", "retired"]


def _printable(value: str) -> str:
    if not re.fullmatch(PRINTABLE_TEXT, value):
        raise ValueError("must not contain control characters such as NUL or tab")
    return value


# Free text that is stored as sent.
PlainText = Annotated[str, AfterValidator(_printable)]


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LintWarningOut(BaseModel):
    code: str
    message: str

    @classmethod
    def from_warnings(cls, warnings: list[LintWarning]) -> list["LintWarningOut"]:
        return [cls(code=item.code, message=item.message) for item in warnings]


class AppCreate(RequestBody):
    bundle_id: str = Field(min_length=1, max_length=255, pattern=BUNDLE_ID_PATTERN)
    platform: str
    name: PlainText = Field(default="", max_length=200)

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, value: str) -> str:
        platform = value.strip().lower()
        if platform not in PLATFORMS:
            allowed = ", ".join(PLATFORMS)
            raise ValueError(f"platform {value!r} is not supported; use {allowed}")
        return platform


class AppOut(BaseModel):
    ref: str = Field(description="The app's reference: <platform>:<bundle_id>.")
    platform: str
    bundle_id: str
    name: str
    created_at: datetime

    @classmethod
    def from_row(cls, app: App) -> "AppOut":
        return cls(
            ref=app.ref,
            platform=app.platform,
            bundle_id=app.bundle_id,
            name=app.name,
            created_at=app.created_at,
        )


class IngestKeyCreated(BaseModel):
    id: str
    key: str = Field(description="The ingest key. It is shown only in this response.")
    app: str
    created_at: datetime


class IngestKeyOut(BaseModel):
    id: str
    app: str
    created_at: datetime
    revoked_at: datetime | None


class Policy(RequestBody):
    """Readiness policy of a domain; omitted values take the defaults."""

    adoption_threshold: float = Field(default=0.95, gt=0, le=1)
    window_days: int = Field(default=7, ge=1, le=90)
    min_installs: int = Field(default=100, ge=1, le=1_000_000_000)
    removal_max_share: float = Field(default=0.001, ge=0, le=1)
    removal_quiet_days: int = Field(default=7, ge=1, le=90)
    removal_min_checks: int = Field(default=1000, ge=1, le=1_000_000_000)


class DomainPut(RequestBody):
    include_subdomains: bool = False
    owner_team: PlainText = Field(default="", max_length=100)
    policy: Policy = Field(default_factory=Policy)


class PinOut(BaseModel):
    spki_sha256: str = Field(description="Canonical pin: padded standard base64.")
    display: str = Field(description="The pin as people write it: sha256/<base64>.")
    url_pin: str = Field(description="URL-safe base64, for the pin's path segment.")
    role: PinRole
    label: str
    certificate_sha256: str | None
    subject: str | None
    not_after: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def fields_of(cls, pin: DomainPin) -> dict[str, Any]:
        return {
            "spki_sha256": pin.spki_sha256,
            "display": display_pin(pin.spki_sha256),
            "url_pin": url_pin(pin.spki_sha256),
            "role": pin.role,
            "label": pin.label,
            "certificate_sha256": pin.certificate_sha256,
            "subject": pin.subject,
            "not_after": pin.not_after,
            "created_at": pin.created_at,
            "updated_at": pin.updated_at,
        }

    @classmethod
    def from_row(cls, pin: DomainPin) -> "PinOut":
        return cls(**cls.fields_of(pin))


class PinChangeOut(PinOut):
    warnings: list[LintWarningOut]

    @classmethod
    def from_change(cls, pin: DomainPin, warnings: list[LintWarning]) -> "PinChangeOut":
        return cls(
            **cls.fields_of(pin), warnings=LintWarningOut.from_warnings(warnings)
        )


class DomainOut(BaseModel):
    hostname: str
    include_subdomains: bool
    owner_team: str
    policy: Policy
    pins: list[PinOut]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, domain: Domain) -> "DomainOut":
        policy = {name: getattr(domain, name) for name in Policy.model_fields}
        return cls(
            hostname=domain.hostname,
            include_subdomains=domain.include_subdomains,
            owner_team=domain.owner_team,
            policy=Policy(**policy),
            pins=[PinOut.from_row(pin) for pin in domain.pins],
            created_at=domain.created_at,
            updated_at=domain.updated_at,
        )


class PinCreate(RequestBody):
    pin: str | None = Field(default=None, max_length=1000)
    certificate: str | None = Field(default=None, max_length=200_000)
    role: PinRole = "backup"
    label: PlainText = Field(default="", max_length=100)

    @model_validator(mode="after")
    def _exactly_one_source(self) -> "PinCreate":
        if (self.pin is None) == (self.certificate is None):
            raise ValueError("send exactly one of 'pin' and 'certificate'")
        return self


class PinPatch(RequestBody):
    role: PinRole | None = None
    label: PlainText | None = Field(default=None, max_length=100)


class ReleasePut(RequestBody):
    pins: dict[str, list[str]] = Field(
        description="Pin text per hostname; an empty list means the build does "
        "not pin that host."
    )
    pinset_expires: date | None = None
    report_uri: PlainText | None = Field(default=None, max_length=2000)

    @field_validator("report_uri")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("report_uri must be an http or https URL with a host")
        return value

    @field_validator("pins")
    @classmethod
    def _bounded(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if len(value) > 100:
            raise ValueError("a release may pin at most 100 hostnames")
        if any(len(pins) > 50 for pins in value.values()):
            raise ValueError("a pinset may contain at most 50 pins")
        return value


class PinsetOut(BaseModel):
    domain: str
    source: str = Field(
        description="declared (through the API) or learned (from telemetry)."
    )
    pins: list[str]
    expires: date | None
    enforced: bool

    @classmethod
    def from_row(cls, pinset: ReleasePinset, hostname: str) -> "PinsetOut":
        return cls(
            domain=hostname,
            source=pinset.source,
            pins=list(pinset.pins),
            expires=pinset.expires,
            enforced=pinset.enforced,
        )


class ReleaseOut(BaseModel):
    app: str
    version: str
    declared: bool
    pinset_expires: date | None
    report_uri: str | None
    pinsets: list[PinsetOut]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def fields_of(
        cls, release: Release, app: App, hostnames: Mapping[int, str]
    ) -> dict[str, Any]:
        pinsets = [
            PinsetOut.from_row(row, hostnames.get(row.domain_id, ""))
            for row in effective_pinsets(release)
        ]
        return {
            "app": app.ref,
            "version": release.version,
            "declared": release.declared,
            "pinset_expires": release.pinset_expires,
            "report_uri": release.report_uri,
            "pinsets": sorted(pinsets, key=lambda pinset: pinset.domain),
            "created_at": release.created_at,
            "updated_at": release.updated_at,
        }

    @classmethod
    def from_row(
        cls, release: Release, app: App, hostnames: Mapping[int, str]
    ) -> "ReleaseOut":
        return cls(**cls.fields_of(release, app, hostnames))


class ReleaseChangeOut(ReleaseOut):
    warnings: list[LintWarningOut]

    @classmethod
    def from_change(
        cls,
        release: Release,
        app: App,
        hostnames: Mapping[int, str],
        warnings: list[LintWarning],
    ) -> "ReleaseChangeOut":
        return cls(
            **cls.fields_of(release, app, hostnames),
            warnings=LintWarningOut.from_warnings(warnings),
        )


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]

    @classmethod
    def from_row(cls, entry: AuditEntry) -> "AuditEntryOut":
        return cls(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            details=entry.details,
        )
