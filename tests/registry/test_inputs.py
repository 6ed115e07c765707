import pytest

from service.core.errors import InvalidInput
from service.registry.inputs import (
    canonical_pin,
    normalize_hostname,
    single_certificate,
)
from tests.certs import make_chain


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("API.Example.COM", "api.example.com"),
        ("api.example.com.", "api.example.com"),
        ("  api.example.com ", "api.example.com"),
        ("localhost", "localhost"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("a-b.example", "a-b.example"),
        ("a" * 63 + ".example", "a" * 63 + ".example"),
    ],
)
def test_hostname_is_normalized(text: str, expected: str) -> None:
    assert normalize_hostname(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        ".",
        "*.example.com",
        "a..example",
        "a-.example",
        "a b.example",
        "a/b",
        "api\n.example.com",
        "api.example\x00.com",
    ],
)
def test_invalid_hostname_is_rejected(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_hostname(text)

    assert caught.value.code == "invalid_hostname"


def test_longest_hostname_is_accepted() -> None:
    name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])

    assert len(name) == 253
    assert normalize_hostname(name) == name


def test_hostname_over_253_is_rejected() -> None:
    name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 62])

    with pytest.raises(InvalidInput, match="longer than 253"):
        normalize_hostname(name)


def test_invalid_pin_names_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        canonical_pin("abc", "pins['api.example.com'][2]")

    assert caught.value.code == "invalid_pin"
    assert caught.value.message.startswith("pins['api.example.com'][2] is invalid")
    assert caught.value.details[0]["field"] == "pins['api.example.com'][2]"


def test_single_certificate_loads_one() -> None:
    leaf = make_chain().leaf

    certificate = single_certificate(leaf.pem)

    assert certificate == leaf.certificate


def test_single_certificate_rejects_garbage() -> None:
    with pytest.raises(InvalidInput) as caught:
        single_certificate("not a certificate")

    assert caught.value.code == "invalid_certificate"


def test_reserved_unregistered_hostname_rejected() -> None:
    with pytest.raises(InvalidInput) as error:
        normalize_hostname("Unregistered.")

    assert error.value.code == "invalid_hostname"
    assert "reserved" in error.value.message
