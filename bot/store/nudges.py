"""What the bot owes each user, and the leases under which instances deliver it.

A due row is claimed with a status-guarded UPDATE that sets ``status='sending'``, an owner,
a lease expiry and a digest id (the claim's token plus the user id, which is also the
message nonce). Every later step is guarded by the digest id, so a row re-planned while in
flight, or taken over by a peer, is never marked by a sender that no longer holds it.
On PostgreSQL the claim locks the users it takes ``FOR UPDATE SKIP LOCKED``: two instances
claiming at once take different users, and one user's due rows go out as one digest.

Lock order (PostgreSQL). A statement that changes several nudge rows locks them in id order
first (``id IN (SELECT id ... ORDER BY id FOR UPDATE)``), and a claim or take-over locks users
(never waiting: ``SKIP LOCKED``) before their rows. Any two of these statements then wait for
each other in one direction only, so they cannot deadlock; a deadlock with some other
transaction is retried by the driver.

The steps after a claim can also be guarded by the owner: a sender whose lease ran out, and
whose rows a peer took over, then changes nothing (``owner=``), and learns which of its sent
marks found their rows gone (:meth:`NudgeSQL.mark_sent_many` returns the digests it marked).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.models import Nudge
from bot.store.base import Feature
from bot.store.driver import Row, as_dt

NUDGE_COLS = "id, user_id, kind, ref, due_at, deliver_at, status, attempts, last_error, digest, sent_at"
# claims read at most this many due rows per user asked for (leftovers come in the next claim)
DUE_ROWS_PER_USER = 100


def _nudge(row: Row) -> Nudge:
    return Nudge(
        id=int(row[0]),
        user_id=int(row[1]),
        kind=row[2],
        ref=row[3],
        due_at=as_dt(row[4]),  # type: ignore[arg-type]
        deliver_at=as_dt(row[5]),  # type: ignore[arg-type]
        status=row[6],
        attempts=row[7],
        last_error=row[8],
        digest=row[9],
        sent_at=as_dt(row[10]),
    )


def _cols(alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in NUDGE_COLS.split(","))


def _owned(cond: str, args: Sequence[object], owner: str | None) -> tuple[str, list[object]]:
    """``cond`` and its arguments, also requiring the lease ``owner`` when one is given."""
    if owner is None:
        return cond, list(args)
    return f"{cond} AND lease_owner = ?", [*args, owner]


class NudgeSQL(Feature):
    def _id_order(self, cond: str, args: Sequence[object]) -> tuple[str, list[object]]:
        """``WHERE`` text and arguments for an UPDATE of the nudges matching ``cond``: on
        PostgreSQL the rows are locked in id order first (see the module's docstring)."""
        if self.dialect == "postgres":
            return f"id IN (SELECT id FROM nudges WHERE {cond} ORDER BY id FOR UPDATE) AND {cond}", [*args, *args]
        return cond, list(args)

    # ------------------------------------------------------------ planning
    async def put_nudge(self, user_id: int, kind: str, ref: str, due_at: datetime, deliver_at: datetime) -> None:
        """Create or move the one open nudge for (user, kind, ref)."""
        await self.db.execute(
            "INSERT INTO nudges (user_id, kind, ref, due_at, deliver_at) VALUES (?,?,?,?,?)"
            " ON CONFLICT(user_id, kind, ref) WHERE status IN ('pending', 'sending')"
            " DO UPDATE SET due_at = excluded.due_at, deliver_at = excluded.deliver_at,"
            " status = 'pending', attempts = 0, last_error = NULL, digest = NULL,"
            " lease_owner = NULL, lease_until = NULL",
            (user_id, kind, ref, due_at, deliver_at),
        )
        self.db.work_changed()

    async def cancel_nudges(self, user_id: int, kind: str, ref: str | None = None) -> None:
        if ref is None:
            where, args = self._id_order(
                "user_id = ? AND kind = ? AND status IN ('pending', 'sending')", (user_id, kind)
            )
        else:
            where, args = self._id_order(
                "user_id = ? AND kind = ? AND ref = ? AND status IN ('pending', 'sending')", (user_id, kind, ref)
            )
        await self.db.execute(f"UPDATE nudges SET status = 'cancelled' WHERE {where}", args)

    async def retire_nudges(self, user_id: int, kind: str, ref: str) -> None:
        """Cancel every nudge about ``ref``, delivered ones too, so old buttons stop working."""
        where, args = self._id_order("user_id = ? AND kind = ? AND ref = ?", (user_id, kind, ref))
        await self.db.execute(f"UPDATE nudges SET status = 'cancelled' WHERE {where}", args)

    async def reschedule_user(self, user_id: int, new_times: Sequence[tuple[int, datetime]]) -> None:
        await self.db.many(
            "UPDATE nudges SET deliver_at = ? WHERE id = ? AND user_id = ? AND status = 'pending'",
            [(t, i, user_id) for i, t in sorted(new_times, key=lambda r: r[0])],  # in id order
        )
        if new_times:
            self.db.work_changed()

    # ------------------------------------------------------------ reading
    async def open_nudges(self, user_id: int) -> list[Nudge]:
        rows = await self.db.all(
            f"SELECT {NUDGE_COLS} FROM nudges WHERE user_id = ? AND status IN ('pending', 'sending')"
            " ORDER BY deliver_at",
            (user_id,),
        )
        return [_nudge(r) for r in rows]

    async def user_nudges(self, user_id: int) -> list[Nudge]:
        """Every nudge of the user, whatever its status (owed, sent, cancelled...)."""
        rows = await self.db.all(f"SELECT {NUDGE_COLS} FROM nudges WHERE user_id = ? ORDER BY due_at, id", (user_id,))
        return [_nudge(r) for r in rows]

    async def get_nudge(self, nudge_id: int) -> Nudge | None:
        row = await self.db.one(f"SELECT {NUDGE_COLS} FROM nudges WHERE id = ?", (nudge_id,))
        return _nudge(row) if row else None

    async def has_newer_open(self, nudge: Nudge) -> bool:
        row = await self.db.one(
            "SELECT 1 FROM nudges WHERE user_id = ? AND kind = ? AND ref = ? AND id > ?"
            " AND status IN ('pending', 'sending')",
            (nudge.user_id, nudge.kind, nudge.ref, nudge.id),
        )
        return row is not None

    async def next_delivery(
        self, platforms: Sequence[str] | None = None, account: str | None = None
    ) -> datetime | None:
        """The earliest time a pending nudge (of a user on one of ``platforms``, or one account) may be sent."""
        return await self._earliest("deliver_at", "pending", platforms, account)

    async def next_lease_expiry(
        self, platforms: Sequence[str] | None = None, account: str | None = None
    ) -> datetime | None:
        """When the earliest claim in flight runs out (a peer's, if it dies, is ours to take then)."""
        return await self._earliest("lease_until", "sending", platforms, account)

    def _served(
        self, platforms: Sequence[str] | None, account: str | None, users: str = ""
    ) -> tuple[str, list[object]]:
        """``WHERE`` text and arguments for the users an instance serves: on ``platforms``, and
        only ``account`` when it serves one person (a console session). ``users``: the alias of
        the users table, with its dot (``"u."``)."""
        conds: list[str] = []
        args: list[object] = []
        if platforms is not None:
            plat, plat_args = self.in_list(tuple(platforms))
            conds.append(f"{users}platform {plat}")
            args += plat_args
        if account is not None:
            conds.append(f"{users}account = ?")
            args.append(account)
        return " AND ".join(conds), args

    async def _earliest(
        self, column: str, status: str, platforms: Sequence[str] | None, account: str | None
    ) -> datetime | None:
        assert status in ("pending", "sending")  # written into the SQL, so the partial time index applies
        if platforms is None and account is None:
            row = await self.db.one(f"SELECT MIN({column}) FROM nudges WHERE status = '{status}'")
        elif self.dialect == "sqlite":
            # walks the time index in order and stops at the first row of a served user; CROSS JOIN
            # fixes that order (SQLite's planner would otherwise read every owed row of each user)
            served, args = self._served(platforms, account, users="u.")
            row = await self.db.one(
                f"SELECT n.{column} FROM nudges n CROSS JOIN users u ON u.id = n.user_id"
                f" WHERE n.status = '{status}' AND {served} ORDER BY n.{column} LIMIT 1",
                args,
            )
        else:
            served, args = self._served(platforms, account)
            row = await self.db.one(
                f"SELECT {column} FROM nudges WHERE status = '{status}' AND user_id IN"
                f" (SELECT id FROM users WHERE {served}) ORDER BY {column} LIMIT 1",
                args,
            )
        return as_dt(row[0]) if row and row[0] is not None else None

    async def nudge_counts(self) -> dict[str, int]:
        rows = await self.db.all("SELECT status, COUNT(*) FROM nudges GROUP BY status")
        return {r[0]: int(r[1]) for r in rows}

    async def pending_count(self) -> int:
        row = await self.db.one("SELECT COUNT(*) FROM nudges WHERE status = 'pending'")
        return int(row[0]) if row else 0

    # ------------------------------------------------------------ acting on a nudge
    async def act_once(self, user_id: int, nudge_id: int) -> bool:
        """Use up the buttons of a delivered nudge. True for exactly one caller."""
        changed = await self.db.execute(
            "UPDATE nudges SET status = 'acted' WHERE id = ? AND user_id = ? AND status NOT IN ('acted', 'cancelled')",
            (nudge_id, user_id),
        )
        return changed == 1

    # ------------------------------------------------------------ leased delivery
    async def claim_due(
        self,
        owner: str,
        token: str,
        now: datetime,
        lease_until: datetime,
        users: int,
        platforms: Sequence[str],
        account: str | None = None,
    ) -> list[Nudge]:
        """Claim every due row of up to ``users`` users on ``platforms`` (only ``account``, if
        given), in one statement."""
        if not platforms:
            return []
        plat, plat_args = self.in_list(tuple(platforms))
        if account is not None:
            plat += " AND u.account = ?"
            plat_args = [*plat_args, account]
        rows_cap = users * DUE_ROWS_PER_USER
        if self.dialect == "postgres":
            sql = (
                "WITH cand AS (SELECT DISTINCT d.user_id FROM (SELECT n.user_id FROM nudges n"
                " JOIN users u ON u.id = n.user_id"
                f" WHERE n.status = 'pending' AND n.deliver_at <= ? AND u.platform {plat}"
                " ORDER BY n.deliver_at LIMIT ?) d),"
                # LIMIT after SKIP LOCKED: a peer claiming at the same moment takes the next users
                " locked AS (SELECT u.id FROM users u WHERE u.id IN (SELECT user_id FROM cand)"
                " LIMIT ? FOR UPDATE OF u SKIP LOCKED),"
                # their rows locked in id order, as every other statement on nudges locks them
                " due AS (SELECT r.id FROM nudges r WHERE r.user_id IN (SELECT id FROM locked)"
                " AND r.status = 'pending' AND r.deliver_at <= ? ORDER BY r.id FOR UPDATE OF r)"
                " UPDATE nudges n SET status = 'sending', lease_owner = ?, lease_until = ?,"
                " digest = ?::text || '-' || n.user_id::text"
                # (an id array, not a join: with stale statistics the planner may join the CTE row by row)
                " WHERE n.id = ANY(ARRAY(SELECT id FROM due)) AND n.status = 'pending' AND n.deliver_at <= ?"
                f" RETURNING {_cols('n')}"
            )
            args: list[object] = [now, *plat_args, rows_cap, users, now, owner, lease_until, token, now]
        else:
            sql = (
                "UPDATE nudges SET status = 'sending', lease_owner = ?, lease_until = ?,"
                " digest = ? || '-' || user_id WHERE status = 'pending' AND deliver_at <= ? AND user_id IN"
                # CROSS JOIN: SQLite walks the due-time index first, not every row of each served user
                " (SELECT DISTINCT user_id FROM (SELECT n.user_id FROM nudges n CROSS JOIN users u ON u.id = n.user_id"
                f" WHERE n.status = 'pending' AND n.deliver_at <= ? AND u.platform {plat}"
                f" ORDER BY n.deliver_at LIMIT ?) LIMIT ?) RETURNING {NUDGE_COLS}"
            )
            args = [owner, lease_until, token, now, now, *plat_args, rows_cap, users]
        rows = await self.db.transact(lambda tx: tx.all(sql, args))
        return sorted((_nudge(r) for r in rows), key=lambda n: (n.user_id, n.due_at, n.id))

    async def take_over(
        self,
        owner: str,
        now: datetime,
        lease_until: datetime,
        digests: int,
        platforms: Sequence[str],
        *,
        own: bool = False,
        account: str | None = None,
    ) -> list[Nudge]:
        """Claim digests whose lease has expired (a dead peer's work), keeping their digest ids:
        at most ``digests`` of them per call (on PostgreSQL, the digests of at most that many
        users), each whole, so a dead instance's large claim is taken over batch by batch.

        ``own`` also takes this instance's own unexpired claims: at start, they are left from
        its previous life, and nobody else is sending them. ``account`` limits it to one user."""
        if not platforms:
            return []
        sql, args = self.take_over_statement(owner, now, lease_until, digests, platforms, own=own, account=account)
        rows = await self.db.transact(lambda tx: tx.all(sql, args))
        return sorted((_nudge(r) for r in rows), key=lambda n: (n.digest or "", n.due_at, n.id))

    def take_over_statement(
        self,
        owner: str,
        now: datetime,
        lease_until: datetime,
        digests: int,
        platforms: Sequence[str],
        *,
        own: bool = False,
        account: str | None = None,
    ) -> tuple[str, list[object]]:
        """The statement :meth:`take_over` runs, with its arguments (benchmarks EXPLAIN it)."""
        expired = "(lease_until < ? OR lease_owner = ?)" if own else "lease_until < ?"
        exp_args: list[object] = [now, owner] if own else [now]
        if self.dialect == "postgres":
            # Lock the users, as a claim does, not the rows: two peers taking over at once then
            # take different users, so a digest is never split between them (row locks with SKIP
            # LOCKED let each take part of one). The earliest expiries come first, read off the
            # lease index, and at most ``digests`` users' rows are taken per call.
            served, served_args = self._served(platforms, account, users="u.")
            n_expired = "(n.lease_until < ? OR n.lease_owner = ?)" if own else "n.lease_until < ?"
            r_expired = n_expired.replace("n.", "r.")
            sql = (
                "WITH cand AS (SELECT DISTINCT d.user_id FROM (SELECT n.user_id FROM nudges n"
                f" JOIN users u ON u.id = n.user_id WHERE n.status = 'sending' AND {n_expired} AND {served}"
                " ORDER BY n.lease_until LIMIT ?) d),"
                " locked AS (SELECT u.id FROM users u WHERE u.id IN (SELECT user_id FROM cand)"
                " LIMIT ? FOR UPDATE OF u SKIP LOCKED),"
                # their rows locked in id order, as a sent mark or a lease renewal locks them
                " expired AS (SELECT r.id FROM nudges r WHERE r.user_id IN (SELECT id FROM locked)"
                f" AND r.status = 'sending' AND {r_expired} ORDER BY r.id FOR UPDATE OF r)"
                " UPDATE nudges n SET lease_owner = ?, lease_until = ?"
                # an id array, not a join: statistics from before anything was 'sending' made the
                # planner join the CTE row by row (4 s for 2,500 rows in bench/takeover_query.py)
                f" WHERE n.id = ANY(ARRAY(SELECT id FROM expired)) AND n.status = 'sending' AND {n_expired}"
                f" RETURNING {_cols('n')}"
            )
            rows_cap = digests * DUE_ROWS_PER_USER
            args = [*exp_args, *served_args, rows_cap, digests, *exp_args, owner, lease_until, *exp_args]
        else:  # one writer at a time: nobody can take part of a digest meanwhile
            served, served_args = self._served(platforms, account)
            sql = (
                f"UPDATE nudges SET lease_owner = ?, lease_until = ? WHERE status = 'sending' AND {expired}"
                f" AND digest IN (SELECT DISTINCT digest FROM nudges WHERE status = 'sending' AND {expired}"
                # "+user_id": SQLite's planner must not read every row of each served user by index
                f" AND +user_id IN (SELECT id FROM users WHERE {served}) LIMIT ?) RETURNING {NUDGE_COLS}"
            )
            args = [owner, lease_until, *exp_args, *exp_args, *served_args, digests]
        return sql, args

    async def renew_leases(self, owner: str, lease_until: datetime) -> int:
        if self.dialect == "postgres":
            # in id order, as mark_sent_many locks them (a batched mark runs while leases are renewed)
            return await self.db.execute(
                "UPDATE nudges SET lease_until = ? WHERE id IN (SELECT id FROM nudges WHERE status = 'sending'"
                " AND lease_owner = ? ORDER BY id FOR UPDATE) AND status = 'sending' AND lease_owner = ?",
                (lease_until, owner, owner),
            )
        return await self.db.execute(
            "UPDATE nudges SET lease_until = ? WHERE status = 'sending' AND lease_owner = ?", (lease_until, owner)
        )

    async def release(
        self, digest: str, deliver_at: datetime, ids: Sequence[int] | None = None, *, owner: str | None = None
    ) -> None:
        """Hand claimed rows back, unsent, to be delivered at ``deliver_at`` (quiet hours, a pause, a
        drain); with ``owner``, only while that instance still holds them."""
        sql = (
            "UPDATE nudges SET status = 'pending', deliver_at = ?, digest = NULL, lease_owner = NULL,"
            " lease_until = NULL WHERE "
        )
        if ids is None:
            where, args = self._id_order(*_owned("digest = ? AND status = 'sending'", (digest,), owner))
            await self.db.execute(sql + where, [deliver_at, *args])
        else:
            where, args = _owned("digest = ? AND status = 'sending' AND id = ?", (), owner)
            tail = [owner] if owner is not None else []
            await self.db.many(sql + where, [(deliver_at, digest, i, *tail) for i in sorted(ids)])
        self.db.work_changed()

    async def release_owner(self, owner: str) -> int:
        """At shutdown: every claim this instance still holds goes back to pending, due now."""
        where, args = self._id_order("status = 'sending' AND lease_owner = ?", (owner,))
        changed = await self.db.execute(
            "UPDATE nudges SET status = 'pending', digest = NULL, lease_owner = NULL, lease_until = NULL"
            f" WHERE {where}",
            args,
        )
        if changed:
            self.db.work_changed()
        return changed

    async def mark_sent(self, digest: str, now: datetime, *, owner: str | None = None) -> None:
        """Record a delivered digest. A row re-planned while in flight (back to pending, digest
        cleared) is left alone: it is a new nudge, still owed. With ``owner``, so is a row a peer
        took over after this instance's lease ran out (the peer sends it under the same digest id)."""
        where, args = self._id_order(*_owned("digest = ? AND status = 'sending'", (digest,), owner))
        await self.db.execute(
            f"UPDATE nudges SET status = 'sent', sent_at = ?, lease_owner = NULL, lease_until = NULL WHERE {where}",
            [now, *args],
        )

    async def mark_sent_many(self, sent: Sequence[tuple[str, datetime]], *, owner: str | None = None) -> set[str]:
        """Record several delivered digests (digest id, time sent) in one statement, each row
        guarded as in :meth:`mark_sent`. Returns the digests that were marked: one missing had
        no row left to mark (re-planned meanwhile or, with ``owner``, taken over by a peer)."""
        if not sent:
            return set()
        digests = [d for d, _ in sent]
        guard, guard_args = ("AND n.lease_owner = ?", [owner]) if owner is not None else ("", [])
        if self.dialect == "postgres":
            # rows locked in id order, as renew_leases, take_over and claim_due lock them
            rows = await self.db.all(
                "UPDATE nudges n SET status = 'sent', sent_at = v.t, lease_owner = NULL, lease_until = NULL"
                " FROM unnest(?::text[], ?::timestamptz[]) AS v(d, t) WHERE n.digest = v.d AND n.status = 'sending'"
                f" {guard} AND n.id IN (SELECT id FROM nudges n WHERE digest = ANY(?) AND status = 'sending' {guard}"
                " ORDER BY id FOR UPDATE) RETURNING n.digest",
                (digests, [t for _, t in sent], *guard_args, digests, *guard_args),
            )
        else:
            values = ", ".join("(?, ?)" for _ in sent)
            args: list[object] = [x for d, t in sent for x in (d, t)]
            sql = (
                "UPDATE nudges AS n SET status = 'sent', sent_at = v.column2, lease_owner = NULL, lease_until = NULL"
                f" FROM (VALUES {values}) AS v WHERE n.digest = v.column1 AND n.status = 'sending' {guard}"
                " RETURNING digest"  # (SQLite's RETURNING names the table's columns bare)
            )
            rows = await self.db.transact(lambda tx: tx.all(sql, [*args, *guard_args]))
        return {r[0] for r in rows}

    async def mark_skipped(self, digest: str, ids: Sequence[int], now: datetime, *, owner: str | None = None) -> None:
        where, _ = _owned("id = ? AND digest = ? AND status = 'sending'", (), owner)
        tail = [owner] if owner is not None else []
        await self.db.many(
            f"UPDATE nudges SET status = 'skipped', sent_at = ?, lease_owner = NULL, lease_until = NULL WHERE {where}",
            [(now, i, digest, *tail) for i in sorted(ids)],
        )

    async def mark_retry(self, digest: str, error: str, retry_at: datetime | None, *, owner: str | None = None) -> None:
        """A failed digest: pending again at ``retry_at``, or failed for good (``None``)."""
        where, args = self._id_order(*_owned("digest = ? AND status = 'sending'", (digest,), owner))
        if retry_at is None:
            await self.db.execute(
                "UPDATE nudges SET status = 'failed', attempts = attempts + 1, last_error = ?,"
                f" lease_owner = NULL, lease_until = NULL WHERE {where}",
                [error, *args],
            )
            return
        await self.db.execute(
            "UPDATE nudges SET status = 'pending', attempts = attempts + 1, last_error = ?, deliver_at = ?,"
            f" digest = NULL, lease_owner = NULL, lease_until = NULL WHERE {where}",
            [error, retry_at, *args],
        )
        self.db.work_changed()
