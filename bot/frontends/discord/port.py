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

import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any, Final, Literal

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
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
UNKNOWN_MEMBER = 10007
UNKNOWN_USER = 10013
THREAD_NAME = 100  # Discord's longest channel (thread) name
NAME_PART = 32  # characters of each buddy's name in a thread name, so a trio fits
ARCHIVE_AFTER: Final[Literal[10080]] = 10080  # minutes (a week) without a message before Discord archives the thread
HISTORY = 100  # messages read back from a re-used thread (Discord's most per request)


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

    async def post_group(self, place: Place, users: Sequence[UserRef], reply: Reply, nonce: str) -> None:
        """A buddy group's intro in a private thread of the program's channel: the thread is created
        (type 12, not invitable, so members cannot bring anyone else in), each member is added, and
        the intro is posted into it with its buttons, no mentions and the nonce. The group can talk
        there; server moderators (Manage Threads) can read private threads too, which the intro's
        wording allows for.

        Run once. The engine may call this again for the same owed row: a retry after a transient
        error, or another instance taking over a lapsed lease after this one died half-way. The
        thread's name ends with a tag derived from the nonce (:func:`thread_tag`), and every call
        first looks for an unarchived thread of this channel that the bot made with that tag among
        the guild's active threads (``GET /guilds/{guild}/threads/active``, which lists private
        threads the bot is in), re-using it if found, so no second thread is made. Why the name and
        not memory or the database: memory dies with the instance that made the thread, and the
        engine's owed row has no field for a port's result (a thread id written after the thread
        was made could still be lost to a crash in between); the name is written by Discord in the
        same request that makes the thread, so it is there whenever the thread is. The cost is one
        request per intro, whose answer grows with the guild's active threads.

        The members are added before the intro is posted (adding one again is a no-op ``PUT``). The
        message is not left to Discord's nonce alone, which only deduplicates within a few minutes
        while the engine's backoff can be longer: in a re-used thread the bot's own messages are
        counted first (members cannot post as the bot, and system messages such as "added to the
        thread" are not counted); if the whole intro is there, nothing more is done, else the
        members are added again and only the parts not yet there are sent, each with its nonce.

        A permanent refusal (no Create Private Threads or Send Messages in Threads permission, a
        member who left the server, a channel that cannot hold private threads) raises a permanent
        DeliveryError, so the engine falls back to one DM each, and the thread, if one was made, is
        deleted, or without Manage Threads emptied of its members (best effort, :meth:`_discard`),
        so no half-made thread is left behind. 5xx answers, 429s and timeouts
        are transient: the thread stays for the retry to re-use."""
        for u in users:
            if not u.account.isdigit():
                raise DeliveryError(f"'{u.account}' is not a Discord user id", permanent=True)
        me = self.client.user
        if me is None:
            raise DeliveryError("the Discord client is not logged in yet")
        parent = await self._thread_parent(place)
        tag = thread_tag(nonce)
        thread: discord.Thread | None = None
        try:
            thread = await self._made_thread(parent, me.id, tag)
            parts = list(send_kwargs(reply, nonce))
            posted = 0
            if thread is None:
                await self.pacer.wait()
                thread = await parent.create_thread(
                    name=thread_name([u.display_name or u.account for u in users], tag),
                    type=discord.ChannelType.private_thread,
                    invitable=False,
                    auto_archive_duration=ARCHIVE_AFTER,
                    reason="a circle's buddy intro",
                )
            else:
                log.info("buddy intro %s: re-using thread %s", nonce, thread.id)
                posted = await self._posted(thread, me.id)
                if posted >= len(parts):
                    return  # all there: the members were added before the first part was posted
            for u in users:
                await self.pacer.wait()
                await thread.add_user(discord.Object(id=int(u.account)))
            for kw in parts[posted:]:
                await self.pacer.wait()
                await thread.send(**kw)
        except (TimeoutError, discord.DiscordException, aiohttp.ClientError, OSError) as exc:
            failure = thread_error(exc)
            if failure.permanent and thread is not None:
                await self._discard(thread, users)
            raise failure from None

    async def abandon_group(self, place: Place, users: Sequence[UserRef], nonce: str) -> None:
        """The engine gave up on this intro as one thread (transient failures until its last
        attempt) and sends one DM each instead: the thread a failed attempt made, if any, goes,
        as after a permanent refusal. Best effort: Discord may still be failing."""
        me = self.client.user
        if me is None:
            return
        try:
            parent = await self._thread_parent(place)
            thread = await self._made_thread(parent, me.id, thread_tag(nonce))
        except DeliveryError as exc:
            log.warning("could not look for an abandoned buddy thread: %s", exc.reason)
            return
        except (TimeoutError, discord.DiscordException, aiohttp.ClientError, OSError) as exc:
            log.warning("could not look for an abandoned buddy thread: %s", type(exc).__name__)
            return
        if thread is not None:
            await self._discard(thread, users)

    async def _made_thread(self, parent: discord.TextChannel, me: int, tag: str) -> discord.Thread | None:
        """The thread an earlier attempt made for this intro (found by the tag in its name), if any."""
        await self.pacer.wait()
        made = [
            t
            for t in await parent.guild.active_threads()
            if t.parent_id == parent.id and t.owner_id == me and t.name.endswith(tag)
        ]
        return min(made, key=lambda t: t.id, default=None)  # the first, should a retry have made two

    async def _thread_parent(self, place: Place) -> discord.TextChannel:
        """The program's channel as a text channel: from the gateway's cache when the guild is
        there (the ``guilds`` intent), else fetched."""
        if not place.channel.isdigit():
            raise DeliveryError(f"'{place.channel}' is not a Discord channel id", permanent=True)
        channel: object = self.client.get_channel(int(place.channel))
        if not isinstance(channel, discord.TextChannel):
            await self.pacer.wait()
            try:
                channel = await self.client.fetch_channel(int(place.channel))
            except (TimeoutError, discord.DiscordException, aiohttp.ClientError, OSError) as exc:
                raise channel_error(exc) from None
        if not isinstance(channel, discord.TextChannel) or channel.type is not discord.ChannelType.text:
            # a news channel has no private threads; a forum, voice channel or DM has none at all
            raise DeliveryError("the circle's channel cannot hold private threads", permanent=True)
        return channel

    async def _posted(self, thread: discord.Thread, me: int) -> int:
        """How many messages the bot has posted in ``thread`` (system messages aside)."""
        await self.pacer.wait()
        posted = 0
        async for m in thread.history(limit=HISTORY):
            if m.author.id == me and m.type is discord.MessageType.default:
                posted += 1
        return posted

    async def _discard(self, thread: discord.Thread, users: Sequence[UserRef]) -> None:
        """Delete a thread the intro will not use. Deleting needs Manage Threads; without it, the
        members added are taken out again (a private thread's creator may), so nobody is left in
        it. Best effort: a thread left behind is untidy, not harmful."""
        await self.pacer.wait()
        try:
            await thread.delete(reason="a buddy intro that could not go out here")
            return
        except discord.Forbidden:
            log.info("no Manage Threads to delete the unused buddy thread %s: taking its members out", thread.id)
        except (TimeoutError, discord.DiscordException, aiohttp.ClientError, OSError) as exc:
            log.warning("could not delete the unused buddy thread %s: %s", thread.id, type(exc).__name__)
        for u in users:
            await self.pacer.wait()
            try:
                await thread.remove_user(discord.Object(id=int(u.account)))
            except discord.NotFound:
                pass  # never added (the refusal came first), or gone from the server
            except (TimeoutError, discord.DiscordException, aiohttp.ClientError, OSError) as exc:
                log.warning("could not take a member out of buddy thread %s: %s", thread.id, type(exc).__name__)


def thread_tag(nonce: str) -> str:
    """The end of a buddy thread's name, from the owed row's nonce: how a re-run finds the thread."""
    return "· " + hashlib.sha256(nonce.encode()).hexdigest()[:8]


def thread_name(names: Sequence[str], tag: str) -> str:
    """``Buddies: Ana, Ben · 1a2b3c4d``, at most 100 characters. Each name loses what could read as
    a mention (``@``, ``<``, ``>``, ``#``, ``&``) and any line break or control character (a
    thread name never pings anyone, but nor should it look as if it could)."""
    cleaned = [c for c in (clean_name(n) for n in names) if c]
    head = "Buddies: " + ", ".join(cleaned) if cleaned else "Buddies"
    room = THREAD_NAME - len(tag) - 1
    if len(head) > room:
        head = head[: room - 1].rstrip(" ,") + "…"
    return f"{head} {tag}"


def clean_name(name: str) -> str:
    text = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", name)
    text = re.sub(r"[@<>#&]", "", text)
    text = " ".join(text.split())
    return text if len(text) <= NAME_PART else text[: NAME_PART - 1].rstrip() + "…"


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


def thread_error(exc: BaseException) -> DeliveryError:
    """:func:`channel_error`, naming the refusals a buddy thread meets."""
    if isinstance(exc, discord.Forbidden) and exc.code in (MISSING_PERMISSIONS, MISSING_ACCESS):
        return DeliveryError(
            "the bot may not make private threads in the circle's channel (Create Private Threads, "
            f"Send Messages in Threads; code {exc.code})",
            permanent=True,
        )
    if isinstance(exc, discord.NotFound) and exc.code in (UNKNOWN_MEMBER, UNKNOWN_USER):
        return DeliveryError(f"a buddy is no longer in the server (code {exc.code})", permanent=True)
    return channel_error(exc)
