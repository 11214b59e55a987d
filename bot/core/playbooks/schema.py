"""Pydantic schema for playbook YAML files.

A playbook file is either the shared base (``abstract: true``) or a specialty
that ``extends`` it. Every list holds *items* with a stable ``id``; a specialty
item with the same id as a base item replaces it, new ids are appended, and
``remove`` drops base items. Each item names the tracks it applies to and the
seed articles it draws from, so a maintainer can audit every line.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.core.models import ContactRole
from bot.core.playbooks.placeholders import placeholders_in, unknown_placeholders

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=40)]
Track = Literal["us-img", "non-us-img"]
TRACKS: tuple[Track, ...] = ("us-img", "non-us-img")


class ScriptKind(StrEnum):
    ELEVATOR_PITCH = "elevator-pitch"
    INTEREST_STORY = "interest-story"
    VISA_LINE = "visa-line"
    COLD_EMAIL = "cold-email"
    RESEARCH_EMAIL = "research-email"
    OBSERVERSHIP_REQUEST = "observership-request"
    CONFERENCE_APPROACH = "conference-approach"
    BOOTH_QUESTIONS = "booth-questions"
    CONFERENCE_FOLLOWUP = "conference-followup"
    LINKEDIN_CONNECT = "linkedin-connect"
    MENTORSHIP_REQUEST = "mentorship-request"
    INFORMATIONAL_INTERVIEW = "informational-interview"
    LOR_REQUEST = "lor-request"
    THANK_YOU = "thank-you"
    PROGRESS_UPDATE = "progress-update"
    NO_REPLY_FOLLOWUP = "no-reply-followup"


# Script kinds that only make sense for one track.
TRACK_ONLY_KINDS: dict[ScriptKind, str] = {ScriptKind.VISA_LINE: "non-us-img"}


class Situation(StrEnum):
    AFTER_MEETING = "after-meeting"
    NO_REPLY = "no-reply"
    SECOND_NO_REPLY = "second-no-reply"
    MENTOR_UPDATE = "mentor-update"
    DORMANT = "dormant"
    THANKS_AFTER_HELP = "thanks-after-help"


# Why a follow-up is owed, as it reads after its date: "Next follow-up Sat 5 Dec 2026 (if still no reply)".
SITUATION_WORDS: dict[str, str] = {
    Situation.AFTER_MEETING: "after meeting them",
    Situation.NO_REPLY: "if still no reply",
    Situation.SECOND_NO_REPLY: "no reply to two messages",
    Situation.MENTOR_UPDATE: "a regular update for a mentor",
    Situation.DORMANT: "to keep in touch",
    Situation.THANKS_AFTER_HELP: "to thank them for their help",
}


def situation_words(situation: str | None) -> str:
    """Why a follow-up is owed, in words (never the id ``no-reply``)."""
    return SITUATION_WORDS.get(situation or "", (situation or "follow-up").replace("-", " "))


class GoalMetric(StrEnum):
    EMAILS = "emails"
    NEW_CONTACTS = "new-contacts"
    CONVERSATIONS = "conversations"
    FOLLOW_UPS = "follow-ups"


_METRIC_NOUNS = {
    GoalMetric.EMAILS: ("email", "emails"),
    GoalMetric.NEW_CONTACTS: ("new contact", "new contacts"),
    GoalMetric.CONVERSATIONS: ("conversation", "conversations"),
    GoalMetric.FOLLOW_UPS: ("follow-up", "follow-ups"),
}


def count_of(metric: str, count: int) -> str:
    """ "1 follow-up", "3 emails": a goal's count with its noun in the right number."""
    one, many = _METRIC_NOUNS.get(metric, (metric, metric))  # type: ignore[call-overload]
    return f"{count} {one if count == 1 else many}"


def metric_words(metric: str) -> str:
    """A goal's metric as people read it: "new contacts", not the id "new-contacts"."""
    return _METRIC_NOUNS.get(metric, (metric, metric.replace("-", " ")))[1]  # type: ignore[call-overload]


class Period(StrEnum):
    WEEK = "week"
    MONTH = "month"


class _Strict(BaseModel):
    # defer_build: the validators are built on first use (loading the playbooks), not at import;
    # a start-up that finds the validated library in its cache never builds them
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# A bullet or checklist line: plain text for every track the item applies to, or a mapping
# from track to its own wording, e.g. ``- non-us-img: "Check which programs sponsor..."``.
# A track missing from the mapping does not see the line at all.
TrackLine = dict[str, str]  # keys checked by _check_lines: a subset of TRACKS
Line = str | TrackLine


def lines_for(lines: list[Line], track: str) -> list[str]:
    """The lines one track sees, in order."""
    out: list[str] = []
    for line in lines:
        if isinstance(line, str):
            out.append(line)
        elif track in line:
            out.append(line[track])
    return out


# Only script subjects and bodies are filled in; a {token} anywhere else would show as is.
_NOT_FILLED = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


def _check_lines(lines: list[object]) -> list[object]:
    """Each line is text, or a mapping from one or both tracks to text; no placeholders in either."""
    for n, line in enumerate(lines):
        where = f"item {n}: "
        if isinstance(line, dict):
            bad = [k for k in line if k not in TRACKS]
            if not line or bad:
                raise ValueError(
                    where
                    + "a line is text, or a mapping from us-img and/or non-us-img to text"
                    + (f"; '{bad[0]}' is not a track" if bad else "")
                )
            texts = list(line.values())
        else:
            texts = [line]
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                raise ValueError(where + "a line needs some text")
            try:
                _no_placeholder(text)
            except ValueError as exc:
                raise ValueError(where + str(exc)) from None
    return lines


def _no_placeholder(value: str) -> str:
    if _NOT_FILLED.search(value):
        found = ", ".join("{" + p + "}" for p in placeholders_in(value))
        raise ValueError(f"placeholders are filled in only in a script's subject and body, not here: {found}")
    return value


class Item(_Strict):
    """Common fields of every playbook entry."""

    id: Slug
    tracks: list[Track] = Field(default_factory=lambda: list[Track](TRACKS), min_length=1)
    # Seed files this entry draws from: the 3-digit prefix ("000".."004") or a
    # free label such as "community" for content that has no seed.
    sources: list[str] = Field(min_length=1)
    # Present when the entry is composed from other seeds rather than taken
    # from one that covers this specialty and track directly.
    derived: str | None = None

    def applies_to(self, track: str) -> bool:
        return track in self.tracks


class Section(Item):
    title: str = Field(min_length=1, max_length=120)
    body: str = Field(min_length=1)
    bullets: list[Line] = Field(default_factory=list)

    @field_validator("title", "body")
    @classmethod
    def _plain(cls, value: str) -> str:
        return _no_placeholder(value)

    @field_validator("bullets", mode="before")
    @classmethod
    def _lines(cls, value: object) -> object:
        return _check_lines(value) if isinstance(value, list) else value

    def bullets_for(self, track: str) -> list[str]:
        return lines_for(self.bullets, track)


class Conference(Item):
    name: str = Field(min_length=1, max_length=160)
    short: str | None = Field(default=None, max_length=30)
    good_for: str = Field(min_length=1)
    format: str | None = None  # e.g. "in person, some virtual sessions"

    @field_validator("name", "good_for", "format")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        return _no_placeholder(value) if value else value


class Script(Item):
    kind: ScriptKind
    title: str = Field(min_length=1, max_length=120)
    when: str = Field(min_length=1)
    avoid: list[str] = Field(default_factory=list)
    subject: str | None = None
    body: str = Field(min_length=1)

    @field_validator("title", "when")
    @classmethod
    def _plain(cls, value: str) -> str:
        return _no_placeholder(value)

    @field_validator("avoid")
    @classmethod
    def _plain_list(cls, value: list[str]) -> list[str]:
        for text in value:
            _no_placeholder(text)
        return value

    @field_validator("subject", "body")
    @classmethod
    def _known_placeholders(cls, value: str | None) -> str | None:
        if value is None:
            return value
        bad = unknown_placeholders(value)
        if bad:
            raise ValueError(f"unknown placeholder(s): {', '.join('{' + b + '}' for b in bad)}")
        return value

    @model_validator(mode="after")
    def _track_only(self) -> Script:
        only = TRACK_ONLY_KINDS.get(self.kind)
        if only and any(t != only for t in self.tracks):
            raise ValueError(f"script kind '{self.kind}' is only for the {only} track")
        return self


class Phase(Item):
    title: str = Field(min_length=1, max_length=120)
    # Months before the ERAS submission month; negative numbers are after it.
    start: int = Field(ge=-24, le=48)
    end: int = Field(ge=-24, le=48)
    summary: str | None = None
    checklist: list[Line] = Field(min_length=1)

    @field_validator("title", "summary")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        return _no_placeholder(value) if value else value

    @field_validator("checklist", mode="before")
    @classmethod
    def _lines(cls, value: object) -> object:
        return _check_lines(value) if isinstance(value, list) else value

    def checklist_for(self, track: str) -> list[str]:
        return lines_for(self.checklist, track)

    @model_validator(mode="after")
    def _ordered(self) -> Phase:
        if self.start <= self.end:
            raise ValueError(f"start ({self.start}) must be more months before ERAS than end ({self.end})")
        return self


class Goal(Item):
    metric: GoalMetric
    count: int = Field(ge=1, le=1000)
    period: Period
    note: str | None = None

    @field_validator("note")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        return _no_placeholder(value) if value else value


class Cadence(Item):
    situation: Situation
    # Contact roles this rhythm is for (e.g. attendings); without it, the default for the situation.
    roles: list[ContactRole] = Field(default_factory=list)
    after_days: int = Field(ge=0, le=365)
    within_days: int | None = Field(default=None, ge=0, le=365)
    script: ScriptKind | None = None
    note: str = Field(min_length=1)

    @field_validator("note")
    @classmethod
    def _plain(cls, value: str) -> str:
        return _no_placeholder(value)

    def applies_to_role(self, role: str | None) -> bool:
        return not self.roles or role in self.roles

    @model_validator(mode="after")
    def _window(self) -> Cadence:
        if self.within_days is not None and self.within_days < self.after_days:
            raise ValueError("within_days must not be less than after_days")
        return self


class Mistake(Item):
    mistake: str = Field(min_length=1)
    fix: str = Field(min_length=1)

    @field_validator("mistake", "fix")
    @classmethod
    def _plain(cls, value: str) -> str:
        return _no_placeholder(value)


class Faq(Item):
    question: str = Field(min_length=1)
    answer: str = Field(min_length=1)

    @field_validator("question", "answer")
    @classmethod
    def _plain(cls, value: str) -> str:
        return _no_placeholder(value)


MILESTONE_LABEL = "typical; check this year's official calendar"


class Milestone(Item):
    """A key date of the application cycle, as a typical calendar day.

    ``year`` counts calendar years from the one in which the cycle opens (the earliest
    milestone): 0 for ERAS opening in June, 1 for the rank-list deadline and Match Day.
    """

    title: str = Field(min_length=1, max_length=120)
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)
    year: int = Field(default=0, ge=0, le=1)
    # How the date is shown: "mid-March" reads truer than a day that moves every year.
    typical: str = Field(min_length=1, max_length=40)
    note: str | None = None

    @field_validator("title", "typical", "note")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        return _no_placeholder(value) if value else value

    @model_validator(mode="after")
    def _real_day(self) -> Milestone:
        if self.day > (29 if self.month == 2 else 30 if self.month in (4, 6, 9, 11) else 31):
            raise ValueError(f"month {self.month} has no day {self.day}")
        return self


# "2w before eras-opens", "3d after match-day", "before rank-list-deadline", "on match-day"
_WHEN = re.compile(r"^(?:(\d{1,3})([dw]) )?(before|after|on) ([a-z0-9][a-z0-9-]*)$")
DEFAULT_BEFORE_DAYS = 7  # "before X" with no number: a week ahead
DEFAULT_AFTER_DAYS = 1  # "after X" with no number: the next day


def parse_when(text: str) -> tuple[int, str]:
    """``(days relative to the milestone, milestone id)`` for a task's ``when``."""
    m = _WHEN.match(" ".join(text.split()))
    if m is None:
        raise ValueError(
            f"'{text}' is not a milestone offset; write e.g. '2w before eras-opens', "
            "'3d after match-day', 'before rank-list-deadline' or 'on match-day'"
        )
    count, unit, rel, milestone = m.groups()
    if rel == "on":
        if count:
            raise ValueError(f"'{text}': 'on' takes no number; use before or after")
        return 0, milestone
    if count is None:
        days = DEFAULT_BEFORE_DAYS if rel == "before" else DEFAULT_AFTER_DAYS
    else:
        days = int(count) * (7 if unit == "w" else 1)
    return (-days if rel == "before" else days), milestone


class Task(Item):
    """A checklist step dated from a milestone, so it moves when the milestone does."""

    text: Line
    when: str

    @field_validator("text", mode="before")
    @classmethod
    def _line(cls, value: object) -> object:
        _check_lines([value])
        return value

    @field_validator("when")
    @classmethod
    def _when(cls, value: str) -> str:
        parse_when(value)
        return value

    @property
    def offset_days(self) -> int:
        return parse_when(self.when)[0]

    @property
    def milestone(self) -> str:
        return parse_when(self.when)[1]

    def text_for(self, track: str) -> str | None:
        lines = lines_for([self.text], track)
        return lines[0] if lines else None


class ReviewCheck(StrEnum):
    MAX_LINES = "max-lines"  # the body is longer than ``limit`` lines
    PATTERN = "pattern"  # a pattern is found (and no ``unless`` pattern)
    IN_OPENING = "in-opening"  # a pattern is found in the first ``limit`` lines of the body
    MISSING = "missing"  # none of the patterns is found
    ASKS = "asks"  # fewer asks than ``min`` or more than ``max``


class ReviewRule(Item):
    """One check /review runs on a pasted draft: a detector from :class:`ReviewCheck`, its
    patterns, the script kinds it applies to, and what to say when the draft passes or fails."""

    check: ReviewCheck
    kinds: list[ScriptKind] = Field(default_factory=list)  # empty: every kind
    title: str = Field(min_length=1, max_length=60)
    ok: str = Field(min_length=1, max_length=200)
    fix: str = Field(min_length=1, max_length=300)
    patterns: list[str] = Field(default_factory=list)
    unless: list[str] = Field(default_factory=list)
    # the rule applies only to a draft where one of these matches (e.g. a greeting line): without
    # it, neither a fix nor a "fine" is claimed about something the draft does not have
    only_if: list[str] = Field(default_factory=list)
    case_sensitive: bool = False
    # pattern rules: look only inside the draft's asks (the sentences an 'asks' rule counts)
    in_asks: bool = False
    limit: int | None = Field(default=None, ge=1, le=200)
    min: int | None = Field(default=None, ge=0, le=20)
    max: int | None = Field(default=None, ge=0, le=20)

    @field_validator("title", "ok", "fix")
    @classmethod
    def _plain(cls, value: str) -> str:
        return _no_placeholder(value)

    @field_validator("patterns", "unless", "only_if")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _needs(self) -> ReviewRule:
        c = self.check
        if (
            c in (ReviewCheck.PATTERN, ReviewCheck.IN_OPENING, ReviewCheck.MISSING, ReviewCheck.ASKS)
            and not self.patterns
        ):
            raise ValueError(f"a '{c}' rule needs patterns")
        if c in (ReviewCheck.MAX_LINES, ReviewCheck.IN_OPENING) and self.limit is None:
            raise ValueError(f"a '{c}' rule needs a limit")
        if c == ReviewCheck.ASKS and self.min is None and self.max is None:
            raise ValueError("an 'asks' rule needs min or max")
        return self

    def applies_to_kind(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds


_ITEM_LISTS: tuple[str, ...] = (
    "sections",
    "conferences",
    "scripts",
    "timeline",
    "milestones",
    "tasks",
    "goals",
    "cadences",
    "mistakes",
    "faqs",
    "review_rules",
)


class ConferencePlanRules(_Strict):
    """What /conference plan turns into dated nudges, for one specialty (both tracks)."""

    sources: list[str] = Field(min_length=1)
    derived: str | None = None
    prep_days_before: int = Field(default=21, ge=7, le=60)
    faculty_min: int = Field(ge=1, le=20)
    faculty_max: int = Field(ge=1, le=20)
    prep_script: ScriptKind = ScriptKind.COLD_EMAIL
    conversations_min: int = Field(ge=1, le=30)
    conversations_max: int | None = Field(default=None, ge=1, le=30)
    day_script: ScriptKind = ScriptKind.CONFERENCE_APPROACH
    followup_script: ScriptKind = ScriptKind.CONFERENCE_FOLLOWUP

    @model_validator(mode="after")
    def _ranges(self) -> ConferencePlanRules:
        if self.faculty_max < self.faculty_min:
            raise ValueError("faculty_max must not be less than faculty_min")
        if self.conversations_max is not None and self.conversations_max < self.conversations_min:
            raise ValueError("conversations_max must not be less than conversations_min")
        return self

    @property
    def faculty(self) -> str:
        return (
            f"{self.faculty_min}-{self.faculty_max}" if self.faculty_max > self.faculty_min else str(self.faculty_min)
        )

    @property
    def conversations(self) -> str:
        top = self.conversations_max
        return (
            f"{self.conversations_min}-{top}" if top and top > self.conversations_min else str(self.conversations_min)
        )


class PlaybookFile(_Strict):
    """One YAML file exactly as written on disk."""

    id: Slug
    name: str = Field(min_length=1, max_length=60)
    abstract: bool = False
    extends: Slug | None = None
    aliases: list[str] = Field(default_factory=list)
    summary: str | None = None
    remove: list[Slug] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    conferences: list[Conference] = Field(default_factory=list)
    scripts: list[Script] = Field(default_factory=list)
    timeline: list[Phase] = Field(default_factory=list)
    milestones: list[Milestone] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)
    goals: list[Goal] = Field(default_factory=list)
    cadences: list[Cadence] = Field(default_factory=list)
    mistakes: list[Mistake] = Field(default_factory=list)
    faqs: list[Faq] = Field(default_factory=list)
    review_rules: list[ReviewRule] = Field(default_factory=list)
    # a specialty's own replaces the base's as a whole
    conference_plan: ConferencePlanRules | None = None

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: list[str]) -> list[str]:
        for alias in value:
            if not re.fullmatch(r"[\w .&'-]{1,40}", alias):
                raise ValueError(f"alias {alias!r} has characters that are not allowed")
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> PlaybookFile:
        for field in _ITEM_LISTS:
            seen: set[str] = set()
            for item in getattr(self, field):
                if item.id in seen:
                    raise ValueError(f"{field}: id '{item.id}' is used twice")
                seen.add(item.id)
        return self


ITEM_LISTS = _ITEM_LISTS
