"""``pinwatch failures DOMAIN``: a domain's failures, grouped, from a running server.

Exits 0 when the server responded (with or without failures) and 2 on any error
(missing token, unreachable server, error response).
"""

import argparse
import json
from datetime import datetime
from typing import Any, get_args
from urllib.parse import quote

from service.analysis.classify import CLASSIFICATIONS
from service.analysis.schemas import FailureGroup, FailureList, GroupBy
from service.client import (
    add_output_arguments,
    open_client,
    parse_response,
    request_json,
    run_command,
)
from service.readiness.render import table

# Each column left (l) or right (r) aligned: the counts are right-aligned.
ROW_ALIGN = "llrrlll"
KEY_HEADERS = {
    "signature": "SIGNATURE",
    "classification": "CLASSIFICATION",
    "version": "VERSION",
    "platform": "PLATFORM",
}


def register(subparsers: Any) -> None:
    failures = subparsers.add_parser(
        "failures",
        help="show a domain's pin failures, grouped, most occurrences first",
        description="Show the pin failures of DOMAIN in a time range, grouped by "
        "incident signature, classification, app version or platform.",
        epilog="Exit status: 0 when the server responded, 2 on error.",
    )
    failures.add_argument("domain", help="registered hostname, such as api.example.com")
    failures.add_argument(
        "--group-by",
        choices=get_args(GroupBy),
        default="signature",
        help="what one row is (default: signature)",
    )
    _add_filter_arguments(failures)
    add_output_arguments(failures)
    failures.set_defaults(handler=run_failures)


def _add_filter_arguments(parser: Any) -> None:
    parser.add_argument(
        "--since",
        help="start of the range, RFC 3339 (default: 24 hours before --until)",
    )
    parser.add_argument("--until", help="end of the range, RFC 3339 (default: now)")
    parser.add_argument(
        "--classification", choices=CLASSIFICATIONS, help="only this classification"
    )
    parser.add_argument("--app", help="only this app, as <platform>:<bundle_id>")
    parser.add_argument("--version", help="only this app version")
    parser.add_argument(
        "--limit", type=int, default=50, help="maximum number of rows (default: 50)"
    )


def run_failures(args: argparse.Namespace) -> int:
    return run_command(lambda: _show_failures(args))


def query_params(args: argparse.Namespace) -> dict[str, str | int]:
    """Return the query parameters the command line arguments set."""
    params: dict[str, str | int] = {"group_by": args.group_by, "limit": args.limit}
    for name in ("since", "until", "classification", "app", "version"):
        value = getattr(args, name)
        if value is not None:
            params[name] = value
    return params


def _show_failures(args: argparse.Namespace) -> int:
    path = f"/v1/domains/{quote(args.domain, safe='')}/failures"
    with open_client(args.url) as client:
        body = request_json(client, "GET", path, params=query_params(args))
    if args.json:
        print(json.dumps(body, indent=2))
        return 0
    print(render_failures(parse_response(FailureList, body)))
    return 0


def _time(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M}"


def _row(group: FailureGroup, group_by: str) -> list[str]:
    key = f"{group.app} {group.key}" if group_by == "version" else group.key
    by_count = sorted(group.classifications.items(), key=lambda item: -item[1])
    causes = ", ".join(name for name, _count in by_count)
    installs = "-" if group.unique_installs is None else str(group.unique_installs)
    return [
        key,
        group.classification or causes,
        str(group.occurrences),
        installs,
        _time(group.first_seen),
        _time(group.last_seen),
        ", ".join(group.versions),
    ]


def render_failures(report: FailureList) -> str:
    """Render a failure list as a heading and a table."""
    total = report.total_occurrences
    heading = (
        f"{report.domain}: {total} failure{'' if total == 1 else 's'} from "
        f"{_time(report.since)} to {_time(report.until)} UTC"
    )
    if not report.groups:
        return f"{heading}\nNo failures in this range."
    headers = [
        KEY_HEADERS[report.group_by],
        "CAUSE",
        "OCCURRENCES",
        "INSTALLS",
        "FIRST SEEN",
        "LAST SEEN",
        "VERSIONS",
    ]
    rows = [_row(group, report.group_by) for group in report.groups]
    return "\n".join([heading, *table(headers, rows, ROW_ALIGN)])
