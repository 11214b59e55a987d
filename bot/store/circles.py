"""Circles: programs in community channels, their members, check-ins, rounds, mentors and owed posts.

Each post a program owes is one row, unique per (program, kind, period), so a post runs once
however many instances or restarts there are. Instances claim due rows with a status-guarded
UPDATE that sets an owner and a lease expiry (PostgreSQL: ``FOR UPDATE SKIP LOCKED``); every later
step is guarded by the owner, and a dead instance's claims are taken once their lease runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time

from bot.core.community.models import (
    Checkin,
    Counts,
    DigestRows,
    Group,
    Member,
    MentorMatch,
    MentorOfferRow,
    Place,
    Post,
    Program,
    Round,
    UserCircleData,
)
from bot.core.models import GoalTarget
from bot.store.base import Feature
from bot.store.driver import Row, as_dt

PROGRAM_COLS = (
    "id, platform, community_id, channel, post_day, post_time, close_day, timezone, pairing_weeks,"
    " affinity, paused, community_name, channel_name, created_at"
)
POST_COLS = "id, program_id, kind, period, due_at, expires_at, status, attempts, late"
MEMBER_COLS = (
    "m.id, m.program_id, m.user_id, m.visibility, m.reminders, m.missed_rounds, m.paused, m.skip_period,"
    " m.joined_at, u.display_name, u.platform, u.account, p.specialty, p.track, COALESCE(p.timezone, 'UTC')"
)
MEMBER_FROM = "circle_members m JOIN users u ON u.id = m.user_id LEFT JOIN profiles p ON p.user_id = m.user_id"


def _program(r: Row) -> Program:
    hh, mm = str(r[5]).split(":")
    return Program(
        id=int(r[0]),
        place=Place(r[1], r[2], r[3]),
        post_day=int(r[4]),
        post_time=time(int(hh), int(mm)),
        close_day=int(r[6]),
        timezone=r[7],
        pairing_weeks=int(r[8]),
        affinity=r[9],
        paused=bool(r[10]),
        community_name=r[11],
        channel_name=r[12],
        created_at=as_dt(r[13]),
    )


def _member(r: Row) -> Member:
    return Member(
        id=int(r[0]),
        program_id=int(r[1]),
        user_id=int(r[2]),
        visibility=r[3],
        reminders=bool(r[4]),
        missed_rounds=int(r[5]),
        paused=bool(r[6]),
        skip_period=r[7],
        joined_at=as_dt(r[8]),
        display_name=r[9],
        platform=r[10],
        account=r[11],
        specialty=r[12],
        track=r[13],
        timezone=r[14],
    )


def _post(r: Row) -> Post:
    return Post(
        id=int(r[0]),
        program_id=int(r[1]),
        kind=r[2],
        period=r[3],
        due_at=as_dt(r[4]),  # type: ignore[arg-type]
        expires_at=as_dt(r[5]),  # type: ignore[arg-type]
        status=r[6],
        attempts=int(r[7]),
        late=bool(r[8]),
    )


def _checkin(r: Row) -> Checkin:
    return Checkin(
        program_id=int(r[0]),
        user_id=int(r[1]),
        week=r[2],
        counts=Counts(int(r[3]), int(r[4]), int(r[5]), int(r[6])),
        win=r[7],
        blocker=r[8],
        goal=r[9],
        created_at=as_dt(r[10]),
    )


CHECKIN_COLS = "program_id, user_id, week, emails, contacts, followups, conversations, win, blocker, goal, created_at"


def _match(r: Row) -> MentorMatch:
    return MentorMatch(int(r[0]), int(r[1]), int(r[2]), int(r[3]), as_dt(r[4]), as_dt(r[5]))  # type: ignore[arg-type]


class CircleSQL(Feature):
    # ------------------------------------------------------------ communities and programs
    async def set_community_timezone(self, platform: str, community: str, timezone: str) -> None:
        await self.db.execute(
            "INSERT INTO communities (platform, community_id, timezone) VALUES (?,?,?)"
            " ON CONFLICT(platform, community_id) DO UPDATE SET timezone = excluded.timezone",
            (platform, community, timezone),
        )

    async def community_timezone(self, platform: str, community: str) -> str | None:
        row = await self.db.one(
            "SELECT timezone FROM communities WHERE platform = ? AND community_id = ?", (platform, community)
        )
        return str(row[0]) if row else None

    async def save_program(self, program: Program, now: datetime) -> Program:
        """Create the program of a channel, or change its schedule (one upsert)."""
        p = program
        row = await self.db.one(
            "INSERT INTO circle_programs (platform, community_id, channel, post_day, post_time, close_day, timezone,"
            " pairing_weeks, affinity, paused, community_name, channel_name, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(platform, community_id, channel) DO UPDATE SET post_day = excluded.post_day,"
            " post_time = excluded.post_time, close_day = excluded.close_day, timezone = excluded.timezone,"
            " pairing_weeks = excluded.pairing_weeks, affinity = excluded.affinity,"
            " community_name = excluded.community_name, channel_name = excluded.channel_name"
            f" RETURNING {PROGRAM_COLS}",
            (
                p.place.platform,
                p.place.community,
                p.place.channel,
                p.post_day,
                p.post_time.strftime("%H:%M"),
                p.close_day,
                p.timezone,
                p.pairing_weeks,
                p.affinity,
                p.paused,
                p.community_name,
                p.channel_name,
                now,
            ),
        )
        assert row is not None
        self.db.work_changed()
        return _program(row)

    async def program_at(self, place: Place) -> Program | None:
        row = await self.db.one(
            f"SELECT {PROGRAM_COLS} FROM circle_programs WHERE platform = ? AND community_id = ? AND channel = ?",
            (place.platform, place.community, place.channel),
        )
        return _program(row) if row else None

    async def get_program(self, program_id: int) -> Program | None:
        row = await self.db.one(f"SELECT {PROGRAM_COLS} FROM circle_programs WHERE id = ?", (program_id,))
        return _program(row) if row else None

    async def active_programs(self, platforms: Sequence[str], community: str | None = None) -> list[Program]:
        if not platforms:
            return []
        plat, args = self.in_list(tuple(platforms))
        sql = f"SELECT {PROGRAM_COLS} FROM circle_programs WHERE paused = 0 AND platform {plat}"
        if community is not None:
            sql += " AND community_id = ?"
            args.append(community)
        return [_program(r) for r in await self.db.all(sql + " ORDER BY id", args)]

    async def set_program_paused(self, program_id: int, paused: bool) -> None:
        await self.db.execute("UPDATE circle_programs SET paused = ? WHERE id = ?", (paused, program_id))
        if not paused:
            self.db.work_changed()

    # ------------------------------------------------------------ members
    async def join_program(
        self, program_id: int, user_id: int, visibility: str, reminders: bool, now: datetime
    ) -> Member:
        await self.db.execute(
            "INSERT INTO circle_members (program_id, user_id, visibility, reminders, joined_at) VALUES (?,?,?,?,?)"
            " ON CONFLICT(program_id, user_id) DO UPDATE SET visibility = excluded.visibility,"
            " reminders = excluded.reminders, paused = 0, missed_rounds = 0",
            (program_id, user_id, visibility, reminders, now),
        )
        member = await self.get_member(program_id, user_id)
        assert member is not None
        return member

    async def get_member(self, program_id: int, user_id: int) -> Member | None:
        row = await self.db.one(
            f"SELECT {MEMBER_COLS} FROM {MEMBER_FROM} WHERE m.program_id = ? AND m.user_id = ?", (program_id, user_id)
        )
        return _member(row) if row else None

    async def members(self, program_id: int) -> list[Member]:
        rows = await self.db.all(
            f"SELECT {MEMBER_COLS} FROM {MEMBER_FROM} WHERE m.program_id = ? ORDER BY m.id", (program_id,)
        )
        return [_member(r) for r in rows]

    async def update_member(self, member: Member) -> None:
        await self.db.execute(
            "UPDATE circle_members SET visibility = ?, reminders = ?, missed_rounds = ?, paused = ?, skip_period = ?"
            " WHERE id = ?",
            (member.visibility, member.reminders, member.missed_rounds, member.paused, member.skip_period, member.id),
        )

    async def leave_program(self, program_id: int, user_id: int) -> int:
        """Remove a member and everything of theirs in the program, in one transaction."""
        async with self.db.transaction() as tx:
            for table in ("circle_checkins", "circle_blocks", "mentor_offers", "mentor_requests"):
                await tx.execute(f"DELETE FROM {table} WHERE program_id = ? AND user_id = ?", (program_id, user_id))
            await tx.execute(
                "DELETE FROM circle_blocks WHERE program_id = ? AND blocked_user_id = ?", (program_id, user_id)
            )
            await tx.execute(
                "DELETE FROM mentor_matches WHERE program_id = ? AND (user_id = ? OR mentor_user_id = ?)",
                (program_id, user_id, user_id),
            )
            return await tx.execute(
                "DELETE FROM circle_members WHERE program_id = ? AND user_id = ?", (program_id, user_id)
            )

    async def user_memberships(self, user_id: int) -> list[Member]:
        rows = await self.db.all(
            f"SELECT {MEMBER_COLS} FROM {MEMBER_FROM} WHERE m.user_id = ? ORDER BY m.id", (user_id,)
        )
        return [_member(r) for r in rows]

    # ------------------------------------------------------------ check-ins
    async def save_checkin(self, checkin: Checkin, now: datetime) -> bool:
        """Record a member's week; a second check-in for the same week replaces the first. True if new."""
        c = checkin
        async with self.db.transaction() as tx:
            existed = await tx.one(
                "SELECT 1 FROM circle_checkins WHERE program_id = ? AND user_id = ? AND week = ?",
                (c.program_id, c.user_id, c.week),
            )
            await tx.execute(
                f"INSERT INTO circle_checkins ({CHECKIN_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(program_id, user_id, week) DO UPDATE SET emails = excluded.emails,"
                " contacts = excluded.contacts, followups = excluded.followups,"
                " conversations = excluded.conversations, win = excluded.win, blocker = excluded.blocker,"
                " goal = excluded.goal, created_at = excluded.created_at",
                (
                    c.program_id,
                    c.user_id,
                    c.week,
                    c.counts.emails,
                    c.counts.contacts,
                    c.counts.followups,
                    c.counts.conversations,
                    c.win,
                    c.blocker,
                    c.goal,
                    now,
                ),
            )
        return existed is None

    async def checkins_for(self, program_id: int, weeks: Sequence[str]) -> list[Checkin]:
        if not weeks:
            return []
        cond, args = self.in_list(tuple(weeks))
        rows = await self.db.all(
            f"SELECT {CHECKIN_COLS} FROM circle_checkins WHERE program_id = ? AND week {cond} ORDER BY week, user_id",
            [program_id, *args],
        )
        return [_checkin(r) for r in rows]

    async def digest_rows(self, program_id: int, weeks: Sequence[str], week: str) -> DigestRows:
        """A digest's reads, lean (tuples, sums in SQL), counting members' check-ins only."""
        if not weeks:
            return DigestRows([], [], {})
        cond, args = self.in_list(tuple(weeks))
        mine = (
            "FROM circle_checkins c JOIN circle_members m ON m.program_id = c.program_id AND m.user_id = c.user_id"
            f" WHERE c.program_id = ? AND c.week {cond}"
        )
        current = await self.db.all(
            "SELECT c.user_id, c.emails, c.contacts, c.followups, c.conversations, c.win"
            " FROM circle_checkins c JOIN circle_members m ON m.program_id = c.program_id AND m.user_id = c.user_id"
            " WHERE c.program_id = ? AND c.week = ?",
            (program_id, week),
        )
        presence = await self.db.all(f"SELECT c.user_id, c.week {mine}", [program_id, *args])
        totals = await self.db.all(
            "SELECT c.week, SUM(c.emails), SUM(c.contacts), SUM(c.followups), SUM(c.conversations), COUNT(*)"
            f" {mine} GROUP BY c.week",
            [program_id, *args],
        )
        return DigestRows(
            current=[(int(r[0]), Counts(int(r[1]), int(r[2]), int(r[3]), int(r[4])), r[5]) for r in current],
            presence=[(int(r[0]), str(r[1])) for r in presence],
            totals={str(r[0]): (Counts(int(r[1]), int(r[2]), int(r[3]), int(r[4])), int(r[5])) for r in totals},
        )

    async def user_checkins(self, user_id: int) -> list[Checkin]:
        rows = await self.db.all(
            f"SELECT {CHECKIN_COLS} FROM circle_checkins WHERE user_id = ? ORDER BY program_id, week", (user_id,)
        )
        return [_checkin(r) for r in rows]

    # ------------------------------------------------------------ owed posts
    async def add_post(self, program_id: int, kind: str, period: str, due_at: datetime, expires_at: datetime) -> bool:
        """Owe a post once: a (program, kind, period) already owed, sent or skipped is left alone."""
        changed = await self.db.execute(
            "INSERT INTO circle_posts (program_id, kind, period, due_at, expires_at) VALUES (?,?,?,?,?)"
            " ON CONFLICT(program_id, kind, period) DO NOTHING",
            (program_id, kind, period, due_at, expires_at),
        )
        if changed:
            self.db.work_changed()
        return changed == 1

    async def posts_of(self, program_id: int) -> list[Post]:
        rows = await self.db.all(
            f"SELECT {POST_COLS} FROM circle_posts WHERE program_id = ? ORDER BY due_at, id", (program_id,)
        )
        return [_post(r) for r in rows]

    def _program_filter(self, platforms: Sequence[str], community: str | None) -> tuple[str, list[object]]:
        plat, args = self.in_list(tuple(platforms))
        sql = f"program_id IN (SELECT id FROM circle_programs WHERE paused = 0 AND platform {plat}"
        if community is not None:
            sql += " AND community_id = ?"
            args.append(community)
        return sql + ")", args

    async def next_post_due(self, platforms: Sequence[str], community: str | None = None) -> datetime | None:
        if not platforms:
            return None
        served, args = self._program_filter(platforms, community)
        row = await self.db.one(
            f"SELECT due_at FROM circle_posts WHERE status = 'pending' AND {served} ORDER BY due_at LIMIT 1", args
        )
        return as_dt(row[0]) if row else None

    async def next_post_lease(self, platforms: Sequence[str], community: str | None = None) -> datetime | None:
        if not platforms:
            return None
        served, args = self._program_filter(platforms, community)
        row = await self.db.one(
            f"SELECT lease_until FROM circle_posts WHERE status = 'sending' AND {served} ORDER BY lease_until LIMIT 1",
            args,
        )
        return as_dt(row[0]) if row else None

    async def claim_posts(
        self,
        owner: str,
        now: datetime,
        lease_until: datetime,
        limit: int,
        platforms: Sequence[str],
        community: str | None = None,
    ) -> list[Post]:
        """Claim due posts, and posts whose lease ran out (a dead instance's), in one guarded statement."""
        if not platforms:
            return []
        served, args = self._program_filter(platforms, community)
        lock = " FOR UPDATE SKIP LOCKED" if self.dialect == "postgres" else ""
        ready = "((status = 'pending' AND due_at <= ?) OR (status = 'sending' AND lease_until < ?))"
        sql = (
            "UPDATE circle_posts SET status = 'sending', lease_owner = ?, lease_until = ?"
            f" WHERE id IN (SELECT id FROM circle_posts WHERE {ready} AND {served}"
            f" ORDER BY due_at LIMIT ?{lock}) AND {ready} RETURNING {POST_COLS}"
        )
        async with self.db.transaction() as tx:
            rows = await tx.all(sql, [owner, lease_until, now, now, *args, limit, now, now])
        return sorted((_post(r) for r in rows), key=lambda p: (p.due_at, p.id))

    async def finish_post(self, post_id: int, owner: str, status: str, now: datetime, *, late: bool) -> bool:
        """Record a claimed post as sent or skipped; False if this instance no longer holds it."""
        changed = await self.db.execute(
            "UPDATE circle_posts SET status = ?, sent_at = ?, late = ?, lease_owner = NULL, lease_until = NULL"
            " WHERE id = ? AND lease_owner = ? AND status = 'sending'",
            (status, now, late, post_id, owner),
        )
        return changed == 1

    async def retry_post(self, post_id: int, owner: str, error: str, retry_at: datetime | None) -> None:
        if retry_at is None:
            await self.db.execute(
                "UPDATE circle_posts SET status = 'failed', attempts = attempts + 1, last_error = ?,"
                " lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ? AND status = 'sending'",
                (error, post_id, owner),
            )
            return
        await self.db.execute(
            "UPDATE circle_posts SET status = 'pending', attempts = attempts + 1, last_error = ?, due_at = ?,"
            " lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ? AND status = 'sending'",
            (error, retry_at, post_id, owner),
        )
        self.db.work_changed()

    async def defer_post(self, post_id: int, owner: str, due_at: datetime) -> bool:
        """Hand a claimed post back, due again at ``due_at`` (not a failed attempt: someone's quiet
        hours); False if this instance no longer holds it."""
        changed = await self.db.execute(
            "UPDATE circle_posts SET status = 'pending', due_at = ?, lease_owner = NULL, lease_until = NULL"
            " WHERE id = ? AND lease_owner = ? AND status = 'sending'",
            (due_at, post_id, owner),
        )
        if changed:
            self.db.work_changed()
        return changed == 1

    async def release_posts(self, owner: str) -> int:
        changed = await self.db.execute(
            "UPDATE circle_posts SET status = 'pending', lease_owner = NULL, lease_until = NULL"
            " WHERE status = 'sending' AND lease_owner = ?",
            (owner,),
        )
        if changed:
            self.db.work_changed()
        return changed

    # ------------------------------------------------------------ rounds
    async def create_round(
        self,
        program_id: int,
        period: str,
        starts_at: datetime,
        ends_at: datetime,
        groups: Sequence[Sequence[int]],
        now: datetime,
    ) -> Round | None:
        """Store a round and its groups at once; None if the program already has a round for ``period``."""
        async with self.db.transaction() as tx:
            row = await tx.one(
                "INSERT INTO circle_rounds (program_id, period, starts_at, ends_at, created_at) VALUES (?,?,?,?,?)"
                " ON CONFLICT(program_id, period) DO NOTHING RETURNING id",
                (program_id, period, starts_at, ends_at, now),
            )
            if row is None:
                return None
            round_id = int(row[0])
            for group in groups:
                g = await tx.one("INSERT INTO circle_groups (round_id) VALUES (?) RETURNING id", (round_id,))
                assert g is not None
                await tx.many(
                    "INSERT INTO circle_group_members (group_id, user_id) VALUES (?,?)",
                    [(int(g[0]), uid) for uid in group],
                )
        return await self.round_for(program_id, period)

    async def _groups(self, round_ids: Sequence[int]) -> dict[int, list[Group]]:
        if not round_ids:
            return {}
        cond, args = self.in_list(tuple(round_ids))
        rows = await self.db.all(
            "SELECT g.id, g.round_id, r.program_id, r.period, gm.user_id, gm.answer, r.starts_at, r.ends_at"
            " FROM circle_groups g JOIN circle_rounds r ON r.id = g.round_id"
            f" JOIN circle_group_members gm ON gm.group_id = g.id WHERE g.round_id {cond} ORDER BY g.id, gm.user_id",
            args,
        )
        by_group: dict[int, list[Row]] = {}
        for r in rows:
            by_group.setdefault(int(r[0]), []).append(r)
        out: dict[int, list[Group]] = {}
        for gid, members in by_group.items():
            first = members[0]
            out.setdefault(int(first[1]), []).append(
                Group(
                    id=gid,
                    round_id=int(first[1]),
                    program_id=int(first[2]),
                    period=first[3],
                    user_ids=tuple(int(m[4]) for m in members),
                    answers={int(m[4]): m[5] for m in members},
                    starts_at=as_dt(first[6]),  # type: ignore[arg-type]
                    ends_at=as_dt(first[7]),  # type: ignore[arg-type]
                )
            )
        return out

    def _round(self, r: Row, groups: dict[int, list[Group]]) -> Round:
        rid = int(r[0])
        return Round(rid, int(r[1]), r[2], as_dt(r[3]), as_dt(r[4]), tuple(groups.get(rid, [])))  # type: ignore[arg-type]

    async def round_for(self, program_id: int, period: str) -> Round | None:
        row = await self.db.one(
            "SELECT id, program_id, period, starts_at, ends_at FROM circle_rounds WHERE program_id = ? AND period = ?",
            (program_id, period),
        )
        if row is None:
            return None
        return self._round(row, await self._groups([int(row[0])]))

    async def recent_rounds(self, program_id: int, count: int) -> list[Round]:
        rows = await self.db.all(
            "SELECT id, program_id, period, starts_at, ends_at FROM circle_rounds WHERE program_id = ?"
            " ORDER BY starts_at DESC LIMIT ?",
            (program_id, count),
        )
        groups = await self._groups([int(r[0]) for r in rows])
        return [self._round(r, groups) for r in rows]

    async def get_group(self, group_id: int) -> Group | None:
        row = await self.db.one("SELECT round_id FROM circle_groups WHERE id = ?", (group_id,))
        if row is None:
            return None
        return next((g for g in (await self._groups([int(row[0])])).get(int(row[0]), []) if g.id == group_id), None)

    async def answer_meet(self, group_id: int, user_id: int, answer: str, now: datetime) -> bool:
        """Record a group member's "did you meet?" answer. True if it changed to ``answer``."""
        changed = await self.db.execute(
            "UPDATE circle_group_members SET answer = ?, answered_at = ? WHERE group_id = ? AND user_id = ?"
            " AND (answer IS NULL OR answer <> ?)",
            (answer, now, group_id, user_id, answer),
        )
        return changed == 1

    async def add_block(self, program_id: int, user_id: int, blocked_user_id: int) -> None:
        await self.db.execute(
            "INSERT INTO circle_blocks (program_id, user_id, blocked_user_id) VALUES (?,?,?) ON CONFLICT DO NOTHING",
            (program_id, user_id, blocked_user_id),
        )

    async def blocks(self, program_id: int) -> list[tuple[int, int]]:
        rows = await self.db.all(
            "SELECT user_id, blocked_user_id FROM circle_blocks WHERE program_id = ? ORDER BY 1, 2", (program_id,)
        )
        return [(int(r[0]), int(r[1])) for r in rows]

    # ------------------------------------------------------------ mentors
    async def save_mentor_offer(self, offer: MentorOfferRow, now: datetime) -> None:
        o = offer
        await self.db.execute(
            "INSERT INTO mentor_offers (program_id, user_id, stage, capacity, specialty, track, created_at)"
            " VALUES (?,?,?,?,?,?,?) ON CONFLICT(program_id, user_id) DO UPDATE SET stage = excluded.stage,"
            " capacity = excluded.capacity, specialty = excluded.specialty, track = excluded.track",
            (o.program_id, o.user_id, o.stage, o.capacity, o.specialty, o.track, now),
        )

    async def mentor_offers(self, program_id: int) -> list[MentorOfferRow]:
        rows = await self.db.all(
            "SELECT program_id, user_id, stage, capacity, specialty, track FROM mentor_offers WHERE program_id = ?"
            " ORDER BY user_id",
            (program_id,),
        )
        return [MentorOfferRow(int(r[0]), int(r[1]), r[2], int(r[3]), r[4], r[5]) for r in rows]

    async def remove_mentor_offer(self, program_id: int, user_id: int) -> int:
        return await self.db.execute(
            "DELETE FROM mentor_offers WHERE program_id = ? AND user_id = ?", (program_id, user_id)
        )

    async def add_mentor_request(self, program_id: int, user_id: int, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO mentor_requests (program_id, user_id, created_at) VALUES (?,?,?) ON CONFLICT DO NOTHING",
            (program_id, user_id, now),
        )

    async def mentor_requests(self, program_id: int) -> list[int]:
        rows = await self.db.all(
            "SELECT user_id FROM mentor_requests WHERE program_id = ? ORDER BY created_at, user_id", (program_id,)
        )
        return [int(r[0]) for r in rows]

    async def remove_mentor_request(self, program_id: int, user_id: int) -> int:
        return await self.db.execute(
            "DELETE FROM mentor_requests WHERE program_id = ? AND user_id = ?", (program_id, user_id)
        )

    async def add_mentor_match(self, program_id: int, mentee: int, mentor: int, now: datetime) -> MentorMatch | None:
        """Open a match; None if the mentee already has an open one (the partial unique index)."""
        row = await self.db.one(
            "INSERT INTO mentor_matches (program_id, user_id, mentor_user_id, started_at) VALUES (?,?,?,?)"
            " ON CONFLICT (program_id, user_id) WHERE ended_at IS NULL DO NOTHING"
            " RETURNING id, program_id, user_id, mentor_user_id, started_at, ended_at",
            (program_id, mentee, mentor, now),
        )
        return _match(row) if row else None

    async def end_mentor_match(self, match_id: int, now: datetime) -> bool:
        changed = await self.db.execute(
            "UPDATE mentor_matches SET ended_at = ? WHERE id = ? AND ended_at IS NULL", (now, match_id)
        )
        return changed == 1

    async def mentor_matches(self, program_id: int, *, open_only: bool = True) -> list[MentorMatch]:
        sql = (
            "SELECT id, program_id, user_id, mentor_user_id, started_at, ended_at FROM mentor_matches"
            " WHERE program_id = ?"
        )
        if open_only:
            sql += " AND ended_at IS NULL"
        return [_match(r) for r in await self.db.all(sql + " ORDER BY id", (program_id,))]

    async def goal_targets(self, user_ids: Sequence[int]) -> dict[int, list[GoalTarget]]:
        """Every goal of these users, in one query per thousand users."""
        out: dict[int, list[GoalTarget]] = {}
        ids = list(dict.fromkeys(user_ids))
        for i in range(0, len(ids), 1000):
            cond, args = self.in_list(tuple(ids[i : i + 1000]))
            for r in await self.db.all(
                f"SELECT user_id, metric, period, count FROM goals WHERE user_id {cond} ORDER BY user_id, metric", args
            ):
                out.setdefault(int(r[0]), []).append(GoalTarget(r[1], r[2], int(r[3])))
        return out

    async def contact_secrets(self, user_ids: Sequence[int]) -> dict[int, list[str]]:
        """The names and emails of these users' contacts (what a channel post must never show)."""
        out: dict[int, list[str]] = {}
        ids = list(dict.fromkeys(user_ids))
        for i in range(0, len(ids), 1000):
            cond, args = self.in_list(tuple(ids[i : i + 1000]))
            for r in await self.db.all(f"SELECT user_id, name, email FROM contacts WHERE user_id {cond}", args):
                out.setdefault(int(r[0]), []).extend(str(v) for v in (r[1], r[2]) if v)
        return out

    # ------------------------------------------------------------ privacy
    async def user_circle_data(self, user_id: int) -> UserCircleData:
        memberships = await self.user_memberships(user_id)
        programs: dict[int, Program] = {}
        for m in memberships:
            p = await self.get_program(m.program_id)
            if p is not None:
                programs[p.id] = p
        meetings = await self.db.all(
            "SELECT r.program_id, r.period, gm.answer FROM circle_group_members gm"
            " JOIN circle_groups g ON g.id = gm.group_id JOIN circle_rounds r ON r.id = g.round_id"
            " WHERE gm.user_id = ? ORDER BY r.starts_at",
            (user_id,),
        )
        blocks = await self.db.all(
            "SELECT b.program_id, COALESCE(u.display_name, u.account) FROM circle_blocks b"
            " JOIN users u ON u.id = b.blocked_user_id WHERE b.user_id = ? ORDER BY 1, 2",
            (user_id,),
        )
        offers = await self.db.all(
            "SELECT program_id, user_id, stage, capacity, specialty, track FROM mentor_offers WHERE user_id = ?",
            (user_id,),
        )
        requests = await self.db.all("SELECT program_id FROM mentor_requests WHERE user_id = ?", (user_id,))
        matches = await self.db.all(
            "SELECT id, program_id, user_id, mentor_user_id, started_at, ended_at FROM mentor_matches"
            " WHERE user_id = ? OR mentor_user_id = ? ORDER BY id",
            (user_id, user_id),
        )
        return UserCircleData(
            memberships=memberships,
            programs=programs,
            checkins=await self.user_checkins(user_id),
            meetings=[(int(r[0]), r[1], r[2]) for r in meetings],
            blocks=[(int(r[0]), str(r[1])) for r in blocks],
            mentor_offers=[MentorOfferRow(int(r[0]), int(r[1]), r[2], int(r[3]), r[4], r[5]) for r in offers],
            mentor_requests=[int(r[0]) for r in requests],
            mentor_matches=[_match(r) for r in matches],
        )
