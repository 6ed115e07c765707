"""TrustKit's additions to the RFC 7469 report: the app, the install and the SDK.

TrustKit for iOS and for Android send the RFC 7469 keys plus ``app-*`` and
``trustkit-*`` keys, and those keys distinguish their reports from HPKP ones.
"""

import re

from service.ingest.events import AppIdentity
from service.ingest.report_fields import (
    Report,
    read_string,
    string_or_none,
)

APP_KEYS = frozenset(
    {
        "app-bundle-id",
        "app-version",
        "app-platform",
        "app-platform-version",
        "app-vendor-id",
        "trustkit-version",
    }
)

# Limits of the columns these values are stored in.
MAX_BUNDLE_ID_LENGTH = 255
MAX_VERSION_LENGTH = 64
MAX_INSTALL_ID_LENGTH = 128

# TrustKit writes IOS, TVOS, WATCHOS, MACOS or ANDROID.
_PLATFORM = re.compile(r"[A-Za-z]{1,16}")


def is_trustkit(body: Report) -> bool:
    return not APP_KEYS.isdisjoint(body)


def read_platform(body: Report) -> str | None:
    """Return the platform in lower case (``ios``, ``android``), or None."""
    value = body.get("app-platform")
    if not isinstance(value, str) or not _PLATFORM.fullmatch(value):
        return None
    return value.lower()


def read_app(body: Report) -> AppIdentity | None:
    """Return the app and version a TrustKit report names.

    None when the report carries no ``app-version``. Raises
    ``ReportFormatError`` when the bundle id or version is not a string or is
    too long to store.
    """
    bundle_id = read_string(body, "app-bundle-id", MAX_BUNDLE_ID_LENGTH)
    version = read_string(body, "app-version", MAX_VERSION_LENGTH)
    if version is None:
        return None
    return AppIdentity(read_platform(body), bundle_id, version)


def read_install_id(body: Report) -> str | None:
    """Return ``app-vendor-id``, the per-vendor install id TrustKit sends."""
    return string_or_none(body, "app-vendor-id", MAX_INSTALL_ID_LENGTH)


def read_sdk(body: Report) -> str:
    """Return the SDK name and version, for example ``trustkit-ios 3.0.3``."""
    platform = read_platform(body)
    name = f"trustkit-{platform}" if platform else "trustkit"
    version = string_or_none(body, "trustkit-version", MAX_VERSION_LENGTH)
    return f"{name} {version}" if version else name
