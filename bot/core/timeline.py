"""Timelines counted back from the ERAS submission month, and their iCalendar export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.core.dates import add_months
from bot.core.playbooks.loader import PlaybookLibrary, TrackView
from bot.core.playbooks.schema import MILESTONE_LABEL, Milestone, Phase, Task
from bot.core.registry import month_to_date

if TYPE_CHECKING:  # icalendar is imported where a calendar is made: it costs start-up time otherwise
    from icalendar import Event


class PhaseState(StrEnum):
    PAST = "past"
    CURRENT = "current"
    UPCOMING = "upcoming"


@dataclass(frozen=True)
class DatedPhase:
    phase: Phase
    start: date  # first day of the phase
    end: date  # first day after the phase
    state: PhaseState
    checklist: tuple[str, ...]  # the lines for the view's track


def dated_phases(view: TrackView, eras: str, today: date) -> list[DatedPhase]:
    submit = month_to_date(eras)
    out = []
    for p in view.timeline:
        start = add_months(submit, -p.start)
        end = add_months(submit, -p.end)
        if today >= end:
            state = PhaseState.PAST
        elif today >= start:
            state = PhaseState.CURRENT
        else:
            state = PhaseState.UPCOMING
        out.append(DatedPhase(p, start, end, state, tuple(p.checklist_for(view.track))))
    return out


class KeyKind(StrEnum):
    MILESTONE = "milestone"
    TASK = "task"
    SUBMISSION = "submission"


@dataclass(frozen=True)
class KeyDate:
    """A milestone of the cycle, a task dated from one, or the user's own ERAS month."""

    kind: KeyKind
    id: str
    on: date
    text: str
    when: str  # how to show the date: "early June, typical; ...", "2 weeks before: ERAS opens..."
    past: bool
    detail: str | None = None  # a milestone's note


def cycle_year(view: TrackView, eras: str) -> int | None:
    """The calendar year in which the cycle of this ERAS month opens (the earliest milestone).

    An ERAS month before the opening month belongs to the cycle that opened the year before
    (a late application), so December and January of one cycle share a cycle year."""
    if not view.milestones:
        return None
    first = min(view.milestones, key=lambda m: (m.year, m.month, m.day))
    submit = month_to_date(eras)
    return submit.year if submit.month >= first.month else submit.year - 1


def milestone_dates(view: TrackView, eras: str) -> dict[str, date]:
    year = cycle_year(view, eras)
    if year is None:
        return {}
    return {m.id: date(year + m.year, m.month, m.day) for m in view.milestones}


def _offset(task: Task, milestone: Milestone) -> str:
    days = task.offset_days
    if days == 0:
        return f"on the day: {milestone.title}"
    n = abs(days)
    amount = f"{n // 7} week{'s' if n // 7 != 1 else ''}" if n % 7 == 0 else f"{n} day{'s' if n != 1 else ''}"
    return f"{amount} {'before' if days < 0 else 'after'}: {milestone.title}"


def key_dates(view: TrackView, eras: str, today: date) -> list[KeyDate]:
    """Milestones, the tasks tied to them and the ERAS submission month, in date order."""
    dates = milestone_dates(view, eras)
    by_id = {m.id: m for m in view.milestones}
    submit = month_to_date(eras)
    out = [
        KeyDate(
            KeyKind.SUBMISSION,
            "eras-submission",
            submit,
            "Your ERAS submission",
            submit.strftime("%B %Y"),
            add_months(submit, 1) <= today,
        )
    ]
    for m in view.milestones:
        on = dates[m.id]
        out.append(KeyDate(KeyKind.MILESTONE, m.id, on, m.title, f"{m.typical}, {MILESTONE_LABEL}", on < today, m.note))
    for t in view.tasks:
        text = t.text_for(view.track)
        if text is None or t.milestone not in dates:
            continue
        on = dates[t.milestone] + timedelta(days=t.offset_days)
        out.append(KeyDate(KeyKind.TASK, t.id, on, text, _offset(t, by_id[t.milestone]), on < today))
    order = {KeyKind.MILESTONE: 0, KeyKind.SUBMISSION: 1, KeyKind.TASK: 2}
    return sorted(out, key=lambda k: (k.on, order[k.kind]))


def nudged_phase(lib: PlaybookLibrary, ref: str, today: date) -> DatedPhase | None:
    """The phase a ``phase`` nudge's ref (``playbook:track:phase:eras``) names, looked up again so
    a playbook edit shows; None when the playbook or the phase is gone."""
    pid, track, phase_id, eras = ref.split(":", 3)
    if pid not in lib.ids:
        return None
    return next((dp for dp in dated_phases(lib.get(pid).view(track), eras, today) if dp.phase.id == phase_id), None)


def nudged_key_date(lib: PlaybookLibrary, ref: str, today: date) -> KeyDate | None:
    """The key date or task a ``milestone`` nudge's ref (``playbook:track:kind:id:eras``) names."""
    pid, track, kind, key_id, eras = ref.split(":", 4)
    if pid not in lib.ids:
        return None
    view = lib.get(pid).view(track)
    return next((k for k in key_dates(view, eras, today) if k.kind == kind and k.id == key_id), None)


def to_ics(
    view: TrackView,
    phases: list[DatedPhase],
    eras: str,
    now: datetime,
    keys: list[KeyDate] | None = None,
    extra: list[Event] | None = None,
) -> bytes:
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//IMG Peer Bot//Networking timeline//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"{view.playbook.name} networking timeline (ERAS {eras})")
    events: list[tuple[date, Event]] = []
    for dp in phases:
        ev = Event()
        ev.add("uid", f"{view.playbook.id}-{view.track}-{dp.phase.id}-{eras}@imgbot")
        ev.add("dtstamp", now)
        ev.add("dtstart", dp.start)
        ev.add("dtend", dp.end)
        ev.add("summary", f"{view.playbook.name}: {dp.phase.title}")
        lines = [dp.phase.summary] if dp.phase.summary else []
        lines += [f"- {item}" for item in dp.checklist]
        ev.add("description", "\n".join(lines))
        ev.add("transp", "TRANSPARENT")
        events.append((dp.start, ev))
    for k in keys or []:
        if k.kind == KeyKind.SUBMISSION:
            continue
        ev = Event()
        ev.add("uid", f"{view.playbook.id}-{view.track}-{k.kind}-{k.id}-{eras}@imgbot")
        ev.add("dtstamp", now)
        ev.add("dtstart", k.on)
        ev.add("dtend", k.on + timedelta(days=1))
        summary = k.text if k.kind == KeyKind.MILESTONE else f"To do: {k.text}"
        ev.add("summary", f"{view.playbook.name}: {summary}" if k.kind == KeyKind.MILESTONE else summary)
        ev.add("description", f"{k.when[0].upper()}{k.when[1:]}.\n- {k.detail or k.text}")
        ev.add("transp", "TRANSPARENT")
        events.append((k.on, ev))
    for ev in extra or []:
        start = ev.decoded("dtstart")
        events.append((start.date() if isinstance(start, datetime) else start, ev))
    for _, ev in sorted(events, key=lambda pair: pair[0]):
        cal.add_component(ev)
    return cal.to_ical()
