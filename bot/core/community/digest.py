"""The weekly digest a program posts when its check-in window closes.

Only members who let the channel show them are named; everyone counts in the totals. Any
ranking is by consistency (streaks, active weeks), never by volume. Nothing from a member's
tracker beyond the four counts reaches the channel: a win is shown only for members who chose
"counts and wins", with their contacts' names and emails taken out.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.core.community.chart import Chart, WeekPoint, render_chart, sparkline
from bot.core.community.models import Checkin, Counts, Member, Program, Visibility, shift_week
from bot.core.hints import hint
from bot.core.models import Contact, GoalTarget
from bot.core.playbooks.schema import GoalMetric, Period
from bot.core.ports import Store
from bot.core.reply import Reply, Tone

HISTORY_WEEKS = 12  # streaks and active weeks look back this far
CHART_WEEKS = 8
LEADERS = 5
NAMES_SHOWN = 40
WEEKS_PER_MONTH = 4


def quiet(text: str) -> str:
    """Text that can ping nobody on any platform: @everyone, @here, <!channel>, <@id>, <#id> broken."""
    text = re.sub(r"@(everyone|here|channel)", r"＠\1", text, flags=re.IGNORECASE)
    return text.replace("<@", "<＠").replace("<!", "<！").replace("<#", "<＃")


def scrub(text: str, contacts: Iterable[Contact]) -> str:
    """``text`` with the writer's contacts' names and emails replaced by "a contact"."""
    for c in sorted(contacts, key=lambda c: -len(c.name)):
        for secret in (c.name, c.email):
            if secret and len(secret) >= 3:
                text = re.sub(re.escape(secret), "a contact", text, flags=re.IGNORECASE)
    return text


@dataclass(frozen=True)
class Leader:
    name: str
    streak: int
    active: int


@dataclass(frozen=True)
class Digest:
    program: Program
    week: str
    members: int
    checked_in: int
    named: tuple[str, ...]  # opted-in members who checked in
    totals: Counts
    last_totals: Counts
    leaders: tuple[Leader, ...]
    on_pace: tuple[str, ...]  # opted-in members meeting every goal they set
    on_pace_others: int  # members on pace who are not named
    wins: tuple[tuple[str, str], ...]
    history: tuple[WeekPoint, ...]


def _metric(c: Counts, metric: str) -> int:
    return {
        GoalMetric.EMAILS: c.emails,
        GoalMetric.NEW_CONTACTS: c.contacts,
        GoalMetric.FOLLOW_UPS: c.followups,
        GoalMetric.CONVERSATIONS: c.conversations,
    }.get(metric, 0)  # type: ignore[call-overload]


def on_pace(counts: Counts, targets: Sequence[GoalTarget]) -> bool | None:
    """Whether a week's counts keep pace with the member's own goals (a monthly goal: a quarter a
    week); None when they set none."""
    wanted = [g for g in targets if g.count > 0]
    if not wanted:
        return None
    for g in wanted:
        weekly = g.count if g.period == Period.WEEK else math.ceil(g.count / WEEKS_PER_MONTH)
        if _metric(counts, g.metric) < weekly:
            return False
    return True


def build_digest(
    program: Program,
    week: str,
    members: Sequence[Member],
    checkins: Sequence[Checkin],
    targets: dict[int, list[GoalTarget]],
    wins: dict[int, str] | None = None,
) -> Digest:
    """Pure: the digest of ``week`` from members, their check-ins of the last weeks and goals."""
    weeks = [shift_week(week, -i) for i in range(HISTORY_WEEKS)]  # newest first
    by_week: dict[str, dict[int, Checkin]] = {w: {} for w in weeks}
    for c in checkins:
        if c.week in by_week:
            by_week[c.week][c.user_id] = c
    current = by_week[week]
    shown = {m.user_id: m for m in members if m.shown}
    member_ids = {m.user_id for m in members}
    named = tuple(sorted(quiet(shown[u].name) for u in current if u in shown))
    totals = sum((c.counts for u, c in current.items() if u in member_ids), Counts())
    last = by_week[weeks[1]]
    last_totals = sum((c.counts for u, c in last.items() if u in member_ids), Counts())
    leaders = []
    for uid, m in shown.items():
        streak = 0
        for w in weeks:
            if uid not in by_week[w]:
                break
            streak += 1
        active = sum(1 for w in weeks if uid in by_week[w])
        if active:
            leaders.append(Leader(quiet(m.name), streak, active))
    leaders.sort(key=lambda lead: (-lead.streak, -lead.active, lead.name))
    pace_named, pace_others = [], 0
    for uid, c in current.items():
        if uid in member_ids and on_pace(c.counts, targets.get(uid, [])):
            if uid in shown:
                pace_named.append(quiet(shown[uid].name))
            else:
                pace_others += 1
    shown_wins = tuple(
        sorted(
            (quiet(shown[uid].name), quiet(text))
            for uid, text in (wins or {}).items()
            if uid in shown and shown[uid].visibility == Visibility.WINS and uid in current and text
        )
    )
    history = []
    for w in reversed(weeks[:CHART_WEEKS]):
        rows = [c for u, c in by_week[w].items() if u in member_ids]
        t = sum((c.counts for c in rows), Counts())
        history.append(WeekPoint(w.split("-")[1], t.emails, t.contacts, t.followups, t.conversations, len(rows)))
    return Digest(
        program=program,
        week=week,
        members=len(members),
        checked_in=sum(1 for u in current if u in member_ids),
        named=named,
        totals=totals,
        last_totals=last_totals,
        leaders=tuple(leaders[:LEADERS]),
        on_pace=tuple(sorted(pace_named)),
        on_pace_others=pace_others,
        wins=shown_wins,
        history=tuple(history),
    )


def _change(now: int, before: int) -> str:
    diff = now - before
    return f"{now} ({'+' if diff > 0 else ''}{diff} on last week)" if diff else f"{now} (same as last week)"


def names_line(names: Sequence[str], hidden: int) -> str:
    shown = list(names[:NAMES_SHOWN])
    more = len(names) - len(shown) + hidden
    text = ", ".join(shown) if shown else ""
    if more:
        text += (" and " if text else "") + f"{more} more"
    return text or "nobody yet"


def digest_reply(d: Digest, chart: Chart | None, *, late: bool = False) -> Reply:
    t, lt = d.totals, d.last_totals
    title = f"Week {d.week.split('-W')[1]} digest: {d.checked_in} of {d.members} checked in"
    r = Reply(title=("(late: the bot was offline) " if late else "") + title, private=False, tone=Tone.SUCCESS)
    r.text(names_line(d.named, d.checked_in - len(d.named)), heading="Checked in")
    r.fields(
        ("Emails sent", _change(t.emails, lt.emails)),
        ("New contacts", _change(t.contacts, lt.contacts)),
        ("Follow-ups done", _change(t.followups, lt.followups)),
        ("Conversations", _change(t.conversations, lt.conversations)),
    )
    if d.leaders:
        r.bullets(
            [f"{lead.name}: {lead.streak}-week streak, {lead.active} active week(s)" for lead in d.leaders],
            heading="Most consistent (weeks in a row, not volume)",
            ordered=True,
        )
    if d.on_pace or d.on_pace_others:
        r.text(names_line(d.on_pace, d.on_pace_others), heading="On pace with their own goals")
    if d.wins:
        r.bullets([f"{name}: {win}" for name, win in d.wins], heading="Wins")
    r.text(
        "Emails per week "
        + sparkline([p.emails for p in d.history])
        + "  ·  conversations "
        + sparkline([p.conversations for p in d.history]),
        heading=f"Last {len(d.history)} weeks",
    )
    if chart is not None:
        r.attach(f"circle-{d.week}.png", chart.png, "image/png")
        r.text(chart.alt_text, heading="Chart")
    r.footer = f"Join with {hint('circle join')} · check in any time this week with {hint('circle checkin')}"
    return r


async def goal_targets(store: Store, user_ids: Sequence[int]) -> dict[int, list[GoalTarget]]:
    return await store.goal_targets(user_ids)


async def make_digest(store: Store, program: Program, week: str, *, late: bool = False, chart: bool = True) -> Reply:
    members = [m for m in await store.members(program.id)]
    weeks = [shift_week(week, -i) for i in range(HISTORY_WEEKS)]
    checkins = await store.checkins_for(program.id, weeks)
    targets = await store.goal_targets([m.user_id for m in members])
    wins: dict[int, str] = {}
    wants = {m.user_id for m in members if m.visibility == Visibility.WINS}
    for c in checkins:
        if c.week == week and c.win and c.user_id in wants:
            wins[c.user_id] = scrub(c.win, await store.all_contacts(c.user_id))
    d = build_digest(program, week, members, checkins, targets, wins)
    picture = (
        await asyncio.to_thread(render_chart, f"{program.channel_label} · check-ins per week", list(d.history))
        if chart
        else None
    )
    return digest_reply(d, picture, late=late)
