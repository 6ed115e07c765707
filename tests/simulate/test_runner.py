"""A short simulation against the app, through the test client."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.ingest.models import FailureSignature, Install, SignatureInstall
from service.pins.pins import url_pin
from service.simulate.api import SimulationError
from service.simulate.fleet import FleetSettings
from service.simulate.runner import (
    DaySummary,
    Delivery,
    Simulation,
    SimulationConfig,
)

HOSTNAME = "api.example.com"


def make_simulation(
    client: TestClient,
    token: str,
    installs: int = 60,
    fleet: dict[str, Any] | None = None,
    **config: Any,
) -> Simulation:
    values: dict[str, Any] = {
        "hostname": HOSTNAME,
        "seed": "e2e",
        "register": True,
        "policy": {"min_installs": 20},
    }
    values.update(config)
    settings = FleetSettings(installs_per_app=installs, **(fleet or {}))
    return Simulation(client, token, SimulationConfig(**values), settings)


def test_backup_pin_turns_ready_as_builds_roll_out(
    client: TestClient, admin_token: str
) -> None:
    fleet = {"upgrade_rate": 0.7, "frozen_share": 0.0}
    simulation = make_simulation(
        client, admin_token, installs=40, fleet=fleet, days=7, backup_day=2
    )

    summaries = simulation.run()

    first_builds = summaries[1]
    last = summaries[-1]
    assert first_builds.ready is False
    assert 0.0 < min(first_builds.adoption.values()) < 0.95
    assert last.ready is True
    assert min(last.adoption.values()) >= 0.95
    assert set(last.adoption) == {"ios:com.example.bank", "android:com.example.bank"}


def test_adoption_is_zero_before_backup_builds_ship(
    client: TestClient, admin_token: str
) -> None:
    simulation = make_simulation(client, admin_token, backup_day=3)
    simulation.prepare()

    summary = simulation.run_day(1, rotated=False)

    assert summary.adoption == {
        "android:com.example.bank": 0.0,
        "ios:com.example.bank": 0.0,
    }
    assert summary.ready is False
    assert summary.delivery.rejected == 0
    assert summary.delivery.accepted > 0


def test_too_few_installs_is_not_ready(client: TestClient, admin_token: str) -> None:
    fleet = {"upgrade_rate": 1.0, "frozen_share": 0.0, "trustkit_share": 0.0}
    simulation = make_simulation(
        client, admin_token, installs=10, fleet=fleet, policy={}, backup_day=1
    )
    simulation.prepare()

    summary = simulation.run_day(1, rotated=False)

    assert min(summary.adoption.values()) == 1.0
    assert summary.ready is False
    assert summary.readiness["policy"]["min_installs"] == 100


def test_resent_batches_count_as_duplicates(
    client: TestClient, admin_token: str
) -> None:
    fleet = {"resend_rate": 1.0, "trustkit_share": 0.0}
    simulation = make_simulation(client, admin_token, installs=20, fleet=fleet)
    simulation.prepare()

    delivery = simulation.run_day(1, rotated=False).delivery

    assert delivery.duplicates > 0
    assert delivery.accepted + delivery.duplicates == delivery.events_sent


def test_rerun_with_same_seed_sends_only_duplicates(
    client: TestClient, admin_token: str
) -> None:
    first = make_simulation(client, admin_token, installs=20)
    first.prepare()
    first.run_day(1, rotated=False)
    again = make_simulation(client, admin_token, installs=20)
    again.prepare()

    delivery = again.run_day(1, rotated=False).delivery

    assert delivery.accepted == 0
    assert delivery.duplicates == delivery.events_sent


def test_relaunch_copies_count_as_occurrences_not_installs(
    client: TestClient, admin_token: str, db: Session
) -> None:
    fleet = {"trustkit_share": 1.0, "interference_rate": 0.0, "frozen_share": 0.0}
    simulation = make_simulation(client, admin_token, installs=30, fleet=fleet)
    simulation.prepare()

    summary = simulation.run_day(1, rotated=True)

    delivery = summary.delivery
    occurrences = db.scalar(select(func.sum(FailureSignature.occurrences)))
    signature_installs = db.scalar(select(func.count()).select_from(SignatureInstall))
    installs = db.scalar(select(func.count()).select_from(Install))
    assert delivery.relaunch_copies > 0
    assert delivery.cut_off_installs > 0
    assert occurrences == delivery.reports_sent
    assert signature_installs == delivery.cut_off_installs
    assert installs == delivery.cut_off_installs
    assert sum(summary.readiness["active_installs"].values()) == installs


def test_rotation_cuts_off_old_builds_only(
    client: TestClient, admin_token: str
) -> None:
    fleet = {"interference_rate": 0.0}
    simulation = make_simulation(
        client,
        admin_token,
        installs=30,
        fleet=fleet,
        days=3,
        rotate_at_day=3,
        backup_day=1,
    )

    summaries = simulation.run()

    assert [s.rotated for s in summaries] == [False, False, True]
    assert summaries[1].delivery.failures == 0
    assert summaries[2].delivery.cut_off_installs > 0
    assert summaries[2].delivery.failures >= summaries[2].delivery.cut_off_installs


def test_registration_is_idempotent(client: TestClient, admin_token: str) -> None:
    make_simulation(client, admin_token).prepare()
    simulation = make_simulation(client, admin_token)

    simulation.prepare()

    headers = {"Authorization": f"Bearer {admin_token}"}
    domain = client.get(f"/v1/domains/{HOSTNAME}", headers=headers).json()
    roles = {pin["spki_sha256"]: pin["role"] for pin in domain["pins"]}
    assert roles == {
        simulation.scenario.current_pin: "current",
        simulation.scenario.backup_pin: "backup",
    }


def test_unregistered_domain_stops_the_simulation(
    client: TestClient, admin_token: str
) -> None:
    simulation = make_simulation(client, admin_token, register=False)

    with pytest.raises(SimulationError, match="--register"):
        simulation.prepare()


def test_retired_backup_pin_stops_the_simulation(
    client: TestClient, admin_token: str
) -> None:
    make_simulation(client, admin_token).prepare()
    simulation = make_simulation(client, admin_token, register=False)
    backup = url_pin(simulation.scenario.backup_pin)
    headers = {"Authorization": f"Bearer {admin_token}"}
    path = f"/v1/domains/{HOSTNAME}/pins/{backup}"
    client.patch(path, json={"role": "retired"}, headers=headers)

    with pytest.raises(SimulationError, match="lacks the backup pin"):
        simulation.prepare()


def test_day_line_counts_and_adoption() -> None:
    delivery = Delivery(
        events_sent=12,
        accepted=10,
        duplicates=1,
        reports_sent=3,
        relaunch_copies=1,
        failures=1,
        cut_off_installs=2,
    )
    adoption = {"ios:com.example.bank": 0.5, "android:com.example.bank": 0.961}
    summary = DaySummary(3, True, 40, 7, delivery, adoption, False, {})

    line = summary.line()

    assert line == (
        "day 3 (backend serves the backup key): 40 installs active, 7 upgraded; "
        "12 events sent, 10 accepted, 1 duplicate, 0 rejected; 3 reports "
        "(1 relaunch copy); 1 failure (2 cut off); backup adoption "
        "android:com.example.bank 96.1 %, ios:com.example.bank 50.0 % (not ready)"
    )
