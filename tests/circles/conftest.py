"""The Discord double and the live bot (tests/discord/conftest.py) for the circles' Discord test."""

from tests.discord.conftest import _restore_endpoints, bot, double  # noqa: F401
