"""Buddy intros on Discord in a private thread of the circle's channel, end to end: the real
discord.py client against the local Discord double.

Each pair or trio gets one private thread holding exactly its members (and the bot) and one intro
in it; a re-run for the same owed row (a take-over, a retry after a lost answer) makes no second
thread and posts nothing twice; a refusal for good (no permission to make private threads, a
buddy who left the server) becomes one intro DM each, with no thread left behind."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.core.clock import ManualClock
from bot.core.community.engine import MAX_ATTEMPTS
from bot.core.reply import Reply
from bot.frontends.discord.port import DiscordChannelPort, thread_name, thread_tag
from tests.discord.conftest import AMAL, BEN, LiveBot
from tests.discord.double import BOT_ID, CHANNEL_ID, Call, DiscordDouble, buttons, message_text, user
from tests.helpers import START

MANAGE_GUILD = 1 << 5
MONDAY_POST = START.replace(hour=18, minute=0)
CARA = user(500_000_000_000_000_003, "cara")
DEV = user(500_000_000_000_000_004, "dev")
EVE = user(500_000_000_000_000_005, "eve")
THREADS = r"/channels/\d+/threads"
THREAD_POST = (
    rf"/channels/(?!{CHANNEL_ID})\d+/messages"  # a post anywhere but the channel (no DM is sent while it is used)
)


@pytest.fixture
async def cached(double: DiscordDouble, tmp_path: Path, clock: ManualClock) -> AsyncIterator[LiveBot]:
    """The bot with the guild in discord.py's cache, from READY and GUILD_CREATE, as in production."""
    double.serve_guild = True
    live = LiveBot(double, tmp_path / "bot.db", clock)
    await live.start()
    await double.wait_for(lambda: live.running.client.get_channel(CHANNEL_ID) is not None, what="GUILD_CREATE")
    yield live
    await live.stop()


async def _circle(bot: LiveBot, people: list[dict[str, Any]]) -> None:
    setup = await bot.say(AMAL, "circle setup", permissions=MANAGE_GUILD, timezone="UTC", pairing="every-2-weeks")
    assert "Circle started" in setup.text
    for who in people:
        assert "Welcome to the circle" in (await bot.say(who, "circle join")).text


async def _round(bot: LiveBot, clock: ManualClock) -> None:
    """Monday 18:00: the check-in post, the pairing round and its intros, in one run (so no
    background wake-up of the scheduler runs them before a test has set its faults)."""
    clock.set(MONDAY_POST)
    await bot.running.circles.run_due()


def _intro_dms(double: DiscordDouble, who: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in double.dms(int(who["id"])) if "Your buddy" in message_text(m)]


def _thread_posts(double: DiscordDouble) -> list[Call]:
    """Every message post the bot made into a thread."""
    made = set(double.threads) | double.deleted_threads
    return [c for c in double.calls_to("POST", r"/channels/\d+/messages") if int(c.path.split("/")[2]) in made]


def _members(double: DiscordDouble, thread_id: int) -> set[int]:
    return double.thread_members[thread_id] - {BOT_ID}


async def _intro_rows(bot: LiveBot) -> list[tuple[str, int]]:
    posts = await bot.running.app.store.posts_of(1)
    return [(p.status, p.attempts) for p in posts if p.kind == "intro"]


async def test_each_group_gets_one_private_thread_with_its_intro_and_no_intro_dm(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    people = [AMAL, BEN, CARA, DEV, EVE]
    await _circle(bot, people)
    await _round(bot, clock)
    await bot.deliver_due()
    store = bot.running.app.store
    made = await store.round_for(1, "2026-W48")
    assert made is not None and sorted(len(g.user_ids) for g in made.groups) == [2, 3]
    refs = await store.user_refs([u for g in made.groups for u in g.user_ids])

    assert len(double.threads) == 2 and double.deleted_threads == set()
    by_members = {frozenset(_members(double, tid)): tid for tid in double.threads}
    for group in made.groups:
        accounts = frozenset(int(refs[u].account) for u in group.user_ids)
        thread = double.threads[by_members[accounts]]  # exactly its members were added
        assert thread["type"] == 12 and int(thread["parent_id"]) == CHANNEL_ID
        assert thread["thread_metadata"]["invitable"] is False
        assert thread["thread_metadata"]["auto_archive_duration"] == 10080
        names = [str(refs[u].display_name) for u in group.user_ids]
        assert thread["name"].startswith("Buddies: " + ", ".join(names)) and len(thread["name"]) <= 100
        (intro,) = double.thread_messages(int(thread["id"]))
        text = message_text(intro)
        kind = "trio" if len(group.user_ids) == 3 else "pair"
        assert f"Your buddy {kind} this round in #general" in text, text
        assert all(name in text for name in names)
        starters = text.split("Three things to talk about", 1)[1].split("Find half an hour", 1)[0]
        assert starters.count("•") == 3, starters
        assert "this conversation was opened for your group" in text
        assert [b["label"] for b in buttons(intro)][-3:] == ["Yes", "Not yet", "No"]
        assert [b["custom_id"] for b in buttons(intro)][-3:] == [
            f"imgbot:circle met {group.id} yes",
            f"imgbot:circle met {group.id} not-yet",
            f"imgbot:circle met {group.id} no",
        ]
        assert intro["allowed_mentions"] == {"parse": []}
    # every post into a thread carried the owed row's nonce, enforced
    sent = _thread_posts(double)
    assert len(sent) == 2 and all(c.json["enforce_nonce"] is True for c in sent)
    assert sorted(c.json["nonce"] for c in sent) == sorted(
        f"circle-{p.id}" for p in await store.posts_of(1) if p.kind == "intro"
    )
    # nobody gets an intro DM of their own, now or after a restart
    assert not [m for who in people for m in _intro_dms(double, who)]
    await bot.restart()
    store = bot.running.app.store
    await bot.running.circles.run_due()
    await bot.deliver_due()
    assert not [m for who in people for m in _intro_dms(double, who)]
    assert len(double.threads) == 2 and double.count("POST", THREADS) == 2
    assert await _intro_rows(bot) == [("sent", 0), ("sent", 0)]

    # in the pair's thread, after the restart, each press answers for the one who pressed
    pair = next(g for g in made.groups if len(g.user_ids) == 2)
    first, second = (refs[u] for u in pair.user_ids)
    (intro,) = double.thread_messages(by_members[frozenset({int(first.account), int(second.account)})])
    who = next(p for p in people if p["id"] == first.account)
    yes = await bot.click(who, intro, "Yes")
    assert f"Great: you met {second.display_name}" in yes.text and yes.ephemeral
    answers = (await store.get_group(pair.id)).answers  # type: ignore[union-attr]
    assert answers == {pair.user_ids[0]: "yes", pair.user_ids[1]: None}  # for the one who pressed only
    other = next(p for p in people if p["id"] == second.account)
    assert "Noted: not yet" in (await bot.click(other, intro, "Not yet")).text
    answers = (await store.get_group(pair.id)).answers  # type: ignore[union-attr]
    assert answers == {pair.user_ids[0]: "yes", pair.user_ids[1]: "not-yet"}


async def test_an_intro_taken_over_from_a_dead_instance_re_uses_its_thread_and_posts_nothing_twice(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await _circle(bot, [AMAL, BEN])
    await bot.say(BEN, "profile set", timezone="Asia/Tokyo")  # 03:00 for Ben at Monday 18:00 UTC
    await _round(bot, clock)
    store = bot.running.app.store
    (intro,) = [p for p in await store.posts_of(1) if p.kind == "intro"]
    assert intro.status == "pending" and intro.due_at > clock.now() and double.threads == {}  # waits for Ben
    # another instance claims the intro when it falls due, posts it through the same port, and dies
    # before recording it
    now = intro.due_at
    (intro,) = [
        p
        for p in await store.claim_posts("dead", now, now + timedelta(seconds=60), 10, ["discord"])
        if p.kind == "intro"
    ]
    assert intro.kind == "intro"
    program = await store.get_program(intro.program_id)
    group = await store.get_group(int(intro.period.rsplit(":", 1)[1]))
    assert program is not None and group is not None
    refs = await store.user_refs(group.user_ids)
    port = bot.running.circles.channels["discord"]
    assert isinstance(port, DiscordChannelPort)
    users = [refs[u] for u in group.user_ids]
    await port.post_group(program.place, users, Reply(title="sent by the dead one"), f"circle-{intro.id}")
    ((thread_id, _),) = double.threads.items()
    assert len(double.thread_messages(thread_id)) == 1
    double.nonce_window = 0  # long enough ago that Discord no longer knows the nonce

    clock.set(now + timedelta(seconds=30))
    assert await bot.running.circles.run_due() == 0  # its lease still runs
    clock.set(now + timedelta(seconds=61))
    await bot.running.circles.run_due()
    assert list(double.threads) == [thread_id] and double.count("POST", THREADS) == 1
    (only,) = double.thread_messages(thread_id)
    assert "sent by the dead one" in message_text(only)  # found by its name's tag, counted, not posted again
    assert _members(double, thread_id) == {int(AMAL["id"]), int(BEN["id"])}
    assert double.count("GET", r"/guilds/\d+/threads/active") == 2
    assert await _intro_rows(bot) == [("sent", 0)]
    await bot.deliver_due()
    assert not _intro_dms(double, AMAL) and not _intro_dms(double, BEN)


async def test_a_lost_answer_and_a_failed_post_are_retried_in_the_same_thread_and_shown_once(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await _circle(bot, [AMAL, BEN])
    double.nonce_window = 0  # each retry comes after Discord forgot the nonce
    # Discord makes the thread but the answer is lost (503): the engine retries after its backoff
    double.fail_next("POST", THREADS, 503, after_effect=True)
    await _round(bot, clock)
    ((thread_id, thread),) = double.threads.items()
    assert double.thread_messages(thread_id) == [] and await _intro_rows(bot) == [("pending", 1)]
    # the retry finds the thread, adds the pair and posts; that post's answer is lost too
    clock.advance(timedelta(minutes=3))
    double.fail_next("POST", THREAD_POST, 503, after_effect=True)
    await bot.running.circles.run_due()
    assert list(double.threads) == [thread_id] and len(double.thread_messages(thread_id)) == 1
    assert _members(double, thread_id) == {int(AMAL["id"]), int(BEN["id"])}
    assert await _intro_rows(bot) == [("pending", 2)]
    # the next retry sees the intro already there: nothing more is posted, and the row is done
    clock.advance(timedelta(minutes=5))
    await bot.running.circles.run_due()
    assert double.count("POST", THREADS) == 1 and len(_thread_posts(double)) == 1
    (intro,) = double.thread_messages(thread_id)
    assert "Your buddy pair" in message_text(intro) and thread["name"].startswith("Buddies: Amal, Ben")
    assert await _intro_rows(bot) == [("sent", 2)]
    await bot.deliver_due()
    assert not _intro_dms(double, AMAL) and not _intro_dms(double, BEN)


async def test_without_permission_for_private_threads_each_member_gets_an_intro_dm(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await _circle(bot, [AMAL, BEN])
    double.deny_private_threads()
    await _round(bot, clock)
    assert [c.status for c in double.calls_to("POST", THREADS)] == [403]
    assert double.threads == {} and double.deleted_threads == set()
    assert await _intro_rows(bot) == [("sent", 0)]  # recorded with the DMs it owes instead
    await bot.deliver_due()
    await bot.restart()
    await bot.running.circles.run_due()
    await bot.deliver_due()
    for who, buddy in ((AMAL, "Ben"), (BEN, "Amal")):
        (intro,) = _intro_dms(double, who)
        assert f"{buddy}, UTC" in message_text(intro) and intro["allowed_mentions"] == {"parse": []}
        yes = await bot.click(who, intro, "Yes")
        assert f"Great: you met {buddy}" in yes.text
    assert double.count("POST", THREADS) == 1


async def test_a_buddy_who_left_the_server_gets_the_new_thread_deleted_and_dms_instead(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await _circle(bot, [AMAL, BEN])
    double.departed.add(int(BEN["id"]))
    await _round(bot, clock)
    refused = [c for c in double.calls_to("PUT", r"/channels/\d+/thread-members/\d+") if c.status == 404]
    assert len(refused) == 1 and refused[0].path.endswith(BEN["id"])
    assert double.threads == {} and len(double.deleted_threads) == 1
    (gone,) = double.deleted_threads
    assert double.thread_messages(gone) == []  # the intro was never posted there
    assert await _intro_rows(bot) == [("sent", 0)]
    await bot.deliver_due()
    assert len(_intro_dms(double, AMAL)) == 1 and len(_intro_dms(double, BEN)) == 1


async def test_buddy_names_that_look_like_mentions_ping_nobody(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    everyone = {**user(500_000_000_000_000_006, "everyone"), "global_name": "@everyone\nnew line"}
    role = {**user(500_000_000_000_000_007, "role"), "global_name": "<@&123456789012345678> #general"}
    await _circle(bot, [everyone, role])
    await _round(bot, clock)
    ((thread_id, thread),) = double.threads.items()
    name = thread["name"]
    assert not re.search(r"[@<>#&\n]", name) and name.startswith(
        "Buddies: everyone new line, 123456789012345678 general"
    )
    (intro,) = double.thread_messages(thread_id)
    text = message_text(intro)
    assert "@\u200beveryone" in text and not re.search(r"@(everyone|here)", text)
    assert "<@&" not in text and "<@\u200b&123456789012345678>" in text
    assert intro["allowed_mentions"] == {"parse": []}


async def test_with_the_guild_cached_the_thread_is_made_from_the_cache_and_known_to_the_client(
    cached: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await _circle(cached, [AMAL, BEN])
    await _round(cached, clock)
    assert double.count("GET", rf"/channels/{CHANNEL_ID}") == 0  # the channel came from the gateway
    ((thread_id, _),) = double.threads.items()
    await double.wait_for(lambda: cached.running.client.get_channel(thread_id) is not None, what="THREAD_CREATE")
    known = cached.running.client.get_channel(thread_id)
    assert isinstance(known, discord.Thread) and known.type is discord.ChannelType.private_thread
    (intro,) = double.thread_messages(thread_id)
    assert "Your buddy pair" in message_text(intro)
    # after a restart (the guild and its active thread come again with GUILD_CREATE) a press still works
    await cached.restart()
    await double.wait_for(lambda: cached.running.client.get_channel(thread_id) is not None, what="GUILD_CREATE")
    yes = await cached.click(BEN, intro, "Yes")
    assert "Great: you met Amal" in yes.text and yes.ephemeral
    await cached.running.circles.run_due()
    assert list(double.threads) == [thread_id] and len(double.thread_messages(thread_id)) == 1


async def test_in_an_announcement_channel_no_thread_is_tried_and_each_member_gets_an_intro_dm(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await _circle(bot, [AMAL, BEN])
    double.channel_type = 5  # made an announcement channel after the circle was set up
    await _round(bot, clock)
    assert double.count("POST", THREADS) == 0 and double.threads == {}
    assert await _intro_rows(bot) == [("sent", 0)]
    await bot.deliver_due()
    assert len(_intro_dms(double, AMAL)) == 1 and len(_intro_dms(double, BEN)) == 1


async def test_without_manage_threads_an_unused_thread_is_emptied_of_its_members_instead(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await _circle(bot, [AMAL, BEN])
    double.manage_threads = False
    # both are added, then the intro is refused (no Send Messages in Threads) and the delete too
    double.fail_next("POST", THREAD_POST, 403, body={"message": "Missing Permissions", "code": 50013})
    await _round(bot, clock)
    assert [c.status for c in double.calls_to("PUT", r"/channels/\d+/thread-members/\d+")] == [204, 204]
    assert [c.status for c in double.calls_to("DELETE", r"/channels/\d+")] == [403]
    assert [c.status for c in double.calls_to("DELETE", r"/channels/\d+/thread-members/\d+")] == [204, 204]
    ((thread_id, thread),) = double.threads.items()
    assert double.thread_members[thread_id] == {BOT_ID} and thread["member_count"] == 1
    assert double.thread_messages(thread_id) == []
    assert await _intro_rows(bot) == [("sent", 0)]
    await bot.deliver_due()
    assert len(_intro_dms(double, AMAL)) == 1 and len(_intro_dms(double, BEN)) == 1


def test_a_thread_name_fits_in_100_characters_and_keeps_its_tag() -> None:
    tag = thread_tag("circle-42")
    assert tag == thread_tag("circle-42") != thread_tag("circle-43") and len(tag) == 10
    assert thread_name(["Ana", "Ben"], tag) == f"Buddies: Ana, Ben {tag}"
    long = thread_name(["A" * 80, "Dr Benjamin " + "B" * 60, "Cara\u2028\t<@!1> " + "C" * 40], tag)
    assert len(long) == 100 and long.endswith(f"… {tag}") and long.startswith("Buddies: " + "A" * 31 + "…, Dr")
    assert "Cara !1 CC" in long and not re.search(r"[^\S ]", long)  # no whitespace but spaces
    assert thread_name(["@@", "<>"], tag) == f"Buddies {tag}"  # nothing left of the names
    assert thread_name(["Ana\nBen", "x @here y"], tag) == f"Buddies: Ana Ben, x here y {tag}"


async def test_an_intro_failing_until_its_last_attempt_leaves_no_thread_and_goes_by_dm(
    bot: LiveBot, double: DiscordDouble, clock: ManualClock
) -> None:
    await _circle(bot, [AMAL, BEN])
    double.fail_next("POST", THREAD_POST, 503, times=MAX_ATTEMPTS)  # every post into the thread fails
    await _round(bot, clock)
    ((thread_id, _),) = double.threads.items()
    for _ in range(MAX_ATTEMPTS - 1):  # each retry when it falls due (after its backoff, out of quiet hours)
        (intro,) = [p for p in await bot.running.app.store.posts_of(1) if p.kind == "intro"]
        clock.set(max(clock.now(), intro.due_at))
        await bot.running.circles.run_due()
    assert [c.status for c in double.calls_to("POST", THREAD_POST)] == [503] * MAX_ATTEMPTS
    assert double.count("POST", THREADS) == 1  # each retry used the one thread
    assert double.threads == {} and double.deleted_threads == {thread_id}  # given up: the thread went
    assert await _intro_rows(bot) == [("sent", MAX_ATTEMPTS - 1)]
    await bot.deliver_due()
    assert len(_intro_dms(double, AMAL)) == 1 and len(_intro_dms(double, BEN)) == 1
