"""Alembic environment: migrate the database named in the alembic config."""

from alembic import context
from sqlalchemy import create_engine, pool

import service.models
from service.core.db import sqlalchemy_url

target_metadata = service.models.Base.metadata


def run_migrations() -> None:
    url = sqlalchemy_url(context.config.get_main_option("sqlalchemy.url") or "")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return

    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite alters tables by copying them.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
