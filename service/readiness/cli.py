"""``pinwatch readiness`` and ``pinwatch preflight``: query a running server.

``readiness`` exits 0 when at least one backup pin is ready to rotate, 1 when
none is, so a CI job can gate a backend key switch on it. Both commands exit 2
on any error (missing token, unreachable server, error response).
"""

import argparse
import base64
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from service.client import (
    ClientError,
    add_output_arguments,
    open_client,
    parse_response,
    request_json,
    run_command,
)
from service.readiness.render import render_preflight, render_readiness
from service.readiness.schemas import PreflightReport, ReadinessReport

_PEM_CERTIFICATE = re.compile(
    r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.DOTALL
)


def register(subparsers: Any) -> None:
    readiness = subparsers.add_parser(
        "readiness",
        help="show whether a domain can rotate to a backup key and which pins can go",
        description="Show rotate readiness of each backup pin and removal "
        "readiness of each current or retired pin of DOMAIN.",
        epilog="Exit status: 0 when at least one backup pin is ready to rotate, "
        "1 when none is, 2 on error.",
    )
    readiness.add_argument(
        "domain", help="registered hostname, such as api.example.com"
    )
    add_output_arguments(readiness)
    readiness.set_defaults(handler=run_readiness)

    preflight = subparsers.add_parser(
        "preflight",
        help="show which active installs would accept a candidate chain or pins",
        epilog="Exit status: 0 when the server responded, 2 on error.",
    )
    preflight.add_argument(
        "domain", help="registered hostname, such as api.example.com"
    )
    candidate = preflight.add_mutually_exclusive_group(required=True)
    candidate.add_argument(
        "--chain",
        type=Path,
        metavar="FILE",
        help="PEM file with the candidate chain, or one DER certificate",
    )
    candidate.add_argument(
        "--pin",
        dest="pins",
        nargs="+",
        action="extend",
        metavar="TEXT",
        help="candidate pin in any pin form; repeat or list several",
    )
    add_output_arguments(preflight)
    preflight.set_defaults(handler=run_preflight)


def run_readiness(args: argparse.Namespace) -> int:
    return run_command(lambda: _show_readiness(args))


def run_preflight(args: argparse.Namespace) -> int:
    return run_command(lambda: _show_preflight(args))


def _show_readiness(args: argparse.Namespace) -> int:
    path = f"/v1/domains/{quote(args.domain, safe='')}/readiness"
    with open_client(args.url) as client:
        body = request_json(client, "GET", path)
    report = parse_response(ReadinessReport, body)
    print(json.dumps(body, indent=2) if args.json else render_readiness(report))
    return 0 if any(item.ready for item in report.rotate) else 1


def _show_preflight(args: argparse.Namespace) -> int:
    path = f"/v1/domains/{quote(args.domain, safe='')}/preflight"
    candidate = {"chain": read_chain(args.chain)} if args.chain else {"pins": args.pins}
    with open_client(args.url) as client:
        body = request_json(client, "POST", path, json=candidate)
    report = parse_response(PreflightReport, body)
    print(json.dumps(body, indent=2) if args.json else render_preflight(report))
    return 0


def read_chain(path: Path) -> list[str]:
    """Read every certificate of a PEM file, or one DER certificate, as text."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ClientError(f"cannot read {path}: {exc.strerror}") from exc
    if data[:1] == b"\x30":
        return [base64.b64encode(data).decode()]
    blocks = _PEM_CERTIFICATE.findall(data.decode("ascii", errors="replace"))
    if not blocks:
        raise ClientError(f"{path} contains no PEM certificate")
    return blocks
