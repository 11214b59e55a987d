"""Typed records passed between the store, the domain and the front ends."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum


def name_key(name: str) -> str:
    """How names are compared: lower case, punctuation as spaces, single spaces."""
    return " ".join(re.sub(r"[^\w\s]", " ", name.lower()).split())


@dataclass(frozen=True)
class UserRef:
    """A person on one platform. On Slack the account includes the workspace (``T1:U2``)."""

    platform: str
    account: str
    display_name: str | None = None


@dataclass(frozen=True)
class Installation:
    """A Slack workspace (or, org-wide, an Enterprise Grid organisation) that installed the app,
    and the bot token it granted."""

    enterprise_id: str | None
    team_id: str | None
    bot_token: str
    installed_at: datetime
    is_enterprise_install: bool = False
    app_id: str | None = None
    bot_id: str | None = None
    bot_user_id: str | None = None
    bot_scopes: tuple[str, ...] = ()
    installer_user_id: str | None = None


class Track(StrEnum):
    US_IMG = "us-img"
    NON_US_IMG = "non-us-img"


# a track as it reads in a sentence or a heading: "Psychiatry (non-US-citizen IMG)"
TRACK_NAMES = {Track.US_IMG.value: "US-citizen/green-card IMG", Track.NON_US_IMG.value: "non-US-citizen IMG"}


class Visa(StrEnum):
    J1 = "j1"
    H1B = "h1b"
    OTHER = "other"
    NONE = "none"


class UsStatus(StrEnum):
    """How a us-img track user may work in the US without a visa."""

    CITIZEN = "citizen"
    PERMANENT_RESIDENT = "permanent-resident"


US_STATUS_LABELS = {
    UsStatus.CITIZEN: "US citizen",
    UsStatus.PERMANENT_RESIDENT: "US permanent resident (green card)",
}

VISA_LABELS = {
    Visa.J1: "J-1",
    Visa.H1B: "H-1B",
    Visa.OTHER: "a work visa",
    Visa.NONE: "no visa needed",
}

DEFAULT_QUIET = (time(21, 0), time(8, 0))


@dataclass(frozen=True)
class Profile:
    user_id: int
    name: str | None = None
    country: str | None = None
    school: str | None = None
    specialty: str | None = None  # playbook id
    track: str | None = None
    visa: str | None = None
    status: str | None = None  # UsStatus, for the us-img track
    eras: str | None = None  # YYYY-MM
    timezone: str = "UTC"
    interests: str | None = None
    role: str | None = None
    quiet_start: time = DEFAULT_QUIET[0]
    quiet_end: time = DEFAULT_QUIET[1]
    nudges_paused_until: datetime | None = None

    def with_(self, **changes: object) -> Profile:
        return replace(self, **changes)  # type: ignore[arg-type]


class ContactRole(StrEnum):
    ATTENDING = "attending"
    RESIDENT = "resident"
    FELLOW = "fellow"
    PROGRAM_DIRECTOR = "program-director"
    COORDINATOR = "coordinator"
    RESEARCHER = "researcher"
    ALUMNI = "alumni"
    PEER = "peer"
    OTHER = "other"


class HowMet(StrEnum):
    CONFERENCE = "conference"
    EMAIL = "email"
    LINKEDIN = "linkedin"
    ROTATION = "rotation"
    WEBINAR = "webinar"
    RESEARCH = "research"
    ALUMNI = "alumni"
    OTHER = "other"


class InteractionType(StrEnum):
    MET = "met"
    EMAILED = "emailed"
    REPLIED = "replied"
    CALL = "call"
    MEETING = "meeting"
    UPDATE_SENT = "update-sent"
    THANKED = "thanked"
    NO_REPLY = "no-reply"


class ContactState(StrEnum):
    ACTIVE = "active"
    MOVED_ON = "moved-on"  # two unanswered attempts: the playbook says stop
    STOPPED = "stopped"  # the user asked for no more nudges about this contact


@dataclass(frozen=True)
class Contact:
    id: int
    user_id: int
    number: int  # short per-user id shown as #12
    name: str
    role: str = ContactRole.OTHER
    specialty: str | None = None
    institution: str | None = None
    email: str | None = None
    how_met: str = HowMet.OTHER
    met_on: date | None = None
    notes: str | None = None
    tags: tuple[str, ...] = ()
    state: str = ContactState.ACTIVE
    last_contact_on: date | None = None
    next_followup_on: date | None = None
    followup_situation: str | None = None
    followup_script: str | None = None
    created_at: datetime | None = None

    @property
    def ref(self) -> str:
        return f"#{self.number}"

    @property
    def is_mentor(self) -> bool:
        return "mentor" in self.tags


@dataclass(frozen=True)
class Interaction:
    contact_id: int
    kind: str
    on: date
    note: str | None = None
    imported: bool = False  # recreated from a CSV import's last-contact date
    created_at: datetime | None = None


class NudgeKind(StrEnum):
    FOLLOWUP = "followup"
    GOAL_KICKOFF = "goal-kickoff"
    GOAL_MIDMONTH = "goal-midmonth"
    GOAL_SUMMARY = "goal-summary"
    PHASE = "phase"
    CONFERENCE = "conference"  # a step of a /conference plan: ref "<plan id>:prep|day<N>|after"
    MILESTONE = "milestone"  # a key date of the cycle, or a task dated from one (ref names which)


class NudgeStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ACTED = "acted"  # done, snooze or stop was pressed on it


@dataclass(frozen=True)
class Nudge:
    id: int
    user_id: int
    kind: str
    ref: str
    due_at: datetime
    deliver_at: datetime
    status: str = NudgeStatus.PENDING
    attempts: int = 0
    last_error: str | None = None
    digest: str | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True)
class ConferencePlan:
    """A meeting the user will attend (/conference plan); its steps are planned nudges."""

    id: int
    user_id: int
    number: int  # short per-user id shown as #2
    name: str
    specialty: str  # playbook id whose targets and windows the plan uses
    starts_on: date
    days: int
    created_at: datetime | None = None

    @property
    def ref(self) -> str:
        return f"#{self.number}"

    @property
    def ends_on(self) -> date:
        """The last day of the meeting."""
        return self.starts_on + timedelta(days=self.days - 1)

    def covers(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


@dataclass(frozen=True)
class GoalTarget:
    metric: str
    period: str
    count: int


@dataclass(frozen=True)
class Account:
    """A user row joined with what delivery needs."""

    user_id: int
    platform: str
    account: str
    profile: Profile = field(compare=False)
