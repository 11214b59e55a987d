"""/nudges: see, pause and resume reminders, and act on one (done, snooze, stop)."""

from __future__ import annotations

from datetime import date, datetime

from bot.core import conferences, planner
from bot.core.commands.tracker import followup_action
from bot.core.community.rounds import DmKind
from bot.core.context import Context
from bot.core.dates import fmt_date, local_datetime, zone
from bot.core.errors import NotFoundError, UsageError
from bot.core.hints import hint
from bot.core.models import Nudge, NudgeKind, NudgeStatus
from bot.core.registry import ID_MAX, Choice, CommandSet, Option, OptionType
from bot.core.reply import Reply, Tone
from bot.core.timeline import KeyKind, nudged_key_date, nudged_phase

commands = CommandSet()
commands.group("nudges", "Your reminders: list, pause for an exam block, resume", default="list")

NUDGE_ID = Option(
    "nudge", "the nudge number printed with it", OptionType.INTEGER, required=True, min_value=1, max_value=ID_MAX
)
SNOOZE = (
    Choice("1d", "1 day", ("1", "day", "1 day")),
    Choice("3d", "3 days", ("3", "3 days")),
    Choice("1w", "1 week", ("7", "7d", "week", "1 week")),
)
SNOOZE_DAYS = {"1d": 1, "3d": 3, "1w": 7}
LABELS = {
    NudgeKind.FOLLOWUP: "follow-up",
    NudgeKind.PHASE: "timeline phase",
    NudgeKind.MILESTONE: "key date",
    NudgeKind.CONFERENCE: "conference",
    NudgeKind.GOAL_KICKOFF: "monthly goal kickoff",
    NudgeKind.GOAL_MIDMONTH: "mid-month goal check",
    NudgeKind.GOAL_SUMMARY: "month-end summary",
    DmKind.REMINDER: "circle check-in reminder",
    DmKind.PAIRING: "buddy round tomorrow",
    DmKind.INTRO: "buddy round intro",
    DmKind.UNPAIRED: "no buddy this round",
    DmKind.MEET: "did you meet your buddy?",
    DmKind.PAUSED: "buddy pairing paused",
    DmKind.MENTOR: "mentor match",
    DmKind.MENTOR_DIGEST: "mentee check-ins",
}


def _phase_label(ctx: Context, n: Nudge) -> str:
    """ "new timeline phase: Letters and program list", the phase's title as the timeline shows it
    (looked up again, so a playbook edit shows); just "timeline phase" if it is gone."""
    dp = nudged_phase(ctx.app.playbooks, n.ref, ctx.today)
    return f"new timeline phase: {dp.phase.title}" if dp else LABELS[NudgeKind.PHASE]


def _milestone_label(ctx: Context, n: Nudge) -> str:
    """ "key date: ERAS opens to applicants", or "to do: <the task>" for a task dated from one."""
    k = nudged_key_date(ctx.app.playbooks, n.ref, ctx.today)
    if k is None:
        return "to do" if n.ref.split(":")[2] == KeyKind.TASK else LABELS[NudgeKind.MILESTONE]
    if k.kind == KeyKind.TASK:
        return f"to do: {ctx.app.registry.mark_commands(k.text)}"
    return f"{LABELS[NudgeKind.MILESTONE]}: {k.text}"


def _conference_step(step: str) -> str:
    """A conference nudge's step as the plan's reply names it: preparation, day 2, round-up."""
    if step == conferences.PREP:
        return "preparation"
    if step == conferences.AFTER:
        return "round-up"
    return step.replace("day", "day ", 1)


def _local(ctx: Context, when: datetime) -> str:
    local = when.astimezone(zone(ctx.profile.timezone))
    return f"{fmt_date(local.date())} {local:%H:%M}"


@commands.command("list", "What the bot will remind you about, and when", group="nudges")
async def nudges_list(ctx: Context) -> Reply:
    pending = await ctx.store.open_nudges(ctx.user_id)
    paused = ctx.profile.nudges_paused_until
    r = Reply(title=f"Upcoming nudges: {len(pending)}")
    if paused and paused > ctx.now:
        until = "until you resume" if paused >= planner.FAR_FUTURE else f"until {_local(ctx, paused)}"
        r.text(f"Nudges are paused {until}. {hint('nudges resume')} turns them back on.")
    lines = []
    for n in pending[:25]:
        what = LABELS.get(n.kind, n.kind)
        if n.kind == NudgeKind.FOLLOWUP:
            c = await ctx.store.get_contact(ctx.user_id, int(n.ref))
            what += f" with {c.ref} {c.name}" if c else ""
        elif n.kind == NudgeKind.PHASE:
            what = _phase_label(ctx, n)
        elif n.kind == NudgeKind.CONFERENCE:
            plan = await ctx.store.get_conference_plan(ctx.user_id, int(n.ref.split(":")[0]))
            what += f" {plan.ref} {plan.name} ({_conference_step(n.ref.split(':')[1])})" if plan else ""
        elif n.kind == NudgeKind.MILESTONE:
            what = _milestone_label(ctx, n)
        when = "paused" if n.deliver_at >= planner.FAR_FUTURE else _local(ctx, n.deliver_at)
        lines.append(f"{when}: {what}" + (f" (retrying: {n.last_error})" if n.last_error else ""))
    r.bullets(lines)
    if not pending:
        r.text("Nothing scheduled. Contacts you add, goals you set and your timeline create nudges.")
    r.footer = (
        f"Times are {ctx.profile.timezone}; quiet hours {ctx.profile.quiet_start:%H:%M}-{ctx.profile.quiet_end:%H:%M}"
    )
    return r


@commands.command(
    "pause",
    "Stop nudges until a date (e.g. an exam block), or until you resume",
    Option("until", "the date to resume (YYYY-MM-DD or 'in 2 weeks'); empty = until /nudges resume", OptionType.DATE),
    group="nudges",
)
async def nudges_pause(ctx: Context, until: date | None) -> Reply:
    if until is not None and until <= ctx.today:
        raise UsageError(f"option 'until': {until.isoformat()} is not in the future")
    resume_at = (
        local_datetime(until, planner.NUDGE_HOUR, zone(ctx.profile.timezone))
        if until is not None
        else planner.FAR_FUTURE
    )
    profile = ctx.profile.with_(nudges_paused_until=resume_at)
    async with ctx.store.transaction():
        await ctx.store.save_profile(profile, ctx.now)
        await planner.retime(ctx.store, profile, ctx.now)
    ctx.profile = profile
    when = f"until {fmt_date(until)}" if until is not None else f"until you run {hint('nudges resume')}"
    r = Reply(title=f"Nudges paused {when}", tone=Tone.SUCCESS)
    r.text("Nothing is lost: anything that falls due meanwhile arrives as one digest when the pause ends.")
    return r


@commands.command("resume", "Turn nudges back on", group="nudges")
async def nudges_resume(ctx: Context) -> Reply:
    profile = ctx.profile.with_(nudges_paused_until=None)
    async with ctx.store.transaction():
        await ctx.store.save_profile(profile, ctx.now)
        await planner.retime(ctx.store, profile, ctx.now)
    ctx.profile = profile
    return Reply(title="Nudges are back on", tone=Tone.SUCCESS)


async def _owned(ctx: Context, nudge_id: int) -> Nudge:
    n = await ctx.store.get_nudge(nudge_id)
    if n is None or n.user_id != ctx.user_id:
        raise NotFoundError(f"nudge {nudge_id} is not one of yours")
    if n.kind != NudgeKind.FOLLOWUP:
        raise UsageError(f"nudge {nudge_id} is not about a contact; nothing to mark")
    if n.status == NudgeStatus.ACTED:
        raise UsageError(f"nudge {nudge_id} was already handled; see {hint('followups')} for what is due now")
    if n.status == NudgeStatus.CANCELLED or await ctx.store.has_newer_open(n):
        raise UsageError(f"nudge {nudge_id} was replaced by a newer one; see {hint('followups')}")
    return n


async def _act(ctx: Context, nudge_id: int, action: str, days: int = 0) -> Reply:
    """Mark the nudge acted and run its action in one transaction: a failing action leaves
    the nudge usable, and of two presses at once only one gets past the guarded mark."""
    async with ctx.store.transaction():
        n = await _owned(ctx, nudge_id)
        if not await ctx.store.act_once(ctx.user_id, n.id):
            raise UsageError(f"nudge {nudge_id} was already handled; see {hint('followups')} for what is due now")
        return await followup_action(ctx, int(n.ref), action, days)


@commands.command("done", "Mark a follow-up nudge as done (logs the interaction)", NUDGE_ID, group="nudges")
async def nudges_done(ctx: Context, nudge: int) -> Reply:
    return await _act(ctx, nudge, "done")


@commands.command(
    "snooze",
    "Remind me again later about this follow-up",
    NUDGE_ID,
    Option("duration", "1d, 3d or 1w", OptionType.CHOICE, choices=SNOOZE, default="1d"),
    group="nudges",
)
async def nudges_snooze(ctx: Context, nudge: int, duration: str) -> Reply:
    return await _act(ctx, nudge, "snooze", SNOOZE_DAYS[duration])


@commands.command("stop", "No more nudges about this contact", NUDGE_ID, group="nudges")
async def nudges_stop(ctx: Context, nudge: int) -> Reply:
    return await _act(ctx, nudge, "stop")
