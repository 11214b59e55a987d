"""Reply -> Slack messages in Block Kit, always within Block Kit's limits.

Pure (no I/O), so it is unit-testable. Blocks are slack_sdk's typed models, whose own
validators check every length before a request goes out. A reply too long for one message
is split over several; nothing here fails because of length.

Every piece of user text has ``&``, ``<`` and ``>`` escaped (:func:`escape`), so a contact
named ``<!channel>`` or ``<@U123>`` is shown as typed and pings nobody; text objects are
``verbatim`` so Slack does not turn bare channel names or URLs into links either. Scripts go
into ``` blocks so they copy as they are.

A button's value holds everything a click needs (the command line and the account it belongs
to, :class:`ButtonValue`), so buttons keep working after a restart and a stranger's click can
be refused without any state in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.core.reply import Action, ActionStyle, Attachment, Fields, ListBlock, Reply, ScriptBlock, Text, Tone
from bot.frontends.kit import split_lines, split_text, truncate

PREFIX = "/imgbot "  # command hints on Slack: /imgbot contact list

# Block Kit's limits.
BLOCKS_PER_MESSAGE = 50
SECTION_TEXT = 3000
FIELDS_PER_SECTION = 10
FIELD_TEXT = 2000
CONTEXT_TEXT = 2000
BUTTONS_PER_BLOCK = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
FALLBACK_TEXT = 3000  # the notification text (Slack allows more; nobody reads more there)

ACTION_PREFIX = "imgbot-"  # action ids: imgbot-0, imgbot-1 ... (unique within a message)
FENCE = "```"
ZWSP = "\u200b"

ICONS: dict[Tone, str] = {
    Tone.INFO: "",
    Tone.SUCCESS: ":white_check_mark: ",
    Tone.WARNING: ":warning: ",
    Tone.ERROR: ":x: ",
    Tone.NUDGE: ":bell: ",
}
# The character each icon shows as: a title that already starts with it gets no second one.
ICON_GLYPHS: dict[Tone, str] = {Tone.SUCCESS: "✅", Tone.WARNING: "⚠", Tone.ERROR: "❌", Tone.NUDGE: "🔔"}
STYLES: dict[ActionStyle, str | None] = {
    ActionStyle.PRIMARY: "primary",
    ActionStyle.SECONDARY: None,
    ActionStyle.DANGER: "danger",
}


ANYONE = "*"  # the owner of a button in a channel post: it runs as whoever presses it


class ButtonValue(BaseModel):
    """What a button carries: the command line it runs and the account ("T1:U2") it was made for
    (:data:`ANYONE` in a channel post); ``form``: the command opens as its form, pre-filled for the clicker."""

    line: str
    owner: str
    form: bool = False

    def encode(self) -> str:
        return self.model_dump_json(exclude_defaults=True)

    @classmethod
    def decode(cls, value: str | None) -> ButtonValue | None:
        if not value:
            return None
        try:
            return cls.model_validate_json(value)
        except ValidationError:
            return None


@dataclass
class SlackMessage:
    blocks: list[Block] = field(default_factory=list)
    text: str = ""  # notification / fallback text
    files: list[Attachment] = field(default_factory=list)


# ---------------------------------------------------------------- text safety
def escape(text: str) -> str:
    """The three characters Slack reads as markup: ``<!channel>`` becomes text that pings nobody."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)


def code(text: str) -> str:
    """Script text for a ``` block: escaped, with a fence inside the text broken."""
    return escape(text).replace(FENCE, "`" + ZWSP + "``").rstrip()


def _bold(text: str) -> str:
    return f"*{escape(text)}*"


# ---------------------------------------------------------------- blocks
def _sections(text: str) -> list[Block]:
    return [SectionBlock(text=md(t)) for t in split_text(text, SECTION_TEXT) if t.strip()]


def _script(block: ScriptBlock) -> list[Block]:
    out: list[Block] = []
    head = [_bold(block.heading)] if block.heading else []
    if block.subject:
        head.append(f"Subject: {FENCE}{code(block.subject)}{FENCE}")
    if head:
        out += _sections("\n".join(head))
    room = SECTION_TEXT - 2 * len(FENCE) - 2
    for chunk in split_lines(code(block.text), room):
        out.append(SectionBlock(text=md(f"{FENCE}\n{chunk}\n{FENCE}")))
    return out


def _fields(block: Fields) -> list[Block]:
    texts: list[str] = []
    for f in block.fields:
        name = truncate(escape(f.name), 200)
        for i, value in enumerate(split_text(escape(f.value) or "—", FIELD_TEXT - len(name) - 20)):
            label = name if i == 0 else f"{name} (cont.)"
            texts.append(f"*{label}*\n{value}")
    return [
        SectionBlock(fields=[md(t) for t in texts[i : i + FIELDS_PER_SECTION]])
        for i in range(0, len(texts), FIELDS_PER_SECTION)
    ]


def _content(reply: Reply) -> list[Block]:
    glyph = ICON_GLYPHS.get(reply.tone)
    icon = "" if glyph and reply.title.startswith(glyph) else ICONS.get(reply.tone, "")
    out: list[Block] = _sections(icon + _bold(reply.title)) if reply.title else []
    for block in reply.blocks:
        match block:
            case Text(text=text, heading=heading):
                out += _sections((_bold(heading) + "\n" if heading else "") + escape(text))
            case ListBlock(items=items, heading=heading, ordered=ordered):
                lines = [f"{i}. {escape(it)}" if ordered else f"• {escape(it)}" for i, it in enumerate(items, 1)]
                out += _sections((_bold(heading) + "\n" if heading else "") + "\n".join(lines))
            case ScriptBlock():
                out += _script(block)
            case Fields():
                out += _fields(block)
    return out


def button_blocks(actions: list[Action], owner: str) -> tuple[list[Block], list[Action]]:
    """Buttons grouped per thing acted on (``nudge:done:42`` and ``nudge:snooze:42`` share a
    block), and the actions that cannot be buttons (a command too long for a button value)."""
    blocks: list[Block] = []
    left: list[Action] = []
    rows: list[list[ButtonElement]] = []
    subjects: list[str] = []
    seen: set[str] = set()
    for a in actions:
        line = a.command.strip().lstrip("/")
        value = ButtonValue(line=line, owner=owner, form=a.form).encode()
        if line in seen:
            continue
        if len(value) > BUTTON_VALUE or "\n" in line:
            left.append(a)
            continue
        seen.add(line)
        subject = a.id.rsplit(":", 1)[-1]
        if not rows or len(rows[-1]) == BUTTONS_PER_BLOCK or subjects[-1] != subject:
            rows.append([])
            subjects.append(subject)
        rows[-1].append(
            ButtonElement(
                text=truncate(a.label, BUTTON_TEXT) or "…",
                action_id=f"{ACTION_PREFIX}{len(seen) - 1}",
                value=value,
                style=STYLES.get(a.style),
            )
        )
    blocks += [ActionsBlock(elements=list(row)) for row in rows]
    return blocks, left


def _action_lines(actions: list[Action]) -> list[Block]:
    if not actions:
        return []
    lines = [
        f"{escape(a.label)}: `{escape(PREFIX + a.command.strip().lstrip('/')).replace('`', chr(39))}`" for a in actions
    ]
    return _sections("\n".join(lines))


# ---------------------------------------------------------------- messages
def render(reply: Reply, *, owner: str, buttons: bool = True) -> list[SlackMessage]:
    """Split ``reply`` into messages of at most 50 blocks. ``buttons=False`` shows actions as
    commands to type: buttons run as the clicker, so they go only where only ``owner`` sees them
    (:func:`bot.frontends.kit.buttons_allowed`)."""
    reply = reply.with_hints(PREFIX)
    blocks = _content(reply)
    if buttons:
        rows, left = button_blocks(reply.actions, owner)
    else:
        rows, left = [], list(reply.actions)
    blocks += _action_lines(left)
    blocks += rows
    if reply.footer:
        blocks.append(ContextBlock(elements=[md(truncate(escape(reply.footer), CONTEXT_TEXT))]))
    if not blocks:
        blocks = [SectionBlock(text=md(ZWSP))]
    fallback = truncate(escape(reply.title), FALLBACK_TEXT) or "IMG Peer Bot"
    messages = [
        SlackMessage(blocks=blocks[i : i + BLOCKS_PER_MESSAGE], text=fallback)
        for i in range(0, len(blocks), BLOCKS_PER_MESSAGE)
    ]
    messages[-1].files = list(reply.attachments)
    return messages


def to_dicts(message: SlackMessage) -> list[dict[str, object]]:
    """The blocks as JSON objects (slack_sdk's validators run here)."""
    return [b.to_dict() for b in message.blocks]
