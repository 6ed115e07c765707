from sqlalchemy.orm import Session

from service.analysis.breakdown import build_breakdown
from service.pins.certificates import certificate_sha256
from tests.analysis.factories import (
    add_pin,
    add_sample,
    make_app,
    make_domain,
    make_release,
    make_signature,
)
from tests.certs import issue, make_chain

HOSTNAME = "api.example.com"


def test_breakdown_lists_certificates_leaf_first(db: Session) -> None:
    domain = make_domain(db)
    chain = make_chain(HOSTNAME)
    pin = add_pin(db, domain, chain.intermediate.pin, "current")
    release = make_release(db, make_app(db), "4.1.0")
    signature = make_signature(db, domain, "chain_invalid")
    sample = add_sample(
        db, signature, release, chain.certificates, [chain.intermediate.pin]
    )

    breakdown = build_breakdown(db, sample, {pin.spki_sha256: pin}, [])

    leaf, intermediate, root = breakdown.certificates
    assert [leaf.position, intermediate.position, root.position] == [0, 1, 2]
    assert leaf.subject == f"CN={HOSTNAME}"
    assert leaf.issuer == "CN=Test Intermediate CA"
    assert leaf.subject_alt_names == [HOSTNAME]
    assert leaf.sha256 == certificate_sha256(chain.leaf.certificate)
    assert leaf.spki_sha256 == chain.leaf.pin
    assert leaf.not_after == chain.leaf.certificate.not_valid_after_utc
    assert intermediate.in_pinset is True
    assert intermediate.registered_role == "current"
    assert leaf.in_pinset is False
    assert leaf.registered_role is None
    assert root.kind == "root"
    assert root.public_root is False


def test_breakdown_sums_up_the_chain(db: Session) -> None:
    domain = make_domain(db)
    chain = make_chain(HOSTNAME)
    release = make_release(db, make_app(db), "4.1.0")
    signature = make_signature(db, domain, "chain_invalid")
    sample = add_sample(db, signature, release, chain.certificates, [])

    breakdown = build_breakdown(db, sample, {}, ["Test Root"])

    assert breakdown.covers_hostname is True
    assert breakdown.publicly_trusted is False
    assert breakdown.trust_anchor is None
    assert breakdown.root == "Test Root CA"
    assert breakdown.inspection_root == "Test Root"
    assert breakdown.app == "android:com.example.bank"
    assert breakdown.version == "4.1.0"


def test_breakdown_counts_missing_certificates(db: Session) -> None:
    domain = make_domain(db)
    chain = make_chain(HOSTNAME)
    release = make_release(db, make_app(db), "4.1.0")
    signature = make_signature(db, domain, "interception")
    sample = add_sample(db, signature, release, [chain.leaf], [])
    sample.served_chain = [*sample.served_chain, "missing-certificate-id"]

    breakdown = build_breakdown(db, sample, {}, [])

    assert len(breakdown.certificates) == 1
    assert breakdown.missing_certificates == 1


def test_breakdown_marks_known_pins(db: Session) -> None:
    domain = make_domain(db)
    chain = make_chain(HOSTNAME)
    old = issue("Old Intermediate", chain.root, ca=True)
    pin = add_pin(db, domain, old.pin, "retired", "2024 intermediate")
    release = make_release(db, make_app(db), "4.1.0")
    signature = make_signature(db, domain, "rotation_casualty")
    known = [old.pin, chain.leaf.pin, old.pin]
    sample = add_sample(db, signature, release, chain.certificates, known)

    breakdown = build_breakdown(db, sample, {pin.spki_sha256: pin}, [])

    retired, leaf = breakdown.known_pins
    assert len(breakdown.known_pins) == 2
    assert retired.served is False
    assert retired.registered_role == "retired"
    assert retired.label == "2024 intermediate"
    assert leaf.served is True
    assert leaf.wrong_hash is None
