"""What core reports about itself: counts and timings, with no metrics library in core.

The runtime passes an implementation (``bot.telemetry.PrometheusTelemetry``) to the app;
tests and the console use :class:`NullTelemetry`. Labels are small fixed sets: a command's
qualified name, an outcome word, a platform name. Never a user, a contact or message text.
"""

from __future__ import annotations

from typing import Protocol


class Telemetry(Protocol):
    def command(self, name: str, outcome: str, seconds: float) -> None:
        """One command ran: ``outcome`` is ``ok``, ``user_error`` or ``error``."""

    def delivered(self, outcome: str, count: int) -> None:
        """Nudges whose delivery ended: ``sent``, ``failed``, ``retry``, ``skipped`` or ``deferred``."""

    def delivery_lag(self, seconds: float) -> None:
        """How late a digest went out, from the earliest ``deliver_at`` it carried."""

    def lease_takeover(self, count: int) -> None:
        """Nudges taken over from an instance whose lease expired."""

    def rate_limited(self, platform: str) -> None:
        """A platform answered HTTP 429."""

    def lease_guard(self, event: str, count: int) -> None:
        """The lease guard acted: ``held_back`` (a digest not sent because its lease might not outlast
        the send) or ``mark_lost`` (a sent digest whose rows a peer had taken when it was marked)."""


class NullTelemetry:
    def command(self, name: str, outcome: str, seconds: float) -> None:
        pass

    def delivered(self, outcome: str, count: int) -> None:
        pass

    def delivery_lag(self, seconds: float) -> None:
        pass

    def lease_takeover(self, count: int) -> None:
        pass

    def rate_limited(self, platform: str) -> None:
        pass

    def lease_guard(self, event: str, count: int) -> None:
        pass
