"""A per-process count of committed registry changes, for caches to check.

Caches of registry data, such as the domains ingest matches against and the
readiness snapshots, remember the count they were filled at. Once this
process commits a change to a domain, pin, app or release, the count moves
on and they drop what they contain. Changes committed by other processes
are not seen here, which is why every such cache also has a maximum age.

Only changes made through ORM objects count. Ingest writes learned pinsets
and app-domain links with Core statements, and those do not count, because
they change with every batch.
"""

import threading
from itertools import chain

from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

from service.registry.models import App, Domain, DomainPin, Release, ReleasePinset

REGISTRY_MODELS = (App, Domain, DomainPin, Release, ReleasePinset)
_CHANGED = "pinwatch_registry_changed"

_lock = threading.Lock()
_generation = 0


def registry_generation() -> int:
    """Return how many registry changes this process has committed so far."""
    return _generation


def _note_changes(session: Session, _flush: UOWTransaction) -> None:
    # After a flush the collections still list what the flush wrote.
    objects = chain(session.new, session.dirty, session.deleted)
    if any(isinstance(obj, REGISTRY_MODELS) for obj in objects):
        session.info[_CHANGED] = True


def _count_commit(session: Session) -> None:
    global _generation
    if session.info.pop(_CHANGED, False):
        with _lock:
            _generation += 1


def _forget_changes(session: Session) -> None:
    session.info.pop(_CHANGED, None)


# Listening on the Session class covers every session of the process,
# including ones made outside the API such as the CLI's.
event.listen(Session, "after_flush", _note_changes)
event.listen(Session, "after_commit", _count_commit)
event.listen(Session, "after_rollback", _forget_changes)
