"""The contact tracker: references, cadence rules from the playbook, interaction logging."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from bot.core import planner
from bot.core.context import Context
from bot.core.errors import NotFoundError, UsageError
from bot.core.hints import hint
from bot.core.models import ConferencePlan, Contact, ContactState, HowMet, InteractionType, Profile
from bot.core.playbooks.loader import PlaybookLibrary, TrackView
from bot.core.playbooks.schema import Situation

TWO_WAY = {InteractionType.MET, InteractionType.REPLIED, InteractionType.CALL, InteractionType.MEETING}
HELP = {InteractionType.REPLIED, InteractionType.CALL, InteractionType.MEETING}
IN_PERSON_HOW = {HowMet.CONFERENCE, HowMet.ROTATION, HowMet.WEBINAR, HowMet.RESEARCH, HowMet.ALUMNI}

# what "done" on a nudge logs, per situation
DONE_LOGS = {
    Situation.AFTER_MEETING: InteractionType.EMAILED,
    Situation.NO_REPLY: InteractionType.EMAILED,
    Situation.SECOND_NO_REPLY: InteractionType.NO_REPLY,
    Situation.MENTOR_UPDATE: InteractionType.UPDATE_SENT,
    Situation.DORMANT: InteractionType.EMAILED,
    Situation.THANKS_AFTER_HELP: InteractionType.THANKED,
}


def done_log(c: Contact) -> str:
    """What doing ``c``'s due follow-up logs (a nudge's Done, /followups' and the Home tab's button)."""
    return DONE_LOGS.get(c.followup_situation or "", InteractionType.EMAILED)  # type: ignore[call-overload]


@dataclass(frozen=True)
class NextStep:
    on: date | None
    situation: str | None
    script: str | None
    state: str = ContactState.ACTIVE
    advice: str | None = None


def unanswered_attempts(history: list[tuple[str, date]]) -> int:
    count = 0
    for kind, _ in reversed(history):
        if kind in TWO_WAY:
            break
        if kind == InteractionType.EMAILED:
            count += 1
    return count


def meeting_end(plans: Sequence[ConferencePlan]) -> Callable[[date], date | None]:
    """The last day of the planned meeting that covers a day, if any."""

    def end(day: date) -> date | None:
        return next((p.ends_on for p in plans if p.covers(day)), None)

    return end


def next_step(
    contact: Contact,
    history: list[tuple[str, date]],
    view: TrackView,
    meeting_end: Callable[[date], date | None] | None = None,
) -> NextStep:
    """Where this contact stands, from the latest interaction and the playbook's cadences.

    ``meeting_end`` gives the last day of a planned conference covering a day: someone met
    there (``how_met`` conference, met on a day of the meeting) is followed up in the
    after-meeting window counted from the end of the meeting, not from the middle of it."""

    def after_meeting(met: date) -> NextStep:
        end = meeting_end(met) if meeting_end and contact.how_met == HowMet.CONFERENCE else None
        return rule(Situation.AFTER_MEETING, end or met)

    def rule(situation: Situation, start: date) -> NextStep:
        cadence = view.cadence(situation, contact.role)
        if cadence is None:  # the loader guarantees one per situation; be safe anyway
            return NextStep(None, None, None)
        return NextStep(start + timedelta(days=cadence.after_days), situation, cadence.script)

    if not history:
        start = contact.met_on or (contact.created_at.date() if contact.created_at else None)
        if start is None:
            return NextStep(None, None, None)
        if contact.how_met == HowMet.CONFERENCE and contact.met_on:
            return after_meeting(contact.met_on)
        if contact.how_met in IN_PERSON_HOW and contact.met_on:
            return rule(Situation.AFTER_MEETING, start)
        return rule(Situation.MENTOR_UPDATE if contact.is_mentor else Situation.DORMANT, start)

    kind, on = history[-1]
    attempts = unanswered_attempts(history)
    if kind == InteractionType.MET:
        return after_meeting(on)
    if kind in HELP:
        return rule(Situation.THANKS_AFTER_HELP, on)
    if kind in (InteractionType.THANKED, InteractionType.UPDATE_SENT):
        return rule(Situation.MENTOR_UPDATE if contact.is_mentor else Situation.DORMANT, on)
    if kind == InteractionType.EMAILED:
        if attempts <= 1:
            return rule(Situation.NO_REPLY, on)
        return rule(Situation.SECOND_NO_REPLY, on)
    if kind == InteractionType.NO_REPLY:
        if attempts <= 1:
            cadence = view.cadence(Situation.NO_REPLY, contact.role)
            return NextStep(on, Situation.NO_REPLY, cadence.script if cadence else None)
        stop = view.cadence(Situation.SECOND_NO_REPLY, contact.role)
        return NextStep(
            None,
            None,
            None,
            ContactState.MOVED_ON,
            advice=(stop.note if stop else "Two attempts went unanswered.")
            + " No more reminders for this contact; put the time into someone new.",
        )
    return NextStep(None, None, None)


def cadence_view(lib: PlaybookLibrary, profile: Profile, contact: Contact) -> TrackView | None:
    """The playbook of the contact's specialty, else the user's."""
    pid = contact.specialty if contact.specialty in lib.ids else profile.specialty
    if not pid or pid not in lib.ids:
        return None
    return lib.get(pid).view(profile.track or "non-us-img")


async def recompute(ctx: Context, contact: Contact, *, keep_overdue: bool = False) -> tuple[Contact, NextStep]:
    """Recompute and store the contact's next follow-up, and its nudge."""
    history = [(k, d) for k, d, _ in await ctx.store.interactions(contact.id)]
    last = history[-1][1] if history else contact.last_contact_on
    view = cadence_view(ctx.app.playbooks, ctx.profile, contact)
    if contact.state == ContactState.STOPPED:
        step = NextStep(None, None, None, ContactState.STOPPED)
    elif view is None:
        step = NextStep(
            None,
            None,
            None,
            contact.state,
            advice="No follow-up reminders yet: they come from a specialty playbook. Set yours with "
            f"{hint('profile set specialty:<name>')} (or the contact's with {hint('contact edit')}).",
        )
    else:
        step = next_step(contact, history, view, meeting_end(await ctx.store.conference_plans(ctx.user_id)))
    updated = replace(
        contact,
        last_contact_on=last,
        next_followup_on=step.on,
        followup_situation=step.situation,
        followup_script=step.script,
        state=step.state if contact.state != ContactState.STOPPED else contact.state,
    )
    await ctx.store.update_contact(updated)
    await planner.plan_followup(ctx.store, ctx.profile, updated, ctx.now, keep_overdue=keep_overdue)
    return updated, step


_NUMBER = re.compile(r"^#?(\d{1,6})$")


async def resolve_contact(ctx: Context, ref: str) -> Contact:
    """A contact from ``#12``, ``12`` or a name; an ambiguous name asks which one."""
    text = ref.strip()
    m = _NUMBER.match(text)
    if m:
        found = await ctx.store.contact_by_number(ctx.user_id, int(m.group(1)))
        if found is None:
            raise NotFoundError(f"you have no contact #{m.group(1)}; see {hint('contact list')}")
        return found
    matches = await ctx.store.find_contacts(ctx.user_id, text)
    if not matches:
        raise NotFoundError(
            f"no contact matches '{text}'; see {hint('contact list')} or add one with {hint('contact add')}"
        )
    if len(matches) > 1:
        options = "; ".join(f"{c.ref} {c.name}" + (f" ({c.institution})" if c.institution else "") for c in matches[:8])
        raise UsageError(f"'{text}' matches {len(matches)} contacts, which one? {options}. Use the #id.")
    return matches[0]


def parse_tags(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    tags = []
    for raw in re.split(r"[,\s]+", text.strip().lower()):
        tag = raw.lstrip("#")
        if not tag:
            continue
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,29}", tag):
            raise UsageError(f"option 'tags': '{raw}' is not a tag; use letters, digits and dashes")
        tags.append(tag)
    if len(tags) > 10:
        raise UsageError("option 'tags': at most 10 tags per contact")
    return tuple(dict.fromkeys(tags))


_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,200}\.[A-Za-z]{2,24}$")


def check_email(value: str | None) -> str | None:
    if value and not _EMAIL.match(value):
        raise UsageError(f"option 'email': '{value}' is not an email address")
    return value or None
