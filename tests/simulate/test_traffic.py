import base64
import json
from dataclasses import replace

from service.pins.pins import normalize_pin
from service.simulate.fleet import (
    Fleet,
    FleetSettings,
    Install,
    Library,
    build_fleet,
    default_apps,
)
from service.simulate.scenario import Scenario, build_scenario
from service.simulate.traffic import MAX_BATCH_EVENTS, DayPlanner, InstallDay

SCENARIO = build_scenario("api.example.com", "3")


def make_fleet(seed: str = "3", **overrides: float) -> Fleet:
    values: dict[str, float] = {"interference_rate": 0.0, "resend_rate": 0.0}
    values.update(overrides)
    settings = FleetSettings(installs_per_app=20, **values)  # type: ignore[arg-type]
    return build_fleet(default_apps("com.example.bank"), settings, seed)


def make_install(
    fleet: Fleet, platform: str, library: Library, trusts_backup: bool
) -> Install:
    app = next(app for app in fleet.apps if app.platform == platform)
    version = next(v for v in app.versions if v.trusts_backup == trusts_backup)
    install = next(i for i in fleet.installs if i.app == app)
    return replace(install, library=library, version=version)


def plan(
    install: Install,
    fleet: Fleet,
    rotated: bool = False,
    scenario: Scenario = SCENARIO,
    day: int = 1,
) -> InstallDay:
    return DayPlanner(fleet, scenario, day, rotated).plan(install)


def events_of(day: InstallDay) -> list[dict[str, object]]:
    return [event for batch in day.batches for event in batch["events"]]


def test_native_install_sends_checks_per_session() -> None:
    fleet = make_fleet(max_sessions_per_day=3)
    install = make_install(fleet, "android", "native", trusts_backup=False)

    day = plan(install, fleet)

    events = events_of(day)
    assert 1 <= len(events) <= 3
    assert {event["type"] for event in events} == {"pin_check"}
    assert all(event["served_pins"] == SCENARIO.current.pins() for event in events)
    assert day.reports == []
    assert day.cut_off is False


def test_ios_checks_name_the_matched_pin() -> None:
    fleet = make_fleet()
    install = make_install(fleet, "ios", "native", trusts_backup=True)

    events = events_of(plan(install, fleet, rotated=True))

    matched = {normalize_pin(str(event["matched_pin"])) for event in events}
    assert matched == {SCENARIO.backup_pin}


def test_checks_carry_the_builds_pinset() -> None:
    fleet = make_fleet()
    install = make_install(fleet, "android", "native", trusts_backup=True)

    events = events_of(plan(install, fleet))

    known = {frozenset(event["known_pins"]) for event in events}  # type: ignore[arg-type]
    assert known == {frozenset({SCENARIO.current_pin, SCENARIO.backup_pin})}


def test_batch_names_app_version_and_install() -> None:
    fleet = make_fleet()
    install = make_install(fleet, "ios", "native", trusts_backup=True)

    batch = plan(install, fleet).batches[0]

    assert batch["app"]["platform"] == "ios"
    assert batch["app"]["version"] == install.version.name
    assert batch["install_id"] == install.install_id


def test_old_build_fails_every_session_after_rotation() -> None:
    fleet = make_fleet()
    install = make_install(fleet, "ios", "native", trusts_backup=False)

    day = plan(install, fleet, rotated=True)

    events = events_of(day)
    assert {event["type"] for event in events} == {"pin_failure"}
    assert {event["result"] for event in events} == {"pin_mismatch"}
    assert events[0]["served_chain"] == SCENARIO.rotated.pems()
    assert day.cut_off is True


def test_android_failures_carry_base64_der() -> None:
    fleet = make_fleet()
    install = make_install(fleet, "android", "native", trusts_backup=False)

    events = events_of(plan(install, fleet, rotated=True))

    chain = events[0]["served_chain"]
    assert isinstance(chain, list)
    assert base64.b64decode(chain[0])[:1] == b"\x30"


def test_new_build_keeps_checking_after_rotation() -> None:
    fleet = make_fleet()
    install = make_install(fleet, "android", "native", trusts_backup=True)

    day = plan(install, fleet, rotated=True)

    assert {event["type"] for event in events_of(day)} == {"pin_check"}
    assert day.cut_off is False


def test_trustkit_install_sends_nothing_while_pins_match() -> None:
    fleet = make_fleet()
    install = make_install(fleet, "ios", "trustkit", trusts_backup=False)

    day = plan(install, fleet)

    assert day.batches == []
    assert day.reports == []


def test_trustkit_resends_one_report_per_launch() -> None:
    fleet = make_fleet(max_sessions_per_day=3)
    install = make_install(fleet, "ios", "trustkit", trusts_backup=False)

    day = plan(install, fleet, rotated=True)

    assert len(day.reports) == 1
    assert 1 <= day.reports[0].copies <= 3
    assert day.reports[0].chunked is False


def test_ios_trustkit_report_fields() -> None:
    fleet = make_fleet()
    install = make_install(fleet, "ios", "trustkit", trusts_backup=False)

    body = plan(install, fleet, rotated=True).reports[0].body

    report = json.loads(body)
    assert report["port"] == 0
    assert report["validation-result"] == 1
    assert report["app-vendor-id"] == install.install_id
    assert b"\\/" in body
    assert "\r\n" in report["validated-certificate-chain"][0]


def test_android_trustkit_report_is_chunked_with_local_time() -> None:
    fleet = make_fleet()
    install = make_install(fleet, "android", "trustkit", trusts_backup=False)

    report = plan(install, fleet, rotated=True).reports[0]

    body = json.loads(report.body)
    assert report.chunked is True
    assert body["date-time"].endswith("Z")
    assert body["known-pins"] == [f'pin-sha256="{SCENARIO.current_pin}"']
    assert len(body["served-certificate-chain"]) == 3


def test_interference_adds_one_untrusted_or_mismatched_failure() -> None:
    fleet = make_fleet(interference_rate=1.0)
    install = make_install(fleet, "android", "native", trusts_backup=True)

    events = events_of(plan(install, fleet))

    failures = [event for event in events if event["type"] == "pin_failure"]
    assert len(failures) == 1
    assert failures[0]["result"] in {"pin_mismatch", "chain_untrusted"}


def test_batches_hold_at_most_100_events() -> None:
    fleet = make_fleet(max_sessions_per_day=250)
    install = make_install(fleet, "ios", "native", trusts_backup=True)

    day = plan(install, fleet, day=4)

    sizes = [len(batch["events"]) for batch in day.batches]
    assert max(sizes) <= MAX_BATCH_EVENTS
    assert sum(sizes) == day.event_count


def test_same_seed_plans_same_event_ids() -> None:
    fleet = make_fleet()
    install = make_install(fleet, "ios", "native", trusts_backup=True)

    first = events_of(plan(install, fleet, day=2))
    second = events_of(plan(install, fleet, day=2))
    other_day = events_of(plan(install, fleet, day=3))

    assert [e["id"] for e in first] == [e["id"] for e in second]
    assert {e["id"] for e in first}.isdisjoint(e["id"] for e in other_day)
