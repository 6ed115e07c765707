"""One insert-or-update statement for SQLite and PostgreSQL.

Both dialects spell it ``INSERT ... ON CONFLICT``, but SQLAlchemy builds it
with a separate ``insert`` per dialect. On PostgreSQL the rows travel as one
array per column, unnested side by side into rows. The statement text is then
the same for any number of rows, so the driver prepares it once, and the
server parses and plans it once instead of once per row. Rows with a JSON
column, and SQLite, get the rows as one "executemany" instead.

Statements are built once per table, conflict target, update and returning
columns, and then reused: building the ``excluded`` columns of an upsert costs
more than sending it. Pass ``update`` as a module-level function, because a
lambda written inside a function is a new object on every call and defeats the
cache.
"""

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Executable, Row, Select, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session

Rows = Sequence[Mapping[str, Any]]
# Builds the SET clause from the row that was not inserted (``excluded``).
Updates = Callable[[Any], Mapping[str, Any]]


def _array_name(column: str) -> str:
    return f"{column}_values"


def _unnested(table: Table, columns: Sequence[str]) -> Select[Any]:
    """Select one row per position of the bound arrays, one array per column."""
    arrays = [
        bindparam(_array_name(name), type_=postgresql.ARRAY(table.c[name].type))
        for name in columns
    ]
    return select(*(func.unnest(array) for array in arrays))


def _arrays_fit(table: Table, columns: Sequence[str]) -> bool:
    # psycopg would send a list of JSON documents as a JSON array, not as
    # an array of JSON values.
    return not any(isinstance(table.c[name].type, JSON) for name in columns)


def _postgresql(
    table: Table,
    conflict: Sequence[str],
    update: Updates | None,
    columns: Sequence[str],
) -> postgresql.Insert:
    statement = postgresql.insert(table)
    if _arrays_fit(table, columns):
        statement = statement.from_select(columns, _unnested(table, columns))
    if update is None:
        return statement.on_conflict_do_nothing(index_elements=conflict)
    return statement.on_conflict_do_update(
        index_elements=conflict, set_=update(statement.excluded)
    )


def _sqlite(
    table: Table,
    conflict: Sequence[str],
    update: Updates | None,
    _columns: Sequence[str],
) -> sqlite.Insert:
    statement = sqlite.insert(table)
    if update is None:
        return statement.on_conflict_do_nothing(index_elements=conflict)
    return statement.on_conflict_do_update(
        index_elements=conflict, set_=update(statement.excluded)
    )


# Each call site of upsert adds one entry per dialect and set of row keys.
@lru_cache(maxsize=128)
def _statement(
    dialect: str,
    table: Table,
    conflict: tuple[str, ...],
    update: Updates | None,
    returning: tuple[str, ...],
    columns: tuple[str, ...],
) -> Executable:
    build = _postgresql if dialect == "postgresql" else _sqlite
    statement = build(table, conflict, update, columns)
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
    columns = tuple(rows[0])
    statement = _statement(dialect, table, tuple(conflict), update, names, columns)
    result = session.execute(statement, _parameters(dialect, table, rows, columns))
    return list(result.all()) if returning else []


def _parameters(
    dialect: str, table: Table, rows: Rows, columns: tuple[str, ...]
) -> Any:
    if dialect == "postgresql" and _arrays_fit(table, columns):
        return {_array_name(name): [row[name] for row in rows] for name in columns}
    return list(rows)
