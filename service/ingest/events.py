"""The one shape every ingest format is parsed into before it is stored."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

Source = Literal["native", "trustkit", "hpkp"]
EventType = Literal["pin_failure", "pin_check"]


@dataclass(frozen=True)
class AppIdentity:
    """The app and build an event comes from, as the client reports it."""

    platform: str | None
    bundle_id: str | None
    version: str
    build: str | None = None


@dataclass
class IncomingEvent:
    """One validated event, in canonical form.

    Pins are canonical base64 (see ``service.pins.pins``), certificates DER
    bytes with the leaf first, hostnames lower case. ``device_time`` is only
    what the device claimed; every window uses the receive time instead.
    """

    source: Source
    type: EventType
    hostname: str
    event_id: str | None = None
    device_time_text: str | None = None
    device_time: datetime | None = None
    port: int | None = None
    noted_hostname: str | None = None
    include_subdomains: bool | None = None
    served_chain: list[bytes] = field(default_factory=list)
    served_pins: list[str] = field(default_factory=list)
    known_pins: list[str] = field(default_factory=list)
    pinset_expires: date | None = None
    enforced: bool | None = None
    action: str | None = None
    result: str | None = None
    validation_result: int | None = None
    network: dict[str, Any] = field(default_factory=dict)
    matched_pin: str | None = None
    count: int = 1


@dataclass(frozen=True)
class RejectedEvent:
    """An event of a batch that failed validation; the others go on."""

    index: int
    code: str
    message: str


@dataclass
class NativeBatch:
    """A parsed ``POST /v1/events`` body."""

    app: AppIdentity | None
    install_id: str
    sdk: str | None
    events: list[tuple[int, IncomingEvent]]
    rejected: list[RejectedEvent]


@dataclass
class ParsedReport:
    """A TrustKit or HPKP report, recognised and converted to one failure."""

    app: AppIdentity | None
    install_id: str | None
    sdk: str | None
    event: IncomingEvent


@dataclass(frozen=True)
class UnrecognisedReport:
    """A JSON body that matched no known report format; it goes to quarantine."""

    reason: str
