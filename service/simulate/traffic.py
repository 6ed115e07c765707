"""Traffic of one install on one simulated day: native batches and TrustKit reports.

An install that pins with the native SDK summarises its successful checks in
``pin_check`` events and reports each failure as a ``pin_failure`` event.
An install that pins with TrustKit reports failures only, and sends the same
report again after every relaunch, because TrustKit keeps its record of sent
reports in memory.
"""

import base64
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from service.pins.pins import display_pin
from service.simulate.fleet import Fleet, Install, Version, seeded_random
from service.simulate.scenario import Chain, Scenario
from service.simulate.trustkit import android_report, ios_report

MAX_BATCH_EVENTS = 100
MAX_CHECKS_PER_SESSION = 40
# Share of the interferences that are TLS proxies; the others are captive portals.
INTERCEPTION_SHARE = 0.6


@dataclass(frozen=True)
class Failure:
    """One failed validation: the chain the install saw and why it failed."""

    chain: Chain
    result: str
    proxy: bool = False

    @property
    def validation_result(self) -> int:
        """Return TrustKit's code: 1 for a pin mismatch, 2 for an untrusted chain."""
        return 1 if self.result == "pin_mismatch" else 2


@dataclass(frozen=True)
class Report:
    """A TrustKit report body and how often the install sends it."""

    body: bytes
    copies: int
    chunked: bool


@dataclass
class InstallDay:
    """Everything one install sends on one day, in the order it sends it."""

    install: Install
    batches: list[dict[str, Any]] = field(default_factory=list)
    # True when the first batch is sent twice because its response was lost.
    resend_first: bool = False
    reports: list[Report] = field(default_factory=list)
    # True when the build rejects the key the backend serves: every connection
    # of the day fails.
    cut_off: bool = False

    @property
    def event_count(self) -> int:
        return sum(len(batch["events"]) for batch in self.batches)


def pinset(scenario: Scenario, version: Version) -> list[str]:
    """Return the pins a version's build trusts for the scenario's domain."""
    if version.trusts_backup:
        return [scenario.current_pin, scenario.backup_pin]
    return [scenario.current_pin]


def _build_number(version: str) -> str:
    return version.replace(".", "") + "0"


def _rfc3339(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _event_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class DayPlanner:
    """Turns the installs active on a day into the requests they send.

    Every random choice comes from one generator seeded with the seed and the
    day, taken in the fleet's order, so the same seed plans the same traffic.
    """

    def __init__(
        self, fleet: Fleet, scenario: Scenario, day: int, rotated: bool
    ) -> None:
        self.scenario = scenario
        self.settings = fleet.settings
        self.rng = seeded_random(fleet.seed, "traffic", day)
        self.served = scenario.served_chain(rotated)
        self.now = datetime.now(UTC)

    def plan(self, install: Install) -> InstallDay:
        sessions = self.rng.randint(1, self.settings.max_sessions_per_day)
        accepts = not set(self._pinset(install)).isdisjoint(self.served.pins())
        failures = self._failures(install, sessions, accepts)
        day = InstallDay(install, cut_off=not accepts)
        if install.library == "trustkit":
            day.reports = [self._report(install, f, sessions) for f in failures]
            return day

        checks = self._checks(install, sessions if accepts else 0)
        events = checks + [self._failure_event(install, f) for f in failures]
        day.batches = self._batches(install, events)
        day.resend_first = self.rng.random() < self.settings.resend_rate
        return day

    def _pinset(self, install: Install) -> list[str]:
        return pinset(self.scenario, install.version)

    def _failures(
        self, install: Install, sessions: int, accepts: bool
    ) -> list[Failure]:
        """Return the day's failures: the served key's, then any interference.

        A native build fails once per session when it does not trust the
        served key; a TLS proxy or a captive portal adds one failure now and
        then.
        """
        failures: list[Failure] = []
        if not accepts:
            # TrustKit builds one report and resends it on each launch.
            count = 1 if install.library == "trustkit" else sessions
            failures += [Failure(self.served, "pin_mismatch") for _ in range(count)]
        if self.rng.random() < self.settings.interference_rate:
            failures.append(self._interference())
        return failures

    def _interference(self) -> Failure:
        if self.rng.random() < INTERCEPTION_SHARE:
            return Failure(self.scenario.interception, "pin_mismatch", proxy=True)
        return Failure(self.scenario.captive_portal, "chain_untrusted")

    def _shuffled_pinset(self, install: Install) -> list[str]:
        # Libraries list pins in no particular order.
        pins = self._pinset(install)
        self.rng.shuffle(pins)
        return pins

    def _known_pins(self, install: Install) -> list[str]:
        pins = self._shuffled_pinset(install)
        if install.app.platform == "ios":
            return [display_pin(pin) for pin in pins]
        return pins

    def _checks(self, install: Install, sessions: int) -> list[dict[str, Any]]:
        """Return one check summary per session.

        iOS summaries name the matched pin, Android ones list the served keys.
        """
        served = self.served.pins()
        matched = next((p for p in self._pinset(install) if p in served), None)
        events = []
        for _ in range(sessions):
            event = self._event_head(install, "pin_check")
            event["count"] = self.rng.randint(1, MAX_CHECKS_PER_SESSION)
            if install.app.platform == "ios" and matched is not None:
                event["matched_pin"] = display_pin(matched)
            else:
                event["served_pins"] = served
            events.append(event)
        return events

    def _event_head(self, install: Install, kind: str) -> dict[str, Any]:
        return {
            "id": _event_id(self.rng),
            "type": kind,
            "time": _rfc3339(self.now),
            "hostname": self.scenario.hostname,
            "known_pins": self._known_pins(install),
        }

    def _failure_event(self, install: Install, failure: Failure) -> dict[str, Any]:
        event = self._event_head(install, "pin_failure")
        event.update(
            {
                "port": 443,
                "noted_hostname": self.scenario.hostname,
                "served_chain": self._chain_text(install, failure.chain),
                "enforced": True,
                "action": "blocked",
                "result": failure.result,
                "network": {
                    "type": "wifi" if failure.proxy else self._network_type(),
                    "proxy": failure.proxy,
                },
            }
        )
        return event

    def _network_type(self) -> str:
        return self.rng.choice(("wifi", "cellular"))

    def _chain_text(self, install: Install, chain: Chain) -> list[str]:
        """Write a chain as PEM on iOS and as base64 DER on Android."""
        if install.app.platform == "ios":
            return chain.pems()
        ders = [cert.public_bytes(Encoding.DER) for cert in chain.certificates]
        return [base64.b64encode(der).decode() for der in ders]

    def _batches(
        self, install: Install, events: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        app = install.app
        head = {
            "app": {
                "bundle_id": app.bundle_id,
                "platform": app.platform,
                "version": install.version.name,
                "build": _build_number(install.version.name),
            },
            "install_id": install.install_id,
            "sdk": f"pinwatch-simulator ({app.platform})",
        }
        return [
            head | {"events": events[start : start + MAX_BATCH_EVENTS]}
            for start in range(0, len(events), MAX_BATCH_EVENTS)
        ]

    def _report(self, install: Install, failure: Failure, sessions: int) -> Report:
        if install.app.platform == "android":
            body = self._android_report(install, failure)
            return Report(body, copies=sessions, chunked=True)
        body = ios_report(
            bundle_id=install.app.bundle_id,
            app_version=install.version.name,
            vendor_id=install.install_id,
            hostname=self.scenario.hostname,
            validated_chain=failure.chain.certificates,
            known_pins=self._shuffled_pinset(install),
            time=self.now,
            validation_result=failure.validation_result,
        )
        return Report(body, copies=sessions, chunked=False)

    def _android_report(self, install: Install, failure: Failure) -> bytes:
        certificates = failure.chain.certificates
        offset = timedelta(minutes=install.utc_offset_minutes)
        pins = self._shuffled_pinset(install)
        return android_report(
            bundle_id=install.app.bundle_id,
            app_version=install.version.name,
            vendor_id=install.install_id,
            hostname=self.scenario.hostname,
            served_chain=certificates,
            validated_chain=certificates,
            known_pins=pins,
            local_time=(self.now + offset).replace(tzinfo=None),
            digits=install.locale_digits,
            validation_result=failure.validation_result,
        )
