"""Pinsets learned from the ``known_pins`` that events carry.

A learned pinset is kept per release and domain beside any declared one and
never changes it. Readiness prefers the declared pinset where both exist.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from service.ingest.events import IncomingEvent
from service.ingest.upsert import upsert
from service.registry.models import Domain, ReleasePinset

# Sorted canonical pins, expiry date, and whether pinning is enforced.
Pinset = tuple[list[str], date | None, bool]


def reported_pinsets(
    events: list[tuple[IncomingEvent, Domain | None]],
) -> dict[int, Pinset]:
    """Return the pinset per domain id that the request's events report.

    The last event of the request wins. Events without known pins, or for
    hostnames that match no registered domain, teach nothing.
    """
    pinsets: dict[int, Pinset] = {}
    for event, domain in events:
        if domain is None or not event.known_pins:
            continue
        enforced = event.enforced is not False  # unknown counts as enforced
        pins = sorted(set(event.known_pins))
        pinsets[domain.id] = (pins, event.pinset_expires, enforced)
    return pinsets


# Built once, because every request that carries known pins runs it.
LEARNED_PINSETS = select(
    ReleasePinset.domain_id,
    ReleasePinset.pins,
    ReleasePinset.expires,
    ReleasePinset.enforced,
).where(
    ReleasePinset.release_id == bindparam("release_id"),
    ReleasePinset.source == "learned",
    ReleasePinset.domain_id.in_(bindparam("domain_ids", expanding=True)),
)


def _stored_pinsets(
    session: Session, release_id: int, domain_ids: list[int]
) -> dict[int, Pinset]:
    values = {"release_id": release_id, "domain_ids": domain_ids}
    rows = session.execute(LEARNED_PINSETS, values)
    return {row.domain_id: (row.pins, row.expires, row.enforced) for row in rows}


def _replace_pinset(excluded: Any) -> dict[str, Any]:
    return {
        "pins": excluded.pins,
        "expires": excluded.expires,
        "enforced": excluded.enforced,
        "updated_at": excluded.updated_at,
    }


def learn_pinsets(
    session: Session,
    release_id: int,
    events: list[tuple[IncomingEvent, Domain | None]],
    now: datetime,
) -> None:
    """Store the release's learned pinsets that the events report or change.

    Unchanged pinsets are not written again, because most requests of a
    release repeat the same known pins.
    """
    reported = reported_pinsets(events)
    if not reported:
        return
    stored = _stored_pinsets(session, release_id, sorted(reported))

    rows = [
        {
            "release_id": release_id,
            "domain_id": domain_id,
            "source": "learned",
            "pins": pins,
            "expires": expires,
            "enforced": enforced,
            "updated_at": now,
        }
        for domain_id, (pins, expires, enforced) in sorted(reported.items())
        if stored.get(domain_id) != (pins, expires, enforced)
    ]
    upsert(
        session,
        ReleasePinset,
        rows,
        conflict=["release_id", "domain_id", "source"],
        update=_replace_pinset,
    )
