"""Persistent buttons: the custom id is the command line the button runs.

A click on ``imgbot:nudges done 42`` runs ``/nudges done 42`` as the clicker,
through the same path as a typed slash command, so buttons keep working after
a restart and can do nothing the clicker could not type. The core refuses a
nudge that is not the clicker's.
"""

from __future__ import annotations

import io
import re
from typing import Any, Protocol

import discord

from bot.core.reply import Attachment
from bot.frontends.discord.render import BUTTON_PREFIX, BUTTON_TEMPLATE, Button


class ClickHandler(Protocol):
    async def click(self, interaction: discord.Interaction, line: str) -> None: ...


class CommandButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=BUTTON_TEMPLATE):
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
        return "/" + self.custom_id.removeprefix(BUTTON_PREFIX)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> CommandButton:
        button = item if isinstance(item, discord.ui.Button) else None
        return cls(
            match.group(0), button.label if button else None, button.style if button else discord.ButtonStyle.secondary
        )

    async def callback(self, interaction: discord.Interaction) -> None:
        handler: ClickHandler = interaction.client.frontend  # type: ignore[attr-defined]
        await handler.click(interaction, self.line)


def make_view(rows: list[list[Button]]) -> discord.ui.View | None:
    """A view of persistent buttons (needs a running event loop), or None for no buttons."""
    if not rows:
        return None
    view = discord.ui.View(timeout=None)
    for r, row in enumerate(rows):
        for b in row:
            view.add_item(CommandButton(b.custom_id, b.label, b.style, row=r))
    return view


def make_files(attachments: list[Attachment]) -> list[discord.File]:
    return [discord.File(io.BytesIO(a.content), filename=a.filename) for a in attachments]
