import base64
import hashlib
import warnings

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from service.pins import certificates
from service.pins.certificates import (
    CertificateError,
    certificate_sha256,
    load_certificate,
    load_pem_bundle,
    public_key_sha256,
    public_root_certificates,
    public_roots,
    spki_pin,
)
from service.pins.pins import pin_text
from tests.certs import Issued, issue, make_chain, undecodable_subject_der

ISRG_ROOT_X1_PIN = "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M="
BEGIN = "-----BEGIN CERTIFICATE-----"
END = "-----END CERTIFICATE-----"


def armored(der: bytes, width: int, newline: str, trailing_newline: bool) -> str:
    """Wrap DER in PEM armour the way a given client library writes it."""
    body = base64.b64encode(der).decode()
    lines = [body[start : start + width] for start in range(0, len(body), width)]
    text = newline.join([BEGIN, *lines, END])
    return text + newline if trailing_newline else text


@pytest.fixture(scope="module")
def leaf() -> Issued:
    """A leaf whose base64 contains a slash, so escaping slashes changes its PEM."""
    while True:
        issued = make_chain().leaf
        if b"/" in base64.b64encode(issued.der):
            return issued


def pem_styles(der: bytes) -> dict[str, str]:
    lf_64 = armored(der, 64, "\n", trailing_newline=False)
    return {
        "64 columns CRLF": armored(der, 64, "\r\n", trailing_newline=False),
        "76 columns LF with trailing newline": armored(der, 76, "\n", True),
        "64 columns LF": lf_64,
        "JSON-escaped slashes": lf_64.replace("/", "\\/"),
        "JSON-escaped line ends": lf_64.replace("\n", "\\n"),
        "base64 DER": base64.b64encode(der).decode(),
        "base64 DER in lines": "\n".join(lf_64.splitlines()[1:-1]),
    }


def test_every_pem_style_gives_same_pin(leaf: Issued) -> None:
    styles = pem_styles(leaf.der)

    pins = {name: spki_pin(load_certificate(text)) for name, text in styles.items()}

    for name, pin in pins.items():
        assert pin == leaf.pin, name


def test_pem_styles_really_differ(leaf: Issued) -> None:
    styles = pem_styles(leaf.der)

    assert "\r\n" in styles["64 columns CRLF"]
    assert styles["76 columns LF with trailing newline"].endswith("\n")
    assert "\\/" in styles["JSON-escaped slashes"]


def test_der_bytes_load(leaf: Issued) -> None:
    certificate = load_certificate(leaf.der)

    assert spki_pin(certificate) == leaf.pin


def test_pem_bytes_load(leaf: Issued) -> None:
    certificate = load_certificate(leaf.pem.encode())

    assert spki_pin(certificate) == leaf.pin


def test_pem_surrounded_by_text_loads(leaf: Issued) -> None:
    text = f"subject=CN=api.example.com\n{leaf.pem}\nend of file\n"

    assert spki_pin(load_certificate(text)) == leaf.pin


def test_spki_pin_hashes_subject_public_key_info(leaf: Issued) -> None:
    spki = leaf.certificate.public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )

    assert spki_pin(leaf.certificate) == pin_text(hashlib.sha256(spki).digest())


def test_certificate_sha256_hashes_whole_der(leaf: Issued) -> None:
    expected = pin_text(hashlib.sha256(leaf.der).digest())

    assert certificate_sha256(leaf.certificate) == expected
    assert certificate_sha256(leaf.certificate) != leaf.pin


def test_public_key_sha256_hashes_ec_point(leaf: Issued) -> None:
    point = leaf.certificate.public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint
    )

    assert public_key_sha256(leaf.certificate) == pin_text(
        hashlib.sha256(point).digest()
    )
    assert public_key_sha256(leaf.certificate) != leaf.pin


def test_public_key_sha256_hashes_rsa_pkcs1() -> None:
    root = next(
        root
        for root in public_roots().values()
        if isinstance(root.public_key(), rsa.RSAPublicKey)
    )
    pkcs1 = root.public_key().public_bytes(Encoding.DER, PublicFormat.PKCS1)

    assert public_key_sha256(root) == pin_text(hashlib.sha256(pkcs1).digest())
    assert public_key_sha256(root) != spki_pin(root)


def test_bundle_loads_every_certificate_in_order() -> None:
    chain = make_chain()
    text = "\n".join(chain.pems())

    loaded = load_pem_bundle(text)

    assert [spki_pin(cert) for cert in loaded] == [
        item.pin for item in chain.certificates
    ]


def test_bundle_without_armour_loads_one_certificate(leaf: Issued) -> None:
    loaded = load_pem_bundle(base64.b64encode(leaf.der).decode())

    assert [spki_pin(cert) for cert in loaded] == [leaf.pin]


def test_isrg_root_x1_pin_from_certifi() -> None:
    roots = [
        root
        for root in public_root_certificates()
        if root.subject.rfc4514_string().startswith("CN=ISRG Root X1,")
    ]

    assert len(roots) == 1
    assert spki_pin(roots[0]) == ISRG_ROOT_X1_PIN
    assert ISRG_ROOT_X1_PIN in public_roots()


def test_public_roots_load_without_warnings() -> None:
    public_root_certificates.cache_clear()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        roots = public_root_certificates()

    assert len(roots) > 100


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "certificate is empty"),
        ("%%% not base64 %%%", "not valid base64"),
        (f"{BEGIN}\n!!!!\n{END}", "not valid base64"),
        (base64.b64encode(b"\x30\x03\x02\x01\x01").decode(), "not a valid X.509"),
        (b"\x30\x03\x02\x01\x01", "not a valid X.509"),
        (b"\xff\xfe\x00", "neither DER nor PEM"),
    ],
    ids=["empty", "garbage", "bad armoured body", "short DER", "DER bytes", "binary"],
)
def test_unreadable_certificate_names_reason(value: str | bytes, reason: str) -> None:
    with pytest.raises(CertificateError) as caught:
        load_certificate(value)

    assert reason in str(caught.value)


def test_oversized_certificate_is_rejected(leaf: Issued) -> None:
    with pytest.raises(CertificateError, match="over the 100-byte limit"):
        load_certificate(leaf.der, max_bytes=100)


def test_oversized_text_is_rejected_before_decoding() -> None:
    text = "A" * (2 * certificates.MAX_CERTIFICATE_BYTES + 1)

    with pytest.raises(CertificateError, match="exceeds"):
        load_certificate(text)


def test_p384_certificate_pins_like_p256() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    issued = issue("p384.example.com", key=key)

    assert spki_pin(load_certificate(issued.pem)) == issued.pin


def test_undecodable_subject_is_rejected() -> None:
    with pytest.raises(CertificateError, match="subject cannot be decoded"):
        load_certificate(undecodable_subject_der())
