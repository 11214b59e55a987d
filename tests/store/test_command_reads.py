"""The reads every command makes, in as few statements as possible, giving what the separate
reads gave (SQLite and PostgreSQL alike: the ``db_url`` fixture)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.core.models import Contact, Profile, UserRef
from bot.store import SQLStore, open_store

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SQLStore]:
    s = await open_store(db_url)
    yield s
    await s.close()


async def test_user_context_is_ensure_user_get_profile_and_waiting_notices(store: SQLStore) -> None:
    amal = UserRef("console", "amal", "Amal")
    uid, profile, _ = await store.user_context(amal, NOW)  # a new user is made
    assert uid == await store.ensure_user(amal, NOW)
    assert profile == Profile(user_id=uid) == await store.get_profile(uid)
    assert (await store.user_context(amal, NOW))[1:] == (Profile(user_id=uid), False)

    saved = Profile(
        user_id=uid,
        name="Dr Amal Hassan",
        specialty="psych",
        track="non-us-img",
        timezone="Africa/Cairo",
        quiet_start=time(22, 30),
        nudges_paused_until=NOW + timedelta(days=3),
    )
    await store.save_profile(saved, NOW)
    other = await store.ensure_user(UserRef("console", "omar", "Omar"), NOW)
    await store.add_notice(other, "for Omar", NOW)
    assert await store.user_context(amal, NOW) == (uid, saved, False)  # another user's notice is not ours
    assert await store.get_profile(uid) == saved

    await store.add_notice(uid, "a nudge could not be sent", NOW)
    await store.add_notice(uid, "and another", NOW)
    assert await store.user_context(amal, NOW) == (uid, saved, True)
    assert await store.take_notices(uid) == ["a nudge could not be sent", "and another"]
    assert await store.user_context(amal, NOW) == (uid, saved, False)
    # the same account name elsewhere is someone else
    slack_uid, slack_profile, _ = await store.user_context(UserRef("slack", "amal", "Amal"), NOW)
    assert slack_uid not in (uid, other) and slack_profile == Profile(user_id=slack_uid)


async def test_a_list_page_and_its_total_match_counting_apart(store: SQLStore) -> None:
    uid = await store.ensure_user(UserRef("console", "amal", "Amal"), NOW)
    today = date(2026, 11, 23)
    for i in range(40):
        await store.add_contact(
            Contact(
                id=0,
                user_id=uid,
                number=0,
                name=f"Dr Contact {i}",
                tags=("mentor",) if i % 3 == 0 else (),
                state="moved-on" if i % 7 == 0 else "active",
                next_followup_on=today + timedelta(days=(i % 10) - 4) if i % 2 == 0 else None,
            ),
            NOW,
        )
    everyone = await store.all_contacts(uid)

    def expected(tag: str | None, due_by: date | None) -> list[Contact]:
        out = [c for c in everyone if (tag is None or tag in c.tags)]
        if due_by is not None:
            out = [c for c in out if c.state == "active" and c.next_followup_on and c.next_followup_on <= due_by]
            return sorted(out, key=lambda c: (c.next_followup_on, c.number))
        return out

    for tag, due_by in ((None, None), ("mentor", None), (None, today), ("mentor", today), ("nobody", None)):
        want = expected(tag, due_by)
        for offset in (0, 5, len(want) - 1, len(want), len(want) + 20):
            if offset < 0:
                continue
            page, total = await store.list_contacts(uid, tag=tag, due_by=due_by, limit=5, offset=offset)
            assert total == len(want), (tag, due_by, offset)
            assert [c.number for c in page] == [c.number for c in want[offset : offset + 5]], (tag, due_by, offset)
    assert await store.list_contacts(uid + 1000, limit=5) == ([], 0)
