"""Where a command was typed, and what the person typing it may do there.

Every front end builds an :class:`Origin` for each invocation: the platform, the
community (a Discord server, a Slack workspace or enterprise, a named console
community), the channel, whether it is a direct message, and the actor's
permissions as the platform reports them. Commands declare a
:class:`Requirement`; :func:`check` compares the two before a handler runs, so
no handler repeats the check and no front end can forget it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.core.errors import UsageError
from bot.core.hints import hint


class Permission(StrEnum):
    """What an actor may do in a community, mapped by each front end from its platform:
    Manage Server on Discord, workspace admin or owner on Slack, ``--admin`` in the console."""

    MANAGE_COMMUNITY = "manage-community"


class Requirement(StrEnum):
    """What a command needs of its origin."""

    ANYONE = "anyone"  # a DM or any channel
    COMMUNITY = "community"  # typed in a community channel, not a DM
    COMMUNITY_ADMIN = "community-admin"  # ...by someone who manages that community


@dataclass(frozen=True)
class Origin:
    platform: str
    community: str | None = None  # guild id, Slack team/enterprise id, console community name
    channel: str | None = None  # channel id (or name in the console); None in a DM
    is_dm: bool = True
    permissions: frozenset[Permission] = frozenset()
    community_name: str | None = None  # for display only
    channel_name: str | None = None

    @classmethod
    def direct(cls, platform: str) -> Origin:
        """A direct message (or the console with no community): no community, no permissions."""
        return cls(platform=platform)

    @property
    def in_community(self) -> bool:
        return self.community is not None and self.channel is not None and not self.is_dm

    @property
    def is_admin(self) -> bool:
        return Permission.MANAGE_COMMUNITY in self.permissions


ADMIN_WORDS = {
    "discord": "the Manage Server permission",
    "slack": "a workspace admin or owner",
    "console": "--admin",
}


def check(requirement: Requirement, origin: Origin, command: str) -> None:
    """Raise a specific :class:`UsageError` when ``origin`` does not meet ``requirement``."""
    if requirement is Requirement.ANYONE:
        return
    if not origin.in_community:
        where = (
            "start the console with --community NAME --channel NAME"
            if origin.platform == "console"
            else "run it in a channel of your server or workspace"
        )
        raise UsageError(f"{hint(command)} works in a community channel, not in a direct message; {where}")
    if requirement is Requirement.COMMUNITY_ADMIN and not origin.is_admin:
        who = ADMIN_WORDS.get(origin.platform, "community admin rights")
        raise UsageError(f"{hint(command)} is for community admins; it needs {who}")
