"""Nudges as Slack DMs: the core's delivery port.

``conversations.open`` gives the DM channel (remembered in the store, so a user the bot has
DMed before costs one request, not two), then ``chat.postMessage`` sends the digest with its
buttons. Every message carries the digest id in its metadata (``imgbot_digest``), so an
instance that takes over a lapsed claim checks ``conversations.history`` first
(:meth:`SlackDMPort.sent_before`) instead of sending the digest twice: Slack, unlike Discord,
has no message nonce.

Messages are paced per workspace (``IMGBOT_SLACK_DM_RATE``), right before each goes out; slack_sdk's retry handlers on
every client wait out a 429's ``Retry-After`` and retry 5xx answers, and a 429 holds the
workspace's pacer for that long, so messages not yet sent do not meet the same 429.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.community.models import Place
from bot.core.context import App
from bot.core.models import UserRef
from bot.core.nudges import DeliveryError, Pacer
from bot.core.reply import Reply
from bot.frontends.slack.blocks import ANYONE, render, to_dicts
from bot.frontends.slack.clients import Connections, make_client
from bot.settings import Settings

log = logging.getLogger(__name__)

METADATA_EVENT = "imgbot_digest"
POST_EVENT = "imgbot_post"  # a circle's channel post: its owed row in the metadata
HISTORY_LOOKBACK = 20  # messages read back when checking a taken-over digest
# Errors after which no retry can help: the user or workspace is gone, or the bot lost access.
PERMANENT = {
    "user_not_found",
    "user_not_visible",
    "account_inactive",
    "cannot_dm_bot",
    "channel_not_found",
    "is_archived",
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "missing_scope",
    "team_access_not_granted",
    "no_installation",
}
DMS_HINT = "To get nudges, open the IMG Peer Bot app in Slack (Apps > IMG Peer Bot) and allow its messages."


def split_account(account: str) -> tuple[str, str]:
    """``T1:U2`` (or ``E1:W2`` on Enterprise Grid) -> (workspace or enterprise, user)."""
    team, sep, user = account.partition(":")
    if not sep or not team or not user:
        raise DeliveryError(f"'{account}' is not a Slack account (WORKSPACE:USER)", permanent=True)
    return team, user


class Workspaces:
    """A Web API client per workspace: the one bot token, or each OAuth installation's."""

    def __init__(
        self, app: App, settings: Settings, static_token: str | None, connections: Connections | None = None
    ) -> None:
        self.app = app
        self.settings = settings
        self.static_token = static_token
        self.connections = connections or Connections()
        self._clients: dict[str, AsyncWebClient] = {}
        # told of every 429 a workspace's client meets: (workspace, method, Retry-After seconds)
        self.on_limited: Callable[[str, str, float], None] | None = None

    def _limited(self, team: str) -> Callable[[str, float], None]:
        def heard(method: str, seconds: float) -> None:
            self.app.telemetry.rate_limited("slack")
            if self.on_limited is not None:
                self.on_limited(team, method, seconds)

        return heard

    async def client(self, team: str) -> AsyncWebClient:
        if self.static_token:
            token: str | None = self.static_token
        else:
            if team.startswith("E"):  # a Grid account: the org-wide install, or a workspace of the org
                inst = await self.app.store.find_enterprise_installation(team)
            else:
                inst = await self.app.store.find_installation(None, team)
            token = inst.bot_token if inst else None
        if not token:
            raise DeliveryError(f"the app is not installed in Slack workspace {team}", permanent=True)
        known = self._clients.get(team)
        if known is None or known.token != token:
            known = self._clients[team] = make_client(
                self.settings, token, self._limited(team), self.connections.session()
            )
        return known


class SlackDMPort:
    CACHE = 50_000  # DM channel ids kept in memory; the store keeps them all

    def __init__(self, app: App, workspaces: Workspaces, *, rate: float) -> None:
        self.app = app
        self.workspaces = workspaces
        self.rate = rate
        self._pacers: dict[tuple[str, str], Pacer] = {}
        self._channels: OrderedDict[str, str] = OrderedDict()
        workspaces.on_limited = self._hold

    def _hold(self, team: str, method: str, seconds: float) -> None:
        """A 429 for a message: nothing more goes to that workspace until Retry-After has passed."""
        kind = {"chat.postMessage": "post", "conversations.open": "open", "conversations.history": "history"}
        self.pacer(team, kind.get(method, "files")).hold(seconds)

    def pacer(self, team: str, kind: str = "post") -> Pacer:
        """Messages are paced per workspace; opening DMs and reading history have their own pace (Slack
        limits each method on its own), so they never eat into the messages' rate."""
        pacer = self._pacers.get((team, kind))
        if pacer is None:
            pacer = self._pacers[team, kind] = Pacer(self.rate)
        return pacer

    async def deliver(self, user: UserRef, reply: Reply, nonce: str) -> None:
        team, _ = split_account(user.account)
        client = await self.workspaces.client(team)
        try:
            channel = await self._channel(client, user)
            await self.post_parts(client, team, channel, reply, user.account, (METADATA_EVENT, "digest", nonce))
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error == "channel_not_found":
                await self._forget(user)  # the DM channel is gone: open a new one next time
            raise delivery_error(exc) from None
        except (TimeoutError, SlackClientError, aiohttp.ClientError, OSError) as exc:
            raise DeliveryError(f"could not reach Slack ({type(exc).__name__})") from None

    async def post_parts(
        self, client: AsyncWebClient, team: str, channel: str, reply: Reply, owner: str, tag: tuple[str, str, str]
    ) -> None:
        """Post ``reply`` in ``channel``, message by message at the workspace's pace, each carrying
        ``tag`` (event type, key, nonce) and its part number in its metadata, with any files after it."""
        event, key, nonce = tag
        for i, message in enumerate(render(reply, owner=owner, buttons=True)):
            await self.pacer(team).wait()
            await client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=to_dicts(message),
                metadata={"event_type": event, "event_payload": {key: nonce, "part": i}},
                unfurl_links=False,
                unfurl_media=False,
            )
            if message.files:
                await self.pacer(team, "files").wait()
                await client.files_upload_v2(
                    channel=channel,
                    file_uploads=[{"content": f.content, "filename": f.filename} for f in message.files],
                )

    async def sent_before(self, user: UserRef, nonce: str) -> bool:
        """Whether a message with this digest id is already in the user's DM (a takeover)."""
        team, _ = split_account(user.account)
        client = await self.workspaces.client(team)
        channel = self._channels.get(user.account) or await self.app.store.dm_channel(user)
        if channel is None:
            return False  # never DMed: nothing can have been sent
        await self.pacer(team, "history").wait()
        return await carries(client, channel, METADATA_EVENT, "digest", nonce, "a DM before re-sending a digest")

    async def _channel(self, client: AsyncWebClient, user: UserRef) -> str:
        known = self._channels.get(user.account)
        if known is not None:
            self._channels.move_to_end(user.account)
            return known
        stored = await self.app.store.dm_channel(user)
        if stored is None:
            team, slack_user = split_account(user.account)
            await self.pacer(team, "open").wait()
            opened = await client.conversations_open(users=slack_user)
            stored = str(opened["channel"]["id"])
            await self.app.store.set_dm_channel(user, stored, self.app.clock.now())
        self._channels[user.account] = stored
        if len(self._channels) > self.CACHE:
            self._channels.popitem(last=False)
        return stored

    async def _forget(self, user: UserRef) -> None:
        self._channels.pop(user.account, None)
        await self.app.store.forget_dm_channel(user)


def delivery_error(exc: SlackApiError) -> DeliveryError:
    """Map a refused request to what the nudge engine should do: retry later, or give up."""
    error = str(exc.response.get("error", "")) or f"HTTP {exc.response.status_code}"
    if error in PERMANENT:
        return DeliveryError(f"Slack refused the DM ({error})", permanent=True, user_hint=DMS_HINT)
    if exc.response.status_code >= 500 or error in ("ratelimited", "service_unavailable", "fatal_error"):
        return DeliveryError(f"Slack answered {error}")
    log.error("Slack rejected a nudge DM: %s", error)
    return DeliveryError(f"Slack rejected the message ({error})", permanent=True)


# A channel post can never go out after these: the bot is not in the channel, or it is gone.
CHANNEL_PERMANENT = PERMANENT | {"not_in_channel", "channel_is_archived", "restricted_action"}


class SlackChannelPort:
    """A circle's posts in its channel: the core's channel port. Text is escaped by
    :func:`~bot.frontends.slack.blocks.render` (no ``<!channel>`` or ``<@U…>`` can form) and
    ``link_names`` stays off, so nothing pings. Buttons are owned by :data:`ANYONE`: a click runs
    its command as the clicker (Log my week opens the clicker's own form). The owed row's nonce
    is in each message's metadata (``imgbot_post``). A chart goes up with ``files_upload_v2`` and
    its alt text. Paced per workspace with the DM port's pacers."""

    def __init__(self, dms: SlackDMPort) -> None:
        self.dms = dms

    async def post(self, place: Place, reply: Reply, nonce: str) -> None:
        team = place.community
        client = await self.dms.workspaces.client(team)
        try:
            for i, message in enumerate(render(reply, owner=ANYONE, buttons=True)):
                await self.dms.pacer(team).wait()
                await client.chat_postMessage(
                    channel=place.channel,
                    text=message.text,
                    blocks=to_dicts(message),
                    metadata={"event_type": POST_EVENT, "event_payload": {"post": nonce, "part": i}},
                    unfurl_links=False,
                    unfurl_media=False,
                )
                if message.files:
                    await self.dms.pacer(team, "files").wait()
                    await client.files_upload_v2(
                        channel=place.channel,
                        file_uploads=[
                            {"content": f.content, "filename": f.filename, "title": f.filename}
                            | ({"alt_txt": f.alt[:1000]} if f.alt else {})
                            for f in message.files
                        ],
                    )
        except SlackApiError as exc:
            raise channel_error(exc) from None
        except (TimeoutError, SlackClientError, aiohttp.ClientError, OSError) as exc:
            raise DeliveryError(f"could not reach Slack ({type(exc).__name__})") from None

    async def post_group(self, place: Place, users: Sequence[UserRef], reply: Reply, nonce: str) -> None:
        """A buddy group's intro as one group DM: ``conversations.open`` with all the group's users
        (``mpim:write``; Slack gives the same conversation for the same people), then
        ``chat.postMessage`` into it. Its buttons run as whoever presses them. When the
        conversation was already open, its history is read first, so an intro taken over from a
        dead instance is not posted twice (the owed row's nonce is in the metadata)."""
        teams = {split_account(u.account)[0] for u in users}
        if len(teams) != 1:
            raise DeliveryError("the group's members are in different Slack workspaces", permanent=True)
        team = teams.pop()
        client = await self.dms.workspaces.client(team)
        try:
            await self.dms.pacer(team, "open").wait()
            opened = await client.conversations_open(users=",".join(split_account(u.account)[1] for u in users))
            channel = str(opened["channel"]["id"])
            if opened.get("already_open") and await self._posted(client, team, channel, nonce):
                return
            await self.dms.post_parts(client, team, channel, reply, ANYONE, (POST_EVENT, "post", nonce))
        except SlackApiError as exc:
            raise channel_error(exc) from None
        except (TimeoutError, SlackClientError, aiohttp.ClientError, OSError) as exc:
            raise DeliveryError(f"could not reach Slack ({type(exc).__name__})") from None

    async def abandon_group(self, place: Place, users: Sequence[UserRef], nonce: str) -> None:
        """Nothing to undo: a group DM is Slack's to keep (the same people get the same one), and
        a failed attempt left no message in it that the DMs sent instead would repeat."""

    async def _posted(self, client: AsyncWebClient, team: str, channel: str, nonce: str) -> bool:
        await self.dms.pacer(team, "history").wait()
        return await carries(client, channel, POST_EVENT, "post", nonce, "a group DM before posting an intro")


async def carries(client: AsyncWebClient, channel: str, event: str, key: str, nonce: str, what: str) -> bool:
    """Whether one of the channel's recent messages carries ``nonce`` under ``key`` in its ``event``
    metadata. A history that cannot be read counts as no: a duplicate is better than a lost message."""
    try:
        history = await client.conversations_history(channel=channel, limit=HISTORY_LOOKBACK, include_all_metadata=True)
    except (SlackApiError, SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
        log.warning("could not read back %s: %s", what, type(exc).__name__)
        return False
    for message in history.get("messages") or []:
        meta = message.get("metadata") or {}
        if meta.get("event_type") == event and (meta.get("event_payload") or {}).get(key) == nonce:
            return True
    return False


def channel_error(exc: SlackApiError) -> DeliveryError:
    error = str(exc.response.get("error", "")) or f"HTTP {exc.response.status_code}"
    if error in CHANNEL_PERMANENT:
        return DeliveryError(f"Slack refused the channel post ({error})", permanent=True)
    if exc.response.status_code >= 500 or error in ("ratelimited", "service_unavailable", "fatal_error"):
        return DeliveryError(f"Slack answered {error}")
    log.error("Slack rejected a channel post: %s", error)
    return DeliveryError(f"Slack rejected the channel post ({error})", permanent=True)
