"""/conference: plan a meeting you will attend (dated nudges), list plans, cancel one."""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.core import conferences as conf
from bot.core.context import Context
from bot.core.dates import fmt_date, zone
from bot.core.errors import NotFoundError, UsageError
from bot.core.hints import hint
from bot.core.models import ConferencePlan, NudgeKind, name_key
from bot.core.playbooks.loader import TrackView
from bot.core.registry import CommandSet, Option, OptionType
from bot.core.reply import Reply, Tone
from bot.core.tracker import recompute

commands = CommandSet()
commands.group("conference", "Plan a meeting you will attend: preparation, daily targets, follow-ups", default="list")

PLAN = Option("plan", "the plan's #number or the conference name", required=True, max_length=80)


def conference_name(view: TrackView, text: str) -> str:
    """A conference the playbook lists, by its name or short name, gets its full name."""
    key = name_key(text)
    for c in view.conferences:
        if key in {name_key(c.name), name_key(c.short or "")} - {""}:
            return f"{c.name} ({c.short})" if c.short and c.short not in c.name else c.name
    return " ".join(text.split())


async def _replan_contacts(ctx: Context, plan: ConferencePlan) -> int:
    """Recompute the follow-ups of contacts met at the meeting (their window moves with it)."""
    met = await conf.met_there(ctx.store, plan)
    for c in met:
        await recompute(ctx, c)
    return len(met)


@commands.command(
    "plan",
    "Plan a conference: preparation three weeks ahead, a target each day, follow-ups after",
    Option("conference", "the meeting, e.g. ACEP or 'APA Annual Meeting'", required=True, max_length=80),
    Option("date", "its first day (YYYY-MM-DD)", OptionType.DATE, required=True),
    Option(
        "days",
        f"how many days it lasts (1-{conf.MAX_DAYS}; default 3)",
        OptionType.INTEGER,
        min_value=1,
        max_value=conf.MAX_DAYS,
    ),
    group="conference",
    help="/conference plan ACEP 2027-10-04 4",
)
async def conference_plan(ctx: Context, conference: str, date: date, days: int | None) -> Reply:
    view = ctx.view(None)
    rules = view.playbook.conference_plan
    assert rules is not None  # the loader requires one for every concrete playbook
    days = days or 3
    name = conference_name(view, conference)
    if not name:
        raise UsageError("option 'conference': name the meeting, e.g. ACEP")
    ends = date + timedelta(days=days - 1)
    if ends < ctx.today:
        raise UsageError(
            f"option 'date': a {days}-day meeting from {date.isoformat()} ended on {ends.isoformat()}; "
            "plan one that is still ahead"
        )
    existing = await ctx.store.conference_plans(ctx.user_id)
    twin = next((p for p in existing if name_key(p.name) == name_key(name) and p.starts_on == date), None)
    if twin is not None:
        raise UsageError(
            f"{twin.name} from {fmt_date(twin.starts_on)} is already planned as {twin.ref}; "
            f"see {hint('conference list')}"
        )
    if len(existing) >= conf.MAX_PLANS:
        raise UsageError(f"you have {len(existing)} conference plans, the most kept; cancel old ones first")
    async with ctx.store.transaction():
        plan = await ctx.store.add_conference_plan(ctx.user_id, name, view.playbook.id, date, days, ctx.now)
        ahead = {s.ref for s in await conf.plan_nudges(ctx.store, ctx.app.playbooks, ctx.profile, plan, ctx.now)}
        moved = await _replan_contacts(ctx, plan)
    r = Reply(
        title=f"Planned {plan.ref}: {plan.name}, {fmt_date(plan.starts_on)} → {fmt_date(plan.ends_on)}",
        tone=Tone.SUCCESS,
    )
    lines = []
    missed = None
    for s in conf.steps(plan, rules):
        when = fmt_date(s.on)
        if s.what == conf.PREP:
            script = hint(f"script {rules.prep_script}")
            what = f"prepare: study the programme and email {rules.faculty} faculty ({script})"
        elif s.what == "day":
            what = f"day {s.day}: aim for {conf.target(rules)}"
        else:
            what = "round-up: follow up with everyone you logged as met there"
        if s.ref in ahead:
            lines.append(f"{when}: {what}")
        elif s.what == conf.PREP:
            missed = s
    r.bullets(lines, heading=f"Nudges ({view.playbook.name} targets)")
    if missed is not None and date > ctx.today:
        r.blocks.extend(conf.step_reply(ctx.app.playbooks, ctx.profile, plan, missed, []).blocks)
        r.text("The three-week mark has passed, so do this now rather than wait for a nudge.")
    if moved:
        r.text(f"The follow-ups of {moved} contact(s) you met there now count from the meeting's last day.")
    r.footer = (
        f"Contacts you add with how_met:conference on a day of the meeting are followed up after it · "
        f"{hint('conference list')} · {hint(f'conference cancel {plan.ref}')} · in {hint('timeline export')}"
    )
    return r


@commands.command("list", "Your planned conferences and their next step", group="conference")
async def conference_list(ctx: Context) -> Reply:
    plans = await ctx.store.conference_plans(ctx.user_id)
    r = Reply(title=f"Conference plans: {len(plans)}")
    if not plans:
        r.text(f"Nothing planned. Add one with {hint('conference plan <conference> <date> [days]')}.")
        return r
    pending = {n.ref: n for n in await ctx.store.open_nudges(ctx.user_id) if n.kind == NudgeKind.CONFERENCE}
    for p in plans:
        nxt = sorted((n.due_at for ref, n in pending.items() if ref.startswith(f"{p.id}:")))
        met = await conf.met_there(ctx.store, p)
        state = (
            f"next nudge {fmt_date(nxt[0].astimezone(zone(ctx.profile.timezone)).date())}" if nxt else "no nudges left"
        )
        days = f"{p.days} day{'s' if p.days != 1 else ''}"
        r.bullets(
            [f"{state} · {len(met)} contact(s) logged as met there"],
            heading=f"{p.ref} {p.name}: {fmt_date(p.starts_on)} → {fmt_date(p.ends_on)} ({days})",
        )
    r.footer = f"Cancel one with {hint('conference cancel <#number>')}"
    return r


_NUMBER = re.compile(r"^#?(\d{1,6})$")


async def _resolve(ctx: Context, text: str) -> ConferencePlan:
    plans = await ctx.store.conference_plans(ctx.user_id)
    m = _NUMBER.match(text.strip())
    if m:
        found = next((p for p in plans if p.number == int(m.group(1))), None)
        if found is None:
            raise NotFoundError(f"you have no conference plan #{m.group(1)}; see {hint('conference list')}")
        return found
    key = name_key(text)
    matches = [p for p in plans if key and key in name_key(p.name)]
    if not matches:
        raise NotFoundError(f"no conference plan matches '{text.strip()}'; see {hint('conference list')}")
    if len(matches) > 1:
        options = "; ".join(f"{p.ref} {p.name} ({fmt_date(p.starts_on)})" for p in matches[:8])
        raise UsageError(f"'{text.strip()}' matches {len(matches)} plans, which one? {options}. Use the #number.")
    return matches[0]


@commands.command("cancel", "Cancel a conference plan and its nudges", PLAN, group="conference")
async def conference_cancel(ctx: Context, plan: str) -> Reply:
    found = await _resolve(ctx, plan)
    async with ctx.store.transaction():
        await conf.cancel_nudges(ctx.store, ctx.app.playbooks, ctx.user_id, found)
        met = await conf.met_there(ctx.store, found)
        await ctx.store.delete_conference_plan(ctx.user_id, found.id)
        for c in met:
            await recompute(ctx, c)
    r = Reply(title=f"Cancelled {found.ref} {found.name}", tone=Tone.SUCCESS)
    r.text("Its nudges are gone. Contacts you met there keep their own follow-ups, counted from the day you met.")
    return r
