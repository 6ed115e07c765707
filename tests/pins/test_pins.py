import base64

import pytest

from service.pins.pins import (
    PLACEHOLDER,
    PinError,
    display_pin,
    is_placeholder,
    normalize_pin,
    parse_pin,
    url_pin,
)

# Bytes chosen so that standard and URL-safe base64 differ (+/ versus -_).
DIGEST = bytes.fromhex("fbff" * 16)
CANONICAL = base64.b64encode(DIGEST).decode()
URL_SAFE = base64.urlsafe_b64encode(DIGEST).decode()
HEX = DIGEST.hex()


def colon_hex(digest: bytes, upper: bool = False) -> str:
    text = ":".join(f"{byte:02x}" for byte in digest)
    return text.upper() if upper else text


ACCEPTED_FORMS = {
    "sha256 prefix": f"sha256/{CANONICAL}",
    "sha256 prefix upper case": f"SHA256/{CANONICAL}",
    "hpkp directive": f'pin-sha256="{CANONICAL}"',
    "hpkp directive with spaces": f'pin-sha256 = "{CANONICAL}"',
    "standard base64 padded": CANONICAL,
    "standard base64 unpadded": CANONICAL.rstrip("="),
    "url-safe base64 padded": URL_SAFE,
    "url-safe base64 unpadded": URL_SAFE.rstrip("="),
    "hex lower case": HEX,
    "hex upper case": HEX.upper(),
    "hex with colons": colon_hex(DIGEST),
    "hex upper case with colons": colon_hex(DIGEST, upper=True),
    "sha256 colon prefix on hex": f"sha256:{HEX}",
    "SHA256 colon prefix on colon hex": f"SHA256:{colon_hex(DIGEST, upper=True)}",
    "sha256 colon prefix on base64": f"sha256:{CANONICAL}",
    "surrounding whitespace": f"  sha256/{CANONICAL}\n",
}


@pytest.mark.parametrize("text", ACCEPTED_FORMS.values(), ids=ACCEPTED_FORMS.keys())
def test_accepted_form_normalizes_to_canonical(text: str) -> None:
    result = normalize_pin(text)

    assert result == CANONICAL


def test_digest_differs_between_alphabets() -> None:
    assert "+" in CANONICAL or "/" in CANONICAL
    assert CANONICAL != URL_SAFE


def test_parse_pin_returns_32_bytes() -> None:
    result = parse_pin(f"sha256/{CANONICAL}")

    assert result == DIGEST


SHA1 = bytes(range(20))
MD5 = bytes(range(16))

REJECTED_FORMS = {
    "sha1 prefix": (f"sha1/{base64.b64encode(SHA1).decode()}", "sha1 pins"),
    "sha1 hpkp directive": (f'pin-sha1="{base64.b64encode(SHA1).decode()}"', "sha1"),
    "md5 colon prefix": (f"md5:{MD5.hex()}", "md5 pins"),
    "md5 slash prefix": (f"MD5/{base64.b64encode(MD5).decode()}", "md5 pins"),
    "sha512 prefix": (f"sha512/{base64.b64encode(bytes(64)).decode()}", "sha512"),
    "20-byte base64": (base64.b64encode(SHA1).decode(), "20 bytes, a SHA-1"),
    "20-byte hex": (SHA1.hex(), "20 bytes, a SHA-1"),
    "20-byte colon hex": (colon_hex(SHA1), "20 bytes, a SHA-1"),
    "16-byte base64": (base64.b64encode(MD5).decode(), "16 bytes, an MD5"),
    "16-byte hex": (MD5.hex(), "16 bytes, an MD5"),
    "48-byte base64": (base64.b64encode(bytes(range(48))).decode(), "48 bytes"),
    "33-byte base64": (base64.b64encode(bytes(range(33))).decode(), "33 bytes"),
    "64-byte hex": (bytes(64).hex(), "64 bytes"),
    "not base64": ("not a pin!", "neither base64 nor hex"),
    "broken base64 length": ("A" * 41, "not valid base64"),
    "mixed alphabets": (CANONICAL.replace("/", "_", 1), "mixes the standard"),
    "empty": ("", "pin is empty"),
    "whitespace only": ("   ", "pin is empty"),
    "prefix only": ("sha256/", "empty after the prefix"),
    "too long": ("A" * 201, "too long"),
}


@pytest.mark.parametrize(
    ("text", "reason"), REJECTED_FORMS.values(), ids=REJECTED_FORMS.keys()
)
def test_rejected_form_names_reason(text: str, reason: str) -> None:
    with pytest.raises(PinError) as caught:
        parse_pin(text)

    assert reason in str(caught.value)


def test_parse_pin_rejects_non_string() -> None:
    with pytest.raises(PinError, match="must be a string"):
        parse_pin(b"abc")  # type: ignore[arg-type]


def test_display_pin_adds_sha256_prefix() -> None:
    assert display_pin(CANONICAL) == f"sha256/{CANONICAL}"


def test_url_pin_round_trips_through_parse() -> None:
    text = url_pin(CANONICAL)

    assert "/" not in text
    assert "+" not in text
    assert "=" not in text
    assert normalize_pin(text) == CANONICAL


def test_placeholder_is_all_zero_pin() -> None:
    assert is_placeholder(normalize_pin("00" * 32))
    assert base64.b64encode(bytes(32)).decode() == PLACEHOLDER


def test_real_pin_is_not_placeholder() -> None:
    assert not is_placeholder(CANONICAL)


def test_64_hex_digits_read_as_hex_before_base64() -> None:
    # "A" * 64 is also valid base64 (48 bytes); a 64-digit hex pin wins.
    result = parse_pin("A" * 64)

    assert result == bytes.fromhex("AA" * 32)
