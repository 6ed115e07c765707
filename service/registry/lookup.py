"""Look-ups shared by the API and ingest: apps by reference, domains by hostname."""

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.errors import InvalidInput, NotFound
from service.registry.apps import BUNDLE_ID_PATTERN
from service.registry.domains import find_domain
from service.registry.inputs import normalize_hostname
from service.registry.models import App, Domain

_BUNDLE_ID = re.compile(BUNDLE_ID_PATTERN)


def split_app_ref(ref: str) -> tuple[str, str]:
    """Split ``<platform>:<bundle_id>``, or raise InvalidInput (``invalid_app_ref``).

    The bundle id must have the form that registration accepts, so text that no
    app can have, such as a NUL that PostgreSQL rejects, never reaches a query.
    """
    platform, sep, bundle_id = ref.partition(":")
    if not sep or not platform or not _BUNDLE_ID.fullmatch(bundle_id):
        raise InvalidInput(
            f"app reference {ref!r} is invalid: use <platform>:<bundle_id>, "
            "for example ios:com.example.bank, where the bundle id contains only "
            "letters, digits, dots, underscores and hyphens",
            code="invalid_app_ref",
        )
    return platform.lower(), bundle_id


def get_app(session: Session, ref: str) -> App:
    platform, bundle_id = split_app_ref(ref)
    app = session.scalars(
        select(App).where(App.platform == platform, App.bundle_id == bundle_id)
    ).first()
    if app is None:
        raise NotFound(f"app {ref!r} is not registered", code="app_not_found")
    return app


def _domain_not_found(hostname: str) -> NotFound:
    return NotFound(f"domain {hostname!r} is not registered", code="domain_not_found")


def get_domain(session: Session, hostname: str) -> Domain:
    """Return the domain registered under a hostname, or raise NotFound.

    The hostname is normalised as registration does, so a Unicode name finds
    its punycode registration. A hostname that registration would reject
    cannot be registered, so it is not found either.
    """
    try:
        name = normalize_hostname(hostname)
    except InvalidInput as exc:
        raise _domain_not_found(hostname) from exc
    domain = find_domain(session, name)
    if domain is None:
        raise _domain_not_found(hostname)
    return domain


def match_domain(hostname: str, domains: Iterable[Domain]) -> Domain | None:
    """Return the most specific registered domain that covers a hostname, or None.

    A domain covers its own hostname, and its subdomains when
    ``include_subdomains`` is set.
    """
    name = hostname.lower().rstrip(".")
    best: Domain | None = None
    for domain in domains:
        exact = name == domain.hostname
        covered = domain.include_subdomains and name.endswith("." + domain.hostname)
        if (exact or covered) and (
            best is None or len(domain.hostname) > len(best.hostname)
        ):
            best = domain
    return best
