"""Commands are declared once, here, and every front end builds from them.

A :class:`Command` has a name (optionally inside a group such as ``contact``),
typed :class:`Option` specs and an async handler returning a
:class:`~bot.core.reply.Reply`. Front ends pass raw option values (strings from
a text line, or typed values from Discord); :meth:`Registry.convert` turns them
into Python values or raises :class:`UsageError` naming the option and the
closest valid choice.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from bot.core.errors import UsageError
from bot.core.hints import hint
from bot.core.origin import Requirement

Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class FormField:
    """One field of a form, with the value it opens pre-filled with."""

    name: str
    label: str  # at most 45 characters (Discord's modal label limit)
    value: str = ""
    required: bool = False
    multiline: bool = False
    max_length: int = 200
    placeholder: str | None = None


# Discord's modals hold five fields; a form is written so every front end can show it whole.
FORM_FIELDS = 5


@dataclass(frozen=True)
class Form:
    """A platform-neutral form: a Discord modal, a Slack modal, or a pre-filled line in the console.

    ``fixed`` are option values carried through unchanged (e.g. which program); the fields are what
    the person sees and edits. Submitting runs ``command`` with ``FormSpec.read`` of the values."""

    title: str
    command: str  # qualified name, e.g. "circle checkin"
    fields: tuple[FormField, ...]
    fixed: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= len(self.fields) <= FORM_FIELDS:
            raise ValueError(f"a form has 1 to {FORM_FIELDS} fields, not {len(self.fields)}")

    def values(self) -> dict[str, str]:
        return {f.name: f.value for f in self.fields}


@dataclass(frozen=True)
class FormSpec:
    """How a command opens as a form: ``build`` pre-fills it for the person who opens it (from the
    option values the button carries), ``read`` turns submitted field values into raw option values."""

    build: Callable[..., Awaitable[Form]]  # (ctx, **converted options) -> Form
    read: Callable[[Mapping[str, str]], dict[str, str]]


# The largest row id a database holds (a signed 64-bit integer): the domain bound for an id option.
# A front end whose platform has a smaller integer range narrows it itself.
ID_MAX = 2**63 - 1


class OptionType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    CHOICE = "choice"
    SPECIALTY = "specialty"  # choices come from the loaded playbooks; aliases accepted
    DATE = "date"  # ISO or relative ("3 days ago", "in 2 weeks")
    MONTH = "month"  # YYYY-MM
    TIMEZONE = "timezone"  # IANA name
    FILE = "file"  # an uploaded attachment


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Option:
    name: str
    description: str
    type: OptionType = OptionType.TEXT
    required: bool = False
    choices: tuple[Choice, ...] = ()
    default: Any = None
    # Name of an autocomplete source the front ends ask the core about
    # ("contact", "script-kind", "specialty", "timezone").
    autocomplete: str | None = None
    max_length: int = 200
    min_value: int | None = None
    max_value: int | None = None
    # A text option that may hold tabs and line breaks (notes); any other refuses them.
    multiline: bool = False

    @property
    def label(self) -> str:
        """The option as a form field's label: "Met on" for ``met_on``, "Draft" for ``draft``."""
        words = self.name.replace("_", " ")
        return words[:1].upper() + words[1:]

    @property
    def chat_description(self) -> str:
        """The description as a chat front end shows it (a modal's hint, a slash option's text):
        without its console-only note, e.g. "(console: end the line with << and paste it below)"."""
        return self.description.split(CONSOLE_NOTE)[0]


CONSOLE_NOTE = " (console:"  # an option description's note for console users only, to its end


@dataclass(frozen=True)
class Command:
    name: str
    description: str
    handler: Handler
    options: tuple[Option, ...] = ()
    group: str | None = None
    private: bool = True
    # Text shown in /help beyond the description (examples).
    help: str | None = None
    # Checked against the invocation's Origin before the handler runs.
    requirement: Requirement = Requirement.ANYONE
    # Set when a button may open this command as a form (modal) instead of running it at once.
    form: FormSpec | None = None

    @property
    def qualified(self) -> str:
        return f"{self.group} {self.name}" if self.group else self.name

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)


@dataclass(frozen=True)
class Group:
    name: str
    description: str
    # Subcommand run when the group is typed alone in a text front end
    # (``/contact`` = ``/contact list``). Discord always names the subcommand.
    default: str | None = None


@dataclass
class CommandSet:
    """Declarations collected by a module; :class:`Registry` merges them."""

    commands: list[Command] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    def group(self, name: str, description: str, default: str | None = None) -> None:
        self.groups.append(Group(name, description, default))

    def command(
        self,
        name: str,
        description: str,
        *options: Option,
        group: str | None = None,
        private: bool = True,
        help: str | None = None,
        requirement: Requirement = Requirement.ANYONE,
        form: FormSpec | None = None,
    ) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.commands.append(
                Command(name, description, fn, tuple(options), group, private, help, requirement, form)
            )
            return fn

        return deco


ChoiceProvider = Callable[[OptionType], Sequence[Choice]]


class Registry:
    def __init__(self, sets: Sequence[CommandSet] = ()) -> None:
        self._commands: dict[str, Command] = {}
        self._groups: dict[str, Group] = {}
        for s in sets:
            for g in s.groups:
                self.add_group(g)
            for c in s.commands:
                self.add(c)

    # ------------------------------------------------------------ building
    def add_group(self, group: Group) -> None:
        if group.name in self._groups or group.name in self._commands:
            raise ValueError(f"duplicate command or group name: {group.name}")
        self._groups[group.name] = group

    def add(self, command: Command) -> None:
        key = command.qualified
        if key in self._commands:
            raise ValueError(f"duplicate command name: /{key}")
        if command.group is None and command.name in self._groups:
            raise ValueError(f"duplicate command or group name: {command.name}")
        if command.group is not None and command.group not in self._groups:
            raise ValueError(f"/{key}: group '{command.group}' is not declared")
        names = [o.name for o in command.options]
        if len(names) != len(set(names)):
            raise ValueError(f"/{key}: two options share a name")
        seen_optional = False
        for o in command.options:
            if o.required and seen_optional:
                raise ValueError(f"/{key}: required option '{o.name}' follows an optional one")
            seen_optional = seen_optional or not o.required
        self._commands[key] = command

    # ------------------------------------------------------------ lookup
    @property
    def commands(self) -> list[Command]:
        return list(self._commands.values())

    @property
    def groups(self) -> list[Group]:
        return list(self._groups.values())

    def get(self, qualified: str) -> Command | None:
        return self._commands.get(qualified)

    def in_group(self, group: str) -> list[Command]:
        return [c for c in self._commands.values() if c.group == group]

    def top_level_names(self) -> list[str]:
        names = {c.group or c.name for c in self._commands.values()}
        return sorted(names)

    def resolve(self, words: Sequence[str]) -> tuple[Command, list[str]]:
        """Find the command named by the first word(s); return it and the rest."""
        if not words:
            raise UsageError(f"type a command, for example {hint('help')}")
        first = words[0].lstrip("/").lower()
        if first in self._groups:
            group = self._groups[first]
            subs = {c.name: c for c in self.in_group(first)}
            second = words[1].lower() if len(words) > 1 else None
            if second in subs:
                return subs[second], list(words[2:])
            # "/circle pair now" as written for people, for the subcommand named "pair-now"
            joined = f"{second}-{words[2].lower()}" if second and len(words) > 2 else None
            if joined in subs:
                return subs[joined], list(words[3:])
            close = difflib.get_close_matches(second, list(subs), n=1, cutoff=0.75) if second else []
            if close and second and ":" not in second:
                raise UsageError(
                    f"{hint(first)} has no subcommand '{words[1]}'; did you mean {hint(f'{first} {close[0]}')}?"
                )
            if group.default:
                return subs[group.default], list(words[1:])
            wanted = f"'{words[1]}' is not one" if second else "none was given"
            raise UsageError(f"{hint(first)} needs a subcommand ({wanted}): {', '.join(sorted(subs))}")
        cmd = self._commands.get(first)
        if cmd is None or cmd.group is not None:
            close = difflib.get_close_matches(first, self.top_level_names(), n=1)
            suggestion = f"; did you mean {hint(close[0])}?" if close else f"; try {hint('help')}"
            raise UsageError(f"unknown command {hint(first)}{suggestion}")
        return cmd, list(words[1:])

    # ------------------------------------------------------------ prose
    def mark_commands(self, text: str) -> str:
        """Prose (playbook text) with each ``/command ...`` it mentions written as a hint, so each
        front end shows it in its own syntax: ``(see /script visa-line)`` -> ``hint("script visa-line")``.

        A mention is ``/`` and a top-level name, then the group's subcommand if one follows, then
        the words that are the command's own: ``key:value`` for its options, an option name, or a
        choice value. It ends at the first other word (``/profile set status and the scripts``)."""
        if "/" not in text:
            return text
        return _MENTION.sub(lambda m: self._mention(m) or m.group(0), text)

    def _mention(self, m: re.Match[str]) -> str | None:
        first, rest = m.group(1), m.group(2)
        words = [first]
        tail = rest.split(" ")[1:] if rest else []
        if first in self._groups:
            subs = {c.name: c for c in self.in_group(first)}
            if tail and tail[0] in subs:
                command: Command | None = subs[tail.pop(0)]
                words.append(command.name)  # type: ignore[union-attr]
            else:
                default = self._groups[first].default
                command = subs.get(default) if default else None
        else:
            command = self._commands.get(first)
            if command is None or command.group is not None:
                return None
        names = {o.name for o in command.options} if command else set()
        values = {c.value for o in command.options for c in o.choices} if command else set()
        while tail:
            key, colon, _ = tail[0].partition(":")
            if not ((colon and key in names) or (not colon and (tail[0] in names or tail[0] in values))):
                break
            words.append(tail.pop(0))
        return hint(" ".join(words)) + "".join(" " + w for w in tail)

    # ------------------------------------------------------------ values
    @staticmethod
    def option_for(command: Command, key: str) -> Option:
        opt = command.option(key.lower().replace("-", "_"))
        if opt is None:
            names = [o.name for o in command.options]
            close = difflib.get_close_matches(key.lower(), names, n=1)
            if close:
                why = f"did you mean {close[0]}?"
            elif names:
                why = f"it takes: {', '.join(names)}"
            else:
                why = "it takes no options"
            raise UsageError(f"{hint(command.qualified)} has no option '{key}'; {why}")
        return opt

    @classmethod
    def slots(cls, command: Command, count: int, named: Mapping[str, str]) -> list[Option | None]:
        """The option each of ``count`` positional words goes to, given the ``key:value`` pairs;
        None for a word left over. The last free text option takes the rest of the line."""
        taken = {cls.option_for(command, key).name for key in named}
        free = [o for o in command.options if o.name not in taken]
        out: list[Option | None] = list(free[:count])
        if count > len(free):
            rest: Option | None = free[-1] if free and free[-1].type == OptionType.TEXT else None
            out += [rest] * (count - len(free))
        return out

    @classmethod
    def bind(cls, command: Command, positional: Sequence[str], named: Mapping[str, str]) -> dict[str, str]:
        """Attach positional words and ``key:value`` pairs to option names."""
        raw: dict[str, str] = {}
        for key, value in named.items():
            raw[cls.option_for(command, key).name] = value
        slots = cls.slots(command, len(positional), named)
        if None in slots:
            extra = " ".join(w for w, slot in zip(positional, slots, strict=True) if slot is None)
            raise UsageError(
                f"{hint(command.qualified)}: too many values (left over: {extra}); "
                'put quotes around text with spaces, e.g. name:"Dr Maya Lee"'
            )
        for word, slot in zip(positional, slots, strict=True):
            assert slot is not None
            # the last free-text option takes the rest of the line: /contact log #3 emailed today sent my CV
            raw[slot.name] = f"{raw[slot.name]} {word}" if slot.name in raw else word
        return raw


# "/" at a word's start, a command name, and the words that may follow it (each checked by _mention)
_MENTION = re.compile(r"(?:^|(?<=[\s(\"'“‘]))/([a-z][a-z-]*)((?: [A-Za-z0-9_-]+(?::[A-Za-z0-9_<>|-]+)?)*)")


# ---------------------------------------------------------------- converters
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def closest(word: str, options: Sequence[str]) -> str | None:
    match = difflib.get_close_matches(word.lower(), [o.lower() for o in options], n=1, cutoff=0.4)
    if not match:
        return None
    return next(o for o in options if o.lower() == match[0])


def match_choice(opt: Option, value: str, choices: Sequence[Choice]) -> str:
    wanted = value.strip().lower()
    for c in choices:
        if wanted in (c.value.lower(), c.label.lower(), *(a.lower() for a in c.aliases)):
            return c.value
    values = [c.value for c in choices]
    close = closest(wanted, values)
    suggestion = f"; did you mean {close}?" if close else ""
    raise UsageError(f"option '{opt.name}': '{value}' is not a choice ({', '.join(values)}){suggestion}")


def parse_month(opt_name: str, value: str) -> str:
    m = _MONTH.match(value.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2100:
        raise UsageError(f"option '{opt_name}': '{value}' is not a month; use YYYY-MM, e.g. 2027-09")
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def parse_int(opt: Option, value: Any) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise UsageError(f"option '{opt.name}': '{value}' is not a whole number") from None
    if opt.min_value is not None and number < opt.min_value:
        raise UsageError(f"option '{opt.name}': {number} is below the minimum of {opt.min_value}")
    if opt.max_value is not None and number > opt.max_value:
        raise UsageError(f"option '{opt.name}': {number} is above the maximum of {opt.max_value}")
    return number


_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` with any lone surrogate (bytes that were not UTF-8) shown as U+FFFD, so it can be echoed."""
    return _SURROGATE.sub("\ufffd", text)


def check_text(opt_name: str, value: str) -> str:
    """Refuse a lone surrogate (``\\udcff`` from undecodable bytes, ``\\ud800`` from a broken pair):
    no database can store it and no terminal can print it."""
    if _SURROGATE.search(value):
        raise UsageError(
            f"option '{opt_name}' contains characters that are not valid text (bytes that are not UTF-8); "
            "retype it or paste it again from its source"
        )
    return value


def parse_text(opt: Option, value: Any) -> str:
    text = check_text(opt.name, str(value)).strip()
    if len(text) > opt.max_length:
        raise UsageError(f"option '{opt.name}' is {len(text)} characters; the limit is {opt.max_length}")
    return text


def month_to_date(month: str) -> date:
    y, m = month.split("-")
    return date(int(y), int(m), 1)
