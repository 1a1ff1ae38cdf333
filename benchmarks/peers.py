"""asset_catalog against its peers on SQLite and PostgreSQL, with issue 14's targets; figures for
docs/benchmarks.md. Exits 0 even if a target is missed.

Peers: SQLAlchemy Core + fsspec, filedepot + a Core row, sqlalchemy-file, a raw sqlite3/psycopg
floor; same payloads, same work, a fresh process per (system, database, round), rounds
interleaved. Also 8 threads against 1, a stream against sha256 alone, round trips per call."""

from __future__ import annotations

import collections
import contextlib
import hashlib
import itertools
import math
import os
import re
import shutil
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import fsspec
import harness as h
import psycopg
import sqlalchemy as sa
from depot.manager import DepotManager
from libcloud.storage.drivers.local import LocalStorageDriver
from sqlalchemy.orm import Session, declarative_base
from sqlalchemy_file import File, FileField
from sqlalchemy_file.storage import StorageManager

from asset_catalog import AssetCatalog, UrlSigner, open_catalog
from asset_catalog.sql import PostgresRepository
from asset_catalog.storage import FsspecStorage

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_URL = os.environ.get("ASSET_CATALOG_BENCH_POSTGRES_URL", PG_URL)
TENANT, MIB, DBS = h.TENANT, 2**20, {"sqlite": "SQLite", "postgres": "PostgreSQL"}
AC, CORE, NAMES = "asset_catalog", "core_fsspec", {"asset_catalog": "asset_catalog"}
NAMES |= {"core_fsspec": "Core + fsspec", "filedepot": "filedepot + Core row"}
NAMES |= {"sqlalchemy_file": "sqlalchemy-file", "floor": "raw floor"}
COLS = ["id", "tenant_id", "filename", "mime_type", "size_bytes", "sha256", "key", "created_at"]
INSERT = f"INSERT INTO attachments ({', '.join(COLS)}) VALUES ({', '.join('?' * len(COLS))})"
PAGE = "SELECT * FROM attachments WHERE tenant_id = ?{} ORDER BY created_at DESC, id DESC LIMIT 50"
STREAMS, DISTS = ("sha256", AC, CORE, "floor"), ("psycopg", "filedepot", "sqlalchemy-file")
WAL = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"
NONE: dict[str, int] = {}  # no thumbnails: the peers make none (benchmarks/variants.py)
TRACE = psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE
Cfg = dict[str, Any]  # work directory, PostgreSQL URL, schema prefix, sizes


def attachments(metadata: sa.MetaData, *extra: sa.Column[Any]) -> sa.Table:
    """The peers' table: an attachment's row, its blob's key, a keyset index."""
    types = [sa.String(n) for n in (36, 255, 1024, 255)] + [sa.BigInteger(), sa.String(64)]
    columns = [
        sa.Column(*c) for c in zip(COLS, [*types, sa.String(1024), sa.DateTime(True)], strict=True)
    ]
    columns[0].primary_key = True
    index = sa.Index("ix_attachments_keyset", "tenant_id", "created_at", "id")
    return sa.Table("attachments", metadata, *columns, *extra, index)


TABLE, Base = attachments(sa.MetaData()), declarative_base()


class Doc(Base):  # type: ignore[misc,valid-type]
    __table__ = attachments(Base.metadata, sa.Column("file", FileField))


def place(cfg: Cfg, db: str, store: str) -> tuple[str, str | None, Path]:
    """SQLAlchemy URL, PostgreSQL schema (None on SQLite) and blob directory of ``store``."""
    blobs, sqlite = cfg["work"] / f"{db}-{store}-blobs", f"sqlite:///{cfg['work']}/{store}.db"
    return (
        (sqlite, None, blobs) if db == "sqlite" else (cfg["url"], f"{cfg['stamp']}_{store}", blobs)
    )


class Catalog:
    """``open_catalog`` on SQLite + local files; ``PostgresRepository`` + local files."""

    def __init__(self, cfg: Cfg, db: str, store: str, hook: Any = id, **pool: Any) -> None:
        url, self.schema, blobs = place(cfg, db, store)
        if self.schema is None:
            self.cat = open_catalog(url, f"file://{blobs}", secret=h.SECRET, variant_sizes=NONE)
        else:
            hook((repository := PostgresRepository(url, schema=self.schema, **pool)).engine)
            repository.create_schema()
            storage, signer = FsspecStorage.from_url(f"file://{blobs}"), UrlSigner(h.SECRET)
            self.cat = AssetCatalog(
                repository=repository, storage=storage, signer=signer, variant_sizes=NONE
            )
        self.ingest_image, self.ids, self.close = (
            h.ingest_call(self.cat, TENANT),
            {},
            self.cat.close,
        )

    def ingest(self, i: int) -> None:
        self.ids[i] = self.ingest_image(i).id

    def delete(self, i: int) -> None:
        self.cat.delete(TENANT, self.ids.pop(i))

    def get(self, i: int) -> None:
        self.cat.get(TENANT, self.ids[i])

    def page(self, cursor: Any) -> tuple[Any, Any]:
        found = self.cat.list(TENANT, limit=50, cursor=cursor)
        return found.items, found.next_cursor

    def stream(self, chunks: Any) -> None:
        where = {"container_id": "c", "file_id": str(uuid.uuid4()), "filename": "big.bin"}
        self.cat.ingest_container_file(TENANT, chunks, **where)

    def load(self, data: Any) -> None:
        tables = (repository := h.sql_repository(self.cat)).tables
        with repository.engine.begin() as conn:  # SQLAlchemy Core executemany, 5,000 a batch
            while batch := list(itertools.islice(data, 5000)):
                conn.execute(sa.insert(tables.objects), [obj for obj, _, _ in batch])
                conn.execute(sa.insert(tables.assets), [asset for _, asset, _ in batch])
            for table in (tables.objects, tables.assets) if self.schema else ():
                conn.execute(sa.text(f'ANALYZE "{self.schema}"."{table.name}"'))


class Peer:
    """A row in ``attachments`` (default ``create_engine``) and a blob: fsspec's local filesystem
    (``core_fsspec``), filedepot's local storage, sqlalchemy-file's ``FileField`` on an ORM model
    (libcloud's local driver), or the floor's built-in ``open`` and raw sqlite3 / psycopg."""

    def __init__(self, cfg: Cfg, db: str, store: str, hook: Any = id, kind: str = "") -> None:
        url, self.schema, self.blobs = place(cfg, db, store)
        args = {"options": f"-csearch_path={self.schema}"} if self.schema else {}
        hook(engine := sa.create_engine(url, connect_args=args))
        if not self.schema:  # like with like: the catalog's journal and sync settings
            sa.event.listen(engine, "connect", lambda conn, _: conn.executescript(WAL))
        self.kind, self.orm, self.engine, self.ids = kind, kind == "sqlalchemy_file", engine, {}
        self.table, self.images = Doc.__table__ if self.orm else TABLE, h.png_pool()
        with engine.begin() as conn:
            if self.schema:
                conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            self.table.create(conn, checkfirst=True)
        (self.blobs / TENANT).mkdir(parents=True, exist_ok=True)
        fs, self.mark = fsspec.filesystem("file", auto_mkdir=True), ""
        self.open, self.remove = fs.open, fs.rm
        if kind == "filedepot":
            DepotManager.configure(self.blobs.name, {"depot.storage_path": str(self.blobs)})
            self.depot = DepotManager.get(self.blobs.name)
            self.remove = self.depot.delete
        elif self.orm:
            with contextlib.suppress(RuntimeError):  # the process's first store keeps the blobs
                StorageManager.add_storage(
                    "b", LocalStorageDriver(self.blobs).get_container(TENANT)
                )
            self.remove = lambda key: None  # sqlalchemy-file removes it after the commit
        elif kind == "floor":  # the driver's own connection in autocommit: one statement an item
            self.fairy = engine.raw_connection()
            self.raw, self.open, self.remove = self.fairy.driver_connection, open, os.remove
            self.mark = "%s" if self.schema else "?"
            if self.schema:
                self.raw.autocommit = True
            else:
                self.raw.isolation_level = None

    def ingest(self, i: int, chunks: Any = None) -> None:
        oid, digest, size, name = str(uuid.uuid4()), hashlib.sha256(), 0, f"image-{i}.png"
        key, blob = f"{self.blobs}/{TENANT}/{oid}.png", self.images[i % 16]
        if self.kind in ("filedepot", "sqlalchemy_file"):  # they take bytes, not a stream
            digest.update(blob)
            size, key = len(blob), "" if self.orm else self.depot.create(blob, name, "image/png")
        else:
            with self.open(key, "wb") as out:
                for chunk in chunks or [blob]:
                    digest.update(chunk)
                    size += out.write(chunk)
        now, self.ids[i] = h.dt.datetime.now(h.dt.UTC), (oid, key)
        values = [oid, TENANT, name, "image/png", size, digest.hexdigest(), key, now]
        row = dict(zip(COLS, values, strict=True))
        if self.mark:
            self.raw.execute(INSERT.replace("?", self.mark), values)
        elif self.orm:
            with Session(self.engine) as session, session.begin():
                session.add(Doc(**row, file=File(blob, name)))
        else:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(TABLE), row)

    def delete(self, i: int) -> None:
        oid, key = self.ids.pop(i)
        if self.mark:
            self.raw.execute(f"DELETE FROM attachments WHERE id = {self.mark}", [oid])
        elif self.orm:  # sqlalchemy-file removes the file after the commit
            with Session(self.engine) as session, session.begin():
                session.delete(session.get(Doc, oid))
        else:
            with self.engine.begin() as conn:
                conn.execute(TABLE.delete().where(TABLE.c.tenant_id == TENANT, TABLE.c.id == oid))
        self.remove(key)

    def run(self, query: Any) -> Any:
        if self.orm:
            with Session(self.engine) as session:
                return session.scalars(query).all()
        with self.engine.connect() as conn:
            return conn.execute(query).all()

    def get(self, i: int) -> None:
        self.run(sa.select(TABLE).where(TABLE.c.tenant_id == TENANT, TABLE.c.id == self.ids[i][0]))

    def page(self, cursor: Any) -> tuple[Any, Any]:
        if self.mark:
            sql = PAGE.format(" AND (created_at, id) < (?, ?)" if cursor else "")
            rows = self.raw.execute(
                sql.replace("?", self.mark), [TENANT, *(cursor or ())]
            ).fetchall()
            return rows, (rows[-1][7], rows[-1][0])
        c = self.table.c
        query = sa.select(Doc if self.orm else TABLE).where(c.tenant_id == TENANT)
        query = query.where(sa.tuple_(c.created_at, c.id) < cursor) if cursor else query
        rows = self.run(query.order_by(c.created_at.desc(), c.id.desc()).limit(50))
        return rows, (rows[-1].created_at, rows[-1].id)

    def stream(self, chunks: Any) -> None:
        self.ingest(-1, chunks)

    def load(self, data: Any) -> None:
        file = {"file": File({"filename": "x.png", "content_type": "image/png", "files": []})}
        with self.engine.begin() as conn:
            while batch := list(itertools.islice(data, 5000)):
                rows = [{n: obj[n] for n in COLS} | (file if self.orm else {}) for obj, *_ in batch]
                conn.execute(sa.insert(self.table), rows)
            if self.schema:
                conn.execute(sa.text("ANALYZE attachments"))

    def close(self) -> None:
        self.engine.dispose()


def system(name: str, *args: Any, **kw: Any) -> Any:
    return Catalog(*args, **kw) if name == AC else Peer(*args, kind=name, **kw)


def calls(cfg: Cfg, name: str, db: str, r: int) -> dict[str, float]:
    """In a fresh process: ingest then delete, items/s; list page 1 and the deep page, ms."""
    s = system(name, cfg, db, f"{name}_r{r}")
    found = {call: h.measure(getattr(s, call), cfg["items"]).per_s for call in ("ingest", "delete")}
    s.close()
    s, cursors, ns = system(name, cfg, db, f"{name}_list"), [None], {"page1": [], "deep": []}
    while len(cursors) < cfg["deep"]:
        cursors.append(s.page(cursors[-1])[1])
    for rep in range(cfg["repeats"]):  # interleaved, the order alternating
        for key, cursor in [("page1", None), ("deep", cursors[-1])][:: 1 - rep % 2 * 2]:
            start = time.perf_counter_ns()
            s.page(cursor)
            ns[key].append(time.perf_counter_ns() - start)
    s.close()
    return found | {key: statistics.median(v) / 1e6 for key, v in ns.items()}


def stream(cfg: Cfg, name: str, db: str, r: int) -> dict[str, float]:
    """In a fresh process: ingest a stream of 1 MiB chunks; MiB/s, peak RSS over the start's."""
    s = None if name == "sha256" else system(name, cfg, db, f"{name}_stream{r}")
    call = s.stream if s else lambda c: collections.deque(map(hashlib.sha256().update, c), 0)
    call([block := os.urandom(MIB)])  # warm-up
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS

    def kib() -> int:
        return int(h.proc_field("/proc/self/status", "VmHWM").split()[0])

    rss, start = kib(), time.perf_counter()
    call(itertools.repeat(block, cfg["mib"]))
    found = {"rate": cfg["mib"] / (time.perf_counter() - start), "rss": (kib() - rss) / 1024}
    shutil.rmtree(place(cfg, db, f"{name}_stream{r}")[2], ignore_errors=True)
    return found


def threads(cfg: Cfg, name: str, db: str, r: int) -> dict[int, float]:
    """In a fresh process: ingest with 1 and with 8 threads on PostgreSQL (one catalog)."""
    s = Catalog(cfg, db, f"threads{r}", pool_size=8, max_overflow=8)
    batches = {n: h.threaded(s.cat, n, f"t{n}", []) for n in (1, 8)}
    stats = h.interleaved(batches, 1, cfg["items"] // 2, 16, lambda _: [1, 8][:: 1 - r % 2 * 2])
    s.close()
    return {n: x.per_s for n, x in stats.items()}


def trips(cfg: Cfg, name: str, db: str, r: int) -> dict[str, collections.Counter[str]]:
    """In a fresh process: PostgreSQL round trips of ``cfg['trips']`` calls, from libpq's trace;
    checked first on a known sequence (BEGIN and SELECT 1 in the simple protocol)."""
    out = (path := cfg["work"] / f"{name}.trace").open("w")

    def trace(conn: Any, *_: Any) -> None:
        conn.pgconn.trace(out.fileno())
        conn.pgconn.set_trace_flags(TRACE)

    with psycopg.connect(
        sa.make_url(cfg["url"]).set(drivername="postgresql").render_as_string(False)
    ) as conn:
        trace(conn)
        conn.execute("SELECT 1")
        conn.execute("SELECT %s::int", [2])
        conn.commit()
    known = sorted(statements(path.read_text()).elements())
    assert known == ["BEGIN", "COMMIT", "SELECT $1::int", "SELECT 1"], known
    s = system(name, cfg, db, f"{name}_trips", hook=lambda e: sa.event.listen(e, "connect", trace))
    for i in range(-10, 0):  # warm-up: the pool's connection, psycopg's prepared statements
        s.ingest(i)
    found = {}
    for call in ("ingest", "get", "page", "delete"):
        start = len(path.read_text())
        for i in range(cfg["trips"]):
            getattr(s, call)(None if call == "page" else i)
        found[call] = statements(path.read_text(), start)
    s.close()
    return found


def label(sql: str) -> str:
    """A statement's verb and table, or the statement itself (BEGIN, SELECT 1 …)."""
    table = re.search(r"\b(?:INTO|UPDATE|FROM)\s+(\S+)", sql, re.I)
    if sql.strip() == ";":
        return "; (pool pre-ping)"
    return (
        f"{sql.split(maxsplit=1)[0].upper()} {table[1].split('.')[-1].strip(chr(34))}"
        if table
        else sql
    )


def statements(trace: str, start: int = 0) -> collections.Counter[str]:
    """Round trips in a libpq trace: a simple Query, or a Sync or Flush (psycopg's pipeline
    mode asks for answers mid-batch with a Flush; one right after a Sync adds none) that ends
    extended-protocol messages, named by the statements bound (or prepared) before it; those
    from ``start`` on."""
    names, burst, found, last = {}, [], collections.Counter[str](), ""
    for m in re.finditer(r"^F\t\d+\t(\w+)\t? ?(.*?)(?=\n[FB]\t\d+\t|\n?\Z)", trace, re.M | re.S):
        (kind, arg), at = m.groups(), m.start()
        if kind == "Parse":
            name, sql = re.match(r'"([^"]*)" "(.*)" \d+', arg, re.S).groups()
            names[name], burst = sql, burst + [f"PREPARE {label(sql)}"] * bool(name)
        elif kind == "Bind":
            burst.append(label(names[re.match(r'"[^"]*" "([^"]*)"', arg)[1]]))
        elif kind in ("Query", "Sync") or (kind == "Flush" and last != "Sync"):
            if at >= start:
                found[" + ".join(burst if kind != "Query" else [label(arg[1:-1])])] += 1
            burst = []
        last = kind
    return found


def ratio(res: dict[Any, Any], a: Any, b: Any, field: Any, other: Any = None) -> float:
    """Median over rounds of ``a[field] / b[other or field]``, NaN if either did not run."""
    pairs = zip(res.get(a, []), res.get(b, []), strict=False)
    return statistics.median([x[field] / y[other or field] for x, y in pairs] or [math.nan])


def med(res: dict[Any, Any], key: Any, field: Any, fmt: str = "{:,.0f}") -> str:
    return fmt.format(statistics.median(x[field] for x in res[key])) if key in res else "—"


def report(run: h.Run, cfg: Cfg, names: list[str], res: dict[Any, Any], pg: str) -> list[str]:
    rows, targets, deep, n = [], [], cfg["deep"], cfg["trips"]
    for db, title in DBS.items():
        one, ref = ("calls", AC, db), ("calls", CORE, db)
        for f in ("ingest", "delete"):
            cells = [med(res, ("calls", x, db), f) for x in names]
            rows.append([f"{title} {f} items/s", *cells, f"{ratio(res, one, ref, f):.2f}"])
        cells = [
            " / ".join(med(res, ("calls", x, db), f, "{:.2f}") for f in ("page1", "deep"))
            for x in names
        ]
        rows.append(
            [f"{title} list page 1 / {deep}, ms", *cells, f"{ratio(res, one, ref, 'page1'):.2f}"]
        )
        targets += [
            (
                f"{title} ingest / Core + fsspec",
                ratio(res, one, ref, "ingest"),
                0.8 + 0.2 * (db != "sqlite"),
            )
        ]
        targets += [(f"{title} delete / Core + fsspec", ratio(res, one, ref, "delete"), 1.0)]
        targets += [
            (f"{title} list page 1 / Core's keyset page 1", ratio(res, one, ref, "page1"), -1.5)
        ]
        targets += [
            (f"{title} list page {deep} / page 1", ratio(res, one, one, "deep", "page1"), -1.2)
        ]
    big, sha, pool = (
        ("stream", AC, "sqlite"),
        ("stream", "sha256", "sqlite"),
        ("threads", AC, "postgres"),
    )
    cells = [
        f"{med(res, key, 'rate')}, +{med(res, key, 'rss', '{:.1f}')}" if x in STREAMS else "—"
        for x, key in ((x, ("stream", x, "sqlite")) for x in names)
    ]
    rows.append([f"{cfg['mib']} MiB stream: MiB/s, extra RSS MiB", *cells, "—"])
    targets += [("PostgreSQL ingest, 8 threads / 1 thread", ratio(res, pool, pool, 8, 1), 3.0)]
    targets += [("stream / sha256 alone (MiB/s)", ratio(res, big, sha, "rate"), 0.8)]
    targets += [
        (
            "stream: extra RSS, MiB (max of the rounds)",
            max([x["rss"] for x in res.get(big, [])] or [math.nan]),
            -8.0,
        )
    ]
    verdicts, trip_rows = [], []
    for measure, value, bound in targets:
        ok = value >= bound if bound > 0 else value <= -bound
        ok = "—" if math.isnan(value) else "**PASS**" if ok else "**FAIL**"
        verdicts.append(
            (measure, f"{value:.2f}", f"{'>=' if bound > 0 else '<='} {abs(bound)}", ok)
        )
    for call in ("ingest", "get", "page", "delete"):
        per = [
            res.get(("trips", x, "postgres"), {}).get(call, collections.Counter())
            for x in (AC, CORE)
        ]
        detail = ", ".join(f"{k} x{v / n:g}" for k, v in per[0].most_common())
        trip_rows.append([call, *(f"{sum(x.values()) / n:g}" for x in per), detail])
    return h.page(
        run.header("Benchmarks: asset_catalog and its peers", DISTS, pg),
        "## Targets (issue 14)",
        h.table("measure | measured | target | result", verdicts),
        f"## Figures (medians of {cfg['rounds']} rounds; a fresh process per system and round)",
        h.table(f"figure | {' | '.join(NAMES[x] for x in names)} | asset_catalog / Core", rows),
        f"sha256 alone of the same stream: {med(res, sha, 'rate')} MiB/s. asset_catalog on "
        f"PostgreSQL: {med(res, pool, 1)} items/s with 1 thread, {med(res, pool, 8)} with 8.",
        f"## PostgreSQL round trips per call (libpq trace, mean of {n} calls)",
        h.table("call | asset_catalog | Core + fsspec | asset_catalog's round trips", trip_rows),
        f"Sizes: {cfg['items']:,} items ingested, then deleted, per run (after 20 warm-up items); "
        f"{cfg['rows']:,} rows of one tenant for the list, 50 per page, {cfg['repeats']} timings "
        f"of each page; a {cfg['mib']} MiB stream in 1 MiB chunks on SQLite + local files.",
    )


def main(argv: list[str] | None = None) -> None:
    parser = h.options(__doc__)
    parser.add_argument("--items", type=int, help="items ingested and deleted per run (2000)")
    parser.add_argument("--only", default=",".join(NAMES), help="systems, comma-separated (all)")
    parser.add_argument("--url", default=PG_URL, help=f"PostgreSQL URL ({PG_URL})")
    args = parser.parse_args(argv)
    names, quick, res = args.only.split(","), args.quick, collections.defaultdict(list)
    sizes = (100, 2000, 20, 16, 20, 1, 5) if quick else (2000, 100_000, 1000, 512, 200, 3, 20)
    with h.Run(args, "peers") as run:
        stamp, admin = (
            f"ac_peers_{int(time.time())}_{uuid.uuid4().hex[:6]}",
            sa.create_engine(args.url),
        )
        cfg = {"work": run.work, "url": args.url, "stamp": stamp}
        cfg |= dict(
            zip(["items", "rows", "deep", "mib", "repeats", "rounds", "trips"], sizes, strict=True)
        )
        cfg["items"] = args.items or cfg["items"]
        jobs = [(calls, x, db) for x, db in itertools.product(names, DBS)]
        jobs += [
            (stream, x, "sqlite") for x in STREAMS if x in names or (x == "sha256" and AC in names)
        ]
        jobs += [(threads, AC, "postgres")] * (AC in names)
        try:
            with admin.connect() as conn:
                pg = conn.execute(sa.text("SHOW server_version")).scalar()
                pg = f"* PostgreSQL {pg} on the same machine (TCP to 127.0.0.1)"
            for x, db in itertools.product(names, DBS):
                print(f"{x}, {db}: loading {cfg['rows']:,} rows ...", flush=True)
                (s := system(x, cfg, db, f"{x}_list")).load(
                    h.dataset(itertools.repeat(TENANT), cfg["rows"], 1.5 * cfg["rows"])
                )
                s.close()
            for r in range(cfg["rounds"]):
                k = r * len(jobs) // cfg["rounds"]  # each round starts elsewhere
                for job, x, db in jobs[k:] + jobs[:k]:
                    print(f"round {r + 1}: {job.__name__}, {x}, {db} ...", flush=True)
                    res[job.__name__, x, db].append(h.in_subprocess(job, cfg, x, db, r))
            for x in [x for x in (AC, CORE) if x in names]:
                res["trips", x, "postgres"] = h.in_subprocess(trips, cfg, x, "postgres", 0)
        finally:
            with admin.begin() as conn:
                find = sa.text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :p)")
                for schema in [] if args.keep else conn.execute(find, {"p": stamp}).scalars():
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        run.report(report(run, cfg, names, res, pg))


if __name__ == "__main__":
    main()
