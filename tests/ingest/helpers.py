"""Reading stored rows back in ingest tests."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session


def all_rows(db: Session, model: type[Any]) -> list[Any]:
    """Return every row of a table as the database has it now."""
    db.commit()
    db.expire_all()
    return list(db.scalars(select(model)).all())
