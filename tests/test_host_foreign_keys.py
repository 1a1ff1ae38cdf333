"""Optional foreign keys from agent_assets to the host's conversations and messages.

``build_tables(metadata=host_metadata, conversation_fk="conversations.id",
message_fk="messages.id")`` puts the catalog's tables beside the host's and lets the
database refuse an asset that names a conversation or message the host does not have.
Every case runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from sqlalchemy import (
    Column,
    Engine,
    ForeignKey,
    MetaData,
    String,
    Table,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy import exc as sa_exc

from asset_catalog import AssetCatalog, InvalidInput, UrlSigner
from asset_catalog.protocols import AssetQuery
from asset_catalog.sql import PostgresRepository, SqliteRepository, SqlRepository, build_tables
from asset_catalog.sql._statements import list_statement
from asset_catalog.storage import FsspecStorage
from asset_catalog.testing._builders import created_event, make_asset, make_object

from .images import png_bytes

TENANT = "tenant-fk"
PNG = png_bytes(8, 8)


class Host(NamedTuple):
    """A host application's own tables with the catalog's beside them."""

    db: str
    repo: SqlRepository
    catalog: AssetCatalog
    conversations: Table
    messages: Table

    def add_conversation(self, conversation_id: str) -> None:
        with self.repo.engine.begin() as conn:
            conn.execute(insert(self.conversations), {"id": conversation_id, "title": "t"})

    def add_message(self, message_id: str, conversation_id: str) -> None:
        with self.repo.engine.begin() as conn:
            conn.execute(
                insert(self.messages), {"id": message_id, "conversation_id": conversation_id}
            )

    def delete_conversation_row(self, conversation_id: str) -> None:
        """What the host's own "delete conversation" does to its table."""
        with self.repo.engine.begin() as conn:
            conn.execute(
                self.messages.delete().where(self.messages.c.conversation_id == conversation_id)
            )
            conn.execute(
                self.conversations.delete().where(self.conversations.c.id == conversation_id)
            )

    def count(self, table: Table) -> int:
        with self.repo.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def object_statuses(self) -> list[str]:
        objects = self.repo.tables.objects
        with self.repo.engine.connect() as conn:
            return list(conn.execute(select(objects.c.status)).scalars())

    def blobs(self) -> list[str]:
        return list(self.catalog.storage.iter_keys())

    def unknown_reference_field(self, column: str) -> str:
        """The field an unknown reference of an *ingest* is reported under: PostgreSQL names
        the violated constraint; SQLite only says that a foreign key failed."""
        return column if self.db == "postgres" else "conversation_id/message_id"


def host_metadata(schema: str | None) -> tuple[MetaData, Table, Table]:
    """The host's own schema: conversations and their messages (string primary keys)."""
    md = MetaData(schema=schema)
    conversations = Table(
        "conversations",
        md,
        Column("id", String(64), primary_key=True),
        Column("title", String(200), nullable=False),
    )
    messages = Table(
        "messages",
        md,
        Column("id", String(64), primary_key=True),
        Column("conversation_id", String(64), ForeignKey("conversations.id"), nullable=False),
    )
    return md, conversations, messages


HostFactory = Callable[..., Host]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def make_host(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    memory_storage: FsspecStorage,
    signer: UrlSigner,
) -> Iterator[HostFactory]:
    """Build the host's tables and the catalog's (once per test), with the given options."""
    made: list[SqlRepository] = []

    def make(**options: Any) -> Host:
        assert not made, "one host per test"
        repo: SqlRepository
        if request.param == "sqlite":
            md, conversations, messages = host_metadata(None)
            tables = build_tables(
                metadata=md, conversation_fk="conversations.id", message_fk="messages.id", **options
            )
            repo = SqliteRepository(f"sqlite:///{tmp_path / 'host.db'}", tables=tables)
        else:
            schema: str = request.getfixturevalue("postgres_schema")
            engine: Engine = request.getfixturevalue("postgres_engine")
            md, conversations, messages = host_metadata(schema)
            tables = build_tables(
                metadata=md, conversation_fk="conversations.id", message_fk="messages.id", **options
            )
            repo = PostgresRepository(engine, tables=tables)
        repo.create_schema()
        made.append(repo)
        catalog = AssetCatalog(repository=repo, storage=memory_storage, signer=signer)
        return Host(request.param, repo, catalog, conversations, messages)

    yield make
    for repo in made:
        if isinstance(repo, SqliteRepository):  # the PostgreSQL engine is the session's
            repo.close()


@pytest.fixture
def host(make_host: HostFactory) -> Host:
    """Default options (RESTRICT), with conversation c1 holding message m1."""
    made = make_host()
    made.add_conversation("c1")
    made.add_message("m1", "c1")
    return made


def assert_nothing_left(host: Host) -> None:
    """A refused ingest leaves no blob, no asset, no event; its object row is ``failed``."""
    assert host.blobs() == []
    assert host.count(host.repo.tables.assets) == 0
    assert host.count(host.repo.tables.events) == 0
    assert host.object_statuses() == ["failed"]


class TestSchema:
    def test_tables_are_created_beside_the_hosts(self, host: Host) -> None:
        """One create_schema() makes the host's two tables and the catalog's three."""
        schema = host.repo.tables.assets.schema
        names = set(inspect(host.repo.engine).get_table_names(schema=schema))
        assert names == {
            "conversations",
            "messages",
            "storage_objects",
            "agent_assets",
            "asset_events",
            "tenant_usage",
        }

    def test_foreign_keys_reference_the_hosts_tables(self, host: Host) -> None:
        """The database reports both keys, named, with ON DELETE RESTRICT by default."""
        schema = host.repo.tables.assets.schema
        keys = {
            fk["name"]: fk
            for fk in inspect(host.repo.engine).get_foreign_keys("agent_assets", schema=schema)
            if fk["referred_table"] != "storage_objects"
        }
        got = {
            (fk["constrained_columns"][0], fk["referred_table"], fk["referred_columns"][0])
            for fk in keys.values()
        }
        assert got == {("conversation_id", "conversations", "id"), ("message_id", "messages", "id")}
        if host.db == "postgres":  # SQLite's reflection does not name its foreign keys
            assert set(keys) == {"fk_agent_assets_conversation", "fk_agent_assets_message"}
        assert {fk["options"].get("ondelete") for fk in keys.values()} == {"RESTRICT"}

    def test_without_options_there_are_no_foreign_keys(self) -> None:
        """The default schema references nothing outside the catalog."""
        tables = build_tables()
        referred = {fk.column.table.name for fk in tables.assets.foreign_keys}
        assert referred == {"storage_objects"}

    @pytest.mark.parametrize("action", ["CASCADE", "SET DEFAULT", "cascade", "DROP"])
    def test_actions_that_would_bypass_the_catalog_are_refused(self, action: str) -> None:
        """CASCADE would delete asset rows but not their blobs: refused, like any unknown."""
        with pytest.raises(ValueError, match="conversation_ondelete"):
            build_tables(conversation_fk="c.id", conversation_ondelete=action)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="message_ondelete"):
            build_tables(message_fk="m.id", message_ondelete=action)  # type: ignore[arg-type]


class TestIngest:
    def test_known_ids_work(self, host: Host) -> None:
        """An asset naming a known conversation and message is stored, listed and linked."""
        asset = host.catalog.ingest_image(
            TENANT, PNG, tool_call_id="call-1", conversation_id="c1", message_id="m1"
        )
        assert (asset.conversation_id, asset.message_id) == ("c1", "m1")
        listed = host.catalog.list(TENANT, conversation_id="c1").items
        assert [a.id for a in listed] == [asset.id]
        assert host.object_statuses() == ["stored"]
        assert len(host.blobs()) == 1

    def test_no_conversation_is_fine(self, host: Host) -> None:
        """The references stay optional: NULL satisfies a foreign key."""
        asset = host.catalog.ingest_image(TENANT, PNG, tool_call_id="call-1")
        assert asset.conversation_id is None

    def test_unknown_conversation_is_invalid_input(self, host: Host) -> None:
        """The database refuses the row; the caller gets InvalidInput and nothing is left."""
        with pytest.raises(InvalidInput) as info:
            host.catalog.ingest_image(TENANT, PNG, tool_call_id="call-1", conversation_id="nope")
        assert info.value.field == host.unknown_reference_field("conversation_id")
        assert info.value.__cause__ is not None  # the database's error, chained
        assert_nothing_left(host)

    def test_unknown_message_is_invalid_input(self, host: Host) -> None:
        """Same for a message id the host's messages table does not have."""
        with pytest.raises(InvalidInput) as info:
            host.catalog.ingest_image(
                TENANT, PNG, tool_call_id="call-1", conversation_id="c1", message_id="nope"
            )
        assert info.value.field == host.unknown_reference_field("message_id")
        assert_nothing_left(host)

    def test_container_file_with_unknown_conversation(self, host: Host) -> None:
        """The streamed path cleans up the same way."""
        with pytest.raises(InvalidInput):
            host.catalog.ingest_container_file(
                TENANT,
                iter([b"a,b\n", b"1,2\n"]),
                container_id="cntr",
                file_id="file-1",
                filename="r.csv",
                conversation_id="nope",
            )
        assert_nothing_left(host)

    def test_a_refused_ingest_can_be_retried_once_the_host_row_exists(self, host: Host) -> None:
        """Nothing of the refused attempt blocks the idempotency key."""
        with pytest.raises(InvalidInput):
            host.catalog.ingest_image(TENANT, PNG, tool_call_id="call-1", conversation_id="c2")
        host.add_conversation("c2")
        asset = host.catalog.ingest_image(TENANT, PNG, tool_call_id="call-1", conversation_id="c2")
        assert asset.conversation_id == "c2"
        assert sorted(host.object_statuses()) == ["failed", "stored"]
        assert len(host.blobs()) == 1


class TestLinkMessage:
    def test_linking_to_a_known_message(self, host: Host) -> None:
        asset = host.catalog.ingest_image(TENANT, PNG, tool_call_id="call-1", conversation_id="c1")
        assert host.catalog.link_message(TENANT, "m1", asset_ids=[asset.id]) == 1
        assert host.catalog.get(TENANT, asset.id).message_id == "m1"

    def test_linking_to_an_unknown_message_is_invalid_input(self, host: Host) -> None:
        """Refused as InvalidInput(field="message_id") on both databases; nothing changes."""
        asset = host.catalog.ingest_image(TENANT, PNG, tool_call_id="call-1", conversation_id="c1")
        events = host.catalog.events(TENANT, asset.id)
        with pytest.raises(InvalidInput) as info:
            host.catalog.link_message(TENANT, "nope", tool_call_ids=["call-1"])
        assert info.value.field == "message_id"
        assert host.catalog.get(TENANT, asset.id).message_id is None
        assert host.catalog.events(TENANT, asset.id) == events


class TestHostDeletes:
    def test_restrict_keeps_the_host_from_deleting_a_referenced_conversation(
        self, host: Host
    ) -> None:
        """With the default, the host's delete fails while catalog rows (live or
        soft-deleted) point at the conversation: no asset silently loses its conversation."""
        host.catalog.ingest_image(TENANT, PNG, tool_call_id="call-1", conversation_id="c1")
        with pytest.raises(sa_exc.IntegrityError):
            host.delete_conversation_row("c1")
        assert host.catalog.delete_conversation(TENANT, "c1") == 1
        with pytest.raises(sa_exc.IntegrityError):  # soft-deleted rows still refer to it
            host.delete_conversation_row("c1")
        assert host.count(host.conversations) == 1

    def test_set_null_after_delete_conversation(self, make_host: HostFactory) -> None:
        """The documented order with SET NULL: the catalog deletes the conversation's
        assets (blobs removed, rows soft-deleted, audited), then the host deletes its row
        and the database clears the reference on the soft-deleted rows."""
        host = make_host(conversation_ondelete="SET NULL", message_ondelete="SET NULL")
        host.add_conversation("c1")
        host.add_message("m1", "c1")
        asset = host.catalog.ingest_image(
            TENANT, PNG, tool_call_id="call-1", conversation_id="c1", message_id="m1"
        )
        assert host.catalog.delete_conversation(TENANT, "c1") == 1
        host.delete_conversation_row("c1")
        assets = host.repo.tables.assets
        with host.repo.engine.connect() as conn:
            row = conn.execute(select(assets).where(assets.c.id == asset.id)).mappings().one()
        assert (row["conversation_id"], row["message_id"]) == (None, None)
        assert row["deleted_at"] is not None
        assert host.blobs() == []
        assert [e.event for e in host.catalog.events(TENANT, asset.id)] == ["created", "deleted"]

    def test_the_databases_reference_check_uses_an_index(self, host: Host) -> None:
        """When the host deletes a conversation or message, the database looks for rows
        that refer to it with ``WHERE conversation_id = ?``: the column-led index answers
        that, so the check is not a scan of agent_assets (which holds every tenant)."""
        engine = host.repo.engine
        assets = host.repo.tables.assets
        name = assets.fullname
        for column in ("conversation_id", "message_id"):
            index = f"ix_agent_assets_{column}_tenant"
            with engine.connect() as conn:
                if host.db == "sqlite":
                    # SQLite shows the foreign-key lookup in the plan of the parent delete.
                    parent = "conversations" if column == "conversation_id" else "messages"
                    plan = [
                        row[3]
                        for row in conn.exec_driver_sql(
                            f"EXPLAIN QUERY PLAN DELETE FROM {parent} WHERE id = ?", ("x",)
                        )
                    ]
                    assert any(f"agent_assets USING COVERING INDEX {index}" in p for p in plan), (
                        plan
                    )
                else:
                    # PostgreSQL runs the check inside a trigger, which EXPLAIN does not show;
                    # explain the same lookup. The table is tiny, so sequential scans are
                    # disabled to show that the index is *usable* for it.
                    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                    plan = conn.exec_driver_sql(
                        f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {name} WHERE {column} = %(v)s",
                        {"v": "x"},
                    ).scalar()
                    assert index in str(plan), plan

    def test_list_by_conversation_uses_the_column_led_index(self, host: Host) -> None:
        """With the foreign key, list(conversation_id=...) reads the same index."""
        repo = host.repo
        stmt = list_statement(repo.tables, TENANT, AssetQuery(conversation_id="c1"), None, 51)
        sql = str(stmt.compile(dialect=repo.engine.dialect, compile_kwargs={"literal_binds": True}))
        with repo.engine.connect() as conn:
            if host.db == "sqlite":
                plan = str(conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all())
            else:
                # Give the planner statistics in which the conversation is selective, so the
                # choice between the two usable indexes is not a coin toss on tiny tables.
                for _ in range(200):
                    obj = make_object(TENANT)
                    repo.add_pending_object(obj)
                    asset = make_asset(obj)
                    repo.complete_ingest(asset, created_event(asset))
                conn.exec_driver_sql(f"ANALYZE {repo.tables.assets.fullname}")
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                plan = str(conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}").scalar())
        assert "ix_agent_assets_conversation_id_tenant" in plan, plan
        assert "TEMP B-TREE" not in plan
        assert "'Sort'" not in plan
