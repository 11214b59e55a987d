"""The services a handler needs (App) and one invocation's view of them (Context)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.core.clock import Clock
from bot.core.dates import zone
from bot.core.errors import UsageError
from bot.core.hints import hint
from bot.core.models import Profile, UserRef
from bot.core.origin import Origin
from bot.core.playbooks.loader import Playbook, PlaybookLibrary, TrackView
from bot.core.ports import Store
from bot.core.reply import Attachment
from bot.core.telemetry import NullTelemetry, Telemetry

if TYPE_CHECKING:
    from bot.core.registry import Registry


@dataclass(frozen=True)
class Limits:
    max_contacts: int = 5000
    page_size: int = 15


@dataclass
class App:
    store: Store
    playbooks: PlaybookLibrary
    clock: Clock
    registry: Registry
    limits: Limits = field(default_factory=Limits)
    telemetry: Telemetry = field(default_factory=NullTelemetry)
    # (What is owed changing is told by the store itself: Store.on_work_changed, which the
    # scheduler subscribes to, fed by this process's writes and, on PostgreSQL, peers' NOTIFY.)

    async def context(self, user: UserRef, files: tuple[Attachment, ...] = (), origin: Origin | None = None) -> Context:
        now = self.clock.now()
        user_id, profile, notices = await self.store.user_context(user, now)
        return Context(
            app=self,
            user=user,
            user_id=user_id,
            now=now,
            profile=profile,
            files=files,
            origin=origin or Origin.direct(user.platform),
            notices_waiting=notices,
        )


@dataclass
class Context:
    app: App
    user: UserRef
    user_id: int
    now: datetime
    profile: Profile
    origin: Origin  # where the command was typed
    files: tuple[Attachment, ...] = ()
    # whether the user had notices waiting when the command began (run_command takes them only
    # then: one statement less for every command; one that arrives meanwhile shows next time)
    notices_waiting: bool = True

    @property
    def store(self) -> Store:
        return self.app.store

    @property
    def today(self) -> date:
        """The user's local date."""
        return self.now.astimezone(zone(self.profile.timezone)).date()

    def playbook(self, specialty: str | None, *, option: str = "specialty") -> Playbook:
        """The playbook for an explicit option value, else the profile's specialty."""
        pid = specialty or self.profile.specialty
        if not pid:
            raise UsageError(
                f"which specialty? Pass {option}:<{'|'.join(self.app.playbooks.ids)}> "
                f"or set it once with {hint('profile set specialty:<name>')}"
            )
        try:
            return self.app.playbooks.get(pid)
        except KeyError:
            raise UsageError(
                f"the specialty '{pid}' in your profile has no playbook any more; "
                f"set one of {', '.join(self.app.playbooks.ids)} with {hint('profile set specialty:<name>')}"
            ) from None

    def view(self, specialty: str | None, track: str | None = None) -> TrackView:
        pb = self.playbook(specialty)
        chosen = track or self.profile.track
        if not chosen:
            raise UsageError(
                "which track? Pass track:us-img (US citizen or green card) or track:non-us-img "
                f"(needs a visa), or set it once with {hint('profile set track:<track>')}"
            )
        return pb.view(chosen)
