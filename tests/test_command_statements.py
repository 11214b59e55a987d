"""How many SQL statements a read command costs on SQLite (each is a trip to aiosqlite's thread),
counted by SQLite itself (the connections' trace callback)."""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import ManualClock
from bot.core.context import App
from bot.store.driver import SQLiteDriver
from tests.helpers import Transcript

PSYCH = '/profile set specialty:psych track:non-us-img timezone:Africa/Cairo name:"Dr Amal Hassan"'


async def _traced(app: App) -> list[str]:
    seen: list[str] = []
    driver = app.store.db
    assert isinstance(driver, SQLiteDriver)
    for conn in driver._all_conns:
        await conn.raw.set_trace_callback(seen.append)
    return seen


async def test_followups_and_contact_lists_take_two_statements(
    app: App, console: Transcript, clock: ManualClock
) -> None:
    await console.say(PSYCH)
    for name in ("Dr Maya Lee", "Dr Omar Ali", "Dr Li Chen"):
        await console.say(f'/contact add "{name}" role:attending how_met:conference met_on:yesterday')
    clock.advance(timedelta(days=5))
    seen = await _traced(app)
    for line, title in (
        ("/followups", "Follow-ups due: 3"),
        ("/contact list", "Contacts (all): 3"),
        ("/contact list due", "Contacts (due): 3"),
        ("/contact list mentor", "Contacts (mentor): 0"),
    ):
        seen.clear()
        out = await console.say(line)
        assert title in out
        assert len(seen) == 2, (line, seen)  # the user with profile and notices; the page with its total

    # a notice waiting is shown with the next reply, once, at the cost of taking it
    ctx = await app.context(console.front.user)
    await app.store.add_notice(ctx.user_id, "Your nudge to Dr Maya Lee could not be sent.", clock.now())
    seen.clear()
    out = await console.say("/followups")
    assert "Your nudge to Dr Maya Lee could not be sent." in out and "Follow-ups due: 3" in out
    assert len(seen) == 4, seen  # and the check for more, and the take
    seen.clear()
    out = await console.say("/followups")
    assert "could not be sent" not in out and len(seen) == 2
