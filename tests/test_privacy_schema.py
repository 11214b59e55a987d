"""The privacy registry against the schema: every table that holds a person's rows is known to
/privacy delete and /privacy export, read from the database itself (sqlite_master, pg_catalog),
so a table a later migration adds (circles, conferences, installations...) cannot slip past."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

from bot.core.clock import ManualClock
from bot.core.hints import format_hints
from bot.core.privacy import KIND_LABELS, export_user
from bot.store.schema import tables, user_references
from bot.store.users import ALSO_NAMED, NOT_PERSONAL, USER_TABLES
from tests.helpers import START
from tests.test_privacy import _app, _two_users, add_notices

# Columns of a user's rows that /privacy export leaves out on purpose, and why. Everything else of
# theirs must be in the file. (Numbers are not checked: ids, counters and flags are everywhere.)
NOT_EXPORTED = {
    ("contacts", "name_key"): "the name folded for matching; the name itself is exported",
    ("nudges", "digest"): "the delivery id a send used as its nonce",
    ("nudges", "lease_owner"): "which bot instance holds a claim",
    ("nudges", "lease_until"): "when that claim expires",
    ("profiles", "updated_at"): "when the profile last changed",
}
# names that suggest a person, for columns outside the user-keyed tables
PERSONISH = re.compile(r"(?:^|_)(?:user|account|member|person|owner|author|installer|email|name)s?(?:_|$)", re.I)


async def test_every_table_that_references_a_user_is_in_the_privacy_registry(db_url: str) -> None:
    app = await _app(db_url, ManualClock(START))
    db = app.store.db  # type: ignore[attr-defined]
    refs = await user_references(db)
    registered = {table for _, table in USER_TABLES}
    assert set(refs) - {"users"} == registered, (
        f"tables referencing users: {sorted(refs)}; registered in bot.store.users.USER_TABLES: {sorted(registered)}."
        " Add a new user-keyed table there (and to the export), so /privacy delete and export cover it"
    )
    # USER_TABLES deletes by user_id, and by the second column ALSO_NAMED gives (a block, a mentor)
    expected = {t: sorted(["user_id", *([ALSO_NAMED[t]] if t in ALSO_NAMED else [])]) for t in refs}
    assert {t: sorted(cols) for t, cols in refs.items()} == expected, refs
    assert {kind for kind, _ in USER_TABLES} <= set(KIND_LABELS), "each kind needs words in /privacy delete"

    # a column elsewhere whose name suggests a person must be classified, not overlooked
    overlooked = [
        f"{table}.{col}"
        for table, cols in (await tables(db)).items()
        if table not in refs and table != "users"
        for col in cols
        if PERSONISH.search(col) and (table, col) not in NOT_PERSONAL
    ]
    assert not overlooked, (
        f"{overlooked} look like personal data in tables /privacy does not cover: reference users(id) through"
        " user_id and register the table in USER_TABLES, or say in NOT_PERSONAL why it is not personal"
    )


def _shown(value: object) -> list[str]:
    """How a stored value reads in the export file (a stored timestamp is ISO there; tags are a list)."""
    if isinstance(value, datetime):
        return [value.isoformat()[:19]]
    if isinstance(value, date):
        return [value.isoformat()]
    if not isinstance(value, str) or len(value) < 2:
        return []
    if re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", value):
        return [value.replace(" ", "T")]
    return [p for p in value.split(",") if p] if "," in value and " " not in value else [format_hints(value)]


async def test_the_export_holds_every_stored_value_of_every_user_keyed_table(db_url: str, tmp_path: Path) -> None:
    app = await _app(db_url, ManualClock(START))
    _a, b, uid_a, uid_b = await _two_users(app)
    await b.say("/profile set status:permanent-resident")  # a column the export once forgot
    await add_notices(app, uid_b)  # (that command took B's pending notice)
    db = app.store.db  # type: ignore[attr-defined]
    schema = await tables(db)
    refs = await user_references(db)
    for uid in (uid_a, uid_b):
        export = await export_user(app.store, uid, app.clock.now())
        text = json.dumps(json.loads(export.to_json()), ensure_ascii=False)
        missing = []
        for table in ["users", *refs]:
            column = "id" if table == "users" else "user_id"
            rows = await db.all(f"SELECT * FROM {table} WHERE {column} = ?", (uid,))
            assert rows or table in ("users", "profiles", "dm_channels"), f"the test user has no {table} rows"
            for row in rows:
                for col, value in zip(schema[table], row, strict=True):
                    if (table, col) in NOT_EXPORTED:
                        continue
                    missing += [f"{table}.{col}={v!r}" for v in _shown(value) if json.dumps(v)[1:-1] not in text]
        assert not missing, f"stored but not in /privacy export: {missing}"

        # and the export's own count of each kind is the store's
        held = await app.store.user_data_counts(uid)
        assert export.counts() == {**held, "account": 1}


async def test_delete_removes_the_rows_of_every_table_the_schema_says_reference_the_user(db_url: str) -> None:
    app = await _app(db_url, ManualClock(START))
    a, _b, uid_a, uid_b = await _two_users(app)
    db = app.store.db  # type: ignore[attr-defined]
    refs = await user_references(db)

    async def rows(uid: int) -> dict[str, int]:
        out = {}
        for table, cols in {"users": ["id"], **refs}.items():
            where = " OR ".join(f"{c} = ?" for c in cols)  # any column naming them (a block, a mentor)
            out[table] = (await db.one(f"SELECT COUNT(*) FROM {table} WHERE {where}", (uid,) * len(cols)))[0]
        return out

    assert all((await rows(uid_a)).values())
    assert "Deleted everything" in await a.say("/privacy delete confirm:yes")
    assert not any((await rows(uid_a)).values()), await rows(uid_a)
    assert all((await rows(uid_b)).values())
