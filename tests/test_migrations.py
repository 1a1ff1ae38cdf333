"""The shipped Alembic migrations: the branch's head equals ``create_schema()`` on both databases.

Each test builds a minimal *host* Alembic environment in ``tmp_path`` (its own ``env.py`` and
one revision of its own) whose ``version_locations`` include the package's versions
directory, exactly as docs/migrations.md tells a host to do, and drives it through
``alembic.command``. On PostgreSQL everything (the host's tables, ``alembic_version`` and the
catalog's tables) lives in a fresh schema of the test's own, reached through ``search_path``.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, MetaData, String, Table, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

from asset_catalog import AssetCatalog, AssetNotFound, UrlSigner, open_catalog
from asset_catalog.migrations import (
    BRANCH_LABEL,
    PREFIX_OPTION,
    SCHEMA_OPTION,
    VERSION_LOCATION,
    versions_path,
)
from asset_catalog.sql import PostgresRepository, SqliteRepository, build_tables
from asset_catalog.storage import FsspecStorage

from .backends import SECRET, drop_schema, new_test_schema_name
from .images import png_bytes

LIBRARY_HEAD = f"{BRANCH_LABEL}@head"
LIBRARY_BASE = f"{BRANCH_LABEL}@base"
HOST_REVISION = "host_0001"
HOST_TABLE = "host_conversations"

# A host's env.py as Alembic's generic template writes it, reduced to what a test needs.
HOST_ENV = """\
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config

if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
"""

# The host's own first revision: a root of the host's (unlabelled) branch.
HOST_REVISION_SOURCE = f'''\
"""The host's own tables."""

import sqlalchemy as sa
from alembic import op

revision = "{HOST_REVISION}"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("{HOST_TABLE}", sa.Column("id", sa.String(64), primary_key=True))


def downgrade() -> None:
    op.drop_table("{HOST_TABLE}")
'''

Snapshot = list[tuple[Any, ...]]


def write_host_env(root: Path) -> Path:
    """A host's migration directory: ``env.py`` and one revision of the host's own."""
    host = root / "host_migrations"
    (host / "versions").mkdir(parents=True)
    (host / "env.py").write_text(HOST_ENV)
    (host / "versions" / f"{HOST_REVISION}.py").write_text(HOST_REVISION_SOURCE)
    return host


def alembic_config(
    host: Path,
    url: URL,
    *,
    attributes: dict[str, Any] | None = None,
    main_options: dict[str, str] | None = None,
    x: list[str] | None = None,
    output: io.StringIO | None = None,
) -> Config:
    """What a host's alembic.ini says, built in code: its env, both version locations, a URL."""
    config = Config(
        cmd_opts=argparse.Namespace(x=x) if x is not None else None, output_buffer=output
    )
    config.set_main_option("script_location", str(host))
    # newline, not "os": on POSIX "os" splits on ":" and would cut the package:path resource.
    config.set_main_option("path_separator", "newline")
    config.set_main_option("version_locations", f"{host / 'versions'}\n{VERSION_LOCATION}")
    # The ini format interpolates "%": a URL-encoded character needs "%%".
    rendered = url.render_as_string(hide_password=False).replace("%", "%%")
    config.set_main_option("sqlalchemy.url", rendered)
    for name, value in (main_options or {}).items():
        config.set_main_option(name, value)
    config.attributes.update(attributes or {})
    return config


def shipped_scripts() -> ScriptDirectory:
    """The package's versions directory alone, as Alembic reads it."""
    config = Config()
    config.set_main_option("script_location", versions_path())
    config.set_main_option("path_separator", "newline")
    config.set_main_option("version_locations", versions_path())
    return ScriptDirectory.from_config(config)


def library_head() -> str:
    """The head revision of the catalog's branch."""
    heads = shipped_scripts().get_heads()
    assert len(heads) == 1
    return heads[0]


def catalog_table_names(prefix: str = "") -> set[str]:
    """The catalog's table names for ``prefix``, as the library defines them."""
    return set(build_tables(prefix).metadata.tables)


def autogenerate_diff(engine: Engine, prefix: str = "") -> list[Any]:
    """Alembic's autogenerate diff between the database and ``build_tables(prefix)``.

    Only the catalog's tables are compared (not ``alembic_version`` or the host's); column
    types, nullability, server defaults, indexes (their columns and uniqueness), unique and
    foreign key constraints are. Alembic does not compare partial-index predicates, CHECK
    constraints or SQLite's WITHOUT ROWID: :func:`ddl_snapshot` covers those.
    """
    metadata = build_tables(prefix).metadata
    names = set(metadata.tables)

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        return type_ != "table" or name in names

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_name": include_name,
                "compare_type": True,
                "compare_server_default": True,
            },
        )
        return list(compare_metadata(context, metadata))


def _squash(sql: str | None) -> str | None:
    return " ".join(sql.split()) if sql is not None else None


def ddl_snapshot(engine: Engine, schema: str | None, prefix: str = "") -> Snapshot:
    """The catalog tables' DDL as the database itself reports it, for an exact comparison.

    SQLite: every ``sqlite_master`` entry of the tables (the CREATE TABLE text with its
    constraints and WITHOUT ROWID, each CREATE INDEX with its WHERE clause, the automatic
    indexes). PostgreSQL: columns, ``pg_get_constraintdef`` of every constraint and
    ``pg_indexes.indexdef`` of every index, with the schema name replaced by ``<schema>``.
    """
    tables = sorted(catalog_table_names(prefix))
    rows: Snapshot
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = [
                (kind, name, table, _squash(sql))
                for kind, name, table, sql in conn.execute(
                    text(
                        "SELECT type, name, tbl_name, sql FROM sqlite_master"
                        " WHERE tbl_name IN (SELECT value FROM json_each(:tables))"
                    ),
                    {"tables": json.dumps(tables)},
                )
            ]
        else:
            assert schema is not None
            params = {"schema": schema, "tables": tables}
            columns = conn.execute(
                text(
                    "SELECT 'column', table_name, ordinal_position, column_name, data_type,"
                    " character_maximum_length, collation_name, is_nullable, column_default"
                    " FROM information_schema.columns"
                    " WHERE table_schema = :schema AND table_name = ANY(:tables)"
                ),
                params,
            )
            constraints = conn.execute(
                text(
                    "SELECT 'constraint', rel.relname, con.conname, con.contype,"
                    " pg_get_constraintdef(con.oid)"
                    " FROM pg_constraint con"
                    " JOIN pg_class rel ON rel.oid = con.conrelid"
                    " JOIN pg_namespace nsp ON nsp.oid = rel.relnamespace"
                    " WHERE nsp.nspname = :schema AND rel.relname = ANY(:tables)"
                ),
                params,
            )
            indexes = conn.execute(
                text(
                    "SELECT 'index', tablename, indexname, indexdef FROM pg_indexes"
                    " WHERE schemaname = :schema AND tablename = ANY(:tables)"
                ),
                params,
            )
            tables_ = conn.execute(
                text(
                    "SELECT 'table', c.relname, c.relkind, c.relpersistence, c.reloptions"
                    " FROM pg_class c JOIN pg_namespace nsp ON nsp.oid = c.relnamespace"
                    " WHERE nsp.nspname = :schema AND c.relname = ANY(:tables)"
                ),
                params,
            )
            rows = [
                tuple(
                    v.replace(f'"{schema}".', "<schema>.").replace(f"{schema}.", "<schema>.")
                    if isinstance(v, str)
                    else v
                    for v in row
                )
                for result in (tables_, columns, constraints, indexes)
                for row in result
            ]
    return sorted(rows, key=repr)


@attrs.define
class Database:
    """One empty database the host migrates: a SQLite file, or a PostgreSQL schema of its own."""

    kind: str
    url: URL
    schema: str | None
    tmp_path: Path
    postgres: Engine | None = None
    _finalizers: list[Callable[[], None]] = attrs.field(factory=list)

    def engine(self) -> Engine:
        """An engine on the migrated database, disposed of after the test."""
        engine = create_engine(self.url)
        self._finalizers.append(engine.dispose)
        return engine

    def new_schema(self) -> str:
        """PostgreSQL: one more fresh schema, dropped after the test."""
        assert self.postgres is not None
        name = new_test_schema_name()
        with self.postgres.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        postgres = self.postgres
        self._finalizers.append(lambda: drop_schema(postgres, name))
        return name

    def snapshot(self, prefix: str = "", schema: str | None = None) -> Snapshot:
        """The DDL snapshot of the migrated database (its catalog tables)."""
        if self.postgres is not None:
            return ddl_snapshot(self.postgres, schema or self.schema, prefix)
        return ddl_snapshot(self.engine(), None, prefix)

    def reference_snapshot(self, prefix: str = "") -> Snapshot:
        """The DDL snapshot of a database built by the repository's ``create_schema()``."""
        if self.postgres is not None:
            schema = self.new_schema()
            PostgresRepository(self.postgres, schema=schema, table_prefix=prefix).create_schema()
            return ddl_snapshot(self.postgres, schema, prefix)
        path = self.tmp_path / f"reference-{prefix or 'default'}.db"
        repository = SqliteRepository(f"sqlite:///{path}", table_prefix=prefix)
        try:
            repository.create_schema()
            return ddl_snapshot(repository.engine, None, prefix)
        finally:
            repository.close()

    def table_names(self, schema: str | None = None) -> set[str]:
        """Every table in the migrated database (PostgreSQL: in the test's schema)."""
        if self.postgres is not None:
            return set(inspect(self.postgres).get_table_names(schema=schema or self.schema))
        return set(inspect(self.engine()).get_table_names())

    def version_rows(self) -> set[str]:
        """The revisions ``alembic_version`` records as applied."""
        with self.engine().connect() as conn:
            return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())

    def close(self) -> None:
        for finalize in reversed(self._finalizers):
            finalize()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database on each backend; PostgreSQL reached with search_path = a new schema."""
    if request.param == "sqlite":
        db = Database("sqlite", make_url(f"sqlite:///{tmp_path / 'host.db'}"), None, tmp_path)
    else:
        postgres: Engine = request.getfixturevalue("postgres_engine")
        schema: str = request.getfixturevalue("postgres_schema")
        url = postgres.url.update_query_dict({"options": f"-csearch_path={schema}"})
        db = Database("postgres", url, schema, tmp_path, postgres)
    yield db
    db.close()


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """The host's migration directory (env.py and its own first revision)."""
    return write_host_env(tmp_path)


def open_migrated_catalog(db: Database, prefix: str = "") -> AssetCatalog:
    """The catalog on the migrated database, told not to create anything."""
    return open_catalog(
        db.url.render_as_string(hide_password=False),
        f"file://{db.tmp_path / 'blobs'}",
        secret=SECRET,
        table_prefix=prefix,
        create_schema=False,
    )


class TestHeadEqualsCreateSchema:
    """``upgrade asset_catalog@head`` builds exactly what ``create_schema()`` builds."""

    def test_autogenerate_diff_is_empty(self, database: Database, host: Path) -> None:
        """Alembic's autogenerate comparison with build_tables() finds nothing to change."""
        command.upgrade(alembic_config(host, database.url), LIBRARY_HEAD)
        assert autogenerate_diff(database.engine()) == []

    def test_ddl_equals_create_schema(self, database: Database, host: Path) -> None:
        """Columns, constraints, indexes with their WHERE clauses and table options are equal."""
        command.upgrade(alembic_config(host, database.url), LIBRARY_HEAD)
        migrated = database.snapshot()
        assert migrated == database.reference_snapshot()
        partial = [row for row in migrated if "WHERE" in str(row)]
        assert len(partial) >= 2, "the partial indexes are part of the comparison"
        if database.kind == "sqlite":
            assert sum("WITHOUT ROWID" in str(row) for row in migrated) == 4  # every table

    def test_ddl_comparison_sees_a_lost_where_clause(self, database: Database, host: Path) -> None:
        """The exact comparison is not blind where autogenerate is: a full index differs."""
        command.upgrade(alembic_config(host, database.url), LIBRARY_HEAD)
        with database.engine().begin() as conn:
            conn.execute(text("DROP INDEX ux_agent_assets_idempotency"))
            conn.execute(
                text(
                    "CREATE UNIQUE INDEX ux_agent_assets_idempotency"
                    " ON agent_assets (tenant_id, idempotency_key)"
                )
            )
        assert database.snapshot() != database.reference_snapshot()

    def test_prefixed_tables_equal_create_schema(self, database: Database, host: Path) -> None:
        """With a table prefix the migrated tables equal create_schema() with that prefix."""
        config = alembic_config(host, database.url, attributes={PREFIX_OPTION: "ac_"})
        command.upgrade(config, LIBRARY_HEAD)
        assert catalog_table_names("ac_") <= database.table_names()
        assert not catalog_table_names() & database.table_names()
        assert autogenerate_diff(database.engine(), "ac_") == []
        assert database.snapshot("ac_") == database.reference_snapshot("ac_")


class TestRoundTrip:
    """Upgrade, downgrade to base and upgrade again leave the same schema."""

    def test_upgrade_downgrade_upgrade(self, database: Database, host: Path) -> None:
        """Downgrading to the branch's base removes every catalog table; upgrading restores them."""
        config = alembic_config(host, database.url)
        command.upgrade(config, LIBRARY_HEAD)
        first = database.snapshot()

        command.downgrade(config, LIBRARY_BASE)
        assert not catalog_table_names() & database.table_names()
        assert database.version_rows() == set()

        command.upgrade(config, LIBRARY_HEAD)
        assert database.snapshot() == first == database.reference_snapshot()
        assert autogenerate_diff(database.engine()) == []


class TestCatalogOnMigratedDatabase:
    """A catalog opened with ``create_schema=False`` works on the migrated tables."""

    @pytest.mark.parametrize("prefix", ["", "ac_"], ids=["default", "prefixed"])
    def test_ingest_list_delete(self, database: Database, host: Path, prefix: str) -> None:
        """Ingest an image and a file, list them, delete one, and see it gone."""
        command.upgrade(
            alembic_config(host, database.url, attributes={PREFIX_OPTION: prefix}), LIBRARY_HEAD
        )
        catalog = open_migrated_catalog(database, prefix)
        try:
            image = catalog.ingest_image(
                "tenant-a", png_bytes(8, 8), tool_call_id="ig_1", conversation_id="conv_1"
            )
            doc = catalog.ingest_container_file(
                "tenant-a", b"a,b\n1,2\n", container_id="c1", file_id="f1", filename="r.csv"
            )
            assert catalog.ingest_image("tenant-a", png_bytes(8, 8), tool_call_id="ig_1") == image
            assert [a.id for a in catalog.list("tenant-a").items] == [doc.id, image.id]
            assert [a.id for a in catalog.list("tenant-a", asset_type="image").items] == [image.id]

            catalog.delete("tenant-a", doc.id, actor="user:1")
            assert [a.id for a in catalog.list("tenant-a").items] == [image.id]
            with pytest.raises(AssetNotFound):
                catalog.get("tenant-a", doc.id)
        finally:
            catalog.close()

        with database.engine().connect() as conn:
            count = conn.execute(text(f"SELECT count(*) FROM {prefix}agent_assets")).scalar()
        assert count == 2  # soft delete: the row stays, in the migrated table

    def test_revision_0003_counts_the_assets_already_there(
        self, database: Database, host: Path
    ) -> None:
        """Assets catalogued before the usage table existed are counted by its upgrade."""
        config = alembic_config(host, database.url)
        command.upgrade(config, LIBRARY_HEAD)
        catalog = open_migrated_catalog(database, "")
        try:
            catalog.ingest_image("tenant-a", png_bytes(8, 8), tool_call_id="ig_1")
            doc = catalog.ingest_upload("tenant-a", b"a,b\n1,2\n", filename="r.csv")
            gone = catalog.ingest_upload("tenant-a", b"x", filename="x.txt")
            catalog.ingest_upload("tenant-b", b"y,z\n", filename="y.csv")
            catalog.delete("tenant-a", gone.id)
            expected = {t: catalog.usage(t) for t in ("tenant-a", "tenant-b")}
            command.downgrade(config, "asset_catalog_0002")  # an older catalog, with assets
            command.upgrade(config, LIBRARY_HEAD)
            assert {t: catalog.usage(t) for t in expected} == expected
            assert expected["tenant-a"].assets == 2
            assert expected["tenant-a"].bytes == len(png_bytes(8, 8)) + doc.size_bytes
        finally:
            catalog.close()


class TestHostBranch:
    """The catalog's branch runs beside the host's own migrations."""

    def test_upgrade_heads_applies_both_branches(self, database: Database, host: Path) -> None:
        """``upgrade heads`` applies the host's revision and the catalog's branch."""
        config = alembic_config(host, database.url)
        command.upgrade(config, "heads")
        assert {HOST_TABLE, *catalog_table_names()} <= database.table_names()
        assert database.version_rows() == {HOST_REVISION, library_head()}
        assert autogenerate_diff(database.engine()) == []

    def test_branches_move_independently(self, database: Database, host: Path) -> None:
        """The host's branch and the catalog's upgrade and downgrade without touching each other."""
        config = alembic_config(host, database.url)
        command.upgrade(config, HOST_REVISION)
        assert database.table_names() >= {HOST_TABLE}
        assert not catalog_table_names() & database.table_names()

        command.upgrade(config, LIBRARY_HEAD)
        assert database.version_rows() == {HOST_REVISION, library_head()}

        command.downgrade(config, LIBRARY_BASE)
        assert HOST_TABLE in database.table_names()
        assert not catalog_table_names() & database.table_names()
        assert database.version_rows() == {HOST_REVISION}


class TestOptions:
    """The table prefix and the PostgreSQL schema reach the revisions from every source."""

    @pytest.mark.parametrize("source", ["attributes", "x", "ini"])
    def test_prefix_sources(self, tmp_path: Path, host: Path, source: str) -> None:
        """``Config.attributes``, ``-x asset_catalog_prefix=…`` and the ini option all work."""
        url = make_url(f"sqlite:///{tmp_path / 'host.db'}")
        sources: dict[str, dict[str, Any]] = {
            "attributes": {"attributes": {PREFIX_OPTION: "p_"}},
            "x": {"x": [f"{PREFIX_OPTION}=p_"]},
            "ini": {"main_options": {PREFIX_OPTION: "p_"}},
        }
        kwargs = sources[source]
        config = alembic_config(host, url, **kwargs)
        command.upgrade(config, LIBRARY_HEAD)
        engine = create_engine(url)
        try:
            assert catalog_table_names("p_") <= set(inspect(engine).get_table_names())
            command.downgrade(config, LIBRARY_BASE)
            assert not catalog_table_names("p_") & set(inspect(engine).get_table_names())
        finally:
            engine.dispose()

    def test_attributes_win_over_the_ini(self, tmp_path: Path, host: Path) -> None:
        """A prefix set in code overrides the ini file's."""
        url = make_url(f"sqlite:///{tmp_path / 'host.db'}")
        config = alembic_config(
            host, url, attributes={PREFIX_OPTION: "code_"}, main_options={PREFIX_OPTION: "ini_"}
        )
        command.upgrade(config, LIBRARY_HEAD)
        engine = create_engine(url)
        try:
            names = set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
        assert catalog_table_names("code_") <= names
        assert not catalog_table_names("ini_") & names

    def test_postgres_schema_option(self, postgres_engine: Engine, host: Path) -> None:
        """``asset_catalog_schema`` puts the tables in that schema, off the search_path."""
        db = Database("postgres", postgres_engine.url, None, host.parent, postgres_engine)
        try:
            home = db.new_schema()  # search_path: alembic_version and the host's tables
            catalog_schema = db.new_schema()
            db.url = postgres_engine.url.update_query_dict({"options": f"-csearch_path={home}"})
            config = alembic_config(host, db.url, attributes={SCHEMA_OPTION: catalog_schema})
            command.upgrade(config, "heads")

            assert db.table_names(home) == {"alembic_version", HOST_TABLE}
            assert db.table_names(catalog_schema) == catalog_table_names()
            assert db.snapshot(schema=catalog_schema) == db.reference_snapshot()

            repository = PostgresRepository(
                postgres_engine.url.render_as_string(hide_password=False), schema=catalog_schema
            )
            try:
                catalog = AssetCatalog(
                    repository=repository,
                    storage=FsspecStorage.from_url(f"file://{host.parent / 'blobs'}"),
                    signer=UrlSigner(SECRET),
                )
                asset = catalog.ingest_image("t", png_bytes(4, 4), tool_call_id="ig")
                assert catalog.get("t", asset.id) == asset
            finally:
                repository.close()

            command.downgrade(config, LIBRARY_BASE)
            assert db.table_names(catalog_schema) == set()
            assert db.table_names(home) == {"alembic_version", HOST_TABLE}
        finally:
            db.close()


ROOT = Path(__file__).resolve().parent.parent
DOCUMENTED_REVISION = re.compile(
    r"A revision file of your own[^\n]*\n[^\n]*\n\n```python\n(?P<code>.*?)```", re.DOTALL
)

# The host revision the documented one builds on: the tables its foreign keys point at.
APP_ROOT_SOURCE = """\
import sqlalchemy as sa
from alembic import op

revision = "app_0001"
down_revision = None
branch_labels = ("app",)
depends_on = None


def upgrade() -> None:
    op.create_table("conversations", sa.Column("id", sa.String(255), primary_key=True))
    op.create_table("messages", sa.Column("id", sa.String(255), primary_key=True))


def downgrade() -> None:
    op.drop_table("messages")
    op.drop_table("conversations")
"""


def host_tables_with_keys(schema: str | None = None) -> MetaData:
    """What the documented revision should produce, as build_tables() describes it."""
    metadata = MetaData(schema=schema)
    Table("conversations", metadata, Column("id", String(255), primary_key=True))
    Table("messages", metadata, Column("id", String(255), primary_key=True))
    qualify = f"{schema}." if schema else ""
    build_tables(
        metadata=metadata,
        conversation_fk=f"{qualify}conversations.id",
        message_fk=f"{qualify}messages.id",
        message_ondelete="SET NULL",
    )
    return metadata


def structure(engine: Engine, schema: str | None) -> dict[str, Any]:
    """The catalog tables as the inspector reflects them: columns, keys, checks, indexes."""
    inspector = inspect(engine)

    def where(options: dict[str, Any]) -> str | None:
        clause = options.get("sqlite_where", options.get("postgresql_where"))
        return None if clause is None else _squash(str(clause)).replace("(", "").replace(")", "")

    return {
        table: {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"])
                for c in inspector.get_columns(table, schema)
            ],
            "foreign_keys": sorted(
                (
                    fk["name"],
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    fk["options"].get("ondelete"),
                )
                for fk in inspector.get_foreign_keys(table, schema)
            ),
            "checks": sorted(
                (c["name"], c["sqltext"]) for c in inspector.get_check_constraints(table, schema)
            ),
            "indexes": sorted(
                (
                    ix["name"],
                    tuple(ix["column_names"]),
                    bool(ix["unique"]),
                    where(dict(ix.get("dialect_options", {}))),
                )
                for ix in inspector.get_indexes(table, schema)
            ),
            "options": inspector.get_table_options(table, schema),
        }
        for table in sorted(catalog_table_names())
    }


class TestHostForeignKeys:
    """The documented host revision adds the foreign keys that build_tables() can declare."""

    def test_documented_revision_matches_build_tables(self, database: Database, host: Path) -> None:
        """Upgrading with it gives build_tables(conversation_fk=…, message_fk=…); down undoes it."""
        found = DOCUMENTED_REVISION.search((ROOT / "docs" / "migrations.md").read_text())
        assert found, "docs/migrations.md shows the foreign-key revision"
        (host / "versions" / "app_0001.py").write_text(APP_ROOT_SOURCE)
        (host / "versions" / "app_0002.py").write_text(found["code"])
        config = alembic_config(host, database.url)

        command.upgrade(config, "heads")
        expected = host_tables_with_keys()
        names = set(expected.tables) - {"alembic_version"}

        def include_name(name: str | None, type_: str, _parents: Any) -> bool:
            return type_ != "table" or name in names

        with database.engine().connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_name": include_name, "compare_type": True}
            )
            assert compare_metadata(context, expected) == []

        if database.postgres is not None:
            reference = database.new_schema()
            host_tables_with_keys(reference).create_all(database.postgres)
            migrated = structure(database.postgres, database.schema)
            assert migrated == structure(database.postgres, reference)
            assert database.snapshot() == ddl_snapshot(database.postgres, reference)
        else:
            reference_engine = create_engine(f"sqlite:///{database.tmp_path / 'reference.db'}")
            try:
                host_tables_with_keys().create_all(reference_engine)
                expected_structure = structure(reference_engine, None)
            finally:
                reference_engine.dispose()
            migrated = structure(database.engine(), None)
            assert migrated == expected_structure
        assert [fk[0] for fk in migrated["agent_assets"]["foreign_keys"]] == [
            "fk_agent_assets_conversation",
            "fk_agent_assets_message",
            "fk_agent_assets_object",
        ]

        command.downgrade(config, "app_0001")
        assert autogenerate_diff(database.engine()) == []
        if database.postgres is not None:
            assert database.snapshot() == database.reference_snapshot()
        else:
            # Batch mode rebuilt agent_assets: the same table, but SQLite keeps the rebuilt
            # CREATE TABLE text (quoted name, constraints in another order), so the structure
            # and the index DDL are compared rather than the table's text.
            repository = SqliteRepository(f"sqlite:///{database.tmp_path / 'plain.db'}")
            try:
                repository.create_schema()
                assert structure(database.engine(), None) == structure(repository.engine, None)
            finally:
                repository.close()
            indexes = [row for row in database.snapshot() if row[0] == "index"]
            assert indexes == [row for row in database.reference_snapshot() if row[0] == "index"]


class TestOfflineSql:
    """``alembic upgrade asset_catalog@head --sql`` writes the DDL for a DBA to review."""

    def test_postgres_script(self, host: Path) -> None:
        """The offline script has the tables, the JSONB columns and the partial indexes."""
        output = io.StringIO()
        config = alembic_config(host, make_url("postgresql://"), output=output)
        command.upgrade(config, LIBRARY_HEAD, sql=True)
        script = output.getvalue()
        assert "CREATE TABLE agent_assets" in script
        assert "metadata JSONB NOT NULL" in script
        assert "created_at TIMESTAMP WITH TIME ZONE NOT NULL" in script
        assert (
            "CREATE UNIQUE INDEX ux_agent_assets_idempotency ON agent_assets"
            " (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL"
            " AND deleted_at IS NULL"
        ) in " ".join(script.split())


class TestShippedRevisions:
    """The package's versions directory is one branch of frozen revisions."""

    def test_one_labelled_branch(self) -> None:
        """One root with the ``asset_catalog`` label and no dependencies, and one head."""
        scripts = shipped_scripts()
        revisions = list(scripts.walk_revisions())
        roots = [r for r in revisions if r.down_revision is None]
        assert len(roots) == 1
        assert roots[0].branch_labels == {BRANCH_LABEL}
        assert all(r.dependencies is None for r in revisions)
        assert all(r.revision.startswith(f"{BRANCH_LABEL}_") for r in revisions)
        assert len(scripts.get_heads()) == 1

    def test_resource_location_is_the_versions_directory(self, tmp_path: Path) -> None:
        """``asset_catalog:migrations/versions`` resolves to the shipped directory."""
        from alembic.util import coerce_resource_to_filename

        assert coerce_resource_to_filename(VERSION_LOCATION).resolve() == Path(versions_path())

    @pytest.mark.parametrize(
        "path", sorted(Path(versions_path()).glob("*.py")), ids=lambda p: p.name
    )
    def test_revisions_are_frozen(self, path: Path) -> None:
        """No revision builds tables from the library's current schema code."""
        tree = ast.parse(path.read_text())
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        modules = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
            a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
        }
        assert "build_tables" not in names
        assert not {m for m in modules if m.startswith("asset_catalog")} - {
            "asset_catalog.migrations"
        }
