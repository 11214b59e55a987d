"""setup_logging: JSON lines an aggregator can parse, text for a terminal, the instance on every line."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.logs import new_instance_id, setup_logging
from bot.settings import _INSTANCE_ID


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root, discord = logging.getLogger(), logging.getLogger("discord")
    handlers, level, discord_level = list(root.handlers), root.level, discord.level
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)
    discord.setLevel(discord_level)


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_json_lines_parse_and_carry_the_instance() -> None:
    out = io.StringIO()
    setup_logging("INFO", "json", "web-1-42-ab12", stream=out)
    before = datetime.now(UTC)
    logging.getLogger("bot.scheduler").info("woke up; %d nudges due", 3)
    logging.getLogger("bot.scheduler").debug("not shown at INFO")
    logging.getLogger("bot.x").warning('a "quoted"\nmessage for alice@example.com')
    [first, second] = [json.loads(line) for line in lines(out)]
    assert first.keys() == {"ts", "level", "logger", "msg", "instance"}
    assert first["level"] == "INFO" and first["logger"] == "bot.scheduler"
    assert first["msg"] == "woke up; 3 nudges due" and first["instance"] == "web-1-42-ab12"
    ts = datetime.fromisoformat(first["ts"])
    assert ts.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= ts <= datetime.now(UTC) + timedelta(seconds=1)
    # no redaction, by design: callers never log names or emails
    assert second["msg"] == 'a "quoted"\nmessage for alice@example.com' and second["level"] == "WARNING"


def test_json_exception_carries_its_type_and_traceback() -> None:
    out = io.StringIO()
    setup_logging("INFO", "json", "i", stream=out)
    counts: dict[str, int] = {}
    try:
        counts["missing"]
    except KeyError:
        logging.getLogger("bot.app").exception("delivery failed")
    [entry] = [json.loads(line) for line in lines(out)]
    assert entry["exc_type"] == "KeyError" and entry["msg"] == "delivery failed"
    assert entry["exc"].startswith("Traceback (most recent call last):") and "KeyError: 'missing'" in entry["exc"]
    assert entry["level"] == "ERROR"


def test_text_format_has_time_level_instance_logger_message() -> None:
    out = io.StringIO()
    setup_logging("debug", "text", "web-2", stream=out)
    logging.getLogger("bot.store").debug("pool of %d", 10)
    [line] = lines(out)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} DEBUG web-2 bot\.store: pool of 10", line), line


def test_calling_again_replaces_the_handler_instead_of_doubling_lines() -> None:
    first, second = io.StringIO(), io.StringIO()
    setup_logging("INFO", "text", "a", stream=first)
    setup_logging("INFO", "json", "b", stream=second)
    logging.getLogger("bot").info("once")
    assert first.getvalue() == ""
    assert [json.loads(line)["instance"] for line in lines(second)] == ["b"]


def test_discord_logger_stays_at_info_or_above() -> None:
    out = io.StringIO()
    setup_logging("DEBUG", "json", "i", stream=out)
    assert logging.getLogger("discord").level == logging.INFO
    logging.getLogger("discord.gateway").debug("heartbeat payload")
    logging.getLogger("bot").debug("ours")
    assert [json.loads(line)["logger"] for line in lines(out)] == ["bot"]
    setup_logging("WARNING", "json", "i", stream=out)
    assert logging.getLogger("discord").level == logging.WARNING


def test_bad_level_or_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
        setup_logging("LOUD", "text", "i", stream=io.StringIO())
    with pytest.raises(ValueError, match="unknown log format 'xml'"):
        setup_logging("INFO", "xml", "i", stream=io.StringIO())  # type: ignore[arg-type]


def test_new_instance_id_is_short_unique_and_a_valid_setting() -> None:
    ids = {new_instance_id() for _ in range(20)}
    assert len(ids) > 1
    for value in ids:
        assert re.fullmatch(r"[A-Za-z0-9-]+-\d+-[0-9a-f]{4}", value), value
        assert len(value) <= 64 and _INSTANCE_ID.fullmatch(value)
