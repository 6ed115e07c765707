"""Pydantic models of the native event format, which ignore unknown fields.

String caps match the columns the values are stored in. Free text must not
contain control characters, because PostgreSQL cannot store NUL in text.
"""

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from service.ingest.report_fields import normalise_hostname

MAX_PINS = 100
MAX_PIN_TEXT_LENGTH = 200
# A pin_check summarises the checks since the previous one. The cap keeps a
# hostile count, summed over many events, well inside a BIGINT column.
MAX_CHECK_COUNT = 1_000_000_000

_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})"
)


def _text(max_length: int, min_length: int = 0) -> StringConstraints:
    return StringConstraints(
        strip_whitespace=True,
        min_length=min_length,
        max_length=max_length,
        pattern=_PRINTABLE,
    )


def _hostname(value: str) -> str:
    hostname = normalise_hostname(value)
    if hostname is None:
        raise ValueError("is not a valid host name")
    return hostname


def _rfc3339(value: str) -> str:
    if not _RFC3339.fullmatch(value):
        raise ValueError("is not an RFC 3339 date-time such as 2026-05-01T12:00:00Z")
    return value


Hostname = Annotated[str, StringConstraints(max_length=300), AfterValidator(_hostname)]
PinText = Annotated[str, StringConstraints(max_length=MAX_PIN_TEXT_LENGTH)]
Version = Annotated[str, _text(64)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AppIn(_Model):
    bundle_id: Annotated[str, _text(255, min_length=1)] | None = None
    platform: Annotated[str, _text(16, min_length=1)] | None = None
    version: Version | None = None
    build: Annotated[str, _text(64)] | None = None


class Envelope(_Model):
    """The fields around ``events``, which are validated one by one."""

    app: AppIn | None = None
    # Accepted beside ``app`` for clients that omit the app object.
    version: Version | None = None
    install_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    sdk: Annotated[str, _text(200)] | None = None


class EventIn(_Model):
    id: Annotated[str, _text(64, min_length=1)]
    time: Annotated[str, AfterValidator(_rfc3339)] | None = None
    hostname: Hostname
    known_pins: list[PinText] = Field(default_factory=list, max_length=MAX_PINS)
    pinset_expires: date | None = None
    enforced: bool | None = None


class NetworkIn(_Model):
    type: Literal["wifi", "cellular", "other"] | None = None
    proxy: bool | None = None


class FailureIn(EventIn):
    type: Literal["pin_failure"]
    # 0 is what clients send when they do not know the port.
    port: int | None = Field(default=None, ge=0, le=65535)
    noted_hostname: Hostname | None = None
    # Each certificate's size and the chain length are checked against the
    # settings when the chain is read.
    served_chain: list[str] = Field(default_factory=list)
    action: Literal["blocked", "logged", "message", "redirect", "terminated"] | None = (
        None
    )
    result: Literal["pin_mismatch", "chain_untrusted", "hostname_mismatch", "other"] = (
        "other"
    )
    network: NetworkIn | None = None


class CheckIn(EventIn):
    type: Literal["pin_check"]
    served_pins: list[PinText] = Field(default_factory=list, max_length=MAX_PINS)
    matched_pin: PinText | None = None
    count: int = Field(default=1, ge=1, le=MAX_CHECK_COUNT)
