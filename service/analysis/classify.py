"""Classification of pin failures: one cause for each failure.

The rules below run in this order, and the first rule that matches decides.
Pins are canonical SPKI pins (see ``service.pins.pins``). The served keys are
the pins of the served certificates and any served pins the client sent.

1. ``unknown``: the failure carries neither certificates nor served pins, as
   with an iOS report whose chain was missing or unreadable.
2. ``captive_portal``: the served leaf does not cover the hostname (SAN DNS
   names and IP addresses with RFC 6125 wildcards, the common name only when
   the leaf has no SAN). The connection never reached the backend, so the keys
   of that chain tell nothing about the backend.
3. ``clock_skew``: the device time is more than ``max_clock_skew`` (24 hours
   unless configured) away from the receive time, or a served certificate is
   not yet valid or already expired at the device time but valid at the
   receive time. A wrong clock fails validation of any chain, even a pinned
   one. A report that arrives more than ``max_clock_skew`` after the failure
   looks the same as a wrong clock.
4. ``pin_misconfigured``: the build's known pins contain the SHA-256 of a
   served certificate's whole DER (its fingerprint) or of its raw public key,
   not an SPKI pin. Such a build fails on every chain until it is fixed.
5. ``chain_invalid``: a served key is in the build's pinset, yet validation
   failed. Pinning alone would have passed, so the cause is on the client,
   for example a chain the device's trust store rejects.
6. ``rotation_casualty``: a served key is registered for the domain (any role)
   but missing from the build's pinset: the backend moved ahead of the build.
7. ``interception``: the chain does not lead to a Mozilla root from certifi,
   which points to TLS inspection or an attack. Known enterprise inspection
   roots are labelled when the failure is analysed and stay ``interception``.
8. ``unpinned_public_key``: the chain leads to a Mozilla root but contains no
   registered key: an unplanned certificate change, a CDN switch, or
   mis-issuance.
9. ``unknown``: served pins without certificates that match neither the
   pinset nor a registered key.

The client's own result code (``result``, ``validation_result``) is kept with
the failure but is not evidence here, because each rule above checks the
served chain itself.

Interception, captive portals and clock skew come from the user's network or
device (``NETWORK_OR_DEVICE_CAUSES``), not from a rotation. Removal readiness
(``service.readiness.removal``) ignores failures with these classifications,
and no rotation alert fires on them.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal, get_args

from cryptography import x509

from service.analysis import chains
from service.pins.certificates import (
    certificate_sha256,
    public_key_sha256,
    spki_pin,
)

Classification = Literal[
    "rotation_casualty",
    "unpinned_public_key",
    "interception",
    "captive_portal",
    "clock_skew",
    "chain_invalid",
    "pin_misconfigured",
    "unknown",
]
CLASSIFICATIONS: tuple[str, ...] = get_args(Classification)

NETWORK_OR_DEVICE_CAUSES = frozenset({"interception", "captive_portal", "clock_skew"})

DEFAULT_MAX_CLOCK_SKEW = timedelta(hours=24)
# Hashes are cached per certificate (cryptography compares certificates by
# their DER), because a failure storm repeats the same few chains.
CACHED_CERTIFICATES = 1024


@lru_cache(maxsize=CACHED_CERTIFICATES)
def _spki_pin(certificate: x509.Certificate) -> str:
    return spki_pin(certificate)


@dataclass
class FailureFacts:
    """Facts about one failure at the time it is stored."""

    hostname: str
    received_at: datetime
    served_chain: list[x509.Certificate] = field(default_factory=list)
    served_pins: list[str] = field(default_factory=list)
    known_pins: list[str] = field(default_factory=list)
    # Pins registered for the failure's domain, with their role; empty when the
    # hostname matches no registered domain.
    registered: dict[str, str] = field(default_factory=dict)
    validation_result: int | None = None
    result: str | None = None
    device_time: datetime | None = None

    def served_keys(self) -> set[str]:
        """Return the pins of the served certificates and the served pins."""
        return {_spki_pin(cert) for cert in self.served_chain} | set(self.served_pins)


def classify(
    facts: FailureFacts, *, max_clock_skew: timedelta = DEFAULT_MAX_CLOCK_SKEW
) -> Classification:
    """Return the one classification of a failure; see the module docstring."""
    if not facts.served_chain and not facts.served_pins:
        return "unknown"
    if is_captive_portal(facts):
        return "captive_portal"
    if is_clock_skew(facts, max_clock_skew):
        return "clock_skew"
    if misconfigured_pins(facts.served_chain, facts.known_pins):
        return "pin_misconfigured"
    return _classify_by_keys(facts)


def _classify_by_keys(facts: FailureFacts) -> Classification:
    served = facts.served_keys()
    if served & set(facts.known_pins):
        return "chain_invalid"
    if (served & facts.registered.keys()) - set(facts.known_pins):
        return "rotation_casualty"
    if not facts.served_chain:
        return "unknown"
    if chains.public_trust_anchor(facts.served_chain) is None:
        return "interception"
    return "unpinned_public_key"


def is_captive_portal(facts: FailureFacts) -> bool:
    if not facts.served_chain:
        return False
    return not chains.covers_hostname(facts.served_chain[0], facts.hostname)


def is_clock_skew(facts: FailureFacts, max_clock_skew: timedelta) -> bool:
    if facts.device_time is None:
        return False
    device_time = chains.as_utc(facts.device_time)
    received_at = chains.as_utc(facts.received_at)
    if abs(device_time - received_at) > max_clock_skew:
        return True
    return bool(
        invalid_only_at_device_time(facts.served_chain, device_time, received_at)
    )


def invalid_only_at_device_time(
    chain: Iterable[x509.Certificate], device_time: datetime, received_at: datetime
) -> list[int]:
    """Return the positions of certificates invalid only at the device time."""
    return [
        position
        for position, certificate in enumerate(chain)
        if not chains.valid_at(certificate, device_time)
        and chains.valid_at(certificate, received_at)
    ]


def misconfigured_pins(
    chain: Iterable[x509.Certificate], known_pins: Iterable[str]
) -> dict[str, tuple[int, str]]:
    """Find known pins that are a served certificate's fingerprint or key hash.

    Returns each such pin with the position of its certificate and the kind of
    hash: ``certificate_sha256`` (the whole DER) or ``public_key_sha256`` (the
    raw key without the SPKI wrapper).
    """
    known = set(known_pins)
    found: dict[str, tuple[int, str]] = {}
    for position, certificate in enumerate(chain):
        for kind, digest in _wrong_hashes(certificate):
            if digest in known:
                found[digest] = (position, kind)
    return found


@lru_cache(maxsize=CACHED_CERTIFICATES)
def _wrong_hashes(certificate: x509.Certificate) -> tuple[tuple[str, str], ...]:
    hashes = [
        ("certificate_sha256", certificate_sha256(certificate)),
        ("public_key_sha256", public_key_sha256(certificate)),
    ]
    # For key types without a raw form the key hash falls back to the SPKI
    # pin itself, which is the right pin and must not count as a wrong one.
    correct = _spki_pin(certificate)
    return tuple((kind, digest) for kind, digest in hashes if digest != correct)
