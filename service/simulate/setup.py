"""Registering what a simulation reports against: apps, domain, pins, releases."""

from typing import Any

from service.simulate.api import PinwatchApi, SimulationError
from service.simulate.fleet import Fleet
from service.simulate.scenario import Scenario
from service.simulate.traffic import pinset
from service.simulate.trustkit import hpkp_pem

OWNER_TEAM = "simulation"


def register_domain(
    api: PinwatchApi, scenario: Scenario, policy: dict[str, Any]
) -> None:
    """Register the domain unless it exists, then its current and backup pins.

    An existing domain keeps its policy, so that a simulation never resets
    thresholds a team has chosen.
    """
    if api.get_domain(scenario.hostname) is None:
        api.put_domain(scenario.hostname, OWNER_TEAM, policy)
    api.ensure_pin(
        scenario.hostname,
        scenario.current_pin,
        hpkp_pem(scenario.current_certificate),
        "current",
        "simulated issuing CA",
    )
    backup = scenario.backup_certificate
    api.ensure_pin(
        scenario.hostname,
        scenario.backup_pin,
        hpkp_pem(backup),
        "backup",
        backup.subject.rfc4514_string()[:100],
    )


def register_apps(api: PinwatchApi, fleet: Fleet, scenario: Scenario) -> None:
    """Register every app and declare the pinset of each of its versions."""
    for app in fleet.apps:
        api.ensure_app(app.platform, app.bundle_id, f"{app.bundle_id} (simulated)")
        for version in app.versions:
            pins = {scenario.hostname: pinset(scenario, version)}
            api.declare_release(app.ref, version.name, pins)


def check_domain(api: PinwatchApi, scenario: Scenario) -> None:
    """Raise SimulationError unless the domain has the scenario's pins and roles."""
    domain = api.get_domain(scenario.hostname)
    if domain is None:
        raise SimulationError(
            f"domain {scenario.hostname} is not registered; "
            "run again with --register to register it"
        )
    roles = {pin["spki_sha256"]: pin["role"] for pin in domain.get("pins", [])}
    expected = {scenario.current_pin: "current", scenario.backup_pin: "backup"}
    for pin, role in expected.items():
        if roles.get(pin) != role:
            raise SimulationError(
                f"domain {scenario.hostname} lacks the {role} pin sha256/{pin} "
                "of this seed; run again with --register to register it"
            )


def create_keys(api: PinwatchApi, fleet: Fleet) -> dict[str, str]:
    """Create one ingest key per app for this run.

    The server shows a key only once, so a run cannot reuse an earlier run's key.
    """
    return {app.ref: api.create_ingest_key(app.ref) for app in fleet.apps}
