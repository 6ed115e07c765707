from service.analysis.schemas import (
    CertificateEntry,
    CertificateKind,
    ChainBreakdown,
    KnownPin,
)
from service.analysis.verdict import SUMMARIES, join_words, rotation_verdict, verdict
from tests.certs import NOW

HOSTNAME = "api.example.com"


def known_pin(pin: str, role: str | None, served: bool, label: str = "") -> KnownPin:
    return KnownPin(
        spki_sha256=pin,
        served=served,
        registered_role=role,
        label=label or None,
        wrong_hash=None,
        wrong_hash_position=None,
    )


def served(position: int, kind: CertificateKind, role: str | None) -> CertificateEntry:
    return CertificateEntry(
        position=position,
        kind=kind,
        sha256=str(position) * 44,
        subject=f"CN={kind}",
        issuer="CN=issuer",
        not_before=None,
        not_after=None,
        subject_alt_names=[],
        spki_sha256=chr(ord("A") + position) * 43 + "=",
        in_pinset=False,
        registered_role=role,
        public_root=False,
        issued_by_public_root=False,
    )


def sample(
    known_pins: list[KnownPin], certificates: list[CertificateEntry] | None = None
) -> ChainBreakdown:
    return ChainBreakdown(
        received_at=NOW,
        device_time=None,
        device_time_utc=None,
        hostname=HOSTNAME,
        app="ios:com.example.bank",
        version="4.1.0",
        result="pin_mismatch",
        known_pins=known_pins,
        certificates=certificates or [],
        missing_certificates=0,
        covers_hostname=None,
        publicly_trusted=False,
        trust_anchor=None,
        root=None,
        inspection_root=None,
    )


def test_join_words_reads_as_prose() -> None:
    assert join_words([]) == ""
    assert join_words(["leaf"]) == "leaf"
    assert join_words(["leaf", "root"]) == "leaf and root"
    assert join_words(["a", "b", "c"]) == "a, b and c"


def test_verdict_without_sample_is_summary() -> None:
    assert verdict("clock_skew", None, HOSTNAME) == SUMMARIES["clock_skew"]


def test_verdict_falls_back_when_chain_is_missing() -> None:
    text = verdict("rotation_casualty", sample([]), HOSTNAME)

    assert text == SUMMARIES["rotation_casualty"]


def test_rotation_verdict_names_every_unserved_pin() -> None:
    pins = [
        known_pin("P" * 43 + "=", "retired", False, "2024 key"),
        known_pin("Q" * 43 + "=", "current", False),
    ]
    chain = [served(0, "leaf", None), served(1, "intermediate", "backup")]

    text = rotation_verdict(sample(pins, chain), HOSTNAME)

    assert text == (
        "The served intermediate key is registered for api.example.com as backup "
        'but missing from this build\'s pinset. The pinned keys "2024 key" '
        f"(retired) and sha256/{'Q' * 43}= (current) are no longer served."
    )


def test_rotation_verdict_without_registered_pinned_keys() -> None:
    pins = [known_pin("P" * 43 + "=", None, False)]
    chain = [served(0, "leaf", "current")]

    text = rotation_verdict(sample(pins, chain), None)

    assert text == (
        "The served leaf key is registered for the domain as current but missing "
        "from this build's pinset. None of the build's pinned keys is served."
    )
