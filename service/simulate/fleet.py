"""A fleet of app installs whose versions roll out over simulated days.

Pinwatch windows use receive time, and a simulation runs in seconds, so a
simulated day is not a span of time. It is one round in which a share of the
installs upgrades to the newest version and the installs active that day report
with the version they run now. An install's release on the server is the version
of its latest report, so adoption on the server trails the rollout until the
upgraded installs report again.
"""

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from service.simulate.trustkit import (
    ARABIC_INDIC_DIGITS,
    ASCII_DIGITS,
    DEVANAGARI_DIGITS,
)

Library = Literal["native", "trustkit"]


def seeded_random(seed: str, *purpose: object) -> random.Random:
    """Return a generator seeded by the run's seed and what it is used for.

    Each purpose gets its own stream, so that one more draw in one place does
    not shift every later choice. String seeds are hashed with SHA-512 by
    ``random``, which makes the streams the same on every run and platform.
    """
    name = ":".join(str(part) for part in (seed, *purpose))
    # Reproducible on purpose; the simulation protects no secret with it.
    return random.Random(name)  # noqa: S311


@dataclass(frozen=True)
class Version:
    """One app version: the day it ships and whether its pinset has the backup."""

    name: str
    released_on_day: int
    trusts_backup: bool


@dataclass(frozen=True)
class AppPlan:
    """One app (bundle id on one platform) and its versions, oldest first."""

    platform: str
    bundle_id: str
    versions: tuple[Version, ...]

    @property
    def ref(self) -> str:
        return f"{self.platform}:{self.bundle_id}"

    def newest_on(self, day: int) -> Version:
        shipped = [v for v in self.versions if v.released_on_day <= day]
        return shipped[-1] if shipped else self.versions[0]


@dataclass(frozen=True)
class FleetSettings:
    """Behaviour of the installs; shares and rates are probabilities in [0, 1]."""

    installs_per_app: int = 300
    # Share of the installs not on the newest version that upgrade on a day.
    upgrade_rate: float = 0.55
    # Installs with automatic updates off: they stay on their version.
    frozen_share: float = 0.02
    daily_active_rate: float = 0.9
    # Installs whose build pins with TrustKit: they report failures only.
    trustkit_share: float = 0.25
    # Chance that an install meets a TLS proxy or a captive portal on a day.
    interference_rate: float = 0.01
    # Chance that a native batch is sent again because its response was lost.
    resend_rate: float = 0.02
    max_sessions_per_day: int = 3


@dataclass
class Install:
    """One installation of an app, with the opaque id it reports."""

    app: AppPlan
    install_id: str
    library: Library
    version: Version
    auto_update: bool
    # Offset of the device clock from UTC, in minutes, and the digits of the
    # device locale: TrustKit on Android writes local time with a "Z" suffix.
    utc_offset_minutes: int = 0
    locale_digits: str = ASCII_DIGITS

    def upgrade_to(self, version: Version) -> bool:
        if not self.auto_update or self.version == version:
            return False
        self.version = version
        return True


@dataclass
class Fleet:
    """Every install of every app, in a stable order."""

    apps: tuple[AppPlan, ...]
    settings: FleetSettings
    seed: str
    installs: list[Install] = field(default_factory=list)

    def start_day(self, day: int) -> int:
        """Upgrade a share of the installs to the newest version; return how many."""
        rng = seeded_random(self.seed, "upgrade", day)
        upgraded = 0
        for install in self.installs:
            newest = install.app.newest_on(day)
            if rng.random() < self.settings.upgrade_rate and install.upgrade_to(newest):
                upgraded += 1
        return upgraded

    def active_on(self, day: int) -> list[Install]:
        """Return the installs that open the app on a day."""
        rng = seeded_random(self.seed, "active", day)
        rate = self.settings.daily_active_rate
        return [install for install in self.installs if rng.random() < rate]

    def backup_share(self, app: AppPlan) -> float:
        """Return the share of an app's installs whose version trusts the backup."""
        installs = [i for i in self.installs if i.app == app]
        if not installs:
            return 0.0
        trusting = sum(1 for install in installs if install.version.trusts_backup)
        return trusting / len(installs)


UTC_OFFSETS_MINUTES = (-480, -300, 0, 60, 120, 330, 540)
# Most devices write ASCII digits; some locales write their own.
LOCALE_DIGITS = (ASCII_DIGITS,) * 8 + (ARABIC_INDIC_DIGITS, DEVANAGARI_DIGITS)


def _install_id(rng: random.Random, platform: str) -> str:
    text = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    # identifierForVendor prints upper case on iOS.
    return text.upper() if platform == "ios" else text


def _new_install(app: AppPlan, settings: FleetSettings, rng: random.Random) -> Install:
    shipped = [v for v in app.versions if v.released_on_day <= 0] or [app.versions[0]]
    # Newer versions hold more installs: weights 1, 2, 3... oldest first.
    version = rng.choices(shipped, weights=range(1, len(shipped) + 1))[0]
    library: Library = (
        "trustkit" if rng.random() < settings.trustkit_share else "native"
    )
    return Install(
        app=app,
        install_id=_install_id(rng, app.platform),
        library=library,
        version=version,
        auto_update=rng.random() >= settings.frozen_share,
        utc_offset_minutes=rng.choice(UTC_OFFSETS_MINUTES),
        locale_digits=rng.choice(LOCALE_DIGITS),
    )


def build_fleet(apps: Iterable[AppPlan], settings: FleetSettings, seed: str) -> Fleet:
    """Create the installs of every app; the same seed gives the same fleet."""
    fleet = Fleet(apps=tuple(apps), settings=settings, seed=seed)
    rng = seeded_random(seed, "fleet")
    for app in fleet.apps:
        for _ in range(settings.installs_per_app):
            fleet.installs.append(_new_install(app, settings, rng))
    return fleet


def default_apps(bundle_id: str, backup_day: int = 2) -> tuple[AppPlan, ...]:
    """Return an iOS and an Android app whose backup-trusting builds ship on a day.

    Versions already installed before the run trust only the current key. The
    first new version adds the backup key, and a later fix release keeps it.
    """
    fix_day = backup_day + 2
    ios = AppPlan(
        "ios",
        bundle_id,
        (
            Version("5.3.0", 0, trusts_backup=False),
            Version("5.4.1", 0, trusts_backup=False),
            Version("5.5.0", backup_day, trusts_backup=True),
            Version("5.5.1", fix_day, trusts_backup=True),
        ),
    )
    android = AppPlan(
        "android",
        bundle_id,
        (
            Version("4.1.0", 0, trusts_backup=False),
            Version("4.2.3", 0, trusts_backup=False),
            Version("4.3.0", backup_day, trusts_backup=True),
            Version("4.3.1", fix_day, trusts_backup=True),
        ),
    )
    return ios, android
