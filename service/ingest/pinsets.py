"""Pinsets learned from the ``known_pins`` that events carry.

A learned pinset is kept per release and domain beside any declared one and
never changes it. Readiness prefers the declared pinset where both exist.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from service.ingest.checks import EventOfDomain
from service.ingest.upsert import upsert
from service.registry.models import ReleasePinset

# Sorted canonical pins, expiry date, and whether pinning is enforced.
Pinset = tuple[list[str], date | None, bool]


def reported_pinsets(events: list[EventOfDomain]) -> dict[int, Pinset]:
    """Return the pinset per domain id that the request's events report.

    The last event of the request wins. Events without known pins, or for
    hostnames that match no registered domain, teach nothing.
    """
    pinsets: dict[int, Pinset] = {}
    for event, domain_id in events:
        if domain_id is None or not event.known_pins:
            continue
        enforced = event.enforced is not False  # unknown counts as enforced
        pins = sorted(set(event.known_pins))
        pinsets[domain_id] = (pins, event.pinset_expires, enforced)
    return pinsets


# (release id, domain id) of a learned pinset.
PinsetKey = tuple[int, int]

# Built once, because every batch that carries known pins runs it. It may
# return pinsets of other pairs of the releases and domains, which are skipped.
LEARNED_PINSETS = select(
    ReleasePinset.release_id,
    ReleasePinset.domain_id,
    ReleasePinset.pins,
    ReleasePinset.expires,
    ReleasePinset.enforced,
).where(
    ReleasePinset.release_id.in_(bindparam("release_ids", expanding=True)),
    ReleasePinset.source == "learned",
    ReleasePinset.domain_id.in_(bindparam("domain_ids", expanding=True)),
)


def _stored_pinsets(session: Session, keys: list[PinsetKey]) -> dict[PinsetKey, Pinset]:
    values = {
        "release_ids": sorted({release_id for release_id, _ in keys}),
        "domain_ids": sorted({domain_id for _, domain_id in keys}),
    }
    rows = session.execute(LEARNED_PINSETS, values)
    return {
        (row.release_id, row.domain_id): (row.pins, row.expires, row.enforced)
        for row in rows
    }


def _replace_pinset(excluded: Any) -> dict[str, Any]:
    return {
        "pins": excluded.pins,
        "expires": excluded.expires,
        "enforced": excluded.enforced,
        "updated_at": excluded.updated_at,
    }


def learn_pinsets(
    session: Session, reported: dict[PinsetKey, Pinset], now: datetime
) -> None:
    """Store the learned pinsets that requests report, per release and domain.

    Unchanged pinsets are not written again, because most requests of a
    release repeat the same known pins.
    """
    if not reported:
        return
    stored = _stored_pinsets(session, sorted(reported))
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
        for (release_id, domain_id), (pins, expires, enforced) in sorted(
            reported.items()
        )
        if stored.get((release_id, domain_id)) != (pins, expires, enforced)
    ]
    upsert(
        session,
        ReleasePinset,
        rows,
        conflict=["release_id", "domain_id", "source"],
        update=_replace_pinset,
    )
