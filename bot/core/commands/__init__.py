"""Every command the bot has, declared once. Front ends build from :func:`build_registry`."""

from __future__ import annotations

from bot.core.registry import Registry


def build_registry() -> Registry:
    from bot.core.commands import (
        circle,
        conferences,
        content,
        goals,
        help,
        mentor,
        nudges,
        privacy,
        profile,
        review,
        tracker,
    )

    return Registry(
        [
            help.commands,
            profile.commands,
            content.commands,
            conferences.commands,
            review.commands,
            tracker.commands,
            goals.commands,
            nudges.commands,
            privacy.commands,
            circle.commands,
            mentor.commands,
        ]
    )
