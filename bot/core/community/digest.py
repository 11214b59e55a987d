"""The weekly digest a program posts when its check-in window closes.

Only members who let the channel show them are named; everyone counts in the totals. Any
ranking is by consistency (streaks, active weeks), never by volume. Nothing from a member's
tracker beyond the four counts reaches the channel: a win is shown only for members who chose
"counts and wins", with their contacts' names and emails taken out.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.community.models import Counts, DigestRows, Member, Program, Visibility, shift_week, week_number
from bot.core.hints import hint
from bot.core.models import GoalTarget
from bot.core.playbooks.schema import GoalMetric, Period
from bot.core.ports import Store
from bot.core.reply import Reply, Tone

if TYPE_CHECKING:
    from bot.core.community.chart import Chart, WeekPoint

HISTORY_WEEKS = 12  # streaks and active weeks look back this far
CHART_WEEKS = 8
LEADERS = 5
NAMES_SHOWN = 40
WINS_SHOWN = 10
WEEKS_PER_MONTH = 4


def quiet(text: str) -> str:
    """Text that can ping nobody on any platform: @everyone, @here, <!channel>, <@id>, <#id> broken."""
    if "@" not in text and "<" not in text:
        return text
    text = re.sub(r"@(everyone|here|channel)", r"＠\1", text, flags=re.IGNORECASE)
    return text.replace("<@", "<＠").replace("<!", "<！").replace("<#", "<＃")


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with the writer's contacts' names and emails (``secrets``) replaced by "a contact"."""
    wanted = sorted({s for s in secrets if len(s) >= 3}, key=len, reverse=True)
    if not wanted:
        return text
    return re.sub("|".join(re.escape(s) for s in wanted), "a contact", text, flags=re.IGNORECASE)


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
    named: tuple[str, ...]  # opted-in members who checked in (the first NAMES_SHOWN)
    named_more: int
    totals: Counts
    last_totals: Counts
    leaders: tuple[Leader, ...]
    on_pace: tuple[str, ...]  # opted-in members meeting every goal they set
    on_pace_others: int  # members on pace who are not named
    on_pace_more: int  # named members on pace beyond the NAMES_SHOWN listed
    wins: tuple[tuple[str, str], ...]
    history: tuple[WeekPoint, ...]
    more_wins: int = 0  # wins shared but not listed (the digest lists WINS_SHOWN)


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
    rows: DigestRows,
    targets: dict[int, list[GoalTarget]],
    wins: dict[int, str] | None = None,
    more_wins: int = 0,
) -> Digest:
    """Pure: the digest of ``week`` from members, their check-ins of the last weeks and goals."""
    from bot.core.community.chart import WeekPoint  # Pillow is imported when a digest is first made

    weeks = [shift_week(week, -i) for i in range(HISTORY_WEEKS)]  # newest first
    index = {w: i for i, w in enumerate(weeks)}
    seen: dict[int, set[int]] = {}
    for uid, w in rows.presence:
        if w in index:
            seen.setdefault(uid, set()).add(index[w])
    current = {uid: counts for uid, counts, _win in rows.current}
    shown = {m.user_id: m for m in members if m.shown}
    named_ids = [u for u in current if u in shown]
    # the digest lists the first NAMES_SHOWN names and counts the rest
    named = tuple(quiet(n) for n in heapq.nsmallest(NAMES_SHOWN, (shown[u].name for u in named_ids)))
    totals = rows.totals.get(week, (Counts(), 0))[0]
    last_totals = rows.totals.get(weeks[1], (Counts(), 0))[0]
    ranked = []
    for uid, m in shown.items():
        got = seen.get(uid)
        if not got:
            continue
        streak = 0
        while streak in got:
            streak += 1
        ranked.append((-streak, -len(got), m.name))
    leaders = [Leader(quiet(name), -streak, -active) for streak, active, name in heapq.nsmallest(LEADERS, ranked)]
    pace_named: list[str] = []
    pace_others = 0
    for uid, counts in current.items():
        if on_pace(counts, targets.get(uid, [])):
            if uid in shown:
                pace_named.append(shown[uid].name)
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
        t, n = rows.totals.get(w, (Counts(), 0))
        history.append(WeekPoint(w.split("-")[1], t.emails, t.contacts, t.followups, t.conversations, n))
    return Digest(
        program=program,
        week=week,
        members=len(members),
        checked_in=len(current),
        named=named,
        named_more=len(named_ids) - len(named),
        totals=totals,
        last_totals=last_totals,
        leaders=tuple(leaders[:LEADERS]),
        on_pace=tuple(quiet(n) for n in heapq.nsmallest(NAMES_SHOWN, pace_named)),
        on_pace_more=max(0, len(pace_named) - NAMES_SHOWN),
        on_pace_others=pace_others,
        wins=shown_wins,
        history=tuple(history),
        more_wins=more_wins,
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
    from bot.core.community.chart import sparkline

    t, lt = d.totals, d.last_totals
    title = f"Week {week_number(d.week)} digest: {d.checked_in} of {d.members} checked in"
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
            [
                f"{lead.name}: {lead.streak}-week streak, {lead.active} active week{'' if lead.active == 1 else 's'}"
                for lead in d.leaders
            ],
            heading="Most consistent (weeks in a row, not volume)",
            ordered=True,
        )
    if d.on_pace or d.on_pace_others:
        r.text(names_line(d.on_pace, d.on_pace_others + d.on_pace_more), heading="On pace with their own goals")
    if d.wins:
        more = [f"and {d.more_wins} more" if d.more_wins else ""]
        r.bullets([f"{name}: {win}" for name, win in d.wins] + [m for m in more if m], heading="Wins")
    r.text(
        "Emails per week "
        + sparkline([p.emails for p in d.history])
        + "  ·  conversations "
        + sparkline([p.conversations for p in d.history]),
        heading=f"Last {len(d.history)} weeks",
    )
    if chart is not None:
        r.attach(f"circle-{d.week}.png", chart.png, "image/png", chart.alt_text)
        r.text(chart.alt_text, heading="Chart")
    r.footer = f"Join with {hint('circle join')} · check in any time this week with {hint('circle checkin')}"
    return r


async def make_digest(store: Store, program: Program, week: str, *, late: bool = False, chart: bool = True) -> Reply:
    members = await store.members(program.id)
    weeks = [shift_week(week, -i) for i in range(HISTORY_WEEKS)]
    rows = await store.digest_rows(program.id, weeks, week)
    targets = await store.goal_targets([uid for uid, _c, _w in rows.current])
    sharing = {m.user_id: m.name for m in members if m.visibility == Visibility.WINS}
    written = sorted((sharing[uid], uid, win) for uid, _c, win in rows.current if win and uid in sharing)
    listed = written[:WINS_SHOWN]  # only the wins the digest lists are read against their writer's contacts
    secrets = await store.contact_secrets([uid for _n, uid, _w in listed])
    wins = {uid: scrub(text, secrets.get(uid, [])) for _n, uid, text in listed}
    d = build_digest(program, week, members, rows, targets, wins, more_wins=len(written) - len(listed))
    from bot.core.community.chart import render_chart

    picture = (
        await asyncio.to_thread(render_chart, f"{program.channel_label} · check-ins per week", list(d.history))
        if chart
        else None
    )
    return digest_reply(d, picture, late=late)
