"""Domains, their readiness policy and their registered pins."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from service.core.db import utcnow
from service.core.errors import Conflict, NotFound
from service.pins.certificates import certificate_sha256
from service.pins.pins import display_pin
from service.registry.models import Domain, DomainPin

MAX_SUBJECT_LENGTH = 1000


def find_domain(session: Session, hostname: str) -> Domain | None:
    return session.scalars(select(Domain).where(Domain.hostname == hostname)).first()


def put_domain(
    session: Session,
    hostname: str,
    settings: dict[str, Any],
) -> tuple[Domain, bool]:
    """Create or replace a domain's settings; return it and whether it is new.

    ``settings`` contains ``include_subdomains``, ``owner_team`` and the policy
    fields, each already validated.
    """
    now = utcnow()
    domain = find_domain(session, hostname)
    created = domain is None
    if domain is None:
        domain = Domain(hostname=hostname, created_at=now)
        session.add(domain)
    for name, value in settings.items():
        setattr(domain, name, value)
    domain.updated_at = now

    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"domain {hostname!r} was registered by another request at the same "
            "time; retry the request",
            code="concurrent_change",
        ) from exc
    return domain, created


def list_domains(session: Session) -> Sequence[Domain]:
    query = select(Domain).options(selectinload(Domain.pins)).order_by(Domain.hostname)
    return session.scalars(query).all()


def find_pin(domain: Domain, spki_sha256: str) -> DomainPin | None:
    return next((pin for pin in domain.pins if pin.spki_sha256 == spki_sha256), None)


def get_pin(domain: Domain, spki_sha256: str) -> DomainPin:
    pin = find_pin(domain, spki_sha256)
    if pin is None:
        raise NotFound(
            f"pin {display_pin(spki_sha256)} is not registered for {domain.hostname}",
            code="pin_not_found",
        )
    return pin


def _pin_exists(domain: Domain, spki_sha256: str) -> Conflict:
    return Conflict(
        f"pin {display_pin(spki_sha256)} is already registered for "
        f"{domain.hostname}; change its role or label with PATCH instead",
        code="pin_exists",
    )


def _certificate_fields(certificate: x509.Certificate) -> dict[str, Any]:
    not_after: datetime = certificate.not_valid_after_utc
    return {
        "certificate_sha256": certificate_sha256(certificate),
        "subject": certificate.subject.rfc4514_string()[:MAX_SUBJECT_LENGTH],
        "not_after": not_after,
    }


def add_pin(
    session: Session,
    domain: Domain,
    spki_sha256: str,
    role: str,
    label: str,
    certificate: x509.Certificate | None = None,
) -> DomainPin:
    """Register a pin for a domain; raise Conflict when it is already there."""
    if find_pin(domain, spki_sha256) is not None:
        raise _pin_exists(domain, spki_sha256)
    fields = _certificate_fields(certificate) if certificate is not None else {}
    now = utcnow()
    pin = DomainPin(
        spki_sha256=spki_sha256,
        role=role,
        label=label,
        created_at=now,
        updated_at=now,
        **fields,
    )
    domain.pins.append(pin)

    try:
        session.flush()
    except IntegrityError as exc:
        raise _pin_exists(domain, spki_sha256) from exc
    return pin


def update_pin(pin: DomainPin, changes: dict[str, str]) -> dict[str, Any]:
    """Apply role and label changes; return each changed field as [old, new]."""
    changed: dict[str, Any] = {}
    for name, value in changes.items():
        old = getattr(pin, name)
        if old != value:
            setattr(pin, name, value)
            changed[name] = [old, value]
    if changed:
        pin.updated_at = utcnow()
    return changed
