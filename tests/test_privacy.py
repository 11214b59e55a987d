"""/privacy: what is kept and who sees it, an export of everything, and a delete that leaves nothing."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from bot.core.clock import ManualClock
from bot.core.context import App
from bot.core.models import UserRef
from bot.runtime import build_app
from bot.settings import Settings
from tests.helpers import OPEN_APPS, START, Transcript

A = "amal-7f3c"  # account names no other data contains, so a text scan can find every trace
B = "ben-91d2"
A_LINES = [
    '/profile set name:"Dr Amal Qutb" country:Egypt school:"Cairo University" specialty:psych track:non-us-img '
    'visa:j1 eras:2027-09 timezone:Africa/Cairo interests:"consult-liaison psychiatry"',
    '/contact add "Dr Rania Saleh" role:attending institution:"Mass General" email:rania@example.org '
    'how_met:conference met_on:today tags:mentor notes:"asked about CL research"',
    '/contact add "Dr Omar Fathy" role:program-director how_met:email',
    '/contact log #1 emailed today "sent my poster PDF"',
    "/goal set emails 4 month",
    '/conference plan "APA Annual Meeting" 2027-05-15 4',
]
A_MARKERS = (A, "Dr Amal Qutb", "Dr Rania Saleh", "rania@example.org", "asked about CL research", "sent my poster PDF")
B_LINES = [
    '/profile set name:"Dr Ben Okafor" specialty:im track:us-img timezone:America/Chicago',
    '/contact add "Dr Lena Park" role:fellow how_met:conference met_on:today notes:"ben private note"',
    "/goal set conversations 2 week",
    "/conference plan ACP 2027-04-15 3",
]
B_MARKERS = (B, "Dr Ben Okafor", "Dr Lena Park", "ben private note")


async def _app(url: str, clock: ManualClock) -> App:
    app = await build_app(Settings(database_url=url), clock)  # type: ignore[call-arg]
    OPEN_APPS.append(app)
    return app


async def _two_users(app: App) -> tuple[Transcript, Transcript, int, int]:
    a, b = Transcript(app, A), Transcript(app, B)
    for line in A_LINES:
        assert "not" not in (out := await a.say(line)).split("\n")[0], out
    for line in B_LINES:
        await b.say(line)
    now = app.clock.now()
    uid_a = await app.store.ensure_user(a.front.user, now)
    uid_b = await app.store.ensure_user(b.front.user, now)
    # kinds a console session cannot make: a remembered DM channel, a notice of a failed delivery
    # (the next command shows and takes a notice: add_notices again right before the one under test)
    for ref in (a.front.user, b.front.user):
        await app.store.set_dm_channel(UserRef("console", ref.account), f"channel-of-{ref.account}", now)
    await _circles(app)
    await add_notices(app, uid_a, uid_b)
    return a, b, uid_a, uid_b


async def _circles(app: App) -> None:
    """Both users in two circles with every kind of circle row: a membership, a check-in, a buddy
    round, a block, a mentor offer, an open request and a match (with a third member as mentor)."""
    from bot.frontends.console import console_origin

    def at(name: str, channel: str, admin: bool = False) -> Transcript:
        return Transcript(app, name, origin=console_origin("IMG Psych", channel, admin))

    for channel in ("accountability", "circle-two"):
        assert "Circle started" in await at("root", channel, admin=True).say("/circle setup")
        for name in (A, B, "cy"):
            assert "Welcome" in await at(name, channel).say("/circle join show:wins")
    for name in (A, B):
        one = at(name, "accountability")
        assert "logged" in await one.say(f'/circle checkin win:"{name} win"')
        assert "Done" in await one.say("/circle block cy")
        assert "Thanks" in await one.say("/mentor offer stage:resident capacity:0")
    assert "Thanks" in await at("cy", "accountability").say("/mentor offer stage:senior capacity:2")
    for name in (A, B):
        assert "Matched" in await at(name, "accountability").say("/mentor request")
        assert "Asked" in await at(name, "circle-two").say("/mentor request")
    assert "Round made" in await at("root", "circle-two", admin=True).say("/circle pair-now")


async def add_notices(app: App, *uids: int) -> None:
    for uid in uids:
        ref = await app.store.user_ref(uid)
        assert ref is not None
        await app.store.add_notice(uid, f"I could not send you 1 nudge ({ref.account} notice)", app.clock.now())


async def schema(app: App) -> dict[str, list[str]]:
    """Every table of the database and its columns, read from the database itself."""
    db = app.store.db  # type: ignore[attr-defined]
    if db.dialect == "sqlite":
        names = [
            r[0]
            for r in await db.all("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        ]
        return {n: [c[1] for c in await db.all(f"PRAGMA table_info({n})")] for n in names}
    out: dict[str, list[str]] = {}
    for table, column in await db.all(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " ORDER BY table_name, ordinal_position"
    ):
        out.setdefault(table, []).append(column)
    return out


async def rows_of(app: App, uid: int) -> dict[str, int]:
    """Rows per table that reference ``uid``: its users row, and every row with its user_id."""
    db = app.store.db  # type: ignore[attr-defined]
    found = {}
    for table, columns in (await schema(app)).items():
        if table == "users":
            found[table] = (await db.one("SELECT COUNT(*) FROM users WHERE id = ?", (uid,)))[0]
        elif "user_id" in columns:
            found[table] = (await db.one(f"SELECT COUNT(*) FROM {table} WHERE user_id = ?", (uid,)))[0]
    return found


async def text_of_every_row(app: App) -> str:
    db = app.store.db  # type: ignore[attr-defined]
    lines = []
    for table in await schema(app):
        lines += [f"{table}: " + " | ".join(map(str, row)) for row in await db.all(f"SELECT * FROM {table}")]
    return "\n".join(lines)


# ------------------------------------------------------------------ /privacy


async def test_privacy_alone_says_what_is_kept_where_and_who_sees_it(console: Transcript) -> None:
    out = await console.say("/privacy")
    assert out.startswith("Your data and this bot"), out
    for words in (
        "What is stored",
        "visa status",
        "contacts",
        "database",
        "Only you",
        "admins see nothing personal",
        "/review",
        "never stored",
        "Leaving a server or uninstalling the bot from a workspace does not delete your data",
        "/privacy delete",
        "/privacy export",
    ):
        assert words in out, words
    assert await console.say("/privacy about") == out


# ------------------------------------------------------------------ /privacy export


async def test_export_is_everything_held_about_the_user_and_nothing_of_anyone_else(
    tmp_path: Path, clock: ManualClock
) -> None:
    app = await _app(f"sqlite:///{tmp_path}/bot.db", clock)
    a, _b, uid_a, _ = await _two_users(app)
    held = await rows_of(app, uid_a)
    a.front.attachments_dir = tmp_path
    out = await a.say("/privacy export")
    assert "Everything the bot holds about you" in out and "saved:" in out, out
    (path,) = tmp_path.glob("imgbot-my-data-*.json")
    raw = path.read_text(encoding="utf-8")
    data = json.loads(raw)

    for marker in B_MARKERS:
        assert marker not in raw, marker
    for marker in A_MARKERS:
        assert marker in raw, marker
    assert data["format"] == "imgbot-user-export" and data["version"] == 1
    assert data["account"] == {
        "platform": "console",
        "account": A,
        "display_name": A,
        "created_at": START.isoformat(),
        "dm_channel": f"channel-of-{A}",
    }
    assert data["profile"]["name"] == "Dr Amal Qutb" and data["profile"]["visa"] == "j1"
    assert data["profile"]["quiet_start"] == "21:00"
    rania, omar = data["contacts"]
    assert rania["id"] == "#1" and rania["email"] == "rania@example.org" and rania["tags"] == ["mentor"]
    assert [(h["kind"], h["note"]) for h in rania["history"]] == [("met", None), ("emailed", "sent my poster PDF")]
    assert omar["name"] == "Dr Omar Fathy" and omar["history"] == []
    assert data["goals"] == [{"metric": "emails", "period": "month", "count": 4}]
    assert {n["kind"] for n in data["nudges"]} >= {"followup", "goal-summary"}
    assert all(n["contact"] in ("#1", "#2") for n in data["nudges"] if n["kind"] == "followup")
    assert [n["message"] for n in data["notices"]] == [f"I could not send you 1 nudge ({A} notice)"]

    # every timestamp is timezone-aware ISO
    stamps = [data["exported_at"], data["account"]["created_at"], rania["created_at"]]
    stamps += [h["logged_at"] for h in rania["history"]] + [n["due_at"] for n in data["nudges"]]
    stamps += [n["created_at"] for n in data["notices"]]
    assert all(datetime.fromisoformat(s).tzinfo is not None for s in stamps)

    # "everything": each table holding the user's rows is in the export, row for row
    exported = {
        "users": 1,
        "profiles": 1,
        "contacts": len(data["contacts"]),
        "interactions": sum(len(c["history"]) for c in data["contacts"]),
        "goals": len(data["goals"]),
        "conference_plans": len(data["conference_plans"]),
        "nudges": len(data["nudges"]),
        "notices": len(data["notices"]),
        "dm_channels": 1,
        "circle_members": sum(1 for c in data["circles"] if c["visibility"]),
        "circle_checkins": sum(len(c["checkins"]) for c in data["circles"]),
        "circle_group_members": sum(len(c["buddy_rounds"]) for c in data["circles"]),
        "circle_blocks": sum(len(c["blocked"]) for c in data["circles"]),
        "mentor_offers": sum(1 for c in data["circles"] if c["mentor_offer"]),
        "mentor_requests": sum(1 for c in data["circles"] if c["mentor_request"]),
        "mentor_matches": sum(len(c["mentor_matches"]) for c in data["circles"]),
    }
    circle = data["circles"][0]
    assert (circle["community"], circle["channel"], circle["visibility"]) == ("IMG Psych", "accountability", "wins")
    assert circle["checkins"][0]["week"] == "2026-W48" and circle["checkins"][0]["win"] == f"{A} win"
    assert circle["blocked"] == ["cy"] and circle["mentor_matches"][0]["role"] == "mentee"
    assert data["circles"][1]["mentor_request"] is True and data["circles"][1]["buddy_rounds"][0]["answer"] is None
    assert held == exported  # a new table with user_id must join the export


async def test_export_changes_nothing_stored(console: Transcript, tmp_path: Path) -> None:
    console.front.attachments_dir = tmp_path
    await console.say('/contact add "Dr Keep" how_met:conference met_on:today')
    before = await text_of_every_row(console.app)
    assert "Everything the bot holds about you" in await console.say("/privacy export")
    assert await text_of_every_row(console.app) == before


# ------------------------------------------------------------------ /privacy delete


async def test_delete_asks_first_then_leaves_no_row_of_the_user_in_any_table(db_url: str) -> None:
    clock = ManualClock(START)
    app = await _app(db_url, clock)
    a, b, uid_a, uid_b = await _two_users(app)
    held = await rows_of(app, uid_a)
    assert all(n > 0 for n in held.values()), held  # the test covers every kind of row

    asked = await a.say("/privacy delete")
    assert "Delete everything the bot holds about you?" in asked
    assert "2 contacts" in asked and "cannot be undone" in asked and "/privacy export" in asked
    assert "[Delete everything] /privacy delete confirm:yes" in asked
    await add_notices(app, uid_a)  # asking showed (and took) the pending notice: one more
    assert await rows_of(app, uid_a) == held  # asking deleted nothing

    done = await a.say("/privacy delete confirm:yes")
    assert "Deleted everything the bot held about you" in done, done
    assert "- 2 contacts" in done and "- 1 profile" in done and "- 1 account record" in done
    assert "- 2 logged interactions" in done and "- 1 goal" in done and "- 1 pending notice" in done

    # walk every table in the schema: no row references the user, and no trace of their text is left
    assert set(await rows_of(app, uid_a)) == set(held)
    assert all(n == 0 for n in (await rows_of(app, uid_a)).values()), await rows_of(app, uid_a)
    everything = await text_of_every_row(app)
    for marker in A_MARKERS:
        assert marker not in everything, marker
    # the other user is untouched
    for marker in B_MARKERS:
        assert marker in everything, marker
    assert all(n > 0 for n in (await rows_of(app, uid_b)).values())
    assert "Dr Lena Park" in await b.say("/contact list")

    # using the bot again starts afresh
    assert "Contacts (all): 0" in await a.say("/contact list")
