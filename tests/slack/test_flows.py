"""Modals, public replies, mention escaping, App Home, nudge buttons across a restart and a
stranger's click, end to end: the real AsyncApp over Socket Mode against the Slack double."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.core.models import UserRef
from tests.slack.double import SlackDouble, pings, text_of
from tests.slack.live import PROFILE, LiveSlack


def _seen(double: SlackDouble, user: str = "U1") -> str:
    """Everything ``user`` was shown: ephemeral answers and DMs."""
    return "\n".join(text_of(m) for m in double.ephemerals(user) + double.dms(user))


def _contacts(live: LiveSlack) -> Any:
    assert live.app is not None
    return live.app.store


async def _names(live: LiveSlack, account: str = "T1:U1") -> list[str]:
    store = _contacts(live)
    uid = await store.ensure_user(UserRef("slack", account), live.clock.now())
    return [c.name for c in await store.all_contacts(uid)]


async def test_a_missing_required_option_opens_a_modal_from_the_registry(
    live: LiveSlack, slack_double: SlackDouble
) -> None:
    await live.say(PROFILE)
    await live.say("contact add role:attending", answer=False, channel="C1")
    await slack_double.wait_for(lambda: slack_double.open_modals("U1"), 5, "the modal")
    (modal,) = slack_double.open_modals("U1")
    kinds = {b["block_id"]: b["element"]["type"] for b in modal.blocks}
    assert kinds["name"] == "plain_text_input" and kinds["role"] == "static_select"
    assert kinds["met_on"] == "datepicker" and kinds["how_met"] == "static_select"
    role = next(b for b in modal.blocks if b["block_id"] == "role")
    assert role["element"]["initial_option"]["value"] == "attending"  # what was typed is filled in

    # a bad value comes back on its field and the modal stays open
    bad = await slack_double.submit(modal, {"name": "Dr Maya Lee", "email": "not an email at all"})
    if isinstance(bad.ack, dict) and bad.ack.get("response_action") == "errors":
        assert modal.open and modal.errors
        bad = await slack_double.submit(modal, {"name": "Dr Maya Lee", "met_on": "2026-11-22"})
    await slack_double.wait_for(lambda: "Added #1 Dr Maya Lee" in _seen(slack_double), 5, "the answer")
    assert await _names(live) == ["Dr Maya Lee"]
    assert not modal.open and slack_double.invalid == []


async def test_a_bad_date_in_a_modal_is_shown_on_that_field(live: LiveSlack, slack_double: SlackDouble) -> None:
    await live.say("contact log #1", answer=False)  # contact and type are required
    await slack_double.wait_for(lambda: slack_double.open_modals("U1"), 5, "the modal")
    (modal,) = slack_double.open_modals("U1")
    await live.say('contact add "Dr Maya Lee"')
    d = await slack_double.submit(modal, {"contact": "#1", "type": "emailed", "date": "2026-13-45"})
    assert isinstance(d.ack, dict) and d.ack["response_action"] == "errors", d.ack
    assert set(d.ack["errors"]) == {"date"} and modal.open


async def test_a_csv_comes_in_through_the_modals_file_input(live: LiveSlack, slack_double: SlackDouble) -> None:
    await live.say("contact import", answer=False)
    await slack_double.wait_for(lambda: slack_double.open_modals("U1"), 5, "the modal")
    (modal,) = slack_double.open_modals("U1")
    assert modal.blocks[0]["element"]["type"] == "file_input"
    upload = slack_double.file_for_input("in.csv", b"name,role\nDr Imported,peer\n")
    await slack_double.submit(modal, {"file": [upload]})
    await slack_double.wait_for(lambda: "Imported 1 contact" in _seen(slack_double), 5, "the import answer")
    assert await _names(live) == ["Dr Imported"]


async def test_public_commands_post_to_the_channel_without_buttons(live: LiveSlack, slack_double: SlackDouble) -> None:
    await live.say(PROFILE)
    d = await live.say("faq", channel="C1")
    assert d.ack is not None or d.posts
    posted = slack_double.messages("C1")
    assert posted and "FAQ" in text_of(posted[-1])
    assert not [b for m in posted for b in m.get("blocks") or [] if b["type"] == "actions"]
    # a personal command in the same channel stays ephemeral
    await live.say("profile show", channel="C1")
    assert "Dr Amal Hassan" in text_of(slack_double.ephemerals("U1")[-1])
    assert not any("Dr Amal Hassan" in text_of(m) for m in slack_double.messages("C1"))


async def test_user_text_that_looks_like_a_mention_pings_nobody(live: LiveSlack, slack_double: SlackDouble) -> None:
    # typed in the command line, Slack encodes it; typed into a modal it arrives raw
    await live.say('contact add "<!channel> and <@U2|ben>" notes:"<!here> &amp; <!everyone>"')
    await live.say("contact add", answer=False)
    await slack_double.wait_for(lambda: slack_double.open_modals("U1"), 5, "the modal")
    (modal,) = slack_double.open_modals("U1")
    await slack_double.submit(modal, {"name": "<!channel> <@U2> <!subteam^S1>", "notes": "<!here> & <@U3>"})
    await slack_double.wait_for(lambda: len(slack_double.ephemerals("U1")) >= 2, 5, "both answers")
    await live.say("contact list")
    await live.say("contact show #2")
    shown = slack_double.ephemerals("U1")
    assert "&lt;!channel&gt;" in "".join(str(m.get("blocks")) for m in shown)
    for message in shown + slack_double.messages("C1") + [p.body for p in slack_double.response_posts]:
        assert pings(message) == [], message


async def test_app_home_shows_follow_ups_goals_phase_and_quick_actions(
    live: LiveSlack, slack_double: SlackDouble
) -> None:
    await live.say(PROFILE)
    await live.say('contact add "Dr Maya Lee" specialty:psych how_met:conference met_on:2026-11-18')
    await live.say("goal set emails 4 month")
    await slack_double.open_home("U1")
    await slack_double.wait_for(lambda: slack_double.home("U1") is not None, 5, "the Home tab")
    home = slack_double.home("U1")
    assert home is not None
    text = text_of(home.as_slack())
    assert "Dr Maya Lee" in text and "emails" in text and "Now:" in text, text
    ids = [e["action_id"] for b in home.blocks if b["type"] == "actions" for e in b["elements"]]
    assert any("home" in i for i in ids) and len(ids) > 5  # quick actions and the follow-up's buttons
    # "Add contact" opens the modal
    await slack_double.click(home, ids[0])
    await slack_double.wait_for(lambda: slack_double.open_modals("U1"), 5, "the Add contact modal")
    assert slack_double.open_modals("U1")[0].blocks[0]["block_id"] == "name"
    assert slack_double.invalid == []


async def _due_nudge(live: LiveSlack, slack_double: SlackDouble) -> dict[str, Any]:
    await live.say(PROFILE.replace("Africa/Cairo", "UTC"))
    await live.say('contact add "Dr Maya Lee" specialty:psych how_met:conference met_on:today')
    live.clock.advance(timedelta(days=3, hours=1))  # psychiatry: 3-7 days after a conference
    outcome = await live.deliver()
    assert outcome.delivered >= 1, outcome
    (dm,) = [m for m in slack_double.dms("U1") if "Dr Maya Lee" in text_of(m)]
    assert dm["metadata"]["event_type"] == "imgbot_digest" and dm["metadata"]["event_payload"]["digest"]
    return dm


async def test_nudge_buttons_work_after_a_restart(live: LiveSlack, slack_double: SlackDouble) -> None:
    dm = await _due_nudge(live, slack_double)
    await live.restart()  # the buttons' state is in their values, not in memory
    done = next(e for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"] if "Done" in e["text"]["text"])
    d = await slack_double.click(dm, done["action_id"], user="U1")
    await slack_double.wait_for(lambda: d.posts, 5, "the click's answer")
    assert "Logged" in d.text, d.text
    again = await slack_double.click(dm, done["action_id"], user="U1")  # a second press acts once
    await slack_double.wait_for(lambda: again.posts, 5, "the second answer")
    assert "Logged" not in again.text or "already" in again.text.lower()


async def test_a_strangers_click_is_refused_privately(live: LiveSlack, slack_double: SlackDouble) -> None:
    dm = await _due_nudge(live, slack_double)
    shared = {**dm, "channel": "C1"}  # the same buttons where someone else can press them
    done = next(e for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"])
    d = await slack_double.click(shared, done["action_id"], user="U2")
    await slack_double.wait_for(lambda: d.posts, 5, "the refusal")
    assert "someone else" in d.text
    assert all(p.body.get("response_type", "ephemeral") == "ephemeral" for p in d.posts)
    assert not any("someone else" in text_of(m) for m in slack_double.messages("C1"))
    store = _contacts(live)
    uid = await store.ensure_user(UserRef("slack", "T1:U1"), live.clock.now())
    (contact,) = await store.all_contacts(uid)
    assert [kind for kind, _, _ in await store.interactions(contact.id)] == ["met"]  # nothing was logged


async def test_the_home_tabs_log_button_logs_what_the_follow_up_sends(
    live: LiveSlack, slack_double: SlackDouble
) -> None:
    """As a nudge's Done and /followups' button: after a thank-you is owed, the button says Thanked."""
    await live.say(PROFILE)
    await live.say('contact add "Dr Omar Said" how_met:email met_on:2026-11-18')
    await live.say("contact log #1 replied date:2026-11-19")  # a thank-you is owed, and is due
    await slack_double.open_home("U1")
    await slack_double.wait_for(lambda: slack_double.home("U1") is not None, 5, "the Home tab")
    home = slack_double.home("U1")
    assert home is not None
    labels = [e["text"]["text"] for b in home.blocks if b["type"] == "actions" for e in b["elements"]]
    assert "Thanked · #1" in labels and "Emailed · #1" not in labels, labels
