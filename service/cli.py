"""The ``pinwatch`` command: server administration and client commands."""

import argparse
import sys
from collections.abc import Sequence

from service import commands
from service.analysis import cli as analysis_cli
from service.pins import cli as pins_cli
from service.readiness import cli as readiness_cli
from service.registry import cli as registry_cli
from service.simulate import cli as simulate_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pinwatch",
        description="Certificate pinning telemetry and rotation readiness.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    commands.register(subparsers)
    registry_cli.register(subparsers)
    pins_cli.register(subparsers)
    readiness_cli.register(subparsers)
    analysis_cli.register(subparsers)
    simulate_cli.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
