"""``pinwatch simulate``: drive a fleet of simulated installs against a server.

Simulated installs count as real ones in readiness, so the command only talks
to a server on this machine unless ``--allow-remote`` is given.
"""

import argparse
import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

import httpx

from service.client import (
    TIMEOUT_SECONDS,
    ClientError,
    add_url_argument,
    api_token,
    default_transport,
    run_command,
    server_url,
)
from service.pins.pins import display_pin
from service.simulate.fleet import FleetSettings
from service.simulate.runner import DaySummary, Simulation, SimulationConfig

MAX_INSTALLS = 100_000
MAX_DAYS = 60
MAX_WORKERS = 32
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9-]+)+$")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="drive simulated iOS and Android installs against a server",
        description="Simulate installs of an iOS and an Android app that report "
        "pin checks and failures to DOMAIN while builds trusting its backup key "
        "roll out, one line per simulated day. Reads the admin token from "
        "PINWATCH_TOKEN.",
        epilog="Exit status: 0 when the simulation ran, 2 on error.",
    )
    _add_server_arguments(parser)
    _add_fleet_arguments(parser)
    parser.set_defaults(handler=run_simulate)


def _add_server_arguments(parser: Any) -> None:
    add_url_argument(parser)
    parser.add_argument(
        "--domain", required=True, help="hostname the apps pin, such as api.example.com"
    )
    parser.add_argument(
        "--register",
        action="store_true",
        help="register the apps, the domain, its pins and the releases first; "
        "without it they must exist",
    )
    parser.add_argument(
        "--min-installs",
        type=int,
        default=None,
        metavar="N",
        help="min_installs policy of a domain that --register creates "
        "(default: the server's default)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=4,
        metavar="N",
        help=f"installs sending at the same time, 1 to {MAX_WORKERS} (default: 4)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a server that is not on a loopback address",
    )


def _add_fleet_arguments(parser: Any) -> None:
    parser.add_argument(
        "--installs",
        type=int,
        default=300,
        metavar="N",
        help="installs per app (default: 300)",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=7,
        metavar="N",
        help="simulated days to run (default: 7)",
    )
    parser.add_argument(
        "--seed",
        default="1",
        help="seed of every random choice and of the generated keys (default: 1); "
        "the same seed sends the same events again, which count as duplicates",
    )
    parser.add_argument(
        "--rotate-at-day",
        type=int,
        default=None,
        metavar="DAY",
        help="day from which the backend serves the backup key (default: never)",
    )
    parser.add_argument(
        "--bundle-id",
        default="com.example.bank",
        help="bundle id of both apps (default: com.example.bank)",
    )


def is_loopback_url(url: str) -> bool:
    """Return whether a URL names this machine: localhost or a loopback address."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_arguments(args: argparse.Namespace, url: str) -> None:
    if not _HOSTNAME.fullmatch(args.domain.lower()):
        raise ClientError(f"--domain {args.domain!r} is not a hostname")
    if not 1 <= args.installs <= MAX_INSTALLS:
        raise ClientError(f"--installs must be between 1 and {MAX_INSTALLS}")
    if not 1 <= args.days <= MAX_DAYS:
        raise ClientError(f"--days must be between 1 and {MAX_DAYS}")
    if args.rotate_at_day is not None and not 1 <= args.rotate_at_day <= args.days:
        raise ClientError(f"--rotate-at-day must be between 1 and {args.days}")
    if not 1 <= args.workers <= MAX_WORKERS:
        raise ClientError(f"--workers must be between 1 and {MAX_WORKERS}")
    if not args.allow_remote and not is_loopback_url(url):
        raise ClientError(
            f"{url} is not a loopback address, and simulated installs would "
            "count in its readiness; pass --allow-remote to simulate against it"
        )


def _config(args: argparse.Namespace) -> SimulationConfig:
    policy = {} if args.min_installs is None else {"min_installs": args.min_installs}
    return SimulationConfig(
        hostname=args.domain.lower(),
        seed=args.seed,
        days=args.days,
        rotate_at_day=args.rotate_at_day,
        register=args.register,
        bundle_id=args.bundle_id,
        policy=policy,
        workers=args.workers,
    )


def open_simulation_client(url: str, workers: int) -> httpx.Client:
    """Open a pooled client with no default credentials.

    Each request carries either the API token or an ingest key, never both.
    """
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    return httpx.Client(
        base_url=url,
        timeout=TIMEOUT_SECONDS,
        limits=limits,
        transport=default_transport(),
    )


def _print_summary(summary: DaySummary) -> None:
    print(summary.line(), flush=True)


def _simulate(args: argparse.Namespace) -> int:
    url = server_url(args.url)
    token = api_token("admin")
    _check_arguments(args, url)

    config = _config(args)
    settings = FleetSettings(installs_per_app=args.installs)
    with open_simulation_client(url, args.workers) as http:
        simulation = Simulation(http, token, config, settings)
        print(
            f"simulating {args.installs} installs per app for {config.hostname}: "
            f"current pin {display_pin(simulation.scenario.current_pin)}, "
            f"backup pin {display_pin(simulation.scenario.backup_pin)}",
            flush=True,
        )
        simulation.run(on_day=_print_summary)
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    return run_command(lambda: _simulate(args))
