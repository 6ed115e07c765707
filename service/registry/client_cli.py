"""``pinwatch domain`` and ``pinwatch release``: change the registry of a server.

Each command sends one request to a running server, prints what the server
stored, and prints every lint warning of the response on standard error as
``warning: <code>: <message>`` (registering a domain returns none). Warnings
never fail a command: it exits 0 when the server accepted the change and 2 on
any error (missing token, unreachable server, error response, unreadable
file). The token must have the admin role.
"""

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

from service.client import (
    add_output_arguments,
    open_client,
    parse_response,
    request_json,
    run_command,
)
from service.pins.pins import display_pin
from service.readiness.cli import read_chain
from service.registry.schemas import (
    DomainOut,
    LintWarningOut,
    PinChangeOut,
    Policy,
    ReleaseChangeOut,
)

EXIT_STATUS = (
    "Exit status: 0 when the server stored the change, with or without "
    "warnings; 2 on error."
)
PIN_ROLES = ("current", "backup", "retired")


class PolicyOption(NamedTuple):
    """A command line option that sets one readiness policy value."""

    names: tuple[str, ...]
    field: str
    parse: Callable[[str], float | int]
    metavar: str
    help: str


POLICY_OPTIONS = (
    PolicyOption(
        ("--adoption-threshold", "--threshold"),
        "adoption_threshold",
        float,
        "RATIO",
        "share of active installs (0 to 1) that must trust a backup pin before "
        "rotation (default 0.95)",
    ),
    PolicyOption(
        ("--window-days",),
        "window_days",
        int,
        "DAYS",
        "days in which an install counts as active (default 7)",
    ),
    PolicyOption(
        ("--min-installs",),
        "min_installs",
        int,
        "COUNT",
        "active installs an app needs before it can be ready (default 100)",
    ),
    PolicyOption(
        ("--removal-max-share",),
        "removal_max_share",
        float,
        "RATIO",
        "highest share of checks (0 to 1) that may still see a pin that is to "
        "be removed (default 0.001)",
    ),
    PolicyOption(
        ("--removal-quiet-days",),
        "removal_quiet_days",
        int,
        "DAYS",
        "days of checks that removal readiness reads (default 7)",
    ),
    PolicyOption(
        ("--removal-min-checks",),
        "removal_min_checks",
        int,
        "COUNT",
        "checks those days need before a pin can be removable (default 1000)",
    ),
)


def register(subparsers: Any) -> None:
    domain = subparsers.add_parser(
        "domain", help="register a domain or add a pin on a running server"
    )
    domain_actions = domain.add_subparsers(dest="action", required=True)
    _register_domain_put(domain_actions)
    _register_pin_add(domain_actions)

    release = subparsers.add_parser(
        "release", help="declare a release's pinsets on a running server"
    )
    release_actions = release.add_subparsers(dest="action", required=True)
    _register_release_put(release_actions)


def _register_domain_put(actions: Any) -> None:
    put = actions.add_parser(
        "put",
        help="register a domain, or replace its owner team, scope and policy",
        description="Register HOSTNAME, or replace its settings. Every setting "
        "not given takes its default, also when the domain exists.",
        epilog=EXIT_STATUS,
    )
    put.add_argument("hostname", help="hostname, such as api.example.com")
    put.add_argument(
        "--owner-team", default="", metavar="TEAM", help="team that owns the domain"
    )
    put.add_argument(
        "--include-subdomains",
        action="store_true",
        help="cover every subdomain of HOSTNAME too",
    )
    for option in POLICY_OPTIONS:
        put.add_argument(
            *option.names,
            dest=option.field,
            type=option.parse,
            metavar=option.metavar,
            help=option.help,
        )
    add_output_arguments(put)
    put.set_defaults(handler=run_domain_put)


def _register_pin_add(actions: Any) -> None:
    add = actions.add_parser(
        "pin-add",
        help="register a pin for a domain, from pin text or a certificate",
        epilog=EXIT_STATUS,
    )
    add.add_argument("hostname", help="registered hostname, such as api.example.com")
    source = add.add_mutually_exclusive_group(required=True)
    source.add_argument("--pin", metavar="TEXT", help="the pin, in any pin form")
    source.add_argument(
        "--certificate",
        type=Path,
        metavar="FILE",
        help="PEM or DER file with the one certificate whose key is pinned",
    )
    add.add_argument(
        "--role", choices=PIN_ROLES, help="role of the pin (default: backup)"
    )
    add.add_argument("--label", help="name of the key shown to people")
    add_output_arguments(add)
    add.set_defaults(handler=run_pin_add)


def _register_release_put(actions: Any) -> None:
    put = actions.add_parser(
        "put",
        help="declare the pinsets of an app version",
        description="Declare the pinsets of VERSION of APP, replacing the "
        "pinsets declared before.",
        epilog=EXIT_STATUS,
    )
    put.add_argument("app", help="app reference, such as ios:com.example.bank")
    put.add_argument("version", help="app version, such as 4.2.0")
    put.add_argument(
        "--pins",
        type=pinset_argument,
        nargs="+",
        action="extend",
        required=True,
        metavar="HOST=PIN[,PIN...]",
        help="pins the build trusts for HOST, or 'HOST=' for a host the build "
        "does not pin; give several values for several hosts",
    )
    put.add_argument(
        "--expires",
        type=expiry_date,
        metavar="YYYY-MM-DD",
        help="date after which the build no longer enforces its pinsets",
    )
    put.add_argument(
        "--report-uri", metavar="URL", help="URL the build sends failure reports to"
    )
    add_output_arguments(put)
    put.set_defaults(handler=run_release_put)


def pinset_argument(text: str) -> tuple[str, list[str]]:
    """Read ``HOST=PIN[,PIN...]`` into the hostname and its pin texts."""
    hostname, separator, pins = text.partition("=")
    if not separator or not hostname.strip():
        raise argparse.ArgumentTypeError(
            f"{text!r} is not in the form HOST=PIN[,PIN...]. Write for example "
            "api.example.com=sha256/AAAA...=,sha256/BBBB...=, or api.example.com= "
            "for a host that the build does not pin."
        )
    return hostname.strip(), [pin.strip() for pin in pins.split(",") if pin.strip()]


def expiry_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a valid date. Use YYYY-MM-DD, for example 2027-06-30."
        ) from exc


def pins_by_hostname(pinsets: Sequence[tuple[str, list[str]]]) -> dict[str, list[str]]:
    """Combine the ``--pins`` values, joining the pins of a host given twice."""
    combined: dict[str, list[str]] = {}
    for hostname, pins in pinsets:
        combined.setdefault(hostname, []).extend(pins)
    return combined


def run_domain_put(args: argparse.Namespace) -> int:
    return run_command(lambda: _put_domain(args))


def run_pin_add(args: argparse.Namespace) -> int:
    return run_command(lambda: _add_pin(args))


def run_release_put(args: argparse.Namespace) -> int:
    return run_command(lambda: _put_release(args))


def domain_body(args: argparse.Namespace) -> dict[str, Any]:
    """Return the ``PUT /v1/domains/{hostname}`` body the arguments set."""
    policy = {
        option.field: getattr(args, option.field)
        for option in POLICY_OPTIONS
        if getattr(args, option.field) is not None
    }
    return {
        "include_subdomains": args.include_subdomains,
        "owner_team": args.owner_team,
        "policy": policy,
    }


def _put_domain(args: argparse.Namespace) -> int:
    path = f"/v1/domains/{quote(args.hostname, safe='')}"
    body = _send(args, "PUT", path, domain_body(args))
    print(json.dumps(body, indent=2) if args.json else render_domain(body))
    return 0


def pin_body(args: argparse.Namespace) -> dict[str, str]:
    """Return the ``POST /v1/domains/{hostname}/pins`` body the arguments set."""
    if args.certificate is not None:
        body = {"certificate": "\n".join(read_chain(args.certificate))}
    else:
        body = {"pin": args.pin}
    if args.role is not None:
        body["role"] = args.role
    if args.label is not None:
        body["label"] = args.label
    return body


def _add_pin(args: argparse.Namespace) -> int:
    path = f"/v1/domains/{quote(args.hostname, safe='')}/pins"
    body = _send(args, "POST", path, pin_body(args))
    pin = parse_response(PinChangeOut, body)
    print(json.dumps(body, indent=2) if args.json else render_pin(args.hostname, pin))
    print_warnings(pin.warnings)
    return 0


def release_body(args: argparse.Namespace) -> dict[str, Any]:
    """Return the ``PUT /v1/apps/{app}/releases/{version}`` body."""
    expires = args.expires.isoformat() if args.expires else None
    body: dict[str, Any] = {
        "pins": pins_by_hostname(args.pins),
        "pinset_expires": expires,
    }
    if args.report_uri is not None:
        body["report_uri"] = args.report_uri
    return body


def _put_release(args: argparse.Namespace) -> int:
    app, version = quote(args.app, safe=""), quote(args.version, safe="")
    path = f"/v1/apps/{app}/releases/{version}"
    body = _send(args, "PUT", path, release_body(args))
    release = parse_response(ReleaseChangeOut, body)
    print(json.dumps(body, indent=2) if args.json else render_release(release))
    print_warnings(release.warnings)
    return 0


def _send(
    args: argparse.Namespace, method: str, path: str, body: dict[str, Any]
) -> Any:
    with open_client(args.url, role="admin") as client:
        return request_json(client, method, path, json=body)


def print_warnings(warnings: Sequence[LintWarningOut]) -> None:
    for warning in warnings:
        print(f"warning: {warning.code}: {warning.message}", file=sys.stderr)


def render_domain(body: Any) -> str:
    """Render a stored domain: scope, owner team, policy and pin count."""
    domain = parse_response(DomainOut, body)
    scope = " and its subdomains" if domain.include_subdomains else ""
    team = domain.owner_team or "none"
    policy = " ".join(
        f"{name}={getattr(domain.policy, name)}" for name in Policy.model_fields
    )
    return "\n".join(
        [
            f"domain {domain.hostname}{scope} registered",
            f"owner team: {team}",
            f"policy: {policy}",
            f"pins: {len(domain.pins)}",
        ]
    )


def render_pin(hostname: str, pin: PinChangeOut) -> str:
    """Render a registered pin with its role, label and certificate."""
    label = f' "{pin.label}"' if pin.label else ""
    lines = [f"{hostname}: {pin.display} registered as {pin.role}{label}"]
    if pin.subject is not None:
        expiry = f", expires {pin.not_after:%Y-%m-%d}" if pin.not_after else ""
        lines.append(f"certificate: {pin.subject}{expiry}")
    return "\n".join(lines)


def render_release(release: ReleaseChangeOut) -> str:
    """Render a declared release: expiry, report URI and each pinset."""
    expires = release.pinset_expires.isoformat() if release.pinset_expires else "never"
    lines = [
        f"release {release.app} {release.version} declared",
        f"pinsets expire: {expires}",
    ]
    if release.report_uri:
        lines.append(f"report URI: {release.report_uri}")
    for pinset in release.pinsets:
        pins = ", ".join(display_pin(pin) for pin in pinset.pins) or "not pinned"
        lines.append(f"{pinset.domain} ({pinset.source}): {pins}")
    return "\n".join(lines)
