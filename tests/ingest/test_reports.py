"""Reports from TrustKit and RFC 7469 clients, parsed into one pin failure.

Each file under fixtures/ contains one report in one client's byte format,
with fixed certificates whose pins are listed below.

- trustkit-ios.json: 64-column CRLF PEM, validated chain only, pin mismatch.
- trustkit-android.json: 76-column LF PEM, Arabic-Indic digits, and an
  interception chain that the OS rejected.
- hpkp.json: 64-column LF PEM, a null validated chain, and other directives
  among the known pins.
"""

import base64
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.core.settings import Settings
from service.ingest.events import AppIdentity, ParsedReport, UnrecognisedReport
from service.ingest.reports import MAX_KNOWN_PINS, parse_report
from service.simulate.trustkit import (
    DEVANAGARI_DIGITS,
    android_report,
    hpkp_pem,
    hpkp_report,
    ios_report,
)
from tests.certs import Chain, make_chain, undecodable_subject_der

FIXTURES = Path(__file__).parent / "fixtures"

# Pins of the certificates in the fixture files.
LEAF_PIN = "w4A6g4S+CYJYGcMWKn7Et78UiHfZzCCSQjpo/J1QcMY="
INTERMEDIATE_PIN = "dLMjQvj0iosxBhhshoF3VYgHe4y6FetRDiUdFXMsOcw="
ROOT_PIN = "6T2chDrtcpRLR7qdkX3eP6vMRzXQ4GVhD+uc3jvsooM="
BACKUP_PIN = "8dLJyLZvbBw2b7KR5f7C+ECKmd1YBDaoOL7nID2sHU8="
OLD_PIN = "whwnBoX6oNNTEMSt+OQdxkk+p21841Hg8SLHqEEIwjM="
PROXY_LEAF_PIN = "fS893vxGwpPmPVnLp0hxLXKvm9GPEUHKfwy+hBWBbJ8="
PROXY_ROOT_PIN = "LhOGZ0usJLCk9LN6oszZhSP5VSSBzrcds2WFtKN/MCk="

REPORT_KEYS = [
    "app-bundle-id",
    "app-version",
    "app-platform",
    "app-platform-version",
    "app-vendor-id",
    "trustkit-version",
    "date-time",
    "hostname",
    "port",
    "noted-hostname",
    "include-subdomains",
    "enforce-pinning",
    "served-certificate-chain",
    "validated-certificate-chain",
    "known-pins",
    "validation-result",
    "known-pins-expiration-date",
    "effective-expiration-date",
]


def limits(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"env": "test", "secret": "s" * 40}
    values.update(overrides)
    return Settings(**values)


def parse(body: object, settings: Settings | None = None) -> ParsedReport:
    result = parse_report(body, settings or limits())
    assert isinstance(result, ParsedReport), result
    return result


def parse_bytes(raw: bytes, settings: Settings | None = None) -> ParsedReport:
    return parse(orjson.loads(raw), settings)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def reason_for(body: object) -> str:
    result = parse_report(body, limits())
    assert isinstance(result, UnrecognisedReport), result
    return result.reason


def hpkp_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"hostname": "api.example.com", "known-pins": []}
    body.update(fields)
    return body


def ios_bytes(chain: Chain, **overrides: Any) -> bytes:
    values: dict[str, Any] = {
        "bundle_id": "com.example.bank",
        "app_version": "4.2.0",
        "vendor_id": "A1B2C3D4-0000-4000-8000-000000000001",
        "hostname": "api.example.com",
        "validated_chain": [item.certificate for item in chain.certificates],
        "known_pins": [chain.root.pin],
        "time": datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC),
    }
    values.update(overrides)
    return ios_report(**values)


def android_bytes(chain: Chain, **overrides: Any) -> bytes:
    certificates = [item.certificate for item in chain.certificates]
    values: dict[str, Any] = {
        "bundle_id": "com.example.bank",
        "app_version": "4.1.0",
        "vendor_id": "0f0e0d0c-0000-4000-8000-000000000002",
        "hostname": "api.example.com",
        "served_chain": certificates,
        "validated_chain": certificates,
        "known_pins": [chain.root.pin],
        "local_time": datetime(2026, 3, 4, 5, 6, 7),
    }
    values.update(overrides)
    return android_report(**values)


# TrustKit for iOS, from the fixture file.


def test_ios_fixture_is_trustkit_ios_bytes() -> None:
    raw = fixture_bytes("trustkit-ios.json")

    assert b'"app-platform":"IOS"' in raw
    assert b"\\/" in raw
    assert b"\\r\\n" in raw
    assert b'"port":0' in raw


def test_ios_fixture_identity() -> None:
    report = parse_bytes(fixture_bytes("trustkit-ios.json"))

    assert report.app == AppIdentity("ios", "com.example.bank", "4.2.0")
    assert report.install_id == "6F2C9A4E-1B7D-4C3A-9E8F-2D5B7A1C0E93"
    assert report.sdk == "trustkit-ios 3.0.3"


def test_ios_fixture_event_fields() -> None:
    event = parse_bytes(fixture_bytes("trustkit-ios.json")).event

    assert event.source == "trustkit"
    assert event.type == "pin_failure"
    assert event.hostname == "api.example.com"
    assert event.port is None
    assert event.noted_hostname == "example.com"
    assert event.include_subdomains is True
    assert event.enforced is True
    assert event.count == 1
    assert event.event_id is None


def test_ios_fixture_uses_validated_chain() -> None:
    event = parse_bytes(fixture_bytes("trustkit-ios.json")).event

    assert event.served_pins == [LEAF_PIN, INTERMEDIATE_PIN, ROOT_PIN]
    assert len(event.served_chain) == 3
    assert event.served_chain[0][:1] == b"\x30"


def test_ios_fixture_pins_and_result() -> None:
    event = parse_bytes(fixture_bytes("trustkit-ios.json")).event

    assert event.known_pins == [OLD_PIN, BACKUP_PIN]
    assert event.validation_result == 1
    assert event.result == "pin_mismatch"
    assert event.pinset_expires == date(2027, 6, 30)


def test_ios_fixture_device_time() -> None:
    event = parse_bytes(fixture_bytes("trustkit-ios.json")).event

    assert event.device_time_text == "2026-11-02T08:15:30Z"
    assert event.device_time == datetime(2026, 11, 2, 8, 15, 30, tzinfo=UTC)


# TrustKit for Android, from the fixture file.


def test_android_fixture_is_trustkit_android_bytes() -> None:
    raw = fixture_bytes("trustkit-android.json")

    assert b'"app-platform":"ANDROID"' in raw
    assert b"\\/" in raw
    assert b"\\r" not in raw
    assert b"\\n-----END CERTIFICATE-----\\n" in raw
    assert "٢٠٢٦".encode() in raw


def test_android_fixture_identity() -> None:
    report = parse_bytes(fixture_bytes("trustkit-android.json"))

    assert report.app == AppIdentity("android", "com.example.bank", "4.1.0")
    assert report.install_id == "0d8e6f3a-5c41-4b7e-a2f9-81c3d6e4b250"
    assert report.sdk == "trustkit-android 1.1.5"


def test_android_fixture_uses_served_chain() -> None:
    event = parse_bytes(fixture_bytes("trustkit-android.json")).event

    assert event.served_pins == [PROXY_LEAF_PIN, PROXY_ROOT_PIN]
    assert len(event.served_chain) == 2


def test_android_fixture_chain_untrusted() -> None:
    event = parse_bytes(fixture_bytes("trustkit-android.json")).event

    assert event.validation_result == 2
    assert event.result == "chain_untrusted"
    assert event.port is None
    assert event.include_subdomains is False
    assert event.pinset_expires is None


def test_android_fixture_pins_keep_reported_order() -> None:
    event = parse_bytes(fixture_bytes("trustkit-android.json")).event

    assert event.known_pins == [BACKUP_PIN, OLD_PIN]


def test_android_fixture_arabic_indic_time() -> None:
    event = parse_bytes(fixture_bytes("trustkit-android.json")).event

    assert event.device_time_text == "٢٠٢٦-١١-٠٢T١٠:١٥:٣٠Z"
    assert event.device_time == datetime(2026, 11, 2, 10, 15, 30, tzinfo=UTC)


# RFC 7469, from the fixture file.


def test_hpkp_fixture_is_rfc7469_bytes() -> None:
    raw = fixture_bytes("hpkp.json")

    assert b'"validated-certificate-chain": null' in raw
    assert b"\\r" not in raw
    assert b"\\/" not in raw


def test_hpkp_fixture_event_fields() -> None:
    report = parse_bytes(fixture_bytes("hpkp.json"))

    assert report.app is None
    assert report.install_id is None
    assert report.sdk is None
    assert report.event.source == "hpkp"
    assert report.event.hostname == "www.example.org"
    assert report.event.port == 443
    assert report.event.noted_hostname == "example.org"
    assert report.event.enforced is None


def test_hpkp_fixture_chain_and_pins() -> None:
    event = parse_bytes(fixture_bytes("hpkp.json")).event

    assert event.served_pins == [LEAF_PIN, INTERMEDIATE_PIN, ROOT_PIN]
    assert event.known_pins == [BACKUP_PIN, OLD_PIN]


def test_hpkp_fixture_result_and_dates() -> None:
    event = parse_bytes(fixture_bytes("hpkp.json")).event

    assert event.validation_result is None
    assert event.result == "pin_mismatch"
    assert event.pinset_expires == date(2027, 5, 1)
    assert event.device_time == datetime(2026, 11, 2, 8, 0, 50, tzinfo=UTC)


def test_crlf_and_lf_pem_same_certificates() -> None:
    ios = parse_bytes(fixture_bytes("trustkit-ios.json")).event
    hpkp = parse_bytes(fixture_bytes("hpkp.json")).event

    assert ios.served_chain == hpkp.served_chain
    assert ios.served_pins == hpkp.served_pins


# Reports built with the formatters.


def test_android_devanagari_digits_parsed() -> None:
    raw = android_bytes(
        make_chain(),
        local_time=datetime(2027, 8, 19, 23, 4, 5),
        digits=DEVANAGARI_DIGITS,
    )

    event = parse_bytes(raw).event

    assert event.device_time_text == "२०२७-०८-१९T२३:०४:०५Z"
    assert event.device_time == datetime(2027, 8, 19, 23, 4, 5, tzinfo=UTC)


def test_android_empty_served_chain_uses_validated() -> None:
    chain = make_chain()
    raw = android_bytes(chain, served_chain=[])

    event = parse_bytes(raw).event

    assert event.served_pins == [item.pin for item in chain.certificates]


def test_unreadable_served_chain_uses_validated() -> None:
    chain = make_chain()
    body = hpkp_body(
        **{
            "served-certificate-chain": ["not a certificate", 17],
            "validated-certificate-chain": chain.pems(),
        }
    )

    event = parse(body).event

    assert event.served_pins == [item.pin for item in chain.certificates]


def test_undecodable_certificate_is_skipped() -> None:
    chain = make_chain()
    undecodable = base64.b64encode(undecodable_subject_der()).decode()
    body = hpkp_body(**{"served-certificate-chain": [undecodable, *chain.pems()]})

    event = parse(body).event

    assert event.served_pins == [item.pin for item in chain.certificates]


def test_served_chain_wins_over_validated() -> None:
    served = make_chain()
    validated = make_chain()
    body = hpkp_body(
        **{
            "served-certificate-chain": served.pems(),
            "validated-certificate-chain": validated.pems(),
        }
    )

    event = parse(body).event

    assert event.served_pins == [item.pin for item in served.certificates]


def test_chain_truncated_to_limit() -> None:
    chain = make_chain()
    raw = ios_bytes(chain)

    event = parse_bytes(raw, limits(max_chain_certificates=2)).event

    assert event.served_pins == [chain.leaf.pin, chain.intermediate.pin]


def test_oversized_certificates_give_empty_chain() -> None:
    raw = ios_bytes(make_chain())

    report = parse_bytes(raw, limits(max_certificate_bytes=100))

    assert report.event.served_chain == []
    assert report.event.served_pins == []


def test_unreadable_certificates_skipped() -> None:
    chain = make_chain()
    entries = [chain.leaf.pem, "-----BEGIN CERTIFICATE-----\nAAAA\n", None, 5]
    body = hpkp_body(**{"served-certificate-chain": [*entries, chain.root.pem]})

    event = parse(body).event

    assert event.served_pins == [chain.leaf.pin, chain.root.pin]
    assert event.served_chain == [chain.leaf.der, chain.root.der]


def test_base64_der_without_pem_armour() -> None:
    chain = make_chain()
    der_text = "".join(hpkp_pem(chain.leaf.certificate).splitlines()[1:-1])
    body = hpkp_body(**{"served-certificate-chain": [der_text]})

    event = parse(body).event

    assert event.served_pins == [chain.leaf.pin]


def test_literal_backslash_escapes_in_pem() -> None:
    chain = make_chain()
    # Text escaped twice: the decoded JSON still contains "\/" and "\n" literally.
    doubled = chain.leaf.pem.replace("/", "\\/").replace("\n", "\\n")
    body = hpkp_body(**{"served-certificate-chain": [doubled]})

    event = parse(body).event

    assert event.served_pins == [chain.leaf.pin]


def test_escaped_slashes_decode_as_json() -> None:
    chain = make_chain()
    raw = ios_bytes(chain)

    event = parse_bytes(raw).event

    assert b"\\/" in raw
    assert event.served_chain == [item.der for item in chain.certificates]


def test_known_pins_any_form_and_order() -> None:
    entries = [
        f'pin-sha256 = "{OLD_PIN}"',
        "max-age=5184000",
        f"sha256/{BACKUP_PIN}",
        'pin-sha256="not-a-pin"',
        f'pin-sha256=\\"{ROOT_PIN}\\"',
        f'pin-sha256="{OLD_PIN}"',
        f'pin-sha1="{"A" * 27}="',
        42,
    ]

    event = parse(hpkp_body(**{"known-pins": entries})).event

    assert event.known_pins == [OLD_PIN, BACKUP_PIN, ROOT_PIN]


def test_known_pins_hex_and_url_safe() -> None:
    raw = bytes(range(32))
    entries = [raw.hex().upper(), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"]

    event = parse(hpkp_body(**{"known-pins": entries})).event

    assert event.known_pins == ["AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="]


def test_known_pins_joined_header_value() -> None:
    header = f'pin-sha256="{OLD_PIN}"; pin-sha256="{BACKUP_PIN}"; max-age=600'

    event = parse(hpkp_body(**{"known-pins": [header]})).event

    assert event.known_pins == [OLD_PIN, BACKUP_PIN]


def test_known_pins_capped() -> None:
    entries = [bytes([index]) * 32 for index in range(MAX_KNOWN_PINS + 5)]
    texts = [entry.hex() for entry in entries]

    event = parse(hpkp_body(**{"known-pins": texts})).event

    assert len(event.known_pins) == MAX_KNOWN_PINS


def test_null_arrays_in_hpkp() -> None:
    raw = hpkp_report(
        hostname="api.example.com",
        served_chain=None,
        validated_chain=None,
        known_pins=None,
        time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )

    event = parse_bytes(raw).event

    assert event.served_chain == []
    assert event.known_pins == []
    assert event.result == "pin_mismatch"


@pytest.mark.parametrize(
    ("validation_result", "expected"),
    [(0, "other"), (1, "pin_mismatch"), (2, "chain_untrusted"), (3, "other")],
)
def test_validation_result_mapping(validation_result: int, expected: str) -> None:
    raw = ios_bytes(make_chain(), validation_result=validation_result)

    event = parse_bytes(raw).event

    assert event.validation_result == validation_result
    assert event.result == expected


def test_trustkit_without_validation_result() -> None:
    body = orjson.loads(ios_bytes(make_chain()))
    del body["validation-result"]

    event = parse(body).event

    assert event.validation_result is None
    assert event.result == "other"


@pytest.mark.parametrize("value", [True, "1", 1.0, -1, 2**40])
def test_validation_result_wrong_value(value: object) -> None:
    body = hpkp_body(**{"validation-result": value})

    event = parse(body).event

    assert event.validation_result is None


@pytest.mark.parametrize(
    ("port", "expected"),
    [(0, None), (443, 443), (8443, 8443), ("443", None), (True, None), (70000, None)],
)
def test_port_values(port: object, expected: int | None) -> None:
    event = parse(hpkp_body(port=port)).event

    assert event.port == expected


def test_device_time_with_offset_in_utc() -> None:
    body = hpkp_body(**{"date-time": "2026-05-06T10:00:00+02:00"})

    event = parse(body).event

    assert event.device_time == datetime(2026, 5, 6, 8, 0, 0, tzinfo=UTC)


def test_device_time_without_offset_as_utc() -> None:
    body = hpkp_body(**{"date-time": "2026-05-06T10:00:00"})

    event = parse(body).event

    assert event.device_time == datetime(2026, 5, 6, 10, 0, 0, tzinfo=UTC)


def test_device_time_out_of_range() -> None:
    body = hpkp_body(**{"date-time": "0001-01-01T00:00:00+01:00"})

    event = parse(body).event

    assert event.device_time_text == "0001-01-01T00:00:00+01:00"
    assert event.device_time is None


def test_unparseable_device_time_kept_as_text() -> None:
    body = hpkp_body(**{"date-time": "yesterday at noon"})

    event = parse(body).event

    assert event.device_time_text == "yesterday at noon"
    assert event.device_time is None


@pytest.mark.parametrize("value", [20260506, "2" * 65, "", ["2026-05-06"]])
def test_unusable_device_time_dropped(value: object) -> None:
    event = parse(hpkp_body(**{"date-time": value})).event

    assert event.device_time_text is None
    assert event.device_time is None


def test_enforce_pinning_false() -> None:
    raw = ios_bytes(make_chain(), enforce_pinning=False)

    event = parse_bytes(raw).event

    assert event.enforced is False


def test_expiry_date_part_of_date_time() -> None:
    body = hpkp_body(**{"effective-expiration-date": "2027-01-31T23:59:59Z"})

    event = parse(body).event

    assert event.pinset_expires == date(2027, 1, 31)


def test_unreadable_expiry_ignored() -> None:
    body = hpkp_body(**{"effective-expiration-date": "soon"})

    event = parse(body).event

    assert event.pinset_expires is None


def test_hostname_normalised() -> None:
    body = hpkp_body(hostname=" API.Example.COM. ", **{"noted-hostname": "Example.COM"})

    event = parse(body).event

    assert event.hostname == "api.example.com"
    assert event.noted_hostname == "example.com"


def test_invalid_noted_hostname_dropped() -> None:
    body = hpkp_body(**{"noted-hostname": "not a host"})

    event = parse(body).event

    assert event.noted_hostname is None


def test_trustkit_without_app_version() -> None:
    body = orjson.loads(ios_bytes(make_chain()))
    del body["app-version"]

    report = parse(body)

    assert report.app is None
    assert report.sdk == "trustkit-ios 3.0.3"


def test_trustkit_other_platform_lower_cased() -> None:
    body = orjson.loads(ios_bytes(make_chain()))
    body["app-platform"] = "TVOS"

    report = parse(body)

    assert report.app is not None
    assert report.app.platform == "tvos"
    assert report.sdk == "trustkit-tvos 3.0.3"


def test_trustkit_without_platform_or_sdk_version() -> None:
    body = orjson.loads(ios_bytes(make_chain()))
    del body["app-platform"]
    del body["trustkit-version"]

    report = parse(body)

    assert report.app == AppIdentity(None, "com.example.bank", "4.2.0")
    assert report.sdk == "trustkit"


@pytest.mark.parametrize("vendor_id", [None, "", 7, "x" * 129])
def test_unusable_vendor_id_dropped(vendor_id: object) -> None:
    body = orjson.loads(ios_bytes(make_chain()))
    body["app-vendor-id"] = vendor_id

    report = parse(body)

    assert report.install_id is None


def test_trustkit_detected_by_app_keys_alone() -> None:
    body = {"hostname": "api.example.com", "app-version": "1.0"}

    report = parse(body)

    assert report.event.source == "trustkit"
    assert report.app == AppIdentity(None, None, "1.0")


# Bodies that are no known report.


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ([{"hostname": "api.example.com"}], "array"),
        ("api.example.com", "string"),
        (42, "number"),
        (1.5, "number"),
        (True, "boolean"),
        (None, "null"),
    ],
)
def test_non_object_unrecognised(body: object, kind: str) -> None:
    reason = reason_for(body)

    assert reason == f"the report is a JSON {kind}, not an object"


def test_python_value_unrecognised() -> None:
    reason = reason_for(("api.example.com",))

    assert reason == "the report is a JSON value of type tuple, not an object"


def test_object_without_hostname() -> None:
    reason = reason_for({"known-pins": [], "port": 0})

    assert reason == "the report has no hostname"


@pytest.mark.parametrize("hostname", [7, ["api.example.com"], {"name": "a"}, False])
def test_hostname_not_a_string(hostname: object) -> None:
    reason = reason_for(hpkp_body(hostname=hostname))

    assert reason == "hostname is not a string"


@pytest.mark.parametrize("hostname", ["", "   ", "api example.com", "a" * 254, "é.fr"])
def test_hostname_invalid(hostname: str) -> None:
    reason = reason_for(hpkp_body(hostname=hostname))

    assert reason == "hostname is not a valid host name"


@pytest.mark.parametrize(
    "key", ["served-certificate-chain", "validated-certificate-chain", "known-pins"]
)
@pytest.mark.parametrize("value", ["-----BEGIN CERTIFICATE-----", 3, {"0": "x"}])
def test_array_field_not_a_list(key: str, value: object) -> None:
    reason = reason_for(hpkp_body(**{key: value}))

    assert reason == f"{key} is not a list"


def test_hostname_without_report_keys() -> None:
    reason = reason_for({"hostname": "api.example.com", "port": 443})

    assert reason.startswith("the report has no known-pins and no certificate chain")


@pytest.mark.parametrize("key", ["app-version", "app-bundle-id"])
def test_app_field_not_a_string(key: str) -> None:
    body = orjson.loads(ios_bytes(make_chain()))
    body[key] = 42

    reason = reason_for(body)

    assert reason == f"{key} is not a string"


def test_app_version_too_long() -> None:
    body = orjson.loads(ios_bytes(make_chain()))
    body["app-version"] = "1." * 40

    reason = reason_for(body)

    assert reason == "app-version is longer than 64 characters"


# Properties over arbitrary JSON.

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(REPORT_KEYS) | st.text(), children)
    ),
    max_leaves=25,
)
REPORT_SHAPED = st.dictionaries(st.sampled_from(REPORT_KEYS), JSON_VALUES).map(
    lambda body: {"hostname": "api.example.com", **body}
)
SETTINGS = limits()


@given(JSON_VALUES)
def test_parse_report_never_raises(body: object) -> None:
    result = parse_report(body, SETTINGS)

    assert isinstance(result, ParsedReport | UnrecognisedReport)


@given(REPORT_SHAPED)
def test_report_shaped_never_raises(body: dict[str, object]) -> None:
    result = parse_report(body, SETTINGS)

    if isinstance(result, UnrecognisedReport):
        assert result.reason
    else:
        assert result.event.type == "pin_failure"


@given(st.lists(st.text() | st.binary().map(bytes.hex), max_size=5))
def test_known_pins_never_raise(entries: list[str]) -> None:
    result = parse_report(hpkp_body(**{"known-pins": entries}), SETTINGS)

    assert isinstance(result, ParsedReport)
