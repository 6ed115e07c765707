"""Classification of pin failures into one cause each."""

from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509

CLASSIFICATIONS = (
    "rotation_casualty",
    "unpinned_public_key",
    "interception",
    "captive_portal",
    "clock_skew",
    "chain_invalid",
    "pin_misconfigured",
    "unknown",
)


@dataclass
class FailureFacts:
    """What is known about one failure when it is stored."""

    hostname: str
    received_at: datetime
    served_chain: list[x509.Certificate] = field(default_factory=list)
    served_pins: list[str] = field(default_factory=list)
    known_pins: list[str] = field(default_factory=list)
    # Pins registered for the failure's domain, with their role; empty when the
    # hostname matches no registered domain.
    registered: dict[str, str] = field(default_factory=dict)
    validation_result: int | None = None
    result: str | None = None
    device_time: datetime | None = None


def classify(facts: FailureFacts) -> str:
    """Return the one classification of a failure."""
    del facts
    return "unknown"
