"""The sender of a request's events, as stored beside every event."""

from dataclasses import dataclass
from datetime import datetime

from service.ingest.events import IncomingEvent
from service.registry.models import Domain

# The domain label of hostnames that match no registered domain, so that
# client-sent hostnames never become label values or signatures of their own.
UNREGISTERED = "unregistered"


def domain_label(domain: Domain | None) -> str:
    return domain.hostname if domain else UNREGISTERED


@dataclass(frozen=True)
class Submission:
    """A request's events with the app install that sent them.

    ``received_at`` is the server clock when the request arrived. Every hour
    bucket and time window uses it, never the device time.
    """

    app_id: int
    version: str
    install_id: str
    sdk: str | None
    received_at: datetime
    events: list[IncomingEvent]


@dataclass(frozen=True)
class Origin:
    """The stored ids that a request's events are counted under."""

    app_id: int
    release_id: int
    install_hash: bytes
    sdk: str | None
    received_at: datetime

    @property
    def hour(self) -> datetime:
        return self.received_at.replace(minute=0, second=0, microsecond=0)


def storable_text(text: str | None, max_length: int) -> str | None:
    """Return text without NUL characters, cut to its column's length.

    PostgreSQL cannot store NUL in text, and report fields are free text.
    """
    if text is None:
        return None
    return text.replace("\x00", "")[:max_length]
