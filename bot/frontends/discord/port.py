"""Nudges as Discord DMs: the core's delivery port.

Each digest goes to the user's DM channel with persistent buttons. The digest
id is the message nonce (with ``enforce_nonce``), so a digest re-sent after a
crash is shown once. DM channel ids are remembered in memory and in the store,
so a nudge to someone the bot has DMed before costs one request, not two.
The port paces every request it makes (opening a DM channel, each message)
right before the request goes out, at ``dm_rate`` per second across all users:
under Discord's global limit of 50/s even when thousands of nudges are due at
once. Pacing any earlier (before the database look-ups of a delivery) would let
deliveries that waited on the database lock go out together in a burst.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import aiohttp
import discord

from bot.core.community.models import Place
from bot.core.context import App
from bot.core.models import UserRef
from bot.core.nudges import DeliveryError, Pacer
from bot.core.reply import Reply
from bot.frontends.discord.components import make_files, make_view
from bot.frontends.discord.render import render

log = logging.getLogger(__name__)

DMS_CLOSED = 50007  # "Cannot send messages to this user"
NO_MUTUAL_GUILD = 50278
OPEN_DMS_HINT = (
    "To get nudges, open your DMs: Server menu > Privacy Settings > allow direct messages from server members."
)
NO_MENTIONS = discord.AllowedMentions.none()


class DiscordDMPort:
    # DM channel ids kept in memory (the store keeps them all; a miss costs one query).
    CACHE = 50_000

    def __init__(self, client: discord.Client, app: App, *, rate: float) -> None:
        self.client = client
        self.app = app
        self.pacer = Pacer(rate)
        self._channels: OrderedDict[str, int] = OrderedDict()

    async def deliver(self, user: UserRef, reply: Reply, nonce: str) -> None:
        if not user.account.isdigit():
            raise DeliveryError(f"'{user.account}' is not a Discord user id", permanent=True)
        channel_id = await self._channel(user)
        channel = self.client.get_partial_messageable(channel_id, type=discord.ChannelType.private)
        for kw in send_kwargs(reply, nonce):
            await self.pacer.wait()
            try:
                await channel.send(**kw)
            except discord.NotFound:
                await self._forget(user)  # the channel is gone: open a new one next time
                raise DeliveryError("the DM channel no longer exists") from None
            except (TimeoutError, discord.DiscordException, aiohttp.ClientError, OSError) as exc:
                raise delivery_error(exc) from None

    async def _channel(self, user: UserRef) -> int:
        known = self._channels.get(user.account)
        if known is not None:
            self._channels.move_to_end(user.account)
            return known
        stored = await self.app.store.dm_channel(user)
        if stored is None:
            await self.pacer.wait()
            try:
                dm = await self.client.create_dm(discord.Object(id=int(user.account)))
            except (TimeoutError, discord.DiscordException, aiohttp.ClientError, OSError) as exc:
                raise delivery_error(exc) from None
            stored = str(dm.id)
            await self.app.store.set_dm_channel(user, stored, self.app.clock.now())
        self._channels[user.account] = int(stored)
        if len(self._channels) > self.CACHE:
            self._channels.popitem(last=False)
        return int(stored)

    async def _forget(self, user: UserRef) -> None:
        self._channels.pop(user.account, None)
        await self.app.store.forget_dm_channel(user)


def delivery_error(exc: BaseException) -> DeliveryError:
    """Map a failed request to what the nudge engine should do: retry later, or give up and tell the user."""
    if isinstance(exc, discord.Forbidden):
        if exc.code in (DMS_CLOSED, NO_MUTUAL_GUILD):
            return DeliveryError("your DMs are closed to the bot", permanent=True, user_hint=OPEN_DMS_HINT)
        return DeliveryError(f"Discord refused the DM (code {exc.code})", permanent=True)
    if isinstance(exc, discord.RateLimited):
        return DeliveryError(f"rate limited for {exc.retry_after:.0f}s")
    if isinstance(exc, discord.HTTPException):
        if exc.status >= 500 or exc.status in (408, 429):
            return DeliveryError(f"Discord returned HTTP {exc.status}")
        # Any other 4xx means this message can never be accepted: retrying cannot help.
        log.error("Discord rejected a nudge DM: HTTP %s code %s: %s", exc.status, exc.code, exc.text)
        return DeliveryError(f"Discord rejected the message (HTTP {exc.status})", permanent=True)
    return DeliveryError(f"could not reach Discord ({type(exc).__name__})")


class DiscordChannelPort:
    """A circle's posts in its channel: the core's channel port. Buttons are safe in a channel
    here: a click runs its command as the clicker (Log my week opens the clicker's own form).
    The owed row's id is the nonce, so a post re-sent after a crash is shown once."""

    def __init__(self, client: discord.Client, *, rate: float) -> None:
        self.client = client
        self.pacer = Pacer(rate)

    async def post(self, place: Place, reply: Reply, nonce: str) -> None:
        if not place.channel.isdigit():
            raise DeliveryError(f"'{place.channel}' is not a Discord channel id", permanent=True)
        channel = self.client.get_partial_messageable(int(place.channel), guild_id=int(place.community))
        for kw in send_kwargs(reply, nonce):
            await self.pacer.wait()
            try:
                await channel.send(**kw)
            except (TimeoutError, discord.DiscordException, aiohttp.ClientError, OSError) as exc:
                raise channel_error(exc) from None


def send_kwargs(reply: Reply, nonce: str) -> Iterator[dict[str, Any]]:
    """``channel.send`` arguments for each message a reply renders to: no mentions, its buttons,
    files, and a nonce per message (Discord nonces are at most 25 characters; digest ids are 20)."""
    for i, message in enumerate(render(reply, buttons=True)):
        kw: dict[str, Any] = {"embeds": message.embeds, "allowed_mentions": NO_MENTIONS}
        kw["nonce"] = (nonce if i == 0 else f"{nonce}-{i}")[:25]
        if message.content:
            kw["content"] = message.content
        view = make_view(message.rows)
        if view is not None:
            kw["view"] = view
        if message.files:
            kw["files"] = make_files(message.files)
        yield kw


def channel_error(exc: BaseException) -> DeliveryError:
    if isinstance(exc, discord.Forbidden | discord.NotFound):
        return DeliveryError(f"Discord refused the channel post (code {exc.code})", permanent=True)
    return delivery_error(exc)
