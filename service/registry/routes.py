"""Registry API: apps, ingest keys, domains, pins, releases and the audit log."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from service.core.db import utcnow
from service.core.deps import SessionDep
from service.core.errors import error_responses
from service.pins.certificates import spki_pin
from service.registry import apps, domains, lint, releases
from service.registry.audit import recent_entries, record_change
from service.registry.auth import AdminDep, ReaderDep
from service.registry.inputs import (
    canonical_pin,
    normalize_hostname,
    single_certificate,
)
from service.registry.lookup import get_app, get_domain
from service.registry.schemas import (
    AppCreate,
    AppOut,
    AuditEntryOut,
    DomainOut,
    DomainPut,
    IngestKeyCreated,
    IngestKeyOut,
    PinChangeOut,
    PinCreate,
    PinPatch,
    ReleaseChangeOut,
    ReleaseOut,
    ReleasePut,
)

router = APIRouter(prefix="/v1")

AppRef = Annotated[
    str, Path(description="App reference <platform>:<bundle_id>, e.g. ios:com.example")
]
Hostname = Annotated[str, Path(description="Registered hostname, e.g. api.example.com")]
# Versions contain no whitespace. Control characters are rejected too, because
# PostgreSQL cannot store NUL in text.
Version = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[^\s\x00-\x1f\x7f]+$",
        description="App version, such as 4.2.0",
    ),
]
KeyId = Annotated[
    str,
    Path(
        max_length=32,
        pattern=r"^[A-Za-z0-9_]+$",
        description="Ingest key id, such as key_1a2b3c4d5e6f7a8b",
    ),
]
Limit = Annotated[int, Query(ge=1, le=1000, description="Maximum number of items")]
CREATED_OR_UPDATED: dict[int | str, dict[str, Any]] = {
    201: {"description": "Created"},
    200: {"description": "Updated"},
}


def _status(response: Response, created: bool) -> None:
    response.status_code = 201 if created else 200


@router.post(
    "/apps",
    status_code=201,
    tags=["apps"],
    responses=error_responses(401, 403, 409, 422),
)
def register_app(body: AppCreate, session: SessionDep, caller: AdminDep) -> AppOut:
    """Register an app: one bundle or package id on one platform.

    The response's `ref` (`<platform>:<bundle_id>`) is the `{app}` of every app
    path. Registering the same platform and bundle id again fails with
    `409 app_exists`.
    """
    app = apps.create_app(session, body.platform, body.bundle_id, body.name)
    record_change(session, caller, "app.create", app.ref, {"name": app.name})
    return AppOut.from_row(app)


@router.get("/apps", tags=["apps"], responses=error_responses(401, 403))
def list_apps(session: SessionDep, _caller: ReaderDep) -> list[AppOut]:
    """List the registered apps, by platform and bundle id."""
    return [AppOut.from_row(app) for app in apps.list_apps(session)]


@router.post(
    "/apps/{app}/keys",
    status_code=201,
    tags=["apps"],
    responses=error_responses(401, 403, 404, 422),
)
def create_ingest_key(
    app: AppRef, session: SessionDep, caller: AdminDep
) -> IngestKeyCreated:
    """Create an ingest key (`pwk_...`) for an app.

    The key is returned only in this response; Pinwatch stores only its hash.
    Ingest keys may be embedded in apps, so they only allow sending telemetry.
    """
    row = get_app(session, app)
    key, secret = apps.create_ingest_key(session, row)
    record_change(session, caller, "key.create", key.id, {"app": row.ref})
    return IngestKeyCreated(
        id=key.id, key=secret, app=row.ref, created_at=key.created_at
    )


@router.get(
    "/apps/{app}/keys", tags=["apps"], responses=error_responses(401, 403, 404, 422)
)
def list_ingest_keys(
    app: AppRef, session: SessionDep, _caller: ReaderDep
) -> list[IngestKeyOut]:
    """List an app's ingest keys with creation and revocation times (never the key)."""
    row = get_app(session, app)
    return [
        IngestKeyOut(
            id=key.id, app=row.ref, created_at=key.created_at, revoked_at=key.revoked_at
        )
        for key in apps.list_ingest_keys(session, row)
    ]


@router.delete(
    "/apps/{app}/keys/{key_id}",
    status_code=204,
    tags=["apps"],
    responses=error_responses(401, 403, 404, 422),
)
def revoke_ingest_key(
    app: AppRef, key_id: KeyId, session: SessionDep, caller: AdminDep
) -> Response:
    """Revoke an ingest key: events sent with it are rejected from now on.

    Revoking a key that is already revoked changes nothing.
    """
    row = get_app(session, app)
    key = apps.get_ingest_key(session, row, key_id)
    if apps.revoke_ingest_key(key):
        record_change(session, caller, "key.revoke", key.id, {"app": row.ref})
    return Response(status_code=204)


@router.put(
    "/domains/{hostname}",
    tags=["domains"],
    responses={**CREATED_OR_UPDATED, **error_responses(401, 403, 409, 422)},
)
def put_domain(
    hostname: Hostname,
    body: DomainPut,
    response: Response,
    session: SessionDep,
    caller: AdminDep,
) -> DomainOut:
    """Register a domain, or replace its owner team, subdomain scope and policy.

    Omitted policy values take their defaults, also when the domain exists.
    Returns `201` when the domain is new and `200` when it was updated.
    """
    name = normalize_hostname(hostname)
    settings = {
        "include_subdomains": body.include_subdomains,
        "owner_team": body.owner_team.strip(),
        **body.policy.model_dump(),
    }
    domain, created = domains.put_domain(session, name, settings)
    action = "domain.create" if created else "domain.update"
    record_change(session, caller, action, domain.hostname, settings)
    _status(response, created)
    return DomainOut.from_row(domain)


@router.get("/domains", tags=["domains"], responses=error_responses(401, 403))
def list_domains(session: SessionDep, _caller: ReaderDep) -> list[DomainOut]:
    """List the registered domains with their policy and pins."""
    return [DomainOut.from_row(domain) for domain in domains.list_domains(session)]


@router.get(
    "/domains/{hostname}", tags=["domains"], responses=error_responses(401, 403, 404)
)
def get_domain_detail(
    hostname: Hostname, session: SessionDep, _caller: ReaderDep
) -> DomainOut:
    """Return one domain with its owner team, policy and pins."""
    return DomainOut.from_row(get_domain(session, hostname))


@router.post(
    "/domains/{hostname}/pins",
    status_code=201,
    tags=["domains"],
    responses=error_responses(401, 403, 404, 409, 422),
)
def add_pin(
    hostname: Hostname, body: PinCreate, session: SessionDep, caller: AdminDep
) -> PinChangeOut:
    """Register a pin for a domain, from pin text or from a certificate.

    Send either `pin` (any accepted pin form) or `certificate` (one PEM or
    base64 DER certificate, whose key, subject and expiry are stored). The
    response contains lint `warnings`, such as a placeholder pin, a certificate
    hash pasted as a pin, or a domain left without a usable backup pin.
    """
    domain = get_domain(session, hostname)
    certificate = single_certificate(body.certificate) if body.certificate else None
    spki = spki_pin(certificate) if certificate else canonical_pin(body.pin or "")
    pin = domains.add_pin(session, domain, spki, body.role, body.label, certificate)

    warnings = [] if certificate else lint.lint_pin_text(session, spki)
    warnings += lint.check_backup_pin(domain)
    details = {
        "spki_sha256": spki,
        "role": pin.role,
        "label": pin.label,
        "certificate_sha256": pin.certificate_sha256,
    }
    record_change(session, caller, "pin.add", domain.hostname, details)
    return PinChangeOut.from_change(pin, warnings)


@router.patch(
    "/domains/{hostname}/pins/{pin:path}",
    tags=["domains"],
    responses=error_responses(401, 403, 404, 422),
)
def update_pin(
    hostname: Hostname,
    pin: Annotated[str, Path(description="The pin, URL-safe base64 or hex")],
    body: PinPatch,
    session: SessionDep,
    caller: AdminDep,
) -> PinChangeOut:
    """Change a registered pin's role (current, backup, retired) or label.

    The pin in the path may take any accepted form; URL-safe base64 or hex
    need no escaping.
    """
    domain = get_domain(session, hostname)
    row = domains.get_pin(domain, canonical_pin(pin, "pin in the path"))
    changed = domains.update_pin(row, body.model_dump(exclude_none=True))

    if changed:
        details = {"spki_sha256": row.spki_sha256, **changed}
        record_change(session, caller, "pin.update", domain.hostname, details)
    warnings = lint.check_placeholders([row.spki_sha256])
    warnings += lint.check_backup_pin(domain)
    return PinChangeOut.from_change(row, warnings)


@router.put(
    "/apps/{app}/releases/{version}",
    tags=["releases"],
    responses={**CREATED_OR_UPDATED, **error_responses(401, 403, 404, 409, 422)},
)
def put_release(
    app: AppRef,
    version: Version,
    body: ReleasePut,
    response: Response,
    session: SessionDep,
    caller: AdminDep,
) -> ReleaseChangeOut:
    """Declare the pinsets of an app version, replacing the ones declared before.

    `pins` maps each hostname that the build pins to its pin texts. Every
    hostname must fall under a registered domain (else `422 domain_not_found`),
    and hostnames under the same domain must list the same pins (else
    `422 conflicting_pinsets`). An empty list means that the build does not pin
    that hostname. A declared pinset wins over one learned from telemetry. The
    response contains lint `warnings` about each pinset, its expiry and the
    report URI.
    """
    row = get_app(session, app)
    pinsets = releases.resolve_pinsets(session, body.pins)
    release, created = releases.put_release(
        session, row, version, pinsets, body.pinset_expires, body.report_uri
    )

    resolved = [(pinset.domain, pinset.pins) for pinset in pinsets]
    warnings = lint.lint_release(
        session, resolved, body.pinset_expires, body.report_uri, utcnow().date()
    )
    details = _release_details(pinsets, body)
    record_change(session, caller, "release.put", f"{row.ref}@{version}", details)
    _status(response, created)
    hostnames = releases.domain_hostnames(session)
    return ReleaseChangeOut.from_change(release, row, hostnames, warnings)


def _release_details(
    pinsets: list[releases.DeclaredPinset], body: ReleasePut
) -> dict[str, Any]:
    pins = {pinset.domain.hostname: pinset.pins for pinset in pinsets}
    return {
        "pins": pins,
        "pinset_expires": body.pinset_expires and body.pinset_expires.isoformat(),
        "report_uri": body.report_uri,
    }


@router.get(
    "/apps/{app}/releases",
    tags=["releases"],
    responses=error_responses(401, 403, 404, 422),
)
def list_releases(
    app: AppRef, session: SessionDep, _caller: ReaderDep, limit: Limit = 100
) -> list[ReleaseOut]:
    """List an app's releases, newest first, with the effective pinset per domain.

    For each domain the declared pinset wins over the learned one, and
    `source` names the one that applies.
    """
    row = get_app(session, app)
    hostnames = releases.domain_hostnames(session)
    return [
        ReleaseOut.from_row(release, row, hostnames)
        for release in releases.list_releases(session, row, limit)
    ]


@router.get("/audit", tags=["audit"], responses=error_responses(401, 403, 422))
def list_audit_entries(
    session: SessionDep, _caller: ReaderDep, limit: Limit = 100
) -> list[AuditEntryOut]:
    """List registry changes, newest first: who changed what, and when."""
    return [AuditEntryOut.from_row(entry) for entry in recent_entries(session, limit)]
