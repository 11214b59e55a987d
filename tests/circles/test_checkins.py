"""Circles in the console: setup, joining, check-ins pre-filled from the tracker, the digest and its privacy."""

from __future__ import annotations

from datetime import timedelta

from bot.core import goals
from bot.core.clock import ManualClock
from bot.core.context import App
from bot.core.playbooks.schema import GoalMetric
from tests.circles.helpers import ChannelRecorder, engine, member
from tests.helpers import START


async def _circle(app: App, *, pairing: str = "off") -> None:
    admin = member(app, "admin", admin=True)
    out = await admin.say(f"/circle setup day:monday time:18:00 timezone:UTC digest:friday pairing:{pairing}")
    assert "Circle started in #accountability" in out, out


async def test_setup_is_for_admins_in_a_channel(app: App) -> None:
    out = await member(app, "amal").say("/circle setup")
    assert "/circle setup is for community admins; it needs --admin" in out
    from tests.helpers import Transcript

    out = await Transcript(app, "amal").say("/circle join")
    assert "works in a community channel, not in a direct message" in out
    out = await member(app, "root", admin=True).say("/circle setup day:friday digest:monday")
    assert "option 'digest': Monday must come after the check-in day (Friday)" in out


async def test_checkin_prefill_equals_the_trackers_week(app: App, clock: ManualClock) -> None:
    await _circle(app)
    amal = member(app, "amal")
    await amal.say("/profile set specialty:em track:non-us-img timezone:UTC")
    assert "Welcome to the circle" in await amal.say("/circle join")
    await amal.say('/contact add "Dr Maya Lee" role:attending how_met:conference met_on:today')
    await amal.say('/contact add "Dr Omar Fathy" role:resident how_met:email')
    await amal.say("/contact log #1 emailed")
    await amal.say("/contact log #2 emailed")
    await amal.say("/contact log #2 call")
    await amal.say('/contact log #1 meeting date:"8 days ago"')  # last week: not counted
    uid = amal.front and await app.store.ensure_user(amal.front.user, clock.now())
    profile = await app.store.get_profile(uid)
    start = START.date() - timedelta(days=START.weekday())
    expected = [
        await goals.count(app.store, profile, m, start, start + timedelta(days=7))
        for m in (GoalMetric.EMAILS, GoalMetric.NEW_CONTACTS, GoalMetric.FOLLOW_UPS, GoalMetric.CONVERSATIONS)
    ]
    assert expected[0] == 2 and expected[1] == 2  # two emails and two new contacts this week

    out = await amal.say("/circle checkin")
    nouns = ("emails", "new contacts", "follow-ups", "conversations")
    said = ", ".join(f"{n} {noun if n != 1 else noun[:-1]}" for n, noun in zip(expected, nouns, strict=True))
    assert said in out, out  # "1 follow-up", never "1 follow-ups"
    stored = await app.store.checkins_for(1, ["2026-W48"])
    c = stored[0].counts
    assert [c.emails, c.contacts, c.followups, c.conversations] == expected

    # the channel post's button, in the console, is the command line pre-filled with the same counts
    port = ChannelRecorder()
    clock.set(START.replace(hour=18, minute=1))
    assert await engine(app, port).run_due() >= 1
    post = next(r for _, r, _ in port.posts if "check-in" in r.title)
    shown = await amal.front.prefill(post)
    line = shown.actions[0].command
    assert line.startswith("/circle checkin program:1 emails:2 contacts:2 ")
    assert f"followups:{expected[2]} conversations:{expected[3]}" in line
    # and typing numbers of your own wins over the tracker
    out = await amal.say('/circle checkin emails:5 win:"got a reply"')
    assert "Week 48 updated" in out and "5 emails" in out and "Your tracker logged 2, 2," in out


async def test_digest_names_only_opted_in_members_and_never_a_contact(app: App, clock: ManualClock) -> None:
    await _circle(app)
    amal, ben, cara = member(app, "amal"), member(app, "ben"), member(app, "cara")
    await amal.say("/circle join show:wins")
    await ben.say("/circle join")
    await cara.say("/circle join show:none")
    await amal.say('/contact add "Dr Maya Lee" email:maya.lee@example.org notes:"loves QI" how_met:conference')
    await cara.say('/contact add "Dr Zed Quill" email:zed@example.org how_met:conference')
    await amal.say("/contact log #1 emailed")
    await amal.say('/circle checkin win:"Dr Maya Lee (maya.lee@example.org) replied! @everyone"')
    await ben.say('/circle checkin emails:3 win:"ben\'s secret win"')
    await cara.say('/circle checkin emails:4 win:"Dr Zed Quill said yes"')
    await member(app, "dana").say("/circle join")  # joined, never checked in

    port = ChannelRecorder()
    clock.set(START.replace(day=27, hour=18, minute=0))  # Friday 18:00: the window closes
    await engine(app, port).run_due()
    digests = [r for _, r, _ in port.posts if "digest" in r.title]
    assert len(digests) == 1
    text = digests[0].plain_text()
    assert "Week 48 digest: 3 of 4 checked in" in text
    assert "amal, ben and 1 more" in text
    assert "Emails sent: 8" in text  # 1 + 3 + 4: cara counts in the totals without being named
    assert "amal: a contact (a contact) replied! ＠everyone" in text  # her win, scrubbed, can ping nobody
    for secret in ("Maya", "maya.lee", "loves QI", "Zed", "Quill", "cara", "ben's secret win", "@everyone"):
        assert secret not in text, secret
    assert digests[0].attachments and digests[0].attachments[0].content.startswith(b"\x89PNG")
    assert "Emails sent per week" in text  # the chart's alt text, in words
    assert "▁" in text or "█" in text  # the sparkline the console shows
    # every other post in the channel is as clean
    for r in port.texts():
        assert "Maya" not in r and "Zed" not in r and "cara" not in r


def test_migrations_that_land_out_of_order_still_run() -> None:
    from bot.store.migrate import Migration, pending

    known = [Migration(n, f"m{n}", "") for n in (1, 7, 8, 11)]
    assert [m.number for m in pending(known, {1, 7, 11})] == [8]  # 0011 merged first, 0008 later
    assert [m.number for m in pending(known, set())] == [1, 7, 8, 11]
