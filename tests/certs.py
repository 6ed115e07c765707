"""Certificate factories: real X.509 chains generated with cryptography."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from service.pins.certificates import spki_pin

NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pin(self) -> str:
        return spki_pin(self.certificate)

    @property
    def pem(self) -> str:
        return pem(self.certificate)

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(Encoding.DER)


@dataclass(frozen=True)
class Chain:
    root: Issued
    intermediate: Issued
    leaf: Issued

    @property
    def certificates(self) -> list[Issued]:
        """Leaf first, as servers send them."""
        return [self.leaf, self.intermediate, self.root]

    def pems(self) -> list[str]:
        return [item.pem for item in self.certificates]


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(Encoding.PEM).decode()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def issue(
    common_name: str,
    issuer: Issued | None = None,
    *,
    key: ec.EllipticCurvePrivateKey | None = None,
    ca: bool = False,
    sans: list[str] | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Issued:
    """Issue a certificate; without an issuer it is self-signed (a root)."""
    key = key or new_key()
    signer = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.certificate.subject if issuer else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - timedelta(days=30))
        .not_valid_after(not_after or NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        names = [x509.DNSName(name) for name in sans]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), False)
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def make_chain(hostname: str = "api.example.com", root: Issued | None = None) -> Chain:
    """Build root, intermediate and leaf for a hostname."""
    root = root or issue("Test Root CA", ca=True)
    intermediate = issue("Test Intermediate CA", root, ca=True)
    leaf = issue(hostname, intermediate, sans=[hostname])
    return Chain(root, intermediate, leaf)


def undecodable_subject_der() -> bytes:
    """Return a certificate whose subject common name is not valid UTF-8.

    The name bytes are changed after signing, so the signature is broken too,
    but cryptography loads the certificate and fails only on reading the name.
    """
    marker = "zzzzundecodablezzzz"
    der = issue(marker).certificate.public_bytes(Encoding.DER)
    # The issuer comes first in the DER, so the last copy is the subject.
    head, _, tail = der.rpartition(marker.encode())
    return head + b"\xff" * len(marker) + tail
