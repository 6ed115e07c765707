"""Alembic, driven from code, so that ``pinwatch migrate`` needs no ini file."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from service.core.db import sqlalchemy_url

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Percent signs in passwords would otherwise be read as interpolation.
    url = sqlalchemy_url(database_url).replace("%", "%%")
    config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_is_outdated(current: str | None) -> bool:
    """Tell whether the database lacks migrations that this code needs.

    A revision this code does not know was written by a newer release, whose
    migrations must stay compatible with the release before it during a
    rolling upgrade, so it does not count as outdated.
    """
    script = ScriptDirectory(str(MIGRATIONS))
    if current is None:
        return True
    known = {revision.revision for revision in script.walk_revisions()}
    return current in known and current != script.get_current_head()
