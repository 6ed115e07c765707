"""Look-ups shared by the API and ingest: apps by reference, domains by hostname."""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.errors import InvalidInput, NotFound
from service.registry.models import App, Domain


def split_app_ref(ref: str) -> tuple[str, str]:
    platform, sep, bundle_id = ref.partition(":")
    if not sep or not platform or not bundle_id:
        raise InvalidInput(
            f"app reference {ref!r} is invalid: use <platform>:<bundle_id>, "
            "for example ios:com.example.bank",
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


def get_domain(session: Session, hostname: str) -> Domain:
    domain = session.scalars(
        select(Domain).where(Domain.hostname == hostname.lower().rstrip("."))
    ).first()
    if domain is None:
        raise NotFound(
            f"domain {hostname!r} is not registered", code="domain_not_found"
        )
    return domain


def match_domain(hostname: str, domains: Iterable[Domain]) -> Domain | None:
    """Return the registered domain that covers a hostname, most specific first.

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
