"""Times and dates written by a device: kept as text, parsed when possible.

TrustKit for Android formats ``date-time`` with the locale's digits (for
example Arabic-Indic or Devanagari) and appends a ``Z`` to what is in fact the
device's local time. Nothing here corrects that offset: a parsed time is only
what the device claimed, and every window uses the receive time instead.
"""

import unicodedata
from datetime import UTC, date, datetime


def ascii_digits(text: str) -> str:
    """Replace each digit of any script with the ASCII digit of the same value."""
    return "".join(_ascii_digit(character) for character in text)


def _ascii_digit(character: str) -> str:
    if character.isascii():
        return character
    value = unicodedata.digit(character, None)
    return character if value is None else str(value)


def parse_device_time(text: str) -> datetime | None:
    """Read an ISO 8601 date-time as UTC, or return None when it is not one.

    A time without an offset is taken as UTC.
    """
    try:
        parsed = datetime.fromisoformat(ascii_digits(text.strip()))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        # OverflowError: an offset that moves a time past year 1 or 9999.
        return None


def parse_date_part(text: str) -> date | None:
    """Read the date of an ISO 8601 date or date-time, or return None."""
    try:
        return date.fromisoformat(ascii_digits(text.strip())[:10])
    except ValueError:
        return None
