"""Timelines counted back from the ERAS submission month, and their iCalendar export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from icalendar import Calendar, Event

from bot.core.dates import add_months
from bot.core.playbooks.loader import TrackView
from bot.core.playbooks.schema import Phase
from bot.core.registry import month_to_date


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


def to_ics(view: TrackView, phases: list[DatedPhase], eras: str, now: datetime) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//IMG Peer Bot//Networking timeline//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"{view.playbook.name} networking timeline (ERAS {eras})")
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
        cal.add_component(ev)
    return cal.to_ical()
