"""Response bodies of the ingest endpoints."""

from pydantic import BaseModel, Field


class RejectedEventOut(BaseModel):
    index: int = Field(description="Position of the event in the events array.")
    code: str = Field(description="Why the event was rejected, in snake_case.")
    message: str


class EventsAccepted(BaseModel):
    """Outcome of a batch: every accepted event is committed to the database."""

    accepted: int = Field(description="Events stored by this request.")
    duplicates: int = Field(description="Events whose id was already stored.")
    rejected: list[RejectedEventOut] = Field(
        description="Events that failed validation; the others were stored."
    )


class ReportAccepted(EventsAccepted):
    """Outcome of a report: stored as a failure, or kept in quarantine."""

    quarantined: int = Field(
        default=0, description="1 when the body matched no known report format."
    )
