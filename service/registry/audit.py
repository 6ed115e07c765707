"""Audit log of registry changes: who changed what, and when."""

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.logging import get_logger
from service.core.security import API_TOKEN_PREFIX, INGEST_KEY_PREFIX
from service.registry.auth import Caller
from service.registry.models import AuditEntry

log = get_logger(__name__)

# A report URI may carry an ingest key (iOS clients send it as ?key=pwk_...).
_SECRET = re.compile(
    f"({re.escape(INGEST_KEY_PREFIX)}|{re.escape(API_TOKEN_PREFIX)})[A-Za-z0-9_-]+"
)
REDACTED = r"\1[redacted]"


def redact_secrets(value: Any) -> Any:
    """Return ``value`` with every ingest key and API token in its strings masked."""
    if isinstance(value, str):
        return _SECRET.sub(REDACTED, value)
    if isinstance(value, dict):
        return {key: redact_secrets(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_secrets(item) for item in value]
    return value


def record_change(
    session: Session,
    caller: Caller,
    action: str,
    target: str,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry for a change made in the same transaction.

    Keys and tokens in ``details`` are masked, because every admin can read
    the log.
    """
    entry = AuditEntry(
        actor=caller.actor,
        action=action,
        target=target,
        details=redact_secrets(details or {}),
    )
    session.add(entry)
    log.info("registry_changed", actor=caller.actor, action=action, target=target)
    return entry


def recent_entries(session: Session, limit: int) -> Sequence[AuditEntry]:
    """Return up to ``limit`` entries, newest first."""
    query = (
        select(AuditEntry)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return session.scalars(query).all()
