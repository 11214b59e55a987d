"""Conference plans: a meeting the user will attend, turned into dated nudges.

A plan owns three kinds of step, each an ordinary planned nudge of kind ``conference``
delivered by the nudge engine: preparation about three weeks ahead (study the programme,
email a few faculty), each day of the meeting (the specialty's conversation target), and a
round-up the day after it ends. Contacts logged as met there (``how_met`` conference, met on
a day of the meeting) are followed up in the specialty's after-meeting window counted from the
meeting's last day (:func:`bot.core.tracker.next_step`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from bot.core import planner
from bot.core.dates import fmt_date
from bot.core.hints import hint
from bot.core.models import ConferencePlan, Contact, ContactState, HowMet, NudgeKind, Profile
from bot.core.playbooks.loader import PlaybookLibrary
from bot.core.playbooks.schema import ConferencePlanRules, Situation
from bot.core.ports import Store
from bot.core.reply import Reply

if TYPE_CHECKING:
    from icalendar import Event

MAX_DAYS = 14
MAX_PLANS = 50
DAY_HOUR = time(8, 0)  # a meeting day's nudge comes before the first session
PREP = "prep"
AFTER = "after"


@dataclass(frozen=True)
class Step:
    ref: str  # the nudge ref: "<plan id>:prep", "<plan id>:day2", "<plan id>:after"
    on: date
    at: time
    what: str  # "prep", "day", "after"
    day: int = 0  # 1-based day of the meeting for "day" steps


def rules_for(library: PlaybookLibrary, plan: ConferencePlan) -> ConferencePlanRules | None:
    if plan.specialty not in library.ids:
        return None
    return library.get(plan.specialty).conference_plan


def steps(plan: ConferencePlan, rules: ConferencePlanRules) -> list[Step]:
    out = [Step(f"{plan.id}:{PREP}", plan.starts_on - timedelta(days=rules.prep_days_before), planner.NUDGE_HOUR, PREP)]
    for n in range(plan.days):
        out.append(Step(f"{plan.id}:day{n + 1}", plan.starts_on + timedelta(days=n), DAY_HOUR, "day", n + 1))
    out.append(Step(f"{plan.id}:{AFTER}", plan.ends_on + timedelta(days=1), planner.NUDGE_HOUR, AFTER))
    return out


def step_for(plan: ConferencePlan, rules: ConferencePlanRules, ref: str) -> Step | None:
    return next((s for s in steps(plan, rules) if s.ref == ref), None)


async def plan_nudges(
    store: Store, library: PlaybookLibrary, profile: Profile, plan: ConferencePlan, now: datetime
) -> list[Step]:
    """Put a nudge for every step still ahead; returns those steps. A step whose time has
    passed is left to the reply of the command that made the plan."""
    rules = rules_for(library, plan)
    if rules is None:
        return []
    ahead = []
    for s in steps(plan, rules):
        due = planner.due_on(profile, s.on, s.at)
        if due > now:
            await planner.put(store, profile, NudgeKind.CONFERENCE, s.ref, due, now)
            ahead.append(s)
    return ahead


async def cancel_nudges(store: Store, library: PlaybookLibrary, user_id: int, plan: ConferencePlan) -> None:
    rules = rules_for(library, plan)
    refs = [s.ref for s in steps(plan, rules)] if rules else []
    # a plan's steps are "<id>:..." refs; without its rules (playbook removed) retire every day it could have
    refs = refs or [f"{plan.id}:{PREP}", f"{plan.id}:{AFTER}", *(f"{plan.id}:day{n}" for n in range(1, MAX_DAYS + 1))]
    for ref in refs:
        await store.retire_nudges(user_id, NudgeKind.CONFERENCE, ref)


async def met_there(store: Store, plan: ConferencePlan) -> list[Contact]:
    """Contacts logged as met at the meeting: met at a conference on one of its days, or with a
    "met" interaction logged on one of its days."""
    contacts = await store.all_contacts(plan.user_id)
    met_days: dict[int, bool] = {}
    for i in await store.user_interactions(plan.user_id):
        if i.kind == "met" and plan.covers(i.on):
            met_days[i.contact_id] = True
    return [
        c
        for c in contacts
        if c.how_met == HowMet.CONFERENCE and ((c.met_on is not None and plan.covers(c.met_on)) or met_days.get(c.id))
    ]


def target(rules: ConferencePlanRules) -> str:
    return f"{rules.conversations} real conversations"


def step_reply(
    library: PlaybookLibrary, profile: Profile, plan: ConferencePlan, step: Step, contacts: list[Contact]
) -> Reply:
    """What a step says, as a digest part (or the command's reply for a step already due)."""
    rules = rules_for(library, plan)
    assert rules is not None
    r = Reply(title="")
    if step.what == PREP:
        r.bullets(
            [
                "Study the programme: mark the sessions, posters and IMG or trainee events that match your interests, "
                "and note who is speaking.",
                f"Email {rules.faculty} of those faculty now, saying you will be there and asking for a few minutes "
                f"at the meeting; start from {hint(f'script {rules.prep_script}')}.",
                f"Get your introduction ready with {hint('script elevator-pitch')}.",
            ],
            heading=f"{plan.name} starts {fmt_date(plan.starts_on)}: about three weeks to prepare",
        )
    elif step.what == "day":
        r.text(
            f"Aim for {target(rules)} today, not a handful of business cards. Openers: "
            f"{hint(f'script {rules.day_script}')}. Log each person the same day with "
            f"{hint('contact add <name> how_met:conference met_on:today')}, so their follow-up is planned.",
            heading=f"{plan.name}, day {step.day} of {plan.days}",
        )
    else:
        pb = library.get(plan.specialty)
        cadence = pb.view(profile.track or "non-us-img").cadence(Situation.AFTER_MEETING)
        window = ""
        if cadence is not None:
            first = plan.ends_on + timedelta(days=cadence.after_days)
            last = plan.ends_on + timedelta(days=cadence.within_days or cadence.after_days)
            window = f" ({pb.name}: between {fmt_date(first)} and {fmt_date(last)})"
        head = f"{plan.name} is over: follow up with everyone you met there{window}"
        active = [c for c in contacts if c.state == ContactState.ACTIVE]
        if active:
            r.bullets(
                [
                    f"{c.ref} {c.name}"
                    + (f": due {fmt_date(c.next_followup_on)}" if c.next_followup_on else "")
                    + f" · {hint(f'script {rules.followup_script} contact:{c.ref}')}"
                    for c in active
                ],
                heading=head,
            )
            r.text("Each of them also gets their own reminder on the day it is due.")
        else:
            r.text(
                "No contact is logged as met there yet. Add the people you talked to with "
                f"{hint('contact add <name> how_met:conference met_on:YYYY-MM-DD')} (a day of the meeting), "
                "and each gets a follow-up inside the window.",
                heading=head,
            )
    return r


def ics_events(library: PlaybookLibrary, plans: list[ConferencePlan], now: datetime) -> list[Event]:
    """The plans as calendar events: the preparation day, the meeting itself and the follow-up window."""
    from icalendar import Event  # here, not at import: it costs start-up time

    out: list[Event] = []
    for plan in plans:
        rules = rules_for(library, plan)
        if rules is None:
            continue
        prep = plan.starts_on - timedelta(days=rules.prep_days_before)
        pb = library.get(plan.specialty)
        cadence = pb.view("non-us-img").cadence(Situation.AFTER_MEETING)
        rows = [
            (
                "prep",
                prep,
                prep + timedelta(days=1),
                f"Prepare for {plan.name}",
                f"Study the programme and email {rules.faculty} faculty you hope to meet.",
            ),
            (
                "meeting",
                plan.starts_on,
                plan.ends_on + timedelta(days=1),
                plan.name,
                f"Aim for {target(rules)} each day; log everyone you meet.",
            ),
        ]
        if cadence is not None:
            first = plan.ends_on + timedelta(days=cadence.after_days)
            last = plan.ends_on + timedelta(days=cadence.within_days or cadence.after_days)
            rows.append(
                (
                    "followups",
                    first,
                    last + timedelta(days=1),
                    f"Follow up after {plan.name}",
                    "Send a short follow-up to everyone you met there.",
                )
            )
        for key, start, end, summary, text in rows:
            ev = Event()
            ev.add("uid", f"conference-{plan.id}-{key}@imgbot")
            ev.add("dtstamp", now)
            ev.add("dtstart", start)
            ev.add("dtend", end)
            ev.add("summary", summary)
            ev.add("description", f"- {text}")
            ev.add("transp", "TRANSPARENT")
            out.append(ev)
    return out
