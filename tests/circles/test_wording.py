"""How a circle's schedule reads: plain English, no "week(s)"."""

from __future__ import annotations

from datetime import time

from bot.core.community.models import Place, Program


def _program(weeks: int) -> Program:
    place = Place("console", "IMG EM", "accountability")
    return Program(1, place, 0, time(18, 0), 4, "America/New_York", pairing_weeks=weeks)


def test_schedule_words_say_week_or_weeks() -> None:
    assert _program(1).schedule_words().endswith("; buddy pairing every week")
    assert _program(2).schedule_words().endswith("; buddy pairing every 2 weeks")
    assert "pairing" not in _program(0).schedule_words()
    assert "(s)" not in _program(3).schedule_words()
