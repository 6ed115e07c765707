"""Typed reads of single fields from a decoded report body.

A field that a report cannot be stored without raises ``ReportFormatError``.
The other fields read as ``None`` when they are missing, null, of the wrong
type or too long, because clients never resend a report.
"""

import re
from functools import lru_cache
from typing import Any

Report = dict[str, Any]

MAX_HOSTNAME_LENGTH = 253
_HOSTNAME = re.compile(r"(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\])")


class ReportFormatError(ValueError):
    """A body that is not a readable report. The message names the problem."""


def read_string(body: Report, key: str, max_length: int) -> str | None:
    """Return a string field, or None when it is missing or null.

    Raises ``ReportFormatError`` when the value is not a string or is longer
    than ``max_length`` characters.
    """
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ReportFormatError(f"{key} is not a string")
    if len(value) > max_length:
        raise ReportFormatError(f"{key} is longer than {max_length} characters")
    return value


def string_or_none(body: Report, key: str, max_length: int) -> str | None:
    """Return a non-empty string field of at most ``max_length`` characters."""
    value = body.get(key)
    if not isinstance(value, str) or not value or len(value) > max_length:
        return None
    return value


def bool_or_none(body: Report, key: str) -> bool | None:
    value = body.get(key)
    return value if isinstance(value, bool) else None


def int_or_none(body: Report, key: str, minimum: int, maximum: int) -> int | None:
    """Return an integer field within bounds; JSON booleans do not count."""
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if minimum <= value <= maximum else None


def read_list(body: Report, key: str) -> list[Any]:
    """Return an array field; a missing or null array reads as empty.

    Raises ``ReportFormatError`` when the value is neither an array nor null.
    """
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ReportFormatError(f"{key} is not a list")
    return value


# Longer texts are never cached, so the cache stays below 2 MB.
MAX_CACHED_HOSTNAME_TEXT = 300


def normalise_hostname(text: str) -> str | None:
    """Return a host name in lower case without a trailing dot, or None if invalid."""
    if len(text) > MAX_CACHED_HOSTNAME_TEXT:
        return _normalised(text)
    return _cached(text)


def _normalised(text: str) -> str | None:
    hostname = text.strip().lower().rstrip(".")
    if not hostname or len(hostname) > MAX_HOSTNAME_LENGTH:
        return None
    return hostname if _HOSTNAME.fullmatch(hostname) else None


# An app reports the same few hosts again and again.
_cached = lru_cache(maxsize=4096)(_normalised)


def read_hostname(body: Report) -> str:
    """Return the report's hostname, normalised; raise if it has no usable one."""
    value = body.get("hostname")
    if value is None:
        raise ReportFormatError("the report has no hostname")
    if not isinstance(value, str):
        raise ReportFormatError("hostname is not a string")
    hostname = normalise_hostname(value)
    if hostname is None:
        raise ReportFormatError("hostname is not a valid host name")
    return hostname
