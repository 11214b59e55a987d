"""Modals built from the registry: a command typed without a required option opens one.

Each option becomes one input block (``block_id`` = the option name) whose element follows
the option's type: choices -> ``static_select``, a date -> ``datepicker``, an autocomplete
source -> ``external_select``, a file -> ``file_input``, a number -> ``number_input``, any
other text -> ``plain_text_input`` (multiline for notes). Values already typed are filled in.
The view's private metadata (:class:`ModalMeta`) names the command and where to answer, so a
submission needs no memory of the modal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from slack_sdk.models.blocks import (
    Block,
    DatePickerElement,
    ExternalDataSelectElement,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.blocks.block_elements import FileInputElement
from slack_sdk.models.views import View

from bot.core.context import App
from bot.core.dispatch import choices_for
from bot.core.registry import Choice, Command, Form, OptionType
from bot.core.registry import Option as CoreOption
from bot.frontends.kit import truncate

CALLBACK = "imgbot-modal"
VALUE = "value"  # the action id of every input element; autocomplete ones are "ac-<source>"
AUTOCOMPLETE_PREFIX = "ac-"

# Block Kit's limits for modals.
TITLE = 24
LABEL = 2000
HINT = 2000
OPTION_TEXT = 75
OPTION_VALUE = 150
STATIC_OPTIONS = 100
TEXT_INPUT = 3000
METADATA = 3000
INPUT_BLOCKS = 100


class ModalMeta(BaseModel):
    """Carried in the view's ``private_metadata``: what to run and where to answer."""

    command: str
    owner: str  # the account the modal was opened for ("T1:U2")
    channel: str | None = None
    response_url: str | None = None
    # a form (a Log my week button): the options its button carried, kept as they are
    form: bool = False
    fixed: dict[str, str] = {}

    @classmethod
    def decode(cls, text: str | None) -> ModalMeta | None:
        if not text:
            return None
        try:
            return cls.model_validate_json(text)
        except ValidationError:
            return None


def _option(choice: Choice) -> Option:
    return Option(text=truncate(choice.label or choice.value, OPTION_TEXT), value=choice.value[:OPTION_VALUE])


def element_for(app: App, opt: CoreOption, given: str | None) -> Any:
    """The Block Kit element for one registry option, with ``given`` as its initial value."""
    choices: Sequence[Choice] = choices_for(app, opt) if opt.type in (OptionType.CHOICE, OptionType.SPECIALTY) else ()
    if choices and len(choices) <= STATIC_OPTIONS:
        options = [_option(c) for c in choices]
        wanted = (given or "").strip().lower()
        initial = next(
            (
                o
                for o, c in zip(options, choices, strict=True)
                if wanted and wanted in (c.value.lower(), c.label.lower(), *(a.lower() for a in c.aliases))
            ),
            None,
        )
        return StaticSelectElement(action_id=VALUE, options=options, initial_option=initial)
    if opt.autocomplete or choices:
        source = opt.autocomplete or "specialty"
        return ExternalDataSelectElement(action_id=AUTOCOMPLETE_PREFIX + source, min_query_length=0)
    if opt.type == OptionType.DATE:
        initial_date = given if given and _is_iso(given) else None
        return DatePickerElement(action_id=VALUE, initial_date=initial_date)
    if opt.type == OptionType.FILE:
        return FileInputElement(action_id=VALUE, filetypes=["csv"], max_files=1)
    if opt.type == OptionType.INTEGER:
        return NumberInputElement(
            action_id=VALUE,
            is_decimal_allowed=False,
            initial_value=given if given and given.strip().lstrip("-").isdigit() else None,
            min_value=opt.min_value,
            max_value=opt.max_value,
        )
    placeholder = "YYYY-MM, e.g. 2027-09" if opt.type == OptionType.MONTH else None
    return PlainTextInputElement(
        action_id=VALUE,
        multiline=opt.multiline,
        max_length=min(opt.max_length, TEXT_INPUT),
        initial_value=given[: min(opt.max_length, TEXT_INPUT)] if given else None,
        placeholder=placeholder,
    )


def _is_iso(text: str) -> bool:
    try:
        date.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def build_modal(app: App, command: Command, given: Mapping[str, str], meta: ModalMeta) -> View:
    """The modal for ``command``: every option, required ones marked, typed values filled in."""
    blocks: list[Block] = []
    for opt in command.options[:INPUT_BLOCKS]:
        blocks.append(
            InputBlock(
                block_id=opt.name,
                label=truncate(opt.label, LABEL),
                hint=truncate(opt.chat_description, HINT) if opt.description else None,
                element=element_for(app, opt, given.get(opt.name)),
                optional=not opt.required,
            )
        )
    return View(
        type="modal",
        callback_id=CALLBACK,
        title=PlainTextObject(text=truncate(command.qualified, TITLE)),
        submit=PlainTextObject(text="Run"),
        close=PlainTextObject(text="Cancel"),
        blocks=blocks,
        private_metadata=meta.model_dump_json()[:METADATA],
    )


def build_form_modal(form: Form, meta: ModalMeta) -> View:
    """A core form (``Command.form``, pre-filled for whoever opened it) as a modal: one text input
    per field (``block_id`` = the field's name). The fixed options ride in the private metadata,
    so the submission needs nothing remembered: it works after a restart."""
    blocks: list[Block] = [
        InputBlock(
            block_id=f.name,
            label=truncate(f.label, LABEL),
            element=PlainTextInputElement(
                action_id=VALUE,
                multiline=f.multiline,
                max_length=min(f.max_length, TEXT_INPUT),
                initial_value=f.value[: min(f.max_length, TEXT_INPUT)] or None,
                placeholder=truncate(f.placeholder, 150) if f.placeholder else None,
            ),
            optional=not f.required,
        )
        for f in form.fields
    ]
    return View(
        type="modal",
        callback_id=CALLBACK,
        title=PlainTextObject(text=truncate(form.title, TITLE)),
        submit=PlainTextObject(text="Save"),
        close=PlainTextObject(text="Cancel"),
        blocks=blocks,
        private_metadata=meta.model_copy(update={"form": True, "fixed": dict(form.fixed)}).model_dump_json()[:METADATA],
    )


class SubmittedFile(BaseModel):
    """A file picked in a ``file_input``, as the submission describes it (downloaded with the bot token)."""

    id: str
    name: str = "upload.csv"
    size: int = 0
    mimetype: str = "text/csv"
    url: str | None = None


class Submitted(BaseModel):
    """A modal's values by option name, and the Slack files attached to a file input."""

    values: dict[str, str]
    files: list[SubmittedFile]


def read_submission(state: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> Submitted:
    """``view.state.values`` -> raw option values (what a user would have typed)."""
    values: dict[str, str] = {}
    files: list[SubmittedFile] = []
    for block_id, actions in state.items():
        for element in actions.values():
            kind = element.get("type")
            value: str | None
            if kind in ("static_select", "external_select"):
                selected = element.get("selected_option") or {}
                value = selected.get("value")
            elif kind == "datepicker":
                value = element.get("selected_date")
            elif kind == "file_input":
                files += [
                    SubmittedFile(
                        id=str(f["id"]),
                        name=str(f.get("name") or "upload.csv"),
                        size=int(f.get("size") or 0),
                        mimetype=str(f.get("mimetype") or "text/csv"),
                        url=f.get("url_private_download") or f.get("url_private"),
                    )
                    for f in element.get("files") or []
                    if f.get("id")
                ]
                value = None
            else:
                value = element.get("value")
            if value is not None and str(value).strip():
                values[block_id] = str(value)
    return Submitted(values=values, files=files)


_OPTION = re.compile(r"^option '([a-z_]+)'")
_NEEDS = re.compile(r"needs ([a-z_]+):")


def field_of(message: str, command: Command) -> str:
    """The option (block id) a usage message is about, or the first option."""
    for pattern in (_OPTION, _NEEDS):
        m = pattern.search(message)
        if m and command.option(m.group(1)) is not None:
            return m.group(1)
    return command.options[0].name if command.options else "value"
