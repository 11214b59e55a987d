"""The shared front-end policies (bot/frontends/kit.py), which Discord and Slack both use."""

from __future__ import annotations

import asyncio

import pytest

from bot.frontends.kit import buttons_allowed, split_lines, split_text, truncate, within_deadline


async def test_fast_work_is_answered_without_deferring() -> None:
    deferred: list[bool] = []

    async def defer() -> None:
        deferred.append(True)

    async def work() -> str:
        return "done"

    assert await within_deadline(work(), defer_after=0.5, defer=defer, time_left=5) == "done"
    assert deferred == []


async def test_slow_work_defers_once_then_answers() -> None:
    deferred: list[bool] = []

    async def defer() -> None:
        deferred.append(True)

    async def work() -> str:
        await asyncio.sleep(0.2)
        return "late"

    assert await within_deadline(work(), defer_after=0.05, defer=defer, time_left=5) == "late"
    assert deferred == [True]


async def test_work_past_the_token_life_times_out() -> None:
    async def defer() -> None:
        return None

    async def work() -> str:
        await asyncio.sleep(5)
        return "never"

    with pytest.raises(TimeoutError):
        await within_deadline(work(), defer_after=0.01, defer=defer, time_left=0.1)


def test_buttons_only_where_only_the_owner_sees_them() -> None:
    assert buttons_allowed(private=True, in_dm=False)
    assert buttons_allowed(private=False, in_dm=True)
    assert not buttons_allowed(private=False, in_dm=False)


def test_split_text_keeps_limits_and_words() -> None:
    text = " ".join(f"word{i}" for i in range(2000))
    parts = split_text(text, 300)
    assert all(len(p) <= 300 for p in parts)
    assert " ".join(parts).split() == text.split()


def test_split_never_cuts_an_entity_or_an_escape() -> None:
    text = "x" * 8 + "&amp;" + "y" * 20
    parts = split_text(text, 10)
    assert parts[0] == "x" * 8
    assert parts[1].startswith("&amp;")
    assert split_text("a" * 9 + "\\*" + "b" * 5, 10)[0] == "a" * 9
    assert all("&" not in chunk or "&lt;" in chunk for chunk in split_lines("&lt;" * 50, 7))


def test_truncate_marks_the_cut() -> None:
    assert truncate("abcdef", 10) == "abcdef"
    assert truncate("abcdefghijkl", 5) == "abcd…"
