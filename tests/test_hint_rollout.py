"""Command hints: core marks every command line it shows the user, and each front end writes
them in its own syntax with no marker left over (``/contact list``; on Slack ``/imgbot contact list``)."""

from __future__ import annotations

import ast
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.clock import ManualClock
from bot.core.commands import build_registry
from bot.core.context import App
from bot.core.dispatch import error_reply, run_line
from bot.core.errors import BotError
from bot.core.hints import CLOSE, OPEN
from bot.core.models import UserRef
from bot.core.nudges import NudgeEngine
from bot.core.ports import DeliveryError
from bot.core.reply import Attachment, Fields, ListBlock, Reply, ScriptBlock, Text
from bot.frontends.console import ConsoleFrontend
from bot.frontends.discord.render import render
from bot.frontends.slack.blocks import render as slack_render
from bot.frontends.slack.blocks import to_dicts
from tests.helpers import RecordingPort
from tests.test_every_command import CASES, SETUP

CORE = Path(__file__).resolve().parents[1] / "bot" / "core"
USER = UserRef("console", "amal", "amal")
NAMES = build_registry().top_level_names()
# a command written out by hand: "/" at a word's start and a command name
RAW_COMMAND = re.compile(r"(?<![\w/])/(" + "|".join(map(re.escape, NAMES)) + r")\b")
MARKED = re.compile(f"{OPEN}([^{OPEN}{CLOSE}]*){CLOSE}")
CSV = Attachment("in.csv", b"name,role\nDr Imported,peer\n", "text/csv")


def readable(reply: Reply) -> Iterator[str]:
    """Every piece of text a user reads in a reply; ``Action.command`` is run, not read."""
    yield reply.title
    for block in reply.blocks:
        match block:
            case Text(text=text, heading=heading):
                yield from (text, heading or "")
            case Fields(fields=fields):
                for f in fields:
                    yield from (f.name, f.value)
            case ListBlock(items=items, heading=heading):
                yield from (*items, heading or "")
            case ScriptBlock(text=text, heading=heading, subject=subject):
                yield from (text, heading or "", subject or "")
    yield from (a.label for a in reply.actions)
    yield reply.footer or ""


async def _reply(app: App, line: str) -> Reply:
    files = (CSV,) if line.startswith("/contact import") else ()
    try:
        return await run_line(app, USER, line, files)
    except BotError as exc:
        return error_reply(exc)


async def every_reply(app: App, clock: ManualClock) -> list[Reply]:
    """The replies and errors of every registry command (tests/test_every_command.py's table),
    and the nudge digests and notices that follow, straight from core."""
    replies = [await _reply(app, line) for line in SETUP]
    uid = await app.store.ensure_user(USER, clock.now())
    followup = [n for n in await app.store.open_nudges(uid) if n.kind == "followup"]
    values = {"csv": "in.csv", "nudge": str(followup[0].id) if followup else "1"}
    last = "privacy delete"  # it empties the account the other cases use
    for name in [*sorted(set(CASES) - {last}), last]:
        ok_line, _, bad_line, _ = CASES[name]
        if name == last:
            replies += await _digests(app, clock)
        for line in (ok_line, bad_line):
            replies.append(await _reply(app, line.format(**values)))
    return replies


async def _digests(app: App, clock: ManualClock) -> list[Reply]:
    """A full digest, a compact one (many follow-ups at once), and the notice about one that failed."""
    port = RecordingPort()
    engine = NudgeEngine(app, {"console": port}, rate=1000)
    await _reply(app, "/nudges resume")
    await _reply(app, '/contact add "Dr Solo" how_met:conference met_on:today')
    clock.advance(timedelta(days=4))
    await engine.run_due()
    for i in range(12):
        await _reply(app, f'/contact add "Dr Extra {i}" how_met:conference met_on:today')
    clock.advance(timedelta(days=4))
    await engine.run_due()
    port.fail_with = DeliveryError("DMs are closed", permanent=True)
    await _reply(app, '/contact add "Dr Late" how_met:conference met_on:today')
    clock.advance(timedelta(days=4))
    await engine.run_due()
    assert len(port.sent) >= 2
    return [*(reply for _, reply, _ in port.sent), await _reply(app, "/followups")]  # opens with the notice


@pytest.fixture
async def replies(app: App, clock: ManualClock) -> list[Reply]:
    await _reply(app, '/profile set specialty:psych track:non-us-img timezone:UTC name:"Dr Amal Hassan"')
    return await every_reply(app, clock)


def test_core_hard_codes_no_command_line_in_user_text() -> None:
    """Every string literal in core that a user reads writes commands with hint(); left alone are
    docstrings, comments, Action.command lines (they are run), command/option descriptions (each
    platform registers them natively) and the ``help=`` examples (/help marks them)."""
    found = []
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        skip: set[int] = set()
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
                skip.add(id(body[0].value))  # a docstring
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                if name in ("action", "Option", "command", "group"):
                    skip.update(id(n) for a in node.args for n in ast.walk(a))
                skip.update(id(n) for k in node.keywords if k.arg == "help" for n in ast.walk(k.value))
        for node in ast.walk(tree):
            text = node.value if isinstance(node, ast.Constant) and id(node) not in skip else None
            if isinstance(text, str) and RAW_COMMAND.search(text):
                found.append(f"{path.relative_to(CORE)}:{node.lineno}: {text!r}")
    assert found == []


async def test_every_reply_carries_hints_and_no_front_end_leaves_a_marker(replies: list[Reply], tmp_path: Path) -> None:
    marked = [r for r in replies if any(OPEN in t for t in readable(r))]
    assert len(marked) >= 30, "the rollout marks hints in most replies"
    for reply in replies:
        for plain in (True, False):
            out = io.StringIO()
            front = ConsoleFrontend(None, "amal", out=out, rich=not plain, attachments_dir=tmp_path)  # type: ignore[arg-type]
            front.show(reply)
            assert OPEN not in out.getvalue() and CLOSE not in out.getvalue(), out.getvalue()
        for buttons in (True, False):
            for message in render(reply, buttons=buttons):
                payload = str([e.to_dict() for e in message.embeds]) + str(message.rows) + (message.content or "")
                assert OPEN not in payload and CLOSE not in payload, payload
            for slack in slack_render(reply, owner="T1:U1", buttons=buttons):
                payload = str(to_dicts(slack)) + slack.text  # to_dicts runs slack_sdk's Block Kit validators
                assert OPEN not in payload and CLOSE not in payload, payload
        assert OPEN not in reply.plain_text() and CLOSE not in reply.plain_text()


async def test_with_the_slack_prefix_every_hint_is_an_imgbot_command(replies: list[Reply]) -> None:
    hints = 0
    for reply in replies:
        formatted = reply.with_hints("/imgbot ")
        for raw, shown in zip(readable(reply), readable(formatted), strict=True):
            assert OPEN not in shown and CLOSE not in shown
            for line in MARKED.findall(raw):
                hints += 1
                assert f"/imgbot {line}" in shown, (raw, shown)
            # nothing is written as a bare /command: it would not run on Slack
            assert not RAW_COMMAND.search(shown), shown
        assert [a.command for a in formatted.actions] == [a.command for a in reply.actions]
    assert hints >= 60


@pytest.mark.parametrize("spec", ["em", "im", "psych", "peds"])
@pytest.mark.parametrize("track", ["us-img", "non-us-img"])
async def test_playbook_prose_mentions_commands_as_hints(app: App, spec: str, track: str) -> None:
    """The YAML says "(see /conferences)"; the reply says /imgbot conferences on Slack."""
    await _reply(app, f"/profile set specialty:{spec} track:{track} eras:2027-09")
    lines = [
        *(f"/playbook section:{s}" for s in ("overview", "stakeholders", "arenas", "goals", "cadences", "more")),
        "/faq",
        "/mistakes",
        "/conferences",
        "/timeline",
        "/script",
        "/script cold-email",
        "/script lor-request",
        "/goal set",
    ]
    mentioned = 0
    for line in lines:
        reply = await _reply(app, line)
        mentioned += sum(len(MARKED.findall(t)) for t in readable(reply))
        for shown in readable(reply.with_hints("/imgbot ")):
            assert not RAW_COMMAND.search(shown), (line, shown)
    assert mentioned > len(lines)


def test_a_mention_ends_where_the_command_does() -> None:
    mark = build_registry().mark_commands
    assert mark("(see /script visa-line), but never") == f"(see {OPEN}script visa-line{CLOSE}), but never"
    assert mark("Set it with /profile set status and the scripts") == (
        f"Set it with {OPEN}profile set status{CLOSE} and the scripts"
    )
    assert mark("see /playbook section:more).") == f"see {OPEN}playbook section:more{CLOSE})."
    assert mark("in /goal are the small steps") == f"in {OPEN}goal{CLOSE} are the small steps"
    assert mark("and/or /nothing, https://x.org/script") == "and/or /nothing, https://x.org/script"
