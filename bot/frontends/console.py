"""The terminal console: the embedded default front end, no tokens and no server.

On a terminal it is a prompt_toolkit session (history, tab completion) with
rich rendering. With piped input it reads one command per line and prints
plain text, exiting 0 at the end of input.

Long text (a draft for ``/review``, notes) comes as a block: a command line ending in ``<<``
makes the lines after it, up to a line holding a single ``.`` (or the end of input), the
value of the command's first multi-line option not given on the line.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from bot.core.community.engine import CircleEngine
from bot.core.community.models import Place
from bot.core.context import App
from bot.core.csvio import MAX_BYTES
from bot.core.dispatch import (
    choices_for,
    error_reply,
    form_line,
    open_form,
    parse_line_positions,
    quote_hint,
    run_command,
)
from bot.core.errors import BotError, StorageError, UsageError
from bot.core.hints import SLASH
from bot.core.models import UserRef
from bot.core.nudges import NudgeEngine
from bot.core.origin import Origin, Permission
from bot.core.registry import OptionType, printable
from bot.core.reply import (
    Attachment,
    Fields,
    ListBlock,
    Reply,
    ScriptBlock,
    Text,
    Tone,
)

PLATFORM = "console"
BLOCK_START = "<<"  # a command line ending in this takes the next lines as its text block...
BLOCK_END = "."  # ...up to a line holding only this


def console_origin(community: str | None, channel: str | None, admin: bool) -> Origin:
    """The simulated place a console session types in: a DM unless ``--community`` is given."""
    if community is None:
        return Origin.direct(PLATFORM)
    name = channel or "general"
    return Origin(
        platform=PLATFORM,
        community=community,
        channel=name,
        is_dm=False,
        permissions=frozenset({Permission.MANAGE_COMMUNITY}) if admin else frozenset(),
        community_name=community,
        channel_name=name,
    )


class ConsolePort:
    """Delivers nudges by printing them, marked so they stand out."""

    def __init__(self, frontend: ConsoleFrontend) -> None:
        self.frontend = frontend
        self.seen_nonces: set[str] = set()

    async def deliver(self, user: UserRef, reply: Reply, nonce: str) -> None:
        if nonce in self.seen_nonces:  # same digest re-sent after a crash: show once
            return
        self.seen_nonces.add(nonce)
        self.frontend.show(reply, nudge=True)


class ConsoleChannelPort:
    """Prints what a circle posts in the simulated community's channels, as it happens."""

    def __init__(self, frontend: ConsoleFrontend) -> None:
        self.frontend = frontend
        self.seen_nonces: set[str] = set()

    async def post(self, place: Place, reply: Reply, nonce: str) -> None:
        if nonce in self.seen_nonces:
            return
        self.seen_nonces.add(nonce)
        self.frontend.show(await self.frontend.prefill(reply), channel=place.channel)


class ConsoleCompleter(Completer):
    """Completes command names, subcommands, option keys and choice values."""

    def __init__(self, app: App) -> None:
        self.app = app

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        text = document.text_before_cursor
        words = text.split()
        current = "" if text.endswith(" ") else (words[-1] if words else "")
        done = words if text.endswith(" ") else words[:-1]
        reg = self.app.registry
        if not done:
            for name in reg.top_level_names():
                cand = "/" + name
                if cand.startswith(current if current.startswith("/") else "/" + current):
                    yield Completion(cand, start_position=-len(current))
            return
        first = done[0].lstrip("/")
        groups = {g.name for g in reg.groups}
        if first in groups and len(done) == 1:
            for c in reg.in_group(first):
                if c.name.startswith(current):
                    yield Completion(c.name, start_position=-len(current), display_meta=c.description[:40])
        try:
            command, _ = reg.resolve(done)
        except UsageError:
            return
        if ":" in current:
            key, _, partial = current.partition(":")
            opt = command.option(key)
            if opt is None:
                return
            values = [c.value for c in choices_for(self.app, opt)]
            if opt.type == OptionType.TIMEZONE:
                from bot.core.dates import timezone_names

                values = timezone_names(partial)
            for v in values:
                if v.lower().startswith(partial.lower()):
                    yield Completion(f"{key}:{v}", start_position=-len(current))
            return
        used = {w.split(":", 1)[0] for w in done if ":" in w}
        for o in command.options:
            if o.name not in used and o.name.startswith(current):
                yield Completion(f"{o.name}:", start_position=-len(current), display_meta=o.description[:40])


def _regular(shown: str, st: os.stat_result) -> None:
    if stat.S_ISREG(st.st_mode):
        if st.st_size > MAX_BYTES:
            raise BotError(f"that file is {st.st_size:,} bytes; the limit is {MAX_BYTES:,}")
        return
    if stat.S_ISDIR(st.st_mode):
        raise BotError(f"cannot read {shown}: it is a directory, not a file")
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        raise BotError(f"cannot read {shown}: it is a device, not a file")
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode):
        raise BotError(f"cannot read {shown}: it is a pipe, not a file")
    raise BotError(f"cannot read {shown}: it is not a regular file")


class ConsoleFrontend:
    def __init__(
        self,
        app: App,
        user: str,
        out: TextIO | None = None,
        rich: bool | None = None,
        attachments_dir: Path | None = None,
        origin: Origin | None = None,
    ) -> None:
        self.app = app
        self.user = UserRef(PLATFORM, user, user)
        self.origin = origin or Origin.direct(PLATFORM)
        self.out = out or sys.stdout
        self.rich = self.out.isatty() if rich is None else rich
        self.attachments_dir = attachments_dir or Path.cwd()
        self.port = ConsolePort(self)
        # a text block being collected: (command line without "<<", option name, lines so far)
        self._block: tuple[str, str, list[str]] | None = None
        self.channel_port = ConsoleChannelPort(self)
        self._console = None
        if self.rich:
            from rich.console import Console

            self._console = Console(file=self.out, highlight=False)

    # ------------------------------------------------------------ one line
    @property
    def collecting(self) -> bool:
        """True while the lines typed are a text block, not commands."""
        return self._block is not None

    async def handle(self, line: str) -> Reply | None:
        """Run one input line and print its reply; never raises for user errors."""
        if self._block is not None:
            if line.strip() != BLOCK_END:
                self._block[2].append(line.rstrip("\r\n"))
                return None
            return await self.finish_block()
        line = line.strip()
        if not line or line.startswith("#"):
            return None
        if not line.startswith("/"):
            line = "/" + line
        if line.endswith(BLOCK_START):
            return self._start_block(line[: -len(BLOCK_START)].rstrip())
        return await self._run(line)

    def _start_block(self, line: str) -> Reply | None:
        try:
            command, raw, _ = parse_line_positions(self.app, line)
        except Exception as exc:
            reply = error_reply(exc)
            self.show(reply)
            return reply
        opt = next((o for o in command.options if o.multiline and o.name not in raw), None)
        if opt is None:
            reply = error_reply(UsageError(f"/{command.qualified} takes no text block; leave out the {BLOCK_START}"))
            self.show(reply)
            return reply
        self._block = (line, opt.name, [])
        if self.out.isatty():
            self.out.write(f"(paste the {opt.name}, then a line with a single {BLOCK_END} to finish)\n")
        return None

    async def finish_block(self) -> Reply | None:
        """Run the command waiting for its text block (at ``.``, or at the end of input)."""
        if self._block is None:
            return None
        line, name, lines = self._block
        self._block = None
        return await self._run(line, {name: "\n".join(lines).strip("\n")})

    async def _run(self, line: str, block: dict[str, str] | None = None) -> Reply | None:
        positional: list[str] = []
        try:
            command, raw, positional = parse_line_positions(self.app, line)
            raw.update(block or {})
            files: tuple[Attachment, ...] = ()
            file_opt = next((o for o in command.options if o.type == OptionType.FILE), None)
            if file_opt is not None:
                path = raw.pop(file_opt.name, None)
                if path:
                    files = (self._read_file(path),)
            reply = await run_command(self.app, self.user, command, raw, files, origin=self.origin)
        except Exception as exc:  # the console's one error handler
            reply = error_reply(quote_hint(exc, positional) if isinstance(exc, UsageError) else exc)
        reply = await self.prefill(reply)
        self.show(reply)
        return reply

    async def prefill(self, reply: Reply) -> Reply:
        """A button that opens a form (Log my week) shows, here, the command line pre-filled for
        this console's user: what they would submit, ready to copy and edit."""
        if not any(a.form for a in reply.actions):
            return reply
        actions = []
        for a in reply.actions:
            if a.form:
                try:
                    command, form = await open_form(self.app, self.user, a.command, self.origin)
                    a = replace(a, command=form_line(command, form))
                except BotError:
                    pass  # not theirs to fill in (not a member): the plain command line stays
            actions.append(a)
        return replace(reply, actions=actions)

    def _read_file(self, path: str) -> Attachment:
        """A regular file of at most MAX_BYTES (+1, so the parser can say it is too big), read without
        ever blocking: a device, a pipe or a terminal is refused before it is opened."""
        shown = printable(path).replace("\x00", "\\0")
        if "\x00" in path:
            raise BotError(f"cannot read {shown}: a file name cannot contain NUL")
        p = Path(path).expanduser()
        try:
            _regular(shown, os.stat(p))
            fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
            try:
                _regular(shown, os.fstat(fd))  # the same file we looked at, not one swapped in meanwhile
                chunks: list[bytes] = []
                left = MAX_BYTES + 1
                while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
                    chunks.append(chunk)
                    left -= len(chunk)
            finally:
                os.close(fd)
        except OSError as exc:
            raise BotError(f"cannot read {shown}: {exc.strerror or exc}") from None
        return Attachment(p.name, b"".join(chunks), "text/csv")

    # ------------------------------------------------------------ output
    def _save_attachments(self, reply: Reply) -> list[str]:
        saved = []
        for att in reply.attachments:
            target = self.attachments_dir / Path(att.filename).name
            target.write_bytes(att.content)
            saved.append(str(target))
        return saved

    def show(self, reply: Reply, nudge: bool = False, channel: str | None = None) -> None:
        reply = reply.with_hints(SLASH)  # command hints as the console types them: /contact list
        saved = self._save_attachments(reply)
        if self._console is None:
            text = reply.plain_text()
            if saved:
                text += "\n" + "\n".join(f"saved: {s}" for s in saved)
            if nudge:
                text = "=== NUDGE ===\n" + text + "\n=== END NUDGE ==="
            if channel is not None:
                text = f"=== #{channel} ===\n" + text + f"\n=== END #{channel} ==="
            print(text, file=self.out, flush=True)
            return
        self._show_rich(reply, nudge, saved, channel)

    def _show_rich(self, reply: Reply, nudge: bool, saved: list[str], channel: str | None = None) -> None:
        """Rich output with no side borders, so a script copies from the terminal cleanly."""
        from rich.rule import Rule
        from rich.table import Table
        from rich.text import Text as RText

        con = self._console
        assert con is not None
        colour = {Tone.ERROR: "red", Tone.SUCCESS: "green", Tone.WARNING: "yellow", Tone.NUDGE: "magenta"}.get(
            reply.tone, "cyan"
        )
        title = ("🔔 NUDGE · " if nudge else "") + (f"#{channel} · " if channel else "") + reply.title
        if reply.tone == Tone.ERROR and not reply.blocks:
            con.print(RText(title, style="bold red"))
            return
        con.print(Rule(RText(title, style="bold"), style=colour, align="left"))
        for block in reply.blocks:
            match block:
                case Text(text=text, heading=heading):
                    if heading:
                        con.print(RText(heading, style="bold"))
                    con.print(RText(text))
                case Fields(fields=fields):
                    t = Table.grid(padding=(0, 2))
                    t.add_column(style="bold")
                    t.add_column()
                    for f in fields:
                        t.add_row(f.name, f.value)
                    con.print(t)
                case ListBlock(items=items, heading=heading, ordered=ordered):
                    if heading:
                        con.print(RText(heading, style="bold"))
                    for i, it in enumerate(items, 1):
                        con.print(RText(f"{i}. " if ordered else "• ", style=colour) + RText(it))
                case ScriptBlock(text=text, heading=heading, subject=subject):
                    con.print(
                        Rule(RText(heading or "copy from here", style="dim"), characters="┄", style="dim", align="left")
                    )
                    if subject:
                        con.print(RText(f"Subject: {subject}"), soft_wrap=True)
                        con.print()
                    con.print(RText(text.rstrip()), soft_wrap=True)
                    con.print(Rule(characters="┄", style="dim"))
        for a in reply.actions:
            con.print(RText(f"[{a.label}] ", style="bold " + colour) + RText(a.command, style="dim"))
        for path in saved:
            con.print(RText(f"saved: {path}", style="green"))
        if reply.footer:
            con.print(RText(reply.footer, style="dim"))


async def run_piped(
    front: ConsoleFrontend, engine: NudgeEngine, stream: TextIO, circles: CircleEngine | None = None
) -> int:
    """Non-interactive: deliver what is due, then one reply per input line."""
    await _deliver_due(front, engine, circles, recover=True)
    for line in stream:
        await front.handle(line)
        await _deliver_due(front, engine, circles)
    await front.finish_block()  # a block the input ended inside
    if circles is not None:
        await circles.drain()
    return 0


async def _deliver_due(
    front: ConsoleFrontend, engine: NudgeEngine, circles: CircleEngine | None = None, *, recover: bool = False
) -> None:
    """Deliver what is due (circle posts first, then nudges); a database fault (locked, full,
    read-only...) is one line, and the session goes on: the work stays owed, and the next command
    may well work."""
    try:
        if recover:
            await engine.recover()
        if circles is not None:
            await circles.run_due()
        await engine.run_due()
    except StorageError as exc:
        front.show(error_reply(StorageError(f"nudges not delivered: {exc.message}")))


def circle_engine(front: ConsoleFrontend, instance: str) -> CircleEngine | None:
    """Circle posts of the simulated community, printed in this console (none without --community)."""
    if front.origin.community is None:
        return None
    return CircleEngine(
        front.app, {PLATFORM: front.channel_port}, instance=f"{instance}-circles", community=front.origin.community
    )


async def run_interactive(
    front: ConsoleFrontend, engine: NudgeEngine, heartbeat: int, circles: CircleEngine | None = None
) -> int:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.patch_stdout import patch_stdout

    from bot.scheduler import NudgeScheduler

    sched = NudgeScheduler(
        engine, heartbeat, [circles] if circles is not None else []
    )  # hears of new work from the store
    try:
        from platformdirs import user_data_dir

        hist_path = Path(user_data_dir("imgbot", appauthor=False)) / "console_history"
        hist_path.parent.mkdir(parents=True, exist_ok=True)
        history: FileHistory | InMemoryHistory = FileHistory(str(hist_path))
    except OSError:
        history = InMemoryHistory()
    session: PromptSession[str] = PromptSession(
        history=history, completer=ConsoleCompleter(front.app), complete_while_typing=False
    )
    front.show(
        Reply(title="IMG Peer Bot console", footer="Type /help. Ctrl-D quits.").text(
            "Start with /profile set specialty:<em|im|psych|peds> track:<us-img|non-us-img> eras:YYYY-MM"
        )
    )
    with patch_stdout(raw=True):
        await sched.start()
        try:
            while True:
                try:
                    line = await session.prompt_async("   ...> " if front.collecting else "imgbot> ")
                except KeyboardInterrupt:
                    continue
                except EOFError:
                    break
                if not front.collecting and line.strip() in ("/quit", "/exit", "quit", "exit"):
                    break
                await front.handle(line)
        finally:
            await sched.shutdown()
    return 0


async def run_console(
    app: App,
    user: str,
    heartbeat: int,
    rate: float,
    stream: TextIO | None = None,
    out: TextIO | None = None,
    *,
    instance: str = "local",
    origin: Origin | None = None,
) -> int:
    stream = stream or sys.stdin
    front = ConsoleFrontend(app, user, out=out, origin=origin)
    # this session is one person: it delivers their nudges only, even on a database others share
    engine = NudgeEngine(
        app, {PLATFORM: front.port}, rate=max(rate, 50.0), instance=instance, account=front.user.account
    )
    circles = circle_engine(front, instance)
    try:
        if stream.isatty() and front.out.isatty():
            return await run_interactive(front, engine, heartbeat, circles)
        return await run_piped(front, engine, stream, circles)
    finally:
        await asyncio.shield(app.store.close())
