"""Reply -> Block Kit and registry -> modal, as pure functions: limits, splitting, escaping, buttons."""

from __future__ import annotations

import json

from bot.core.context import App
from bot.core.reply import ActionStyle, Reply, Tone
from bot.frontends.slack.blocks import (
    BLOCKS_PER_MESSAGE,
    SECTION_TEXT,
    ButtonValue,
    escape,
    render,
    to_dicts,
)
from bot.frontends.slack.modals import ModalMeta, build_modal, field_of, read_submission

OWNER = "T1:U1"


def _texts(messages) -> str:
    out = []
    for m in messages:
        for b in to_dicts(m):
            if "text" in b:
                out.append(b["text"]["text"])
            out += [f["text"] for f in b.get("fields", [])]
            out += [
                e.get("text", {}).get("text", "") if isinstance(e.get("text"), dict) else e.get("text", "")
                for e in b.get("elements", [])
            ]
    return "\n".join(out)


def test_user_text_is_escaped_so_nothing_pings() -> None:
    reply = Reply(title="Contact <!channel>").text("Met <@U999> & <!here> at <https://x.org|x>")
    text = _texts(render(reply, owner=OWNER))
    assert "<" not in text and ">" not in text
    assert "&lt;!channel&gt;" in text and "&lt;@U999&gt;" in text and "&amp;" in text
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"


def test_hints_use_the_slack_command() -> None:
    from bot.core.hints import hint

    (m,) = render(Reply(title="Done").text(f"See {hint('contact list')}"), owner=OWNER)
    assert "/imgbot contact list" in _texts([m])


def test_a_long_reply_is_split_never_refused() -> None:
    reply = Reply(title="Big", tone=Tone.INFO)
    for i in range(120):
        reply.text(f"para {i} " * 500)
    reply.script("line\n" * 2000, heading="Script")
    messages = render(reply, owner=OWNER)
    assert len(messages) > 1
    for m in messages:
        blocks = to_dicts(m)  # slack_sdk's validators run here
        assert len(blocks) <= BLOCKS_PER_MESSAGE
        for b in blocks:
            if "text" in b:
                assert len(b["text"]["text"]) <= SECTION_TEXT


def test_scripts_are_preformatted_and_keep_their_lines() -> None:
    body = "Dear Dr Lee,\n\n  I am writing & hoping.\nBest,\nAmal"
    (m,) = render(Reply(title="Cold email").script(body, heading="Email", subject="Hello"), owner=OWNER)
    text = _texts([m])
    assert "```\n" + escape(body) + "\n```" in text


def test_buttons_carry_their_line_and_owner_and_go_only_where_allowed() -> None:
    reply = Reply(title="Due").action("nudge:done:4", "Done", "/nudges done 4", ActionStyle.PRIMARY)
    reply.action("nudge:snooze:4", "Snooze", "/nudges snooze 4 3d")
    (m,) = render(reply, owner=OWNER)
    actions = [b for b in to_dicts(m) if b["type"] == "actions"]
    assert len(actions) == 1
    values = [ButtonValue.decode(e["value"]) for e in actions[0]["elements"]]
    assert values == [
        ButtonValue(line="nudges done 4", owner=OWNER),
        ButtonValue(line="nudges snooze 4 3d", owner=OWNER),
    ]
    assert actions[0]["elements"][0]["style"] == "primary"
    (public,) = render(reply, owner=OWNER, buttons=False)
    assert not [b for b in to_dicts(public) if b["type"] == "actions"]
    assert "/imgbot nudges done 4" in _texts([public])
    assert ButtonValue.decode("not json") is None


async def test_a_modal_has_one_input_per_option_typed_by_kind(app: App) -> None:
    command = app.registry.get("contact add")
    assert command is not None
    meta = ModalMeta(command="contact add", owner=OWNER, channel="C1", response_url="http://x/r")
    view = build_modal(app, command, {"role": "attending", "met_on": "2026-12-01"}, meta).to_dict()
    kinds = {b["block_id"]: b["element"]["type"] for b in view["blocks"]}
    assert kinds["name"] == "plain_text_input" and kinds["role"] == "static_select"
    assert kinds["met_on"] == "datepicker" and kinds["notes"] == "plain_text_input"
    by_id = {b["block_id"]: b for b in view["blocks"]}
    assert by_id["notes"]["element"]["multiline"] is True
    assert by_id["name"]["optional"] is False and by_id["role"]["optional"] is True
    assert by_id["role"]["element"]["initial_option"]["value"] == "attending"
    assert by_id["met_on"]["element"]["initial_date"] == "2026-12-01"
    assert ModalMeta.decode(view["private_metadata"]) == meta

    imp = app.registry.get("contact import")
    assert imp is not None
    (block,) = build_modal(app, imp, {}, meta).to_dict()["blocks"]
    assert block["element"]["type"] == "file_input"
    show = app.registry.get("contact show")
    assert show is not None
    assert build_modal(app, show, {}, meta).to_dict()["blocks"][0]["element"]["type"] == "external_select"


def test_a_submission_reads_back_as_typed_values() -> None:
    state = {
        "name": {"value": {"type": "plain_text_input", "value": "Dr Maya Lee"}},
        "role": {"value": {"type": "static_select", "selected_option": {"value": "attending"}}},
        "met_on": {"value": {"type": "datepicker", "selected_date": "2026-12-01"}},
        "notes": {"value": {"type": "plain_text_input", "value": None}},
        "file": {"value": {"type": "file_input", "files": [{"id": "F1"}]}},
    }
    got = read_submission(state)
    assert got.values == {"name": "Dr Maya Lee", "role": "attending", "met_on": "2026-12-01"}
    assert [f.id for f in got.files] == ["F1"]
    assert json.loads(got.model_dump_json())["files"][0]["id"] == "F1"


async def test_a_usage_message_is_shown_on_its_field(app: App) -> None:
    command = app.registry.get("contact add")
    assert command is not None
    assert field_of("option 'met_on': 'soon' is not a date", command) == "met_on"
    assert field_of("/contact add needs name: their name", command) == "name"
    assert field_of("something else", command) == "name"
