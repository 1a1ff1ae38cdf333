"""The SQL repositories: SQLite (the embedded default) and PostgreSQL, on one SQLAlchemy Core
schema and one set of queries.

``SqliteRepository`` needs nothing beyond the core install; ``PostgresRepository`` needs the
``postgres`` extra (psycopg 3), imported only when one is built. ``build_tables`` defines the
three tables, on your own ``MetaData`` if you want them beside yours (see docs/schema.md).
"""

from __future__ import annotations

from ._postgres import PostgresRepository
from ._repository import SqlRepository
from ._schema import OnDelete, Tables, build_tables
from ._sqlite import SqliteRepository

__all__ = [
    "OnDelete",
    "PostgresRepository",
    "SqlRepository",
    "SqliteRepository",
    "Tables",
    "build_tables",
]
