"""Property-based fuzzing of every registry command and option type through the console's dispatch.

The rule, for every generated input: the reply is a usage message or a normal reply, never the
"Something went wrong ... (ref ...)" apology that marks an unhandled exception; no traceback and
nothing unprintable reaches the user; and when the reply is an error, no row of any table changed
(every table is read before and after, from the schema itself, so new tables are covered).

Two runs share the work (1,500+ examples in all, well under a minute on CI): whole typed lines
through :meth:`ConsoleFrontend.handle` (``parse_line_positions`` then ``run_command``), and typed
option values straight into :func:`bot.core.dispatch.run_command`, as Discord hands them over,
from a DM or from a community channel with or without admin rights.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.clock import ManualClock
from bot.core.context import App
from bot.core.dispatch import error_reply, run_command
from bot.core.errors import BotError
from bot.core.origin import Origin, Permission
from bot.core.registry import Command, Option, OptionType
from bot.core.reply import Reply, Tone
from bot.frontends.console import ConsoleFrontend
from bot.runtime import build_app
from bot.settings import Settings
from tests.conftest import PSYCH_PROFILE
from tests.helpers import START

APOLOGY = "Something went wrong"
EXAMPLES_LINES = int(os.environ.get("IMGBOT_FUZZ_LINES", "1100"))
EXAMPLES_TYPED = int(os.environ.get("IMGBOT_FUZZ_TYPED", "500"))

SEED_LINES = [
    PSYCH_PROFILE,
    '/contact add "Dr Maya Lee" role:attending institution:"Mass General" email:maya@example.org '
    "how_met:conference met_on:today tags:mentor notes:seed",
    '/contact add "Dr Omar Fathy" role:program-director how_met:email met_on:"3 days ago"',
    "/contact log #1 emailed today sent-cv",
    "/goal set emails 4 month",
]

# ------------------------------------------------------------------ values, by option type

NASTY = [
    "",
    " ",
    '"',
    "'",
    "“",
    "”",
    "„",
    "«",
    "\\",
    '\\"',
    "#",
    "#0",
    "#1",
    "#2",
    "#-1",
    "#99999999999999999999999",
    "#1e3",
    "@everyone",
    "@here",
    "<!channel>",
    "<@U123|maya>",
    "<@&123>",
    "<mailto:a@b.org|a@b.org>",
    "<https://x.org|x>",
    "&amp;",
    "\x00",
    "\x1b[31m",
    "\t",
    "\n",
    "\r",
    "\u200b",
    "\u202e",
    "\ufeff",
    "\udcff",
    "\ud800",
    "🙂",
    "Ω" * 3,
    "key:value",
    "name:",
    ":",
    "::",
    "/help",
    "x" * 201,
    "y" * 5001,
    "9" * 400,
    "NaN",
    "inf",
    "-0",
    "+5",
    "0x10",
    "1_000",
    "٣",
    "²",
    "1e9",
    "1.5",
    "2**63",
    str(2**63),
    str(-(2**63) - 1),
    "tag:",
    "tag:\udcff",
    "due",
    "mentor",
    "all",
    "Europe",
    "Etc",
    "../../etc/passwd",
    "/dev/zero",
    "/proc/self/fd/0",
    "%s%n",
    "{name}",
    "{0.__class__}",
    "'; DROP TABLE contacts; --",
    "_%",
]

DATES = [
    "today",
    "yesterday",
    "tomorrow",
    "3 days ago",
    "in 2 weeks",
    "in 99999999999 days",
    "99999999999 days ago",
    "-1 days ago",
    "0 days ago",
    "2026-02-30",
    "2026-13-01",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "1999-12-31",
    "2101-01-01",
    "2026-11-23T10:00",
    "20261123",
    "last tuesday",
    "in 1 month",
    "in 1000 years",
    "1 week ago",
]
MONTHS = [
    "2027-09",
    "2027-13",
    "2027-00",
    "0000-01",
    "9999-12",
    "99999-01",
    "2027-9",
    "2027/09",
    "Sep 2027",
    "-2027-01",
]
ZONES = ["UTC", "Africa/Cairo", "America/New_York", "Asia/Kolkata", "Europe", "Etc", "Etc/GMT+14", "Europe/Paris/"]
ZONES += ["UTC/../UTC", ".", "..", "posixrules", "localtime", "Factory", "EST5EDT", "x" * 300, "A/" * 200]

any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
ascii_words = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
# text a person would type: names, places, notes (so commands get past parsing and into their handlers)
plain_words = st.lists(
    st.sampled_from(["Dr", "Maya", "Lee", "O'Brien", "Mass", "General", "#1", "#2", "psych", "mentor", "CL", "Cairo"]),
    min_size=1,
    max_size=3,
).map(" ".join)


def text_values() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NASTY),
        any_text,
        ascii_words,
        st.lists(st.sampled_from(NASTY), min_size=1, max_size=4).map("".join),
    )


def values_for(app: App, opt: Option, hostile: bool = True) -> st.SearchStrategy[str]:
    """Strings for one option: near-valid for its type, and (``hostile``) anything at all."""
    match opt.type:
        case OptionType.INTEGER:
            typed = st.one_of(st.integers().map(str), st.integers(-3, 10).map(str), st.sampled_from(NASTY[40:65]))
        case OptionType.CHOICE:
            names = [c.value for c in opt.choices] + [a for c in opt.choices for a in c.aliases]
            typed = st.one_of(
                st.sampled_from(names),
                st.sampled_from(names).map(str.upper),
                st.sampled_from(names).map(lambda s: s[: max(1, len(s) - 2)]),
            )
        case OptionType.SPECIALTY:
            names = [p.id for p in app.playbooks] + [a for p in app.playbooks for a in p.aliases]
            typed = st.one_of(st.sampled_from(names), st.sampled_from(names).map(str.title))
        case OptionType.DATE:
            typed = st.one_of(st.sampled_from(DATES), st.dates().map(lambda d: d.isoformat()))
        case OptionType.MONTH:
            typed = st.one_of(
                st.sampled_from(MONTHS),
                st.tuples(st.integers(-1, 12000), st.integers(-1, 14)).map("{0[0]}-{0[1]:02}".format),
            )
        case OptionType.TIMEZONE:
            typed = st.sampled_from(ZONES)
        case OptionType.FILE:
            typed = st.sampled_from(["/dev/null", "/dev/zero", "/nonexistent.csv", ".", "a\x00b.csv", "/etc"])
        case _:
            typed = st.nothing()
    if opt.type == OptionType.TEXT:
        return st.one_of(plain_words, plain_words, text_values()) if hostile else plain_words
    return st.one_of(typed, typed, text_values()) if hostile else typed


def quoted(value: str, how: str) -> str:
    if how == "bare":
        return value
    if how == "smart":
        return f"“{value}”"
    return f"{how}{value}{how}"


@st.composite
def command_lines(draw: st.DrawFn, app: App, files: list[str]) -> str:
    """One typed line for a registry command: options named, positional or left out, quoted any way."""
    if draw(st.integers(0, 19)) == 0:  # now and then: anything at all after a slash
        return "/" + draw(any_text)
    command: Command = draw(st.sampled_from(app.registry.commands))
    hostile = draw(st.booleans())  # else values a person might type, so handlers run, not only parsing
    words = ["/" + command.qualified]
    for opt in command.options:
        modes = (
            ["skip", "named", "positional", "positional"] if opt.required else ["skip", "skip", "named", "positional"]
        )
        mode = draw(st.sampled_from(modes))
        if mode == "skip":
            continue
        if opt.type == OptionType.FILE:
            value = draw(st.one_of(st.sampled_from(files), values_for(app, opt)))
        else:
            value = draw(values_for(app, opt, hostile))
        how = draw(st.sampled_from(["bare", '"', "'", "smart"] if hostile else ['"']))
        word = quoted(value, how)
        words.append(f"{opt.name}:{word}" if mode == "named" else word)
    if hostile and draw(st.integers(0, 4)) == 0:
        words.insert(draw(st.integers(1, len(words))), draw(text_values()))
    return " ".join(words)


# ------------------------------------------------------------------ the harness


class Harness:
    """One app on a SQLite file, its own event loop, a console user with seeded data."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.loop = asyncio.new_event_loop()
        self.app: App = self.loop.run_until_complete(
            build_app(Settings(database_url=f"sqlite:///{root}/fuzz.db"), ManualClock(START))  # type: ignore[call-arg]
        )
        self.out = io.StringIO()
        self.front = ConsoleFrontend(self.app, "fuzz-user", out=self.out, rich=False, attachments_dir=root)
        self.files = self._files()
        self.count = 0
        self.seed()

    def _files(self) -> list[str]:
        good = self.root / "good.csv"
        good.write_text("name,role,how_met\nDr Fuzz Good,peer,email\n", encoding="utf-8")
        bad = self.root / "bad.csv"
        bad.write_text('name,role\n"Dr Open,peer\n,surgeon\n', encoding="utf-8")
        binary = self.root / "binary.csv"
        binary.write_bytes(b"\x00\x01\xff\xfe" * 50)
        formula = self.root / "formula.csv"
        formula.write_text("name,notes\n'=1+1,'@SUM(A1)\n", encoding="utf-8")
        return [str(good), str(bad), str(binary), str(formula)]

    def seed(self) -> None:
        for line in SEED_LINES:
            reply = self.run(self.front.handle(line))
            assert reply is not None and reply.tone != Tone.ERROR, (line, reply.title)

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        db = self.app.store.db  # type: ignore[attr-defined]
        names = [r[0] for r in await db.all("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {n: sorted(map(tuple, await db.all(f"SELECT * FROM {n}")), key=repr) for n in names}

    def check(self, what: str, act: Any) -> None:
        """Run ``act`` (a coroutine giving a Reply and the printed text); apply the rule."""
        self.count += 1
        before = self.run(self.snapshot())
        reply, printed = self.run(act)
        assert APOLOGY not in printed and "Traceback" not in printed, (what, printed)
        printed.encode("utf-8")  # printable on a strict UTF-8 terminal: no lone surrogate echoed
        assert reply is not None
        if reply.tone == Tone.ERROR:
            assert reply.title.strip() and "\n" not in reply.title, (what, reply.title)
            after = self.run(self.snapshot())
            changed = [t for t in after if after[t] != before.get(t)]
            assert not changed, (what, reply.title, changed)
        if not self.run(self.app.store.all_contacts(1)):  # a fuzzed delete emptied it: seed again
            self.seed()

    async def line(self, line: str) -> tuple[Reply | None, str]:
        start = self.out.tell()
        reply = await self.front.handle(line)
        self.out.seek(start)
        return reply, self.out.read()

    async def typed(self, command: Command, raw: dict[str, Any], origin: Origin) -> tuple[Reply, str]:
        try:
            reply = await run_command(self.app, self.front.user, command, raw, origin=origin)
        except BotError as exc:
            reply = error_reply(exc)
        # (any other exception fails the test here, with its traceback)
        return reply, reply.plain_text()

    def close(self) -> None:
        self.run(self.app.store.close())
        self.loop.close()


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    h = Harness(tmp_path_factory.mktemp("fuzz"))
    yield h
    h.close()


FUZZ = settings(
    deadline=None,
    database=None,  # the same examples every run (derandomize), nothing written under .hypothesis
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_every_command_line_gets_a_usage_message_or_a_reply(harness: Harness) -> None:
    app = harness.app

    @settings(FUZZ, max_examples=EXAMPLES_LINES)
    @given(line=command_lines(app, harness.files))
    def one(line: str) -> None:
        harness.check(line, harness.line(line))

    one()


ORIGINS = [
    Origin.direct("console"),
    Origin("console", "IMG EM", "accountability", False, frozenset(), "IMG EM", "accountability"),
    Origin(
        "console",
        "IMG EM",
        "accountability",
        False,
        frozenset({Permission.MANAGE_COMMUNITY}),
        "IMG EM",
        "accountability",
    ),
]


@st.composite
def typed_calls(draw: st.DrawFn, app: App) -> tuple[Command, dict[str, Any], Origin]:
    """Option values as Discord hands them over: ints for integers, strings for the rest, any missing."""
    command: Command = draw(st.sampled_from(app.registry.commands))
    hostile = draw(st.booleans())
    raw: dict[str, Any] = {}
    for opt in command.options:
        if opt.type == OptionType.FILE or draw(st.booleans()):
            continue
        if opt.type == OptionType.INTEGER and draw(st.booleans()):
            raw[opt.name] = draw(st.integers())
        else:
            raw[opt.name] = draw(values_for(app, opt, hostile))
    return command, raw, draw(st.sampled_from(ORIGINS))


def test_every_typed_option_value_gets_a_usage_message_or_a_reply(harness: Harness) -> None:
    app = harness.app

    @settings(FUZZ, max_examples=EXAMPLES_TYPED)
    @given(call=typed_calls(app))
    def one(call: tuple[Command, dict[str, Any], Origin]) -> None:
        command, raw, origin = call
        harness.check(f"{command.qualified} {raw!r} from {origin}", harness.typed(command, raw, origin))

    one()


def test_the_fuzz_ran_the_examples_it_promises(harness: Harness) -> None:
    # (runs after the two above, in file order: hypothesis may stop early only when it runs out of inputs)
    assert harness.count >= 1500 * min(1.0, (EXAMPLES_LINES + EXAMPLES_TYPED) / 1600), harness.count
