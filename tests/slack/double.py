"""A local Slack double on 127.0.0.1: Web API, Socket Mode, HTTP-mode signing, OAuth and a response_url sink.

The real slack_sdk / slack-bolt clients run against it unchanged. Point them at it with
``AsyncWebClient(token=..., base_url=double.api_base)`` (``double.api_base`` ends with ``/api/``, as Slack's
``https://slack.com/api/`` does). Standard library + aiohttp only; nothing leaves 127.0.0.1.

With slack-bolt: ``AsyncApp(token=double.bot_token(), signing_secret=SIGNING_SECRET,
client=AsyncWebClient(token=..., base_url=double.api_base))``; ``AsyncSocketModeHandler(app, APP_TOKEN)`` uses
``app.client``, so ``apps.connections.open`` and the socket come from the double too (``await
handler.connect_async()``, then ``await double.wait_connected()``). For HTTP mode serve ``app.web_app()`` on
127.0.0.1 and set ``double.http_url``. tests/slack/test_double.py has all three (socket, HTTP, OAuth) working.

Workspaces
    ``SlackDouble()`` starts with workspace ``T1`` ("IMG EM", bot token ``double.bot_token("T1")``), members
    ``U1`` (amal), ``U2`` (ben), ``U3`` (an admin), ``U4`` (the owner), channel ``C1`` (#general, the bot is a
    member) and ``C2`` (#random, the bot is not). ``double.add_team("T2", enterprise_id="E1")`` adds more; each
    team has its own bot token (``xoxb-T2-...``), bot user (``UB...``) and bot id (``B...``). One app for all:
    ``APP_ID``, app-level token ``APP_TOKEN`` (only it may call ``apps.connections.open``), ``SIGNING_SECRET``,
    ``CLIENT_ID`` / ``CLIENT_SECRET`` (for ``oauth.v2.access``). ``double.add_user(team, "U9", admin=True)``,
    ``double.add_channel(team, "C9", bot_member=False, members=[...])``, ``double.join("C9", "U9")``.

Web API (``POST/GET {base}/api/<method>``; query, form or JSON bodies; ``Authorization: Bearer`` or ``token=``)
    auth.test, apps.connections.open, chat.postMessage, chat.postEphemeral, chat.update, chat.delete,
    conversations.open (one user -> ``D...``; several -> group DM ``G...``, the same one for the same users
    in any order; ``already_open`` when it existed), conversations.history (message
    ``metadata`` only with ``include_all_metadata``; newest first, ``limit`` + ``cursor`` pages),
    views.open/update/push/publish,
    files.getUploadURLExternal + ``POST {base}/upload/<file_id>`` + files.completeUploadExternal (what
    ``files_upload_v2`` does), files.info, users.info, team.info, oauth.v2.access. Answers are Slack's shapes:
    ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}`` with HTTP 200 (429 for rate limits).

What it refuses, as Slack does (the error name Slack documents)
    - no token: ``not_authed``; unknown token: ``invalid_auth``; a token of an uninstalled workspace:
      ``token_revoked``; the app token on a bot method or a bot token on apps.connections.open:
      ``not_allowed_token_type``; an unknown method: ``unknown_method``.
    - Block Kit limits (``block_problems``): 50 blocks per message, 100 per modal / Home tab; block_id and
      action_id 255; section text 3,000, 10 fields of 2,000; header 150 (plain_text); button text 75, value
      2,000, url 3,000; context 10 elements; actions 25 elements; select 100 options, option text 75 /
      value 150; overflow 2-5 options; placeholder 150; input label / hint 2,000; plain_text_input
      max_length 3,000; confirm title 100 / text 300 / buttons 30; image url 3,000 / alt_text 2,000;
      duplicate block_id; duplicate action_id in a block; empty text; unknown block types. Modal: title /
      submit / close 24 (plain_text, title required), private_metadata 3,000, callback_id / external_id 255,
      ``submit`` required with input blocks; an ``initial_option`` that is not one of the options; an
      ``initial_date`` not YYYY-MM-DD; a view over 250 kB: ``view_too_large``. Messages answer
      ``invalid_blocks``; views answer ``invalid_arguments`` (Slack's name for a bad view); both carry
      ``response_metadata.messages`` like
      ``"[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"``.
    - message text over 40,000 characters: ``msg_too_long``; neither text nor blocks: ``no_text``.
    - trigger_id: unknown ``invalid_trigger_id``; older than ``trigger_ttl`` (3 s) ``expired_trigger_id``;
      used twice ``exchanged_trigger_id`` (the names in Slack's views.open / views.push reference).
    - views.push with 3 views stacked: ``push_limit_reached``; views.update with a stale hash:
      ``hash_conflict``; an unknown view: ``not_found``.
    - chat.postMessage more often than ``channel_rate`` per second per channel (Slack: about 1/s, token
      bucket of ``channel_burst``): HTTP 429 ``{"ok": false, "error": "ratelimited"}`` with ``Retry-After``
      in whole seconds; optional ``team_rate`` (bucket ``team_burst``) per workspace. ``double.rate_limited``
      counts 429s; ``double.early_retries`` lists posts sent into a channel / workspace before the
      Retry-After it was given had passed (a client that honours every 429 leaves it empty);
      ``double.posted_at`` has the time of every accepted post (for sustained-rate figures).
    - a channel that does not exist: ``channel_not_found``; one the bot is not in: ``not_in_channel``;
      an ephemeral for a user not in the channel: ``user_not_in_channel``; unknown users (or another
      workspace's): ``user_not_found``.
    - scopes, only when a test sets ``double.teams["T1"].scopes = {...}`` (default: all granted):
      conversations.open needs ``im:write`` (one user) or ``mpim:write`` (several), conversations.history
      ``im:history`` / ``mpim:history`` / ``channels:history``; else ``missing_scope`` with ``needed``.
    - scripted faults: ``double.fail_next("chat.postMessage", status=503, times=2)`` (or ``error="..."``,
      ``status=429, retry_after=1`` for a 429 storm); ``after_effect=True`` applies the call, then answers
      with the fault (a lost response).

Socket Mode
    ``apps.connections.open`` returns one-use ``ws://127.0.0.1`` URLs; on connect the double sends
    ``{"type": "hello", ...}``. ``await double.push(type, payload)`` sends an ``events_api`` /
    ``slash_commands`` / ``interactive`` envelope (``envelope_id``, ``accepts_response_payload``,
    ``retry_attempt``, ``retry_reason``) and returns a ``Delivery``; acks (``{"envelope_id", "payload"}``)
    are recorded. An ack later than ``ack_timeout`` (3 s), or none, lands in ``double.late_acks`` and Slack's
    retry is sent (same payload, ``retry_attempt`` 1.., ``retry_reason`` "timeout"; at most ``max_retries``,
    3; ``retries=False`` per call turns it off). A late ack's payload is dropped, as Slack drops it (the user
    already saw an error); ``delivery.late`` / ``attempt.late`` tell. ``double.connections`` lists live
    sockets (envelopes go round-robin); ``await double.disconnect_all()`` sends ``disconnect`` and closes them.

HTTP mode
    Set ``double.http_url = "http://127.0.0.1:PORT/slack/events"`` (or pass ``http_url=``) and every
    delivery goes there signed (``X-Slack-Signature`` v0, ``X-Slack-Request-Timestamp``) instead of over the
    socket: events as JSON, slash commands as a form, interactions as ``payload=<json>``; the response body is
    the ack; retries carry ``X-Slack-Retry-Num`` / ``X-Slack-Retry-Reason: http_timeout``.
    ``await double.post_signed(url, body, timestamp=None, secret=None)`` sends one request by hand (so a test
    can use a wrong secret or an old timestamp) and returns ``Signed(status, text, written)``. ``double.http_transport``
    (an ``HttpTransport``) replaces the double's aiohttp client for these requests, e.g. a benchmark's
    kept-alive raw sender that reports when each request was written (its ack is then timed from there).
    ``sign(secret, timestamp, body)`` is the signature function.

Driving the bot (each returns a ``Delivery`` once the bot acked: ``.ack`` (the ack's payload), ``.ack_latency``,
``.late``, ``.response_url``, ``.trigger_id``, ``.posts`` (what the bot sent to the response_url), ``.text``
(everything the user read in answer), ``.attempts``; ``wait=False`` returns at once, ``retries=False`` stops
Slack's re-sends, ``timeout=`` bounds the wait)
    ``await double.slash("/imgbot", 'contact add "Dr Lee" role:attending', user="U1", team="T1", channel="C1")``
    (``channel="dm"``: the user's DM with the bot; the user must be a member of the channel)
    ``await double.click(message_or_view, action_id, user="U1", value=None)`` (a button, select or overflow
    in a stored message dict, a ``View`` or a view dict; ``value`` picks a select option; in a view,
    ``values={...}`` is what was typed so far; ``forged=True`` lets someone click what they cannot see)
    ``await double.submit(view_id, {"action_id or block_id": value}, user="U1")`` (builds ``view.state``;
    applies ``response_action`` update / push / clear / errors; otherwise the modal closes)
    ``await double.suggest(view, action_id, "query", user=...)`` (block_suggestion; ``.ack`` has options)
    ``await double.close_view(view)`` (Cancel; ``view_closed`` when the view set ``notify_on_close``)
    ``double.file_for_input("contacts.csv", b"...")`` -> a file dict to pass as a ``file_input`` value in
    ``submit``; its ``url_private`` serves the bytes to that workspace's bot token only.
    ``await double.open_home("U1")`` (app_home_opened), ``await double.uninstall("T1")`` (app_uninstalled +
    tokens_revoked; its tokens stop working), ``await double.event(team, {...})`` (any event).
    ``double.authorize(team, user)`` -> an OAuth ``code`` for ``oauth.v2.access``; or the whole install flow:
    the bot's ``authorization_url`` = ``double.authorize_url`` answers 302 to its redirect_uri (or
    ``double.oauth_redirect_url``) with ``code`` + ``state``, approved by ``double.oauth_user`` of
    ``double.oauth_team``. An install gets a new bot token (the old one answers ``token_revoked``).
    ``double.trigger_for("U1")`` -> a fresh trigger_id, for calling views.* without an interaction.

Looking at what the bot did
    ``double.messages("C1")`` (oldest first; each a Slack message dict with ``ts``, ``text``, ``blocks``,
    ``metadata``, ``files``), ``double.dms("U1", team="T1")``, ``double.ephemerals("U1")`` (each has
    ``channel``), ``double.views`` (id -> ``View``; ``double.open_modals("U1")``, ``double.home("U1")``),
    ``double.files("U1")`` (files shared into the user's DM: name, title, content bytes),
    ``double.response_posts`` (every POST to a response_url; a URL takes 5 posts, the 6th is refused with
    403 ``used_url``, the double's name for it), ``double.api("chat.postMessage")`` / ``double.calls``
    (every Web API call, with ``method``, ``args``, ``team``, ``status``, ``error``), ``double.invalid``
    (every refusal for limits), ``double.unknown`` (methods it does not serve), ``double.late_acks``,
    ``double.deliveries``.
    ``pings(obj)`` lists what would notify people in a message/blocks (``<!channel>``, ``<!here>``,
    ``<!everyone>``, ``<@U...>``, ``<!subteam^...>`` in a message's ``text`` or any mrkdwn text object;
    plain_text never pings). ``text_of(message)`` is all readable text.
    ``await double.wait_for(lambda: ..., timeout=5, what="...")`` re-checks whenever the bot calls the double.
"""

# ruff: noqa: ASYNC109  (the waiting helpers take timeout=, as the tests that use them read best)
from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import math
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode

import aiohttp
from aiohttp import WSMsgType, web

APP_ID = "A0DOUBLE01"
APP_TOKEN = "xapp-1-A0DOUBLE01-1-doubleapptoken"
SIGNING_SECRET = "double-signing-secret"

# ``(url, body, headers) -> (status, text, written)``: sends one signed request (headers already signed) and
# returns the bot's answer and, if the transport knows it, the time.monotonic() at which the request was
# written to the socket, from which its ack is then timed (else from when the double decided to send it)
HttpTransport = Callable[[str, bytes, dict[str, str]], Awaitable[tuple[int, str, float | None]]]


class Signed(NamedTuple):
    """What the bot answered a signed request: its status and body, and when the request left (when the
    transport knows)."""

    status: int
    text: str
    written: float | None = None


CLIENT_ID = "1000000001.2000000002"
CLIENT_SECRET = "double-client-secret"
ACK_TIMEOUT = 3.0  # seconds Slack waits for an ack (Socket Mode envelope or HTTP response)
TRIGGER_TTL = 3.0  # seconds a trigger_id stays valid
MAX_TEXT = 40_000
JSON_ARGS = ("blocks", "attachments", "view", "metadata", "files", "options")

Json = Any


def sign(secret: str, timestamp: str | int, body: bytes | str) -> str:
    """Slack's request signature: ``v0=`` + HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode() + b":" + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


# ====================================================================== Block Kit limits

_PLAIN_ONLY = "plain_text"


def _too_long(text: str, limit: int, pointer: str) -> list[str]:
    return [f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]"] if len(text) > limit else []


def _text_problems(obj: Any, pointer: str, limit: int, *, plain: bool = False, required: bool = True) -> list[str]:
    if obj is None:
        return [f"[ERROR] missing required field: text [json-pointer:{pointer}]"] if required else []
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return [f"[ERROR] failed to match all allowed schemas [json-pointer:{pointer}]"]
    if plain and obj["type"] != _PLAIN_ONLY:
        return [f"[ERROR] must be a plain_text text object [json-pointer:{pointer}/type]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"[ERROR] must be more than 0 characters [json-pointer:{pointer}/text]"]
    return _too_long(text, limit, f"{pointer}/text")


def _option_problems(options: Any, pointer: str, most: int, least: int = 1) -> list[str]:
    if not isinstance(options, list) or len(options) < least:
        return [f"[ERROR] must provide at least {least} items [json-pointer:{pointer}]"]
    out = [f"[ERROR] no more than {most} items allowed [json-pointer:{pointer}]"] if len(options) > most else []
    for i, o in enumerate(options):
        p = f"{pointer}/{i}"
        out += _text_problems(o.get("text"), f"{p}/text", 75)
        out += _too_long(str(o.get("value", "")), 150, f"{p}/value")
        if o.get("description") is not None:
            out += _text_problems(o["description"], f"{p}/description", 75, plain=True)
    return out


def _confirm_problems(c: Any, pointer: str) -> list[str]:
    if c is None:
        return []
    out = _text_problems(c.get("title"), f"{pointer}/title", 100, plain=True)
    out += _text_problems(c.get("text"), f"{pointer}/text", 300)
    out += _text_problems(c.get("confirm"), f"{pointer}/confirm", 30, plain=True)
    out += _text_problems(c.get("deny"), f"{pointer}/deny", 30, plain=True)
    return out


_ELEMENTS = {
    "button",
    "static_select",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "multi_static_select",
    "multi_external_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
    "overflow",
    "datepicker",
    "timepicker",
    "datetimepicker",
    "plain_text_input",
    "number_input",
    "email_text_input",
    "url_text_input",
    "checkboxes",
    "radio_buttons",
    "image",
    "file_input",
    "rich_text_input",
}


def element_problems(el: Any, pointer: str) -> list[str]:
    """What Slack refuses in one block element."""
    if not isinstance(el, dict) or el.get("type") not in _ELEMENTS:
        kind = el.get("type") if isinstance(el, dict) else el
        return [f"[ERROR] unsupported type: {kind} [json-pointer:{pointer}/type]"]
    kind = el["type"]
    out: list[str] = []
    if kind != "image":
        out += _too_long(str(el.get("action_id", "")), 255, f"{pointer}/action_id")
    if kind == "button":
        out += _text_problems(el.get("text"), f"{pointer}/text", 75, plain=True)
        out += _too_long(str(el.get("value", "")), 2000, f"{pointer}/value")
        out += _too_long(str(el.get("url", "")), 3000, f"{pointer}/url")
        if el.get("style") not in (None, "primary", "danger"):
            out.append(f"[ERROR] must be one of primary, danger [json-pointer:{pointer}/style]")
    if kind in ("static_select", "multi_static_select"):
        if "option_groups" in el:
            groups = el["option_groups"]
            if len(groups) > 100:
                out.append(f"[ERROR] no more than 100 items allowed [json-pointer:{pointer}/option_groups]")
            for i, g in enumerate(groups):
                out += _option_problems(g.get("options"), f"{pointer}/option_groups/{i}/options", 100)
        else:
            out += _option_problems(el.get("options"), f"{pointer}/options", 100)
    if kind in ("static_select", "radio_buttons") and el.get("initial_option") is not None:
        options = el.get("options") or [o for g in el.get("option_groups") or [] for o in g.get("options", [])]
        if el["initial_option"] not in options:
            out.append(f"[ERROR] initial_option must match one of the options [json-pointer:{pointer}/initial_option]")
    if (
        kind == "datepicker"
        and el.get("initial_date") is not None
        and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(el["initial_date"]))
    ):
        out.append(f"[ERROR] must be a date in the format YYYY-MM-DD [json-pointer:{pointer}/initial_date]")
    if kind == "overflow":
        out += _option_problems(el.get("options"), f"{pointer}/options", 5, least=2)
    if kind in ("checkboxes", "radio_buttons"):
        out += _option_problems(el.get("options"), f"{pointer}/options", 10)
    if "placeholder" in el:
        out += _text_problems(el["placeholder"], f"{pointer}/placeholder", 150, plain=True)
    if kind == "plain_text_input":
        if el.get("max_length") is not None and int(el["max_length"]) > 3000:
            out.append(f"[ERROR] must be less than 3001 [json-pointer:{pointer}/max_length]")
        if el.get("min_length") is not None and int(el["min_length"]) > 3000:
            out.append(f"[ERROR] must be less than 3001 [json-pointer:{pointer}/min_length]")
        out += _too_long(str(el.get("initial_value", "")), 3000, f"{pointer}/initial_value")
    if kind == "image":
        out += _too_long(str(el.get("image_url", "")), 3000, f"{pointer}/image_url")
        out += _too_long(str(el.get("alt_text", "")), 2000, f"{pointer}/alt_text")
    if kind == "file_input" and el.get("max_files") is not None and not 1 <= int(el["max_files"]) <= 10:
        out.append(f"[ERROR] must be between 1 and 10 [json-pointer:{pointer}/max_files]")
    out += _confirm_problems(el.get("confirm"), f"{pointer}/confirm")
    return out


def block_problems(blocks: Any, surface: str = "message", pointer: str = "/blocks") -> list[str]:
    """What Slack refuses in a ``blocks`` array (``surface``: message, modal or home), as its error strings."""
    if not isinstance(blocks, list):
        return [f"[ERROR] must be an array [json-pointer:{pointer}]"]
    most = 50 if surface == "message" else 100
    out = [f"[ERROR] no more than {most} items allowed [json-pointer:{pointer}]"] if len(blocks) > most else []
    block_ids: set[str] = set()
    for i, b in enumerate(blocks):
        p = f"{pointer}/{i}"
        if not isinstance(b, dict):
            out.append(f"[ERROR] must be an object [json-pointer:{p}]")
            continue
        kind = b.get("type")
        if "block_id" in b:
            bid = str(b["block_id"])
            out += _too_long(bid, 255, f"{p}/block_id")
            if bid in block_ids:
                out.append(f"[ERROR] duplicate block_id: {bid} [json-pointer:{p}/block_id]")
            block_ids.add(bid)
        if kind == "section":
            if b.get("text") is None and not b.get("fields"):
                out.append(f"[ERROR] must provide either text or fields [json-pointer:{p}]")
            if b.get("text") is not None:
                out += _text_problems(b["text"], f"{p}/text", 3000)
            fields = b.get("fields") or []
            if len(fields) > 10:
                out.append(f"[ERROR] no more than 10 items allowed [json-pointer:{p}/fields]")
            for j, f in enumerate(fields):
                out += _text_problems(f, f"{p}/fields/{j}", 2000)
            if b.get("accessory") is not None:
                out += element_problems(b["accessory"], f"{p}/accessory")
        elif kind == "header":
            out += _text_problems(b.get("text"), f"{p}/text", 150, plain=True)
        elif kind == "divider":
            pass
        elif kind == "context":
            elements = b.get("elements") or []
            if not elements:
                out.append(f"[ERROR] must provide at least 1 items [json-pointer:{p}/elements]")
            if len(elements) > 10:
                out.append(f"[ERROR] no more than 10 items allowed [json-pointer:{p}/elements]")
            for j, e in enumerate(elements):
                if isinstance(e, dict) and e.get("type") == "image":
                    out += element_problems(e, f"{p}/elements/{j}")
                else:
                    out += _text_problems(e, f"{p}/elements/{j}", 3000)
        elif kind == "actions":
            elements = b.get("elements") or []
            if not elements:
                out.append(f"[ERROR] must provide at least 1 items [json-pointer:{p}/elements]")
            if len(elements) > 25:
                out.append(f"[ERROR] no more than 25 items allowed [json-pointer:{p}/elements]")
            ids = [e.get("action_id") for e in elements if isinstance(e, dict) and e.get("action_id")]
            if len(ids) != len(set(ids)):
                out.append(f"[ERROR] duplicate action_id [json-pointer:{p}/elements]")
            for j, e in enumerate(elements):
                out += element_problems(e, f"{p}/elements/{j}")
        elif kind == "input":
            out += _text_problems(b.get("label"), f"{p}/label", 2000, plain=True)
            if b.get("hint") is not None:
                out += _text_problems(b["hint"], f"{p}/hint", 2000, plain=True)
            if b.get("element") is None:
                out.append(f"[ERROR] missing required field: element [json-pointer:{p}/element]")
            else:
                out += element_problems(b["element"], f"{p}/element")
        elif kind == "image":
            out += _too_long(str(b.get("image_url", "")), 3000, f"{p}/image_url")
            out += _too_long(str(b.get("alt_text", "")), 2000, f"{p}/alt_text")
            if b.get("title") is not None:
                out += _text_problems(b["title"], f"{p}/title", 2000, plain=True)
        elif kind in ("rich_text", "file", "video", "markdown"):
            if kind == "markdown":
                out += _too_long(str(b.get("text", "")), 12000, f"{p}/text")
        else:
            out.append(f"[ERROR] unsupported type: {kind} [json-pointer:{p}/type]")
    return out


def view_problems(view: Any) -> list[str]:
    """What Slack refuses in a modal or Home tab view."""
    if not isinstance(view, dict):
        return ["[ERROR] must be an object [json-pointer:/view]"]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return ["[ERROR] must be one of modal, home [json-pointer:/view/type]"]
    out = block_problems(view.get("blocks", []), kind, "/view/blocks")
    if kind == "modal":
        out += _text_problems(view.get("title"), "/view/title", 24, plain=True)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                out += _text_problems(view[key], f"/view/{key}", 24, plain=True)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks", []))
        if has_input and view.get("submit") is None:
            out.append("[ERROR] submit is required when an input block is within the blocks array [json-pointer:/view]")
    out += _too_long(str(view.get("private_metadata", "")), 3000, "/view/private_metadata")
    out += _too_long(str(view.get("callback_id", "")), 255, "/view/callback_id")
    out += _too_long(str(view.get("external_id", "")), 255, "/view/external_id")
    return out


# what an input left empty holds in view.state (Slack sends the key with null)
_EMPTY = {
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "users_select": "selected_user",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
    "checkboxes": "selected_options",
    "multi_static_select": "selected_options",
    "multi_external_select": "selected_options",
    "file_input": "files",
}


# ====================================================================== reading messages


_PING = re.compile(r"<(![a-z]+(?:\^[A-Z0-9]+)?|@[UW][A-Z0-9]+)(?:\|[^>]*)?>")


def _mrkdwn_texts(obj: Any, top: bool = True) -> Iterable[str]:
    if isinstance(obj, dict):
        is_message = obj.get("type") in (None, "message")
        if top and is_message and isinstance(obj.get("text"), str):
            yield obj["text"]  # a message's top-level text (also the notification text) parses <!here> and <@U>
        if obj.get("type") == "mrkdwn" and isinstance(obj.get("text"), str):
            yield obj["text"]
        if obj.get("type") in ("user", "usergroup", "broadcast"):  # rich_text elements that ping
            yield {"user": "<@{}>", "usergroup": "<!subteam^{}>", "broadcast": "<!{}>"}[obj["type"]].format(
                obj.get("user_id") or obj.get("usergroup_id") or obj.get("range")
            )
        for key, value in obj.items():
            if key != "text" or not isinstance(value, str):
                yield from _mrkdwn_texts(value, top=False)
    elif isinstance(obj, list):
        for x in obj:
            yield from _mrkdwn_texts(x, top=False)


def pings(obj: Any) -> list[str]:
    """Who a message (or blocks, or a view) would notify: ``["<!channel>", "<@U2>"]``; [] when it pings nobody."""
    found: list[str] = []
    for text in _mrkdwn_texts(obj):
        found += [f"<{m.group(1)}>" for m in _PING.finditer(text)]
    return found


def text_of(obj: Any) -> str:
    """Everything a person reads in a message or view: text, block text, fields, buttons, options, file names."""
    out: list[str] = []

    def walk(o: Any) -> None:
        if isinstance(o, dict):
            if isinstance(o.get("text"), str):
                out.append(o["text"])
            for k, v in o.items():
                if k in ("metadata", "state"):
                    continue
                if k == "name" and isinstance(v, str) and "mimetype" in o:
                    out.append(f"(file {v})")
                elif not isinstance(v, str):
                    walk(v)
        elif isinstance(o, list):
            for x in o:
                walk(x)

    walk(obj)
    return "\n".join(x for x in out if x)


# ====================================================================== state


@dataclass
class User:
    id: str
    team: str
    name: str
    admin: bool = False
    owner: bool = False
    bot: bool = False
    tz: str = "America/New_York"

    def as_slack(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "team_id": self.team,
            "name": self.name,
            "real_name": self.name.title(),
            "deleted": False,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": 0,
            "is_admin": self.admin,
            "is_owner": self.owner,
            "is_primary_owner": self.owner,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.bot,
            "is_app_user": False,
            "profile": {"real_name": self.name.title(), "display_name": self.name, "team": self.team},
        }


@dataclass
class Channel:
    id: str
    team: str
    name: str
    members: set[str]
    kind: str = "channel"  # channel, im, mpim
    messages: list[dict[str, Any]] = field(default_factory=list)

    def as_slack(self) -> dict[str, Any]:
        base: dict[str, Any] = {
            "id": self.id,
            "created": 1_700_000_000,
            "is_archived": False,
            "context_team_id": self.team,
        }
        if self.kind == "im":
            user = next(iter(sorted(self.members)), "")
            return {**base, "is_im": True, "is_org_shared": False, "user": user, "is_user_deleted": False}
        return {
            **base,
            "name": self.name,
            "is_channel": self.kind == "channel",
            "is_group": False,
            "is_im": False,
            "is_mpim": self.kind == "mpim",
            "is_private": self.kind == "mpim",
        }


@dataclass
class Team:
    id: str
    name: str
    domain: str
    bot_user: str
    bot_id: str
    tokens: set[str]
    enterprise_id: str | None = None
    enterprise_install: bool = False
    installed: bool = True
    users: dict[str, User] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)  # tokens of earlier installs, now token_revoked
    scopes: set[str] | None = None  # the bot token's scopes; None: every scope a method needs

    @property
    def bot_token(self) -> str:
        return sorted(self.tokens)[-1] if self.tokens else ""


@dataclass
class View:
    id: str
    team: str
    user: str
    view: dict[str, Any]
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    open: bool = True
    errors: dict[str, str] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier versions, oldest first

    @property
    def type(self) -> str:
        return str(self.view.get("type"))

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return list(self.view.get("blocks") or [])

    def as_slack(self, state: dict[str, Any] | None = None) -> dict[str, Any]:
        v = self.view
        return {
            "id": self.id,
            "team_id": self.team,
            "type": v.get("type"),
            "title": v.get("title"),
            "submit": v.get("submit"),
            "close": v.get("close"),
            "blocks": v.get("blocks") or [],
            "private_metadata": v.get("private_metadata", ""),
            "callback_id": v.get("callback_id", ""),
            "external_id": v.get("external_id", ""),
            "state": {"values": state or {}},
            "hash": self.hash,
            "clear_on_close": bool(v.get("clear_on_close", False)),
            "notify_on_close": bool(v.get("notify_on_close", False)),
            "root_view_id": self.root_view_id,
            "previous_view_id": self.previous_view_id,
            "app_id": APP_ID,
            "app_installed_team_id": self.team,
            "bot_id": "",
        }


@dataclass
class Trigger:
    id: str
    team: str
    user: str
    issued: float
    view_id: str | None = None  # the modal the interaction came from (views.push needs one)
    used: bool = False


@dataclass
class File:
    id: str
    team: str
    user: str  # who uploaded it (the bot user)
    name: str
    length: int
    title: str = ""
    content: bytes | None = None
    channels: list[str] = field(default_factory=list)
    base: str = ""  # the double's base URL: url_private is served at {base}/files-pri/<id>/<name>

    def as_slack(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title or self.name,
            "mimetype": "text/csv" if self.name.endswith(".csv") else "application/octet-stream",
            "filetype": self.name.rsplit(".", 1)[-1] if "." in self.name else "binary",
            "size": len(self.content or b""),
            "user": self.user,
            "channels": list(self.channels),
            "url_private": f"{self.base}/files-pri/{self.id}/{self.name}",
            "url_private_download": f"{self.base}/files-pri/{self.id}/{self.name}",
        }


@dataclass
class ApiCall:
    """One Web API request as the bot sent it."""

    method: str
    args: dict[str, Any]
    token: str | None
    team: str | None
    at: float
    status: int = 200
    error: str | None = None


@dataclass
class Fault:
    method: str
    status: int
    error: str | None
    times: int
    retry_after: int
    after_effect: bool


@dataclass
class ResponsePost:
    """One POST the bot made to a response_url."""

    id: str
    body: dict[str, Any]
    at: float
    delivery: Delivery | None


@dataclass
class Attempt:
    envelope_id: str
    number: int  # 0 for the first delivery, 1.. for Slack's retries
    sent_at: float
    acked_at: float | None = None
    ack: Any = None
    status: int | None = None  # HTTP mode: the bot's response status
    late: bool = False  # acked after the deadline, or never
    acked: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(eq=False)
class Delivery:
    """One event, slash command or interaction Slack delivered to the bot, and every attempt and answer."""

    type: str  # events_api, slash_commands, interactive
    payload: dict[str, Any]
    team: str
    user: str | None
    transport: str  # socket or http
    attempts: list[Attempt] = field(default_factory=list)
    response_url: str | None = None
    trigger_id: str | None = None
    posts: list[ResponsePost] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def acked(self) -> bool:
        return any(a.acked_at is not None for a in self.attempts)

    @property
    def first_ack(self) -> Attempt | None:
        acked = [a for a in self.attempts if a.acked_at is not None]
        return min(acked, key=lambda a: a.acked_at or 0.0) if acked else None

    @property
    def late(self) -> bool:
        """Some attempt was acked after the deadline or not at all."""
        return any(a.late for a in self.attempts)

    @property
    def ack(self) -> Any:
        """The payload of the first ack (None for an empty ack)."""
        first = self.first_ack
        return None if first is None else first.ack

    @property
    def ack_latency(self) -> float | None:
        first = self.first_ack
        return None if first is None or first.acked_at is None else first.acked_at - first.sent_at

    @property
    def text(self) -> str:
        """What the user read in answer: the ack payload and every response_url post."""
        parts = [text_of(self.ack)] if isinstance(self.ack, dict) else []
        parts += [text_of(p.body) for p in self.posts]
        return "\n".join(x for x in parts if x)


@dataclass(eq=False)
class Connection:
    ws: web.WebSocketResponse
    ticket: str
    opened_at: float
    closed: bool = False

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(frame))


def _ok(data: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"ok": True, **(data or {})}, headers=headers)


class SlackError(Exception):
    def __init__(self, error: str, status: int = 200, messages: list[str] | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.messages = messages
        self.extra = extra
        self.headers: dict[str, str] = {}

    def response(self) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return web.json_response(body, status=self.status, headers=self.headers)


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True", "yes")


# ====================================================================== the double


class SlackDouble:
    def __init__(
        self,
        *,
        ack_timeout: float = ACK_TIMEOUT,
        trigger_ttl: float = TRIGGER_TTL,
        max_retries: int = 3,
        channel_rate: float = 1.0,
        channel_burst: int = 1,
        team_rate: float | None = None,
        team_burst: int | None = None,
        http_url: str | None = None,
        signing_secret: str = SIGNING_SECRET,
    ) -> None:
        self.ack_timeout = ack_timeout
        self.trigger_ttl = trigger_ttl
        self.max_retries = max_retries
        self.channel_rate = channel_rate
        self.channel_burst = channel_burst
        self.team_rate = team_rate
        self.team_burst = team_burst if team_burst is not None else max(1, int(team_rate or 1))
        self.http_url = http_url
        self.signing_secret = signing_secret
        # how signed HTTP deliveries are sent: None for the double's aiohttp session; a benchmark may
        # plug in its own (see HttpTransport), which also says when each request was written
        self.http_transport: HttpTransport | None = None
        self.teams: dict[str, Team] = {}
        self.channels: dict[str, Channel] = {}
        self.views: dict[str, View] = {}
        self.triggers: dict[str, Trigger] = {}
        self.uploads: dict[str, File] = {}
        self.calls: list[ApiCall] = []
        self.invalid: list[str] = []
        self.unknown: list[str] = []
        self.faults: list[Fault] = []
        self.rate_limited = 0
        self.early_retries: list[tuple[str, str, float]] = []  # (channel|team, id, seconds too early)
        self.posted_at: list[float] = []  # monotonic time of every accepted chat.postMessage
        self._not_before: dict[tuple[str, str], float] = {}
        self.deliveries: list[Delivery] = []
        self.late_acks: list[tuple[Delivery, Attempt]] = []
        self.response_posts: list[ResponsePost] = []
        self.ephemeral: list[dict[str, Any]] = []
        self.connections: list[Connection] = []
        self.oauth_codes: dict[str, tuple[str, str]] = {}  # code -> (team, user)
        self.oauth_team = "T1"  # who approves the next install at {base}/oauth/v2/authorize
        self.oauth_user = "U4"
        self.oauth_redirect_url: str | None = None  # where the approval goes when the bot sends no redirect_uri
        self.authorize_requests: list[dict[str, str]] = []
        self._tickets: set[str] = set()
        self._responses: dict[str, Delivery] = {}
        self._envelopes: dict[str, tuple[Delivery, Attempt]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, at)
        self._team_buckets: dict[str, tuple[float, float]] = {}
        self._ims: dict[tuple[str, frozenset[str]], str] = {}
        self._ids = itertools.count(1)
        self._last_ts = 0.0
        self._rr = itertools.count()
        self._activity = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.port = 0
        self._method_table = self._methods()
        self.add_team("T1", name="IMG EM", domain="img-em")
        self.add_user("T1", "U1", "amal")
        self.add_user("T1", "U2", "ben")
        self.add_user("T1", "U3", "admin", admin=True)
        self.add_user("T1", "U4", "owner", admin=True, owner=True)
        self.add_channel("T1", "C1", "general", members=["U1", "U2", "U3", "U4"])
        self.add_channel("T1", "C2", "random", members=["U1", "U2"], bot_member=False)

    # ================================================================ lifecycle
    async def start(self) -> SlackDouble:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/link/", self._socket)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{rid}", self._response_url)
        app.router.add_get("/oauth/v2/authorize", self._authorize_page)
        app.router.add_get("/files-pri/{file_id}/{name}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._http = aiohttp.ClientSession()
        return self

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        for t in list(self._tasks):
            with contextlib.suppress(BaseException):
                await t
        for c in list(self.connections):
            with contextlib.suppress(Exception):
                await c.ws.close()
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> SlackDouble:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def authorize_url(self) -> str:
        """For the OAuth settings' ``authorization_url`` (Slack's is https://slack.com/oauth/v2/authorize)."""
        return f"{self.base}/oauth/v2/authorize"

    @property
    def api_base(self) -> str:
        """For ``AsyncWebClient(base_url=...)`` and ``SLACK_API_BASE``."""
        return f"{self.base}/api/"

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _poke(self) -> None:
        self._activity.set()

    # ================================================================ workspaces
    def add_team(
        self,
        team: str,
        *,
        name: str | None = None,
        domain: str | None = None,
        enterprise_id: str | None = None,
        enterprise_install: bool = False,
    ) -> Team:
        n = len(self.teams) + 1
        t = Team(
            id=team,
            name=name or f"Workspace {team}",
            domain=domain or team.lower(),
            bot_user=f"UB{team}",
            bot_id=f"B{n:02d}{team}",
            tokens={f"xoxb-{team}-1-{secrets.token_hex(6)}"},
            enterprise_id=enterprise_id,
            enterprise_install=enterprise_install,
        )
        self.teams[team] = t
        t.users[t.bot_user] = User(t.bot_user, team, "imgbot", bot=True)
        return t

    def add_user(self, team: str, uid: str, name: str | None = None, *, admin: bool = False, owner: bool = False,
                 tz: str = "America/New_York") -> User:  # fmt: skip
        u = User(uid, team, name or uid.lower(), admin=admin, owner=owner, tz=tz)
        self.teams[team].users[uid] = u
        return u

    def add_channel(
        self, team: str, cid: str, name: str | None = None, *, members: Iterable[str] = (), bot_member: bool = True
    ) -> Channel:
        t = self.teams[team]
        people = set(members) | ({t.bot_user} if bot_member else set())
        ch = Channel(cid, team, name or cid.lower(), people)
        self.channels[cid] = ch
        return ch

    def join(self, channel: str, *users: str) -> None:
        """Add members (a user id, or the team's bot user) to a channel."""
        self.channels[channel].members.update(users)

    def bot_token(self, team: str = "T1") -> str:
        return self.teams[team].bot_token

    def bot_user(self, team: str = "T1") -> str:
        return self.teams[team].bot_user

    def _team_of_token(self, token: str) -> Team | None:
        return next((t for t in self.teams.values() if token in t.tokens), None)

    # ================================================================ ids and timestamps
    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08X}"

    def _ts(self) -> str:
        now = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    def _trigger(self, team: str, user: str, view_id: str | None = None) -> str:
        tid = f"{next(self._ids)}.{int(time.time())}.{secrets.token_hex(16)}"
        self.triggers[tid] = Trigger(tid, team, user, time.monotonic(), view_id)
        return tid

    def trigger_for(self, user: str = "U1", team: str = "T1") -> str:
        """A fresh trigger_id, as an interaction by ``user`` would carry (for tests of views.* alone)."""
        return self._trigger(team, user)

    def _use_trigger(self, trigger_id: Any, team: Team) -> Trigger:
        trig = self.triggers.get(str(trigger_id)) if trigger_id else None
        if trig is None or trig.team != team.id:
            raise SlackError("invalid_trigger_id")
        if trig.used:
            raise SlackError("exchanged_trigger_id")
        if time.monotonic() - trig.issued > self.trigger_ttl:
            raise SlackError("expired_trigger_id")
        trig.used = True
        return trig

    # ================================================================ faults
    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        times: int = 1,
        retry_after: int = 1,
        after_effect: bool = False,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP ``status`` (429 carries ``retry_after``)
        and/or ``{"ok": false, "error": error}``."""
        self.faults.append(Fault(method, status, error, times, retry_after, after_effect))

    def _fault_for(self, method: str) -> Fault | None:
        for f in self.faults:
            if f.times > 0 and f.method == method:
                f.times -= 1
                return f
        return None

    @staticmethod
    def _fault_response(f: Fault) -> web.Response:
        if f.status == 429:
            return web.json_response(
                {"ok": False, "error": f.error or "ratelimited"},
                status=429,
                headers={"Retry-After": str(f.retry_after)},
            )
        if f.status >= 500 and f.error is None:
            return web.Response(status=f.status, text="<html>upstream error</html>", content_type="text/html")
        return web.json_response({"ok": False, "error": f.error or "fatal_error"}, status=f.status)

    def _take(self, buckets: dict[str, tuple[float, float]], key: str, rate: float, burst: int) -> float | None:
        """Token bucket: None when allowed, else seconds until the next message may go."""
        now = time.monotonic()
        tokens, at = buckets.get(key, (float(burst), now))
        tokens = min(float(burst), tokens + (now - at) * rate)
        if tokens >= 1.0:
            buckets[key] = (tokens - 1.0, now)
            return None
        buckets[key] = (tokens, now)
        return (1.0 - tokens) / rate

    # ================================================================ Web API
    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    args.update(body)
            elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for k, v in form.items():
                    args[k] = v if isinstance(v, str) else v.file.read()  # type: ignore[union-attr]
            else:
                text = await request.text()
                if text:
                    args.update(dict(parse_qsl(text)))
        for key in JSON_ARGS:
            if isinstance(args.get(key), str) and args[key]:
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(args[key])
        return args

    @staticmethod
    def _token(request: web.Request, args: dict[str, Any]) -> tuple[str | None, str | None]:
        """(token, basic-auth) from the request."""
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth[7:].strip(), None
        if auth.startswith("Basic "):
            return None, auth[6:].strip()
        token = args.pop("token", None)
        return (str(token) if token else None), None

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args = await self._args(request)
        token, basic = self._token(request, args)
        team = self._team_of_token(token) if token else None
        call = ApiCall(method, args, token, team.id if team else None, time.monotonic())
        self.calls.append(call)
        try:
            response = await self._dispatch(method, args, token, basic, team)
        except SlackError as e:
            call.error = e.error
            response = e.response()
        call.status = response.status
        self._poke()
        return response

    async def _dispatch(
        self, method: str, args: dict[str, Any], token: str | None, basic: str | None, team: Team | None
    ) -> web.Response:
        handler = self._method_table.get(method)
        if handler is None:
            self.unknown.append(method)
            raise SlackError("unknown_method", status=404)
        if method != "oauth.v2.access":
            if token is None:
                raise SlackError("not_authed")
            if method == "apps.connections.open" and token != APP_TOKEN:
                raise SlackError("not_allowed_token_type" if team is not None else "invalid_auth")
            if method != "apps.connections.open" and token == APP_TOKEN:
                raise SlackError("not_allowed_token_type")
            if team is None and token != APP_TOKEN:
                revoked = any(token in t.revoked for t in self.teams.values())
                raise SlackError("token_revoked" if revoked else "invalid_auth")
        fault = self._fault_for(method)
        if fault is not None and not fault.after_effect:
            return self._fault_response(fault)
        if method == "oauth.v2.access":
            response = await self._oauth_access(args, basic)
        elif method == "apps.connections.open":
            response = await self._connections_open(args)
        else:
            assert team is not None
            response = await handler(args, team)
        return self._fault_response(fault) if fault is not None else response

    def _methods(self) -> dict[str, Callable[[dict[str, Any], Team], Any]]:
        return {
            "auth.test": self._auth_test,
            "apps.connections.open": self._auth_test,  # handled in _dispatch
            "oauth.v2.access": self._auth_test,  # handled in _dispatch
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "files.info": self._files_info,
            "users.info": self._users_info,
            "team.info": self._team_info,
        }

    # ---------------------------------------------------------------- auth
    async def _auth_test(self, args: dict[str, Any], team: Team) -> web.Response:
        return _ok(
            {
                "url": f"https://{team.domain}.slack.com/",
                "team": team.name,
                "user": "imgbot",
                "team_id": team.id,
                "user_id": team.bot_user,
                "bot_id": team.bot_id,
                "app_id": APP_ID,
                "enterprise_id": team.enterprise_id,
                "is_enterprise_install": team.enterprise_install,
            }
        )

    async def _connections_open(self, args: dict[str, Any]) -> web.Response:
        ticket = secrets.token_hex(12)
        self._tickets.add(ticket)
        return _ok({"url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={APP_ID}"})

    def authorize(self, team: str = "T1", user: str = "U4") -> str:
        """The ``code`` Slack hands the bot's redirect URL after ``user`` approves the install in ``team``."""
        code = f"code-{secrets.token_hex(8)}"
        self.oauth_codes[code] = (team, user)
        return code

    async def _authorize_page(self, request: web.Request) -> web.StreamResponse:
        """Slack's consent screen, already approved by ``oauth_user`` of ``oauth_team``: 302 to the redirect URL
        with ``code`` and the bot's ``state`` (``?team=T2&user=W1`` picks someone else)."""
        query = dict(request.query)
        self.authorize_requests.append(query)
        self._poke()
        if query.get("client_id") != CLIENT_ID:
            return web.Response(status=400, text="invalid_client_id")
        target = query.get("redirect_uri") or self.oauth_redirect_url
        if not target:
            return web.Response(status=400, text="bad_redirect_uri")
        code = self.authorize(query.get("team", self.oauth_team), query.get("user", self.oauth_user))
        params = urlencode({"code": code, **({"state": query["state"]} if "state" in query else {})})
        raise web.HTTPFound(f"{target}{'&' if '?' in target else '?'}{params}")

    async def _oauth_access(self, args: dict[str, Any], basic: str | None) -> web.Response:
        client_id, client_secret = args.get("client_id"), args.get("client_secret")
        if basic is not None:
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                client_id, _, client_secret = base64.b64decode(basic).decode().partition(":")
        if client_id != CLIENT_ID:
            raise SlackError("invalid_client_id")
        if client_secret != CLIENT_SECRET:
            raise SlackError("bad_client_secret")
        code = str(args.get("code") or "")
        if code not in self.oauth_codes:
            raise SlackError("invalid_code")
        team_id, user = self.oauth_codes.pop(code)
        team = self.teams[team_id]
        token = f"xoxb-{team_id}-{len(team.tokens) + len(team.revoked) + 1}-{secrets.token_hex(6)}"
        team.revoked |= team.tokens
        team.tokens = {token}  # a reinstall replaces the old bot token
        team.installed = True
        enterprise = {"id": team.enterprise_id, "name": f"Org {team.enterprise_id}"} if team.enterprise_id else None
        return _ok(
            {
                "access_token": token,
                "token_type": "bot",
                "scope": "commands,chat:write,im:write,im:history,mpim:write,mpim:history,"
                "files:write,users:read,team:read",
                "bot_user_id": team.bot_user,
                "app_id": APP_ID,
                "team": None if team.enterprise_install else {"id": team.id, "name": team.name},
                "enterprise": enterprise,
                "is_enterprise_install": team.enterprise_install,
                "authed_user": {"id": user, "scope": "", "token_type": "user"},
            }
        )

    # ---------------------------------------------------------------- messages
    def _channel_for(self, args: dict[str, Any], team: Team, *, post: bool = True) -> Channel:
        cid = str(args.get("channel") or args.get("channel_id") or "")
        if not cid:
            raise SlackError("channel_not_found")
        ch = self.channels.get(cid)
        if ch is None and cid.startswith(("U", "W")) and cid in team.users:
            ch = self._im(team, [cid])  # Slack posts to a user id in the app's DM with them
        if ch is None or ch.team != team.id:
            raise SlackError("channel_not_found")
        if post and team.bot_user not in ch.members:
            raise SlackError("not_in_channel")
        return ch

    def _check_message(self, args: dict[str, Any]) -> None:
        text = args.get("text")
        blocks = args.get("blocks")
        if text is not None and len(str(text)) > MAX_TEXT:
            self.invalid.append("msg_too_long")
            raise SlackError("msg_too_long")
        if blocks is not None:
            problems = block_problems(blocks, "message")
            if problems:
                self.invalid.extend(problems)
                raise SlackError("invalid_blocks", messages=problems)
        if not text and not blocks and not args.get("attachments"):
            raise SlackError("no_text")
        metadata = args.get("metadata")
        if metadata is not None and (not isinstance(metadata, dict) or "event_type" not in metadata):
            raise SlackError("invalid_metadata_format")

    def _message(self, team: Team, args: dict[str, Any], ts: str | None = None) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "message",
            "user": team.bot_user,
            "bot_id": team.bot_id,
            "app_id": APP_ID,
            "team": team.id,
            "text": str(args.get("text") or ""),
            "ts": ts or self._ts(),
            "blocks": args.get("blocks") or [],
        }
        if args.get("metadata") is not None:
            msg["metadata"] = args["metadata"]
        if args.get("thread_ts"):
            msg["thread_ts"] = str(args["thread_ts"])
        if args.get("attachments"):
            msg["attachments"] = args["attachments"]
        return msg

    async def _post_message(self, args: dict[str, Any], team: Team) -> web.Response:
        ch = self._channel_for(args, team)
        self._check_message(args)
        now = time.monotonic()
        for key in (("channel", ch.id), ("team", team.id)):
            not_before = self._not_before.get(key)
            if not_before is not None and now < not_before:
                self.early_retries.append((key[0], key[1], round(not_before - now, 3)))
        scope = "channel"
        wait = self._take(self._buckets, ch.id, self.channel_rate, self.channel_burst)
        if wait is None and self.team_rate is not None:
            scope = "team"
            wait = self._take(self._team_buckets, team.id, self.team_rate, self.team_burst)
            if wait is not None:  # give the channel its token back
                tokens, at = self._buckets[ch.id]
                self._buckets[ch.id] = (tokens + 1.0, at)
        if wait is not None:
            self.rate_limited += 1
            retry_after = max(1, math.ceil(wait))
            self._not_before[(scope, ch.id if scope == "channel" else team.id)] = now + retry_after
            err = SlackError("ratelimited", status=429)
            err.headers = {"Retry-After": str(retry_after)}
            raise err
        self.posted_at.append(now)
        msg = self._message(team, args)
        msg["channel"] = ch.id
        ch.messages.append(msg)
        public = {k: v for k, v in msg.items() if k != "channel"}
        return _ok({"channel": ch.id, "ts": msg["ts"], "message": public})

    async def _post_ephemeral(self, args: dict[str, Any], team: Team) -> web.Response:
        ch = self._channel_for(args, team)
        user = str(args.get("user") or "")
        if user not in team.users:
            raise SlackError("user_not_found")
        if user not in ch.members:
            raise SlackError("user_not_in_channel")
        self._check_message(args)
        msg = self._message(team, args)
        msg.update({"channel": ch.id, "for_user": user, "is_ephemeral": True})
        self.ephemeral.append(msg)
        return _ok({"message_ts": msg["ts"]})

    def _find(self, args: dict[str, Any], team: Team) -> tuple[Channel, dict[str, Any]]:
        ch = self._channel_for(args, team, post=False)
        ts = str(args.get("ts") or "")
        msg = next((m for m in ch.messages if m["ts"] == ts), None)
        if msg is None:
            raise SlackError("message_not_found")
        if msg.get("bot_id") != team.bot_id:
            raise SlackError("cant_update_message")
        return ch, msg

    async def _chat_update(self, args: dict[str, Any], team: Team) -> web.Response:
        ch, msg = self._find(args, team)
        merged = {"text": msg["text"], **{k: v for k, v in args.items() if k in ("text", "blocks", "metadata")}}
        if "blocks" not in args:
            merged["blocks"] = msg.get("blocks") or None
        self._check_message(merged)
        msg.setdefault("edits", []).append({k: msg.get(k) for k in ("text", "blocks", "metadata")})
        msg.update({k: v for k, v in merged.items() if v is not None})
        msg["edited"] = {"user": team.bot_user, "ts": self._ts()}
        public = {k: v for k, v in msg.items() if k not in ("channel", "edits")}
        return _ok({"channel": ch.id, "ts": msg["ts"], "text": msg["text"], "message": public})

    async def _chat_delete(self, args: dict[str, Any], team: Team) -> web.Response:
        ch, msg = self._find(args, team)
        ch.messages.remove(msg)
        return _ok({"channel": ch.id, "ts": msg["ts"]})

    def _im(self, team: Team, users: list[str]) -> Channel:
        key = (team.id, frozenset(users))
        if key not in self._ims:
            cid = self._id("D" if len(users) == 1 else "G")
            kind = "im" if len(users) == 1 else "mpim"
            name = users[0] if len(users) == 1 else "mpdm-" + "--".join(users) + "-1"
            self.channels[cid] = Channel(cid, team.id, name, {*users, team.bot_user}, kind)
            self._ims[key] = cid
        return self.channels[self._ims[key]]

    async def _conversations_open(self, args: dict[str, Any], team: Team) -> web.Response:
        if args.get("channel"):
            ch = self.channels.get(str(args["channel"]))
            if ch is None or ch.team != team.id:
                raise SlackError("channel_not_found")
            return _ok({"channel": ch.as_slack() if _truthy(args.get("return_im")) else {"id": ch.id}})
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > 8:
            raise SlackError("too_many_users")
        needed = "im:write" if len(users) == 1 else "mpim:write"
        if team.scopes is not None and needed not in team.scopes:
            raise SlackError("missing_scope", needed=needed, provided=",".join(sorted(team.scopes)))
        for u in users:
            if u not in team.users:
                raise SlackError("user_not_found")  # also a user of another workspace
            if u == team.bot_user:
                raise SlackError("cannot_dm_bot")
        existed = (team.id, frozenset(users)) in self._ims
        ch = self._im(team, users)
        body: dict[str, Any] = {"no_op": True, "already_open": True} if existed else {}
        body["channel"] = ch.as_slack() if _truthy(args.get("return_im")) or len(users) > 1 else {"id": ch.id}
        return _ok(body)

    async def _conversations_history(self, args: dict[str, Any], team: Team) -> web.Response:
        ch = self._channel_for(args, team, post=False)
        needed = {"im": "im:history", "mpim": "mpim:history"}.get(ch.kind, "channels:history")
        if team.scopes is not None and needed not in team.scopes:
            raise SlackError("missing_scope", needed=needed, provided=",".join(sorted(team.scopes)))
        if team.bot_user not in ch.members:
            raise SlackError("not_in_channel")
        limit = int(args.get("limit") or 100)
        with_meta = _truthy(args.get("include_all_metadata"))
        newest_first = list(reversed(ch.messages))
        if args.get("latest"):
            newest_first = [m for m in newest_first if float(m["ts"]) < float(args["latest"])]
        if args.get("oldest"):
            newest_first = [m for m in newest_first if float(m["ts"]) > float(args["oldest"])]
        start = 0
        if args.get("cursor"):
            try:
                start = int(base64.b64decode(str(args["cursor"])).decode().removeprefix("offset:"))
            except ValueError as e:
                raise SlackError("invalid_cursor") from e
        page = newest_first[start : start + limit]
        more = len(newest_first) > start + limit
        out = []
        for m in page:
            shown = {k: v for k, v in m.items() if k not in ("channel", "edits")}
            if not with_meta:
                shown.pop("metadata", None)
            out.append(shown)
        cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return _ok({"messages": out, "has_more": more, "pin_count": 0, "response_metadata": {"next_cursor": cursor}})

    # ---------------------------------------------------------------- views
    def _check_view(self, view: Any) -> dict[str, Any]:
        if len(json.dumps(view)) > 250_000:
            self.invalid.append("view_too_large")
            raise SlackError("view_too_large")
        problems = view_problems(view)
        if problems:
            self.invalid.extend(problems)
            raise SlackError("invalid_arguments", messages=problems)
        return dict(view)

    def _new_view(self, team: Team, user: str, view: dict[str, Any], root: str | None, previous: str | None) -> View:
        vid = self._id("V")
        v = View(vid, team.id, user, view, f"{int(time.time())}.{secrets.token_hex(4)}", root or vid, previous)
        if view.get("external_id") and any(
            o.view.get("external_id") == view["external_id"] and o.team == team.id for o in self.views.values()
        ):
            raise SlackError("duplicate_external_id")
        self.views[vid] = v
        return v

    async def _views_open(self, args: dict[str, Any], team: Team) -> web.Response:
        view = self._check_view(args.get("view"))
        if view.get("type") != "modal":
            raise SlackError("invalid_arguments", messages=["[ERROR] must be modal [json-pointer:/view/type]"])
        trig = self._use_trigger(args.get("trigger_id") or args.get("interactivity_pointer"), team)
        for old in self.open_modals(trig.user, team.id):
            old.open = False  # a new modal replaces the user's open stack
        v = self._new_view(team, trig.user, view, None, None)
        return _ok({"view": v.as_slack()})

    async def _views_push(self, args: dict[str, Any], team: Team) -> web.Response:
        view = self._check_view(args.get("view"))
        trig = self._use_trigger(args.get("trigger_id") or args.get("interactivity_pointer"), team)
        stack = self.open_modals(trig.user, team.id)
        if not stack:
            raise SlackError("not_found")
        if len(stack) >= 3:
            raise SlackError("push_limit_reached")
        v = self._new_view(team, trig.user, view, stack[0].id, stack[-1].id)
        return _ok({"view": v.as_slack()})

    async def _views_update(self, args: dict[str, Any], team: Team) -> web.Response:
        view = self._check_view(args.get("view"))
        target: View | None = None
        if args.get("view_id"):
            target = self.views.get(str(args["view_id"]))
        elif args.get("external_id"):
            target = next((v for v in self.views.values() if v.view.get("external_id") == args["external_id"]), None)
        else:
            raise SlackError("invalid_arguments", messages=["[ERROR] view_id or external_id is required"])
        if target is None or target.team != team.id or (target.type == "modal" and not target.open):
            raise SlackError("not_found")
        if args.get("hash") and str(args["hash"]) != target.hash:
            raise SlackError("hash_conflict")
        target.history.append(target.view)
        target.view = view
        target.errors = {}
        target.hash = f"{int(time.time())}.{secrets.token_hex(4)}"
        return _ok({"view": target.as_slack()})

    async def _views_publish(self, args: dict[str, Any], team: Team) -> web.Response:
        view = self._check_view(args.get("view"))
        if view.get("type") != "home":
            raise SlackError("invalid_arguments", messages=["[ERROR] must be home [json-pointer:/view/type]"])
        user = str(args.get("user_id") or "")
        if user not in team.users:
            raise SlackError("user_not_found")
        current = self.home(user, team.id)
        if current is None:
            current = self._new_view(team, user, view, None, None)
        else:
            if args.get("hash") and str(args["hash"]) != current.hash:
                raise SlackError("hash_conflict")
            current.history.append(current.view)
            current.view = view
            current.hash = f"{int(time.time())}.{secrets.token_hex(4)}"
        return _ok({"view": current.as_slack()})

    def open_modals(self, user: str, team: str = "T1") -> list[View]:
        """The user's open modal stack, root first."""
        return [v for v in self.views.values() if v.user == user and v.team == team and v.type == "modal" and v.open]

    def home(self, user: str, team: str = "T1") -> View | None:
        """The Home tab the bot published for ``user``."""
        return next((v for v in self.views.values() if v.user == user and v.team == team and v.type == "home"), None)

    # ---------------------------------------------------------------- files
    async def _files_get_upload_url(self, args: dict[str, Any], team: Team) -> web.Response:
        name = str(args.get("filename") or "")
        length = args.get("length")
        if not name:
            raise SlackError("invalid_arguments", messages=["[ERROR] missing required field: filename"])
        if length is None or not str(length).isdigit() or int(length) < 1:
            raise SlackError("invalid_arguments", messages=["[ERROR] missing required field: length"])
        f = File(self._id("F"), team.id, team.bot_user, name, int(length), base=self.base)
        self.uploads[f.id] = f
        return _ok({"upload_url": f"{self.base}/upload/{f.id}", "file_id": f.id})

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        f = self.uploads.get(request.match_info["file_id"])
        if f is None:
            return web.Response(status=404, text="not found")
        if request.content_type == "multipart/form-data":
            form = await request.post()
            part = next(iter(form.values()), b"")
            data = part if isinstance(part, bytes) else part.encode() if isinstance(part, str) else part.file.read()
        else:
            data = await request.read()
        f.content = data
        self._poke()
        return web.Response(status=200, text=f"OK - {len(data)}")

    async def _download(self, request: web.Request) -> web.StreamResponse:
        """``url_private``: the bytes, for a bot token of the file's workspace only (Slack answers others with
        its sign-in page, an HTML 200; here a 403 so a test cannot mistake it for the file)."""
        f = self.uploads.get(request.match_info["file_id"])
        auth = request.headers.get("Authorization", "")
        team = self._team_of_token(auth[7:]) if auth.startswith("Bearer ") else None
        if f is None or f.content is None:
            return web.Response(status=404, text="file not found")
        if team is None or team.id != f.team:
            return web.Response(status=403, text="sign in")
        return web.Response(body=f.content, content_type="application/octet-stream")

    async def _files_complete_upload(self, args: dict[str, Any], team: Team) -> web.Response:
        items = args.get("files")
        if not isinstance(items, list) or not items:
            raise SlackError("invalid_arguments", messages=["[ERROR] missing required field: files"])
        found: list[File] = []
        for item in items:
            f = self.uploads.get(str(item.get("id")))
            if f is None or f.team != team.id or f.content is None:
                raise SlackError("file_not_found")
            f.title = str(item.get("title") or f.name)
            found.append(f)
        channel_ids = [str(args["channel_id"])] if args.get("channel_id") else []
        channel_ids += [c for c in str(args.get("channels") or "").split(",") if c]
        for cid in channel_ids:
            ch = self._channel_for({"channel": cid}, team)
            msg = self._message(team, {"text": args.get("initial_comment") or "", "thread_ts": args.get("thread_ts")})
            msg["channel"] = ch.id
            msg["files"] = [f.as_slack() for f in found]
            msg["upload"] = True
            ch.messages.append(msg)
            for f in found:
                f.channels.append(ch.id)
                msg["files"] = [x.as_slack() for x in found]
        return _ok({"files": [f.as_slack() for f in found]})

    async def _files_info(self, args: dict[str, Any], team: Team) -> web.Response:
        f = self.uploads.get(str(args.get("file") or ""))
        if f is None or f.team != team.id or f.content is None:
            raise SlackError("file_not_found")
        return _ok({"file": f.as_slack(), "comments": [], "response_metadata": {"next_cursor": ""}})

    # ---------------------------------------------------------------- users, team
    async def _users_info(self, args: dict[str, Any], team: Team) -> web.Response:
        u = team.users.get(str(args.get("user") or ""))
        if u is None:
            raise SlackError("user_not_found")
        return _ok({"user": u.as_slack()})

    async def _team_info(self, args: dict[str, Any], team: Team) -> web.Response:
        t = self.teams.get(str(args.get("team") or team.id))
        if t is None:
            raise SlackError("team_not_found")
        return _ok(
            {
                "team": {
                    "id": t.id,
                    "name": t.name,
                    "domain": t.domain,
                    "email_domain": "",
                    "icon": {"image_default": True},
                    "enterprise_id": t.enterprise_id,
                    "enterprise_name": f"Org {t.enterprise_id}" if t.enterprise_id else None,
                }
            }
        )

    # ---------------------------------------------------------------- response_url
    async def _response_url(self, request: web.Request) -> web.StreamResponse:
        rid = request.match_info["rid"]
        delivery = self._responses.get(rid)
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        post = ResponsePost(rid, body if isinstance(body, dict) else {"raw": body}, time.monotonic(), delivery)
        self.response_posts.append(post)
        self._poke()
        if delivery is None:
            return web.Response(status=404, text="no_active_hooks")
        if len(delivery.posts) >= 5:
            return web.Response(status=403, text="used_url")
        if isinstance(body, dict) and body.get("blocks") is not None:
            problems = block_problems(body["blocks"], "message")
            if problems:
                self.invalid.extend(problems)
                return web.json_response({"ok": False, "error": "invalid_blocks"}, status=400)
        if isinstance(body, dict) and len(str(body.get("text") or "")) > MAX_TEXT:
            return web.json_response({"ok": False, "error": "msg_too_long"}, status=400)
        delivery.posts.append(post)
        self._show_response(delivery, post.body)
        return web.Response(status=200, text="ok")

    def _show_response(self, delivery: Delivery, body: dict[str, Any]) -> None:
        """Make a response_url post or an ack payload visible where Slack would show it."""
        team = self.teams[delivery.team]
        channel = delivery.payload.get("channel_id") or (delivery.payload.get("channel") or {}).get("id")
        source = delivery.payload.get("message")
        # the message a click came from: in the channel, or the ephemeral one shown to the clicker
        if delivery.payload.get("container", {}).get("is_ephemeral"):
            shown_in = self.ephemeral
        else:
            ch = self.channels.get(str(channel))
            shown_in = ch.messages if ch is not None else []
        original = next((m for m in shown_in if source and m["ts"] == source.get("ts")), None)
        if body.get("delete_original"):
            if original is not None:
                shown_in.remove(original)
            return
        if not (body.get("text") or body.get("blocks")):
            return
        msg = self._message(team, body)
        if body.get("replace_original") and original is not None:
            original.update({k: msg[k] for k in ("text", "blocks")})
            return
        if body.get("response_type") == "in_channel" and channel in self.channels:
            msg["channel"] = channel
            self.channels[channel].messages.append(msg)
        else:
            msg.update({"channel": channel, "for_user": delivery.user, "is_ephemeral": True})
            self.ephemeral.append(msg)

    # ================================================================ Socket Mode
    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)  # a wss URL is good for one connection
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = Connection(ws, ticket, time.monotonic())
        self.connections.append(conn)
        await conn.send(
            {
                "type": "hello",
                "num_connections": len(self.connections),
                "debug_info": {"host": "double-1", "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        )
        self._poke()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                with contextlib.suppress(ValueError):
                    self._on_ack(json.loads(msg.data), None)
        finally:
            conn.closed = True
            self.connections.remove(conn)
            self._poke()
        return ws

    def _on_ack(self, frame: Any, status: int | None) -> None:
        if not isinstance(frame, dict) or "envelope_id" not in frame:
            return
        found = self._envelopes.get(str(frame["envelope_id"]))
        if found is None:
            return
        delivery, attempt = found
        if attempt.acked_at is not None:
            return  # a second ack of one envelope changes nothing
        attempt.acked_at = time.monotonic()
        attempt.ack = frame.get("payload")
        attempt.status = status
        attempt.acked.set()
        attempt.late = attempt.acked_at - attempt.sent_at > self.ack_timeout
        if attempt.late and not any(a is attempt for _, a in self.late_acks):
            self.late_acks.append((delivery, attempt))
        if not attempt.late:  # Slack has already shown the user an error and drops a late ack's payload
            self._apply_ack(delivery, attempt.ack)
        delivery.done.set()
        self._poke()

    async def wait_connected(self, count: int = 1, timeout: float = 10.0) -> None:
        await self.wait_for(lambda: len(self.connections) >= count, timeout, f"{count} socket-mode connection(s)")

    async def disconnect_all(self, reason: str = "refresh_requested") -> None:
        """Slack's ``disconnect`` message, then close every socket (the client reconnects)."""
        for c in list(self.connections):
            with contextlib.suppress(Exception):
                await c.send({"type": "disconnect", "reason": reason, "debug_info": {"host": "double-1"}})
                await c.ws.close()

    # ================================================================ deliveries
    async def push(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        team: str = "T1",
        user: str | None = None,
        retries: bool = True,
        wait: bool = True,
        timeout: float = 10.0,
    ) -> Delivery:
        """Deliver an ``events_api``, ``slash_commands`` or ``interactive`` payload to the bot (over the socket,
        or signed HTTP when ``http_url`` is set), retrying like Slack when the ack is late; with ``wait``,
        return once some attempt is acked (AssertionError after ``timeout``)."""
        return await self._deliver(type, payload, team, user, None, None, retries, wait, timeout)

    async def _attempt(self, delivery: Delivery, number: int, retries: bool) -> None:
        envelope_id = str(uuid.uuid4())
        attempt = Attempt(envelope_id, number, time.monotonic())
        delivery.attempts.append(attempt)
        self._envelopes[envelope_id] = (delivery, attempt)
        if delivery.transport == "socket":
            with contextlib.suppress(AssertionError):  # Slack holds an envelope while the app reconnects
                await self.wait_for(lambda: any(not c.closed for c in self.connections), self.ack_timeout)
            attempt.sent_at = time.monotonic()
            live = [c for c in self.connections if not c.closed]
            if not live:
                assert number, "no socket-mode connection is open (did the bot call apps.connections.open?)"
                self._spawn(self._watch(delivery, attempt, retries))  # undelivered: counts as a missing ack
                return
            conn = live[next(self._rr) % len(live)]
            accepts = delivery.type == "slash_commands" or (
                delivery.type == "interactive"
                and delivery.payload.get("type") in ("view_submission", "block_suggestion")
            )
            envelope: dict[str, Any] = {
                "envelope_id": envelope_id,
                "payload": delivery.payload,
                "type": delivery.type,
                "accepts_response_payload": accepts,
            }
            if delivery.type == "events_api":
                envelope["retry_attempt"] = number
                envelope["retry_reason"] = "timeout" if number else ""
            elif number:
                envelope["retry_attempt"] = number
                envelope["retry_reason"] = "timeout"
            with contextlib.suppress(ConnectionError):  # a socket closing under us: counted as a missing ack
                await conn.send(envelope)
        else:
            self._spawn(self._post_http(delivery, attempt))
        self._spawn(self._watch(delivery, attempt, retries))

    async def _watch(self, delivery: Delivery, attempt: Attempt, retries: bool) -> None:
        try:
            await asyncio.wait_for(attempt.acked.wait(), self.ack_timeout)
        except TimeoutError:
            attempt.late = True
            self.late_acks.append((delivery, attempt))
            self._poke()
            if retries and attempt.number < self.max_retries and not delivery.acked:
                await self._attempt(delivery, attempt.number + 1, retries)

    def _http_body(self, delivery: Delivery) -> tuple[bytes, str]:
        if delivery.type == "events_api":
            return json.dumps(delivery.payload).encode(), "application/json"
        if delivery.type == "slash_commands":
            return urlencode(delivery.payload).encode(), "application/x-www-form-urlencoded"
        return urlencode({"payload": json.dumps(delivery.payload)}).encode(), "application/x-www-form-urlencoded"

    async def _post_http(self, delivery: Delivery, attempt: Attempt) -> None:
        assert self.http_url is not None
        body, content_type = self._http_body(delivery)
        headers = {"Content-Type": content_type}
        if attempt.number:
            headers.update({"X-Slack-Retry-Num": str(attempt.number), "X-Slack-Retry-Reason": "http_timeout"})
        try:
            status, text, written = await self.post_signed(self.http_url, body, headers=headers)
        except (aiohttp.ClientError, ConnectionError, asyncio.IncompleteReadError):
            attempt.status = None  # the bot is down: Slack treats it like a missing ack and retries
            self._poke()
            return
        ack: Any = None
        if text:
            try:
                ack = json.loads(text)
            except ValueError:
                ack = {"text": text}
        if written is not None:  # the transport knows when the request left: time the ack from there
            attempt.sent_at = written
        if status == 200:
            self._on_ack({"envelope_id": attempt.envelope_id, "payload": ack}, status)
        else:
            attempt.status = status
            self._poke()

    async def post_signed(
        self,
        url: str,
        body: bytes | str | dict[str, Any],
        *,
        timestamp: int | str | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Signed:
        """POST ``body`` (a dict is sent as JSON) to the bot signed as Slack signs it."""
        assert self._http is not None, "start() the double first"
        if isinstance(body, dict):
            raw = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        else:
            raw = body.encode() if isinstance(body, str) else body
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signed = {
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(secret or self.signing_secret, ts, raw),
            "Content-Type": "application/x-www-form-urlencoded",
            **(headers or {}),
        }
        if self.http_transport is not None:
            return Signed(*await self.http_transport(url, raw, signed))
        async with self._http.post(url, data=raw, headers=signed) as res:
            return Signed(res.status, await res.text())

    async def verify_url(self, url: str | None = None) -> tuple[int, str]:
        """The url_verification handshake Slack sends when the Events URL is saved."""
        challenge = secrets.token_hex(8)
        r = await self.post_signed(
            url or self.http_url or "", {"token": "legacy", "challenge": challenge, "type": "url_verification"}
        )
        return r.status, r.text

    def _apply_ack(self, delivery: Delivery, ack: Any) -> None:
        """What Slack does with an ack payload: show a slash-command reply, act on a view response_action."""
        if not isinstance(ack, dict):
            return
        if delivery.type == "slash_commands":
            problems = block_problems(ack["blocks"], "message") if ack.get("blocks") is not None else []
            if problems:
                self.invalid.extend(problems)
                return
            self._show_response(delivery, ack)
        elif delivery.type == "interactive" and delivery.payload.get("type") == "view_submission":
            view = self.views.get(delivery.payload["view"]["id"])
            if view is None:
                return
            action = ack.get("response_action")
            if action == "errors":
                view.errors = dict(ack.get("errors") or {})
            elif action == "update" and ack.get("view"):
                if not view_problems(ack["view"]):
                    view.history.append(view.view)
                    view.view = ack["view"]
                else:
                    self.invalid.extend(view_problems(ack["view"]))
            elif action == "push" and ack.get("view"):
                stack = self.open_modals(view.user, view.team)
                team = self.teams[view.team]
                if not view_problems(ack["view"]) and len(stack) < 3:
                    self._new_view(team, view.user, ack["view"], stack[0].id, stack[-1].id)
            elif action == "clear":
                for v in self.open_modals(view.user, view.team):
                    v.open = False

    # ================================================================ building payloads
    def _user_of(self, team: str, user: str) -> User:
        t = self.teams[team]
        assert user in t.users, f"{user} is not a member of {team} (members: {sorted(t.users)})"
        return t.users[user]

    def _enterprise(self, team: Team) -> dict[str, Any]:
        return {
            "enterprise_id": team.enterprise_id,
            "is_enterprise_install": team.enterprise_install,
        }

    def _authorizations(self, team: Team) -> list[dict[str, Any]]:
        return [
            {
                "enterprise_id": team.enterprise_id,
                "team_id": None if team.enterprise_install else team.id,
                "user_id": team.bot_user,
                "is_bot": True,
                "is_enterprise_install": team.enterprise_install,
            }
        ]

    def _response_url_for(self, delivery_hint: str) -> tuple[str, str]:
        rid = f"{delivery_hint}-{secrets.token_hex(6)}"
        return rid, f"{self.base}/response/{rid}"

    async def slash(
        self,
        command: str,
        text: str = "",
        *,
        user: str = "U1",
        team: str = "T1",
        channel: str = "C1",
        retries: bool = True,
        wait: bool = True,
        timeout: float = 10.0,
    ) -> Delivery:
        """Type ``/command text`` in ``channel`` (a channel id, or "dm" for the user's DM with the bot)."""
        t = self.teams[team]
        u = self._user_of(team, user)
        ch = self._im(t, [user]) if channel == "dm" else self.channels[channel]
        assert ch.team == team, f"channel {ch.id} belongs to {ch.team}, not {team}"
        assert user in ch.members, f"{user} is not in {ch.id}, so cannot type there (double.join({ch.id!r}, {user!r}))"
        rid, url = self._response_url_for("slash")
        trigger = self._trigger(team, user)
        payload = {
            "token": "legacy-verification-token",
            "team_id": team,
            "team_domain": t.domain,
            "channel_id": ch.id,
            "channel_name": "directmessage" if ch.kind == "im" else ch.name,
            "user_id": user,
            "user_name": u.name,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "true" if t.enterprise_install else "false",
            "response_url": url,
            "trigger_id": trigger,
        }
        if t.enterprise_id:
            payload["enterprise_id"] = t.enterprise_id
            payload["enterprise_name"] = f"Org {t.enterprise_id}"
        return await self._deliver("slash_commands", payload, team, user, rid, trigger, retries, wait, timeout)

    async def _deliver(
        self,
        type: str,
        payload: dict[str, Any],
        team: str,
        user: str | None,
        rid: str | None,
        trigger: str | None,
        retries: bool,
        wait: bool,
        timeout: float,
    ) -> Delivery:
        transport = "http" if self.http_url else "socket"
        delivery = Delivery(type, payload, team, user, transport, response_url=None, trigger_id=trigger)
        if rid is not None:
            self._responses[rid] = delivery
            delivery.response_url = f"{self.base}/response/{rid}"
        self.deliveries.append(delivery)
        await self._attempt(delivery, 0, retries)
        if wait:
            await self.wait_for(lambda: delivery.acked, timeout, f"an ack of {type} {_describe(payload)}")
        return delivery

    @staticmethod
    def _elements(blocks: list[dict[str, Any]]) -> Iterable[tuple[dict[str, Any], dict[str, Any]]]:
        for b in blocks:
            if b.get("type") == "actions":
                for e in b.get("elements") or []:
                    yield b, e
            elif b.get("type") == "section" and b.get("accessory"):
                yield b, b["accessory"]
            elif b.get("type") == "input" and b.get("element"):
                yield b, b["element"]

    async def click(
        self,
        target: dict[str, Any] | View,
        action_id: str,
        *,
        user: str = "U1",
        team: str | None = None,
        value: str | None = None,
        values: dict[str, Any] | None = None,
        forged: bool = False,
        retries: bool = True,
        wait: bool = True,
        timeout: float = 10.0,
    ) -> Delivery:
        """Press the button (or pick ``value`` in the select / overflow) ``action_id`` in a message or view.
        A user who could not see the message is refused here (AssertionError), as the Slack client never
        lets them click; ``forged=True`` sends the payload anyway (a replayed or hand-made request).
        In a view, ``values`` are what the user has typed in its inputs so far (sent as ``view.state``)."""
        view = target if isinstance(target, View) else None
        if view is None and isinstance(target, dict) and target.get("type") in ("modal", "home") and "id" in target:
            view = self.views.get(str(target["id"]))
        blocks = view.blocks if view is not None else list(target.get("blocks") or [])  # type: ignore[union-attr]
        found = next(((b, e) for b, e in self._elements(blocks) if e.get("action_id") == action_id), None)
        ids = [e.get("action_id") for _, e in self._elements(blocks)]
        assert found is not None, f"no element with action_id {action_id!r} (has: {ids})"
        block, el = found
        team_id = team or (view.team if view is not None else str(target.get("team") or "T1"))  # type: ignore[union-attr]
        t = self.teams[team_id]
        u = self._user_of(team_id, user)
        action: dict[str, Any] = {
            "type": el["type"],
            "action_id": action_id,
            "block_id": block.get("block_id", ""),
            "action_ts": self._ts(),
        }
        if el["type"] == "button":
            action["text"] = el.get("text")
            if "value" in el:
                action["value"] = el["value"]
            if el.get("style"):
                action["style"] = el["style"]
        elif el["type"] in ("static_select", "overflow", "radio_buttons"):
            options = el.get("options") or [o for g in el.get("option_groups") or [] for o in g.get("options", [])]
            picked = next((o for o in options if o.get("value") == value), None)
            assert picked is not None, (
                f"{value!r} is not an option of {action_id} ({[o.get('value') for o in options]})"
            )
            action["selected_option"] = picked
        elif el["type"] == "datepicker":
            action["selected_date"] = value
        elif el["type"] in ("users_select",):
            action["selected_user"] = value
        elif value is not None:
            action["value"] = value
        rid: str | None = None
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "username": u.name, "name": u.name, "team_id": team_id},
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "team": {"id": team_id, "domain": t.domain},
            "enterprise": {"id": t.enterprise_id, "name": f"Org {t.enterprise_id}"} if t.enterprise_id else None,
            "is_enterprise_install": t.enterprise_install,
            "actions": [action],
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.id}
            payload["view"] = view.as_slack(self._state(view, values or {}, submitting=False))
            trigger = self._trigger(team_id, user, view.id if view.type == "modal" else None)
        else:
            msg = dict(target)  # type: ignore[arg-type]
            cid = str(msg.get("channel") or "")
            ch = self.channels.get(cid)
            ephemeral = bool(msg.get("is_ephemeral"))
            if ephemeral and not forged:
                assert msg.get("for_user") == user, "only the user an ephemeral message was shown to can click it"
            elif not forged:
                assert ch is not None and user in ch.members, f"{user} cannot see channel {cid}"
            payload["container"] = {
                "type": "message",
                "message_ts": msg.get("ts"),
                "channel_id": cid,
                "is_ephemeral": ephemeral,
            }
            payload["channel"] = {"id": cid, "name": ch.name if ch else "directmessage"}
            payload["message"] = {k: v for k, v in msg.items() if k not in ("channel", "edits", "for_user")}
            rid, url = self._response_url_for("action")
            payload["response_url"] = url
            trigger = self._trigger(team_id, user)
        payload["trigger_id"] = trigger
        return await self._deliver("interactive", payload, team_id, user, rid, trigger, retries, wait, timeout)

    def _state_value(self, el: dict[str, Any], value: Any) -> dict[str, Any]:
        kind = el["type"]
        if kind in ("static_select", "radio_buttons"):
            options = el.get("options") or [o for g in el.get("option_groups") or [] for o in g.get("options", [])]
            picked = next((o for o in options if o.get("value") == value), None)
            assert picked is not None, f"{value!r} is not an option ({[o.get('value') for o in options]})"
            return {"type": kind, "selected_option": picked}
        if kind == "external_select":
            if isinstance(value, dict):
                return {"type": kind, "selected_option": value}
            return {"type": kind, "selected_option": {"text": {"type": "plain_text", "text": str(value)},
                                                       "value": str(value)}}  # fmt: skip
        if kind in ("checkboxes", "multi_static_select"):
            options = el.get("options") or []
            wanted = list(value)
            picked = [o for o in options if o.get("value") in wanted]
            return {"type": kind, "selected_options": picked}
        if kind == "datepicker":
            return {"type": kind, "selected_date": value}
        if kind == "timepicker":
            return {"type": kind, "selected_time": value}
        if kind == "users_select":
            return {"type": kind, "selected_user": value}
        if kind == "file_input":
            return {"type": kind, "files": list(value)}
        if kind == "plain_text_input":
            text = str(value)
            if el.get("max_length") is not None:
                assert len(text) <= int(el["max_length"]), "the Slack client stops typing at max_length"
            if el.get("min_length") is not None and text:
                assert len(text) >= int(el["min_length"]), "the Slack client refuses a value under min_length"
            if not el.get("multiline"):
                assert "\n" not in text, "a single-line input cannot hold a line break"
            return {"type": kind, "value": text}
        return {"type": kind, "value": value}

    def file_for_input(self, name: str, content: bytes, *, team: str = "T1", user: str = "U1") -> dict[str, Any]:
        """A file a user picked in a ``file_input`` (the bot downloads ``url_private`` with its token)."""
        f = File(self._id("F"), team, user, name, len(content), name, content, base=self.base)
        self.uploads[f.id] = f
        return f.as_slack()

    def _state(self, view: View, values: dict[str, Any], *, submitting: bool) -> dict[str, dict[str, Any]]:
        """``view.state.values`` with these inputs filled (keys: action_id or block_id), the rest empty."""
        state: dict[str, dict[str, Any]] = {}
        used: set[str] = set()
        for b in view.blocks:
            if b.get("type") != "input":
                continue
            el = b["element"]
            bid, aid = str(b.get("block_id", "")), str(el.get("action_id", ""))
            key = aid if aid in values else bid if bid in values else None
            if key is None:
                if submitting:
                    assert b.get("optional"), f"the Slack client will not submit without required input {bid}/{aid}"
                state[bid] = {aid: {"type": el["type"], _EMPTY.get(el["type"], "value"): None}}
                continue
            used.add(key)
            state[bid] = {aid: self._state_value(el, values[key])}
        unknown = set(values) - used
        assert not unknown, f"the view has no inputs {sorted(unknown)}"
        return state

    async def submit(
        self,
        view_id: str | View,
        values: dict[str, Any],
        *,
        user: str | None = None,
        retries: bool = True,
        wait: bool = True,
        timeout: float = 10.0,
    ) -> Delivery:
        """Fill the modal's inputs (keys: action_id or block_id) and press its submit button."""
        view = view_id if isinstance(view_id, View) else self.views[view_id]
        assert view.open and view.type == "modal", f"view {view.id} is not an open modal"
        user = user or view.user
        assert user == view.user, "only the user a modal was opened for can submit it"
        state = self._state(view, values, submitting=True)
        t = self.teams[view.team]
        u = self._user_of(view.team, user)
        payload = {
            "type": "view_submission",
            "team": {"id": t.id, "domain": t.domain},
            "user": {"id": user, "username": u.name, "name": u.name, "team_id": t.id},
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "trigger_id": self._trigger(t.id, user, view.id),
            "view": view.as_slack(state),
            "enterprise": {"id": t.enterprise_id, "name": f"Org {t.enterprise_id}"} if t.enterprise_id else None,
            "is_enterprise_install": t.enterprise_install,
            "response_urls": [],
        }
        delivery = await self._deliver(
            "interactive", payload, t.id, user, None, payload["trigger_id"], retries, wait, timeout
        )
        first = delivery.first_ack
        if first is not None and not first.late:
            ack = first.ack if isinstance(first.ack, dict) else {}
            if ack.get("response_action") in (None, ""):
                view.open = False  # the modal closes (a pushed one returns to the one below)
        return delivery

    async def suggest(
        self, view: View | str, action_id: str, query: str, *, user: str | None = None, timeout: float = 10.0
    ) -> Delivery:
        """Type ``query`` in an ``external_select``; the ack carries ``options`` (or ``option_groups``)."""
        v = view if isinstance(view, View) else self.views[view]
        found = next(((b, e) for b, e in self._elements(v.blocks) if e.get("action_id") == action_id), None)
        assert found is not None and found[1]["type"] in ("external_select", "multi_external_select"), (
            f"no external_select {action_id!r} in view {v.id}"
        )
        t = self.teams[v.team]
        user = user or v.user
        payload = {
            "type": "block_suggestion",
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": t.id},
            "container": {"type": "view", "view_id": v.id},
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "action_id": action_id,
            "block_id": found[0].get("block_id", ""),
            "value": query,
            "team": {"id": t.id, "domain": t.domain},
            "enterprise": {"id": t.enterprise_id, "name": f"Org {t.enterprise_id}"} if t.enterprise_id else None,
            "is_enterprise_install": t.enterprise_install,
            "view": v.as_slack(),
        }
        return await self._deliver("interactive", payload, t.id, user, None, None, False, True, timeout)

    async def close_view(
        self, view_id: str | View, *, user: str | None = None, timeout: float = 10.0
    ) -> Delivery | None:
        """The user presses the modal's Cancel/close: the stack closes; ``view_closed`` is sent only when the
        view asked for it with ``notify_on_close`` (None otherwise)."""
        view = view_id if isinstance(view_id, View) else self.views[view_id]
        assert view.open and view.type == "modal", f"view {view.id} is not an open modal"
        stack = self.open_modals(view.user, view.team)
        for v in stack:
            v.open = False
        if not view.view.get("notify_on_close"):
            return None
        t = self.teams[view.team]
        user = user or view.user
        payload = {
            "type": "view_closed",
            "team": {"id": t.id, "domain": t.domain},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": t.id},
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "view": view.as_slack(),
            "is_cleared": len(stack) > 1,
            "enterprise": {"id": t.enterprise_id, "name": f"Org {t.enterprise_id}"} if t.enterprise_id else None,
            "is_enterprise_install": t.enterprise_install,
        }
        return await self._deliver("interactive", payload, t.id, user, None, None, True, True, timeout)

    async def event(
        self, team: str, event: dict[str, Any], *, retries: bool = True, wait: bool = True, timeout: float = 10.0
    ) -> Delivery:
        """Deliver one Events API event (``event`` is the inner event object)."""
        t = self.teams[team]
        payload = {
            "token": "legacy-verification-token",
            "team_id": t.id,
            "enterprise_id": t.enterprise_id,
            "context_team_id": t.id,
            "context_enterprise_id": t.enterprise_id,
            "api_app_id": APP_ID,
            "event": {"event_ts": self._ts(), **event},
            "type": "event_callback",
            "event_id": self._id("Ev"),
            "event_time": int(time.time()),
            "authorizations": self._authorizations(t),
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_hex(8)}",
        }
        user = event.get("user") if isinstance(event.get("user"), str) else None
        return await self._deliver("events_api", payload, team, user, None, None, retries, wait, timeout)

    async def open_home(self, user: str = "U1", *, team: str = "T1", timeout: float = 10.0) -> Delivery:
        """The user opens the app's Home tab."""
        self._user_of(team, user)
        t = self.teams[team]
        current = self.home(user, team)
        event: dict[str, Any] = {"type": "app_home_opened", "user": user, "channel": self._im(t, [user]).id,
                                 "tab": "home"}  # fmt: skip
        if current is not None:
            event["view"] = current.as_slack()
        return await self.event(team, event, timeout=timeout)

    async def uninstall(self, team: str = "T1", *, timeout: float = 10.0) -> tuple[Delivery, Delivery]:
        """A workspace removes the app: ``app_uninstalled`` and ``tokens_revoked``; its bot tokens stop working."""
        t = self.teams[team]
        revoked = {"oauth": [], "bot": [t.bot_user]}
        t.revoked |= t.tokens  # Slack revokes first, then tells the app (bolt skips auth.test for these events)
        t.tokens = set()
        t.installed = False
        first = await self.event(team, {"type": "app_uninstalled"}, timeout=timeout)
        second = await self.event(team, {"type": "tokens_revoked", "tokens": revoked}, timeout=timeout)
        return first, second

    # ================================================================ looking at state
    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages in a channel, oldest first (each with ``channel``)."""
        ch = self.channels.get(channel)
        return list(ch.messages) if ch is not None else []

    def dm_channel(self, user: str, team: str = "T1") -> str | None:
        return self._ims.get((team, frozenset([user])))

    def dms(self, user: str, team: str = "T1") -> list[dict[str, Any]]:
        """What the bot posted in its DM with ``user``, oldest first."""
        cid = self.dm_channel(user, team)
        return self.messages(cid) if cid else []

    def ephemerals(self, user: str, team: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages (chat.postEphemeral, ephemeral acks and response_url posts) shown to ``user``."""
        return [m for m in self.ephemeral if m.get("for_user") == user and (team is None or m.get("team") == team)]

    def files(self, user: str, team: str = "T1") -> list[File]:
        """Files the bot shared into its DM with ``user``."""
        cid = self.dm_channel(user, team)
        return [f for f in self.uploads.values() if cid is not None and cid in f.channels]

    def api(self, method: str) -> list[ApiCall]:
        """Every call of one Web API method, in order."""
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> None:
        """Wait until ``predicate()`` is true, re-checking whenever the bot talks to the double (and every 20 ms)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            self._activity.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._activity.wait(), 0.02)


def _describe(payload: dict[str, Any]) -> str:
    if "command" in payload:
        return f"{payload['command']} {payload.get('text', '')}".strip()
    if "event" in payload:
        return str(payload["event"].get("type"))
    return str(payload.get("type"))
