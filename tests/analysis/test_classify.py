from datetime import UTC, datetime, timedelta

import pytest

from service.analysis.classify import FailureFacts, classify, misconfigured_pins
from service.pins.certificates import certificate_sha256, public_key_sha256
from tests.analysis.certificates import (
    issue_with_name,
    pins,
    public_root,
    trust_as_public,
)
from tests.certs import NOW, Chain, Issued, issue, make_chain

HOSTNAME = "api.example.com"


def failure(
    served: list[Issued],
    *,
    known_pins: list[str] | None = None,
    registered: dict[str, str] | None = None,
    device_time: datetime | None = None,
    hostname: str = HOSTNAME,
) -> FailureFacts:
    return FailureFacts(
        hostname=hostname,
        received_at=NOW,
        served_chain=[item.certificate for item in served],
        known_pins=known_pins or [],
        registered=registered or {},
        device_time=device_time,
    )


@pytest.fixture(scope="module")
def backend() -> Chain:
    """The chain the backend served when the failing build was made."""
    return make_chain(HOSTNAME)


@pytest.fixture(scope="module")
def old_build_pins(backend: Chain) -> list[str]:
    return pins(backend.intermediate)


def test_interception_by_private_root(
    backend: Chain, old_build_pins: list[str]
) -> None:
    inspection = make_chain(HOSTNAME, root=issue("Corp Inspection CA", ca=True))
    facts = failure(
        inspection.certificates,
        known_pins=old_build_pins,
        registered={backend.intermediate.pin: "current"},
    )

    assert classify(facts) == "interception"


def test_interception_without_root_in_chain(old_build_pins: list[str]) -> None:
    inspection = make_chain(HOSTNAME, root=issue("Corp Inspection CA", ca=True))
    facts = failure(
        [inspection.leaf, inspection.intermediate], known_pins=old_build_pins
    )

    assert classify(facts) == "interception"


def test_interception_by_root_that_copies_public_name(
    old_build_pins: list[str],
) -> None:
    forged = issue_with_name(public_root("ISRG Root X1").subject)
    intermediate = issue("R11", forged, ca=True)
    leaf = issue(HOSTNAME, intermediate, sans=[HOSTNAME])

    facts = failure([leaf, intermediate], known_pins=old_build_pins)

    assert classify(facts) == "interception"


def test_captive_portal_certificate_for_other_host(old_build_pins: list[str]) -> None:
    portal = make_chain("portal.hotel.example")
    facts = failure(portal.certificates, known_pins=old_build_pins)

    assert classify(facts) == "captive_portal"


def test_captive_portal_wins_over_interception(old_build_pins: list[str]) -> None:
    portal = make_chain("login.wifi.example", root=issue("Portal Root", ca=True))
    facts = failure(portal.certificates, known_pins=old_build_pins)

    assert classify(facts) == "captive_portal"


def test_wildcard_leaf_covers_hostname(backend: Chain) -> None:
    leaf = issue("*.example.com", backend.intermediate, sans=["*.example.com"])
    facts = failure([leaf, backend.intermediate], known_pins=pins(backend.intermediate))

    assert classify(facts) == "chain_invalid"


def test_clock_skew_device_clock_in_1970(
    backend: Chain, old_build_pins: list[str]
) -> None:
    facts = failure(
        backend.certificates,
        known_pins=old_build_pins,
        device_time=datetime(1970, 1, 1, tzinfo=UTC),
    )

    assert classify(facts) == "clock_skew"


def test_clock_skew_certificate_not_yet_valid(backend: Chain) -> None:
    fresh_leaf = issue(
        HOSTNAME,
        backend.intermediate,
        sans=[HOSTNAME],
        not_before=NOW - timedelta(hours=1),
    )
    facts = failure(
        [fresh_leaf, backend.intermediate],
        known_pins=pins(backend.intermediate),
        device_time=NOW - timedelta(hours=3),
    )

    assert classify(facts) == "clock_skew"


def test_clock_within_threshold_is_no_skew(backend: Chain) -> None:
    facts = failure(
        backend.certificates,
        known_pins=pins(backend.intermediate),
        device_time=NOW - timedelta(hours=23),
    )

    assert classify(facts) == "chain_invalid"


def test_clock_skew_threshold_is_configurable(backend: Chain) -> None:
    facts = failure(
        backend.certificates,
        known_pins=pins(backend.intermediate),
        device_time=NOW - timedelta(hours=3),
    )

    assert classify(facts, max_clock_skew=timedelta(hours=2)) == "clock_skew"


def test_rotation_casualty_new_leaf_and_intermediate(backend: Chain) -> None:
    intermediate = issue("Test Intermediate CA 2", backend.root, ca=True)
    leaf = issue(HOSTNAME, intermediate, sans=[HOSTNAME])
    registered = {backend.intermediate.pin: "retired", intermediate.pin: "current"}
    facts = failure(
        [leaf, intermediate, backend.root],
        known_pins=pins(backend.intermediate),
        registered=registered,
    )

    assert classify(facts) == "rotation_casualty"


def test_rotation_casualty_with_backup_role(backend: Chain) -> None:
    leaf = issue(HOSTNAME, backend.intermediate, sans=[HOSTNAME])
    facts = failure(
        [leaf, backend.intermediate],
        known_pins=pins(backend.leaf),
        registered={backend.leaf.pin: "current", leaf.pin: "backup"},
    )

    assert classify(facts) == "rotation_casualty"


def test_unpinned_public_key_cdn_switch(
    monkeypatch: pytest.MonkeyPatch, backend: Chain
) -> None:
    cdn_root = issue("CDN Public Root", ca=True)
    trust_as_public(monkeypatch, cdn_root)
    cdn = make_chain(HOSTNAME, root=cdn_root)
    facts = failure(
        [cdn.leaf, cdn.intermediate],
        known_pins=pins(backend.intermediate),
        registered={backend.intermediate.pin: "current"},
    )

    assert classify(facts) == "unpinned_public_key"


def test_appended_certifi_root_is_still_interception(backend: Chain) -> None:
    chain = make_chain(HOSTNAME)
    facts = failure(
        [chain.leaf, chain.intermediate], known_pins=pins(backend.intermediate)
    )
    facts.served_chain.append(public_root("ISRG Root X1"))

    assert classify(facts) == "interception"


def test_pin_misconfigured_certificate_fingerprint(backend: Chain) -> None:
    fingerprint = certificate_sha256(backend.leaf.certificate)
    facts = failure(backend.certificates, known_pins=[fingerprint])

    assert classify(facts) == "pin_misconfigured"


def test_pin_misconfigured_raw_key_hash(backend: Chain) -> None:
    key_hash = public_key_sha256(backend.intermediate.certificate)
    facts = failure(backend.certificates, known_pins=[key_hash])

    assert classify(facts) == "pin_misconfigured"


def test_misconfigured_pins_name_hash_and_position(backend: Chain) -> None:
    key_hash = public_key_sha256(backend.intermediate.certificate)
    chain = [item.certificate for item in backend.certificates]

    found = misconfigured_pins(chain, [key_hash, backend.leaf.pin])

    assert found == {key_hash: (1, "public_key_sha256")}


def test_chain_invalid_pinned_key_served(backend: Chain) -> None:
    facts = failure(backend.certificates, known_pins=pins(backend.intermediate))

    assert classify(facts) == "chain_invalid"


def test_chain_invalid_wins_over_rotation(backend: Chain) -> None:
    leaf = issue(HOSTNAME, backend.intermediate, sans=[HOSTNAME])
    facts = failure(
        [leaf, backend.intermediate],
        known_pins=pins(backend.intermediate),
        registered={leaf.pin: "backup", backend.intermediate.pin: "current"},
    )

    assert classify(facts) == "chain_invalid"


def test_unknown_without_chain(old_build_pins: list[str]) -> None:
    facts = failure([], known_pins=old_build_pins)

    assert classify(facts) == "unknown"


def test_unknown_without_chain_despite_clock(old_build_pins: list[str]) -> None:
    facts = failure(
        [], known_pins=old_build_pins, device_time=datetime(1970, 1, 1, tzinfo=UTC)
    )

    assert classify(facts) == "unknown"


def test_served_pins_alone_show_rotation(backend: Chain) -> None:
    new_key = issue("Next Intermediate", backend.root, ca=True)
    facts = FailureFacts(
        hostname=HOSTNAME,
        received_at=NOW,
        served_pins=[new_key.pin],
        known_pins=pins(backend.intermediate),
        registered={new_key.pin: "backup"},
    )

    assert classify(facts) == "rotation_casualty"


def test_served_pins_alone_unmatched_are_unknown(backend: Chain) -> None:
    facts = FailureFacts(
        hostname=HOSTNAME,
        received_at=NOW,
        served_pins=[backend.leaf.pin],
        known_pins=pins(backend.intermediate),
    )

    assert classify(facts) == "unknown"
