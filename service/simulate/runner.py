"""Driving a fleet against a server, one simulated day at a time."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from service.simulate.api import PinwatchApi
from service.simulate.fleet import FleetSettings, build_fleet, default_apps
from service.simulate.scenario import build_scenario
from service.simulate.setup import (
    check_domain,
    create_keys,
    register_apps,
    register_domain,
)
from service.simulate.traffic import DayPlanner, InstallDay


@dataclass(frozen=True)
class SimulationConfig:
    hostname: str
    seed: str = "1"
    days: int = 7
    # First day on which the backend serves the backup key, or None for never.
    rotate_at_day: int | None = None
    register: bool = False
    bundle_id: str = "com.example.bank"
    # The day the first builds that trust the backup key ship.
    backup_day: int = 2
    # Policy of a domain the simulation registers; omitted values take defaults.
    policy: dict[str, Any] = field(default_factory=dict)
    # Installs whose requests run side by side; 1 sends them one after another.
    workers: int = 1


@dataclass
class Delivery:
    """Counts of the requests of one or more installs and of the server's responses."""

    events_sent: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    reports_sent: int = 0
    relaunch_copies: int = 0
    # Failures sent, counting each report once however many copies went out.
    failures: int = 0
    # Installs whose build rejects the served key, after a rotation.
    cut_off_installs: int = 0

    def add(self, other: "Delivery") -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class DaySummary:
    """One simulated day: what was sent and the backup key's adoption after it."""

    day: int
    rotated: bool
    active_installs: int
    upgraded: int
    delivery: Delivery
    # Adoption of the backup key per app, as the readiness endpoint reports it.
    adoption: dict[str, float]
    ready: bool
    readiness: dict[str, Any]

    def line(self) -> str:
        """Return the day as one line of text for the command output."""
        sent = self.delivery
        rotated = " (backend serves the backup key)" if self.rotated else ""
        cut_off = f" ({sent.cut_off_installs} cut off)" if self.rotated else ""
        apps = ", ".join(
            f"{ref} {share * 100:.1f} %" for ref, share in sorted(self.adoption.items())
        )
        state = "ready" if self.ready else "not ready"
        return (
            f"day {self.day}{rotated}: {_count(self.active_installs, 'install')} "
            f"active, {self.upgraded} upgraded; "
            f"{_count(sent.events_sent, 'event')} sent, {sent.accepted} accepted, "
            f"{_count(sent.duplicates, 'duplicate')}, {sent.rejected} rejected; "
            f"{_count(sent.reports_sent, 'report')} "
            f"({_count(sent.relaunch_copies, 'relaunch copy', 'relaunch copies')}); "
            f"{_count(sent.failures, 'failure')}{cut_off}; "
            f"backup adoption {apps or 'unknown'} ({state})"
        )


def _count(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


class Simulation:
    """A fleet of installs of an iOS and an Android app reporting to one server.

    ``http`` is any ``httpx.Client`` whose base URL is the server, including
    the test client of the ASGI app.
    """

    def __init__(
        self,
        http: httpx.Client,
        token: str,
        config: SimulationConfig,
        settings: FleetSettings | None = None,
    ) -> None:
        self.api = PinwatchApi(http, token)
        self.config = config
        self.scenario = build_scenario(config.hostname, config.seed)
        apps = default_apps(config.bundle_id, config.backup_day)
        self.fleet = build_fleet(apps, settings or FleetSettings(), config.seed)
        self.keys: dict[str, str] = {}

    def prepare(self) -> None:
        """Register or check the apps, domain, pins and releases; create keys.

        Without ``register`` the domain must already have the scenario's pins.
        """
        if self.config.register:
            register_domain(self.api, self.scenario, self.config.policy)
            register_apps(self.api, self.fleet, self.scenario)
        else:
            check_domain(self.api, self.scenario)
        self.keys = create_keys(self.api, self.fleet)

    def rotated_on(self, day: int) -> bool:
        rotate_at = self.config.rotate_at_day
        return rotate_at is not None and day >= rotate_at

    def run(
        self, on_day: Callable[[DaySummary], None] | None = None
    ) -> list[DaySummary]:
        """Prepare, then run every configured day; ``on_day`` gets each summary."""
        self.prepare()
        summaries = []
        for day in range(1, self.config.days + 1):
            summary = self.run_day(day, self.rotated_on(day))
            if on_day is not None:
                on_day(summary)
            summaries.append(summary)
        return summaries

    def run_day(self, day: int, rotated: bool) -> DaySummary:
        """Upgrade part of the fleet, send the day's traffic, then read readiness."""
        upgraded = self.fleet.start_day(day)
        planner = DayPlanner(self.fleet, self.scenario, day, rotated)
        plans = [planner.plan(install) for install in self.fleet.active_on(day)]
        delivery = self._deliver_all(plans)
        readiness = self.api.readiness(self.scenario.hostname)
        adoption, ready = self._backup_adoption(readiness)
        return DaySummary(
            day, rotated, len(plans), upgraded, delivery, adoption, ready, readiness
        )

    def _deliver_all(self, plans: list[InstallDay]) -> Delivery:
        if self.config.workers <= 1:
            results = [self._deliver(plan) for plan in plans]
        else:
            with ThreadPoolExecutor(max_workers=self.config.workers) as pool:
                results = list(pool.map(self._deliver, plans))
        total = Delivery()
        for result in results:
            total.add(result)
        return total

    def _deliver(self, plan: InstallDay) -> Delivery:
        """Send one install's batches, then its reports with their relaunch copies."""
        delivery = Delivery(cut_off_installs=int(plan.cut_off))
        key = self.keys[plan.install.app.ref]
        self._send_batches(plan, key, delivery)
        for report in plan.reports:
            for _ in range(report.copies):
                self.api.send_report(key, report.body, report.chunked)
            delivery.reports_sent += report.copies
            delivery.relaunch_copies += report.copies - 1
            delivery.failures += 1
        return delivery

    def _send_batches(self, plan: InstallDay, key: str, delivery: Delivery) -> None:
        # The Android SDK compresses its batches; the iOS one sends plain JSON.
        compress = plan.install.app.platform == "android"
        for index, batch in enumerate(plan.batches):
            events = batch["events"]
            delivery.failures += sum(1 for e in events if e["type"] == "pin_failure")
            sends = 2 if index == 0 and plan.resend_first else 1
            for _ in range(sends):
                response = self.api.send_events(key, batch, compress)
                delivery.events_sent += len(events)
                delivery.accepted += response.accepted
                delivery.duplicates += response.duplicates
                delivery.rejected += response.rejected

    def _backup_adoption(
        self, readiness: dict[str, Any]
    ) -> tuple[dict[str, float], bool]:
        for item in readiness.get("rotate", []):
            if item["spki_sha256"] == self.scenario.backup_pin:
                adoption = {app["app"]: app["adoption"] for app in item["apps"]}
                return adoption, bool(item["ready"])
        return {}, False
