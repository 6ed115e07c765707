"""Simulated traffic passes the same validation as the ingest endpoints apply."""

import json

import pytest

from service.core.settings import Settings
from service.ingest.events import ParsedReport
from service.ingest.native import parse_native
from service.ingest.reports import parse_report
from service.simulate.fleet import FleetSettings, build_fleet, default_apps
from service.simulate.scenario import build_scenario
from service.simulate.traffic import DayPlanner, InstallDay

SETTINGS = Settings(env="development")
SCENARIO = build_scenario("api.example.com", "5")


def plan_fleet(rotated: bool) -> list[InstallDay]:
    settings = FleetSettings(installs_per_app=60, interference_rate=0.3)
    fleet = build_fleet(default_apps("com.example.bank"), settings, "5")
    for day in range(1, 4):
        fleet.start_day(day)
    planner = DayPlanner(fleet, SCENARIO, 3, rotated)
    return [planner.plan(install) for install in fleet.installs]


@pytest.mark.parametrize("rotated", [False, True])
def test_native_batches_pass_ingest_validation(rotated: bool) -> None:
    days = plan_fleet(rotated)

    batches = [batch for day in days for batch in day.batches]
    parsed = [parse_native(batch, SETTINGS) for batch in batches]

    assert len(batches) > 50
    assert [p.rejected for p in parsed] == [[] for _ in parsed]
    assert [len(p.events) for p in parsed] == [len(b["events"]) for b in batches]


@pytest.mark.parametrize("rotated", [False, True])
def test_trustkit_reports_parse_as_trustkit(rotated: bool) -> None:
    days = plan_fleet(rotated)

    reports = [report for day in days for report in day.reports]
    parsed = [parse_report(json.loads(r.body), SETTINGS) for r in reports]

    assert len(reports) > 3
    assert all(isinstance(p, ParsedReport) for p in parsed)
    assert {p.event.source for p in parsed if isinstance(p, ParsedReport)} == {
        "trustkit"
    }


def test_rotation_reports_name_the_served_backup_key() -> None:
    days = plan_fleet(rotated=True)

    # The rotation's report comes first; an interference may follow it.
    cut_off = [day.reports[0] for day in days if day.cut_off and day.reports]
    parsed = [parse_report(json.loads(r.body), SETTINGS) for r in cut_off]

    assert cut_off
    for report in parsed:
        assert isinstance(report, ParsedReport)
        assert report.event.result == "pin_mismatch"
        assert SCENARIO.backup_pin in report.event.served_pins
