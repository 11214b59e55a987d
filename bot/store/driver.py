"""The thin SQL driver under every feature store: SQLite (aiosqlite) or PostgreSQL (asyncpg).

Feature stores write SQL once, with ``?`` placeholders, and pass Python values
(``datetime``, ``date``, ``int``, ``str``). The driver converts placeholders and
values for its dialect and hands rows back as tuples. Values come back as the
database gives them, so read them through :func:`as_dt` and :func:`as_date`.

A transaction holds one connection for its whole length; statements outside a
transaction borrow a connection for one statement. The connection a
transaction holds is found through a context variable, so the store methods a
command handler calls inside ``async with store.transaction():`` all run on it,
while other tasks (other commands, nudge delivery) use other connections.

Nothing here is a process-wide lock: SQLite serialises writers itself (``BEGIN
IMMEDIATE`` with a busy timeout), PostgreSQL with row locks.

On PostgreSQL a transaction can be chosen as a deadlock's victim (SQLSTATE 40P01) or fail to
serialise (40001); nothing it did is kept, so it is simply run again. The driver does that, not
the call sites: a statement run on its own (:meth:`Driver.one`, ``all``, ``execute``, ``many``)
and a body passed to :meth:`Driver.transact` are retried up to ``CONFLICT_ATTEMPTS`` times in
all, after a short random pause. A body written as ``async with driver.transaction():`` cannot
be re-run from here; its error reaches the caller as one line (a user's command: "try again").
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import errno
import logging
import os
import random
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiosqlite

from bot.core.errors import ConfigError, StorageError

log = logging.getLogger(__name__)

Dialect = Literal["sqlite", "postgres"]
Row = Sequence[Any]

_TS = "%Y-%m-%d %H:%M:%S"
NOTIFY_CHANNEL = "imgbot_nudges"
T = TypeVar("T")

# A transaction that loses a deadlock or a serialisation check is run again, this many times in all;
# before try k (k >= 2) it waits a random time up to CONFLICT_PAUSE * 2**(k-2) seconds, so the two
# sides of a deadlock do not meet again in step.
CONFLICT_ATTEMPTS = 5
CONFLICT_PAUSE = 0.05
CONFLICT_STATES = ("40P01", "40001")  # deadlock_detected, serialization_failure


def as_dt(value: object) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite keeps text, PostgreSQL timestamptz)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    # text written by _sqlite_value (_TS), which fromisoformat reads, many times faster than strptime
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def as_date(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _sqlite_value(value: object) -> object:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the store")
        return value.astimezone(UTC).strftime(_TS)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def _pg_value(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError("naive datetime reached the store")
    if isinstance(value, bool):
        return int(value)
    return value


_PLACEHOLDER = re.compile(r"\?")


def pg_sql(sql: str) -> str:
    """``?`` placeholders to ``$1 .. $n``. Our SQL never has a literal ``?`` in a string."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", sql)


class Connection:
    """One connection, as the feature stores use it."""

    async def one(self, sql: str, args: Iterable[object] = ()) -> Row | None:
        raise NotImplementedError

    async def all(self, sql: str, args: Iterable[object] = ()) -> list[Row]:
        raise NotImplementedError

    async def execute(self, sql: str, args: Iterable[object] = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        raise NotImplementedError

    async def many(self, sql: str, rows: Iterable[Iterable[object]]) -> None:
        raise NotImplementedError

    async def script(self, sql: str) -> None:
        """Several statements separated by ``;`` (migrations)."""
        raise NotImplementedError


class Driver:
    """A pool of connections of one dialect, plus transaction scoping."""

    dialect: Dialect
    url_for_humans: str
    # what the database library raises for a refused or failed statement
    errors: tuple[type[BaseException], ...] = (sqlite3.Error, OSError)
    # whether other processes hear of new work through the database (PostgreSQL NOTIFY)
    remote_notify = False

    def __init__(self) -> None:
        self.conflicts_retried = 0  # transactions run again after a deadlock or serialisation failure
        self._current: contextvars.ContextVar[Connection | None] = contextvars.ContextVar(
            f"imgbot_tx_{id(self)}", default=None
        )
        self._notify_pending: contextvars.ContextVar[bool] = contextvars.ContextVar(
            f"imgbot_notify_{id(self)}", default=False
        )
        self._listeners: list[Callable[[], None]] = []

    # -- pooling, per dialect
    def _acquire(self) -> Any:  # an async context manager yielding a Connection
        raise NotImplementedError

    async def _begin(self, conn: Connection) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def _send_notify(self, conn: Connection) -> None:
        """Tell other instances that work changed (PostgreSQL NOTIFY); local listeners always hear it."""

    async def listen(self) -> None:
        """Start hearing other instances' notifications (PostgreSQL LISTEN); a no-op on SQLite."""

    def is_conflict(self, exc: BaseException) -> bool:
        """Whether ``exc`` ended a transaction that may simply be run again (PostgreSQL: a
        deadlock's victim, a serialisation failure). SQLite has neither: writers queue."""
        return False

    async def _retry_pause(self, attempt: int, exc: BaseException, what: str) -> None:
        self.conflicts_retried += 1
        pause = random.uniform(0, CONFLICT_PAUSE * 2 ** (attempt - 1))
        log.info("%s lost a lock conflict (%s); running it again in %.0f ms", what, _state(exc), pause * 1000)
        await asyncio.sleep(pause)

    async def transact(self, body: Callable[[Connection], Awaitable[T]]) -> T:
        """``body(conn)`` in one transaction, run again if it loses a deadlock or a serialisation
        check (see the module's docstring). Inside another transaction it joins it, and the
        outermost one decides: nothing can be retried from the middle of a transaction."""
        if self._current.get() is not None:
            async with self.transaction() as conn:
                return await body(conn)
        return await self._retrying(self.transaction, body, "a transaction")

    async def _statement(self, run: Callable[[Connection], Awaitable[T]]) -> T:
        """One statement: on the current transaction's connection, else on its own (its own
        transaction, retried like :meth:`transact`)."""
        current = self._current.get()
        if current is not None:
            return await run(current)
        return await self._retrying(self._acquire, run, "a statement")

    async def _retrying(self, open_conn: Callable[[], Any], run: Callable[[Connection], Awaitable[T]], what: str) -> T:
        """``run`` on a connection from ``open_conn()`` (an async context manager), opened anew and run
        again while it loses a deadlock or a serialisation check, up to CONFLICT_ATTEMPTS times."""
        attempt = 1
        while True:
            try:
                async with open_conn() as conn:
                    return await run(conn)
            except Exception as exc:
                if attempt >= CONFLICT_ATTEMPTS or not self.is_conflict(exc):
                    raise
                await self._retry_pause(attempt, exc, what)
                attempt += 1

    # -- what feature stores use
    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One transaction; nested calls join the outer one."""
        current = self._current.get()
        if current is not None:
            yield current
            return
        async with self._acquire() as conn:
            token = self._current.set(conn)
            notify_token = self._notify_pending.set(False)
            try:
                try:
                    await self._begin(conn)
                except BaseException:
                    # cancelled while BEGIN ran: it may have begun, and the connection goes back
                    # to the pool, so end it (a SQLite connection left in a write lock stops every writer)
                    with contextlib.suppress(*self.errors):
                        await conn.execute("ROLLBACK")
                    raise
                try:
                    yield conn
                    if self._notify_pending.get():
                        await self._send_notify(conn)
                except BaseException:
                    # (a failed statement may have ended the transaction already, e.g. on a full disk:
                    # the error to report is the first one, not "no transaction is active")
                    with contextlib.suppress(Exception):
                        await conn.execute("ROLLBACK")
                    raise
                await conn.execute("COMMIT")
                notify = self._notify_pending.get()
            finally:
                self._current.reset(token)
                self._notify_pending.reset(notify_token)
        if notify and self._local_echo():
            self._tell_listeners()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """The current transaction's connection, else one borrowed for a statement or two."""
        current = self._current.get()
        if current is not None:
            yield current
            return
        async with self._acquire() as conn:
            yield conn

    async def one(self, sql: str, args: Iterable[object] = ()) -> Row | None:
        args = tuple(args)
        return await self._statement(lambda c: c.one(sql, args))

    async def all(self, sql: str, args: Iterable[object] = ()) -> list[Row]:
        args = tuple(args)
        return await self._statement(lambda c: c.all(sql, args))

    async def execute(self, sql: str, args: Iterable[object] = ()) -> int:
        args = tuple(args)
        return await self._statement(lambda c: c.execute(sql, args))

    async def many(self, sql: str, rows: Iterable[Iterable[object]]) -> None:
        batch = [tuple(r) for r in rows]
        if not batch:
            return
        await self.transact(lambda c: c.many(sql, batch))

    def work_changed(self) -> None:
        """Say that owed work moved earlier: peers and local listeners re-read the next due time.

        Inside a transaction the notice goes out when it commits (and not at all on rollback)."""
        if self._current.get() is not None:
            self._notify_pending.set(True)
            return
        if not self.remote_notify:
            self._tell_listeners()
            return
        task = asyncio.get_running_loop().create_task(self._notify_now())
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)

    async def _notify_now(self) -> None:
        try:
            async with self._acquire() as conn:
                await self._send_notify(conn)
        except Exception:  # a lost notice only delays delivery until the heartbeat
            log.warning("could not notify peers of new work", exc_info=True)
            self._tell_listeners()
            return
        if self._local_echo():
            self._tell_listeners()

    def _local_echo(self) -> bool:
        """Whether local listeners must be told directly (no LISTEN connection brings our own notice back)."""
        return True

    def on_work_changed(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def _tell_listeners(self) -> None:
        for cb in list(self._listeners):
            cb()


_BACKGROUND: set[asyncio.Task[None]] = set()


# ---------------------------------------------------------------------------- SQLite


def sqlite_fault(exc: sqlite3.Error, path: str) -> StorageError | None:
    """The one line a user sees for a fault of the database file itself, or None for any other
    error (a bug, which must not be dressed up as a fault). Nothing was written: SQLite rolls the
    statement back, and the transaction around it is rolled back too."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    kept = "nothing was changed"
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return StorageError(f"the database {path} is read-only, {kept}; make it writable for imgbot")
    if name == "SQLITE_FULL" or "database or disk is full" in text:
        return StorageError(f"the disk holding the database {path} is full, {kept}; free some space and try again")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in text:
        return StorageError(f"the database {path} is locked by another program, {kept}; try again once it lets go")
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text or "not a database" in text:
        return StorageError(f"the database file {path} is damaged ({text}), {kept}; restore it from a backup")
    if name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")) or "disk I/O error" in text:
        return StorageError(f"the database file {path} cannot be read or written ({text}), {kept}")
    return None


class _SQLiteConnection(Connection):
    def __init__(self, conn: aiosqlite.Connection, path: str = "") -> None:
        self.raw = conn
        self.path = path

    @contextlib.contextmanager
    def _faults(self) -> Iterator[None]:
        """A fault of the database file becomes its one line; any other error stays as it is."""
        try:
            yield
        except sqlite3.Error as exc:
            fault = sqlite_fault(exc, self.path)
            if fault is None:
                raise
            raise fault from exc

    # A read is one trip to aiosqlite's thread (execute_fetchall: the statement, its rows, and the
    # cursor dropped there), not three (execute, fetch, close): each trip is a hand-over between
    # threads, and at a few milliseconds per command they were most of a read's time.
    async def one(self, sql: str, args: Iterable[object] = ()) -> Row | None:
        # every row is stepped, so an INSERT/UPDATE ... RETURNING makes all its changes (SQLite
        # makes them at the first step anyway); callers ask for one row
        with self._faults():
            rows = await self.raw.execute_fetchall(sql, tuple(map(_sqlite_value, args)))
        for row in rows:
            return row
        return None

    async def all(self, sql: str, args: Iterable[object] = ()) -> list[Row]:
        with self._faults():
            return list(await self.raw.execute_fetchall(sql, tuple(map(_sqlite_value, args))))

    async def execute(self, sql: str, args: Iterable[object] = ()) -> int:
        with self._faults():
            async with self.raw.execute(sql, tuple(map(_sqlite_value, args))) as cur:
                return cur.rowcount

    async def many(self, sql: str, rows: Iterable[Iterable[object]]) -> None:
        with self._faults():
            await self.raw.executemany(sql, [tuple(map(_sqlite_value, r)) for r in rows])

    async def script(self, sql: str) -> None:
        for stmt in split_statements(sql):
            await self.execute(stmt)


def split_statements(sql: str) -> list[str]:
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


OPEN_BUSY_SECONDS = 15.0


async def _while_busy(conn: aiosqlite.Connection, sql: str) -> None:
    """Run ``sql``, retrying while another process holds the lock it needs. Switching to WAL while
    other instances open the same file can return SQLITE_BUSY at once, without the busy handler
    (SQLite's WAL recovery lock), so several instances starting together must retry, not fail."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + OPEN_BUSY_SECONDS
    pause = 0.02
    while True:
        try:
            await conn.execute(sql)
            return
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or loop.time() + pause > deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.5)


class SQLiteDriver(Driver):
    dialect: Dialect = "sqlite"

    def __init__(self, path: str, conns: list[aiosqlite.Connection]) -> None:
        super().__init__()
        self.path = path
        self.url_for_humans = f"sqlite:///{path}"
        self.errors = (*self.errors, StorageError)
        self._all_conns = [_SQLiteConnection(c, path) for c in conns]
        self._free: asyncio.Queue[_SQLiteConnection] = asyncio.Queue()
        for c in self._all_conns:
            self._free.put_nowait(c)
        self._identity = _file_identity(path)
        self._gone: StorageError | None = None

    @classmethod
    async def open(cls, path: str, size: int = 4) -> SQLiteDriver:
        if path == ":memory:":
            size = 1  # every connection to :memory: is a database of its own
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _check_writable(path)
        conns: list[aiosqlite.Connection] = []
        try:
            for i in range(size):
                conn = await aiosqlite.connect(path, isolation_level=None)
                conns.append(conn)
                await conn.execute("PRAGMA busy_timeout=10000")  # first, so the PRAGMAs below wait too
                if i == 0:
                    await _while_busy(conn, "PRAGMA journal_mode=WAL")
                await conn.execute("PRAGMA foreign_keys=ON")
                await _while_busy(conn, "PRAGMA synchronous=NORMAL")
        except BaseException:
            for c in conns:
                await c.close()  # its worker thread would keep the process alive
            raise
        return cls(path, conns)

    @asynccontextmanager
    async def _acquire(self) -> AsyncIterator[_SQLiteConnection]:
        conn = await self._free.get()
        try:
            await self._still_there(conn)
            yield conn
        finally:
            self._free.put_nowait(conn)

    async def _still_there(self, conn: _SQLiteConnection) -> None:
        """Refuse to go on when the file was deleted or replaced while we ran: the open connections
        would keep writing into a file nobody can see again, lost when the process exits. A deleted
        file is first written back, whole, from the copy the connections still hold open."""
        if self._gone is None and self._identity is not None and _file_identity(self.path) != self._identity:
            if _file_identity(self.path) == _MISSING:
                self._gone = await self._write_back(conn)
            else:
                self._gone = StorageError(
                    f"the database file {self.path} was replaced while imgbot was running; nothing more is "
                    "written to the old one: restart imgbot to use the new file"
                )
            log.error("database file problem: %s", self._gone.message)
        if self._gone is not None:
            raise StorageError(self._gone.message)

    async def _write_back(self, conn: _SQLiteConnection) -> StorageError:
        target = Path(self.path)
        partial = target.with_name(target.name + ".restoring")
        try:
            partial.unlink(missing_ok=True)
            copy = await aiosqlite.connect(str(partial))
            try:
                await conn.raw.backup(copy)
            finally:
                await copy.close()
            for suffix in ("-wal", "-shm"):  # the deleted file's: SQLite must not apply them to the copy
                target.with_name(target.name + suffix).unlink(missing_ok=True)
            os.replace(partial, target)
        except (OSError, sqlite3.Error) as exc:
            return StorageError(
                f"the database file {self.path} was deleted while imgbot was running and could not be written "
                f"back ({exc}); keep imgbot running and copy /proc/{os.getpid()}/fd/* of it to safety"
            )
        return StorageError(
            f"the database file {self.path} was deleted while imgbot was running; it has been written back "
            "with everything stored until now: restart imgbot to go on"
        )

    async def _begin(self, conn: Connection) -> None:
        await conn.execute("BEGIN IMMEDIATE")

    async def close(self) -> None:
        for c in self._all_conns:
            await c.raw.close()


_MISSING = (-1, -1)


def _file_identity(path: str) -> tuple[int, int] | None:
    if path == ":memory:":
        return None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return _MISSING
    return (st.st_dev, st.st_ino)


def _check_writable(path: str) -> None:
    """A database file we cannot write is refused at start, in one line, rather than at the first change."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return  # created on first use
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise ConfigError(
                f"IMGBOT_DATABASE_URL: the database file {path} is read-only ({exc.strerror}); "
                "make it writable for the user running imgbot"
            ) from None
        raise
    os.close(fd)


# ---------------------------------------------------------------------------- PostgreSQL


def pg_fault(exc: BaseException, where: str) -> StorageError | None:
    """The one line for a fault of the PostgreSQL server or the connection to it, or None for any
    other error. (SQLSTATE classes: 25006 read-only, 53 resources, 55P03/40P01 locks, 57 operator.)"""
    import asyncpg

    state = str(getattr(exc, "sqlstate", "") or "")
    if state == "25006":
        return StorageError(f"the database at {where} is read-only, nothing was changed; make it writable for imgbot")
    if state in ("53100", "53200"):
        return StorageError(f"the database server at {where} is out of disk or memory, nothing was changed")
    if state in ("55P03", "40P01"):
        return StorageError(f"the database at {where} is locked by another session, nothing was changed; try again")
    if state in ("53300", "57P03"):
        return StorageError(f"the database server at {where} is not accepting connections right now; try again")
    if state.startswith("57P") or isinstance(exc, asyncpg.ConnectionDoesNotExistError | ConnectionError):
        return StorageError(_lost(where))
    return None


def _state(exc: BaseException) -> str:
    """The SQLSTATE of ``exc`` or of the database error it was raised from ('' if none)."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            break
        state = str(getattr(seen, "sqlstate", "") or "")
        if state:
            return state
        seen = seen.__cause__
    return ""


def _lost(where: str) -> str:
    return (
        f"the connection to the database at {where} was lost; anything not yet saved was rolled back: "
        "check, then try again"
    )


class _PgConnection(Connection):
    def __init__(self, conn: Any, where: str = "") -> None:
        self.raw = conn
        self.where = where

    @contextlib.contextmanager
    def _faults(self) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            fault = pg_fault(exc, self.where)
            if fault is None and self.raw.is_closed():  # cut mid-statement: asyncpg's error varies
                fault = StorageError(_lost(self.where))
            if fault is None:
                raise
            raise fault from exc

    async def one(self, sql: str, args: Iterable[object] = ()) -> Row | None:
        with self._faults():
            row = await self.raw.fetchrow(pg_sql(sql), *map(_pg_value, args))
        return tuple(row) if row is not None else None

    async def all(self, sql: str, args: Iterable[object] = ()) -> list[Row]:
        with self._faults():
            return [tuple(r) for r in await self.raw.fetch(pg_sql(sql), *map(_pg_value, args))]

    async def execute(self, sql: str, args: Iterable[object] = ()) -> int:
        with self._faults():
            status: str = await self.raw.execute(pg_sql(sql), *map(_pg_value, args))
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def many(self, sql: str, rows: Iterable[Iterable[object]]) -> None:
        with self._faults():
            await self.raw.executemany(pg_sql(sql), [tuple(map(_pg_value, r)) for r in rows])

    async def script(self, sql: str) -> None:
        with self._faults():
            await self.raw.execute(sql)


async def _keep_session(_conn: Any) -> None:
    """Pool reset on release: nothing to undo. asyncpg still rolls back an open transaction
    itself; its default reset query (UNLISTEN, RESET ALL, advisory unlock) costs a round trip
    per statement, and pooled connections never LISTEN, SET or hold session advisory locks
    (LISTEN has its own connection; the migration lock is transaction-scoped)."""


class PostgresDriver(Driver):
    dialect: Dialect = "postgres"
    remote_notify = True

    def __init__(self, pool: Any, dsn: str) -> None:
        import asyncpg

        super().__init__()
        self.errors = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, StorageError)
        self.pool = pool
        self.dsn = dsn
        self.url_for_humans = redact_url(dsn)
        self._listener: Any = None

    @classmethod
    async def open(cls, dsn: str, size: int = 10) -> PostgresDriver:
        import asyncpg

        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=size, command_timeout=60, reset=_keep_session)
        return cls(pool, dsn)

    @asynccontextmanager
    async def _acquire(self) -> AsyncIterator[_PgConnection]:
        import asyncpg

        try:
            conn = await self.pool.acquire()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            fault = pg_fault(exc, self.url_for_humans)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise fault or StorageError(f"cannot reach the database at {self.url_for_humans}: {reason}") from exc
        try:
            yield _PgConnection(conn, self.url_for_humans)
        finally:
            await self.pool.release(conn)

    async def _begin(self, conn: Connection) -> None:
        await conn.execute("BEGIN")

    async def _send_notify(self, conn: Connection) -> None:
        await conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")

    async def listen(self) -> None:
        import asyncpg

        if self._listener is not None:
            return
        self._listener = await asyncpg.connect(self.dsn)
        await self._listener.add_listener(NOTIFY_CHANNEL, self._heard)

    def is_conflict(self, exc: BaseException) -> bool:
        return _state(exc) in CONFLICT_STATES

    def _heard(self, *_args: object) -> None:
        self._tell_listeners()

    def _local_echo(self) -> bool:
        return self._listener is None  # when listening, our own NOTIFY comes back to us

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        await self.pool.close()


def redact_url(url: str) -> str:
    """A database URL with any password replaced, safe for logs and messages."""
    return re.sub(r"(//[^:/@]+):[^@/]*@", r"\1:***@", url)


def sqlite_path(url: str) -> str:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or ``sqlite:///:memory:``."""
    if not url.startswith("sqlite:///"):
        raise ConfigError("IMGBOT_DATABASE_URL: unsupported URL; use sqlite:///path/to/imgbot.db")
    rest = url[len("sqlite:///") :]
    return rest if rest == ":memory:" else str(Path(rest).expanduser())


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


async def open_driver(url: str, pool_size: int = 10) -> Driver:
    """A driver for the URL, or ConfigError with one line (never the password)."""
    if is_postgres(url):
        try:
            return await PostgresDriver.open(url, size=pool_size)
        except ImportError:
            raise ConfigError(
                "IMGBOT_DATABASE_URL: PostgreSQL needs asyncpg; install with pip install 'img-peer-bot[postgres]'"
            ) from None
        except (OSError, TimeoutError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise ConfigError(f"IMGBOT_DATABASE_URL: cannot reach PostgreSQL at {redact_url(url)}: {reason}") from None
        except Exception as exc:  # asyncpg's own errors: bad password, unknown database, ...
            raise ConfigError(
                f"IMGBOT_DATABASE_URL: PostgreSQL at {redact_url(url)} refused the connection: {_pg_reason(exc)}"
            ) from None
    path = sqlite_path(url)
    try:
        return await SQLiteDriver.open(path, size=min(pool_size, 4))
    except (OSError, sqlite3.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"IMGBOT_DATABASE_URL: cannot open the database at {path}: {reason}") from None


def _pg_reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return redact_url(text)
