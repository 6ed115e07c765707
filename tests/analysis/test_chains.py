import ipaddress
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from service.analysis import chains
from tests.analysis.certificates import (
    issue_with_name,
    public_root,
    trust_as_public,
)
from tests.certs import NOW, Issued, issue, make_chain, new_key


def issue_for_address(address: str, issuer: Issued) -> Issued:
    """Issue a leaf whose SAN contains one IP address."""
    key = new_key()
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(issuer.certificate.subject)
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(san, critical=False)
        .sign(issuer.key, hashes.SHA256())
    )
    return Issued(certificate, key)


@pytest.mark.parametrize(
    ("pattern", "hostname", "expected"),
    [
        ("api.example.com", "api.example.com", True),
        ("API.Example.com.", "api.example.com", True),
        ("api.example.com", "www.example.com", False),
        ("*.example.com", "api.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.b.example.com", False),
        ("*.com", "example.com", False),
        ("a*.example.com", "api.example.com", False),
        ("*.0.0.10", "10.0.0.10", False),
    ],
)
def test_name_matches_rfc6125_rules(
    pattern: str, hostname: str, expected: bool
) -> None:
    assert chains.name_matches(pattern, hostname) is expected


def test_covers_hostname_uses_san_over_cn() -> None:
    chain = make_chain("api.example.com")
    leaf = issue("api.example.com", chain.intermediate, sans=["www.example.com"])

    assert chains.covers_hostname(leaf.certificate, "api.example.com") is False


def test_covers_hostname_falls_back_to_cn() -> None:
    chain = make_chain("api.example.com")
    leaf = issue("api.example.com", chain.intermediate)

    assert chains.covers_hostname(leaf.certificate, "api.example.com") is True


def test_covers_hostname_compares_idn_as_ascii() -> None:
    chain = make_chain("xn--bcher-kva.example")

    assert chains.covers_hostname(chain.leaf.certificate, "bücher.example") is True


def test_covers_hostname_matches_ip_san() -> None:
    leaf = issue_for_address("192.0.2.7", make_chain().intermediate)

    assert chains.covers_hostname(leaf.certificate, "192.0.2.7") is True
    assert chains.covers_hostname(leaf.certificate, "192.0.2.8") is False


def test_valid_at_reads_naive_time_as_utc() -> None:
    leaf = make_chain().leaf.certificate
    before = leaf.not_valid_before_utc - timedelta(seconds=1)

    assert chains.valid_at(leaf, before.replace(tzinfo=None)) is False
    assert chains.valid_at(leaf, NOW) is True


def test_public_trust_anchor_by_root_pin_in_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chain = make_chain()
    trust_as_public(monkeypatch, chain.root)
    served = [item.certificate for item in chain.certificates]

    assert chains.public_trust_anchor(served) == chain.root.certificate


def test_appended_public_root_is_not_reached() -> None:
    root = public_root("ISRG Root X1")
    chain = make_chain()
    served = [chain.leaf.certificate, chain.intermediate.certificate, root]

    assert chains.public_trust_anchor(served) is None


def test_public_trust_anchor_by_issuer_signature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = issue("Generated Public Root", ca=True)
    trust_as_public(monkeypatch, root)
    chain = make_chain(root=root)
    served = [chain.leaf.certificate, chain.intermediate.certificate]

    assert chains.public_trust_anchor(served) == root.certificate


def test_public_trust_anchor_rejects_copied_name() -> None:
    real = public_root("ISRG Root X1")
    forged = issue_with_name(real.subject)
    intermediate = issue("R11", forged, ca=True)

    assert intermediate.certificate.issuer == real.subject
    assert chains.issuing_public_root(intermediate.certificate) is None
    assert chains.public_trust_anchor([intermediate.certificate]) is None


def test_root_name_of_chain_without_root() -> None:
    chain = make_chain()
    served = [chain.leaf.certificate, chain.intermediate.certificate]

    assert chains.root_name(served) == "Test Root CA"


def test_root_name_of_self_issued_top() -> None:
    chain = make_chain()

    assert chains.root_name([c.certificate for c in chain.certificates]) == (
        "Test Root CA"
    )


def test_inspection_root_matches_subject_text() -> None:
    chain = make_chain(root=issue("Corp Inspection CA", ca=True))
    served = [chain.leaf.certificate, chain.intermediate.certificate]

    match = chains.match_inspection_root(served, ["Zscaler", "corp inspection"])

    assert match == "corp inspection"


def test_inspection_root_matches_pin() -> None:
    chain = make_chain(root=issue("Appliance CA", ca=True))
    entry = f"sha256/{chain.root.pin}"
    served = [c.certificate for c in chain.certificates]

    assert chains.match_inspection_root(served, [entry]) == entry


def test_inspection_root_ignores_leaf_subject() -> None:
    chain = make_chain("corp.example.com")
    served = [chain.leaf.certificate, chain.intermediate.certificate]

    assert chains.match_inspection_root(served, ["corp.example"]) is None


def test_as_utc_converts_offsets() -> None:
    moment = datetime(2026, 1, 1, 14, tzinfo=timezone(timedelta(hours=2)))

    assert chains.as_utc(moment) == datetime(2026, 1, 1, 12, tzinfo=UTC)
