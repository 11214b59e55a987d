"""Playbook content: /playbook, /script, /timeline, /conferences, /faq, /mistakes."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.commands.profile import TRACK_CHOICES
from bot.core.conferences import ics_events
from bot.core.context import Context
from bot.core.dates import fmt_date, fmt_month
from bot.core.errors import UsageError
from bot.core.hints import hint
from bot.core.models import TRACK_NAMES
from bot.core.playbooks.loader import TrackView
from bot.core.playbooks.schema import Item, ScriptKind, Situation, count_of
from bot.core.registry import Choice, CommandSet, Option, OptionType
from bot.core.reply import Reply
from bot.core.scripts import render_script, script_values
from bot.core.timeline import DatedPhase, KeyKind, PhaseState, dated_phases, key_dates, to_ics
from bot.core.tracker import resolve_contact

commands = CommandSet()

SPECIALTY = Option(
    "specialty", "specialty playbook (default: your profile's)", OptionType.SPECIALTY, autocomplete="specialty"
)
TRACK = Option("track", "us-img or non-us-img (default: your profile's)", OptionType.CHOICE, choices=TRACK_CHOICES)
KIND_CHOICES = tuple(Choice(k.value, k.value.replace("-", " ")) for k in ScriptKind)
SECTION_CHOICES = tuple(
    Choice(v, label)
    for v, label in (
        ("overview", "Why networking matters here"),
        ("stakeholders", "Who to network with"),
        ("arenas", "Where to meet them"),
        ("goals", "Outreach targets"),
        ("cadences", "Follow-up windows"),
        ("more", "Other guidance"),
    )
)
# the playbook section /conferences shows after the list: what to look for at any meeting
CONFERENCE_EVENTS = "conference-events"


def heading(view: TrackView, what: str) -> str:
    return f"{what} · {view.playbook.name} ({TRACK_NAMES.get(view.track, view.track)})"


def mentions(ctx: Context, reply: Reply) -> Reply:
    """A reply of playbook prose (no user text in it) with its ``/command`` mentions as hints."""
    return reply.map_text(ctx.app.registry.mark_commands)


def sources(items: Sequence[Item]) -> str:
    seeds = sorted({s for i in items for s in i.sources})
    derived = any(i.derived for i in items)
    return "Sources: " + ", ".join(seeds) + (" · partly derived from other seeds" if derived else "")


@commands.command(
    "playbook",
    "Read a specialty playbook: why networking matters, who, where, targets",
    SPECIALTY,
    Option("section", "which part to show", OptionType.CHOICE, choices=SECTION_CHOICES),
    TRACK,
    private=False,
)
async def playbook(ctx: Context, specialty: str | None, section: str | None, track: str | None) -> Reply:
    view = ctx.view(specialty, track)
    section = section or "overview"
    r = Reply(title=heading(view, dict((c.value, c.label) for c in SECTION_CHOICES)[section]))
    shown: list[Item] = []
    if section in ("overview", "stakeholders", "arenas"):
        s = view.section(section)
        if s is None:
            raise UsageError(f"the {view.playbook.name} playbook has no '{section}' section")
        r.text(s.body).bullets(s.bullets_for(view.track))
        shown.append(s)
        if section == "overview":
            others = [x.title for x in view.sections if x.id not in ("overview", "stakeholders", "arenas")]
            r.bullets([f"{t}" for t in others], heading=f"More in {hint('playbook section:more')}")
    elif section == "more":
        for s in view.sections:
            if s.id in ("overview", "stakeholders", "arenas"):
                continue
            r.text(s.body, heading=s.title).bullets(s.bullets_for(view.track))
            shown.append(s)
    elif section == "goals":
        r.bullets(
            [f"{count_of(g.metric, g.count)} per {g.period}" + (f": {g.note}" if g.note else "") for g in view.goals]
        )
        r.text(f"Set your own with {hint('goal set <metric> <count> <week|month>')}.")
        shown += view.goals
    elif section == "cadences":
        lines = []
        order = list(Situation)
        for c in sorted(view.cadences, key=lambda c: (order.index(Situation(c.situation)), bool(c.roles))):
            window = f"{c.after_days}" + (f"–{c.within_days}" if c.within_days else "") + " days"
            script = f" → {hint(f'script {c.script}')}" if c.script else ""
            who = f" ({', '.join(str(r).replace('-', ' ') + 's' for r in c.roles)})" if c.roles else ""
            lines.append(f"{c.situation}{who}: {window}{script}. {c.note}")
        r.bullets(lines)
        shown += view.cadences
    r.footer = sources(shown) if shown else None
    return mentions(ctx, r)


@commands.command(
    "script",
    "Get a ready-to-send script (cold email, pitch, follow-up...) filled from your profile",
    Option(
        "kind",
        "which script; leave empty to list them",
        OptionType.CHOICE,
        choices=KIND_CHOICES,
        autocomplete="script-kind",
    ),
    SPECIALTY,
    Option("contact", "a tracked contact (name or #id) to address it to", autocomplete="contact", max_length=80),
    TRACK,
    private=True,
    help='/script conference-followup contact:"Dr Maya Lee"',
)
async def script(
    ctx: Context, kind: str | None, specialty: str | None, contact: str | None, track: str | None
) -> Reply:
    view = ctx.view(specialty, track)
    mark = ctx.app.registry.mark_commands
    if kind is None:
        r = Reply(title=heading(view, "Scripts"))
        r.bullets([mark(f"{s.kind}: {s.title}. {s.when}") for s in view.scripts])
        r.footer = f"Run {hint('script <kind>')}, e.g. {hint('script cold-email')}"
        return r
    found = view.script(kind)
    if found is None:
        if kind == ScriptKind.VISA_LINE:
            raise UsageError(
                "visa-line is for the non-US-IMG track; your track is us-img, so there is no visa to explain"
            )
        raise UsageError(f"the {view.playbook.name} playbook has no '{kind}' script")
    target = await resolve_contact(ctx, contact) if contact else None
    rendered = render_script(found, script_values(ctx.profile, view.playbook, target))
    r = Reply(title=heading(view, found.title))
    r.text(mark(found.when), heading="When to use it")
    r.script(rendered.body, subject=rendered.subject)
    r.bullets([mark(a) for a in found.avoid], heading="Avoid")
    notes = []
    if rendered.missing_profile:
        notes.append(
            "Fill the [brackets] once: " + hint("profile set " + " ".join(f"{o}:..." for o in rendered.missing_profile))
        )
    if rendered.missing_contact and target is None:
        notes.append('Address it to someone you track: add contact:"<name>"')
    notes.append(sources([found]))
    r.footer = " · ".join(notes)
    return r


commands.group("timeline", "Your dated networking timeline, counted back from your ERAS month", default="show")


ERAS = Option("eras", "ERAS submission month (default: your profile's)", OptionType.MONTH)


def _dated(
    ctx: Context, specialty: str | None, eras: str | None, track: str | None
) -> tuple[TrackView, str, list[DatedPhase]]:
    view = ctx.view(specialty, track)
    month = eras or ctx.profile.eras
    if not month:
        raise UsageError(f"your timeline needs an ERAS month: {hint('profile set eras:YYYY-MM')} (e.g. eras:2027-09)")
    return view, month, dated_phases(view, month, ctx.today)


@commands.command(
    "show",
    "Show each phase with real dates, marking where you are now",
    SPECIALTY,
    ERAS,
    TRACK,
    group="timeline",
)
async def timeline_show(ctx: Context, specialty: str | None, eras: str | None, track: str | None) -> Reply:
    view, month, phases = _dated(ctx, specialty, eras, track)
    r = Reply(title=heading(view, f"Timeline to ERAS {fmt_month(month)}"))
    marks = {PhaseState.PAST: "✓ done", PhaseState.CURRENT: "▶ NOW", PhaseState.UPCOMING: "upcoming"}
    for dp in phases:
        label = f"{dp.phase.title}: {fmt_date(dp.start)} → {fmt_date(dp.end)} ({marks[dp.state]})"
        if dp.state == PhaseState.CURRENT:
            r.bullets(list(dp.checklist), heading=label)
        else:
            r.text(dp.phase.summary or f"{len(dp.checklist)} checklist items", heading=label)
    if not any(dp.state == PhaseState.CURRENT for dp in phases):
        r.text("Today falls outside every phase of this timeline.")
    keys = key_dates(view, month, ctx.today)
    if len(keys) > 1:
        lines = []
        for k in keys:
            mark = "✓ " if k.past else ""
            if k.kind == KeyKind.TASK:
                lines.append(f"{mark}{fmt_date(k.on)}: to do: {k.text} ({k.when})")
            elif k.kind == KeyKind.SUBMISSION:
                lines.append(f"{mark}{k.when}: {k.text}")
            else:
                lines.append(f"{mark}{fmt_date(k.on)}: {k.text} ({k.when})")
        r.bullets(lines, heading="Key dates of your application cycle")
    shown: list[Item] = [*view.timeline, *view.milestones, *view.tasks]
    r.footer = f"Export to your calendar with {hint('timeline export')} · " + sources(shown)
    return mentions(ctx, r)


@commands.command(
    "export",
    "Download the timeline as a calendar file (.ics)",
    SPECIALTY,
    ERAS,
    TRACK,
    group="timeline",
)
async def timeline_export(ctx: Context, specialty: str | None, eras: str | None, track: str | None) -> Reply:
    view, month, phases = _dated(ctx, specialty, eras, track)
    keys = [k for k in key_dates(view, month, ctx.today) if k.kind != KeyKind.SUBMISSION]
    plans = await ctx.store.conference_plans(ctx.user_id)
    data = to_ics(view, phases, month, ctx.now, keys, ics_events(ctx.app.playbooks, plans, ctx.now))
    r = Reply(title=heading(view, "Timeline calendar"))
    dated = f", {len(keys)} key dates and tasks" if keys else ""
    dated += f", {len(plans)} conference plan{'s' if len(plans) != 1 else ''}" if plans else ""
    r.text(f"{len(phases)} phases with their checklists{dated}. Open the file to add them to your calendar.")
    r.attach(f"imgbot-timeline-{view.playbook.id}-{month}.ics", data, "text/calendar")
    return r


@commands.command(
    "conferences",
    "Conferences worth attending for a specialty, and what each is good for",
    SPECIALTY,
    TRACK,
    private=False,
)
async def conferences(ctx: Context, specialty: str | None, track: str | None) -> Reply:
    view = ctx.view(specialty, track)
    r = Reply(title=heading(view, "Conferences"))
    if not view.conferences:
        r.text("This playbook lists no conferences yet.")
    for c in view.conferences:
        name = f"{c.name} ({c.short})" if c.short else c.name
        fmt = f" Format: {c.format.rstrip().rstrip('.')}." if c.format else ""
        r.text(c.good_for.rstrip() + fmt, heading=name)
    shown: list[Item] = list(view.conferences)
    events = view.section(CONFERENCE_EVENTS)
    if events is not None:
        r.text(events.body, heading=events.title).bullets(events.bullets_for(view.track))
        shown.append(events)
    if shown:
        r.footer = f"Follow up after a meeting with {hint('script conference-followup')} · " + sources(shown)
    return mentions(ctx, r)


@commands.command("faq", "Common questions for this specialty and track", SPECIALTY, TRACK, private=False)
async def faq(ctx: Context, specialty: str | None, track: str | None) -> Reply:
    view = ctx.view(specialty, track)
    r = Reply(title=heading(view, "FAQ"))
    for f in view.faqs:
        r.text(f.answer, heading=f.question)
    r.footer = sources(view.faqs)
    return mentions(ctx, r)


@commands.command("mistakes", "Networking mistakes IMGs make, and the fix for each", SPECIALTY, TRACK, private=False)
async def mistakes(ctx: Context, specialty: str | None, track: str | None) -> Reply:
    view = ctx.view(specialty, track)
    r = Reply(title=heading(view, "Common mistakes"))
    for m in view.mistakes:
        r.text(f"Fix: {m.fix}", heading=m.mistake)
    r.footer = sources(view.mistakes)
    return mentions(ctx, r)
