"""Quarantine for report bodies that are JSON but match no known format."""

from datetime import datetime

from sqlalchemy.orm import Session

from service.core.settings import Settings
from service.ingest.context import storable_text
from service.ingest.models import QuarantinedReport

MAX_REASON_LENGTH = 500


def quarantine_report(
    session: Session,
    settings: Settings,
    app_id: int,
    body: bytes,
    reason: str,
    received_at: datetime,
) -> None:
    """Keep the raw body, cut to ``max_quarantine_bytes``, for later inspection."""
    stored_body = body[: settings.max_quarantine_bytes]
    session.add(
        QuarantinedReport(
            received_at=received_at,
            app_id=app_id,
            reason=storable_text(reason, MAX_REASON_LENGTH) or "",
            size=len(body),
            truncated=len(stored_body) < len(body),
            body=stored_body,
        )
    )
    session.flush()
