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
from typing import TYPE_CHECKING, Any

from bot.core.errors import UsageError
from bot.core.origin import Requirement

if TYPE_CHECKING:
    pass

Handler = Callable[..., Awaitable[Any]]


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

    @property
    def label(self) -> str:
        return self.name


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
    ) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.commands.append(Command(name, description, fn, tuple(options), group, private, help, requirement))
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
            raise UsageError("type a command, for example /help")
        first = words[0].lstrip("/").lower()
        if first in self._groups:
            group = self._groups[first]
            subs = {c.name: c for c in self.in_group(first)}
            second = words[1].lower() if len(words) > 1 else None
            if second in subs:
                return subs[second], list(words[2:])
            close = difflib.get_close_matches(second, list(subs), n=1, cutoff=0.75) if second else []
            if close and second and ":" not in second:
                raise UsageError(f"/{first} has no subcommand '{words[1]}'; did you mean /{first} {close[0]}?")
            if group.default:
                return subs[group.default], list(words[1:])
            wanted = f"'{words[1]}' is not one" if second else "none was given"
            raise UsageError(f"/{first} needs a subcommand ({wanted}): {', '.join(sorted(subs))}")
        cmd = self._commands.get(first)
        if cmd is None or cmd.group is not None:
            close = difflib.get_close_matches(first, self.top_level_names(), n=1)
            suggestion = f"; did you mean /{close[0]}?" if close else "; try /help"
            raise UsageError(f"unknown command /{first}{suggestion}")
        return cmd, list(words[1:])

    # ------------------------------------------------------------ values
    @staticmethod
    def bind(command: Command, positional: Sequence[str], named: Mapping[str, str]) -> dict[str, str]:
        """Attach positional words and ``key:value`` pairs to option names."""
        raw: dict[str, str] = {}
        for key, value in named.items():
            opt = command.option(key.lower().replace("-", "_"))
            if opt is None:
                names = [o.name for o in command.options]
                close = difflib.get_close_matches(key.lower(), names, n=1)
                if close:
                    hint = f"did you mean {close[0]}?"
                elif names:
                    hint = f"it takes: {', '.join(names)}"
                else:
                    hint = "it takes no options"
                raise UsageError(f"/{command.qualified} has no option '{key}'; {hint}")
            raw[opt.name] = value
        free = [o for o in command.options if o.name not in raw]
        if len(positional) > len(free) and free and free[-1].type == OptionType.TEXT:
            # the last free-text option takes the rest of the line: /contact log #3 emailed today sent my CV
            keep = len(free) - 1
            positional = [*positional[:keep], " ".join(positional[keep:])]
        if len(positional) > len(free):
            extra = " ".join(positional[len(free) :])
            raise UsageError(
                f"/{command.qualified}: too many values (left over: {extra}); "
                'put quotes around text with spaces, e.g. name:"Dr Maya Lee"'
            )
        for opt, value in zip(free, positional, strict=False):
            raw[opt.name] = value
        return raw


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
