"""Circle test helpers: console members of one simulated community, and a channel recorder."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.community.engine import CircleEngine
from bot.core.community.models import Place
from bot.core.context import App
from bot.core.models import UserRef
from bot.core.ports import DeliveryError
from bot.core.reply import Reply
from bot.frontends.console import console_origin
from tests.helpers import Transcript

COMMUNITY = "IMG EM"
CHANNEL = "accountability"


@dataclass
class ChannelRecorder:
    """A channel port double: records each post, shows a nonce once (as Discord's enforce_nonce does)."""

    posts: list[tuple[Place, Reply, str]] = field(default_factory=list)

    async def post(self, place: Place, reply: Reply, nonce: str) -> None:
        if any(n == nonce for _, _, n in self.posts):
            return
        self.posts.append((place, reply, nonce))

    def texts(self) -> list[str]:
        return [r.plain_text() for _, r, _ in self.posts]


@dataclass
class GroupRecorder(ChannelRecorder):
    """A channel port double with group DMs (as Slack's port has): records each group message,
    shows a nonce once; ``fail_with`` refuses every group."""

    groups: list[tuple[Place, list[UserRef], Reply, str]] = field(default_factory=list)
    fail_with: DeliveryError | None = None
    abandoned: list[str] = field(default_factory=list)  # nonces core gave up sending as one message

    async def post_group(self, place: Place, users: list[UserRef], reply: Reply, nonce: str) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        if any(n == nonce for *_, n in self.groups):
            return
        self.groups.append((place, list(users), reply, nonce))

    async def abandon_group(self, place: Place, users: list[UserRef], nonce: str) -> None:
        self.abandoned.append(nonce)


def member(app: App, name: str, *, admin: bool = False) -> Transcript:
    return Transcript(app, name, origin=console_origin(COMMUNITY, CHANNEL, admin))


def dm(app: App, name: str) -> Transcript:
    return Transcript(app, name)


def engine(app: App, port: ChannelRecorder, instance: str = "a") -> CircleEngine:
    return CircleEngine(app, {"console": port}, instance=instance)
