"""Checks on a served certificate chain: hostname, validity and public trust.

A chain is a list of certificates, leaf first, as the client reported it.
Nothing here builds or validates a path the way a TLS client does: each check
answers one question that the classification and the breakdown need.
"""

import ipaddress
from collections.abc import Sequence
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.x509.oid import NameOID

from service.pins.certificates import public_roots, spki_pin
from service.pins.pins import PinError, normalize_pin


def as_utc(moment: datetime) -> datetime:
    """Return a timezone-aware UTC time, reading a naive time as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def valid_at(certificate: x509.Certificate, moment: datetime) -> bool:
    """Tell whether a moment falls within the certificate's validity period."""
    when = as_utc(moment)
    return certificate.not_valid_before_utc <= when <= certificate.not_valid_after_utc


def subject_alt_names(certificate: x509.Certificate) -> list[str] | None:
    """Return the DNS names and IP addresses of the SAN, or None without a SAN.

    An extension block that cryptography cannot parse counts as no SAN, so
    the caller falls back to the common name.
    """
    try:
        extension = certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        )
    except (x509.ExtensionNotFound, ValueError):
        return None
    names = extension.value.get_values_for_type(x509.DNSName)
    addresses = extension.value.get_values_for_type(x509.IPAddress)
    return [*names, *(str(address) for address in addresses)]


def common_names(name: x509.Name) -> list[str]:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return [_text(attribute.value) for attribute in values]


def display_name(name: x509.Name) -> str:
    """Return the common name of an X.509 name, or its RFC 4514 text without one."""
    names = common_names(name)
    return names[0] if names else name.rfc4514_string()


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _is_ip_address(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


def name_matches(pattern: str, hostname: str) -> bool:
    """Match one certificate name against a hostname, with RFC 6125 wildcards.

    A wildcard is only a whole left-most label (``*.example.com``) and stands
    for exactly one label. Like browsers, it needs at least two labels after
    it. So ``*.example.com`` covers ``a.example.com`` but neither
    ``example.com`` nor ``a.b.example.com``.
    """
    pattern = pattern.lower().rstrip(".")
    hostname = hostname.lower().rstrip(".")
    if not pattern.startswith("*."):
        return pattern == hostname
    suffix = pattern[1:]
    if suffix.count(".") < 2 or _is_ip_address(hostname):
        return False
    label, _, rest = hostname.partition(".")
    return bool(label) and "." + rest == suffix


def ascii_hostname(hostname: str) -> str:
    """Return the ASCII (A-label) form of a hostname, as certificates write it."""
    if hostname.isascii():
        return hostname
    try:
        return hostname.encode("idna").decode("ascii")
    except UnicodeError:
        return hostname


def covers_hostname(certificate: x509.Certificate, hostname: str) -> bool:
    """Tell whether a leaf certificate is valid for a hostname.

    The SAN decides when the certificate has one. Only a certificate without a
    SAN extension falls back to its subject common name.
    """
    names = subject_alt_names(certificate)
    if names is None:
        names = common_names(certificate.subject)
    hostname = ascii_hostname(hostname)
    if _is_ip_address(hostname):
        address = ipaddress.ip_address(hostname)
        return any(_same_address(name, address) for name in names)
    return any(name_matches(name, hostname) for name in names)


def _same_address(
    name: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> bool:
    try:
        return ipaddress.ip_address(name) == address
    except ValueError:
        return False


def signed_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Tell whether the issuer's name and signature match the certificate."""
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def is_public_root(certificate: x509.Certificate) -> bool:
    """Tell whether a certificate carries the key of a Mozilla root."""
    return spki_pin(certificate) in public_roots()


def issuing_public_root(certificate: x509.Certificate) -> x509.Certificate | None:
    """Return the Mozilla root that issued a certificate, checked by signature.

    A root is only accepted when its subject equals the certificate's issuer
    and its key verifies the signature, so a private CA that copies a public
    root's name does not pass.
    """
    for root in public_roots().values():
        if root.subject == certificate.issuer and signed_by(certificate, root):
            return root
    return None


def public_trust_anchor(chain: Sequence[x509.Certificate]) -> x509.Certificate | None:
    """Return the Mozilla root a chain leads to, or None if it leads to none.

    The walk starts at the leaf and moves up while each certificate is signed
    by the next one. The chain is publicly trusted when the walk reaches a
    certificate that carries a Mozilla root's key (the root itself, or a
    cross-signed copy), or when a Mozilla root issued the last certificate it
    reached. Servers usually leave the root out, which the second test covers.
    A public root appended to a private chain is never reached, so it does not
    make an intercepted chain look public.
    """
    roots = public_roots()
    for position, certificate in enumerate(chain):
        root = roots.get(spki_pin(certificate))
        if root is not None:
            return root
        above = chain[position + 1] if position + 1 < len(chain) else None
        if above is None or not signed_by(certificate, above):
            return issuing_public_root(certificate)
    return None


def root_name(chain: Sequence[x509.Certificate]) -> str:
    """Return the name of the CA at the top of a chain.

    That is the top certificate itself when it is self-issued, else its issuer,
    which the client did not receive.
    """
    top = chain[-1]
    if top.subject == top.issuer:
        return display_name(top.subject)
    return display_name(top.issuer)


def match_inspection_root(
    chain: Sequence[x509.Certificate], entries: Sequence[str]
) -> str | None:
    """Return the first configured inspection root entry that matches a chain.

    An entry that reads as a pin matches the SPKI pin of any certificate in the
    chain. Any other entry matches, case-insensitively, part of the issuer of a
    certificate or the subject of a CA certificate above the leaf.
    """
    pins = {spki_pin(certificate) for certificate in chain}
    names = [certificate.issuer.rfc4514_string().lower() for certificate in chain]
    names += [certificate.subject.rfc4514_string().lower() for certificate in chain[1:]]
    for entry in entries:
        pin = _entry_pin(entry)
        if pin is not None and pin in pins:
            return entry
        text = entry.strip().lower()
        if pin is None and text and any(text in name for name in names):
            return entry
    return None


def _entry_pin(entry: str) -> str | None:
    try:
        return normalize_pin(entry)
    except PinError:
        return None
