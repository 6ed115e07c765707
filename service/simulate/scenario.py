"""The certificates a simulated backend and its attackers serve.

Keys are derived from the seed, so one seed gives the same pins on every run and
a simulation can be repeated against a server that already has them registered.
The backup key is a real public root from certifi's bundle. The rotated chain
names that root as the issuer of its intermediate, but the intermediate signs
itself, because the root's private key is not available. Pins are read from
every certificate of a served chain, so checks and failures still show the
backup key as served. Only the signature checks of failure analysis see the
difference: the rotated chain does not count as publicly trusted.

The simulated backend sends its whole chain, root included, so the served
chains in reports and checks show which root key the backend uses. Many real
servers leave the root out.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from service.pins.certificates import public_roots, spki_pin

BACKUP_ROOT_NAME = "ISRG Root X1"

# Order of the P-256 group: a private value must lie in [1, order - 1].
_P256_ORDER = int(
    "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16
)


@dataclass(frozen=True)
class Chain:
    """Certificates as a client sees them after validation, leaf first."""

    certificates: tuple[x509.Certificate, ...]

    def pems(self) -> list[str]:
        return [cert.public_bytes(Encoding.PEM).decode() for cert in self.certificates]

    def pins(self) -> list[str]:
        return [spki_pin(cert) for cert in self.certificates]


@dataclass(frozen=True)
class Scenario:
    """The chains served to the fleet of one domain, and the pins that matter."""

    hostname: str
    current: Chain
    rotated: Chain
    interception: Chain
    captive_portal: Chain
    current_certificate: x509.Certificate
    backup_certificate: x509.Certificate

    @property
    def current_pin(self) -> str:
        return spki_pin(self.current_certificate)

    @property
    def backup_pin(self) -> str:
        return spki_pin(self.backup_certificate)

    def served_chain(self, rotated: bool) -> Chain:
        return self.rotated if rotated else self.current


def derive_key(seed: str, label: str) -> ec.EllipticCurvePrivateKey:
    """Derive a P-256 key from the seed, so the same seed gives the same pin."""
    digest = hashlib.sha256(f"{seed}:{label}".encode()).digest()
    private_value = int.from_bytes(digest) % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(private_value, ec.SECP256R1())


def _name(common_name: str, organization: str = "Pinwatch Simulation") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        ]
    )


def _issue(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    signer: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    hostname: str | None = None,
) -> x509.Certificate:
    now = datetime.now(UTC).replace(microsecond=0)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=30))
        .not_valid_after(now + timedelta(days=90 if hostname else 1825))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if hostname is not None:
        names = x509.SubjectAlternativeName([x509.DNSName(hostname)])
        builder = builder.add_extension(names, critical=False)
    return builder.sign(signer, hashes.SHA256())


def _self_signed(name: x509.Name, key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    return _issue(name, key, name, key, ca=True)


def common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def backup_root() -> x509.Certificate:
    """Return ISRG Root X1 from certifi, or the first root by subject if it left."""
    roots = sorted(public_roots().values(), key=lambda r: r.subject.rfc4514_string())
    for root in roots:
        if common_name(root) == BACKUP_ROOT_NAME:
            return root
    return roots[0]


def _chain_under(
    root: x509.Certificate,
    root_key: ec.EllipticCurvePrivateKey | None,
    hostname: str,
    seed: str,
    stage: str,
    issuing_name: str,
) -> Chain:
    """Issue an intermediate under ``root`` and a leaf for the hostname under it.

    ``root_key`` signs the intermediate, or with None the intermediate signs itself.
    ``stage`` names the keys derived from the seed.
    """
    issuing_key = derive_key(seed, f"{stage}-intermediate")
    issuing = _issue(
        _name(issuing_name),
        issuing_key,
        root.subject,
        root_key or issuing_key,
        ca=True,
    )
    leaf_key = derive_key(seed, f"{stage}-leaf")
    leaf = _issue(
        _name(hostname),
        leaf_key,
        issuing.subject,
        issuing_key,
        ca=False,
        hostname=hostname,
    )
    return Chain((leaf, issuing, root))


def _current_chain(hostname: str, seed: str) -> Chain:
    root_key = derive_key(seed, "current-root")
    root = _self_signed(_name("Pinwatch Simulation Root CA"), root_key)
    issuing_name = "Pinwatch Simulation Issuing CA"
    return _chain_under(root, root_key, hostname, seed, "current", issuing_name)


def _rotated_chain(hostname: str, seed: str, root: x509.Certificate) -> Chain:
    issuing_name = "Pinwatch Simulation Rotated CA"
    return _chain_under(root, None, hostname, seed, "rotated", issuing_name)


def _interception_chain(hostname: str, seed: str) -> Chain:
    """Return the chain a TLS-inspecting proxy with its own trusted CA forges."""
    proxy_key = derive_key(seed, "proxy-root")
    proxy_name = _name("Corporate Inspection CA", "Example Corp Security")
    proxy = _self_signed(proxy_name, proxy_key)
    leaf_key = derive_key(seed, "proxy-leaf")
    leaf = _issue(
        _name(hostname, "Example Corp Security"),
        leaf_key,
        proxy_name,
        proxy_key,
        ca=False,
        hostname=hostname,
    )
    return Chain((leaf, proxy))


def _captive_portal_chain(seed: str) -> Chain:
    """Return the self-signed certificate of a Wi-Fi login page."""
    portal_key = derive_key(seed, "captive-portal")
    name = _name("login.hotspot.example", "Hotspot Login")
    return Chain((_self_signed(name, portal_key),))


def build_scenario(hostname: str, seed: str) -> Scenario:
    """Generate the chains for a domain: current, rotated, and two interferences."""
    current = _current_chain(hostname, seed)
    backup = backup_root()
    return Scenario(
        hostname=hostname,
        current=current,
        rotated=_rotated_chain(hostname, seed, backup),
        interception=_interception_chain(hostname, seed),
        captive_portal=_captive_portal_chain(seed),
        current_certificate=current.certificates[1],
        backup_certificate=backup,
    )
