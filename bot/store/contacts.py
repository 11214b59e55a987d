"""Contacts and their interaction history: the personal tracker."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from bot.core.models import Contact, Interaction
from bot.store.base import Feature, like_escape, name_key
from bot.store.driver import Row, as_date, as_dt

CONTACT_COLS = (
    "id, user_id, number, name, role, specialty, institution, email, how_met, met_on, notes, tags, "
    "state, last_contact_on, next_followup_on, followup_situation, followup_script, created_at"
)


def _contact(row: Row) -> Contact:
    return Contact(
        id=int(row[0]),
        user_id=int(row[1]),
        number=row[2],
        name=row[3],
        role=row[4],
        specialty=row[5],
        institution=row[6],
        email=row[7],
        how_met=row[8],
        met_on=as_date(row[9]),
        notes=row[10],
        tags=tuple(t for t in row[11].split(",") if t),
        state=row[12],
        last_contact_on=as_date(row[13]),
        next_followup_on=as_date(row[14]),
        followup_situation=row[15],
        followup_script=row[16],
        created_at=as_dt(row[17]),
    )


def _editable(c: Contact) -> tuple[object, ...]:
    """The values of the columns from ``name`` to ``followup_script``, in table order."""
    return (
        c.name,
        name_key(c.name),
        c.role,
        c.specialty,
        c.institution,
        c.email,
        c.how_met,
        c.met_on,
        c.notes,
        ",".join(c.tags),
        c.state,
        c.last_contact_on,
        c.next_followup_on,
        c.followup_situation,
        c.followup_script,
    )


class ContactSQL(Feature):
    async def count_contacts(self, user_id: int) -> int:
        row = await self.db.one("SELECT COUNT(*) FROM contacts WHERE user_id = ?", (user_id,))
        return int(row[0]) if row else 0

    async def add_contact(self, c: Contact, now: datetime) -> Contact:
        """Store a new contact under the user's next number (never reused, race-free)."""
        async with self.db.transaction() as tx:
            seq = await tx.one(
                "UPDATE users SET contact_seq = contact_seq + 1 WHERE id = ? RETURNING contact_seq", (c.user_id,)
            )
            if seq is None:
                raise LookupError(f"no user {c.user_id}")
            row = await tx.one(
                "INSERT INTO contacts (user_id, number, name, name_key, role, specialty, institution, email,"
                " how_met, met_on, notes, tags, state, last_contact_on, next_followup_on,"
                " followup_situation, followup_script, created_at)"
                f" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING {CONTACT_COLS}",
                (c.user_id, int(seq[0]), *_editable(c), now),
            )
        assert row is not None
        return _contact(row)

    async def update_contact(self, c: Contact) -> None:
        await self.db.execute(
            "UPDATE contacts SET name=?, name_key=?, role=?, specialty=?, institution=?, email=?,"
            " how_met=?, met_on=?, notes=?, tags=?, state=?, last_contact_on=?, next_followup_on=?,"
            " followup_situation=?, followup_script=? WHERE id = ? AND user_id = ?",
            (*_editable(c), c.id, c.user_id),
        )

    async def delete_contact(self, user_id: int, contact_id: int) -> None:
        await self.db.execute("DELETE FROM contacts WHERE id = ? AND user_id = ?", (contact_id, user_id))

    async def get_contact(self, user_id: int, contact_id: int) -> Contact | None:
        row = await self.db.one(
            f"SELECT {CONTACT_COLS} FROM contacts WHERE id = ? AND user_id = ?", (contact_id, user_id)
        )
        return _contact(row) if row else None

    async def contacts_by_ids(self, contact_ids: Sequence[int]) -> dict[int, Contact]:
        """Several contacts by id in one query (of any users: check ``user_id`` before use)."""
        if not contact_ids:
            return {}
        cond, args = self.in_list(tuple(contact_ids))
        rows = await self.db.all(f"SELECT {CONTACT_COLS} FROM contacts WHERE id {cond}", args)
        return {c.id: c for c in map(_contact, rows)}

    async def contact_by_number(self, user_id: int, number: int) -> Contact | None:
        row = await self.db.one(
            f"SELECT {CONTACT_COLS} FROM contacts WHERE user_id = ? AND number = ?", (user_id, number)
        )
        return _contact(row) if row else None

    async def find_contacts(self, user_id: int, text: str, limit: int = 25, *, exact: bool = False) -> list[Contact]:
        """Exact name first, then (unless ``exact``) names containing every word typed."""
        key = name_key(text)
        if not key:
            return []
        same = await self.db.all(
            f"SELECT {CONTACT_COLS} FROM contacts WHERE user_id = ? AND name_key = ? ORDER BY number LIMIT ?",
            (user_id, key, limit),
        )
        if same or exact:
            return [_contact(r) for r in same]
        words = key.split()
        where = " AND ".join("(' ' || name_key) LIKE ? ESCAPE '\\'" for _ in words)
        args = [user_id, *[f"% {like_escape(w)}%" for w in words], limit]
        rows = await self.db.all(
            f"SELECT {CONTACT_COLS} FROM contacts WHERE user_id = ? AND {where} ORDER BY number LIMIT ?",
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
            args.append(f"%,{like_escape(tag)},%")
        if due_by:
            where.append("next_followup_on IS NOT NULL AND next_followup_on <= ? AND state = 'active'")
            args.append(due_by)
            order = "next_followup_on, number"
        cond = " AND ".join(where)
        # the page and the total in one statement (the count is not correlated: both databases
        # compute it once); only a page past the end needs the count on its own
        rows = await self.db.all(
            f"SELECT {CONTACT_COLS}, (SELECT COUNT(*) FROM contacts WHERE {cond}) FROM contacts"
            f" WHERE {cond} ORDER BY {order} LIMIT ? OFFSET ?",
            [*args, *args, limit, offset],
        )
        if rows:
            total = int(rows[0][-1])
        elif offset:
            total_row = await self.db.one(f"SELECT COUNT(*) FROM contacts WHERE {cond}", args)
            total = int(total_row[0]) if total_row else 0
        else:
            total = 0
        return [_contact(r) for r in rows], total

    async def all_contacts(self, user_id: int) -> list[Contact]:
        rows = await self.db.all(f"SELECT {CONTACT_COLS} FROM contacts WHERE user_id = ? ORDER BY number", (user_id,))
        return [_contact(r) for r in rows]

    async def contact_names(self, user_id: int, prefix: str, limit: int = 25) -> list[Contact]:
        key = name_key(prefix)
        rows = await self.db.all(
            f"SELECT {CONTACT_COLS} FROM contacts WHERE user_id = ? AND (' ' || name_key) LIKE ?"
            " ESCAPE '\\' ORDER BY name_key LIMIT ?",
            (user_id, f"% {like_escape(key)}%", limit),
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
        await self.db.execute(
            "INSERT INTO interactions (user_id, contact_id, kind, occurred_on, note, created_at, imported)"
            " VALUES (?,?,?,?,?,?,?)",
            (user_id, contact_id, kind, on, note, now, int(imported)),
        )

    async def move_auto_met(self, contact_id: int, old: date, new: date) -> None:
        """Keep the 'met' logged by /contact add on the contact's met_on date."""
        await self.db.execute(
            "UPDATE interactions SET occurred_on = ? WHERE id = (SELECT MIN(id) FROM interactions"
            " WHERE contact_id = ?) AND kind = 'met' AND occurred_on = ? AND note IS NULL",
            (new, contact_id, old),
        )

    async def interactions(self, contact_id: int) -> list[tuple[str, date, str | None]]:
        rows = await self.db.all(
            "SELECT kind, occurred_on, note FROM interactions WHERE contact_id = ? ORDER BY occurred_on, id",
            (contact_id,),
        )
        return [(r[0], as_date(r[1]), r[2]) for r in rows]  # type: ignore[misc]

    async def user_interactions(self, user_id: int) -> list[Interaction]:
        """Every interaction the user logged (or imported), with every contact, oldest first."""
        rows = await self.db.all(
            "SELECT contact_id, kind, occurred_on, note, imported, created_at FROM interactions"
            " WHERE user_id = ? ORDER BY contact_id, occurred_on, id",
            (user_id,),
        )
        return [
            Interaction(int(r[0]), r[1], as_date(r[2]), r[3], bool(r[4]), as_dt(r[5]))  # type: ignore[arg-type]
            for r in rows
        ]

    async def count_interactions(self, user_id: int, kinds: Sequence[str], start: date, end: date) -> int:
        cond, kind_args = self.in_list(tuple(kinds))
        row = await self.db.one(
            f"SELECT COUNT(*) FROM interactions WHERE user_id = ? AND kind {cond}"
            " AND occurred_on >= ? AND occurred_on < ? AND imported = 0",
            (user_id, *kind_args, start, end),
        )
        return int(row[0]) if row else 0

    async def count_followups(self, user_id: int, start: date, end: date) -> int:
        """Messages to a contact who already had an earlier interaction."""
        row = await self.db.one(
            "SELECT COUNT(*) FROM interactions i WHERE i.user_id = ? AND i.kind IN"
            " ('emailed', 'update-sent', 'thanked') AND i.occurred_on >= ? AND i.occurred_on < ? AND i.imported = 0"
            " AND EXISTS (SELECT 1 FROM interactions j WHERE j.contact_id = i.contact_id AND j.id < i.id)",
            (user_id, start, end),
        )
        return int(row[0]) if row else 0

    async def count_new_contacts(self, user_id: int, start: datetime, end: datetime) -> int:
        row = await self.db.one(
            "SELECT COUNT(*) FROM contacts WHERE user_id = ? AND created_at >= ? AND created_at < ? AND imported = 0",
            (user_id, start, end),
        )
        return int(row[0]) if row else 0

    async def mark_contact_imported(self, user_id: int, contact_id: int) -> None:
        """The contact came from a CSV import: it does not count as a new contact toward goals."""
        await self.db.execute("UPDATE contacts SET imported = 1 WHERE id = ? AND user_id = ?", (contact_id, user_id))
