from pathlib import Path

import pytest

from service.cli import main
from tests.certs import make_chain

HEX_PIN = "ab" * 32
CANONICAL = "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s="


def test_pin_text_prints_display_form(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["pin", f"SHA256:{HEX_PIN.upper()}"])

    output = capsys.readouterr()
    assert status == 0
    assert output.out == f"sha256/{CANONICAL}\n"
    assert output.err == ""


def test_pin_pem_file_prints_each_certificate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chain = make_chain("api.example.com")
    path = tmp_path / "chain.pem"
    path.write_text("".join(chain.pems()))

    status = main(["pin", str(path)])

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines == [
        f"sha256/{chain.leaf.pin}  CN=api.example.com",
        f"sha256/{chain.intermediate.pin}  CN=Test Intermediate CA",
        f"sha256/{chain.root.pin}  CN=Test Root CA",
    ]


def test_pin_der_file_prints_its_pin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = make_chain("cdn.example.com").leaf
    path = tmp_path / "leaf.der"
    path.write_bytes(leaf.der)

    status = main(["pin", str(path)])

    assert status == 0
    assert capsys.readouterr().out == f"sha256/{leaf.pin}  CN=cdn.example.com\n"


def test_pin_pem_text_prints_its_pin(capsys: pytest.CaptureFixture[str]) -> None:
    leaf = make_chain("api.example.com").leaf

    status = main(["pin", leaf.pem])

    assert status == 0
    assert capsys.readouterr().out == f"sha256/{leaf.pin}  CN=api.example.com\n"


def test_pin_rejects_sha1_text(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["pin", "sha1/" + "A" * 28])

    output = capsys.readouterr()
    assert status == 2
    assert output.out == ""
    assert "sha1 pins are not supported" in output.err


def test_pin_missing_file_says_not_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.pem"

    status = main(["pin", str(missing)])

    assert status == 2
    assert "is not a file, and not valid pin text" in capsys.readouterr().err


def test_pin_unreadable_certificate_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n")

    status = main(["pin", str(path)])

    assert status == 2
    assert "certificate is not valid base64" in capsys.readouterr().err


def test_pin_long_text_is_not_treated_as_path(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["pin", "x" * 5000])

    assert status == 2
    assert "too long" in capsys.readouterr().err
