"""The speed targets, each checked against the figures of one run."""

from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.cases import CaseResult
from benchmarks.soak import SoakResult

BATCH_EVENTS_PER_SECOND = 25_000
SINGLE_EVENT_SHARE = 0.40
READINESS_P99_MS = 50.0
READINESS_MAX_AGE_SECONDS = 60.0
READINESS_RECOMPUTE_SECONDS = 2.0
READINESS_INSTALLS = 1_000_000
SCRAPE_MS = 250.0
SOAK_SECONDS = 600


@dataclass(frozen=True)
class Verdict:
    target: str
    measured: str
    met: bool | None  # None when the run did not measure it


Results = dict[str, CaseResult]


def _missing(target: str) -> Verdict:
    return Verdict(target, "not measured in this run", None)


def _batch(results: Results) -> Verdict:
    target = f"batch ingest on PostgreSQL >= {BATCH_EVENTS_PER_SECOND:,} events/s"
    case = results.get("native_100_postgresql")
    if case is None or case.load is None:
        return _missing(target)
    rate = case.load.events_per_second
    return Verdict(target, f"{rate:,.0f} events/s", rate >= BATCH_EVENTS_PER_SECOND)


def _single(results: Results, kind: str, name: str) -> Verdict:
    target = (
        f"single-event ingest on {name} >= {SINGLE_EVENT_SHARE:.0%} "
        "of the bare endpoint's requests/s"
    )
    case, bare = results.get(f"native_1_{kind}"), results.get("bare")
    if case is None or bare is None or case.load is None or bare.load is None:
        return _missing(target)
    share = case.load.requests_per_second / bare.load.requests_per_second
    measured = (
        f"{share:.1%} ({case.load.requests_per_second:,.0f} of "
        f"{bare.load.requests_per_second:,.0f} requests/s, "
        f"{case.connections} connections)"
    )
    return Verdict(target, measured, share >= SINGLE_EVENT_SHARE)


def _readiness(results: Results) -> list[Verdict]:
    latency = f"readiness p99 <= {READINESS_P99_MS:.0f} ms, served from a snapshot"
    age = f"readiness snapshot no older than {READINESS_MAX_AGE_SECONDS:.0f} s"
    recompute = (
        f"readiness recomputation <= {READINESS_RECOMPUTE_SECONDS:.0f} s "
        "at 1,000,000 installs"
    )
    case = results.get("readiness")
    if case is None or case.load is None:
        return [_missing(latency), _missing(age), _missing(recompute)]
    p99 = case.load.p99_ms
    seconds = case.extra["recompute_max_seconds"]
    snapshot_age = case.extra["snapshot_age_seconds"]
    return [
        Verdict(latency, f"{p99:.1f} ms", p99 <= READINESS_P99_MS),
        Verdict(age, f"{snapshot_age:.0f} s at the end of the run", snapshot_age <= 60),
        Verdict(
            recompute,
            f"{seconds:.2f} s (slowest of 5) at {case.note}",
            seconds <= READINESS_RECOMPUTE_SECONDS
            and case.installs >= READINESS_INSTALLS,
        ),
    ]


def _scrape(results: Results) -> list[Verdict]:
    latency = f"/metrics scrape p99 <= {SCRAPE_MS:.0f} ms"
    recompute = f"/metrics collector recomputation <= {SCRAPE_MS:.0f} ms"
    case = results.get("scrape")
    if case is None or case.load is None:
        return [_missing(latency), _missing(recompute)]
    p99 = case.load.p99_ms
    seconds = case.extra["recompute_max_seconds"]
    return [
        Verdict(latency, f"{p99:.1f} ms", p99 <= SCRAPE_MS),
        Verdict(
            recompute,
            f"{seconds * 1000:.0f} ms (slowest of 5)",
            seconds * 1000 <= SCRAPE_MS,
        ),
    ]


def _soak(soak: SoakResult | None) -> Verdict:
    target = "memory flat over a ten-minute soak"
    if soak is None:
        return _missing(target)
    measured = (
        f"{soak.early_mib:.0f} MiB -> {soak.late_mib:.0f} MiB "
        f"({soak.growth:+.1%}) over {soak.seconds / 60:.0f} min"
    )
    if soak.seconds < SOAK_SECONDS:
        return Verdict(target, measured + ", shorter than the target's", None)
    return Verdict(target, measured, soak.flat)


def verdicts(results: Results, soak: SoakResult | None) -> list[Verdict]:
    checks: list[Callable[[], list[Verdict]]] = [
        lambda: [_batch(results)],
        lambda: [_single(results, "postgresql", "PostgreSQL")],
        lambda: [_single(results, "sqlite", "SQLite")],
        lambda: _readiness(results),
        lambda: _scrape(results),
        lambda: [_soak(soak)],
    ]
    return [verdict for check in checks for verdict in check()]
