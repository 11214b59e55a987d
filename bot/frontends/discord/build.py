"""Registry -> discord.py app commands. Nothing is declared by hand.

discord.py reads a command's options from its callback's signature, so each
core :class:`~bot.core.registry.Command` gets a callback whose ``__signature__``
is synthesised: one keyword parameter per option, annotated with an
:class:`OptionTransformer` instance (discord.py's supported way to give an
option its Discord type, choices, length or range bounds, and autocomplete).
Descriptions and names go through the public ``describe`` and ``rename``
decorators. The transformers pass values through untouched: the core converts
and validates them (``run_command``), exactly as for the text front ends.
"""

from __future__ import annotations

import inspect
import keyword
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import discord
from discord import AppCommandOptionType, app_commands

from bot.core.context import App
from bot.core.dispatch import choices_for
from bot.core.registry import Choice, Command, Option, OptionType

DESCRIPTION = 100  # Discord's limit for command, option and choice names/descriptions
CHOICE_VALUE = 100  # ...and for a choice's value and a typed autocomplete value
CHOICES = 25  # Discord's maximum of fixed choices and of autocomplete suggestions
MAX_TEXT = 6000  # Discord's ceiling for a string option's max_length
MAX_INT = 2**53  # Discord's integer range

Suggest = Callable[[discord.Interaction, str], Awaitable[list[app_commands.Choice[str]]]]


class Handler(Protocol):
    """What the built commands call: the Discord front end."""

    async def invoke(self, interaction: discord.Interaction, command: Command, raw: dict[str, Any]) -> None: ...

    async def suggest(
        self, interaction: discord.Interaction, source: str, current: str
    ) -> list[app_commands.Choice[str]]: ...


def short(text: str, limit: int = DESCRIPTION) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class OptionTransformer(app_commands.Transformer):
    """A registry option as a typed Discord option; the value passes through unchanged."""

    def __init__(
        self,
        kind: AppCommandOptionType,
        *,
        min_value: int | None = None,
        max_value: int | None = None,
        choices: Sequence[Choice] = (),
    ) -> None:
        self._kind = kind
        self._min = min_value
        self._max = max_value
        self._choices = [app_commands.Choice(name=short(c.label) or c.value, value=c.value) for c in choices]

    @property
    def type(self) -> AppCommandOptionType:
        return self._kind

    @property
    def min_value(self) -> int | None:
        return self._min

    @property
    def max_value(self) -> int | None:
        return self._max

    @property
    def choices(self) -> list[app_commands.Choice[str | int | float]] | None:
        return list(self._choices) or None  # type: ignore[arg-type]

    async def transform(self, interaction: discord.Interaction, value: Any, /) -> Any:
        return value


class AutocompleteTransformer(OptionTransformer):
    """The same, with suggestions as the user types."""

    def __init__(self, kind: AppCommandOptionType, suggest: Suggest, **kw: Any) -> None:
        super().__init__(kind, **kw)
        self._suggest = suggest

    async def autocomplete(
        self,
        interaction: discord.Interaction,
        value: str | int | float,
        /,
    ) -> list[app_commands.Choice[str | int | float]]:
        return list(await self._suggest(interaction, str(value)))  # type: ignore[arg-type]


def _static(choices: Sequence[Choice]) -> Suggest:
    async def suggest(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        p = current.strip().lower()
        hits = [
            c
            for c in choices
            if not p or p in c.value.lower() or p in c.label.lower() or any(p in a.lower() for a in c.aliases)
        ]
        return [app_commands.Choice(name=short(c.label) or c.value, value=c.value) for c in hits[:CHOICES]]

    return suggest


def _from_source(handler: Handler, source: str) -> Suggest:
    async def suggest(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await handler.suggest(interaction, source, current)

    return suggest


def transformer(app: App, opt: Option, handler: Handler) -> OptionTransformer:
    """The Discord shape of one option: FILE -> attachment, INTEGER -> integer, else string."""
    if opt.type == OptionType.FILE:
        return OptionTransformer(AppCommandOptionType.attachment)
    if opt.type == OptionType.INTEGER:
        lo = max(opt.min_value, -MAX_INT) if opt.min_value is not None else None
        hi = min(opt.max_value, MAX_INT) if opt.max_value is not None else None
        kind = AppCommandOptionType.integer
    else:
        kind, lo, hi = AppCommandOptionType.string, None, max(1, min(opt.max_length, MAX_TEXT))
    choices = choices_for(app, opt) if opt.type in (OptionType.CHOICE, OptionType.SPECIALTY) else ()
    # Discord allows choices or autocomplete, not both; a named source wins (it can be dynamic).
    if opt.autocomplete:
        return AutocompleteTransformer(kind, _from_source(handler, opt.autocomplete), min_value=lo, max_value=hi)
    if len(choices) > CHOICES:
        return AutocompleteTransformer(kind, _static(choices), min_value=lo, max_value=hi)
    if choices:  # a fixed list needs no length bound
        return OptionTransformer(kind, choices=choices)
    return OptionTransformer(kind, min_value=lo, max_value=hi)


def asks_in_form(opt: Option) -> bool:
    """A required multi-line option: Discord's one-line option box is no place for it, so the
    slash command lets it be left out and the front end opens a form (a modal) for it."""
    return opt.required and opt.multiline and opt.type == OptionType.TEXT


def option_description(opt: Option) -> str:
    if asks_in_form(opt):
        return "leave empty to write it in a text box; " + opt.chat_description
    return opt.description or opt.name


def _param_name(name: str, index: int) -> str:
    return name if name.isidentifier() and not keyword.iskeyword(name) and name != "interaction" else f"option_{index}"


def make_command(app: App, command: Command, handler: Handler) -> app_commands.Command[Any, ..., None]:
    """One core command as a discord.py slash command whose callback hands raw values to ``handler``."""
    params = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)]
    names: dict[str, str] = {}
    for i, opt in enumerate(command.options):
        py = _param_name(opt.name, i)
        names[py] = opt.name
        # a required long text (a draft) may be left out: the front end then asks for it in a form
        default = inspect.Parameter.empty if opt.required and not asks_in_form(opt) else None
        params.append(
            inspect.Parameter(
                py, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=transformer(app, opt, handler)
            )
        )

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        raw = {names[k]: v for k, v in values.items() if v is not None}
        await handler.invoke(interaction, command, raw)

    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    callback.__name__ = callback.__qualname__ = "imgbot_" + command.qualified.replace(" ", "_").replace("-", "_")
    app_commands.describe(
        **{
            py: short(option_description(command.option(name)))  # type: ignore[arg-type]
            for py, name in names.items()
        }
    )(callback)
    renames = {py: name for py, name in names.items() if py != name}
    if renames:
        app_commands.rename(**renames)(callback)
    return app_commands.Command(name=command.name, description=short(command.description), callback=callback)


def build_commands(app: App, handler: Handler) -> list[app_commands.Command[Any, ..., None] | app_commands.Group]:
    """Every registry command: groups become slash-command groups with subcommands."""
    groups = {g.name: app_commands.Group(name=g.name, description=short(g.description)) for g in app.registry.groups}
    top: list[app_commands.Command[Any, ..., None] | app_commands.Group] = []
    for command in app.registry.commands:
        built = make_command(app, command, handler)
        if command.group is None:
            top.append(built)
        else:
            groups[command.group].add_command(built)
    top += [g for g in groups.values() if g.commands]
    return top
