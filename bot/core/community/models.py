"""Typed records of circles (peer accountability programs) passed between store, domain and front ends."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from bot.core.dates import local_datetime, zone

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Visibility(StrEnum):
    """What the program's channel may show about a member."""

    COUNTS = "counts"  # the default: name and counts
    WINS = "wins"  # name, counts and the win they wrote
    NONE = "none"  # never named in the channel


class Affinity(StrEnum):
    SAME = "same"
    COMPLEMENTARY = "complementary"


class PostKind(StrEnum):
    """What a program owes, once per period. DMs fan out as nudges (quiet hours apply when sent)."""

    CHECKIN = "checkin"  # channel: the weekly post with its Log my week button
    REMINDER = "reminder"  # DMs to members who have not checked in, before the window closes
    DIGEST = "digest"  # channel: totals, streaks, chart, at the close
    PAIR_REMINDER = "pair-reminder"  # DMs 24 h before a round: Skip this round
    ROUND = "round"  # pair members, owe each group its intro, tell the unpaired
    INTRO = "intro"  # one group's intro (period: "WEEK:GROUP"): one private conversation where the platform has them
    MEET_MID = "meet-mid"  # DMs: did you meet? halfway through the round
    MEET_END = "meet-end"  # DMs: did you meet? at the round's end
    MENTOR_DIGEST = "mentor-digest"  # DMs to mentors on the playbook's mentor-update cadence


class MeetAnswer(StrEnum):
    YES = "yes"
    NOT_YET = "not-yet"
    NO = "no"


class MentorStage(StrEnum):
    MATCHED = "matched-img"
    RESIDENT = "resident"
    SENIOR = "senior"


@dataclass(frozen=True)
class Place:
    """A community channel on one platform."""

    platform: str
    community: str
    channel: str


@dataclass(frozen=True)
class Program:
    id: int
    place: Place
    post_day: int  # 0 = Monday
    post_time: time
    close_day: int
    timezone: str
    pairing_weeks: int = 0  # 0: no pairing
    affinity: str = Affinity.SAME
    paused: bool = False
    community_name: str | None = None
    channel_name: str | None = None
    created_at: datetime | None = None

    def with_(self, **changes: object) -> Program:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def channel_label(self) -> str:
        return f"#{self.channel_name or self.place.channel}"

    def opens_at(self, week: str) -> datetime:
        """When the week's check-in post goes out (the program's local time)."""
        return local_datetime(week_monday(week) + timedelta(days=self.post_day), self.post_time, zone(self.timezone))

    def closes_at(self, week: str) -> datetime:
        """When the week's check-in window closes and the digest is posted."""
        return local_datetime(week_monday(week) + timedelta(days=self.close_day), self.post_time, zone(self.timezone))

    def local_week(self, when: datetime) -> str:
        return iso_week(when.astimezone(zone(self.timezone)).date())

    def schedule_words(self) -> str:
        every = "week" if self.pairing_weeks == 1 else f"{self.pairing_weeks} weeks"
        pairing = f"; buddy pairing every {every}" if self.pairing_weeks else ""
        return (
            f"check-in {DAYS[self.post_day].title()} {self.post_time:%H:%M}, digest {DAYS[self.close_day].title()} "
            f"{self.post_time:%H:%M} ({self.timezone}){pairing}"
        )


@dataclass(frozen=True)
class Member:
    """A member of one program, with what pairing and the digest need from their profile."""

    id: int
    program_id: int
    user_id: int
    visibility: str = Visibility.COUNTS
    reminders: bool = True
    missed_rounds: int = 0
    paused: bool = False
    skip_period: str | None = None
    joined_at: datetime | None = None
    display_name: str | None = None
    platform: str = ""
    account: str = ""
    specialty: str | None = None
    track: str | None = None
    timezone: str = "UTC"

    def with_(self, **changes: object) -> Member:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def shown(self) -> bool:
        return self.visibility != Visibility.NONE

    @property
    def name(self) -> str:
        return self.display_name or self.account


@dataclass(frozen=True)
class Counts:
    emails: int = 0
    contacts: int = 0
    followups: int = 0
    conversations: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.emails + other.emails,
            self.contacts + other.contacts,
            self.followups + other.followups,
            self.conversations + other.conversations,
        )

    @property
    def total(self) -> int:
        return self.emails + self.contacts + self.followups + self.conversations


@dataclass(frozen=True)
class Checkin:
    program_id: int
    user_id: int
    week: str
    counts: Counts
    win: str | None = None
    blocker: str | None = None
    goal: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class Post:
    id: int
    program_id: int
    kind: str
    period: str
    due_at: datetime
    expires_at: datetime
    status: str = "pending"
    attempts: int = 0
    late: bool = False


@dataclass(frozen=True)
class Group:
    id: int
    round_id: int
    program_id: int
    period: str
    user_ids: tuple[int, ...]
    answers: dict[int, str | None]
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Round:
    id: int
    program_id: int
    period: str
    starts_at: datetime
    ends_at: datetime
    groups: tuple[Group, ...] = ()


@dataclass(frozen=True)
class MentorOfferRow:
    program_id: int
    user_id: int
    stage: str
    capacity: int
    specialty: str | None
    track: str | None


@dataclass(frozen=True)
class MentorMatch:
    id: int
    program_id: int
    mentee_user_id: int
    mentor_user_id: int
    started_at: datetime
    ended_at: datetime | None = None


def iso_week(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y:04d}-W{w:02d}"


def week_monday(week: str) -> date:
    y, w = week.split("-W")
    return date.fromisocalendar(int(y), int(w), 1)


def week_number(week: str) -> int:
    """The week's number as people say it: 9 for ``2026-W09``."""
    return int(week.split("-W")[1])


def shift_week(week: str, weeks: int) -> str:
    return iso_week(week_monday(week) + timedelta(weeks=weeks))


@dataclass(frozen=True)
class UserCircleData:
    """Every circle row that names one user (for /privacy export)."""

    memberships: list[Member]
    programs: dict[int, Program]
    checkins: list[Checkin]
    meetings: list[tuple[int, str, str | None]]  # (program id, round period, answer)
    blocks: list[tuple[int, str]]  # (program id, the blocked member's display name)
    mentor_offers: list[MentorOfferRow]
    mentor_requests: list[int]  # program ids
    mentor_matches: list[MentorMatch]


@dataclass(frozen=True)
class DigestRows:
    """What a digest reads, lean: the week's check-ins, who checked in which week, weekly totals."""

    current: list[tuple[int, Counts, str | None]]  # (user, counts, win) of the digest's week
    presence: list[tuple[int, str]]  # (user, week) for every check-in in the look-back
    totals: dict[str, tuple[Counts, int]]  # week -> (summed counts, check-ins), members only
