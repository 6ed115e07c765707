"""Database engines: connection settings that the ingest path relies on."""

from psycopg.adapt import PyFormat
from psycopg.types.array import ListBinaryDumper

from service.core.db import create_db_engine
from tests.conftest import make_settings


def test_postgresql_sends_lists_as_binary(postgresql_url: str) -> None:
    engine = create_db_engine(make_settings(postgresql_url))
    try:
        with engine.connect() as connection:
            raw = connection.connection.dbapi_connection
            assert raw is not None
            dumper = raw.adapters.get_dumper(list, PyFormat.AUTO)
            cursor = raw.cursor()
            cursor.execute("SELECT %s::integer[]", [[1, None, 3]])
            row = cursor.fetchone()
    finally:
        engine.dispose()

    assert dumper is ListBinaryDumper
    assert row == ([1, None, 3],)
