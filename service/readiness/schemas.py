"""Request and response bodies of the readiness and preflight endpoints."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Status of one release's build for a candidate key.
VersionStatus = Literal["covered", "unenforced", "lacks_pin", "unknown_pinset"]


class ReadinessPolicy(BaseModel):
    """The domain's thresholds that readiness is measured against."""

    model_config = ConfigDict(from_attributes=True)

    adoption_threshold: float = Field(
        description="Minimum share of active installs that must accept a backup key."
    )
    window_days: int = Field(
        description="An install is active when it sent an event in this many days."
    )
    min_installs: int = Field(
        description="Minimum active installs per app before its adoption counts."
    )
    removal_max_share: float = Field(
        description="Maximum share of checks that may still be served an old key."
    )
    removal_quiet_days: int = Field(
        description="Days of served-key telemetry that removal readiness looks at."
    )
    removal_min_checks: int = Field(
        description="Minimum checks in the quiet period before a key can be removed."
    )


class VersionShare(BaseModel):
    """Active installs of one app version, with the status of its build for the key."""

    version: str
    installs: int
    share: float = Field(description="installs / active installs of the app")
    status: VersionStatus = Field(
        description=(
            "covered: the pinset contains the key; unenforced: accepted only "
            "because the pinset expired or enforcement is off; lacks_pin: the "
            "build rejects the key; unknown_pinset: no pinset is known for the "
            "domain, so the build counts as rejecting"
        )
    )


class AppAcceptance(BaseModel):
    """Acceptance of a key (or candidate chain) by the active installs of one app."""

    app: str = Field(description="App reference, such as ios:com.example.bank")
    active_installs: int
    accepting: int = Field(description="covered_by_pin + unenforced")
    covered_by_pin: int = Field(description="Installs whose pinset contains the key")
    unenforced: int = Field(
        description="Installs that accept only because pinning is not enforced; "
        "they are unprotected"
    )
    adoption: float = Field(description="accepting / active_installs (0 when none)")
    ready: bool = Field(
        description="adoption >= adoption_threshold and active_installs >= min_installs"
    )
    blocking_versions: list[VersionShare] = Field(
        description="Versions whose build rejects the key, largest first"
    )
    versions: list[VersionShare] = Field(
        description="Every version with active installs, largest first"
    )


class RotateReadiness(BaseModel):
    """Whether the backend can switch to one backup key."""

    spki_sha256: str
    label: str
    ready: bool = Field(description="True when every app that uses the domain is")
    adoption: float = Field(
        description="The lowest adoption over the apps that use the domain"
    )
    apps: list[AppAcceptance]
    reasons: list[str]


class RemovalReadiness(BaseModel):
    """Whether a current or retired pin can leave the next release."""

    spki_sha256: str
    label: str
    role: str
    served_share: float = Field(
        description="Share of checks in the quiet period whose served chain "
        "contained the key (0 when there were no checks)"
    )
    checks: int = Field(description="All checks for the domain in the quiet period")
    last_served_at: datetime | None = Field(
        description="When a check last saw the key served, over all time"
    )
    removable: bool
    reasons: list[str]


class ReadinessReport(BaseModel):
    """Rotate and removal readiness of one domain."""

    domain: str
    computed_at: datetime
    policy: ReadinessPolicy
    active_installs: dict[str, int] = Field(
        description="Active installs per app that uses the domain"
    )
    rotate: list[RotateReadiness] = Field(description="One item per backup pin")
    remove: list[RemovalReadiness] = Field(
        description="One item per pin that is not a backup"
    )
    warnings: list[str]


class PreflightRequest(BaseModel):
    """A candidate certificate chain or a set of pins. Send exactly one of them."""

    chain: list[str] | None = Field(
        default=None, description="PEM certificates (or base64 DER), leaf first"
    )
    pins: list[str] | None = Field(
        default=None, max_length=100, description="Pins in any accepted text form"
    )


class PreflightReport(BaseModel):
    """Share of active installs that would accept a candidate chain or pins."""

    domain: str
    computed_at: datetime
    pins: list[str] = Field(description="Candidate pins, canonical base64")
    accepting_share: float = Field(
        description="Accepting installs over the active installs of every app"
    )
    apps: list[AppAcceptance]
    reasons: list[str]
    warnings: list[str]
