"""Report formatters: each client's exact bytes, checked line by line."""

import base64
import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from service.pins.certificates import load_certificate
from service.simulate.trustkit import (
    ARABIC_INDIC_DIGITS,
    android_pem,
    android_report,
    base64_lines,
    hpkp_pem,
    hpkp_report,
    ios_pem,
    ios_report,
    local_digits,
    pin_directives,
)
from tests.certs import make_chain

FIXTURES = Path(__file__).parents[1] / "ingest" / "fixtures"
PIN_A = "8dLJyLZvbBw2b7KR5f7C+ECKmd1YBDaoOL7nID2sHU8="
PIN_B = "whwnBoX6oNNTEMSt+OQdxkk+p21841Hg8SLHqEEIwjM="


def pem_body_lines(pem: str, line_end: str) -> list[str]:
    """Return the base64 lines between the PEM header and footer."""
    header, _, rest = pem.partition("\n")
    body, _, _footer = rest.rpartition("-----END CERTIFICATE-----")
    assert header == "-----BEGIN CERTIFICATE-----"
    return body.removesuffix(line_end).split(line_end)


def fixture_certificates(name: str, key: str) -> list[x509.Certificate]:
    body = json.loads((FIXTURES / name).read_bytes())
    return [load_certificate(text) for text in body[key]]


def leaf_and_chain() -> list[x509.Certificate]:
    return [item.certificate for item in make_chain().certificates]


def test_base64_lines_cut_at_width() -> None:
    data = bytes(range(256)) * 2

    lines = base64_lines(data, 64)

    assert "".join(lines) == base64.b64encode(data).decode()
    assert [len(line) for line in lines] == [64] * 10 + [44]


def test_ios_pem_crlf_inside_body() -> None:
    pem = ios_pem(leaf_and_chain()[0])

    lines = pem_body_lines(pem, "\r\n")

    assert pem.endswith("\n-----END CERTIFICATE-----")
    assert all(len(line) == 64 for line in lines[:-1])
    assert "\r" not in lines[-1]
    assert pem.count("\r\n") == len(lines) - 1


def test_android_pem_lf_with_final_newline() -> None:
    pem = android_pem(leaf_and_chain()[0])

    lines = pem_body_lines(pem, "\n")

    assert pem.endswith("\n-----END CERTIFICATE-----\n")
    assert "\r" not in pem
    assert all(len(line) == 76 for line in lines[:-1])
    assert 0 < len(lines[-1]) <= 76


def test_hpkp_pem_lf_without_final_newline() -> None:
    pem = hpkp_pem(leaf_and_chain()[0])

    lines = pem_body_lines(pem, "\n")

    assert pem.endswith("\n-----END CERTIFICATE-----")
    assert "\r" not in pem
    assert all(len(line) == 64 for line in lines[:-1])


@pytest.mark.parametrize("style", [ios_pem, android_pem, hpkp_pem])
def test_pem_styles_load_same_certificate(style: Any) -> None:
    certificate = leaf_and_chain()[0]

    loaded = load_certificate(style(certificate))

    assert loaded == certificate


def test_pin_directives_keep_order() -> None:
    directives = pin_directives([PIN_B, PIN_A])

    assert directives == [f'pin-sha256="{PIN_B}"', f'pin-sha256="{PIN_A}"']


def test_local_digits_arabic_indic() -> None:
    text = local_digits("2026-11-02T10:15:30", ARABIC_INDIC_DIGITS)

    assert text == "٢٠٢٦-١١-٠٢T١٠:١٥:٣٠"


def test_local_digits_rejects_short_set() -> None:
    with pytest.raises(ValueError, match="ten characters"):
        local_digits("2026", "0123")


def ios_bytes(**overrides: Any) -> bytes:
    values: dict[str, Any] = {
        "bundle_id": "com.example.bank",
        "app_version": "4.2.0",
        "vendor_id": "A1B2C3D4-0000-4000-8000-000000000001",
        "hostname": "api.example.com",
        "validated_chain": leaf_and_chain(),
        "known_pins": [PIN_B, PIN_A],
        "time": datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC),
    }
    values.update(overrides)
    return ios_report(**values)


def test_ios_report_escapes_every_slash() -> None:
    raw = ios_bytes()

    assert raw.count(b"/") == raw.count(b"\\/")
    assert raw.count(b"\\/") > 0


def test_ios_report_exact_fields() -> None:
    raw = ios_bytes(pinset_expires=date(2027, 6, 30))

    assert raw.startswith(b'{"app-bundle-id":"com.example.bank","app-version":"4.2.0"')
    assert b'"app-platform":"IOS","app-platform-version":"17.5.1"' in raw
    assert b'"port":0,' in raw
    assert b'"date-time":"2026-03-04T05:06:07Z"' in raw
    assert raw.endswith(b'"known-pins-expiration-date":"2027-06-30"}')


def test_ios_report_known_pins_quoted() -> None:
    raw = ios_bytes()

    expected = f'"known-pins":["pin-sha256=\\"{PIN_B}\\"","pin-sha256=\\"{PIN_A}\\""]'
    assert expected.replace("/", "\\/").encode() in raw


def test_ios_report_no_expiry_is_null() -> None:
    body = json.loads(ios_bytes())

    assert body["known-pins-expiration-date"] is None


def test_ios_report_time_in_utc() -> None:
    local = datetime(2026, 3, 4, 7, 6, 7, tzinfo=timezone(timedelta(hours=2)))

    body = json.loads(ios_bytes(time=local))

    assert body["date-time"] == "2026-03-04T05:06:07Z"


def test_ios_report_chain_is_crlf_pem() -> None:
    chain = leaf_and_chain()

    body = json.loads(ios_bytes(validated_chain=chain))

    assert body["validated-certificate-chain"] == [ios_pem(item) for item in chain]
    assert "served-certificate-chain" not in body


def test_ios_report_matches_fixture_bytes() -> None:
    chain = fixture_certificates("trustkit-ios.json", "validated-certificate-chain")

    raw = ios_report(
        bundle_id="com.example.bank",
        app_version="4.2.0",
        vendor_id="6F2C9A4E-1B7D-4C3A-9E8F-2D5B7A1C0E93",
        hostname="API.Example.com",
        noted_hostname="example.com",
        include_subdomains=True,
        validated_chain=chain,
        known_pins=[PIN_B, PIN_A],
        time=datetime(2026, 11, 2, 8, 15, 30, tzinfo=UTC),
        pinset_expires=date(2027, 6, 30),
    )

    assert raw == (FIXTURES / "trustkit-ios.json").read_bytes()


def android_bytes(**overrides: Any) -> bytes:
    chain = leaf_and_chain()
    values: dict[str, Any] = {
        "bundle_id": "com.example.bank",
        "app_version": "4.1.0",
        "vendor_id": "0f0e0d0c-0000-4000-8000-000000000002",
        "hostname": "api.example.com",
        "served_chain": chain,
        "validated_chain": chain,
        "known_pins": [PIN_A, PIN_B],
        "local_time": datetime(2026, 3, 4, 5, 6, 7),
    }
    values.update(overrides)
    return android_report(**values)


def test_android_report_key_order() -> None:
    body = json.loads(android_bytes())

    assert list(body) == [
        "app-bundle-id",
        "app-version",
        "app-vendor-id",
        "app-platform",
        "trustkit-version",
        "hostname",
        "port",
        "noted-hostname",
        "include-subdomains",
        "enforce-pinning",
        "validation-result",
        "date-time",
        "validated-certificate-chain",
        "served-certificate-chain",
        "known-pins",
    ]


def test_android_report_local_digits_utf8() -> None:
    raw = android_bytes(digits=ARABIC_INDIC_DIGITS)

    assert '"date-time":"٢٠٢٦-٠٣-٠٤T٠٥:٠٦:٠٧Z"'.encode() in raw
    assert b"\\u06" not in raw


def test_android_report_local_time_with_z() -> None:
    body = json.loads(android_bytes(local_time=datetime(2026, 3, 4, 23, 59, 1)))

    assert body["date-time"] == "2026-03-04T23:59:01Z"


def test_android_report_chains_lf_pem() -> None:
    chain = leaf_and_chain()

    body = json.loads(android_bytes(served_chain=chain[:2], validated_chain=[]))

    assert body["served-certificate-chain"] == [android_pem(c) for c in chain[:2]]
    assert body["validated-certificate-chain"] == []


def test_android_report_escapes_every_slash() -> None:
    raw = android_bytes()

    assert raw.count(b"/") == raw.count(b"\\/")


def test_android_report_matches_fixture_bytes() -> None:
    served = fixture_certificates("trustkit-android.json", "served-certificate-chain")

    raw = android_report(
        bundle_id="com.example.bank",
        app_version="4.1.0",
        vendor_id="0d8e6f3a-5c41-4b7e-a2f9-81c3d6e4b250",
        hostname="api.example.com",
        served_chain=served,
        validated_chain=[],
        known_pins=[PIN_A, PIN_B],
        local_time=datetime(2026, 11, 2, 10, 15, 30),
        digits=ARABIC_INDIC_DIGITS,
        validation_result=2,
    )

    assert raw == (FIXTURES / "trustkit-android.json").read_bytes()


def test_hpkp_report_null_arrays() -> None:
    raw = hpkp_report(
        hostname="api.example.com",
        served_chain=None,
        validated_chain=None,
        known_pins=None,
        time=datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC),
    )

    body = json.loads(raw)

    assert body["served-certificate-chain"] is None
    assert body["validated-certificate-chain"] is None
    assert body["known-pins"] is None
    assert body["effective-expiration-date"] is None


def test_hpkp_report_fields() -> None:
    chain = leaf_and_chain()

    raw = hpkp_report(
        hostname="api.example.com",
        served_chain=chain,
        validated_chain=chain[1:],
        known_pins=[PIN_A],
        time=datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC),
        effective_expiration=datetime(2026, 5, 1, 12, 40, 50, tzinfo=UTC),
        port=8443,
        include_subdomains=True,
    )

    body = json.loads(raw)
    assert b"\\/" not in raw
    assert body["port"] == 8443
    assert body["date-time"] == "2026-03-04T05:06:07Z"
    assert body["effective-expiration-date"] == "2026-05-01T12:40:50Z"
    assert body["include-subdomains"] is True
    assert body["noted-hostname"] == "api.example.com"
    assert body["served-certificate-chain"] == [hpkp_pem(item) for item in chain]
    assert body["validated-certificate-chain"] == [
        hpkp_pem(chain[1]),
        hpkp_pem(chain[2]),
    ]
    assert body["known-pins"] == [f'pin-sha256="{PIN_A}"']
