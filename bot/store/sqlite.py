"""All SQL lives here. SQLite through aiosqlite, WAL on, numbered migrations."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time
from importlib.resources import files
from pathlib import Path

import aiosqlite

from bot.core.models import (
    Contact,
    GoalTarget,
    Nudge,
    Profile,
    UserRef,
)

_TS = "%Y-%m-%d %H:%M:%S"


def ts(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise ValueError("naive datetime reached the store")
    return dt.astimezone(UTC).strftime(_TS)


def from_ts(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.strptime(text, _TS).replace(tzinfo=UTC)


def _d(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def name_key(name: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", name.lower()).split())


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) for every numbered file, in order."""
    out = []
    for entry in files("bot.store").joinpath("migrations").iterdir():
        m = re.match(r"^(\d{4})_(\w+)\.sql$", entry.name)
        if m:
            out.append((int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    return sorted(out)


def _statements(sql: str) -> list[str]:
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


_CONTACT_COLS = (
    "id, user_id, number, name, role, specialty, institution, email, how_met, met_on, notes, tags, "
    "state, last_contact_on, next_followup_on, followup_situation, followup_script, created_at"
)
_NUDGE_COLS = "id, user_id, kind, ref, due_at, deliver_at, status, attempts, last_error, digest"
# due_users() reads at most limit * this many due rows per batch (any leftovers come in the next batch).
_DUE_ROWS_PER_USER = 100


def _contact(row: Sequence) -> Contact:
    return Contact(
        id=row[0],
        user_id=row[1],
        number=row[2],
        name=row[3],
        role=row[4],
        specialty=row[5],
        institution=row[6],
        email=row[7],
        how_met=row[8],
        met_on=_d(row[9]),
        notes=row[10],
        tags=tuple(t for t in row[11].split(",") if t),
        state=row[12],
        last_contact_on=_d(row[13]),
        next_followup_on=_d(row[14]),
        followup_situation=row[15],
        followup_script=row[16],
        created_at=from_ts(row[17]),
    )


def _nudge(row: Sequence) -> Nudge:
    return Nudge(
        id=row[0],
        user_id=row[1],
        kind=row[2],
        ref=row[3],
        due_at=from_ts(row[4]),  # type: ignore[arg-type]
        deliver_at=from_ts(row[5]),
        status=row[6],
        attempts=row[7],
        last_error=row[8],  # type: ignore[arg-type]
        digest=row[9],
    )


def _hhmm(t: time) -> str:
    return t.strftime("%H:%M")


def _time(s: str) -> time:
    h, m = s.split(":")
    return time(int(h), int(m))


class SQLiteStore:
    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._db = conn
        self.path = path
        self._users: dict[tuple[str, str], int] = {}
        self._in_tx = False

    # ------------------------------------------------------------ lifecycle
    @classmethod
    async def open(cls, path: str | Path) -> SQLiteStore:
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA busy_timeout=5000")
            store = cls(conn, path)
            await store.migrate()
        except BaseException:
            await conn.close()  # its worker thread would keep the process alive
            raise
        return store

    async def close(self) -> None:
        await self._db.close()

    async def migrate(self) -> list[int]:
        """Apply every migration newer than the stored version, all in one transaction."""
        applied: list[int] = []
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            await self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            async with self._db.execute("SELECT MAX(version) FROM schema_version") as cur:
                row = await cur.fetchone()
            current = row[0] if row and row[0] is not None else 0
            for number, _name, sql in migrations():
                if number <= current:
                    continue
                for stmt in _statements(sql):
                    await self._db.execute(stmt)
                await self._db.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
                applied.append(number)
            await self._db.execute("COMMIT")
        except BaseException:
            await self._db.execute("ROLLBACK")
            raise
        return applied

    async def schema_version(self) -> int:
        async with self._db.execute("SELECT MAX(version) FROM schema_version") as cur:
            row = await cur.fetchone()
        return int(row[0] or 0) if row else 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        if self._in_tx:
            yield
            return
        await self._db.execute("BEGIN IMMEDIATE")
        self._in_tx = True
        try:
            yield
        except BaseException:
            self._in_tx = False
            await self._db.execute("ROLLBACK")
            raise
        self._in_tx = False
        await self._db.execute("COMMIT")

    async def _one(self, sql: str, args: Iterable = ()) -> Sequence | None:
        async with self._db.execute(sql, tuple(args)) as cur:
            return await cur.fetchone()

    async def _all(self, sql: str, args: Iterable = ()) -> list[Sequence]:
        async with self._db.execute(sql, tuple(args)) as cur:
            return list(await cur.fetchall())

    # ------------------------------------------------------------ users
    async def ensure_user(self, ref: UserRef, now: datetime) -> int:
        key = (ref.platform, ref.account)
        if key in self._users:
            return self._users[key]
        row = await self._one("SELECT id FROM users WHERE platform = ? AND account = ?", key)
        if row is None:
            async with self.transaction():
                await self._db.execute(
                    "INSERT OR IGNORE INTO users (platform, account, display_name, created_at) VALUES (?, ?, ?, ?)",
                    (ref.platform, ref.account, ref.display_name, ts(now)),
                )
            row = await self._one("SELECT id FROM users WHERE platform = ? AND account = ?", key)
        assert row is not None
        self._users[key] = int(row[0])
        return int(row[0])

    async def user_ref(self, user_id: int) -> UserRef | None:
        row = await self._one("SELECT platform, account, display_name FROM users WHERE id = ?", (user_id,))
        return UserRef(row[0], row[1], row[2]) if row else None

    async def delete_user_data(self, user_id: int) -> None:
        async with self.transaction():
            await self._db.execute("DELETE FROM users WHERE id = ?", (user_id,))
        self._users = {k: v for k, v in self._users.items() if v != user_id}

    # ------------------------------------------------------------ profiles
    async def get_profile(self, user_id: int) -> Profile:
        row = await self._one(
            "SELECT name, country, school, specialty, track, visa, eras, timezone, interests, role,"
            " quiet_start, quiet_end, nudges_paused_until FROM profiles WHERE user_id = ?",
            (user_id,),
        )
        if row is None:
            return Profile(user_id=user_id)
        return Profile(
            user_id=user_id,
            name=row[0],
            country=row[1],
            school=row[2],
            specialty=row[3],
            track=row[4],
            visa=row[5],
            eras=row[6],
            timezone=row[7],
            interests=row[8],
            role=row[9],
            quiet_start=_time(row[10]),
            quiet_end=_time(row[11]),
            nudges_paused_until=from_ts(row[12]),
        )

    async def save_profile(self, p: Profile, now: datetime) -> None:
        await self._db.execute(
            "INSERT INTO profiles (user_id, name, country, school, specialty, track, visa, eras,"
            " timezone, interests, role, quiet_start, quiet_end, nudges_paused_until, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(user_id) DO UPDATE SET name=excluded.name, country=excluded.country,"
            " school=excluded.school, specialty=excluded.specialty, track=excluded.track,"
            " visa=excluded.visa, eras=excluded.eras, timezone=excluded.timezone,"
            " interests=excluded.interests, role=excluded.role, quiet_start=excluded.quiet_start,"
            " quiet_end=excluded.quiet_end, nudges_paused_until=excluded.nudges_paused_until,"
            " updated_at=excluded.updated_at",
            (
                p.user_id,
                p.name,
                p.country,
                p.school,
                p.specialty,
                p.track,
                p.visa,
                p.eras,
                p.timezone,
                p.interests,
                p.role,
                _hhmm(p.quiet_start),
                _hhmm(p.quiet_end),
                ts(p.nudges_paused_until) if p.nudges_paused_until else None,
                ts(now),
            ),
        )

    # ------------------------------------------------------------ contacts
    async def count_contacts(self, user_id: int) -> int:
        row = await self._one("SELECT COUNT(*) FROM contacts WHERE user_id = ?", (user_id,))
        return int(row[0]) if row else 0

    async def add_contact(self, c: Contact, now: datetime) -> Contact:
        row = await self._one("SELECT COALESCE(MAX(number), 0) + 1 FROM contacts WHERE user_id = ?", (c.user_id,))
        number = int(row[0]) if row else 1
        cur = await self._db.execute(
            "INSERT INTO contacts (user_id, number, name, name_key, role, specialty, institution, email,"
            " how_met, met_on, notes, tags, state, last_contact_on, next_followup_on,"
            " followup_situation, followup_script, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                c.user_id,
                number,
                c.name,
                name_key(c.name),
                c.role,
                c.specialty,
                c.institution,
                c.email,
                c.how_met,
                _iso(c.met_on),
                c.notes,
                ",".join(c.tags),
                c.state,
                _iso(c.last_contact_on),
                _iso(c.next_followup_on),
                c.followup_situation,
                c.followup_script,
                ts(now),
            ),
        )
        return await self.get_contact(c.user_id, int(cur.lastrowid or 0))  # type: ignore[return-value]

    async def update_contact(self, c: Contact) -> None:
        await self._db.execute(
            "UPDATE contacts SET name=?, name_key=?, role=?, specialty=?, institution=?, email=?,"
            " how_met=?, met_on=?, notes=?, tags=?, state=?, last_contact_on=?, next_followup_on=?,"
            " followup_situation=?, followup_script=? WHERE id = ? AND user_id = ?",
            (
                c.name,
                name_key(c.name),
                c.role,
                c.specialty,
                c.institution,
                c.email,
                c.how_met,
                _iso(c.met_on),
                c.notes,
                ",".join(c.tags),
                c.state,
                _iso(c.last_contact_on),
                _iso(c.next_followup_on),
                c.followup_situation,
                c.followup_script,
                c.id,
                c.user_id,
            ),
        )

    async def delete_contact(self, user_id: int, contact_id: int) -> None:
        await self._db.execute("DELETE FROM contacts WHERE id = ? AND user_id = ?", (contact_id, user_id))

    async def get_contact(self, user_id: int, contact_id: int) -> Contact | None:
        row = await self._one(
            f"SELECT {_CONTACT_COLS} FROM contacts WHERE id = ? AND user_id = ?", (contact_id, user_id)
        )
        return _contact(row) if row else None

    async def contact_by_number(self, user_id: int, number: int) -> Contact | None:
        row = await self._one(
            f"SELECT {_CONTACT_COLS} FROM contacts WHERE user_id = ? AND number = ?", (user_id, number)
        )
        return _contact(row) if row else None

    async def find_contacts(self, user_id: int, text: str, limit: int = 25) -> list[Contact]:
        """Exact name first, then names containing every word typed."""
        key = name_key(text)
        if not key:
            return []
        exact = await self._all(
            f"SELECT {_CONTACT_COLS} FROM contacts WHERE user_id = ? AND name_key = ? ORDER BY number",
            (user_id, key),
        )
        if exact:
            return [_contact(r) for r in exact]
        words = key.split()
        where = " AND ".join("(' ' || name_key) LIKE ?" for _ in words)
        args = [user_id, *[f"% {_like(w)}%" for w in words], limit]
        rows = await self._all(
            f"SELECT {_CONTACT_COLS} FROM contacts WHERE user_id = ? AND {where} ESCAPE '\\' ORDER BY number LIMIT ?",
            args,
        )
        return [_contact(r) for r in rows]

    async def list_contacts(
        self,
        user_id: int,
        *,
        tag: str | None = None,
        due_by: date | None = None,
        limit: int = 25,
        offset: int = 0,
    ) -> tuple[list[Contact], int]:
        where = ["user_id = ?"]
        args: list[object] = [user_id]
        order = "number"
        if tag:
            where.append("(',' || tags || ',') LIKE ? ESCAPE '\\'")
            args.append(f"%,{_like(tag)},%")
        if due_by:
            where.append("next_followup_on IS NOT NULL AND next_followup_on <= ? AND state = 'active'")
            args.append(due_by.isoformat())
            order = "next_followup_on, number"
        cond = " AND ".join(where)
        total_row = await self._one(f"SELECT COUNT(*) FROM contacts WHERE {cond}", args)
        rows = await self._all(
            f"SELECT {_CONTACT_COLS} FROM contacts WHERE {cond} ORDER BY {order} LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
        return [_contact(r) for r in rows], int(total_row[0]) if total_row else 0

    async def all_contacts(self, user_id: int) -> list[Contact]:
        rows = await self._all(f"SELECT {_CONTACT_COLS} FROM contacts WHERE user_id = ? ORDER BY number", (user_id,))
        return [_contact(r) for r in rows]

    async def contact_names(self, user_id: int, prefix: str, limit: int = 25) -> list[Contact]:
        key = name_key(prefix)
        rows = await self._all(
            f"SELECT {_CONTACT_COLS} FROM contacts WHERE user_id = ? AND (' ' || name_key) LIKE ?"
            " ESCAPE '\\' ORDER BY name_key LIMIT ?",
            (user_id, f"% {_like(key)}%", limit),
        )
        return [_contact(r) for r in rows]

    # ------------------------------------------------------------ interactions
    async def add_interaction(
        self,
        user_id: int,
        contact_id: int,
        kind: str,
        on: date,
        note: str | None,
        now: datetime,
        *,
        imported: bool = False,
    ) -> None:
        await self._db.execute(
            "INSERT INTO interactions (user_id, contact_id, kind, occurred_on, note, created_at, imported)"
            " VALUES (?,?,?,?,?,?,?)",
            (user_id, contact_id, kind, on.isoformat(), note, ts(now), int(imported)),
        )

    async def move_auto_met(self, contact_id: int, old: date, new: date) -> None:
        """Keep the 'met' logged by /contact add on the contact's met_on date."""
        await self._db.execute(
            "UPDATE interactions SET occurred_on = ? WHERE id = (SELECT MIN(id) FROM interactions"
            " WHERE contact_id = ?) AND kind = 'met' AND occurred_on = ? AND note IS NULL",
            (new.isoformat(), contact_id, old.isoformat()),
        )

    async def interactions(self, contact_id: int) -> list[tuple[str, date, str | None]]:
        rows = await self._all(
            "SELECT kind, occurred_on, note FROM interactions WHERE contact_id = ? ORDER BY occurred_on, id",
            (contact_id,),
        )
        return [(r[0], date.fromisoformat(r[1]), r[2]) for r in rows]

    async def count_interactions(self, user_id: int, kinds: Sequence[str], start: date, end: date) -> int:
        marks = ",".join("?" for _ in kinds)
        row = await self._one(
            f"SELECT COUNT(*) FROM interactions WHERE user_id = ? AND kind IN ({marks})"
            " AND occurred_on >= ? AND occurred_on < ? AND imported = 0",
            (user_id, *kinds, start.isoformat(), end.isoformat()),
        )
        return int(row[0]) if row else 0

    async def count_followups(self, user_id: int, start: date, end: date) -> int:
        """Messages to a contact who already had an earlier interaction."""
        row = await self._one(
            "SELECT COUNT(*) FROM interactions i WHERE i.user_id = ? AND i.kind IN"
            " ('emailed', 'update-sent', 'thanked') AND i.occurred_on >= ? AND i.occurred_on < ? AND i.imported = 0"
            " AND EXISTS (SELECT 1 FROM interactions j WHERE j.contact_id = i.contact_id AND j.id < i.id)",
            (user_id, start.isoformat(), end.isoformat()),
        )
        return int(row[0]) if row else 0

    async def count_new_contacts(self, user_id: int, start: datetime, end: datetime) -> int:
        row = await self._one(
            "SELECT COUNT(*) FROM contacts WHERE user_id = ? AND created_at >= ? AND created_at < ? AND imported = 0",
            (user_id, ts(start), ts(end)),
        )
        return int(row[0]) if row else 0

    async def mark_contact_imported(self, user_id: int, contact_id: int) -> None:
        """The contact came from a CSV import: it does not count as a new contact toward goals."""
        await self._db.execute("UPDATE contacts SET imported = 1 WHERE id = ? AND user_id = ?", (contact_id, user_id))

    # ------------------------------------------------------------ goals
    async def set_goal(self, user_id: int, goal: GoalTarget) -> None:
        await self._db.execute(
            "INSERT INTO goals (user_id, metric, period, count) VALUES (?,?,?,?)"
            " ON CONFLICT(user_id, metric, period) DO UPDATE SET count = excluded.count",
            (user_id, goal.metric, goal.period, goal.count),
        )

    async def goals(self, user_id: int) -> list[GoalTarget]:
        rows = await self._all(
            "SELECT metric, period, count FROM goals WHERE user_id = ? ORDER BY period, metric", (user_id,)
        )
        return [GoalTarget(r[0], r[1], r[2]) for r in rows]

    # ------------------------------------------------------------ nudges
    async def put_nudge(self, user_id: int, kind: str, ref: str, due_at: datetime, deliver_at: datetime) -> None:
        """Create or move the one open nudge for (user, kind, ref)."""
        await self._db.execute(
            "INSERT INTO nudges (user_id, kind, ref, due_at, deliver_at) VALUES (?,?,?,?,?)"
            " ON CONFLICT(user_id, kind, ref) WHERE status IN ('pending', 'sending')"
            " DO UPDATE SET due_at = excluded.due_at, deliver_at = excluded.deliver_at,"
            " status = 'pending', attempts = 0, last_error = NULL, digest = NULL",
            (user_id, kind, ref, ts(due_at), ts(deliver_at)),
        )

    async def cancel_nudges(self, user_id: int, kind: str, ref: str | None = None) -> None:
        if ref is None:
            await self._db.execute(
                "UPDATE nudges SET status = 'cancelled' WHERE user_id = ? AND kind = ?"
                " AND status IN ('pending', 'sending')",
                (user_id, kind),
            )
        else:
            await self._db.execute(
                "UPDATE nudges SET status = 'cancelled' WHERE user_id = ? AND kind = ? AND ref = ?"
                " AND status IN ('pending', 'sending')",
                (user_id, kind, ref),
            )

    async def open_nudges(self, user_id: int) -> list[Nudge]:
        rows = await self._all(
            f"SELECT {_NUDGE_COLS} FROM nudges WHERE user_id = ? AND status IN ('pending', 'sending')"
            " ORDER BY deliver_at",
            (user_id,),
        )
        return [_nudge(r) for r in rows]

    async def get_nudge(self, nudge_id: int) -> Nudge | None:
        row = await self._one(f"SELECT {_NUDGE_COLS} FROM nudges WHERE id = ?", (nudge_id,))
        return _nudge(row) if row else None

    async def next_delivery(self) -> datetime | None:
        row = await self._one("SELECT MIN(deliver_at) FROM nudges WHERE status = 'pending'")
        return from_ts(row[0]) if row and row[0] else None

    async def due_users(self, now: datetime, limit: int) -> list[int]:
        # Read the due rows through nudges_pending_by_time (earliest first, capped) and only then
        # pick distinct users. Written as one flat DISTINCT ... ORDER BY user_id, SQLite walks the
        # whole nudges_by_user index instead: ~130 ms per call with 1M pending, nothing due.
        rows = await self._all(
            "SELECT DISTINCT user_id FROM (SELECT user_id FROM nudges WHERE status = 'pending'"
            " AND deliver_at <= ? ORDER BY deliver_at LIMIT ?) ORDER BY user_id LIMIT ?",
            (ts(now), limit * _DUE_ROWS_PER_USER, limit),
        )
        return [int(r[0]) for r in rows]

    async def due_for_user(self, user_id: int, now: datetime) -> list[Nudge]:
        rows = await self._all(
            f"SELECT {_NUDGE_COLS} FROM nudges WHERE user_id = ? AND status = 'pending'"
            " AND deliver_at <= ? ORDER BY due_at",
            (user_id, ts(now)),
        )
        return [_nudge(r) for r in rows]

    async def in_flight(self) -> dict[str, list[Nudge]]:
        """Digests marked as sending when the process stopped, by digest id."""
        rows = await self._all(f"SELECT {_NUDGE_COLS} FROM nudges WHERE status = 'sending' ORDER BY digest, due_at")
        out: dict[str, list[Nudge]] = {}
        for r in rows:
            n = _nudge(r)
            out.setdefault(n.digest or "", []).append(n)
        return out

    async def mark_sending(self, ids: Sequence[int], digest: str) -> None:
        async with self.transaction():
            await self._db.executemany(
                "UPDATE nudges SET status = 'sending', digest = ? WHERE id = ?",
                [(digest, i) for i in ids],
            )

    async def mark_sent(self, ids: Sequence[int], now: datetime, digest: str) -> None:
        """Record a delivered digest. A row re-planned while it was in flight (back to
        pending, digest cleared) is left alone: it is a new nudge, still owed."""
        async with self.transaction():
            await self._db.executemany(
                "UPDATE nudges SET status = 'sent', sent_at = ? WHERE id = ? AND status = 'sending' AND digest = ?",
                [(ts(now), i, digest) for i in ids],
            )

    async def mark_skipped(self, ids: Sequence[int], now: datetime) -> None:
        async with self.transaction():
            await self._db.executemany(
                "UPDATE nudges SET status = 'skipped', sent_at = ? WHERE id = ? AND status = 'pending'",
                [(ts(now), i) for i in ids],
            )

    async def mark_retry(self, ids: Sequence[int], digest: str, error: str, retry_at: datetime | None) -> None:
        """A failed digest: retry at ``retry_at``, or give up (``None``). Rows re-planned
        while in flight are left alone."""
        guard = " WHERE id = ? AND status = 'sending' AND digest = ?"
        async with self.transaction():
            if retry_at is None:
                await self._db.executemany(
                    "UPDATE nudges SET status = 'failed', attempts = attempts + 1, last_error = ?" + guard,
                    [(error, i, digest) for i in ids],
                )
            else:
                await self._db.executemany(
                    "UPDATE nudges SET status = 'pending', attempts = attempts + 1, last_error = ?,"
                    " deliver_at = ?, digest = NULL" + guard,
                    [(error, ts(retry_at), i, digest) for i in ids],
                )

    async def mark_acted(self, nudge_id: int) -> None:
        """The user pressed done, snooze or stop on this nudge: it cannot be used again."""
        await self._db.execute("UPDATE nudges SET status = 'acted' WHERE id = ?", (nudge_id,))

    async def mark_acted_once(self, user_id: int, nudge_id: int) -> bool:
        """As mark_acted, once only: False if the nudge is not the user's or was already acted on or cancelled."""
        cur = await self._db.execute(
            "UPDATE nudges SET status = 'acted' WHERE id = ? AND user_id = ? AND status NOT IN ('acted', 'cancelled')",
            (nudge_id, user_id),
        )
        return cur.rowcount == 1

    async def has_newer_open(self, nudge: Nudge) -> bool:
        row = await self._one(
            "SELECT 1 FROM nudges WHERE user_id = ? AND kind = ? AND ref = ? AND id > ?"
            " AND status IN ('pending', 'sending')",
            (nudge.user_id, nudge.kind, nudge.ref, nudge.id),
        )
        return row is not None

    async def retire_nudges(self, user_id: int, kind: str, ref: str) -> None:
        """Cancel every nudge about ``ref``, delivered ones too, so old buttons stop working."""
        await self._db.execute(
            "UPDATE nudges SET status = 'cancelled' WHERE user_id = ? AND kind = ? AND ref = ?",
            (user_id, kind, ref),
        )

    async def reschedule_user(self, user_id: int, new_times: Sequence[tuple[int, datetime]]) -> None:
        await self._db.executemany(
            "UPDATE nudges SET deliver_at = ? WHERE id = ? AND user_id = ? AND status = 'pending'",
            [(ts(t), i, user_id) for i, t in new_times],
        )

    async def nudge_counts(self) -> dict[str, int]:
        rows = await self._all("SELECT status, COUNT(*) FROM nudges GROUP BY status")
        return {r[0]: int(r[1]) for r in rows}

    # ------------------------------------------------------------ notices
    async def add_notice(self, user_id: int, message: str, now: datetime) -> None:
        await self._db.execute(
            "INSERT INTO notices (user_id, message, created_at) VALUES (?,?,?)", (user_id, message, ts(now))
        )

    async def take_notices(self, user_id: int) -> list[str]:
        rows = await self._all("SELECT id, message FROM notices WHERE user_id = ? ORDER BY id", (user_id,))
        if rows:
            await self._db.execute("DELETE FROM notices WHERE user_id = ?", (user_id,))
        return [r[1] for r in rows]

    # ------------------------------------------------------------ DM channels
    async def dm_channel(self, ref: UserRef) -> str | None:
        """The remembered DM channel for a platform account, if any."""
        row = await self._one(
            "SELECT d.channel FROM dm_channels d JOIN users u ON u.id = d.user_id"
            " WHERE u.platform = ? AND u.account = ?",
            (ref.platform, ref.account),
        )
        return str(row[0]) if row else None

    async def set_dm_channel(self, ref: UserRef, channel: str, now: datetime) -> None:
        user_id = await self.ensure_user(ref, now)
        await self._db.execute(
            "INSERT INTO dm_channels (user_id, channel) VALUES (?, ?)"
            " ON CONFLICT(user_id) DO UPDATE SET channel = excluded.channel",
            (user_id, channel),
        )

    async def forget_dm_channel(self, ref: UserRef) -> None:
        await self._db.execute(
            "DELETE FROM dm_channels WHERE user_id IN (SELECT id FROM users WHERE platform = ? AND account = ?)",
            (ref.platform, ref.account),
        )

    # ------------------------------------------------------------ communities
    async def set_accountability_channel(self, platform: str, community: str, channel: str | None) -> None:
        await self._db.execute(
            "INSERT INTO communities (platform, community_id, accountability_channel) VALUES (?,?,?)"
            " ON CONFLICT(platform, community_id) DO UPDATE SET"
            " accountability_channel = excluded.accountability_channel",
            (platform, community, channel),
        )

    async def accountability_channel(self, platform: str, community: str) -> str | None:
        row = await self._one(
            "SELECT accountability_channel FROM communities WHERE platform = ? AND community_id = ?",
            (platform, community),
        )
        return row[0] if row else None


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
