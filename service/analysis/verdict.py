"""Plain-sentence verdicts: why the failures of one incident happened.

A verdict reads the breakdown of the incident's latest sampled failure. Without
a sample, or when the sample lacks what a sentence needs, it falls back to the
classification's summary.
"""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from service.analysis.chains import as_utc
from service.analysis.classify import Classification
from service.analysis.schemas import CertificateEntry, ChainBreakdown, KnownPin
from service.pins.pins import display_pin

SUMMARIES: dict[Classification, str] = {
    "rotation_casualty": (
        "The server presents a key registered for the domain that the build does "
        "not pin, so the backend rotated before the build trusted the new key."
    ),
    "unpinned_public_key": (
        "The chain is publicly trusted but contains no registered key: an unplanned "
        "certificate change, a CDN switch or mis-issuance."
    ),
    "interception": (
        "The chain leads to a root that is not publicly trusted: TLS inspection "
        "or an attack."
    ),
    "captive_portal": (
        "The served certificate does not cover the hostname: a captive portal or "
        "another network that redirects the connection."
    ),
    "clock_skew": (
        "The device clock is far from the real time, so valid certificates look "
        "expired or not yet valid."
    ),
    "chain_invalid": (
        "A pinned key is served, yet validation failed: a cause on the client, "
        "such as a device that does not trust the chain."
    ),
    "pin_misconfigured": (
        "The build pins a certificate fingerprint or a raw key hash instead of an "
        "SPKI pin."
    ),
    "unknown": (
        "There is too little data to tell why validation failed, for example a "
        "report without a served chain."
    ),
}


def join_words(words: Sequence[str]) -> str:
    """Join words as prose: ``a``, ``a and b``, ``a, b and c``."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _kinds(entries: Sequence[CertificateEntry]) -> str:
    return join_words(list(dict.fromkeys(entry.kind for entry in entries)))


def _plural(count: int, singular: str, plural: str) -> str:
    return singular if count == 1 else plural


def _pin_name(pin: KnownPin) -> str:
    name = f'"{pin.label}"' if pin.label else display_pin(pin.spki_sha256)
    return f"{name} ({pin.registered_role})"


def rotation_verdict(sample: ChainBreakdown, domain: str | None) -> str | None:
    new = [c for c in sample.certificates if c.registered_role and not c.in_pinset]
    if not new:
        return None
    roles = join_words(sorted({entry.registered_role or "" for entry in new}))
    first = (
        f"The served {_kinds(new)} {_plural(len(new), 'key is', 'keys are')} "
        f"registered for {domain or 'the domain'} as {roles} but missing from "
        "this build's pinset."
    )
    unserved = [
        pin for pin in sample.known_pins if pin.registered_role and not pin.served
    ]
    if unserved:
        names = join_words([_pin_name(pin) for pin in unserved])
        subject = _plural(len(unserved), "key", "keys")
        verb = _plural(len(unserved), "is", "are")
        return f"{first} The pinned {subject} {names} {verb} no longer served."
    return f"{first} None of the build's pinned keys is served."


def interception_verdict(sample: ChainBreakdown, domain: str | None) -> str | None:
    if sample.root is None:
        return None
    if sample.inspection_root is not None:
        return (
            f"The chain ends at a known TLS inspection root ({sample.root}): "
            "TLS interception by an inspection proxy, not a rotation problem."
        )
    return f"The chain ends at an untrusted root ({sample.root}): TLS interception."


def captive_portal_verdict(sample: ChainBreakdown, domain: str | None) -> str | None:
    if not sample.certificates:
        return None
    leaf = sample.certificates[0]
    names = leaf.subject_alt_names or [leaf.subject]
    listed = join_words(names[:3]) + (" and others" if len(names) > 3 else "")
    return (
        f"The served certificate is for {listed}, not {sample.hostname}: a captive "
        "portal or another network that redirects the connection."
    )


def _duration(delta: timedelta) -> str:
    seconds = abs(delta.total_seconds())
    if seconds >= 2 * 365.25 * 86400:
        return f"{seconds / (365.25 * 86400):,.0f} years"
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:,.0f} days"
    return f"{seconds / 3600:,.1f} hours"


def _invalid_at(entry: CertificateEntry, moment: datetime) -> str | None:
    if entry.not_before is not None and moment < entry.not_before:
        return "not yet valid"
    if entry.not_after is not None and moment > entry.not_after:
        return "expired"
    return None


def clock_skew_verdict(sample: ChainBreakdown, domain: str | None) -> str | None:
    if sample.device_time_utc is None:
        return None
    device_time = as_utc(sample.device_time_utc)
    offset = device_time - sample.received_at
    direction = "behind" if offset < timedelta(0) else "ahead of"
    sentence = (
        f"The device clock read {device_time:%Y-%m-%d %H:%M} UTC, "
        f"{_duration(offset)} {direction} the time the report arrived"
    )
    for entry in sample.certificates:
        state = _invalid_at(entry, device_time)
        if state is not None and _invalid_at(entry, sample.received_at) is None:
            sentence += f", when the {entry.kind} certificate was {state}"
            break
    return sentence + ": a wrong device clock."


def pin_misconfigured_verdict(sample: ChainBreakdown, domain: str | None) -> str | None:
    for pin in sample.known_pins:
        if pin.wrong_hash is None or pin.wrong_hash_position is None:
            continue
        entry = sample.certificates[pin.wrong_hash_position]
        hash_description = (
            "certificate fingerprint (SHA-256 of the whole DER)"
            if pin.wrong_hash == "certificate_sha256"
            else "SHA-256 of the raw public key"
        )
        return (
            f"The build pins the {hash_description} of the served {entry.kind} "
            f"certificate instead of its SPKI pin, {display_pin(entry.spki_sha256)}."
        )
    return None


def chain_invalid_verdict(sample: ChainBreakdown, domain: str | None) -> str | None:
    pinned = [entry for entry in sample.certificates if entry.in_pinset]
    if not pinned:
        return None
    return (
        f"The served chain contains the pinned {_kinds(pinned)} "
        f"{_plural(len(pinned), 'key', 'keys')}, yet validation failed: a cause "
        "on the client, such as a device that does not trust the chain."
    )


def unpinned_verdict(sample: ChainBreakdown, domain: str | None) -> str | None:
    if sample.trust_anchor is None:
        return None
    return (
        f"The chain is publicly trusted (it leads to {sample.trust_anchor}) but "
        f"contains no key registered for {domain or 'the hostname'}: an unplanned "
        "certificate change, a CDN switch or mis-issuance."
    )


def unknown_verdict(sample: ChainBreakdown, domain: str | None) -> str | None:
    if sample.certificates:
        return None
    return (
        "The failure carries no usable served chain, so its cause cannot be determined."
    )


_VERDICTS: dict[str, Callable[[ChainBreakdown, str | None], str | None]] = {
    "rotation_casualty": rotation_verdict,
    "interception": interception_verdict,
    "captive_portal": captive_portal_verdict,
    "clock_skew": clock_skew_verdict,
    "pin_misconfigured": pin_misconfigured_verdict,
    "chain_invalid": chain_invalid_verdict,
    "unpinned_public_key": unpinned_verdict,
    "unknown": unknown_verdict,
}


def verdict(
    classification: Classification, sample: ChainBreakdown | None, domain: str | None
) -> str:
    """Return one or two sentences that explain an incident's failures."""
    if sample is None:
        return SUMMARIES[classification]
    sentence = _VERDICTS[classification](sample, domain)
    return sentence or SUMMARIES[classification]
