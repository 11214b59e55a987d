"""What the bot owes each user, and the leases under which instances deliver it.

A due row is claimed with a status-guarded UPDATE that sets ``status='sending'``, an owner,
a lease expiry and a digest id (the claim's token plus the user id, which is also the
message nonce). Every later step is guarded by the digest id, so a row re-planned while in
flight, or taken over by a peer, is never marked by a sender that no longer holds it.
On PostgreSQL the claim locks the users it takes ``FOR UPDATE SKIP LOCKED``: two instances
claiming at once take different users, and one user's due rows go out as one digest.
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


class NudgeSQL(Feature):
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
            await self.db.execute(
                "UPDATE nudges SET status = 'cancelled' WHERE user_id = ? AND kind = ?"
                " AND status IN ('pending', 'sending')",
                (user_id, kind),
            )
        else:
            await self.db.execute(
                "UPDATE nudges SET status = 'cancelled' WHERE user_id = ? AND kind = ? AND ref = ?"
                " AND status IN ('pending', 'sending')",
                (user_id, kind, ref),
            )

    async def retire_nudges(self, user_id: int, kind: str, ref: str) -> None:
        """Cancel every nudge about ``ref``, delivered ones too, so old buttons stop working."""
        await self.db.execute(
            "UPDATE nudges SET status = 'cancelled' WHERE user_id = ? AND kind = ? AND ref = ?",
            (user_id, kind, ref),
        )

    async def reschedule_user(self, user_id: int, new_times: Sequence[tuple[int, datetime]]) -> None:
        await self.db.many(
            "UPDATE nudges SET deliver_at = ? WHERE id = ? AND user_id = ? AND status = 'pending'",
            [(t, i, user_id) for i, t in new_times],
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
                " LIMIT ? FOR UPDATE OF u SKIP LOCKED)"
                " UPDATE nudges n SET status = 'sending', lease_owner = ?, lease_until = ?,"
                " digest = ?::text || '-' || n.user_id::text FROM locked"
                " WHERE n.user_id = locked.id AND n.status = 'pending' AND n.deliver_at <= ?"
                f" RETURNING {_cols('n')}"
            )
            args: list[object] = [now, *plat_args, rows_cap, users, owner, lease_until, token, now]
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
        async with self.db.transaction() as tx:
            rows = await tx.all(sql, args)
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
        async with self.db.transaction() as tx:
            rows = await tx.all(sql, args)
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
            sql = (
                "WITH cand AS (SELECT DISTINCT d.user_id FROM (SELECT n.user_id FROM nudges n"
                f" JOIN users u ON u.id = n.user_id WHERE n.status = 'sending' AND {n_expired} AND {served}"
                " ORDER BY n.lease_until LIMIT ?) d),"
                " locked AS (SELECT u.id FROM users u WHERE u.id IN (SELECT user_id FROM cand)"
                " LIMIT ? FOR UPDATE OF u SKIP LOCKED)"
                " UPDATE nudges n SET lease_owner = ?, lease_until = ? FROM locked"
                f" WHERE n.user_id = locked.id AND n.status = 'sending' AND {n_expired} RETURNING {_cols('n')}"
            )
            rows_cap = digests * DUE_ROWS_PER_USER
            args = [*exp_args, *served_args, rows_cap, digests, owner, lease_until, *exp_args]
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

    async def release(self, digest: str, deliver_at: datetime, ids: Sequence[int] | None = None) -> None:
        """Hand claimed rows back, unsent, to be delivered at ``deliver_at`` (quiet hours, a pause, a drain)."""
        sql = (
            "UPDATE nudges SET status = 'pending', deliver_at = ?, digest = NULL, lease_owner = NULL,"
            " lease_until = NULL WHERE digest = ? AND status = 'sending'"
        )
        if ids is None:
            await self.db.execute(sql, (deliver_at, digest))
        else:
            await self.db.many(sql + " AND id = ?", [(deliver_at, digest, i) for i in ids])
        self.db.work_changed()

    async def release_owner(self, owner: str) -> int:
        """At shutdown: every claim this instance still holds goes back to pending, due now."""
        changed = await self.db.execute(
            "UPDATE nudges SET status = 'pending', digest = NULL, lease_owner = NULL, lease_until = NULL"
            " WHERE status = 'sending' AND lease_owner = ?",
            (owner,),
        )
        if changed:
            self.db.work_changed()
        return changed

    async def mark_sent(self, digest: str, now: datetime) -> None:
        """Record a delivered digest. A row re-planned while in flight (back to pending, digest
        cleared) is left alone: it is a new nudge, still owed."""
        await self.db.execute(
            "UPDATE nudges SET status = 'sent', sent_at = ?, lease_owner = NULL, lease_until = NULL"
            " WHERE digest = ? AND status = 'sending'",
            (now, digest),
        )

    async def mark_sent_many(self, sent: Sequence[tuple[str, datetime]]) -> None:
        """Record several delivered digests (digest id, time sent) in one statement, each row
        guarded as in :meth:`mark_sent`."""
        if not sent:
            return
        if self.dialect == "postgres":
            digests = [d for d, _ in sent]
            # rows locked in id order, as renew_leases locks them: the two never deadlock
            await self.db.execute(
                "UPDATE nudges n SET status = 'sent', sent_at = v.t, lease_owner = NULL, lease_until = NULL"
                " FROM unnest(?::text[], ?::timestamptz[]) AS v(d, t) WHERE n.digest = v.d AND n.status = 'sending'"
                " AND n.id IN (SELECT id FROM nudges WHERE digest = ANY(?) AND status = 'sending'"
                " ORDER BY id FOR UPDATE)",
                (digests, [t for _, t in sent], digests),
            )
            return
        await self.db.many(
            "UPDATE nudges SET status = 'sent', sent_at = ?, lease_owner = NULL, lease_until = NULL"
            " WHERE digest = ? AND status = 'sending'",
            [(t, d) for d, t in sent],
        )

    async def mark_skipped(self, digest: str, ids: Sequence[int], now: datetime) -> None:
        await self.db.many(
            "UPDATE nudges SET status = 'skipped', sent_at = ?, lease_owner = NULL, lease_until = NULL"
            " WHERE id = ? AND digest = ? AND status = 'sending'",
            [(now, i, digest) for i in ids],
        )

    async def mark_retry(self, digest: str, error: str, retry_at: datetime | None) -> None:
        """A failed digest: pending again at ``retry_at``, or failed for good (``None``)."""
        if retry_at is None:
            await self.db.execute(
                "UPDATE nudges SET status = 'failed', attempts = attempts + 1, last_error = ?,"
                " lease_owner = NULL, lease_until = NULL WHERE digest = ? AND status = 'sending'",
                (error, digest),
            )
            return
        await self.db.execute(
            "UPDATE nudges SET status = 'pending', attempts = attempts + 1, last_error = ?, deliver_at = ?,"
            " digest = NULL, lease_owner = NULL, lease_until = NULL WHERE digest = ? AND status = 'sending'",
            (error, retry_at, digest),
        )
        self.db.work_changed()
