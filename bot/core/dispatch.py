"""Run a command: convert raw option values, call the handler, add pending notices.

Text front ends (console, Slack) hand over a whole line; Discord hands over
typed option values. Both end up in :func:`run_command`.
"""

from __future__ import annotations

import difflib
import logging
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from bot.core.context import App, Context
from bot.core.dates import parse_date, zone
from bot.core.errors import BotError, UsageError
from bot.core.hints import hint, strip_markers
from bot.core.models import UserRef
from bot.core.origin import Origin, check
from bot.core.registry import (
    Choice,
    Command,
    Form,
    Option,
    OptionType,
    Registry,
    check_text,
    match_choice,
    parse_int,
    parse_month,
    parse_text,
    printable,
)
from bot.core.reply import Attachment, Reply, Text, Tone
from bot.core.textin import Word, check_controls, normalise, split_words, typed_value

log = logging.getLogger(__name__)

_KEY = re.compile(r"^([A-Za-z][A-Za-z_-]*):(.*)$", re.S)
# a word that is a whole value by itself (a contact's #id): never part of a name spread over options
_ATOM = re.compile(r"^#\d+$")


def split_line(command_line: str) -> list[str]:
    """The words of a typed line, after :func:`bot.core.textin.normalise`."""
    return [w.text for w in split_words(normalise(command_line).strip())]


def parse_line(app: App, line: str) -> tuple[Command, dict[str, str]]:
    """``/script cold-email specialty:em`` -> (command, {"kind": ..., "specialty": ...})."""
    command, raw, _ = parse_line_positions(app, line)
    return command, raw


def parse_line_positions(app: App, line: str) -> tuple[Command, dict[str, str], list[str]]:
    """As :func:`parse_line`, plus the names of the options that got positional words.

    The line is normalised first (:mod:`bot.core.textin`: Slack's markup and entities, smart
    quotes, hint markers), so a front end passes the text exactly as its platform delivered it.
    """
    try:
        return _parse_line_positions(app, line)
    except UsageError as exc:  # it may quote the line: never echo what cannot be printed
        raise UsageError(printable(exc.message)) from None


def _parse_line_positions(app: App, line: str) -> tuple[Command, dict[str, str], list[str]]:
    text = normalise(line).strip()
    words = split_words(text)
    command, rest_texts = app.registry.resolve([w.text for w in words])
    rest = words[len(words) - len(rest_texts) :]
    positional: list[Word] = []
    named: dict[str, str] = {}
    names = [o.name for o in command.options]
    follows_named: set[int] = set()  # indexes (in positional) of words typed right after a key:value
    after_named = False
    for word in rest:
        m = None if word.quoted_start else _KEY.match(word.text)
        if m:
            key = m.group(1).lower().replace("-", "_")
            # an exact option name, or close enough to be a typo we should point out;
            # anything else (tag:mentor, https://...) is plain text
            if key in names or not names or difflib.get_close_matches(key, names, n=1, cutoff=0.6):
                if key in named:
                    raise UsageError(f"option '{key}' is given twice")
                named[m.group(1)] = m.group(2)
                after_named = True
                continue
        if after_named:
            follows_named.add(len(positional))
        after_named = False
        positional.append(word)
    _unknown_keys(command, positional, named)
    _ask_if_spread(text, command, positional, named, follows_named)
    raw = app.registry.bind(command, [w.text for w in positional], named)
    named_keys = {k.lower().replace("-", "_") for k in named}
    return command, raw, [k for k in raw if k not in named_keys]


def _unknown_keys(command: Command, positional: list[Word], named: Mapping[str, str]) -> None:
    """``key:value`` with a key that is no option is kept as text (``tags:mentor`` in a note, a
    link), but where it would land in an option that is not free text (a choice, a number, a
    date) it was meant as an option: say the key is unknown (``/mentor offer has no option
    'role'; it takes: stage, ...``) rather than that ``role:resident`` is not a choice."""
    slots = Registry.slots(command, len(positional), named)
    for word, slot in zip(positional, slots, strict=True):
        m = None if word.quoted_start else _KEY.match(word.text)
        if m and not m.group(2).startswith("//") and (slot is None or slot.type != OptionType.TEXT):
            Registry.option_for(command, m.group(1))


def _ask_if_spread(
    line: str, command: Command, positional: list[Word], named: Mapping[str, str], follows_named: set[int]
) -> None:
    """Unquoted words side by side that would land in different text options (``/contact add Dr Maya
    Lee role:attending``: name Dr, specialty Maya, institution Lee) are almost always one value
    typed without quotes: ask, showing the quoted line, rather than store the guess."""
    if any(w.quoted for w in positional):
        return  # the user quotes: the words outside quotes are meant one by one
    slots = Registry.slots(command, len(positional), named)
    run: list[int] = []
    for i, (word, slot) in enumerate(zip(positional, slots, strict=True)):
        texty = slot is not None and slot.type == OptionType.TEXT and not _ATOM.match(word.text)
        if texty and run and i not in follows_named:
            run.append(i)
            continue
        if _spreads(run, slots):
            break
        run = [i] if texty else []
    if not _spreads(run, slots):
        return
    first, last = positional[run[0]], positional[run[-1]]
    joined = " ".join(positional[i].text for i in run)
    quote = "'" if '"' in joined else '"'
    suggested = line[: first.start] + quote + joined + quote + line[last.end :]
    values: dict[str, list[str]] = {}
    for i in run:
        slot = slots[i]
        assert slot is not None
        values.setdefault(slot.name, []).append(positional[i].text)
    spelled = " ".join(f"{name}:" + (f'"{" ".join(ws)}"' if len(ws) > 1 else ws[0]) for name, ws in values.items())
    raise UsageError(
        f"did you mean {hint(suggested)}? Put quotes around text with spaces "
        f"(or, to give each value its own option, name them: {spelled})"
    )


def _spreads(run: list[int], slots: Sequence[Option | None]) -> bool:
    return len({slots[i].name for i in run if slots[i] is not None}) > 1  # type: ignore[union-attr]


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
                raise UsageError(f"{hint(command.qualified)} needs a file: attach it to the command")
            else:
                out[opt.name] = None
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            if opt.required:
                raise UsageError(f"{hint(command.qualified)} needs {opt.name}: {opt.description}")
            out[opt.name] = opt.default
            continue
        out[opt.name] = convert_value(ctx, opt, value)
    return out


def convert_value(ctx: Context, opt: Option, value: Any) -> Any:
    if isinstance(value, str):
        value = typed_value(value) if opt.type == OptionType.TEXT else strip_markers(value)
        check_text(opt.name, value)  # every type: a choice or a date echoes what it refuses
        check_controls(opt.name, value, multiline=opt.multiline)
    match opt.type:
        case OptionType.INTEGER:
            return parse_int(opt, value)
        case OptionType.CHOICE:
            return match_choice(opt, str(value), opt.choices)
        case OptionType.SPECIALTY:
            pb = ctx.app.playbooks.resolve(str(value))
            if pb is None:
                close = ctx.app.playbooks.closest(str(value))
                maybe = f"; did you mean {close}?" if close else ""
                raise UsageError(
                    f"option '{opt.name}': no playbook for '{value}' ({', '.join(ctx.app.playbooks.ids)}){maybe}"
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
        pending = await app.store.take_notices(ctx.user_id) if notices and ctx.notices_waiting else []
        outcome = "ok"
    except BotError:
        outcome = "user_error"
        raise
    finally:
        app.telemetry.command(command.qualified, outcome, time.perf_counter() - started)
    if pending:
        reply.blocks.insert(0, Text("\n".join(pending), heading="Heads-up"))
    return reply


async def run_line(
    app: App, user: UserRef, line: str, files: tuple[Attachment, ...] = (), origin: Origin | None = None
) -> Reply:
    command, raw, positional = parse_line_positions(app, line)
    try:
        return await run_command(app, user, command, raw, files, origin=origin)
    except UsageError as exc:
        raise quote_hint(exc, positional) from None


async def open_form(app: App, user: UserRef, line: str, origin: Origin | None = None) -> tuple[Command, Form]:
    """The form a button's command line opens, pre-filled for ``user`` (checked like the command)."""
    command, raw = parse_line(app, line)
    if command.form is None:
        raise UsageError(f"{hint(command.qualified)} does not open as a form; run it as a command")
    where = origin or Origin.direct(user.platform)
    check(command.requirement, where, command.qualified)
    ctx = await app.context(user, (), where)
    return command, await command.form.build(ctx, **convert(ctx, command, raw))


async def submit_form(
    app: App,
    user: UserRef,
    command_name: str,
    fixed: Mapping[str, str],
    values: Mapping[str, str],
    origin: Origin | None = None,
) -> Reply:
    """Run a form's command with what was submitted (the fixed options, then the fields read)."""
    command = app.registry.get(command_name)
    if command is None or command.form is None:
        raise UsageError(f"that form is from an older version of the bot; run the command instead (see {hint('help')})")
    raw = {**fixed, **command.form.read(values)}
    return await run_command(app, user, command, raw, origin=origin)


def form_line(command: Command, form: Form) -> str:
    """The command line a form would run with its pre-filled values: what the console prints."""
    assert command.form is not None
    raw = {**dict(form.fixed), **command.form.read(form.values())}
    words = [f"/{command.qualified}"]
    for key, value in raw.items():
        if value:
            words.append(f"{key}:{value}" if " " not in value and '"' not in value else f'{key}:"{value}"')
    return " ".join(words)


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
