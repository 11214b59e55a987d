"""The platform-neutral reply every command handler returns.

A reply is an ordered list of typed blocks plus actions and attachments.
Front ends render it natively: Discord embeds and buttons, Slack Block Kit,
rich text in a terminal. Nothing here knows about any platform.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from bot.core.hints import SLASH, format_hints


class Tone(StrEnum):
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"
    NUDGE = "nudge"


@dataclass(frozen=True)
class Text:
    text: str
    heading: str | None = None


@dataclass(frozen=True)
class Field:
    name: str
    value: str
    inline: bool = True


@dataclass(frozen=True)
class Fields:
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class ListBlock:
    items: tuple[str, ...]
    heading: str | None = None
    ordered: bool = False


@dataclass(frozen=True)
class ScriptBlock:
    """A template meant to be copied as is."""

    text: str
    heading: str | None = None
    subject: str | None = None


Block = Text | Fields | ListBlock | ScriptBlock


class ActionStyle(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"
    DANGER = "danger"


@dataclass(frozen=True)
class Action:
    """A button. ``id`` is stable (``nudge:done:42``) so it still works after a restart.

    ``command`` is the equivalent command line, which text front ends print.
    """

    id: str
    label: str
    command: str
    style: ActionStyle = ActionStyle.SECONDARY
    # The command opens as a form (its Command.form) pre-filled for whoever presses it:
    # a modal on Discord and Slack, the pre-filled command line in the console.
    form: bool = False


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime: str
    alt: str = ""  # alt text for an image (a chart), where the platform shows one


@dataclass
class Reply:
    title: str
    blocks: list[Block] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    private: bool = True
    tone: Tone = Tone.INFO
    footer: str | None = None

    # small builders keep handlers readable
    def text(self, text: str, heading: str | None = None) -> Reply:
        self.blocks.append(Text(text, heading))
        return self

    def fields(self, *pairs: tuple[str, str], inline: bool = True) -> Reply:
        self.blocks.append(Fields(tuple(Field(n, v, inline) for n, v in pairs)))
        return self

    def bullets(self, items: list[str] | tuple[str, ...], heading: str | None = None, ordered: bool = False) -> Reply:
        if items:
            self.blocks.append(ListBlock(tuple(items), heading, ordered))
        return self

    def script(self, text: str, heading: str | None = None, subject: str | None = None) -> Reply:
        self.blocks.append(ScriptBlock(text, heading, subject))
        return self

    def action(
        self, id: str, label: str, command: str, style: ActionStyle = ActionStyle.SECONDARY, *, form: bool = False
    ) -> Reply:
        self.actions.append(Action(id, label, command, style, form))
        return self

    def attach(self, filename: str, content: bytes, mime: str, alt: str = "") -> Reply:
        self.attachments.append(Attachment(filename, content, mime, alt))
        return self

    def map_text(self, fn: Callable[[str], str], *, scripts: bool = True) -> Reply:
        """A copy with ``fn`` applied to every piece of text a user reads: title, headings, text,
        list items, fields, script headings and subjects (and script bodies unless ``scripts=False``),
        button labels and the footer. ``Action.command`` is left alone: it is run, not read."""

        def opt(text: str | None) -> str | None:
            return None if text is None else fn(text)

        blocks: list[Block] = []
        for block in self.blocks:
            match block:
                case Text(text=text, heading=heading):
                    blocks.append(Text(fn(text), opt(heading)))
                case Fields(fields=fields):
                    blocks.append(Fields(tuple(Field(fn(f.name), fn(f.value), f.inline) for f in fields)))
                case ListBlock(items=items, heading=heading, ordered=ordered):
                    blocks.append(ListBlock(tuple(fn(i) for i in items), opt(heading), ordered))
                case ScriptBlock(text=text, heading=heading, subject=subject):
                    blocks.append(ScriptBlock(fn(text) if scripts else text, opt(heading), opt(subject)))
        actions = []
        for a in self.actions:  # (Action is frozen: one left as it is needs no copy, and replace() is slow)
            label = fn(a.label)
            actions.append(a if label == a.label else replace(a, label=label))
        return replace(
            self,
            title=fn(self.title),
            blocks=blocks,
            actions=actions,
            attachments=list(self.attachments),
            footer=opt(self.footer),
        )

    def with_hints(self, prefix: str = SLASH) -> Reply:
        """A copy with every command hint (:mod:`bot.core.hints`) written in a front end's syntax:
        ``/`` on Discord and in the console, ``/imgbot `` on Slack. Front ends call it once per reply."""
        return self.map_text(lambda text: format_hints(text, prefix))

    def plain_text(self, prefix: str = SLASH) -> str:
        """A plain-text rendering, used by the console when piped and by tests; command hints
        are written with ``prefix``."""
        return format_hints(self._plain(), prefix)

    def _plain(self) -> str:
        out = [self.title]
        for block in self.blocks:
            match block:
                case Text(text=text, heading=heading):
                    out += ([f"## {heading}"] if heading else []) + [text]
                case Fields(fields=fields):
                    out += [f"{f.name}: {f.value}" for f in fields]
                case ListBlock(items=items, heading=heading, ordered=ordered):
                    if heading:
                        out.append(f"## {heading}")
                    out += [f"{i}. {it}" if ordered else f"- {it}" for i, it in enumerate(items, 1)]
                case ScriptBlock(text=text, heading=heading, subject=subject):
                    if heading:
                        out.append(f"## {heading}")
                    if subject:
                        out.append(f"Subject: {subject}")
                    out += ["```", text.rstrip(), "```"]
        for a in self.actions:
            out.append(f"[{a.label}] {a.command}")
        for att in self.attachments:
            out.append(f"(attachment: {att.filename}, {len(att.content)} bytes)")
        if self.footer:
            out.append(self.footer)
        return "\n".join(out)
