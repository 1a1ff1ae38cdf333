"""PostgreSQL-specific behaviour: what the shared contract suite cannot see from outside."""

from __future__ import annotations

import datetime as dt
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL, make_url

from asset_catalog import (
    AssetCatalog,
    AssetNotFound,
    InvalidInput,
    ObjectStatus,
    UrlSigner,
    open_catalog,
)
from asset_catalog.exceptions import DuplicateKeyError, MissingDependency
from asset_catalog.protocols import AssetQuery, BlobStorage
from asset_catalog.sql import PostgresRepository, build_tables
from asset_catalog.sql._postgres import psycopg_url
from asset_catalog.testing._builders import (
    BASE_TIME,
    created_event,
    deleting,
    linking,
    make_asset,
    make_object,
)

from .backends import SECRET, drop_schema, new_test_schema_name
from .images import png_bytes

ZONES = [
    dt.UTC,
    dt.timezone(dt.timedelta(hours=14)),
    dt.timezone(dt.timedelta(hours=-12)),
    dt.timezone(dt.timedelta(hours=5, minutes=45)),
    dt.timezone(dt.timedelta(hours=-3, minutes=-30)),
]
INSTANTS = [
    BASE_TIME,
    dt.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=dt.UTC),
    dt.datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC),
    dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
    dt.datetime(2038, 1, 19, 3, 14, 8, 500000, tzinfo=dt.UTC),
]


METADATA: dict[str, Any] = {
    "format": "png",
    "prompt": "ein Fuchs im Schnee — 雪の中の狐 🦊 \u202e",
    "quote": "\"'\\ %s %(x)s ?",
    "nested": {"list": [1, -2, 2.5, 1e-7, True, False, None, 2**53], "empty": {}},
    "": "empty key",
    "ключ": ["значение"],
}


def _url(engine: Engine, **query: str) -> URL:
    url = engine.url
    return url.update_query_dict(query) if query else url


def _pg_repository(url: URL, schema: str, **kwargs: Any) -> PostgresRepository:
    """A repository with its own engine (and pool) on the test's schema."""
    repo = PostgresRepository(url.render_as_string(hide_password=False), schema=schema, **kwargs)
    repo.create_schema()
    return repo


def _scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


@pytest.fixture
def other_schema(postgres_engine: Engine) -> Iterator[str]:
    """A second schema name, dropped after the test if it was created."""
    name = new_test_schema_name()
    yield name
    drop_schema(postgres_engine, name)


class TestTimestamps:
    """``timestamptz`` keeps the instant exactly and always reads back in UTC."""

    @pytest.mark.parametrize("zone", ZONES, ids=str)
    @pytest.mark.parametrize("instant", INSTANTS, ids=lambda i: i.isoformat())
    def test_round_trip_in_any_zone(
        self, postgres_repository: PostgresRepository, zone: dt.tzinfo, instant: dt.datetime
    ) -> None:
        """An instant given in any zone reads back as the same instant in UTC, to the µs."""
        obj = make_object(at=instant.astimezone(zone))
        postgres_repository.add_pending_object(obj)
        got = postgres_repository.get_object(obj.id)
        assert got is not None
        assert got.created_at == instant
        assert got.created_at.utcoffset() == dt.timedelta(0)
        assert got.created_at.microsecond == instant.microsecond

    def test_session_time_zone_does_not_leak(
        self, postgres_engine: Engine, postgres_schema: str
    ) -> None:
        """A connection whose TimeZone is not UTC still reads UTC instants, exactly."""
        url = _url(postgres_engine, options="-c TimeZone=America/St_Johns")
        repo = _pg_repository(url, postgres_schema)
        try:
            at = dt.datetime(2025, 7, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
            obj = make_object(at=at)
            repo.add_pending_object(obj)
            asset = make_asset(obj)
            repo.complete_ingest(asset, created_event(asset))
            assert _scalar(repo.engine, "SHOW TimeZone") == "America/St_Johns"
            got = repo.get_asset("tenant-a", asset.id)
            assert got is not None
            assert (got.created_at, got.created_at.tzinfo) == (at, dt.UTC)
            listed = repo.list_assets("tenant-a", AssetQuery(), None, 10)
            assert [(a.id, a.created_at, a.created_at.tzinfo) for a in listed] == [
                (asset.id, at, dt.UTC)
            ]
        finally:
            repo.close()

    def test_columns_are_timestamptz(self, postgres_repository: PostgresRepository) -> None:
        """Every timestamp column is ``timestamp with time zone``."""
        types = _column_types(postgres_repository)
        for table, column in [
            ("storage_objects", "created_at"),
            ("storage_objects", "deleted_at"),
            ("agent_assets", "created_at"),
            ("agent_assets", "updated_at"),
            ("agent_assets", "deleted_at"),
            ("asset_events", "at"),
        ]:
            assert types[table, column] == "timestamp with time zone"

    def test_naive_datetime_is_refused(self, postgres_repository: PostgresRepository) -> None:
        """A naive datetime is an error, not a guess at a zone."""
        obj = attrs.evolve(make_object(), created_at=dt.datetime(2025, 1, 1))
        with pytest.raises(ValueError, match="naive"):
            postgres_repository.add_pending_object(obj)


def _column_types(repo: PostgresRepository) -> dict[tuple[str, str], str]:
    with repo.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = :schema"
            ),
            {"schema": repo.schema},
        ).all()
    return {(t, c): d for t, c, d in rows}


class TestJsonb:
    """Metadata is JSONB and round-trips, Unicode included."""

    def test_asset_and_object_metadata_round_trip(
        self, postgres_repository: PostgresRepository
    ) -> None:
        """Nested, Unicode and quote-laden metadata reads back equal."""
        obj = attrs.evolve(make_object(), metadata=METADATA)
        postgres_repository.add_pending_object(obj)
        asset = make_asset(obj, metadata=METADATA)
        event = attrs.evolve(created_event(asset), details=METADATA)
        postgres_repository.complete_ingest(asset, event)
        got_obj = postgres_repository.get_object(obj.id)
        got = postgres_repository.get_asset("tenant-a", asset.id)
        assert got_obj is not None
        assert got is not None
        assert got_obj.metadata == METADATA
        assert got.metadata == METADATA
        listed = postgres_repository.list_assets("tenant-a", AssetQuery(), None, 10)
        assert listed[0].metadata == METADATA
        events = postgres_repository.events_for("tenant-a", asset.id)
        assert events[0].details == METADATA

    def test_columns_are_jsonb_and_queryable(self, postgres_repository: PostgresRepository) -> None:
        """The metadata columns are ``jsonb``, so PostgreSQL's JSON operators work on them."""
        types = _column_types(postgres_repository)
        for table, column in [
            ("storage_objects", "metadata"),
            ("agent_assets", "metadata"),
            ("asset_events", "details"),
        ]:
            assert types[table, column] == "jsonb"
        obj = make_object()
        postgres_repository.add_pending_object(obj)
        asset = make_asset(obj, metadata={"prompt": "狐 🦊"})
        postgres_repository.complete_ingest(asset, created_event(asset))
        schema = postgres_repository.schema
        found = _scalar(
            postgres_repository.engine,
            f'SELECT id FROM "{schema}".agent_assets WHERE metadata @> :doc',
            doc='{"prompt": "狐 🦊"}',
        )
        assert found == asset.id


class TestSchemaOption:
    """``schema=`` keeps the catalog's tables in a PostgreSQL schema of their own."""

    def test_two_schemas_do_not_see_each_other(
        self, postgres_engine: Engine, postgres_schema: str, other_schema: str
    ) -> None:
        """Rows written through one schema are invisible through another, same engine."""
        one = PostgresRepository(postgres_engine, schema=postgres_schema)
        two = PostgresRepository(postgres_engine, schema=other_schema)
        one.create_schema()
        two.create_schema()
        obj = make_object()
        one.add_pending_object(obj)
        asset = make_asset(obj, idempotency_key="k")
        one.complete_ingest(asset, created_event(asset))
        assert one.get_asset("tenant-a", asset.id) == asset
        assert two.get_asset("tenant-a", asset.id) is None
        assert two.get_object(obj.id) is None
        assert two.find_by_idempotency_key("tenant-a", "k") is None
        assert two.list_assets("tenant-a", AssetQuery(), None, 10) == []

    def test_create_schema_creates_the_schema_and_only_its_tables(
        self, postgres_engine: Engine, other_schema: str
    ) -> None:
        """create_schema() creates a missing schema, puts all three tables in it, and repeats."""
        repo = PostgresRepository(postgres_engine, schema=other_schema, table_prefix="x_")
        assert repo.schema == other_schema
        repo.create_schema()
        repo.create_schema()
        with postgres_engine.connect() as conn:
            tables = set(
                conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = :s"),
                    {"s": other_schema},
                ).scalars()
            )
        assert tables == {"x_storage_objects", "x_agent_assets", "x_asset_events", "x_tenant_usage"}

    def test_tables_and_schema_together_are_refused(self, postgres_engine: Engine) -> None:
        """``tables`` already say where they live, so a second ``schema`` is an error."""
        with pytest.raises(ValueError, match="schema"):
            PostgresRepository(postgres_engine, tables=build_tables(), schema="elsewhere")

    def test_search_path_in_the_url_also_works(
        self, postgres_engine: Engine, postgres_schema: str
    ) -> None:
        """Without ``schema=``, unqualified tables follow the connection's search_path."""
        url = _url(postgres_engine, options=f"-c search_path={postgres_schema}")
        repo = PostgresRepository(url)
        try:
            repo.create_schema()
            obj = make_object()
            repo.add_pending_object(obj)
            assert repo.get_object(obj.id) == obj
            count = _scalar(
                postgres_engine, f'SELECT count(*) FROM "{postgres_schema}".storage_objects'
            )
            assert count == 1
        finally:
            repo.close()


class TestOpenCatalog:
    """``open_catalog`` builds a working catalog from a PostgreSQL URL."""

    def test_end_to_end(self, postgres_engine: Engine, postgres_schema: str) -> None:
        """Ingest, list, presign, open_signed and delete through a plain postgresql:// URL."""
        url = _url(postgres_engine, options=f"-c search_path={postgres_schema}").set(
            drivername="postgresql"
        )
        catalog = open_catalog(
            url.render_as_string(hide_password=False),
            f"memory://ac-test-{uuid.uuid4().hex}",
            secret=SECRET,
        )
        try:
            assert isinstance(catalog.repository, PostgresRepository)
            assert catalog.repository.engine.dialect.driver == "psycopg"
            image = catalog.ingest_image(
                "tenant-1", png_bytes(3, 2), tool_call_id="call_1", metadata={"prompt": "狐"}
            )
            again = catalog.ingest_image("tenant-1", png_bytes(3, 2), tool_call_id="call_1")
            assert again == image
            file = catalog.ingest_container_file(
                "tenant-1", b"a,b\n1,2\n", container_id="cntr_1", file_id="file_1", filename="d.csv"
            )
            assert [a.id for a in catalog.list("tenant-1").items] == [file.id, image.id]
            assert (image.width, image.height) == (3, 2)
            presigned = catalog.presign("tenant-1", image.id)
            token = presigned.url.rsplit("/", 1)[-1]
            download = catalog.open_signed(token)
            try:
                assert download.asset.id == image.id
                assert download.stream.read() == png_bytes(3, 2)
            finally:
                download.stream.close()
            assert catalog.delete("tenant-1", image.id) is True
            with pytest.raises(AssetNotFound):
                catalog.get("tenant-1", image.id)
            assert [a.id for a in catalog.list("tenant-1").items] == [file.id]
            events = catalog.repository.events_for("tenant-1", image.id)
            assert [e.event for e in events] == ["created", "url_issued", "downloaded", "deleted"]
            count = _scalar(
                postgres_engine, f'SELECT count(*) FROM "{postgres_schema}".agent_assets'
            )
            assert count == 2
        finally:
            catalog.close()

    @pytest.mark.parametrize(
        ("given", "driver"),
        [
            ("postgresql://u@h/db", "postgresql+psycopg"),
            ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ],
    )
    def test_urls_use_psycopg_3(self, given: str, driver: str) -> None:
        """Plain postgresql:// URLs are normalised to the psycopg 3 driver."""
        assert psycopg_url(given).drivername == driver

    def test_other_drivers_are_refused(self) -> None:
        """A psycopg2 or asyncpg URL is an InvalidInput naming database_url, not a crash later."""
        for url in ("postgresql+psycopg2://u@h/db", "postgresql+asyncpg://u@h/db"):
            with pytest.raises(InvalidInput) as info:
                open_catalog(url, "memory://x", secret=SECRET)
            assert info.value.field == "database_url"


class TestMissingDependency:
    """Without psycopg the error names the extra to install."""

    def test_constructor_names_the_extra(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """PostgresRepository raises MissingDependency naming asset-catalog[postgres]."""
        monkeypatch.setitem(sys.modules, "psycopg", None)  # makes `import psycopg` fail
        with pytest.raises(MissingDependency) as info:
            PostgresRepository("postgresql://postgres@127.0.0.1/test")
        assert isinstance(info.value, ImportError)
        assert info.value.extra == "postgres"
        assert "asset-catalog[postgres]" in str(info.value)
        assert "psycopg" in str(info.value)

    def test_open_catalog_names_the_extra(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """open_catalog with a PostgreSQL URL raises the same MissingDependency."""
        monkeypatch.setitem(sys.modules, "psycopg", None)
        with pytest.raises(MissingDependency, match=r"asset-catalog\[postgres\]"):
            open_catalog("postgresql://postgres@127.0.0.1/test", "memory://x", secret=SECRET)


class TestIdempotencyKey:
    """The partial unique index on ``(tenant_id, idempotency_key)`` holds on PostgreSQL."""

    def test_duplicate_key_raises_duplicate_key_error(
        self, postgres_repository: PostgresRepository
    ) -> None:
        """A second live asset with a taken key raises DuplicateKeyError and leaves no row."""
        first_obj = make_object()
        postgres_repository.add_pending_object(first_obj)
        first = make_asset(first_obj, idempotency_key="image_generation:call_1")
        postgres_repository.complete_ingest(first, created_event(first))
        obj = make_object()
        postgres_repository.add_pending_object(obj)
        loser = make_asset(obj, idempotency_key="image_generation:call_1")
        with pytest.raises(DuplicateKeyError) as info:
            postgres_repository.complete_ingest(loser, created_event(loser))
        assert getattr(info.value.__cause__, "sqlstate", None) == "23505"
        assert postgres_repository.get_asset("tenant-a", loser.id) is None
        assert postgres_repository.events_for("tenant-a", loser.id) == []

    def test_index_is_partial_and_unique(self, postgres_repository: PostgresRepository) -> None:
        """The index is UNIQUE and covers only live rows with a key."""
        definition = _scalar(
            postgres_repository.engine,
            "SELECT indexdef FROM pg_indexes WHERE schemaname = :s AND indexname = :i",
            s=postgres_repository.schema,
            i="ux_agent_assets_idempotency",
        )
        assert definition.startswith("CREATE UNIQUE INDEX")
        assert "WHERE ((idempotency_key IS NOT NULL) AND (deleted_at IS NULL))" in definition


@contextmanager
def _on_one_connection(
    engine: Engine, schema: str
) -> Iterator[tuple[PostgresRepository, Callable[[], int]]]:
    """A repository with a pool of one connection, and a call that has the server terminate
    that connection (it returns how many it terminated)."""
    name = f"ac-test-{uuid.uuid4().hex[:12]}"
    repo = _pg_repository(
        make_url(engine.url), schema, pool_size=1, connect_args={"application_name": name}
    )

    def kill() -> int:
        sql = (
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = :name"
        )
        return int(_scalar(engine, sql, name=name))

    try:
        yield repo, kill
    finally:
        repo.close()


class TestPool:
    """The engine's pool survives connections the server dropped."""

    def test_pre_ping_replaces_a_killed_connection(
        self, postgres_engine: Engine, postgres_schema: str
    ) -> None:
        """After the server terminates the pooled connection, the next call still works."""
        with _on_one_connection(postgres_engine, postgres_schema) as (repo, kill):
            obj = make_object()
            repo.add_pending_object(obj)
            assert kill() >= 1
            assert repo.get_object(obj.id) == obj

    def test_a_write_on_a_killed_connection_is_run_again(
        self, postgres_engine: Engine, postgres_schema: str
    ) -> None:
        """A pipelined write transaction that finds its pooled connection dead runs once
        more on a fresh one: the row is written once, and the call does not fail."""
        with _on_one_connection(postgres_engine, postgres_schema) as (repo, kill):
            repo.add_pending_object(make_object())  # the pool now holds one connection
            assert kill() >= 1
            obj = make_object()
            repo.add_pending_object(obj)
            assert repo.get_object(obj.id) == obj

    def test_failed_pipelined_transactions_leave_the_pool_usable(
        self, postgres_repository: PostgresRepository, memory_storage: BlobStorage
    ) -> None:
        """A write transaction whose statement fails mid-batch (here: a lost idempotency
        race, again and again, past psycopg's threshold for preparing a statement) leaves
        the pool usable: every race returns the winner and marks the loser ``failed``."""
        catalog = AssetCatalog(
            repository=postgres_repository, storage=memory_storage, signer=UrlSigner(SECRET)
        )
        for n in range(12):
            winner = catalog.ingest_image("t1", png_bytes(4, 4), tool_call_id=f"call-{n}")
            racer = AssetCatalog(
                repository=_FirstLookupMisses(postgres_repository),  # type: ignore[arg-type]
                storage=catalog.storage,
                signer=catalog.signer,
            )
            assert racer.ingest_image("t1", png_bytes(6, 6), tool_call_id=f"call-{n}") == winner
        failed = postgres_repository.objects_in_status(
            ObjectStatus.FAILED, dt.datetime.now(dt.UTC) + dt.timedelta(days=1), 100
        )
        assert len(failed) == 12


class _FirstLookupMisses:
    """A repository whose first idempotency lookup misses, as when another process
    committed the same key just after this one looked."""

    def __init__(self, inner: PostgresRepository) -> None:
        self._inner, self._missed = inner, False

    def find_by_idempotency_key(self, tenant_id: str, key: str) -> Any:
        if not self._missed:
            self._missed = True
            return None
        return self._inner.find_by_idempotency_key(tenant_id, key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class TestNulCharacters:
    """PostgreSQL text cannot hold NUL; ids with one are simply absent, as on SQLite."""

    def test_nul_ids_are_absent_everywhere(self, postgres_repository: PostgresRepository) -> None:
        """Every id-taking read answers 'not there' for an id with NUL, not a database error."""
        repo = postgres_repository
        obj = make_object()
        repo.add_pending_object(obj)
        asset = make_asset(obj)
        repo.complete_ingest(asset, created_event(asset))
        odd = "a\x00b"
        assert repo.get_asset("tenant-a", odd) is None
        assert repo.get_object(odd) is None
        assert repo.events_for("tenant-a", odd) == []
        assert [a.id for a in repo.get_assets("tenant-a", [odd, asset.id])] == [asset.id]
        result = repo.mark_deleted("tenant-a", [odd], deleting("tenant-a", BASE_TIME))
        assert (result.deleted, result.missing) == ((), (odd,))
        with pytest.raises(AssetNotFound):
            repo.link_message(
                "tenant-a",
                "m1",
                asset_ids=[asset.id, odd],
                tool_call_ids=None,
                response_id=None,
                at=BASE_TIME,
                linked=linking("tenant-a", "m1", BASE_TIME),
            )
        assert repo.list_assets("tenant-a", AssetQuery(mime_prefix="\x00"), None, 10) == []
        assert repo.get_asset("tenant-a", asset.id) == asset
