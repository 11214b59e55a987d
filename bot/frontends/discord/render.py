"""Reply -> Discord messages: embeds, button rows and files, always within Discord's limits.

Pure (no I/O, no event loop), so it is unit-testable. A reply that is too long
for one message is split over several; nothing here ever fails because of
length. User-visible text is markdown-escaped and has its mentions broken
(``@\u200beveryone``), so echoed user input can neither format nor ping; every
send also carries ``AllowedMentions.none()``. Scripts go into code blocks,
untouched apart from breaking a stray fence, so they copy exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import discord

from bot.core.hints import SLASH
from bot.core.reply import (
    Action,
    ActionStyle,
    Attachment,
    Fields,
    ListBlock,
    Reply,
    ScriptBlock,
    Text,
    Tone,
)
from bot.frontends.kit import split_lines, split_text, truncate

# Discord's limits.
CONTENT = 2000
TITLE = 256
DESCRIPTION = 4096
FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
EMBEDS_PER_MESSAGE = 10
CHARS_PER_MESSAGE = 6000
BUTTONS_PER_ROW = 5
ROWS_PER_MESSAGE = 5
BUTTON_LABEL = 80
CUSTOM_ID = 100
FILES_PER_MESSAGE = 10

# A button's custom id is the command line it runs, so it works after a restart
# and a click is exactly what the clicker could have typed.
BUTTON_PREFIX = "imgbot:"
BUTTON_TEMPLATE = r"imgbot:(?P<line>[^\n]{1,93})"
# A button that opens its command as a form (a modal) pre-filled for the clicker; the modal it
# opens carries the same id, so its submission runs the command even after a restart.
FORM_PREFIX = "imgbot-form:"
FORM_TEMPLATE = r"imgbot-form:(?P<line>[^\n]{1,88})"

COLOURS: dict[Tone, int] = {
    Tone.INFO: 0x5865F2,
    Tone.SUCCESS: 0x57F287,
    Tone.WARNING: 0xFEE75C,
    Tone.ERROR: 0xED4245,
    Tone.NUDGE: 0xEB459E,
}
STYLES: dict[ActionStyle, discord.ButtonStyle] = {
    ActionStyle.PRIMARY: discord.ButtonStyle.primary,
    ActionStyle.SECONDARY: discord.ButtonStyle.secondary,
    ActionStyle.DANGER: discord.ButtonStyle.danger,
}
ZWSP = "\u200b"


@dataclass(frozen=True)
class Button:
    custom_id: str
    label: str
    style: discord.ButtonStyle


@dataclass
class OutMessage:
    """One Discord message: up to 10 embeds (6,000 characters), 5 button rows, 10 files."""

    embeds: list[discord.Embed] = field(default_factory=list)
    rows: list[list[Button]] = field(default_factory=list)
    files: list[Attachment] = field(default_factory=list)
    content: str | None = None


# ---------------------------------------------------------------- text safety
def neutralise(text: str) -> str:
    """Break @everyone, @here, role and user mentions so echoed text can never ping."""
    return discord.utils.escape_mentions(text)


def plain(text: str) -> str:
    """Text shown outside code blocks: markdown escaped, mentions broken."""
    return neutralise(discord.utils.escape_markdown(text, ignore_links=True))


def footer_text(text: str) -> str:
    """Text for an embed footer, which Discord shows as it is (no markdown): mentions broken,
    nothing escaped, so ``how_met:conference`` does not read ``how\\_met:conference``."""
    return neutralise(text)


def fenced(code: str) -> str:
    return "```\n" + code.replace("```", "`" + ZWSP + "``").rstrip() + "\n```"


def split_code(code: str, limit: int) -> list[str]:
    """Fenced chunks of at most ``limit`` characters, split between lines where possible."""
    room = limit - len(fenced(""))
    return ["```\n" + c + "\n```" for c in split_lines(code.replace("```", "`" + ZWSP + "``"), room)]


# ---------------------------------------------------------------- pieces
@dataclass(frozen=True)
class _Desc:
    text: str


@dataclass(frozen=True)
class _Field:
    name: str
    value: str
    inline: bool


_Piece = _Desc | _Field


def _heading(heading: str | None) -> str:
    return f"**{plain(heading)}**\n" if heading else ""


def _pieces(reply: Reply, extra_lines: list[str]) -> list[_Piece]:
    out: list[_Piece] = []
    if len(reply.title) > TITLE:
        out += [_Desc(t) for t in split_text(f"**{plain(reply.title)}**", DESCRIPTION)]
    for block in reply.blocks:
        match block:
            case Text(text=text, heading=heading):
                out += [_Desc(t) for t in split_text(_heading(heading) + plain(text), DESCRIPTION)]
            case ListBlock(items=items, heading=heading, ordered=ordered):
                lines = [f"{i}. {plain(it)}" if ordered else f"• {plain(it)}" for i, it in enumerate(items, 1)]
                out += [_Desc(t) for t in split_text(_heading(heading) + "\n".join(lines), DESCRIPTION)]
            case ScriptBlock(text=text, heading=heading, subject=subject):
                head = _heading(heading)
                if subject:
                    head += "Subject:\n" + fenced(subject) + "\n"
                chunks = split_code(text, DESCRIPTION)
                if len(head) + len(chunks[0]) <= DESCRIPTION:
                    chunks[0] = head + chunks[0]
                elif head:
                    out += [_Desc(t) for t in split_text(head.rstrip(), DESCRIPTION)]
                out += [_Desc(c) for c in chunks]
            case Fields(fields=fields):
                for f in fields:
                    name = truncate(plain(f.name), FIELD_NAME - 10) or ZWSP
                    for i, value in enumerate(split_text(plain(f.value) or "—", FIELD_VALUE)):
                        out.append(_Field(name if i == 0 else f"{name} (cont.)", value or ZWSP, f.inline))
    if extra_lines:
        out += [_Desc(t) for t in split_text("\n".join(extra_lines), DESCRIPTION)]
    return out


# ---------------------------------------------------------------- embeds
@dataclass
class _Draft:
    title: str | None = None
    description: str = ""
    fields: list[_Field] = field(default_factory=list)
    footer: str | None = None

    def size(self) -> int:
        return (
            len(self.title or "")
            + len(self.description)
            + len(self.footer or "")
            + sum(len(f.name) + len(f.value) for f in self.fields)
        )

    def takes(self, piece: _Piece) -> bool:
        if isinstance(piece, _Desc):
            # A description renders above fields: text after fields starts a new embed.
            return (
                not self.fields
                and len(self.description) + 2 + len(piece.text) <= DESCRIPTION
                and self.size() + 2 + len(piece.text) <= CHARS_PER_MESSAGE
            )
        return len(self.fields) < FIELDS and self.size() + len(piece.name) + len(piece.value) <= CHARS_PER_MESSAGE

    def add(self, piece: _Piece) -> None:
        if isinstance(piece, _Desc):
            self.description = f"{self.description}\n\n{piece.text}" if self.description else piece.text
        else:
            self.fields.append(piece)

    def embed(self, colour: int) -> discord.Embed:
        e = discord.Embed(title=self.title or None, description=self.description or None, colour=colour)
        for f in self.fields:
            e.add_field(name=f.name, value=f.value, inline=f.inline)
        if self.footer:
            e.set_footer(text=self.footer)
        if not (self.title or self.description or self.fields or self.footer):
            e.description = ZWSP
        return e


def _drafts(reply: Reply, pieces: list[_Piece]) -> list[_Draft]:
    title = plain(reply.title)
    drafts = [_Draft(title=title if title and len(reply.title) <= TITLE else None)]
    for piece in pieces:
        if not drafts[-1].takes(piece):
            drafts.append(_Draft())
        drafts[-1].add(piece)
    if reply.footer:
        footer = truncate(footer_text(reply.footer), FOOTER)
        if drafts[-1].size() + len(footer) > CHARS_PER_MESSAGE:
            drafts.append(_Draft())
        drafts[-1].footer = footer
    return drafts


# ---------------------------------------------------------------- buttons
def custom_id(action: Action) -> str:
    return (FORM_PREFIX if action.form else BUTTON_PREFIX) + action.command.strip().lstrip("/")


def _buttons(actions: list[Action], allowed: bool) -> tuple[list[list[Button]], list[str]]:
    """Button rows (one row per thing acted on), and text lines for actions that cannot be buttons."""
    rows: list[list[Button]] = []
    subjects: list[str] = []
    lines: list[str] = []
    seen: set[str] = set()
    for a in actions:
        cid = custom_id(a)
        if not allowed or len(cid) > CUSTOM_ID or "\n" in cid or cid in seen:
            if cid not in seen:
                lines.append(f"{plain(a.label)}: `{a.command.replace('`', chr(39))}`")
            continue
        seen.add(cid)
        subject = a.id.rsplit(":", 1)[-1]
        if not rows or len(rows[-1]) == BUTTONS_PER_ROW or subjects[-1] != subject:
            rows.append([])
            subjects.append(subject)
        label = truncate(neutralise(a.label), BUTTON_LABEL) or "…"
        rows[-1].append(Button(cid, label, STYLES.get(a.style, STYLES[ActionStyle.SECONDARY])))
    return rows, lines


# ---------------------------------------------------------------- messages
def render(reply: Reply, *, buttons: bool = True) -> list[OutMessage]:
    """Split ``reply`` into messages. ``buttons=False`` shows actions as commands instead.

    Buttons are only safe where no one but the reply's owner can press them (ephemeral
    replies and DMs): a click runs the command as the clicker.
    """
    reply = reply.with_hints(SLASH)  # command hints as Discord's slash commands: /contact list
    rows, lines = _buttons(reply.actions, buttons)
    colour = COLOURS.get(reply.tone, COLOURS[Tone.INFO])
    messages: list[OutMessage] = [OutMessage()]
    size = 0
    for draft in _drafts(reply, _pieces(reply, lines)):
        current = messages[-1]
        if len(current.embeds) == EMBEDS_PER_MESSAGE or size + draft.size() > CHARS_PER_MESSAGE:
            messages.append(OutMessage())
            size = 0
        messages[-1].embeds.append(draft.embed(colour))
        size += draft.size()
    for i in range(0, len(rows), ROWS_PER_MESSAGE):
        target = messages[-1] if i == 0 else OutMessage(content="More actions:")
        target.rows = rows[i : i + ROWS_PER_MESSAGE]
        if i:
            messages.append(target)
    files = list(reply.attachments)
    for i in range(0, len(files), FILES_PER_MESSAGE):
        target = messages[-1] if i == 0 and not messages[-1].content else OutMessage(content="More files:")
        target.files = files[i : i + FILES_PER_MESSAGE]
        if target is not messages[-1]:
            messages.append(target)
    return messages


def message_size(message: OutMessage) -> int:
    """Characters Discord counts toward the 6,000 limit (used by tests and checks)."""
    return sum(len(e) for e in message.embeds)
