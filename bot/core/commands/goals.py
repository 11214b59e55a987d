"""/goal set and /goal progress."""

from __future__ import annotations

from bot.core import goals as goals_mod
from bot.core import planner
from bot.core.context import Context
from bot.core.hints import hint
from bot.core.models import GoalTarget
from bot.core.playbooks.schema import GoalMetric, Period, count_of, metric_words
from bot.core.registry import Choice, CommandSet, Option, OptionType
from bot.core.reply import Reply, Tone

commands = CommandSet()
commands.group("goal", "Weekly and monthly outreach targets", default="progress")

# the playbook section with the longer goals these weekly counts lead to
GOAL_HORIZONS = "goal-horizons"
METRICS = tuple(Choice(m.value, m.value.replace("-", " "), (m.value.rstrip("s"),)) for m in GoalMetric)
PERIODS = tuple(Choice(p.value, p.value, (p.value + "ly", p.value + "s")) for p in Period)


@commands.command(
    "set",
    "Set a target, e.g. 3 emails per week; with no values, shows the playbook's suggestions",
    Option("metric", "what to count", OptionType.CHOICE, choices=METRICS),
    Option("count", "how many", OptionType.INTEGER, min_value=0, max_value=500),
    Option("period", "week or month", OptionType.CHOICE, choices=PERIODS),
    group="goal",
    help="/goal set emails 3 week",
)
async def goal_set(ctx: Context, metric: str | None, count: int | None, period: str | None) -> Reply:
    if metric is None or count is None or period is None:
        r = Reply(title="Suggested outreach targets")
        if ctx.profile.specialty and ctx.profile.track:
            view = ctx.view(None)
            r.bullets(
                [
                    hint(f"goal set {g.metric} {g.count} {g.period}") + (f" ({g.note})" if g.note else "")
                    for g in view.goals
                ],
                heading=f"From the {view.playbook.name} playbook",
            )
            horizons = view.section(GOAL_HORIZONS)
            if horizons is not None:
                mark = ctx.app.registry.mark_commands
                r.bullets([mark(b) for b in horizons.bullets_for(view.track)], heading=horizons.title)
        else:
            r.text(f"Set your specialty and track ({hint('profile set')}) to see your playbook's suggested targets.")
        r.footer = f"Set one with {hint('goal set <metric> <count> <week|month>')}; count 0 removes it"
        return r
    async with ctx.store.transaction():
        await ctx.store.set_goal(ctx.user_id, GoalTarget(metric, period, count))
        await planner.plan_goals(ctx.store, ctx.profile, ctx.now)
    r = Reply(title=f"Goal set: {count_of(metric, count)} per {period}", tone=Tone.SUCCESS)
    r.text(
        f"Check it any time with {hint('goal progress')}. Monthly goals get a kickoff on the 1st, "
        "a nudge mid-month if you are behind, and a summary at month end."
    )
    return r


@commands.command("progress", "How you are doing against your targets", group="goal")
async def goal_progress(ctx: Context) -> Reply:
    rows = [p for p in await goals_mod.progress(ctx.store, ctx.profile, ctx.today) if p.goal.count]
    r = Reply(title="Goal progress")
    if not rows:
        r.text(f"No goals yet. See suggestions with {hint('goal set')}, or set one: {hint('goal set emails 3 week')}")
        return r
    r.bullets(
        [
            f"{metric_words(p.goal.metric)} this {p.goal.period}: {p.bar()} {p.done}/{p.goal.count}"
            + ("  ✓" if p.done >= p.goal.count else "")
            for p in rows
        ]
    )
    r.footer = f"Counts come from what you log with {hint('contact log')} and {hint('contact add')}"
    return r
