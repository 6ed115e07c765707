"""``make bench``: measure Pinwatch beside a bare FastAPI endpoint on this machine.

Every case starts its own uvicorn server on 127.0.0.1 with the same options,
drives it with the load generator of ``benchmarks.load`` for a fixed time at
a fixed concurrency, and stops it. PostgreSQL cases create a scratch database
on the local server and drop it afterwards. The results go to stdout and to
``docs/benchmarks.md``.
"""

import argparse
import importlib.util
import shlex
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.cases import (
    CaseResult,
    RunConfig,
    ceiling,
    native_ingest,
    trustkit_reports,
)
from benchmarks.database import postgres_version
from benchmarks.query_cases import readiness, scrape
from benchmarks.report import render, results_table, rounds_lines
from benchmarks.servers import PROJECT_ROOT, uvicorn_command
from benchmarks.soak import SoakResult, soak

DEFAULT_OUTPUT = PROJECT_ROOT / "docs" / "benchmarks.md"

# Cases that load a large data set first run once, regardless of --rounds.
ONE_ROUND = frozenset({"readiness", "readiness_no_snapshot", "scrape"})

CASES: dict[str, Callable[[RunConfig], CaseResult]] = {
    "bare": ceiling,
    "native_100_sqlite": lambda config: native_ingest(config, "sqlite", 100),
    "native_100_postgresql": lambda config: native_ingest(config, "postgresql", 100),
    "native_1_sqlite": lambda config: native_ingest(config, "sqlite", 1),
    "native_1_postgresql": lambda config: native_ingest(config, "postgresql", 1),
    "bare_low": lambda config: ceiling(config, low=True),
    "native_1_postgresql_low": lambda config: native_ingest(
        config, "postgresql", 1, low=True
    ),
    "reports_sqlite": lambda config: trustkit_reports(config, "sqlite"),
    "reports_postgresql": lambda config: trustkit_reports(config, "postgresql"),
    "readiness": readiness,
    "readiness_no_snapshot": lambda config: readiness(config, snapshot=False),
    "scrape": scrape,
}


def _add_load_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=float, help="seconds measured per case")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds of load before measuring"
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=64,
        help="concurrent connections of the ingest cases",
    )
    parser.add_argument(
        "--low-connections",
        type=int,
        default=8,
        help="concurrent connections of the low-concurrency single-event cases",
    )
    parser.add_argument(
        "--query-connections",
        type=int,
        default=4,
        help="concurrent connections of the readiness and /metrics cases",
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="load generator processes"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn worker processes per server"
    )


def _add_scope_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--readiness-installs", type=int, help="active installs of the readiness case"
    )
    parser.add_argument(
        "--scrape-installs", type=int, help="active installs of the /metrics case"
    )
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        help=f"comma-separated cases to run, from: {', '.join(CASES)}",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of the cases; each case reports its median round (1 with --quick)",
    )
    parser.add_argument(
        "--soak",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="also run batch ingest on PostgreSQL this long and sample the server RSS",
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2 s per case, small fleets, no page unless --output is given",
    )
    _add_load_options(parser)
    _add_scope_options(parser)
    parser.add_argument(
        "--output",
        help=f"Markdown page to write ('-' for none; default {DEFAULT_OUTPUT})",
    )
    return parser.parse_args(argv)


def _config(args: argparse.Namespace, log_dir: Path) -> RunConfig:
    quick = args.quick
    return RunConfig(
        duration_seconds=args.duration or (2.0 if quick else 10.0),
        warmup_seconds=0.5 if quick else args.warmup,
        connections=args.connections,
        low_connections=args.low_connections,
        query_connections=args.query_connections,
        processes=args.processes,
        workers=args.workers,
        log_dir=log_dir,
        readiness_installs=args.readiness_installs or (20_000 if quick else 1_000_000),
        scrape_installs=args.scrape_installs or (5_000 if quick else 100_000),
    )


def _output(args: argparse.Namespace) -> Path | None:
    if args.output == "-" or (args.output is None and args.quick):
        return None
    return Path(args.output) if args.output else DEFAULT_OUTPUT


def _server_stack() -> str:
    """Return the event loop and HTTP parser that uvicorn picks when left to choose."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    parser = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"{loop} and {parser}"


def _setup(config: RunConfig, cases: list[str]) -> str:
    return (
        f"Servers run with {config.workers} uvicorn worker(s) on "
        f"{_server_stack()}, `PINWATCH_ENV="
        "production` defaults and the per-key rate limit off, because one key "
        "sends all the load. The load generator runs "
        f"{config.processes} process(es) beside the server, with keep-alive "
        f"HTTP/1.1 connections ({config.connections} for ingest, "
        f"{config.low_connections} for the low-concurrency cases, "
        f"{config.query_connections} for readiness and /metrics), "
        f"{config.warmup_seconds:g} s of warm-up and {config.duration_seconds:g} s "
        f"measured per case. Cases: {', '.join(cases)}."
    )


def _print_progress(result: CaseResult) -> None:
    load = result.load
    if load is None:
        return
    print(
        f"{result.title}: {load.requests_per_second:,.0f} requests/s, "
        f"{load.events_per_second:,.0f} events/s, p50 {load.p50_ms:.1f} ms, "
        f"p99 {load.p99_ms:.1f} ms, failed {load.failures}",
        flush=True,
    )
    if load.failure_sample:
        print(f"  first failure: {load.failure_sample}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    names = [name.strip() for name in args.cases.split(",") if name.strip()]
    unknown = [name for name in names if name not in CASES]
    if unknown:
        print(f"unknown cases: {', '.join(unknown)}", file=sys.stderr)
        return 2
    load_before = _load_average()

    with tempfile.TemporaryDirectory(prefix="pinwatch-bench-") as folder:
        config = _config(args, Path(folder))
        runs = run_rounds(config, names, 1 if args.quick else args.rounds)
        results = {name: median_run(cases) for name, cases in runs.items()}
        soak_result: SoakResult | None = None
        if args.soak > 0:
            soak_result = soak(config, args.soak)
            print(f"soak: {soak_result.growth:+.1%} RSS growth", flush=True)

    print("\n".join(results_table(results, config)))
    output = _output(args)
    if output is not None:
        context = {
            "postgres": postgres_version(),
            "load_before": ", ".join(load_before),
            "load_after": ", ".join(_load_average()),
            "command": _command(sys.argv[1:] if argv is None else argv),
            "server_command": _server_command(config),
            "setup": _setup(config, names),
        }
        page = render(results, soak_result, config, context, rounds_lines(runs))
        output.write_text(page)
        print(f"wrote {output}")
    return 0


def run_rounds(
    config: RunConfig, names: list[str], rounds: int
) -> dict[str, list[CaseResult]]:
    """Run every case once per round, the cases of a round one after another.

    A busy spell of the machine then lowers all cases of a round alike.
    """
    runs: dict[str, list[CaseResult]] = {name: [] for name in names}
    for round_number in range(rounds):
        for name in names:
            if round_number > 0 and name in ONE_ROUND:
                continue
            result = CASES[name](config)
            runs[name].append(result)
            _print_progress(result)
    return runs


def median_run(cases: list[CaseResult]) -> CaseResult:
    """Return the run with the median throughput (the lower middle of an even count)."""
    ranked = sorted(cases, key=lambda case: case.load.events if case.load else 0)
    return ranked[(len(ranked) - 1) // 2]


def _load_average() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


def _command(argv: list[str]) -> str:
    arguments = shlex.join(argv)
    make = f'make bench BENCH_ARGS="{arguments}"' if argv else "make bench"
    return f"{make}\n# runs: .venv/bin/python -m benchmarks.run {arguments}".rstrip()


def _server_command(config: RunConfig) -> str:
    command = uvicorn_command("<app>", "<free port>", config.workers)
    return "# each server: " + shlex.join(["python", *command[1:]])


if __name__ == "__main__":
    sys.exit(main())
