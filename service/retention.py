"""Retention: delete raw rows past their age, never the aggregates readiness reads.

Raw failure samples, quarantined reports and event receipts are pruned. Hourly
check, served-key and failure counts, signatures and installs are kept, because
removal readiness and ``last_served_at`` look back over them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from service.core.settings import Settings
from service.ingest.models import EventReceipt, PinFailure, QuarantinedReport


@dataclass(frozen=True)
class PruneResult:
    failures: int
    quarantined: int
    receipts: int


def prune(session: Session, settings: Settings, now: datetime) -> PruneResult:
    """Delete raw rows older than their retention; flush, leave the commit."""
    failures = session.execute(
        delete(PinFailure).where(
            PinFailure.received_at
            < now - timedelta(days=settings.retention_failure_days)
        )
    )
    quarantined = session.execute(
        delete(QuarantinedReport).where(
            QuarantinedReport.received_at
            < now - timedelta(days=settings.retention_quarantine_days)
        )
    )
    receipts = session.execute(
        delete(EventReceipt).where(
            EventReceipt.received_at
            < now - timedelta(days=settings.retention_receipt_days)
        )
    )
    return PruneResult(
        failures=failures.rowcount,  # type: ignore[attr-defined]
        quarantined=quarantined.rowcount,  # type: ignore[attr-defined]
        receipts=receipts.rowcount,  # type: ignore[attr-defined]
    )
