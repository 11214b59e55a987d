"""The schema as the database itself reports it: tables, columns, and which ones point at a user.

Used to check that the privacy registry (:data:`bot.store.users.USER_TABLES`) covers every table
that holds a person's rows, so a table added by a later migration cannot be forgotten by
``/privacy export`` or ``/privacy delete``.
"""

from __future__ import annotations

from bot.store.driver import Driver


async def tables(db: Driver) -> dict[str, list[str]]:
    """Every table of the database (bar SQLite's own) and its columns, in column order."""
    if db.dialect == "sqlite":
        names = [
            str(r[0])
            for r in await db.all(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {n: [str(c[1]) for c in await db.all(f'PRAGMA table_info("{n}")')] for n in names}
    out: dict[str, list[str]] = {}
    for table, column in await db.all(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " ORDER BY table_name, ordinal_position"
    ):
        out.setdefault(str(table), []).append(str(column))
    return out


async def user_references(db: Driver) -> dict[str, list[str]]:
    """Tables with a column that holds a user's id: a foreign key to ``users(id)``, or a column
    named ``user_id`` (a reference the schema did not declare is still a reference)."""
    found: dict[str, set[str]] = {}
    schema = await tables(db)
    for table, columns in schema.items():
        if "user_id" in columns:
            found.setdefault(table, set()).add("user_id")
    if db.dialect == "sqlite":
        for table in schema:
            for fk in await db.all(f'PRAGMA foreign_key_list("{table}")'):
                # (id, seq, table, from, to, on_update, on_delete, match); "to" is NULL for the primary key
                if str(fk[2]) == "users" and fk[4] in (None, "id"):
                    found.setdefault(table, set()).add(str(fk[3]))
    else:
        for table, column in await db.all(
            "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)"
            " WHERE c.contype = 'f' AND c.confrelid = 'users'::regclass"
        ):
            found.setdefault(str(table), set()).add(str(column))
    return {t: sorted(cols) for t, cols in sorted(found.items())}
