"""``imgbot db migrate`` and ``imgbot db copy``: a community moves off SQLite and loses nothing.

The CLI runs as a real subprocess; the databases are real SQLite files and real PostgreSQL
databases (the ``pg_url`` / ``db_url`` fixtures)."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.core.clock import ManualClock
from bot.core.context import App
from bot.core.models import Installation, UserRef
from bot.core.nudges import NudgeEngine
from bot.runtime import build_app
from bot.settings import Settings
from bot.store import SQLStore, open_store
from bot.store.copy import CopyError, CountMismatch, copy_database
from bot.store.migrate import latest, migrations
from tests.conftest import PSYCH_PROFILE
from tests.helpers import OPEN_APPS, START, RecordingPort, Transcript, make_app

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cret-Pw"
DATA_TABLES = {
    "users",
    "profiles",
    "contacts",
    "interactions",
    "goals",
    "nudges",
    "notices",
    "communities",
    "dm_channels",
    "conference_plans",
    "slack_installations",  # Slack workspaces that installed the app (OAuth)
    "slack_requests",  # Slack requests already taken (re-sent ones change nothing)
    "slack_oauth_states",  # OAuth install states in flight
    "circle_programs",
    "circle_members",
    "circle_checkins",
    "circle_rounds",
    "circle_groups",
    "circle_group_members",
    "circle_blocks",
    "circle_posts",
    "mentor_offers",
    "mentor_requests",
    "mentor_matches",
}
ID_TABLES = (
    "users",
    "contacts",
    "interactions",
    "nudges",
    "notices",
    "conference_plans",
)  # PostgreSQL identity columns

# What a user builds up: a profile, contacts, logged interactions, goals (which schedule nudges).
SESSION = [
    PSYCH_PROFILE,
    '/contact add "Dr Maya Lee" role:attending specialty:psych how_met:conference met_on:2026-11-20 '
    "tags:mentor email:maya@example.org",
    '/contact log #1 emailed note:"sent CV"',
    "/profile set quiet_hours:22:00-07:00",
    "/nudges pause 2026-11-25",
    "/goal set emails 3 month",
    "/goal set new-contacts 2 week",
    '/conference plan "APA Annual Meeting" 2027-05-15 4',
]
CHECKS = ["/contact list", "/contact show #1", "/nudges list", "/goal progress", "/followups 30", "/conference list"]


def imgbot(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("IMGBOT_", "DISCORD_", "SLACK_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=full_env,
        cwd=ROOT,
    )


async def aimgbot(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(imgbot, args, env)


def with_password(url: str) -> tuple[str, str]:
    """The URL with a password in it (the test cluster trusts local connections, so any will do)."""
    parts = urlsplit(url)
    if parts.password:
        return url, parts.password
    netloc = f"{parts.username or 'postgres'}:{SECRET}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc)), SECRET


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def one_line(res: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in res.stderr, res.stderr
    assert res.stderr.count("\n") == 1, res.stderr
    return res.stderr.strip()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def close(app: App) -> None:
    await app.store.close()
    OPEN_APPS.remove(app)


async def open_app(url: str, clock: ManualClock) -> App:
    app = await build_app(Settings(database_url=url), clock)
    OPEN_APPS.append(app)
    return app


async def circle_rows(path: Path, clock: ManualClock) -> None:
    """A row in every circle table: a program with members, check-ins, a round answered, a block,
    mentor offers, an open request and a match (one ended), and the posts it owes."""
    from bot.frontends.console import console_origin

    app = await make_app(path, clock)

    def at(name: str, channel: str = "acc") -> Transcript:
        return Transcript(app, name, origin=console_origin("IMG EM", channel, True))

    for channel in ("acc", "two"):
        await at("root", channel).say("/circle setup pairing:every-2-weeks")
        for name in ("me", "ana", "bo"):
            await at(name, channel).say("/circle join show:wins")
    await at("me").say('/circle checkin win:"a reply" blocker:"time" goal:"two emails"')
    await at("ana").say("/circle block bo")
    await at("bo").say("/mentor offer resident 2")
    await at("me").say("/mentor request")
    await at("me").say("/mentor end")
    await at("ana").say("/mentor request")
    await at("me", "two").say("/mentor request")
    await at("root").say("/circle pair-now")
    assert "not yet" in await at("me").say("/circle met 1 not-yet")
    await close(app)


async def build_source(path: Path, clock: ManualClock) -> dict[str, str]:
    """A community's SQLite database made by the real app; returns what CHECKS show on it."""
    app = await make_app(path, clock)
    t = Transcript(app)
    for line in SESSION:
        out = await t.say(line)
        assert "no option" not in out and "not a" not in out, (line, out)
    seen = {cmd: await t.say(cmd) for cmd in CHECKS}
    assert "#1 Dr Maya Lee" in seen["/contact list"] and "sent CV" in seen["/contact show #1"]
    assert "follow-up with #1 Dr Maya Lee" in seen["/nudges list"] and "1/3" in seen["/goal progress"]
    await close(app)
    return seen


def table_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in sorted(DATA_TABLES)}
    finally:
        conn.close()


async def counts(url: str) -> dict[str, int]:
    store = await open_store(url)
    try:
        out = {}
        for t in sorted(DATA_TABLES):
            row = await store.db.one(f"SELECT COUNT(*) FROM {t}")
            out[t] = int(row[0]) if row else -1
        return out
    finally:
        await store.close()


# ------------------------------------------------------------------------------------ migrate


def test_migrate_applies_then_reports_current(db_url: str) -> None:
    url, password = with_password(db_url) if db_url.startswith("postgres") else (db_url, None)
    dialect = "postgres" if db_url.startswith("postgres") else "sqlite"
    n = latest(dialect)
    first = imgbot(["db", "migrate", "--url", url])
    assert first.returncode == 0, first.stderr
    span = f"migration {n}" if n == 1 else f"migrations 1-{n}"
    shown = url.replace(f":{password}@", ":***@") if password else url
    assert first.stdout == f"applied {span} to {shown} (schema {n})\n"
    again = imgbot(["db", "migrate"], env={"IMGBOT_DATABASE_URL": url})  # the setting, not --url
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"schema is current ({n}) at {shown}\n"
    if password:
        assert password not in first.stdout + first.stderr + again.stdout + again.stderr


async def test_migrate_refuses_a_newer_schema_in_one_line(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "bot.db")
    store = await open_store(url)
    await store.db.execute("INSERT INTO schema_version (version) VALUES (?)", (999,))
    await store.close()
    res = await aimgbot(["db", "migrate", "--url", url])
    assert res.returncode == 2
    assert "schema is version 999, newer than this release knows" in one_line(res)


def test_migrate_an_unreachable_or_bad_database_is_one_line_without_the_password() -> None:
    res = imgbot(["db", "migrate", "--url", f"postgresql://bot:{SECRET}@127.0.0.1:{closed_port()}/imgbot"])
    assert res.returncode == 2
    line = one_line(res)
    assert "cannot reach PostgreSQL at postgresql://bot:***@127.0.0.1" in line
    assert SECRET not in res.stdout + res.stderr
    res = imgbot(["db", "migrate", "--url", f"mysql://bot:{SECRET}@db/imgbot"])
    assert res.returncode == 2 and "IMGBOT_DATABASE_URL" in one_line(res)
    assert SECRET not in res.stdout + res.stderr


# ------------------------------------------------------------------------------------ copy


async def test_sqlite_to_postgres_copy_behaves_the_same(tmp_path: Path, pg_url: str) -> None:
    clock = ManualClock(START)
    old = tmp_path / "old.db"
    before = await build_source(old, clock)

    target, password = with_password(pg_url)
    res = await aimgbot(["db", "copy", "--from", sqlite_url(old), "--to", target])
    assert res.returncode == 0, res.stderr
    assert password not in res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == f"copying {sqlite_url(old)} -> {target.replace(password, '***')}"
    assert lines[1].split() == ["table", "source", "target"]
    table = {line.split()[0]: line.split()[1:] for line in lines[2:-1]}
    assert set(table) == DATA_TABLES
    assert table["users"] == ["1", "1"] and table["contacts"] == ["1", "1"]
    assert table["interactions"] == ["2", "2"]  # "met" and "emailed"
    assert table["goals"] == ["2", "2"] and int(table["nudges"][0]) >= 5
    total = sum(int(v[0]) for v in table.values())
    assert lines[-1] == f"copied {total} rows in {len(DATA_TABLES)} tables; all counts match"
    assert lines.index(next(line for line in lines if line.startswith("users"))) < lines.index(
        next(line for line in lines if line.startswith("contacts"))
    ), "parents are copied before children"

    # The same commands show the same things on the copy.
    app = await open_app(pg_url, clock)
    on_pg = Transcript(app)
    for cmd in CHECKS:
        assert await on_pg.say(cmd) == before[cmd], cmd

    # Nudges fall due and are delivered the same way, to the same user id (a nonce is token-userid).
    source = Transcript(await make_app(old, clock))
    clock.set(datetime(2026, 12, 3, 7, 0, tzinfo=UTC))
    sent_src, sent_pg = RecordingPort(), RecordingPort()
    for t, port in ((source, sent_src), (on_pg, sent_pg)):
        engine = NudgeEngine(t.app, {"console": port}, rate=1000)  # type: ignore[dict-item]
        await engine.recover()
        await engine.run_due()
    assert sent_pg.sent, "nudges were due on 3 Dec"
    delivered = [[(u, r.plain_text(), n.rsplit("-", 1)[1]) for u, r, n in p.sent] for p in (sent_src, sent_pg)]
    assert delivered[0] == delivered[1]
    assert "Dr Maya Lee" in delivered[1][0][1]
    assert await on_pg.say("/nudges list") == await source.say("/nudges list")

    # New rows on the copy: numbering continues (users.contact_seq) and ids follow the copied ones.
    assert isinstance(app.store, SQLStore)
    db = app.store.db
    copied_max = {tbl: (await db.one(f"SELECT COALESCE(MAX(id), 0) FROM {tbl}") or [0])[0] for tbl in ID_TABLES}
    out = await on_pg.say('/contact add "Dr Omar Said" role:resident how_met:linkedin')
    assert out.startswith("Added #2 Dr Omar Said"), out
    assert "Logged emailed with #2" in await on_pg.say("/contact log #2 emailed")
    assert "Logged replied with #1" in await on_pg.say("/contact log #1 replied")
    assert "#2 Dr Omar Said" in await on_pg.say("/contact list")
    assert "Planned #2: ACP" in await on_pg.say("/conference plan ACP 2027-06-01 2")  # users.conference_seq
    assert "Profile updated" in await Transcript(app, user="sara").say("/profile set timezone:UTC")
    await app.store.add_notice(1, "hello", clock.now())
    for tbl in ID_TABLES:
        row = await db.one(f"SELECT COUNT(*) FROM {tbl} WHERE id > ?", (copied_max[tbl],))
        assert row is not None and row[0] >= 1, tbl
    assert await db.all("SELECT id, account FROM users ORDER BY id") == [(1, "amal"), (2, "sara")]
    assert await db.all("SELECT id, number FROM contacts ORDER BY id") == [(1, 1), (2, 2)]
    await close(app)  # before pg_url drops the database under its pool
    await close(source.app)


async def test_every_value_survives_sqlite_to_postgres_to_sqlite(tmp_path: Path, pg_url: str) -> None:
    """Row for row, column for column, through small batches (keyset paging, composite keys)."""
    clock = ManualClock(START)
    old = tmp_path / "old.db"
    await build_source(old, clock)
    await circle_rows(old, clock)
    store = await open_store(sqlite_url(old))
    user = await store.ensure_user(UserRef("discord", "1234", "Sam"), START)
    await store.set_dm_channel(UserRef("discord", "1234", "Sam"), "dm-987", START)
    await store.set_accountability_channel("discord", "guild-1", "chan-2")
    await store.set_accountability_channel("discord", "guild-0", None)
    await store.add_notice(user, "your nudge could not be delivered", START)
    await store.add_notice(1, "another ✓ notice, with 'quotes'", START)
    await store.save_installation(
        Installation("E1", "T1", "xoxb-1", START, bot_user_id="UBOT", bot_scopes=("commands", "chat:write"))
    )
    await store.first_request("trigger:1", START)
    await store.issue_oauth_state("state-1", START)
    # a delivered nudge and one mid-delivery: every timestamp column holds a value somewhere
    await store.db.execute(
        "UPDATE nudges SET status = 'sent', sent_at = ?, digest = 'd1', attempts = 2, last_error = 'x' "
        "WHERE id = (SELECT MIN(id) FROM nudges)",
        (START,),
    )
    await store.db.execute(
        "UPDATE nudges SET status = 'sending', lease_owner = 'host-1', lease_until = ?, digest = 'd2' "
        "WHERE id = (SELECT MAX(id) FROM nudges)",
        (START,),
    )
    await store.close()
    before = table_rows(old)
    assert all(before[t] for t in DATA_TABLES), {t: len(v) for t, v in before.items()}

    there = await copy_database(sqlite_url(old), pg_url, batch=2)
    assert {c.table for c in there} == DATA_TABLES and all(c.matches for c in there)
    assert sum(c.source for c in there) == sum(len(v) for v in before.values())

    pg = await open_store(pg_url)
    try:
        created = await pg.db.one("SELECT created_at FROM users WHERE id = 1")
        assert created is not None and created[0] == START  # a real timestamptz, not text
        for tbl in ID_TABLES:
            row = await pg.db.one(f"SELECT nextval(pg_get_serial_sequence('{tbl}', 'id')), MAX(id) FROM {tbl}")
            assert row is not None and row[0] == row[1] + 1, tbl
    finally:
        await pg.close()

    back = tmp_path / "back.db"
    again = await copy_database(pg_url, sqlite_url(back), batch=3)
    assert [(c.table, c.source, c.target) for c in again] == [(c.table, c.source, c.target) for c in there]
    assert table_rows(back) == before


async def test_an_older_source_is_migrated_before_the_copy(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for m in migrations("sqlite")[:3]:
        conn.executescript(m.sql)
        conn.execute("INSERT INTO schema_version VALUES (?)", (m.number,))
    conn.execute(
        "INSERT INTO users (id, platform, account, created_at) VALUES (7, 'console', 'amal', ?)",
        (START.strftime("%Y-%m-%d %H:%M:%S"),),
    )
    conn.execute(
        "INSERT INTO contacts (id, user_id, number, name, name_key, role, how_met, created_at) "
        "VALUES (3, 7, 4, 'Dr Maya Lee', 'dr maya lee', 'attending', 'conference', '2026-11-23 10:00:00')"
    )
    conn.commit()
    conn.close()
    new = tmp_path / "new.db"
    result = await copy_database(sqlite_url(old), sqlite_url(new))
    assert {c.table: c.target for c in result}["contacts"] == 1
    rows = table_rows(new)
    # contact_seq from 0006, conference_seq from 0009
    assert rows["users"] == [(7, "console", "amal", None, "2026-11-23 10:00:00", 4, 0)]
    assert rows["contacts"][0][-1] == 0  # imported, added by 0006
    with sqlite3.connect(old) as c:
        assert c.execute("SELECT MAX(version) FROM schema_version").fetchone() == (latest("sqlite"),)


async def test_a_target_with_data_is_refused_unless_forced(tmp_path: Path, db_url: str) -> None:
    old = tmp_path / "old.db"
    await build_source(old, ManualClock(START))
    first = await aimgbot(["db", "copy", "--from", sqlite_url(old), "--to", db_url])
    assert first.returncode == 0, first.stderr
    copied = await counts(db_url)

    # someone used the target meanwhile
    store = await open_store(db_url)
    await store.ensure_user(UserRef("console", "stranger", "stranger"), START)
    await store.close()
    refused = await aimgbot(["db", "copy", "--from", sqlite_url(old), "--to", db_url])
    assert refused.returncode == 2
    line = one_line(refused)
    assert "already has data (users: 2, conference_plans: 1, contacts: 1," in line and "pass --force to replace" in line
    assert await counts(db_url) == {**copied, "users": copied["users"] + 1}  # untouched

    forced = await aimgbot(["db", "copy", "--from", sqlite_url(old), "--to", db_url, "--force"])
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.splitlines()[-1].endswith("all counts match")
    assert await counts(db_url) == copied  # replaced, not added to: the stranger is gone

    helptext = imgbot(["db", "copy", "--help"]).stdout
    assert "--force" in helptext and "delete" in helptext and "same transaction" in helptext


async def test_copying_a_database_onto_itself_is_refused(tmp_path: Path, db_url: str) -> None:
    if db_url.startswith("sqlite"):
        Path(tmp_path / "sub").mkdir()
        store = await open_store(db_url)
        await store.ensure_user(UserRef("console", "amal", "amal"), START)
        await store.close()
        os.symlink(tmp_path / "bot.db", tmp_path / "link.db")
        spellings = [db_url, sqlite_url(tmp_path / "sub" / ".." / "bot.db"), sqlite_url(tmp_path / "link.db")]
    else:
        store = await open_store(db_url)
        await store.ensure_user(UserRef("console", "amal", "amal"), START)
        await store.close()
        spellings = [db_url, with_password(db_url)[0]]
    before = await counts(db_url)
    for other in spellings:
        for force in ([], ["--force"]):
            res = await aimgbot(["db", "copy", "--from", db_url, "--to", other, *force])
            assert res.returncode == 2, (other, res.stdout)
            assert "the source and target are the same database" in one_line(res)
    assert await counts(db_url) == before


async def test_bad_urls_are_one_line_and_never_show_a_password(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    await build_source(old, ManualClock(START))
    bad = f"postgresql://bot:{SECRET}@127.0.0.1:{closed_port()}/imgbot"
    cases = [
        (["--from", sqlite_url(old), "--to", bad], "target: cannot reach PostgreSQL at postgresql://bot:***@"),
        (["--from", bad, "--to", sqlite_url(tmp_path / "new.db")], "source: cannot reach PostgreSQL at"),
        (["--from", f"mysql://bot:{SECRET}@db/x", "--to", sqlite_url(old)], "source: unsupported URL mysql://bot:***@"),
        (["--from", sqlite_url(old), "--to", f"mysql://bot:{SECRET}@db/x"], "target: unsupported URL"),
        (["--from", sqlite_url(tmp_path / "typo.db"), "--to", sqlite_url(tmp_path / "n.db")], "source: there is no"),
    ]
    for args, expected in cases:
        res = await aimgbot(["db", "copy", *args])
        assert res.returncode == 2, (args, res.stdout)
        assert expected in one_line(res), res.stderr
        assert SECRET not in res.stdout + res.stderr
    assert not (tmp_path / "typo.db").exists()  # a mistyped source is not created empty


async def test_a_count_mismatch_exits_1_and_leaves_the_target_unchanged(tmp_path: Path) -> None:
    """A target that silently drops rows (here a trigger) is caught by the counts and rolled back."""
    old = tmp_path / "old.db"
    await build_source(old, ManualClock(START))
    store = await open_store(sqlite_url(old))
    await store.add_notice(1, "kept", START)
    await store.close()
    new = tmp_path / "new.db"
    store = await open_store(sqlite_url(new))
    await store.db.execute("CREATE TRIGGER drop_notices BEFORE INSERT ON notices BEGIN SELECT RAISE(IGNORE); END")
    await store.close()

    res = await aimgbot(["db", "copy", "--from", sqlite_url(old), "--to", sqlite_url(new)])
    assert res.returncode == 1, res.stderr
    lines = res.stdout.splitlines()
    assert lines[-1] == "MISMATCH: row counts differ: notices (source 1, target 0); nothing was written to the target"
    assert next(line for line in lines if line.startswith("notices")).split() == ["notices", "1", "0", "<-", "differs"]
    assert "all counts match" not in res.stdout
    assert set((await counts(sqlite_url(new))).values()) == {0}

    with pytest.raises(CountMismatch) as err:
        await copy_database(sqlite_url(old), sqlite_url(new))
    assert [c.table for c in err.value.counts if not c.matches] == ["notices"]


async def test_a_row_the_target_refuses_is_one_line_and_nothing_is_written(tmp_path: Path, pg_url: str) -> None:
    """An orphan row (SQLite without foreign keys enforced) cannot reach PostgreSQL: say which table."""
    old = tmp_path / "old.db"
    await build_source(old, ManualClock(START))
    conn = sqlite3.connect(old)  # foreign_keys is off by default in a bare connection
    conn.execute("INSERT INTO notices (user_id, message, created_at) VALUES (999, 'orphan', '2026-11-23 10:00:00')")
    conn.commit()
    conn.close()
    with pytest.raises(CopyError) as err:
        await copy_database(sqlite_url(old), pg_url)
    assert str(err.value).startswith("copying notices failed, nothing was written: ")
    assert "foreign key" in str(err.value) and "\n" not in str(err.value)
    assert set((await counts(pg_url)).values()) == {0}
