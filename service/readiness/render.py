"""Plain-text tables of readiness and preflight reports, for the command line."""

from collections.abc import Sequence

from service.pins.pins import display_pin
from service.readiness.acceptance import percent
from service.readiness.removal import share_text
from service.readiness.schemas import (
    AppAcceptance,
    PreflightReport,
    ReadinessPolicy,
    ReadinessReport,
    RemovalReadiness,
    RotateReadiness,
    VersionShare,
)

APP_HEADERS = (
    "APP",
    "ACTIVE",
    "ACCEPTING",
    "BY PIN",
    "UNENFORCED",
    "ADOPTION",
    "READY",
)
APP_ALIGN = "lrrrrrl"
VERSION_HEADERS = ("APP", "VERSION", "INSTALLS", "SHARE", "BUILD")
VERSION_ALIGN = "llrrl"
STATUS_TEXT = {
    "covered": "accepts (pin in pinset)",
    "unenforced": "accepts (pinning not enforced)",
    "lacks_pin": "rejects (pin not in pinset)",
    "unknown_pinset": "rejects (pinset unknown)",
}
INDENT = "    "


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], align: str
) -> list[str]:
    """Align columns, each left (``l``) or right (``r``) as ``align`` gives."""
    widths = [
        max(len(row[column]) for row in [headers, *rows])
        for column in range(len(headers))
    ]
    lines = []
    for row in [headers, *rows]:
        cells = [
            cell.ljust(width) if side == "l" else cell.rjust(width)
            for cell, width, side in zip(row, widths, align, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def render_readiness(report: ReadinessReport) -> str:
    lines = [
        f"{report.domain}  (computed {report.computed_at:%Y-%m-%d %H:%M:%S} UTC)",
        *_policy_lines(report.policy),
        _active_line(report.active_installs),
        *[f"Warning: {warning}" for warning in report.warnings],
        "",
        "Rotate: backup pins",
    ]
    for item in report.rotate:
        lines += _rotate_lines(item, report.policy)
    if not report.rotate:
        lines.append("  (no backup pin)")
    lines += ["", "Remove: current and retired pins"]
    for removal in report.remove:
        lines += _removal_lines(removal)
    if not report.remove:
        lines.append("  (no current or retired pin)")
    return "\n".join(lines)


def _policy_lines(policy: ReadinessPolicy) -> list[str]:
    return [
        f"Rotate policy: at least {policy.adoption_threshold * 100:.1f} % "
        f"adoption and {policy.min_installs} active installs per app (active: "
        f"an event within {policy.window_days} days)",
        f"Remove policy: served in at most {share_text(policy.removal_max_share)} "
        f"of at least {policy.removal_min_checks} checks in "
        f"{policy.removal_quiet_days} days",
    ]


def _active_line(active_installs: dict[str, int]) -> str:
    if not active_installs:
        return "Active installs: no app uses the domain"
    counts = ", ".join(f"{app} {count}" for app, count in active_installs.items())
    return f"Active installs: {counts}"


def _rotate_lines(item: RotateReadiness, policy: ReadinessPolicy) -> list[str]:
    state = "READY" if item.ready else "NOT READY"
    label = f' "{item.label}"' if item.label else ""
    header = (
        f"  {display_pin(item.spki_sha256)}{label}  adoption "
        f"{percent(item.adoption)} (threshold "
        f"{policy.adoption_threshold * 100:.1f} %)  {state}"
    )
    return [
        header,
        *_acceptance_lines(item.apps, blocking_only=True),
        *_bullets("Reasons", item.reasons),
    ]


def _acceptance_lines(apps: list[AppAcceptance], *, blocking_only: bool) -> list[str]:
    if not apps:
        return []
    app_rows = [_app_row(app) for app in apps]
    app_table = table(APP_HEADERS, app_rows, APP_ALIGN)
    lines = [INDENT + line for line in app_table]
    rows = [
        _version_row(app.app, version)
        for app in apps
        for version in (app.blocking_versions if blocking_only else app.versions)
    ]
    if rows:
        title = "Blocking versions:" if blocking_only else "Versions:"
        lines += [INDENT + title]
        version_table = table(VERSION_HEADERS, rows, VERSION_ALIGN)
        lines += [INDENT * 2 + line for line in version_table]
    return lines


def _app_row(app: AppAcceptance) -> list[str]:
    return [
        app.app,
        str(app.active_installs),
        str(app.accepting),
        str(app.covered_by_pin),
        str(app.unenforced),
        percent(app.adoption),
        yes_no(app.ready),
    ]


def _version_row(app: str, version: VersionShare) -> list[str]:
    return [
        app,
        version.version,
        str(version.installs),
        percent(version.share),
        STATUS_TEXT[version.status],
    ]


def _bullets(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    return [INDENT + title + ":", *[f"{INDENT}  - {item}" for item in items]]


def _removal_lines(item: RemovalReadiness) -> list[str]:
    state = "REMOVABLE" if item.removable else "NOT REMOVABLE"
    label = f' "{item.label}"' if item.label else ""
    last = (
        f"{item.last_served_at:%Y-%m-%d %H:%M} UTC" if item.last_served_at else "never"
    )
    header = (
        f"  {display_pin(item.spki_sha256)}{label}  {item.role}  served "
        f"{share_text(item.served_share)} of {item.checks} checks, last served "
        f"{last}  {state}"
    )
    return [header, *_bullets("Reasons", item.reasons)]


def render_preflight(report: PreflightReport) -> str:
    active = sum(app.active_installs for app in report.apps)
    lines = [
        f"{report.domain}  (computed {report.computed_at:%Y-%m-%d %H:%M:%S} UTC)",
        "Candidate pins: "
        + (", ".join(display_pin(pin) for pin in report.pins) or "none usable"),
        f"Accepting: {percent(report.accepting_share)} of {active} active installs",
        "",
        *_acceptance_lines(report.apps, blocking_only=False),
        *_bullets("Reasons", report.reasons),
        *_bullets("Warnings", report.warnings),
    ]
    return "\n".join(lines)
