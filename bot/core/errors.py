"""Errors a user can cause. Front ends show their message; nothing else leaks."""

from __future__ import annotations


class BotError(Exception):
    """An expected problem with a one-line message safe to show the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(BotError):
    """A wrong command, option or value."""


class NotFoundError(BotError):
    """A contact, playbook or item that does not exist."""


class LimitError(BotError):
    """A cap such as the per-user contact limit."""


class StorageError(BotError):
    """The database cannot do what was asked (read-only, full, locked, damaged, deleted). The
    statement or transaction was rolled back: nothing was half-written."""


class ConfigError(Exception):
    """Invalid settings; start-up stops with this one line."""
