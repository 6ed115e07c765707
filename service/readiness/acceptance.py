"""Acceptance of candidate keys by the active installs of each app.

A build accepts a chain when its pinset shares a pin with the chain, or when its
pinning is not enforced (expired pinset, or enforcement turned off). A release
with no known pinset for the domain counts as rejecting, because Pinwatch cannot
show that it would accept the key.
"""

from service.readiness.fleet import AppFleet, ReleaseInstalls
from service.readiness.schemas import (
    AppAcceptance,
    ReadinessPolicy,
    VersionShare,
    VersionStatus,
)

ACCEPTING: tuple[VersionStatus, ...] = ("covered", "unenforced")
# Reasons name at most this many blocking versions, then count the rest.
MAX_NAMED_VERSIONS = 3


def release_status(
    release: ReleaseInstalls, candidate: frozenset[str]
) -> VersionStatus:
    """Return the status of one release's build for a chain with the candidate pins."""
    if release.pinset is None:
        return "unknown_pinset"
    if release.pinset.pins & candidate:
        return "covered"
    if not release.pinset.enforced:
        return "unenforced"
    return "lacks_pin"


def ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def measure_app(
    fleet: AppFleet, candidate: frozenset[str], policy: ReadinessPolicy
) -> AppAcceptance:
    """Measure how many active installs of one app accept the candidate pins."""
    active = fleet.active_installs
    versions = [
        VersionShare(
            version=release.version,
            installs=release.installs,
            share=ratio(release.installs, active),
            status=release_status(release, candidate),
        )
        for release in fleet.releases
    ]
    versions.sort(key=lambda item: (-item.installs, item.version))

    covered = _installs_with(versions, "covered")
    unenforced = _installs_with(versions, "unenforced")
    adoption = ratio(covered + unenforced, active)
    return AppAcceptance(
        app=fleet.ref,
        active_installs=active,
        accepting=covered + unenforced,
        covered_by_pin=covered,
        unenforced=unenforced,
        adoption=adoption,
        ready=has_enough_installs(active, policy)
        and adoption >= policy.adoption_threshold,
        blocking_versions=[v for v in versions if v.status not in ACCEPTING],
        versions=versions,
    )


def has_enough_installs(active: int, policy: ReadinessPolicy) -> bool:
    # With min_installs set to 0, an app with no active installs still has
    # nothing to measure, so one install is the floor.
    return active >= max(policy.min_installs, 1)


def _installs_with(versions: list[VersionShare], status: VersionStatus) -> int:
    return sum(item.installs for item in versions if item.status == status)


def percent(value: float) -> str:
    """Format a ratio as a percentage, rounded down to one decimal.

    Rounding down keeps an adoption just under the threshold from printing as
    the threshold itself.
    """
    tenths = int(value * 1000 + 1e-9)
    return f"{tenths / 10:.1f} %"


def app_reasons(
    acceptance: AppAcceptance, policy: ReadinessPolicy, domain: str, lacks: str
) -> list[str]:
    """Return the reasons why an app is not ready, and flag unprotected installs.

    ``lacks`` completes "4.1.0 (612 installs) ..." for a build that rejects
    the key, such as "lacks the pin".
    """
    reasons = []
    if not has_enough_installs(acceptance.active_installs, policy):
        reasons.append(_insufficient_data(acceptance, policy))
    if acceptance.adoption < policy.adoption_threshold:
        reasons.append(_below_threshold(acceptance, policy, domain, lacks))
    if acceptance.unenforced:
        reasons.append(_unprotected(acceptance))
    return reasons


def _insufficient_data(acceptance: AppAcceptance, policy: ReadinessPolicy) -> str:
    return (
        f"{acceptance.app}: not ready: insufficient data, "
        f"{acceptance.active_installs} active installs in the last "
        f"{policy.window_days} days, below the minimum of {policy.min_installs}."
    )


def _below_threshold(
    acceptance: AppAcceptance, policy: ReadinessPolicy, domain: str, lacks: str
) -> str:
    sentence = (
        f"{acceptance.app}: adoption {percent(acceptance.adoption)} is below the "
        f"{policy.adoption_threshold * 100:.1f} % threshold"
    )
    blocking = acceptance.blocking_versions
    if not blocking:
        return sentence + "."
    named = [_blocking_clause(item, domain, lacks) for item in blocking]
    rest = len(named) - MAX_NAMED_VERSIONS
    clauses = ", ".join(named[:MAX_NAMED_VERSIONS])
    if rest > 0:
        clauses += f", and {rest} more versions reject it"
    return f"{sentence}; {clauses}."


def _blocking_clause(item: VersionShare, domain: str, lacks: str) -> str:
    unit = "install" if item.installs == 1 else "installs"
    head = f"{item.version} ({item.installs} {unit})"
    if item.status == "unknown_pinset":
        return (
            f"{head} has no known pinset for {domain} and counts as rejecting "
            "until its release is declared"
        )
    return f"{head} {lacks}"


def _unprotected(acceptance: AppAcceptance) -> str:
    share = percent(ratio(acceptance.unenforced, acceptance.active_installs))
    return (
        f"{acceptance.app}: {acceptance.unenforced} installs ({share}) accept only "
        "because their pinning is not enforced (expired pinset or enforcement "
        "off), so they are unprotected."
    )
