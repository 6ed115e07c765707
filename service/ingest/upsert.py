"""One insert-or-update statement for SQLite and PostgreSQL.

Both dialects spell it ``INSERT ... ON CONFLICT``, but SQLAlchemy builds it
with a separate ``insert`` per dialect. The rows go in as one "executemany",
which SQLAlchemy sends as multi-row ``VALUES`` pages within each database's
bind parameter limit, so a batch of a thousand events costs a few round trips.

Statements are built once per table, conflict target, update and returning
columns, and then reused: building the ``excluded`` columns of an upsert costs
more than sending it. Pass ``update`` as a module-level function, because a
lambda written inside a function is a new object on every call and defeats the
cache.
"""

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Executable, Row, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session

Rows = Sequence[Mapping[str, Any]]
# Builds the SET clause from the row that was not inserted (``excluded``).
Updates = Callable[[Any], Mapping[str, Any]]


def _postgresql(
    table: Table, conflict: Sequence[str], update: Updates | None
) -> postgresql.Insert:
    statement = postgresql.insert(table)
    if update is None:
        return statement.on_conflict_do_nothing(index_elements=conflict)
    return statement.on_conflict_do_update(
        index_elements=conflict, set_=update(statement.excluded)
    )


def _sqlite(
    table: Table, conflict: Sequence[str], update: Updates | None
) -> sqlite.Insert:
    statement = sqlite.insert(table)
    if update is None:
        return statement.on_conflict_do_nothing(index_elements=conflict)
    return statement.on_conflict_do_update(
        index_elements=conflict, set_=update(statement.excluded)
    )


# Each call site of upsert adds one entry per dialect.
@lru_cache(maxsize=128)
def _statement(
    dialect: str,
    table: Table,
    conflict: tuple[str, ...],
    update: Updates | None,
    returning: tuple[str, ...],
) -> Executable:
    build = _postgresql if dialect == "postgresql" else _sqlite
    statement = build(table, conflict, update)
    if returning:
        return statement.returning(*(table.c[name] for name in returning))
    return statement


def upsert(
    session: Session,
    model: type[Any],
    rows: Rows,
    conflict: Sequence[str],
    update: Updates | None = None,
    returning: Sequence[InstrumentedAttribute[Any]] = (),
) -> list[Row[Any]]:
    """Insert rows, and apply ``update`` to (or skip) rows that conflict.

    ``conflict`` names the columns of the unique constraint. Returns the
    ``returning`` columns of every row inserted or updated, but nothing for a
    skipped row. Every row must have the same keys. Rows that conflict with
    each other must be merged first, because PostgreSQL cannot update one row
    twice in a statement.
    """
    if not rows:
        return []
    # The Core table, not the ORM entity: the rows need no ORM bookkeeping.
    table: Table = model.__table__
    dialect = session.get_bind().dialect.name
    names = tuple(attribute.key for attribute in returning)
    statement = _statement(dialect, table, tuple(conflict), update, names)
    result = session.execute(statement, list(rows))
    return list(result.all()) if returning else []
