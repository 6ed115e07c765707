from cryptography.x509.oid import NameOID

from service.pins.certificates import spki_pin
from service.simulate.scenario import build_scenario


def test_same_seed_gives_same_pins() -> None:
    first = build_scenario("api.example.com", "9")
    second = build_scenario("api.example.com", "9")

    assert first.current_pin == second.current_pin
    assert first.rotated.pins() == second.rotated.pins()
    assert first.interception.pins() == second.interception.pins()


def test_other_seed_gives_other_current_pin() -> None:
    first = build_scenario("api.example.com", "1")
    second = build_scenario("api.example.com", "2")

    assert first.current_pin != second.current_pin
    assert first.backup_pin == second.backup_pin


def test_backup_pin_is_isrg_root_x1() -> None:
    scenario = build_scenario("api.example.com", "1")

    subject = scenario.backup_certificate.subject.rfc4514_string()

    assert subject.startswith("CN=ISRG Root X1,")
    assert scenario.backup_pin == spki_pin(scenario.backup_certificate)


def test_current_chain_carries_current_pin_only() -> None:
    scenario = build_scenario("api.example.com", "1")

    pins = scenario.current.pins()

    assert scenario.current_pin in pins
    assert scenario.backup_pin not in pins
    assert len(pins) == 3


def test_rotated_chain_carries_backup_pin_only() -> None:
    scenario = build_scenario("api.example.com", "1")

    pins = scenario.rotated.pins()

    assert scenario.backup_pin in pins
    assert scenario.current_pin not in pins


def test_leaf_names_the_hostname() -> None:
    scenario = build_scenario("api.example.com", "1")

    leaf = scenario.current.certificates[0]

    names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert [name.value for name in names] == ["api.example.com"]


def test_interferences_carry_no_registered_pin() -> None:
    scenario = build_scenario("api.example.com", "1")
    registered = {scenario.current_pin, scenario.backup_pin}

    seen = set(scenario.interception.pins()) | set(scenario.captive_portal.pins())

    assert seen.isdisjoint(registered)
