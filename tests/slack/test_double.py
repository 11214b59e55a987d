"""Tests of the Slack double itself, driven by the real slack_sdk clients (no bot code involved).

They pin what the double accepts and what it refuses the way Slack does, so the bot's Slack tests can
trust a refusal to mean "Slack would have refused this too".
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.oauth.installation_store import FileInstallationStore
from slack_sdk.oauth.state_store import FileOAuthStateStore
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.slack.double import (
    APP_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    SIGNING_SECRET,
    SlackDouble,
    block_problems,
    pings,
    sign,
    text_of,
)

MakeDouble = Callable[..., Awaitable[SlackDouble]]


def web_client(double: SlackDouble, team: str = "T1", **kw: Any) -> AsyncWebClient:
    return AsyncWebClient(token=double.bot_token(team), base_url=double.api_base, **kw)


async def refused(call: Awaitable[Any]) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        await call
    return info.value


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str, action_id: str = "go", value: str = "v") -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id, "value": value}


def modal(title: str = "Add contact", blocks: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": blocks if blocks is not None else [section("hello")],
        **extra,
    }


class Bot:
    """A minimal Socket Mode app built on slack_sdk's own SocketModeClient: acks with ``answer(request)``."""

    def __init__(self, double: SlackDouble) -> None:
        self.double = double
        self.raw: list[dict[str, Any]] = []
        self.requests: list[SocketModeRequest] = []
        self.answer: Callable[[SocketModeRequest], Awaitable[dict[str, Any] | bool | None]] | None = None
        self.client = SocketModeClient(
            app_token=APP_TOKEN, web_client=AsyncWebClient(base_url=double.api_base), ping_interval=30
        )
        self.client.message_listeners.append(self._on_raw)
        self.client.socket_mode_request_listeners.append(self._on_request)

    async def _on_raw(self, client: Any, message: dict[str, Any], raw: str | None) -> None:
        self.raw.append(message)

    async def _on_request(self, client: SocketModeClient, request: SocketModeRequest) -> None:
        self.requests.append(request)
        payload = await self.answer(request) if self.answer is not None else None
        if payload is False:
            return  # no ack at all
        response = SocketModeResponse(envelope_id=request.envelope_id, payload=payload or None)
        await client.send_socket_mode_response(response)

    async def __aenter__(self) -> Bot:
        await self.client.connect()
        await self.double.wait_connected()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()


@pytest.fixture
async def bot(slack_double: SlackDouble) -> AsyncIterator[Bot]:
    async with Bot(slack_double) as b:
        yield b


# ====================================================================== Web API: accepted calls


async def test_auth_test_names_each_workspace_and_its_bot(slack_double: SlackDouble) -> None:
    slack_double.add_team("T2", name="IMG IM", enterprise_id="E1")
    one = await web_client(slack_double).auth_test()
    two = await web_client(slack_double, "T2").auth_test()
    assert (one["team_id"], one["user_id"], one["bot_id"]) == ("T1", "UBT1", slack_double.teams["T1"].bot_id)
    assert two["team_id"] == "T2" and two["enterprise_id"] == "E1" and two["bot_id"] != one["bot_id"]
    assert slack_double.bot_token("T1") != slack_double.bot_token("T2")


async def test_unknown_missing_and_wrong_kind_of_tokens_are_refused(slack_double: SlackDouble) -> None:
    bad = AsyncWebClient(token="xoxb-nope", base_url=slack_double.api_base)
    assert (await refused(bad.auth_test())).response["error"] == "invalid_auth"
    anonymous = AsyncWebClient(base_url=slack_double.api_base)
    assert (await refused(anonymous.auth_test())).response["error"] == "not_authed"
    app_level = AsyncWebClient(token=APP_TOKEN, base_url=slack_double.api_base)
    assert (await refused(app_level.chat_postMessage(channel="C1", text="hi"))).response["error"] == (
        "not_allowed_token_type"
    )
    assert (await refused(web_client(slack_double).apps_connections_open(app_token=slack_double.bot_token()))).response[
        "error"
    ] == "not_allowed_token_type"
    assert (await refused(web_client(slack_double).api_call("chat.scheduleMessage"))).response[
        "error"
    ] == "unknown_method"
    assert slack_double.unknown == ["chat.scheduleMessage"]


async def test_post_message_with_form_or_json_bodies_stores_blocks_and_metadata(slack_double: SlackDouble) -> None:
    client = web_client(slack_double)
    sent = await client.chat_postMessage(
        channel="C1",
        text="fallback",
        blocks=[section("*hi*")],
        metadata={"event_type": "imgbot_digest", "event_payload": {"digest_id": 42}},
    )
    assert sent["channel"] == "C1" and sent["message"]["metadata"]["event_payload"] == {"digest_id": 42}
    # the same call as a form body with a JSON-encoded blocks argument (how api_call(data=...) sends it)
    await asyncio.sleep(1.0)  # one message per second per channel
    form = await client.api_call(
        "chat.postMessage", data={"channel": "C1", "text": "second", "blocks": json.dumps([section("two")])}
    )
    assert form["ok"]
    stored = slack_double.messages("C1")
    assert [m["text"] for m in stored] == ["fallback", "second"]
    assert stored[1]["blocks"] == [section("two")]
    assert float(stored[0]["ts"]) < float(stored[1]["ts"])


async def test_history_returns_metadata_only_when_asked(slack_double: SlackDouble) -> None:
    client = web_client(slack_double)
    dm = (await client.conversations_open(users="U1"))["channel"]["id"]
    meta = {"event_type": "imgbot_digest", "event_payload": {"digest_id": 7}}
    await client.chat_postMessage(channel=dm, text="your follow-ups", metadata=meta)
    plain = await client.conversations_history(channel=dm)
    full = await client.conversations_history(channel=dm, include_all_metadata=True)
    assert "metadata" not in plain["messages"][0]
    assert full["messages"][0]["metadata"] == meta


async def test_conversations_open_gives_a_dm_per_user_and_a_group_dm_for_several(slack_double: SlackDouble) -> None:
    client = web_client(slack_double)
    one = (await client.conversations_open(users="U1"))["channel"]["id"]
    again = (await client.conversations_open(users="U1"))["channel"]["id"]
    group = (await client.conversations_open(users="U1,U2"))["channel"]
    assert one.startswith("D") and one == again
    assert group["id"][0] in "GC" and group["is_mpim"]
    assert (await refused(client.conversations_open(users="U404"))).response["error"] == "user_not_found"
    await client.chat_postMessage(channel=one, text="nudge")
    assert [m["text"] for m in slack_double.dms("U1")] == ["nudge"]


async def test_a_group_dm_is_one_conversation_for_the_same_users_and_needs_mpim_write(
    slack_double: SlackDouble,
) -> None:
    client = web_client(slack_double)
    first = await client.conversations_open(users="U1,U2,U3")
    again = await client.conversations_open(users="U3,U1,U2")  # any order: the same people
    pair = await client.conversations_open(users="U1,U2")
    assert first["channel"]["id"] == again["channel"]["id"] != pair["channel"]["id"]
    assert "already_open" not in first and again["already_open"] is True
    await client.chat_postMessage(channel=pair["channel"]["id"], text="hello, both")
    assert [m["text"] for m in slack_double.messages(pair["channel"]["id"])] == ["hello, both"]
    # a user of another workspace cannot be in this workspace's group DM
    slack_double.add_team("T2")
    slack_double.add_user("T2", "U9", "zoe")
    assert (await refused(client.conversations_open(users="U1,U9"))).response["error"] == "user_not_found"
    # a token without mpim:write may still open one-to-one DMs, but no group DM
    slack_double.teams["T1"].scopes = {"chat:write", "im:write", "im:history"}
    no = (await refused(client.conversations_open(users="U1,U4"))).response
    assert no["error"] == "missing_scope" and no["needed"] == "mpim:write"
    assert (await client.conversations_open(users="U4"))["channel"]["id"].startswith("D")
    history = await refused(client.conversations_history(channel=pair["channel"]["id"]))
    assert history.response["needed"] == "mpim:history"


async def test_update_and_delete_change_the_stored_message(slack_double: SlackDouble) -> None:
    client = web_client(slack_double)
    ts = (await client.chat_postMessage(channel="C1", text="v1"))["ts"]
    updated = await client.chat_update(channel="C1", ts=ts, text="v2", blocks=[section("v2")])
    assert updated["text"] == "v2" and slack_double.messages("C1")[0]["text"] == "v2"
    assert (await refused(client.chat_update(channel="C1", ts="1.0", text="x"))).response[
        "error"
    ] == "message_not_found"
    await client.chat_delete(channel="C1", ts=ts)
    assert slack_double.messages("C1") == []


async def test_ephemeral_goes_to_one_member_of_the_channel(slack_double: SlackDouble) -> None:
    client = web_client(slack_double)
    answer = await client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert answer["message_ts"]
    assert [m["text"] for m in slack_double.ephemerals("U1")] == ["only you"]
    assert slack_double.ephemerals("U2") == [] and slack_double.messages("C1") == []
    slack_double.add_user("T1", "U9", "newcomer")
    assert (await refused(client.chat_postEphemeral(channel="C1", user="U9", text="x"))).response[
        "error"
    ] == "user_not_in_channel"


async def test_users_info_and_team_info(slack_double: SlackDouble) -> None:
    client = web_client(slack_double)
    admin = (await client.users_info(user="U3"))["user"]
    assert admin["is_admin"] and not admin["is_owner"] and admin["tz"]
    assert not (await client.users_info(user="U1"))["user"]["is_admin"]
    assert (await refused(client.users_info(user="U404"))).response["error"] == "user_not_found"
    assert (await client.team_info())["team"]["name"] == "IMG EM"


async def test_files_upload_v2_lands_in_the_dm_with_its_bytes(slack_double: SlackDouble) -> None:
    client = web_client(slack_double)
    dm = (await client.conversations_open(users="U1"))["channel"]["id"]
    result = await client.files_upload_v2(
        channel=dm, filename="contacts.csv", content="name,email\nDr Lee,lee@example.org\n", title="Contacts"
    )
    assert result["file"]["name"] == "contacts.csv"
    [f] = slack_double.files("U1")
    assert f.content == b"name,email\nDr Lee,lee@example.org\n" and f.title == "Contacts"
    assert slack_double.dms("U1")[0]["files"][0]["name"] == "contacts.csv"
    assert "(file contacts.csv)" in text_of(slack_double.dms("U1")[0])


async def test_complete_upload_refuses_a_file_never_uploaded(slack_double: SlackDouble) -> None:
    client = web_client(slack_double)
    got = await client.files_getUploadURLExternal(filename="a.ics", length=10)
    error = await refused(client.files_completeUploadExternal(files=[{"id": got["file_id"]}], channel_id="C1"))
    assert error.response["error"] == "file_not_found"


# ====================================================================== Web API: what Slack refuses


async def test_channels_the_bot_cannot_post_in(slack_double: SlackDouble) -> None:
    client = web_client(slack_double)
    assert (await refused(client.chat_postMessage(channel="C404", text="x"))).response["error"] == "channel_not_found"
    assert (await refused(client.chat_postMessage(channel="C2", text="x"))).response["error"] == "not_in_channel"
    slack_double.add_team("T2")
    other = web_client(slack_double, "T2")
    assert (await refused(other.chat_postMessage(channel="C1", text="x"))).response["error"] == "channel_not_found"


async def test_text_over_40000_characters_is_msg_too_long(slack_double: SlackDouble) -> None:
    client = web_client(slack_double)
    assert (await refused(client.chat_postMessage(channel="C1", text="x" * 40_001))).response["error"] == "msg_too_long"
    assert (await client.chat_postMessage(channel="C1", text="x" * 40_000))["ok"]


def too_many(n: int) -> list[dict[str, Any]]:
    return [section(f"line {i}") for i in range(n)]


BAD_BLOCKS = {
    "51 blocks": too_many(51),
    "section text 3001": [section("x" * 3001)],
    "11 fields": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
    "field 2001": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
    "header 151": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
    "mrkdwn header": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}],
    "button text 76": [{"type": "actions", "elements": [button("b" * 76)]}],
    "button value 2001": [{"type": "actions", "elements": [button("ok", value="v" * 2001)]}],
    "action_id 256": [{"type": "actions", "elements": [button("ok", action_id="a" * 256)]}],
    "block_id 256": [{**section("x"), "block_id": "b" * 256}],
    "duplicate block_id": [{**section("x"), "block_id": "same"}, {**section("y"), "block_id": "same"}],
    "duplicate action_id": [{"type": "actions", "elements": [button("a", "one"), button("b", "one")]}],
    "26 actions": [{"type": "actions", "elements": [button(str(i), f"a{i}") for i in range(26)]}],
    "11 context elements": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
    "empty text": [section("")],
    "101 options": [
        {
            "type": "actions",
            "elements": [
                {
                    "type": "static_select",
                    "action_id": "pick",
                    "options": [{"text": {"type": "plain_text", "text": str(i)}, "value": str(i)} for i in range(101)],
                }
            ],
        }
    ],
    "unknown block": [{"type": "carousel_of_doom"}],
}


@pytest.mark.parametrize("case", sorted(BAD_BLOCKS))
async def test_blocks_over_block_kit_limits_are_invalid_blocks(slack_double: SlackDouble, case: str) -> None:
    error = await refused(web_client(slack_double).chat_postMessage(channel="C1", text="t", blocks=BAD_BLOCKS[case]))
    assert error.response["error"] == "invalid_blocks"
    messages = error.response["response_metadata"]["messages"]
    assert messages and all(m.startswith("[ERROR] ") and "[json-pointer:/blocks" in m for m in messages)
    assert slack_double.messages("C1") == [] and slack_double.invalid


def test_blocks_at_the_limits_pass() -> None:
    at_limits = [
        *too_many(46),
        section("x" * 3000),
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        {"type": "actions", "elements": [button("b" * 75, "a" * 255, "v" * 2000)]},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2000}] * 10},
    ]
    assert len(at_limits) == 50
    assert block_problems(at_limits, "message") == []
    assert block_problems([*at_limits, *too_many(50)], "modal") == []
    assert block_problems(too_many(101), "home")


async def test_modal_limits_are_invalid_arguments(slack_double: SlackDouble) -> None:
    client = web_client(slack_double)
    cases = {
        "title 25": modal("t" * 25),
        "101 blocks": modal(blocks=too_many(101)),
        "input without submit": {
            "type": "modal",
            "title": {"type": "plain_text", "text": "Add"},
            "blocks": [
                {
                    "type": "input",
                    "label": {"type": "plain_text", "text": "Name"},
                    "element": {"type": "plain_text_input", "action_id": "name"},
                }
            ],
        },
        "private_metadata 3001": modal(private_metadata="m" * 3001),
        "submit 25": {**modal(), "submit": {"type": "plain_text", "text": "s" * 25}},
        "initial_option not an option": modal(
            blocks=[
                {
                    "type": "input",
                    "label": {"type": "plain_text", "text": "Role"},
                    "element": {
                        "type": "static_select",
                        "action_id": "role",
                        "options": [{"text": {"type": "plain_text", "text": "attending"}, "value": "attending"}],
                        "initial_option": {"text": {"type": "plain_text", "text": "chief"}, "value": "chief"},
                    },
                }
            ]
        ),
        "initial_date not a date": modal(
            blocks=[
                {
                    "type": "input",
                    "label": {"type": "plain_text", "text": "Met on"},
                    "element": {"type": "datepicker", "action_id": "met_on", "initial_date": "yesterday"},
                }
            ]
        ),
    }
    for name, view in cases.items():
        error = await refused(client.views_open(trigger_id=slack_double.trigger_for("U1"), view=view))
        assert error.response["error"] == "invalid_arguments", name
        assert "[json-pointer:/view" in error.response["response_metadata"]["messages"][0], name
    assert slack_double.views == {}
    huge = modal(blocks=[section("x" * 2900) for _ in range(90)])
    error = await refused(client.views_open(trigger_id=slack_double.trigger_for("U1"), view=huge))
    assert error.response["error"] == "view_too_large"


async def test_home_view_allows_100_blocks_not_101(slack_double: SlackDouble) -> None:
    client = web_client(slack_double)
    ok = await client.views_publish(user_id="U1", view={"type": "home", "blocks": too_many(100)})
    assert ok["view"]["type"] == "home" and len(slack_double.home("U1").blocks) == 100  # type: ignore[union-attr]
    error = await refused(client.views_publish(user_id="U1", view={"type": "home", "blocks": too_many(101)}))
    assert error.response["error"] == "invalid_arguments"


# ====================================================================== triggers and views


async def test_trigger_is_single_use(slack_double: SlackDouble) -> None:
    client = web_client(slack_double)
    trigger = slack_double.trigger_for("U1")
    opened = await client.views_open(trigger_id=trigger, view=modal())
    assert opened["view"]["id"].startswith("V") and opened["view"]["hash"]
    assert (await refused(client.views_open(trigger_id=trigger, view=modal()))).response[
        "error"
    ] == "exchanged_trigger_id"
    assert (await refused(client.views_open(trigger_id="1.2.nope", view=modal()))).response[
        "error"
    ] == "invalid_trigger_id"


async def test_trigger_expires(make_slack_double: MakeDouble) -> None:
    double = await make_slack_double(trigger_ttl=0.1)
    trigger = double.trigger_for("U1")
    await asyncio.sleep(0.15)
    error = await refused(web_client(double).views_open(trigger_id=trigger, view=modal()))
    assert error.response["error"] == "expired_trigger_id"


def test_slacks_default_trigger_lifetime_and_ack_deadline_are_three_seconds() -> None:
    double = SlackDouble()
    assert double.trigger_ttl == 3.0 and double.ack_timeout == 3.0


async def test_views_push_stacks_three_at_most_and_update_checks_the_hash(slack_double: SlackDouble) -> None:
    client = web_client(slack_double)
    root = (await client.views_open(trigger_id=slack_double.trigger_for("U1"), view=modal("One")))["view"]
    for title in ("Two", "Three"):
        pushed = await client.views_push(trigger_id=slack_double.trigger_for("U1"), view=modal(title))
        assert pushed["view"]["root_view_id"] == root["id"]
    error = await refused(client.views_push(trigger_id=slack_double.trigger_for("U1"), view=modal("Four")))
    assert error.response["error"] == "push_limit_reached"
    assert [v.view["title"]["text"] for v in slack_double.open_modals("U1")] == ["One", "Two", "Three"]
    updated = await client.views_update(view_id=root["id"], hash=root["hash"], view=modal("One again"))
    assert updated["view"]["hash"] != root["hash"]
    stale = await refused(client.views_update(view_id=root["id"], hash=root["hash"], view=modal("Late")))
    assert stale.response["error"] == "hash_conflict"
    assert (await refused(client.views_update(view_id="V404", view=modal()))).response["error"] == "not_found"


# ====================================================================== rate limits and faults


async def test_a_second_message_in_one_second_is_429_with_retry_after(slack_double: SlackDouble) -> None:
    client = web_client(slack_double)
    await client.chat_postMessage(channel="C1", text="one")
    error = await refused(client.chat_postMessage(channel="C1", text="two"))
    assert error.response.status_code == 429 and error.response["error"] == "ratelimited"
    assert int(error.response.headers["Retry-After"]) >= 1
    dm = (await client.conversations_open(users="U1"))["channel"]["id"]
    assert (await client.chat_postMessage(channel=dm, text="another channel is fine"))["ok"]
    assert slack_double.rate_limited == 1 and len(slack_double.messages("C1")) == 1
    await refused(client.chat_postMessage(channel="C1", text="retried at once, ignoring Retry-After"))
    assert [(scope, cid) for scope, cid, _ in slack_double.early_retries] == [("channel", "C1")]


async def test_the_sdk_rate_limit_handler_honours_retry_after(slack_double: SlackDouble) -> None:
    client = web_client(slack_double, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
    started = time.monotonic()
    await client.chat_postMessage(channel="C1", text="one")
    await client.chat_postMessage(channel="C1", text="two")
    assert time.monotonic() - started >= 1.0
    assert [m["text"] for m in slack_double.messages("C1")] == ["one", "two"]
    assert slack_double.rate_limited == 1 and slack_double.early_retries == []
    assert len(slack_double.posted_at) == 2


async def test_team_rate_limits_a_workspace_across_channels(make_slack_double: MakeDouble) -> None:
    double = await make_slack_double(team_rate=2.0)
    client = web_client(double)
    channels = [(await client.conversations_open(users=u))["channel"]["id"] for u in ("U1", "U2", "U3")]
    await client.chat_postMessage(channel=channels[0], text="a")
    await client.chat_postMessage(channel=channels[1], text="b")
    error = await refused(client.chat_postMessage(channel=channels[2], text="c"))
    assert error.response.status_code == 429


async def test_scripted_faults(slack_double: SlackDouble) -> None:
    client = web_client(slack_double)
    slack_double.fail_next("chat.postMessage", status=503)
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="C1", text="x")
    assert info.value.response.status_code == 503 and slack_double.messages("C1") == []
    slack_double.fail_next("conversations.open", error="ratelimited", status=429, retry_after=2)
    error = await refused(client.conversations_open(users="U1"))
    assert error.response.headers["Retry-After"] == "2"
    slack_double.fail_next("chat.postMessage", error="fatal_error", status=500, after_effect=True)
    await refused(client.chat_postMessage(channel="C1", text="stored anyway"))
    assert [m["text"] for m in slack_double.messages("C1")] == ["stored anyway"]
    app_level = AsyncWebClient(token=APP_TOKEN, base_url=slack_double.api_base)
    slack_double.fail_next("apps.connections.open", status=503)
    with pytest.raises(SlackApiError):
        await app_level.apps_connections_open(app_token=APP_TOKEN)
    assert (await app_level.apps_connections_open(app_token=APP_TOKEN))["url"].startswith("ws://127.0.0.1:")


# ====================================================================== OAuth


async def test_oauth_v2_access_installs_with_a_new_token(slack_double: SlackDouble) -> None:
    slack_double.add_team("T2", name="Psych IMGs", enterprise_id="E9")
    slack_double.add_user("T2", "W1", "installer", admin=True)
    code = slack_double.authorize("T2", "W1")
    anonymous = AsyncWebClient(base_url=slack_double.api_base)
    granted = await anonymous.oauth_v2_access(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code)
    assert granted["team"]["id"] == "T2" and granted["enterprise"]["id"] == "E9"
    assert granted["authed_user"]["id"] == "W1" and granted["bot_user_id"] == "UBT2"
    token = granted["access_token"]
    assert (await AsyncWebClient(token=token, base_url=slack_double.api_base).auth_test())["team_id"] == "T2"
    again = await refused(anonymous.oauth_v2_access(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code))
    assert again.response["error"] == "invalid_code"
    wrong = await refused(
        anonymous.oauth_v2_access(client_id=CLIENT_ID, client_secret="nope", code=slack_double.authorize("T2"))
    )
    assert wrong.response["error"] == "bad_client_secret"


# ====================================================================== Socket Mode


async def test_socket_mode_hello_and_ack_round_trip(slack_double: SlackDouble, bot: Bot) -> None:
    await slack_double.wait_for(lambda: bool(bot.raw), what="hello")
    assert bot.raw[0]["type"] == "hello" and bot.raw[0]["connection_info"]["app_id"]

    async def answer(request: SocketModeRequest) -> dict[str, Any]:
        return {"response_type": "ephemeral", "text": f"you typed {request.payload['text']}"}

    bot.answer = answer
    delivery = await slack_double.slash("/imgbot", 'contact add "Dr Lee" role:attending', user="U1", channel="C1")
    [request] = bot.requests
    assert request.type == "slash_commands" and request.payload["command"] == "/imgbot"
    assert request.payload["text"] == 'contact add "Dr Lee" role:attending'
    assert request.payload["trigger_id"] == delivery.trigger_id and delivery.response_url
    envelope = bot.raw[-1]
    assert envelope["accepts_response_payload"] is True and envelope["envelope_id"] == request.envelope_id
    assert delivery.ack == {"response_type": "ephemeral", "text": 'you typed contact add "Dr Lee" role:attending'}
    assert [m["text"] for m in slack_double.ephemerals("U1")] == [delivery.ack["text"]]
    assert slack_double.late_acks == [] and delivery.ack_latency is not None and delivery.ack_latency < 1


async def test_events_carry_retry_fields_and_do_not_accept_payloads(slack_double: SlackDouble, bot: Bot) -> None:
    await slack_double.open_home("U1")
    envelope = bot.raw[-1]
    assert envelope["type"] == "events_api" and envelope["accepts_response_payload"] is False
    assert (envelope["retry_attempt"], envelope["retry_reason"]) == (0, "")
    assert envelope["payload"]["event"]["type"] == "app_home_opened"
    assert envelope["payload"]["event"]["channel"].startswith("D")


async def test_late_ack_is_recorded_and_slack_retries(make_slack_double: MakeDouble) -> None:
    double = await make_slack_double(ack_timeout=0.6)
    async with Bot(double) as b:

        async def slow_first(request: SocketModeRequest) -> dict[str, Any]:
            if len(b.requests) == 1:
                await asyncio.sleep(1.0)
                return {"text": "too late"}
            return {"text": "in time"}

        b.answer = slow_first
        delivery = await double.slash("/imgbot", "help", user="U1")
        await double.wait_for(lambda: len(delivery.attempts) == 2 and all(a.acked_at for a in delivery.attempts))
    first, retry = delivery.attempts
    assert [a for _, a in double.late_acks] == [first]
    retried = next(m for m in b.raw if m.get("envelope_id") == retry.envelope_id)
    assert (retried["retry_attempt"], retried["retry_reason"]) == (1, "timeout")
    assert retried["payload"] == delivery.payload
    assert first.acked_at is not None and first.acked_at - first.sent_at >= 0.6
    assert first.late and not retry.late and delivery.late
    # Slack drops a late ack's payload: only the retry's answer reaches the user
    assert [m["text"] for m in double.ephemerals("U1")] == ["in time"]


async def test_missing_ack_is_retried_then_given_up(make_slack_double: MakeDouble) -> None:
    double = await make_slack_double(ack_timeout=0.1, max_retries=2)
    async with Bot(double) as b:

        async def never(request: SocketModeRequest) -> bool:
            return False

        b.answer = never
        delivery = await double.event("T1", {"type": "app_uninstalled"}, wait=False)
        await double.wait_for(lambda: len(double.late_acks) == 3, timeout=3)
        await asyncio.sleep(0.2)
    assert [a.number for a in delivery.attempts] == [0, 1, 2] and not delivery.acked
    assert [m["retry_attempt"] for m in b.raw if m.get("type") == "events_api"] == [0, 1, 2]


async def test_a_wss_url_is_good_for_one_connection(slack_double: SlackDouble) -> None:
    opened = await AsyncWebClient(token=APP_TOKEN, base_url=slack_double.api_base).apps_connections_open(
        app_token=APP_TOKEN
    )
    url = opened["url"]
    assert url.startswith("ws://127.0.0.1:")
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            hello = await ws.receive_json()
            assert hello["type"] == "hello"
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(url)


# ====================================================================== driving helpers


async def test_click_and_submit_build_the_payloads_slack_sends(slack_double: SlackDouble, bot: Bot) -> None:
    client = web_client(slack_double)
    dm = (await client.conversations_open(users="U1"))["channel"]["id"]
    await client.chat_postMessage(
        channel=dm,
        text="due",
        blocks=[section("Dr Lee is due"), {"type": "actions", "elements": [button("Done", "nudge:done", "n1")]}],
    )
    opened: dict[str, Any] = {}

    async def answer(request: SocketModeRequest) -> dict[str, Any] | None:
        payload = request.payload
        if payload["type"] == "block_actions":
            view = modal(
                blocks=[
                    {
                        "type": "input",
                        "block_id": "name",
                        "label": {"type": "plain_text", "text": "Name"},
                        "element": {"type": "plain_text_input", "action_id": "value"},
                    },
                    {
                        "type": "input",
                        "block_id": "met_on",
                        "optional": True,
                        "label": {"type": "plain_text", "text": "Met on"},
                        "element": {"type": "datepicker", "action_id": "value"},
                    },
                ],
                callback_id="contact_add",
            )
            opened.update((await client.views_open(trigger_id=payload["trigger_id"], view=view))["view"])
            return None
        if payload["type"] == "view_submission":
            values = payload["view"]["state"]["values"]
            if not values["name"]["value"]["value"].startswith("Dr"):
                return {"response_action": "errors", "errors": {"name": "Start with Dr"}}
        return None

    bot.answer = answer
    [msg] = slack_double.dms("U1")
    clicked = await slack_double.click(msg, "nudge:done", user="U1")
    sent = bot.requests[-1].payload
    assert sent["actions"][0]["value"] == "n1" and sent["container"]["message_ts"] == msg["ts"]
    assert sent["user"]["id"] == "U1" and clicked.response_url
    await slack_double.wait_for(lambda: bool(opened))
    view_id = opened["id"]
    rejected = await slack_double.submit(view_id, {"name": "Lee"})
    assert bot.requests[-1].payload["view"]["state"]["values"]["met_on"] == {
        "value": {"type": "datepicker", "selected_date": None}
    }
    assert rejected.ack["response_action"] == "errors" and slack_double.views[view_id].open
    assert slack_double.views[view_id].errors == {"name": "Start with Dr"}
    done = await slack_double.submit(view_id, {"name": "Dr Lee", "met_on": "2027-01-10"})
    state = bot.requests[-1].payload["view"]["state"]["values"]
    assert state["met_on"]["value"] == {"type": "datepicker", "selected_date": "2027-01-10"}
    assert done.ack is None and not slack_double.views[view_id].open
    with pytest.raises(AssertionError):
        await slack_double.click(msg, "no-such-button", user="U1")


async def test_response_url_posts_are_recorded_and_shown(slack_double: SlackDouble, bot: Bot) -> None:
    delivery = await slack_double.slash("/imgbot", "playbook psych", user="U1", channel="C1")
    assert delivery.response_url is not None
    async with aiohttp.ClientSession() as session:
        async with session.post(delivery.response_url, json={"response_type": "in_channel", "text": "public"}) as r:
            assert r.status == 200
        async with session.post(delivery.response_url, json={"text": "private"}) as r:
            assert r.status == 200
        bad = {"blocks": [section("x" * 3001)]}
        async with session.post(delivery.response_url, json=bad) as r:
            assert r.status == 400
    assert [p.body.get("text") for p in delivery.posts] == ["public", "private"]
    assert len(slack_double.response_posts) == 3
    assert [m["text"] for m in slack_double.messages("C1")] == ["public"]
    assert [m["text"] for m in slack_double.ephemerals("U1")] == ["private"]
    assert "public" in delivery.text and "private" in delivery.text


async def test_uninstall_revokes_the_workspace_tokens(slack_double: SlackDouble, bot: Bot) -> None:
    token = slack_double.bot_token("T1")
    first, second = await slack_double.uninstall("T1")
    assert first.payload["event"]["type"] == "app_uninstalled"
    assert second.payload["event"] == {**second.payload["event"], "type": "tokens_revoked"}
    assert second.payload["event"]["tokens"]["bot"] == ["UBT1"]
    gone = AsyncWebClient(token=token, base_url=slack_double.api_base)
    assert (await refused(gone.auth_test())).response["error"] == "token_revoked"


def test_pings_finds_broadcasts_and_mentions_in_mrkdwn_only() -> None:
    loud = {"text": "hi <!channel>", "blocks": [section("<@U2> and <!subteam^S1|team>")]}
    assert sorted(pings(loud)) == ["<!channel>", "<!subteam^S1>", "<@U2>"]
    quiet = {
        "text": "&lt;!channel&gt; from Dr &amp; co",
        "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "<!here>"}}, section("&lt;@U2&gt;")],
    }
    assert pings(quiet) == []
    assert pings({"type": "message", "text": "<!here> hi", "ts": "1.0"}) == ["<!here>"]
    assert pings({"type": "message", "text": "<@U2|ben>", "mrkdwn": False}) == ["<@U2>"]


# ====================================================================== HTTP mode signing


class EventsEndpoint:
    """A stand-in for the bot's /slack/events that checks signatures with slack_sdk's SignatureVerifier."""

    def __init__(self) -> None:
        self.verifier = SignatureVerifier(SIGNING_SECRET)
        self.seen: list[tuple[dict[str, str], bytes]] = []
        self.delay = 0.0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append((dict(request.headers), body))
        if not self.verifier.is_valid_request(body, dict(request.headers)):
            return web.Response(status=401, text="invalid request")
        if self.delay:  # only the next request is slow
            delay, self.delay = self.delay, 0.0
            await asyncio.sleep(delay)
        if request.content_type == "application/json":
            data = json.loads(body)
            if data.get("type") == "url_verification":
                return web.json_response({"challenge": data["challenge"]})
            return web.Response(status=200)
        form = parse_qs(body.decode())
        if "command" in form:
            return web.json_response({"text": f"ran {form['text'][0]}"})
        return web.Response(status=200)

    async def __aenter__(self) -> EventsEndpoint:
        app = web.Application()
        app.router.add_post("/slack/events", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/slack/events"  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


async def test_signatures_good_bad_and_old(slack_double: SlackDouble) -> None:
    async with EventsEndpoint() as endpoint:
        body = {"type": "event_callback", "event": {"type": "app_home_opened", "user": "U1"}}
        assert (await slack_double.post_signed(endpoint.url, body))[0] == 200
        assert (await slack_double.post_signed(endpoint.url, body, secret="wrong"))[0] == 401
        old = int(time.time()) - 6 * 60
        assert (await slack_double.post_signed(endpoint.url, body, timestamp=old))[0] == 401
        headers, raw = endpoint.seen[0]
        assert headers["X-Slack-Signature"] == sign(SIGNING_SECRET, headers["X-Slack-Request-Timestamp"], raw)
        status, text = await slack_double.verify_url(endpoint.url)
        assert status == 200 and json.loads(text)["challenge"]


async def test_http_mode_delivers_slash_commands_signed_and_retries_with_headers(make_slack_double: MakeDouble) -> None:
    double = await make_slack_double(ack_timeout=0.6, max_retries=1)
    async with EventsEndpoint() as endpoint:
        double.http_url = endpoint.url
        delivery = await double.slash("/imgbot", "help", user="U1")
        assert delivery.transport == "http" and delivery.ack == {"text": "ran help"}
        assert [m["text"] for m in double.ephemerals("U1")] == ["ran help"]
        endpoint.delay = 1.0
        slow = await double.event("T1", {"type": "app_home_opened", "user": "U1", "tab": "home"}, wait=False)
        await double.wait_for(lambda: len(slow.attempts) == 2 and slow.acked, timeout=3)
        await double.wait_for(lambda: len(endpoint.seen) == 3, timeout=3)
    retry_headers = endpoint.seen[-1][0]
    assert retry_headers["X-Slack-Retry-Num"] == "1" and retry_headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert [a for _, a in double.late_acks] == [slow.attempts[0]]


# ====================================================================== the real slack-bolt AsyncApp


def bolt_app(double: SlackDouble, **kw: Any) -> AsyncApp:
    return AsyncApp(
        token=double.bot_token(),
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(token=double.bot_token(), base_url=double.api_base),
        **kw,
    )


def contact_modal() -> dict[str, Any]:
    return modal(
        callback_id="contact_add",
        blocks=[
            {
                "type": "input",
                "block_id": "name",
                "label": {"type": "plain_text", "text": "Name"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            },
            {
                "type": "input",
                "block_id": "role",
                "label": {"type": "plain_text", "text": "Role"},
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": [
                        {"text": {"type": "plain_text", "text": r}, "value": r} for r in ("attending", "resident")
                    ],
                },
            },
        ],
    )


async def test_bolt_socket_mode_command_modal_button_and_home(slack_double: SlackDouble) -> None:
    app = bolt_app(slack_double)
    saved: list[dict[str, Any]] = []

    @app.command("/imgbot")
    async def command(ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        await ack()
        if body["text"] == "contact add":
            await client.views_open(trigger_id=body["trigger_id"], view=contact_modal())
        else:
            await respond(text=f"echo {body['text']}")

    @app.view("contact_add")
    async def submitted(ack: Any, view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        saved.append({k: next(iter(v.values())) for k, v in values.items()})
        await ack()

    @app.action("nudge:done")
    async def done(ack: Any, respond: Any, body: dict[str, Any]) -> None:
        await ack()
        await respond(text=f"done by {body['user']['id']}", replace_original=False)

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": [section("Your week")]})

    handler = AsyncSocketModeHandler(app, APP_TOKEN)
    await handler.connect_async()
    try:
        await slack_double.wait_connected()
        echo = await slack_double.slash("/imgbot", "help", user="U1", channel="C1")
        await slack_double.wait_for(lambda: bool(echo.posts), what="respond()")
        assert echo.posts[0].body["text"] == "echo help"

        await slack_double.slash("/imgbot", "contact add", user="U1", channel="C1")
        await slack_double.wait_for(lambda: bool(slack_double.open_modals("U1")), what="the modal")
        [view] = slack_double.open_modals("U1")
        await slack_double.submit(view, {"name": "Dr Lee", "role": "attending"})
        assert saved[0]["name"] == {"type": "plain_text_input", "value": "Dr Lee"}
        assert saved[0]["role"]["selected_option"]["value"] == "attending"
        assert not view.open

        await slack_double.open_home("U1")
        await slack_double.wait_for(lambda: slack_double.home("U1") is not None, what="views.publish")
        assert "Your week" in text_of(slack_double.home("U1").view)  # type: ignore[union-attr]

        dm = (await app.client.conversations_open(users="U1"))["channel"]["id"]
        await app.client.chat_postMessage(
            channel=dm, text="due", blocks=[{"type": "actions", "elements": [button("Done", "nudge:done")]}]
        )
        clicked = await slack_double.click(slack_double.dms("U1")[-1], "nudge:done", user="U1")
        await slack_double.wait_for(lambda: bool(clicked.posts), what="the button's respond()")
        assert clicked.posts[0].body["text"] == "done by U1"
        assert slack_double.late_acks == [] and slack_double.invalid == []
    finally:
        await handler.close_async()


async def test_bolt_http_mode_verifies_the_doubles_signatures(slack_double: SlackDouble) -> None:
    app = bolt_app(slack_double)

    @app.command("/imgbot")
    async def command(ack: Any, body: dict[str, Any]) -> None:
        await ack(text=f"ran {body['text']}")

    runner = web.AppRunner(app.web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/slack/events"  # type: ignore[union-attr]
        slack_double.http_url = url
        delivery = await slack_double.slash("/imgbot", "faq", user="U1")
        assert delivery.ack["text"] == "ran faq"
        form = "command=%2Fimgbot&text=faq&team_id=T1&user_id=U1&channel_id=C1"
        assert (await slack_double.post_signed(url, form, secret="wrong"))[0] == 401
        assert (await slack_double.post_signed(url, form, timestamp=int(time.time()) - 301))[0] == 401
    finally:
        await runner.cleanup()


async def test_bolt_oauth_install_flow_through_the_doubles_authorize_page(
    slack_double: SlackDouble, tmp_path: Any
) -> None:
    slack_double.add_team("T2", name="Peds IMGs")
    slack_double.add_user("T2", "W1", "installer", admin=True)
    slack_double.oauth_team, slack_double.oauth_user = "T2", "W1"
    store = FileInstallationStore(base_dir=str(tmp_path / "installs"))
    app = AsyncApp(
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(base_url=slack_double.api_base),
        oauth_settings=AsyncOAuthSettings(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            scopes=["commands", "chat:write"],
            installation_store=store,
            state_store=FileOAuthStateStore(expiration_seconds=600, base_dir=str(tmp_path / "states")),
            authorization_url=slack_double.authorize_url,
            install_page_rendering_enabled=False,
        ),
    )
    runner = web.AppRunner(app.web_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        slack_double.oauth_redirect_url = f"{base}/slack/oauth_redirect"
        async with aiohttp.ClientSession() as session:
            # bolt's state cookie is Secure, so a browser on http:// would drop it: carry it by hand
            async with session.get(f"{base}/slack/install", allow_redirects=False) as start:
                assert start.status == 302 and start.headers["Location"].startswith(slack_double.authorize_url)
                cookie = start.headers["Set-Cookie"].split(";")[0]
            async with session.get(start.headers["Location"], allow_redirects=False) as consent:
                assert consent.status == 302
                back = consent.headers["Location"]
            async with session.get(back, headers={"Cookie": cookie}) as page:
                assert page.status == 200, await page.text()
        assert slack_double.authorize_requests[0]["state"]
        installed = await store.async_find_installation(enterprise_id=None, team_id="T2")
        assert installed is not None and installed.bot_token == slack_double.bot_token("T2")
        assert installed.bot_id == slack_double.teams["T2"].bot_id
    finally:
        await runner.cleanup()


async def test_disconnect_makes_the_sdk_client_reconnect_with_a_new_url(slack_double: SlackDouble, bot: Bot) -> None:
    bot.client.ping_interval = 0.05  # how soon slack_sdk's monitor notices the closed socket
    opened = len(slack_double.api("apps.connections.open"))
    await slack_double.disconnect_all()
    await slack_double.wait_for(
        lambda: len(slack_double.api("apps.connections.open")) > opened and len(slack_double.connections) == 1,
        timeout=5,
        what="a reconnect",
    )
    delivery = await slack_double.slash("/imgbot", "help", user="U1")
    assert delivery.acked  # slack_sdk handles "disconnect" itself (it reconnects; listeners never see it)


async def test_external_select_suggestions_and_view_closed(slack_double: SlackDouble, bot: Bot) -> None:
    client = web_client(slack_double)
    view = modal(
        notify_on_close=True,
        blocks=[
            {
                "type": "input",
                "block_id": "contact",
                "label": {"type": "plain_text", "text": "Contact"},
                "element": {"type": "external_select", "action_id": "pick", "min_query_length": 1},
            }
        ],
    )
    opened = (await client.views_open(trigger_id=slack_double.trigger_for("U1"), view=view))["view"]

    async def answer(request: SocketModeRequest) -> dict[str, Any] | None:
        if request.payload["type"] == "block_suggestion":
            q = request.payload["value"]
            return {"options": [{"text": {"type": "plain_text", "text": f"Dr {q}"}, "value": "7"}]}
        return None

    bot.answer = answer
    suggested = await slack_double.suggest(opened["id"], "pick", "Lee")
    assert suggested.ack["options"][0]["value"] == "7"
    assert bot.raw[-1]["accepts_response_payload"] is True
    closed = await slack_double.close_view(opened["id"])
    assert closed is not None and closed.payload["type"] == "view_closed"
    assert slack_double.open_modals("U1") == []


async def test_file_input_downloads_only_with_the_workspaces_bot_token(slack_double: SlackDouble) -> None:
    picked = slack_double.file_for_input("contacts.csv", b"name\nDr Lee\n")
    slack_double.add_team("T2")
    async with aiohttp.ClientSession() as session:
        own = {"Authorization": f"Bearer {slack_double.bot_token('T1')}"}
        async with session.get(picked["url_private_download"], headers=own) as r:
            assert r.status == 200 and await r.read() == b"name\nDr Lee\n"
        other = {"Authorization": f"Bearer {slack_double.bot_token('T2')}"}
        async with session.get(picked["url_private_download"], headers=other) as r:
            assert r.status == 403
        async with session.get(picked["url_private_download"]) as r:
            assert r.status == 403
    info = await web_client(slack_double).files_info(file=picked["id"])
    assert info["file"]["url_private_download"] == picked["url_private_download"]
    assert (await refused(web_client(slack_double, "T2").files_info(file=picked["id"]))).response[
        "error"
    ] == "file_not_found"


async def test_a_stranger_cannot_click_what_they_cannot_see_unless_forged(slack_double: SlackDouble, bot: Bot) -> None:
    client = web_client(slack_double)
    dm = (await client.conversations_open(users="U1"))["channel"]["id"]
    await client.chat_postMessage(
        channel=dm, text="due", blocks=[{"type": "actions", "elements": [button("Done", "nudge:done")]}]
    )
    [msg] = slack_double.dms("U1")
    with pytest.raises(AssertionError, match="cannot see"):
        await slack_double.click(msg, "nudge:done", user="U2")
    forged = await slack_double.click(msg, "nudge:done", user="U2", forged=True)
    assert forged.payload["user"]["id"] == "U2" and forged.payload["channel"]["id"] == dm


async def test_bolt_http_mode_interactions_arrive_as_a_signed_payload_form(slack_double: SlackDouble) -> None:
    app = bolt_app(slack_double)
    clicked: list[str] = []

    @app.action("nudge:done")
    async def done(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        clicked.append(body["actions"][0]["value"])

    runner = web.AppRunner(app.web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        slack_double.http_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/slack/events"  # type: ignore[union-attr]
        msg = {
            "channel": "C1",
            "ts": "1.000001",
            "team": "T1",
            "blocks": [{"type": "actions", "elements": [button("Done", "nudge:done", "n9")]}],
        }
        delivery = await slack_double.click(msg, "nudge:done", user="U1")
        assert delivery.transport == "http" and delivery.attempts[0].status == 200
        assert clicked == ["n9"]
    finally:
        await runner.cleanup()


async def test_a_closed_modal_cannot_be_updated(slack_double: SlackDouble) -> None:
    client = web_client(slack_double)
    opened = (await client.views_open(trigger_id=slack_double.trigger_for("U1"), view=modal()))["view"]
    await slack_double.close_view(opened["id"])
    error = await refused(client.views_update(view_id=opened["id"], view=modal("Too late")))
    assert error.response["error"] == "not_found"


async def test_a_retry_reaches_the_app_after_it_restarts(make_slack_double: MakeDouble) -> None:
    double = await make_slack_double(ack_timeout=1.0)
    first = Bot(double)
    await first.__aenter__()

    async def never(request: SocketModeRequest) -> bool:
        return False

    first.answer = never
    delivery = await double.slash("/imgbot", "contact add Lee", user="U1", wait=False)
    await double.wait_for(lambda: bool(first.requests), what="the first delivery")
    await first.__aexit__()
    await double.wait_for(lambda: not double.connections, what="the old socket to close")
    async with Bot(double) as second:
        await double.wait_for(lambda: delivery.acked, timeout=5, what="the retry's ack")
    assert second.requests[0].payload["text"] == "contact add Lee" and second.requests[0].retry_attempt
    assert delivery.attempts[0].late and delivery.first_ack is not None and not delivery.first_ack.late


async def test_uninstall_revokes_before_the_events_arrive(slack_double: SlackDouble, bot: Bot) -> None:
    token = slack_double.bot_token("T1")
    seen: list[str] = []

    async def check(request: SocketModeRequest) -> None:
        client = AsyncWebClient(token=token, base_url=slack_double.api_base)
        try:
            await client.auth_test()
            seen.append("valid")
        except SlackApiError as e:
            seen.append(e.response["error"])

    bot.answer = check
    await slack_double.uninstall("T1")
    assert seen == ["token_revoked", "token_revoked"]


async def test_response_url_replaces_or_deletes_the_message_a_click_came_from(
    slack_double: SlackDouble, bot: Bot
) -> None:
    client = web_client(slack_double)
    blocks = [{"type": "actions", "elements": [button("Done", "nudge:done")]}]
    await client.chat_postEphemeral(channel="C1", user="U1", text="only you", blocks=blocks)
    await client.chat_postMessage(channel="C1", text="everyone", blocks=blocks)
    [private] = slack_double.ephemerals("U1")
    [public] = slack_double.messages("C1")
    on_private = await slack_double.click(private, "nudge:done", user="U1")
    on_public = await slack_double.click(public, "nudge:done", user="U2")
    assert on_private.payload["container"]["is_ephemeral"] is True
    with pytest.raises(AssertionError, match="only the user"):
        await slack_double.click(private, "nudge:done", user="U2")
    async with aiohttp.ClientSession() as session:
        assert on_private.response_url and on_public.response_url
        await session.post(on_private.response_url, json={"replace_original": True, "text": "done"})
        await session.post(on_public.response_url, json={"delete_original": True})
    assert [m["text"] for m in slack_double.ephemerals("U1")] == ["done"]
    assert slack_double.messages("C1") == []


async def test_a_click_in_a_modal_carries_what_was_typed_so_far(slack_double: SlackDouble, bot: Bot) -> None:
    client = web_client(slack_double)
    view = modal(
        blocks=[
            {
                "type": "input",
                "block_id": "name",
                "label": {"type": "plain_text", "text": "Name"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            },
            {"type": "actions", "elements": [button("Check", "check")]},
        ]
    )
    opened = (await client.views_open(trigger_id=slack_double.trigger_for("U1"), view=view))["view"]
    delivery = await slack_double.click(slack_double.views[opened["id"]], "check", user="U1", values={"name": "Dr L"})
    assert delivery.payload["container"] == {"type": "view", "view_id": opened["id"]}
    assert delivery.payload["view"]["state"]["values"]["name"]["value"] == {"type": "plain_text_input", "value": "Dr L"}
    # a trigger from inside a modal can push onto it
    pushed = await client.views_push(trigger_id=delivery.trigger_id, view=modal("Two"))
    assert pushed["view"]["previous_view_id"] == opened["id"]


async def test_slash_commands_come_from_members_of_the_channel_only(slack_double: SlackDouble, bot: Bot) -> None:
    slack_double.add_user("T1", "U9", "newcomer")
    with pytest.raises(AssertionError, match="not in C1"):
        await slack_double.slash("/imgbot", "help", user="U9", channel="C1")
    slack_double.join("C1", "U9")
    assert (await slack_double.slash("/imgbot", "help", user="U9", channel="C1")).acked
    # the bot need not be in a channel for a slash command to reach it (it answers via response_url)
    assert (await slack_double.slash("/imgbot", "help", user="U1", channel="C2")).payload["channel_id"] == "C2"


async def test_history_pages_with_cursors_newest_first(make_slack_double: MakeDouble) -> None:
    double = await make_slack_double(channel_rate=1000.0, channel_burst=1000)
    client = web_client(double)
    dm = (await client.conversations_open(users="U1"))["channel"]["id"]
    for i in range(5):
        await client.chat_postMessage(channel=dm, text=f"m{i}")
    first = await client.conversations_history(channel=dm, limit=2)
    assert [m["text"] for m in first["messages"]] == ["m4", "m3"] and first["has_more"]
    rest = await client.conversations_history(channel=dm, limit=10, cursor=first["response_metadata"]["next_cursor"])
    assert [m["text"] for m in rest["messages"]] == ["m2", "m1", "m0"] and not rest["has_more"]
    assert (await refused(client.conversations_history(channel=dm, cursor="nope"))).response[
        "error"
    ] == "invalid_cursor"
