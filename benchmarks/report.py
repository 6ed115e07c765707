"""The Markdown page of one run: machine, commands, results and targets."""

import os
import platform
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from benchmarks.cases import CaseResult, RunConfig
from benchmarks.soak import SoakResult
from benchmarks.targets import Verdict, verdicts

ANALYSIS = Path(__file__).with_name("analysis.md")
PACKAGES = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "psycopg", "pydantic")


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


def machine(postgres: str, load_before: str, load_after: str) -> list[str]:
    packages = ", ".join(f"{name} {version(name)}" for name in PACKAGES)
    return [
        f"- CPU: {_cpu_model()}, {os.cpu_count()} logical CPUs (`nproc`)",
        f"- Memory: {_memory_gib():.1f} GiB",
        f"- Python {platform.python_version()}, PostgreSQL {postgres} on 127.0.0.1",
        f"- {packages}",
        f"- Load average (1, 5, 15 min) before the run: {load_before}; after "
        f"it: {load_after}. A load above zero before the run means other work "
        "shared the CPUs, which lowers every figure.",
    ]


def _rate(case: CaseResult) -> str:
    assert case.load is not None
    if case.key.startswith("native_100") or case.key == "soak":
        return f"{case.load.events_per_second:,.0f} events/s"
    return f"{case.load.requests_per_second:,.0f} requests/s"


def _ratio(case: CaseResult, bare: CaseResult | None) -> str:
    if bare is None or bare.load is None or case.load is None:
        return "-"
    share = case.load.requests_per_second / bare.load.requests_per_second
    return f"{share:.1%}"


def results_table(results: dict[str, CaseResult], config: RunConfig) -> list[str]:
    # Each case is compared with the bare endpoint at its own concurrency.
    bare = {
        case.connections: case
        for key, case in results.items()
        if key.startswith("bare")
    }
    lines = [
        "| Case | Throughput | p50 | p99 | Requests/s vs bare | "
        "Server CPU per request | Peak RSS | Connections |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in results.values():
        load = case.load
        if load is None:
            continue
        cpu = load.server_cpu_ms_per_request(config.warmup_seconds)
        ratio = _ratio(case, bare.get(case.connections))
        failures = f" ({load.failures} failed)" if load.failures else ""
        lines.append(
            f"| {case.title}{failures} | {_rate(case)} | {load.p50_ms:.1f} ms | "
            f"{load.p99_ms:.1f} ms | {ratio} | {cpu:.2f} ms | "
            f"{case.peak_rss_mib:.0f} MiB | {case.connections} |"
        )
    return lines


def _figure(name: str, value: float) -> str:
    label = name.removesuffix("_seconds").replace("_", " ")
    return f"{label} {value:.3f} s"


def extras(results: dict[str, CaseResult]) -> list[str]:
    """List the figures beside the load: load times, recomputations, snapshot age."""
    lines = []
    for case in results.values():
        if not case.extra:
            continue
        figures = ", ".join(_figure(name, value) for name, value in case.extra.items())
        note = f" ({case.note})" if case.note else ""
        lines.append(f"- {case.title}{note}: {figures}")
    return lines


def _rounds_section(rounds: list[str]) -> list[str]:
    if not rounds:
        return []
    return [
        "Each case above is the median of its rounds. The rounds ran in turn, "
        "so a busy spell of the machine lowered every case of a round alike. "
        "Every round, in order:",
        "",
        *rounds,
        "",
    ]


def _verdict_row(verdict: Verdict) -> str:
    met = {True: "met", False: "**missed**", None: "not run"}[verdict.met]
    return f"| {verdict.target} | {verdict.measured} | {met} |"


def soak_lines(soak: SoakResult) -> list[str]:
    rss = [value for _, value in soak.samples]
    minutes = ", ".join(
        f"{seconds / 60:.0f} min: {value:.0f}"
        for seconds, value in soak.samples
        if round(seconds) % 60 == 0
    )
    return [
        f"Batch ingest on PostgreSQL for {soak.seconds:.0f} s at "
        f"{soak.load.events_per_second:,.0f} events/s. The server RSS, sampled "
        f"every 5 s, stayed between {min(rss, default=0):.0f} and "
        f"{max(rss, default=0):.0f} MiB. Each minute, in MiB: {minutes}.",
    ]


def rounds_lines(runs: dict[str, list[CaseResult]]) -> list[str]:
    """List the throughput of every round of the cases that ran more than once."""
    lines = []
    for cases in runs.values():
        if len(cases) > 1:
            figures = ", ".join(_rate(case) for case in cases)
            lines.append(f"- {cases[0].title}: {figures}")
    return lines


def render(
    results: dict[str, CaseResult],
    soak: SoakResult | None,
    config: RunConfig,
    context: dict[str, str],
    rounds: list[str] | None = None,
) -> str:
    """Return the whole page; ``context`` contains the commands and versions."""
    checked = verdicts(results, soak)
    lines = [
        "# Benchmarks",
        "",
        "This page is written by `make bench` (`benchmarks/run.py`); run it again "
        "rather than edit the figures. Each case starts its own server on "
        "127.0.0.1, drives it at a fixed concurrency for a fixed time, and stops it.",
        "",
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "## Machine",
        "",
        *machine(context["postgres"], context["load_before"], context["load_after"]),
        "",
        "## Commands",
        "",
        "```",
        context["command"],
        context["server_command"],
        "```",
        "",
        *context["setup"].splitlines(),
        "",
        "## Results",
        "",
        *results_table(results, config),
        "",
        *extras(results),
        "",
        *_rounds_section(rounds or []),
        "## Targets",
        "",
        "| Target | Measured | Result |",
        "|---|---|---|",
        *[_verdict_row(verdict) for verdict in checked],
        "",
    ]
    if soak is not None:
        lines += ["## Soak", "", *soak_lines(soak), ""]
    lines += ["## Profile and limits", "", ANALYSIS.read_text().strip(), ""]
    return "\n".join(lines)
