"""Persistent buttons: the custom id is the command line the button runs.

A click on ``imgbot:nudges done 42`` runs ``/nudges done 42`` as the clicker,
through the same path as a typed slash command, so buttons keep working after
a restart and can do nothing the clicker could not type. The core refuses a
nudge that is not the clicker's.
"""

from __future__ import annotations

import io
import re
from typing import Any, ClassVar, Protocol, Self

import discord

from bot.core.registry import Form
from bot.core.reply import Attachment
from bot.frontends.discord.render import BUTTON_PREFIX, BUTTON_TEMPLATE, FORM_PREFIX, FORM_TEMPLATE, Button

MODAL_TITLE = 45  # Discord's limits for a modal's title and a text input's label
MODAL_LABEL = 45
MODAL_VALUE = 4000


class ClickHandler(Protocol):
    async def click(self, interaction: discord.Interaction, line: str) -> None: ...

    async def open_modal(self, interaction: discord.Interaction, line: str) -> None: ...


class _LineButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"(?!)"):
    """A button whose custom id is a prefix and the command line it runs, so it works after a
    restart. Subclasses give the prefix, the template discord.py matches, and what a press does."""

    prefix: ClassVar[str] = ""

    def __init__(
        self,
        custom_id: str,
        label: str | None = None,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        row: int | None = None,
    ) -> None:
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id), row=row)

    @property
    def line(self) -> str:
        return "/" + self.custom_id.removeprefix(self.prefix)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        button = item if isinstance(item, discord.ui.Button) else None
        return cls(
            match.group(0), button.label if button else None, button.style if button else discord.ButtonStyle.secondary
        )

    async def callback(self, interaction: discord.Interaction) -> None:
        handler: ClickHandler = interaction.client.frontend  # type: ignore[attr-defined]
        await self.pressed(handler, interaction)

    async def pressed(self, handler: ClickHandler, interaction: discord.Interaction) -> None:
        raise NotImplementedError


class CommandButton(_LineButton, template=BUTTON_TEMPLATE):
    """A button that runs its command for whoever presses it."""

    prefix = BUTTON_PREFIX

    async def pressed(self, handler: ClickHandler, interaction: discord.Interaction) -> None:
        await handler.click(interaction, self.line)


class FormButton(_LineButton, template=FORM_TEMPLATE):
    """A button whose command opens as a modal, pre-filled for whoever presses it."""

    prefix = FORM_PREFIX

    async def pressed(self, handler: ClickHandler, interaction: discord.Interaction) -> None:
        await handler.open_modal(interaction, self.line)


def make_modal(form: Form, line: str) -> discord.ui.Modal:
    """A core form as a Discord modal. Its custom id is the button's, so the submission is
    handled from the id alone (``_ImgBot.on_interaction``), after a restart too."""
    modal = discord.ui.Modal(title=form.title[:MODAL_TITLE], custom_id=FORM_PREFIX + line.lstrip("/"), timeout=900)
    for f in form.fields:
        modal.add_item(
            discord.ui.TextInput(
                label=f.label[:MODAL_LABEL],
                custom_id=f.name,
                default=f.value or None,
                placeholder=f.placeholder,
                required=f.required,
                max_length=min(f.max_length, MODAL_VALUE),
                style=discord.TextStyle.paragraph if f.multiline else discord.TextStyle.short,
            )
        )
    return modal


def modal_values(data: dict[str, Any]) -> dict[str, str]:
    """The text inputs of a submitted modal, by custom id (action rows or labels, as Discord sends them)."""
    values: dict[str, str] = {}

    def walk(components: list[dict[str, Any]]) -> None:
        for c in components:
            if c.get("type") == 4 and "custom_id" in c:
                values[str(c["custom_id"])] = str(c.get("value") or "")
            walk(list(c.get("components") or []))
            if isinstance(c.get("component"), dict):
                walk([c["component"]])

    walk(list(data.get("components") or []))
    return values


def make_view(rows: list[list[Button]]) -> discord.ui.View | None:
    """A view of persistent buttons (needs a running event loop), or None for no buttons."""
    if not rows:
        return None
    view = discord.ui.View(timeout=None)
    for r, row in enumerate(rows):
        for b in row:
            kind = FormButton if b.custom_id.startswith(FORM_PREFIX) else CommandButton
            view.add_item(kind(b.custom_id, b.label, b.style, row=r))
    return view


def make_files(attachments: list[Attachment]) -> list[discord.File]:
    return [discord.File(io.BytesIO(a.content), filename=a.filename) for a in attachments]
