"""The ``pinwatch`` command: server administration and client commands."""

import argparse
import os
import sys
from collections.abc import Sequence

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from service import commands
from service.analysis import cli as analysis_cli
from service.pins import cli as pins_cli
from service.readiness import cli as readiness_cli
from service.registry import cli as registry_cli
from service.registry import client_cli as registry_client_cli
from service.simulate import cli as simulate_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pinwatch",
        description="Certificate pinning telemetry and rotation readiness. "
        "Server commands (serve, migrate, token, prune) use PINWATCH_DATABASE_URL "
        "and need PINWATCH_SECRET or PINWATCH_ENV=development; client commands "
        "talk to --url with the token in PINWATCH_TOKEN.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    commands.register(subparsers)
    registry_cli.register(subparsers)
    registry_client_cli.register(subparsers)
    pins_cli.register(subparsers)
    readiness_cli.register(subparsers)
    analysis_cli.register(subparsers)
    simulate_cli.register(subparsers)
    return parser


def _settings_problem(error: ValidationError) -> str:
    messages = [
        str(detail["msg"]).removeprefix("Value error, ") for detail in error.errors()
    ]
    return "; ".join(messages)


def _database_problem(error: DBAPIError) -> str:
    """Describe a database error, with the fix for a schema that is missing."""
    text = f"the database failed: {type(error.orig).__name__}: {error.orig}".strip()
    # SQLite reports "no such table" and PostgreSQL the SQLSTATE 42P01.
    missing = "no such table" in str(error.orig)
    if missing or getattr(error.orig, "sqlstate", None) == "42P01":
        return (
            f"{text}. Run 'pinwatch migrate' first. The default SQLite database "
            "is var/pinwatch.db under the current directory."
        )
    return text


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except ValidationError as error:
        # Only the settings are validated outside a handler's own error paths.
        print(
            f"pinwatch: invalid settings: {_settings_problem(error)}", file=sys.stderr
        )
        return 2
    except (OperationalError, ProgrammingError) as error:
        print(f"pinwatch: {_database_problem(error)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader of our output went away (for example `| head`); stop quietly
        # and keep Python from reporting the pipe again while it flushes stdout.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
