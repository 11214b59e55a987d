"""Peer mentors on Discord, end to end: the real discord.py client against the local Discord double.

Members of a circle offer and ask (/mentor offer, /mentor request), are matched within capacity and
told by DM; the mentor's digest DM comes on the mentees' playbook's mentor-update rhythm and holds
only what each mentee lets the channel show (never a blocker, never a hidden member); either side
ends a match, and the mentee can ask again without getting the same mentor."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.core.clock import ManualClock
from tests.discord.conftest import AMAL, BEN, LiveBot
from tests.discord.double import DiscordDouble, message_text, user
from tests.helpers import START

MANAGE_GUILD = 1 << 5
MAYA = user(500_000_000_000_000_003, "maya")
CY = user(500_000_000_000_000_004, "cy")
FRIDAY_CLOSE = START.replace(day=27, hour=18, minute=0)  # the week's digest (and mentor digests)


def dm_texts(double: DiscordDouble, who: dict[str, Any]) -> list[str]:
    return [message_text(m) for m in double.dms(int(who["id"]))]


async def test_offer_request_match_digest_limited_to_what_each_mentee_shares_and_end(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    setup = await bot.say(MAYA, "circle setup", permissions=MANAGE_GUILD, timezone="UTC")
    assert "Circle started" in setup.text, setup.text
    shows = {MAYA["id"]: "counts", AMAL["id"]: "wins", BEN["id"]: "counts", CY["id"]: "none"}
    for who in (MAYA, AMAL, BEN, CY):
        # the pediatrics playbook updates mentors every 30 days: a digest every 4 weeks
        await bot.say(who, "profile set", specialty="peds", track="non-us-img")
        assert "Welcome to the circle" in (await bot.say(who, "circle join", show=shows[who["id"]])).text

    # a request with no mentor yet waits; an offer matches it at once; capacity is kept
    asked = await bot.say(AMAL, "mentor request")
    assert "Asked: you will be matched when a mentor has room" in asked.text and asked.ephemeral
    offered = await bot.say(MAYA, "mentor offer", stage="senior", capacity=3)
    assert "Thanks: you offer to mentor up to 3" in offered.text and "You already have a new mentee" in offered.text
    assert "Matched: your mentor is Maya" in (await bot.say(BEN, "mentor request")).text
    assert "Matched: your mentor is Maya" in (await bot.say(CY, "mentor request")).text
    self_ask = await bot.say(MAYA, "mentor request")
    assert "Matched" not in self_ask.text  # never one's own mentor
    listed = (await bot.say(MAYA, "mentor list")).text
    assert all(f"Your mentee: {n}" in listed for n in ("Amal", "Ben", "Cy")), listed

    # both sides are told by DM, with allowed mentions none
    await bot.deliver_due()
    assert any("You have a mentor" in t and "Your mentor in" in t for t in dm_texts(double, AMAL))
    told = [m for m in double.dms(int(MAYA["id"])) if "new mentee" in message_text(m)]
    assert told and all(m["allowed_mentions"] == {"parse": []} for m in told)
    assert sum(message_text(m).count("is your new mentee") for m in told) == 3

    # week 48's check-ins: a win and a blocker each; amal's win names one of her contacts
    await bot.say(AMAL, "contact add", name="Dr Lena Park", email="lena@example.org", how_met="conference")
    wins = {"amal": "amal-win: Dr Lena Park (lena@example.org) replied"}
    for who, emails in ((AMAL, 4), (BEN, 2), (CY, 7)):
        name = who["username"]
        win = wins.get(name, f"{name}-win")
        done = await bot.say(who, "circle checkin", emails=emails, win=win, blocker=f"{name}-blocker")
        assert "Week 48 logged" in done.text, done.text

    for week in range(6):
        clock.set(FRIDAY_CLOSE + timedelta(weeks=week, minutes=1))
        await bot.running.circles.run_due()
        await bot.deliver_due()
    digests = [m for m in double.dms(int(MAYA["id"])) if "check-ins since" in message_text(m)]
    assert len(digests) == 1, [message_text(m) for m in double.dms(int(MAYA["id"]))]  # week 4 of 6
    text = message_text(digests[0])
    assert digests[0]["allowed_mentions"] == {"parse": []}
    # weeks and dates as every reply writes them, never "2026-W48" or "02 Nov"
    assert "Amal's check-ins since Mon 28 Sep 2026" in text and "Week 48: 4 emails" in text, text
    # her win as the channel shows it: her contact's name and email are "a contact"
    assert "Win: amal-win: a contact (a contact) replied" in text and "Lena" not in text and "lena@" not in text
    assert "Ben's check-ins since" in text and "Week 48: 2 emails" in text and "2026-W" not in text
    assert "ben-win" not in text  # ben lets the channel show counts only
    assert "Cy" not in text and "7 emails" not in text  # cy shows nothing: no digest of cy
    assert "blocker" not in text  # blockers are never shared
    for mentee in (AMAL, BEN, CY):
        assert not [t for t in dm_texts(double, mentee) if "check-ins since" in t]

    # the mentor ends one match by name; a mentee ends theirs and may ask again, not for the same mentor
    several = await bot.say(MAYA, "mentor end")
    assert "name one with mentee:<name>" in several.text, several.text
    assert "Match ended" in (await bot.say(MAYA, "mentor end", mentee="amal")).text
    ended = await bot.say(BEN, "mentor end")
    assert "Match ended" in ended.text and "Ask for a new mentor" in ended.text
    again = await bot.say(BEN, "mentor request")
    assert "Asked" in again.text and "Maya" not in again.text, again.text
    listed = (await bot.say(MAYA, "mentor list")).text
    assert "Your mentee: Cy" in listed and "Amal" not in listed and "Ben" not in listed, listed
