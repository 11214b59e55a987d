"""Circle test helpers: console members of one simulated community, and a channel recorder."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.community.engine import CircleEngine
from bot.core.community.models import Place
from bot.core.context import App
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


def member(app: App, name: str, *, admin: bool = False) -> Transcript:
    return Transcript(app, name, origin=console_origin(COMMUNITY, CHANNEL, admin))


def dm(app: App, name: str) -> Transcript:
    return Transcript(app, name)


def engine(app: App, port: ChannelRecorder, instance: str = "a") -> CircleEngine:
    return CircleEngine(app, {"console": port}, instance=instance)
