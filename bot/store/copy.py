"""Copy every row of one bot database into another: SQLite to PostgreSQL and back, or like to like.

How a community moves off the embedded SQLite default::

    imgbot db copy --from sqlite:///old.db --to postgresql://bot:pw@db/imgbot

Both databases are first brought to this release's schema. The tables, their columns, keys
and foreign keys are read from the databases themselves (``schema_version`` aside), so a
new migration needs no change here. The source is read in one snapshot (nothing written to
it while the copy runs is half-copied), in primary-key order, ``batch`` rows at a time, so a
million-row table never sits in memory. The target is written in ONE transaction, parents
before children, with the same ids; its PostgreSQL identity sequences are moved past the
copied ids. Rows are counted on both sides before the target commits: any difference rolls
the whole copy back and raises :class:`CountMismatch`.

Values are converted by the target's column types: SQLite keeps timestamps as
``YYYY-MM-DD HH:MM:SS`` UTC text and dates as ISO text, PostgreSQL has ``timestamptz`` and
``date``. (SQLite keeps whole seconds, so a PostgreSQL-to-SQLite copy drops sub-second parts,
as the bot itself does on SQLite.)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from graphlib import CycleError, TopologicalSorter

from bot.core.errors import ConfigError
from bot.store import SQLStore, open_store
from bot.store.driver import (
    Connection,
    Dialect,
    SQLiteDriver,
    as_date,
    as_dt,
    is_postgres,
    redact_url,
    sqlite_path,
)

# Bookkeeping, not data: each side keeps its own (the two dialects number migrations apart).
SKIPPED_TABLES = frozenset({"schema_version"})
DEFAULT_BATCH = 5000


class CopyError(ConfigError):
    """The copy cannot or must not go ahead; one line, nothing written to the target."""


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int

    @property
    def matches(self) -> bool:
        return self.source == self.target


class CountMismatch(Exception):
    """Row counts differed after the copy; the target transaction was rolled back."""

    def __init__(self, counts: list[TableCount]) -> None:
        self.counts = counts
        bad = ", ".join(f"{c.table} (source {c.source}, target {c.target})" for c in counts if not c.matches)
        super().__init__(f"row counts differ: {bad}; nothing was written to the target")


@dataclass(frozen=True)
class TableInfo:
    name: str
    columns: tuple[str, ...]
    types: dict[str, str]  # column -> declared (SQLite) or information_schema data type (PostgreSQL), lower case
    key: tuple[str, ...]  # primary-key columns, in key order; empty if none
    parents: frozenset[str]  # tables this one references
    generated: tuple[str, ...]  # PostgreSQL identity / serial columns


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ---------------------------------------------------------------------------------------- schema


async def describe(conn: Connection, dialect: Dialect) -> dict[str, TableInfo]:
    """Every data table of the database on ``conn``, from its catalog."""
    return await (_describe_postgres(conn) if dialect == "postgres" else _describe_sqlite(conn))


async def _describe_sqlite(conn: Connection) -> dict[str, TableInfo]:
    names = [
        str(r[0])
        for r in await conn.all("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        if not str(r[0]).startswith("sqlite_") and str(r[0]) not in SKIPPED_TABLES
    ]
    out: dict[str, TableInfo] = {}
    for name in names:
        cols = await conn.all(f"PRAGMA table_info({quote(name)})")  # cid, name, type, notnull, default, pk
        fks = await conn.all(f"PRAGMA foreign_key_list({quote(name)})")  # id, seq, table, from, to, ...
        out[name] = TableInfo(
            name=name,
            columns=tuple(str(c[1]) for c in cols),
            types={str(c[1]): str(c[2]).lower() for c in cols},
            key=tuple(str(c[1]) for c in sorted((c for c in cols if int(c[5]) > 0), key=lambda c: int(c[5]))),
            parents=frozenset(str(f[2]) for f in fks),
            generated=(),
        )
    return out


async def _describe_postgres(conn: Connection) -> dict[str, TableInfo]:
    names = [
        str(r[0])
        for r in await conn.all(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
        if str(r[0]) not in SKIPPED_TABLES
    ]
    cols = await conn.all(
        "SELECT table_name, column_name, data_type, is_identity, column_default FROM information_schema.columns"
        " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    )
    keys = await conn.all(
        "SELECT tc.table_name, k.column_name FROM information_schema.table_constraints tc"
        " JOIN information_schema.key_column_usage k ON k.constraint_schema = tc.constraint_schema"
        " AND k.constraint_name = tc.constraint_name AND k.table_name = tc.table_name"
        " WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema()"
        " ORDER BY tc.table_name, k.ordinal_position"
    )
    fks = await conn.all(
        "SELECT child.relname, parent.relname FROM pg_constraint c"
        " JOIN pg_class child ON child.oid = c.conrelid JOIN pg_class parent ON parent.oid = c.confrelid"
        " JOIN pg_namespace n ON n.oid = c.connamespace"
        " WHERE c.contype = 'f' AND n.nspname = current_schema()"
    )
    out: dict[str, TableInfo] = {}
    for name in names:
        mine = [c for c in cols if c[0] == name]
        out[name] = TableInfo(
            name=name,
            columns=tuple(str(c[1]) for c in mine),
            types={str(c[1]): str(c[2]).lower() for c in mine},
            key=tuple(str(k[1]) for k in keys if k[0] == name),
            parents=frozenset(str(f[1]) for f in fks if f[0] == name),
            generated=tuple(str(c[1]) for c in mine if c[3] == "YES" or str(c[4] or "").startswith("nextval(")),
        )
    return out


def _check_same_shape(source: dict[str, TableInfo], target: dict[str, TableInfo]) -> None:
    problems: list[str] = []
    for name in sorted(source.keys() - target.keys()):
        problems.append(f"table {name} is only in the source")
    for name in sorted(target.keys() - source.keys()):
        problems.append(f"table {name} is only in the target")
    for name in sorted(source.keys() & target.keys()):
        s, t = set(source[name].columns), set(target[name].columns)
        problems += [f"column {name}.{c} is only in the source" for c in sorted(s - t)]
        problems += [f"column {name}.{c} is only in the target" for c in sorted(t - s)]
    if problems:
        raise CopyError("the source and target schemas differ: " + "; ".join(problems))


def copy_order(tables: dict[str, TableInfo]) -> list[str]:
    """Parents before children (ties by name), so every foreign key finds its row."""
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for name in sorted(tables):
        sorter.add(name, *sorted(p for p in tables[name].parents if p != name and p in tables))
    try:
        sorter.prepare()
    except CycleError as exc:
        raise CopyError(
            f"the tables' foreign keys form a cycle ({', '.join(exc.args[1])}); cannot order the copy"
        ) from None
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order += ready
        sorter.done(*ready)
    return order


# ---------------------------------------------------------------------------------------- values


def _converter(dialect: Dialect, data_type: str) -> Callable[[object], object] | None:
    """How a source value becomes a value for a target column of this type (None: as it is).

    Into SQLite the driver itself writes datetimes and dates as text."""
    if dialect != "postgres":
        return None
    if data_type == "timestamp with time zone":
        return _timestamp
    if data_type == "date":
        return as_date
    return None


def _timestamp(value: object) -> datetime | None:
    """:func:`as_dt`, five times faster on SQLite's text (a million-row table has millions of them)."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return as_dt(value)  # raises ValueError naming the expected format
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return as_dt(value)


def _convert_rows(
    table: TableInfo, target: TableInfo, dialect: Dialect, rows: Sequence[Sequence[object]]
) -> list[tuple[object, ...]]:
    convs = [_converter(dialect, target.types.get(c, "")) for c in table.columns]
    if not any(convs):
        return [tuple(r) for r in rows]
    out: list[tuple[object, ...]] = []
    for row in rows:
        values: list[object] = []
        for col, conv, value in zip(table.columns, convs, row, strict=True):
            if conv is None or value is None:
                values.append(value)
                continue
            try:
                values.append(conv(value))
            except (TypeError, ValueError):
                where = _row_key(table, row)
                raise CopyError(f"{table.name}.{col}{where}: cannot read {value!r} as a {target.types[col]}") from None
        out.append(tuple(values))
    return out


def _row_key(table: TableInfo, row: Sequence[object]) -> str:
    if not table.key:
        return ""
    parts = [f"{k}={row[table.columns.index(k)]!r}" for k in table.key]
    return " (row " + ", ".join(parts) + ")"


# ---------------------------------------------------------------------------------------- reading


async def _batches(conn: Connection, table: TableInfo, batch: int) -> AsyncIterator[list[Sequence[object]]]:
    """The table's rows, ``batch`` at a time, in primary-key order (keyset paging)."""
    cols = ", ".join(quote(c) for c in table.columns)
    if not table.key:  # no key: page over every column; identical rows are interchangeable
        order = ", ".join(quote(c) for c in table.columns)
        offset = 0
        while True:
            rows = await conn.all(
                f"SELECT {cols} FROM {quote(table.name)} ORDER BY {order} LIMIT ? OFFSET ?", (batch, offset)
            )
            if rows:
                yield list(rows)
            if len(rows) < batch:
                return
            offset += len(rows)
    key = ", ".join(quote(k) for k in table.key)
    at = [table.columns.index(k) for k in table.key]
    marks = ", ".join("?" for _ in table.key)
    after: list[object] | None = None
    while True:
        if after is None:
            rows = await conn.all(f"SELECT {cols} FROM {quote(table.name)} ORDER BY {key} LIMIT ?", (batch,))
        else:
            rows = await conn.all(
                f"SELECT {cols} FROM {quote(table.name)} WHERE ({key}) > ({marks}) ORDER BY {key} LIMIT ?",
                (*after, batch),
            )
        if rows:
            yield list(rows)
        if len(rows) < batch:
            return
        after = [rows[-1][i] for i in at]


@asynccontextmanager
async def _snapshot(store: SQLStore) -> AsyncIterator[Connection]:
    """One read-only transaction on the source: every table is read as of one moment."""
    async with store.db.connection() as conn:
        if store.db.dialect == "postgres":
            await conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        else:
            await conn.execute("BEGIN")  # deferred: WAL readers see one snapshot until COMMIT
        try:
            yield conn
        finally:
            await conn.execute("ROLLBACK")


async def _count(conn: Connection, table: str) -> int:
    row = await conn.one(f"SELECT COUNT(*) FROM {quote(table)}")
    return int(row[0]) if row else 0


# ---------------------------------------------------------------------------------------- opening


def _check_url(url: str, which: str) -> None:
    if not (url.startswith("sqlite:///") or is_postgres(url)):
        raise CopyError(
            f"{which}: unsupported URL {redact_url(url)}; use sqlite:///path/to/imgbot.db or postgresql://…"
        )


def _check_source_exists(url: str) -> None:
    """A mistyped SQLite path would open as a new empty database and copy nothing."""
    if url.startswith("sqlite:///"):
        path = sqlite_path(url)
        if path == ":memory:" or not os.path.exists(path):
            raise CopyError(f"source: there is no database at {path}")


async def _open(url: str, which: str) -> SQLStore:
    try:
        return await open_store(url, pool_size=2)
    except CopyError:
        raise
    except ConfigError as exc:
        raise CopyError(f"{which}: {str(exc).removeprefix('IMGBOT_DATABASE_URL: ')}") from None


async def _identity(store: SQLStore) -> tuple[object, ...]:
    """What tells one database from another, to refuse copying a database onto itself."""
    if isinstance(store.db, SQLiteDriver):
        if store.db.path == ":memory:":
            return ("sqlite", id(store))
        st = os.stat(store.db.path)
        return ("sqlite", st.st_dev, st.st_ino)
    where = await store.db.one("SELECT current_database(), current_schema()")
    try:
        server = await store.db.one("SELECT system_identifier::text FROM pg_control_system()")
    except Exception:  # a managed server may hide its control data; address and port will do
        server = await store.db.one("SELECT host(inet_server_addr()) || ':' || inet_server_port()")
    return ("postgres", *(server or ()), *(where or ()))


# ---------------------------------------------------------------------------------------- copying


async def copy_database(
    src_url: str, dst_url: str, *, force: bool = False, batch: int = DEFAULT_BATCH
) -> list[TableCount]:
    """Copy every data table from ``src_url`` into ``dst_url``; per-table counts, all matching.

    Migrates both first. Refuses (CopyError, one line, target untouched) a target that has rows
    unless ``force``, which deletes them in the same transaction as the copy. Raises
    CountMismatch (target rolled back) if the counts differ."""
    if batch < 1:
        raise CopyError("the batch size must be at least 1")
    _check_url(src_url, "source")
    _check_url(dst_url, "target")
    _check_source_exists(src_url)
    source = await _open(src_url, "source")
    try:
        target = await _open(dst_url, "target")
        try:
            if await _identity(source) == await _identity(target):
                raise CopyError(f"the source and target are the same database ({source.url}); nothing to copy")
            return await _copy(source, target, force=force, batch=batch)
        finally:
            await target.close()
    finally:
        await source.close()


async def _copy(source: SQLStore, target: SQLStore, *, force: bool, batch: int) -> list[TableCount]:
    dialect = target.db.dialect
    async with _snapshot(source) as src, target.db.transaction() as dst:
        src_tables = await describe(src, source.db.dialect)
        dst_tables = await describe(dst, dialect)
        _check_same_shape(src_tables, dst_tables)
        order = copy_order(dst_tables)

        present: dict[str, int] = {}
        for name in order:
            if n := await _count(dst, name):
                present[name] = n
        if present and not force:
            listed = ", ".join(f"{name}: {n}" for name, n in present.items())
            raise CopyError(
                f"the target {target.url} already has data ({listed}); "
                "copy into an empty database, or pass --force to replace its data"
            )
        for name in reversed(order):
            if name in present:
                await dst.execute(f"DELETE FROM {quote(name)}")

        for name in order:
            table = src_tables[name]
            into = dst_tables[name]
            cols = ", ".join(quote(c) for c in table.columns)
            marks = ", ".join("?" for _ in table.columns)
            overriding = " OVERRIDING SYSTEM VALUE" if into.generated else ""
            sql = f"INSERT INTO {quote(name)} ({cols}){overriding} VALUES ({marks})"
            async for rows in _batches(src, table, batch):
                values = _convert_rows(table, into, dialect, rows)
                try:
                    await dst.many(sql, values)
                except CopyError:
                    raise
                except Exception as exc:  # the database's own refusal (a constraint, a type): one line
                    raise CopyError(f"copying {name} failed, nothing was written: {_first_line(exc)}") from None

        if dialect == "postgres":
            await _reset_sequences(dst, dst_tables)

        counts = [TableCount(name, await _count(src, name), await _count(dst, name)) for name in order]
        if not all(c.matches for c in counts):
            raise CountMismatch(counts)  # leaving the transaction rolls the target back
    return counts


async def _reset_sequences(conn: Connection, tables: dict[str, TableInfo]) -> None:
    """Move each identity sequence past the copied ids, so the next insert does not collide."""
    for name in sorted(tables):
        for col in tables[name].generated:
            await conn.one(
                f"SELECT setval(pg_get_serial_sequence(?, ?), COALESCE(MAX({quote(col)}), 1), "
                f"MAX({quote(col)}) IS NOT NULL) FROM {quote(name)}",
                (quote(name), col),
            )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return redact_url(text.splitlines()[0]) if text else type(exc).__name__


def format_counts(counts: Iterable[TableCount]) -> list[str]:
    """The ``table  source  target`` lines the CLI prints."""
    rows = [("table", "source", "target"), *((c.table, str(c.source), str(c.target)) for c in counts)]
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = []
    for r in rows:
        mark = "" if r[1] == r[2] or r[0] == "table" else "  <- differs"
        lines.append(f"{r[0]:<{width[0]}}  {r[1]:>{width[1]}}  {r[2]:>{width[2]}}{mark}")
    return lines
