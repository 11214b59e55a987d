"""Run a command: convert raw option values, call the handler, add pending notices.

Text front ends (console, Slack) hand over a whole line; Discord hands over
typed option values. Both end up in :func:`run_command`.
"""

from __future__ import annotations

import difflib
import logging
import re
import shlex
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from bot.core.context import App, Context
from bot.core.dates import parse_date, zone
from bot.core.errors import BotError, UsageError
from bot.core.models import UserRef
from bot.core.origin import Origin, check
from bot.core.registry import (
    Choice,
    Command,
    Option,
    OptionType,
    check_text,
    match_choice,
    parse_int,
    parse_month,
    parse_text,
    printable,
)
from bot.core.reply import Attachment, Reply, Text, Tone

log = logging.getLogger(__name__)

_KEY = re.compile(r"^([A-Za-z][A-Za-z_-]*):(.*)$", re.S)


_RAW_WORD = re.compile(r"""(?:"[^"]*"|'[^']*'|[^\s"'])+""")


def split_line(command_line: str) -> list[str]:
    try:
        return shlex.split(command_line.strip())
    except ValueError as exc:
        raise UsageError(f"could not read that line ({exc}); close every quote") from None


def _quoted_starts(command_line: str, words: list[str]) -> list[bool]:
    """For each word, whether it was typed starting with a quote (so it is text, never key:value)."""
    raw = _RAW_WORD.findall(command_line.strip())
    if len(raw) != len(words):  # backslash escapes and the like: no quoting information
        return [False] * len(words)
    return [r[:1] in ("'", '"') for r in raw]


def parse_line(app: App, line: str) -> tuple[Command, dict[str, str]]:
    """``/script cold-email specialty:em`` -> (command, {"kind": ..., "specialty": ...})."""
    command, raw, _ = parse_line_positions(app, line)
    return command, raw


def parse_line_positions(app: App, line: str) -> tuple[Command, dict[str, str], list[str]]:
    """As :func:`parse_line`, plus the names of the options that got positional words."""
    try:
        return _parse_line_positions(app, line)
    except UsageError as exc:  # it may quote the line: never echo what cannot be printed
        raise UsageError(printable(exc.message)) from None


def _parse_line_positions(app: App, line: str) -> tuple[Command, dict[str, str], list[str]]:
    words = split_line(line)
    quoted = _quoted_starts(line, words)
    command, rest = app.registry.resolve(words)
    rest_quoted = quoted[len(words) - len(rest) :]
    positional: list[str] = []
    named: dict[str, str] = {}
    names = [o.name for o in command.options]
    for word, was_quoted in zip(rest, rest_quoted, strict=True):
        m = None if was_quoted else _KEY.match(word)
        if m:
            key = m.group(1).lower().replace("-", "_")
            # an exact option name, or close enough to be a typo we should point out;
            # anything else (tag:mentor, https://...) is plain text
            if key in names or not names or difflib.get_close_matches(key, names, n=1, cutoff=0.6):
                if key in named:
                    raise UsageError(f"option '{key}' is given twice")
                named[m.group(1)] = m.group(2)
                continue
        positional.append(word)
    raw = app.registry.bind(command, positional, named)
    named_keys = {k.lower().replace("-", "_") for k in named}
    return command, raw, [k for k in raw if k not in named_keys]


_OPTION_ERROR = re.compile(r"^option '([a-z_]+)'")


def quote_hint(exc: UsageError, positional: list[str]) -> UsageError:
    """A bad positional value after another one is usually unquoted text with spaces: say so."""
    m = _OPTION_ERROR.match(exc.message)
    if m and "is not a" in exc.message and m.group(1) in positional and positional.index(m.group(1)) > 0:
        return UsageError(exc.message + ' (text with spaces needs quotes, e.g. "Dr Maya Lee")')
    return exc


def choices_for(app: App, opt: Option) -> Sequence[Choice]:
    if opt.type == OptionType.SPECIALTY:
        return [Choice(p.id, p.name, p.aliases) for p in app.playbooks]
    return opt.choices


def convert(ctx: Context, command: Command, raw: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for opt in command.options:
        value = raw.get(opt.name)
        if opt.type == OptionType.FILE:
            if ctx.files:
                out[opt.name] = ctx.files[0]
            elif opt.required:
                raise UsageError(f"/{command.qualified} needs a file: attach it to the command")
            else:
                out[opt.name] = None
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            if opt.required:
                raise UsageError(f"/{command.qualified} needs {opt.name}: {opt.description}")
            out[opt.name] = opt.default
            continue
        out[opt.name] = convert_value(ctx, opt, value)
    return out


def convert_value(ctx: Context, opt: Option, value: Any) -> Any:
    if isinstance(value, str):
        check_text(opt.name, value)  # every type: a choice or a date echoes what it refuses
    match opt.type:
        case OptionType.INTEGER:
            return parse_int(opt, value)
        case OptionType.CHOICE:
            return match_choice(opt, str(value), opt.choices)
        case OptionType.SPECIALTY:
            pb = ctx.app.playbooks.resolve(str(value))
            if pb is None:
                close = ctx.app.playbooks.closest(str(value))
                hint = f"; did you mean {close}?" if close else ""
                raise UsageError(
                    f"option '{opt.name}': no playbook for '{value}' ({', '.join(ctx.app.playbooks.ids)}){hint}"
                )
            return pb.id
        case OptionType.DATE:
            return parse_date(str(value), ctx.today, opt.name)
        case OptionType.MONTH:
            return parse_month(opt.name, str(value))
        case OptionType.TIMEZONE:
            return zone(str(value).strip()).key
        case _:
            return parse_text(opt, value)


async def run_command(
    app: App,
    user: UserRef,
    command: Command,
    raw: Mapping[str, Any],
    files: tuple[Attachment, ...] = (),
    *,
    notices: bool = True,
    origin: Origin | None = None,
) -> Reply:
    """Run one command for ``user``. Pending notices open the reply, unless ``notices=False``
    (a front end that shows them separately, e.g. privately after a public reply)."""
    started = time.perf_counter()
    outcome = "error"
    try:
        where = origin or Origin.direct(user.platform)
        check(command.requirement, where, command.qualified)
        ctx = await app.context(user, files, where)
        args = convert(ctx, command, raw)
        reply: Reply = await command.handler(ctx, **args)
        reply.private = command.private
        pending = await app.store.take_notices(ctx.user_id) if notices else []
        outcome = "ok"
    except BotError:
        outcome = "user_error"
        raise
    finally:
        app.telemetry.command(command.qualified, outcome, time.perf_counter() - started)
    if pending:
        reply.blocks.insert(0, Text("\n".join(pending), heading="Heads-up"))
    app.nudges_changed()
    return reply


async def run_line(
    app: App, user: UserRef, line: str, files: tuple[Attachment, ...] = (), origin: Origin | None = None
) -> Reply:
    command, raw, positional = parse_line_positions(app, line)
    try:
        return await run_command(app, user, command, raw, files, origin=origin)
    except UsageError as exc:
        raise quote_hint(exc, positional) from None


def error_reply(exc: BaseException) -> Reply:
    """What a user sees for any exception: the message of a BotError, else a reference."""
    if isinstance(exc, BotError):
        return Reply(title=exc.message, tone=Tone.ERROR)
    ref = uuid.uuid4().hex[:8]
    log.error("unhandled error (ref %s)", ref, exc_info=exc)
    return Reply(
        title=f"Something went wrong on our side (ref {ref}). Your data is unchanged; please try again.",
        tone=Tone.ERROR,
    )
