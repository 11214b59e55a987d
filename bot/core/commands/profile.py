"""/profile set and /profile show."""

from __future__ import annotations

from bot.core import planner
from bot.core.context import Context
from bot.core.dates import fmt_month, parse_quiet_hours
from bot.core.errors import UsageError
from bot.core.hints import hint
from bot.core.models import (
    TRACK_NAMES,
    US_STATUS_LABELS,
    VISA_LABELS,
    NudgeKind,
    NudgeStatus,
    Profile,
    Track,
    UsStatus,
    Visa,
)
from bot.core.registry import Choice, CommandSet, Option, OptionType
from bot.core.reply import Reply, Tone
from bot.core.tracker import cadence_view, recompute

commands = CommandSet()
commands.group("profile", "Your details, used to fill every script and timeline", default="show")


def _label(track: Track) -> str:
    """A track's name as a label, first letter up: "Non-US-citizen IMG" (in a sentence: TRACK_NAMES)."""
    name = TRACK_NAMES[track.value]
    return name[:1].upper() + name[1:]


TRACK_CHOICES = (
    Choice(
        Track.US_IMG,
        _label(Track.US_IMG),
        ("us", "usimg", "us img", "citizen", "us-citizen", "green card", "permanent resident"),
    ),
    Choice(
        Track.NON_US_IMG,
        _label(Track.NON_US_IMG),
        ("non-us", "nonus", "non us img", "intl", "international", "non-citizen", "visa"),
    ),
)
VISA_CHOICES = (
    Choice(Visa.J1, "J-1", ("j-1", "j 1")),
    Choice(Visa.H1B, "H-1B", ("h-1b", "h1-b", "h1")),
    Choice(Visa.OTHER, "Other visa"),
    Choice(Visa.NONE, "No visa needed", ("no", "n/a", "citizen")),
)
STATUS_CHOICES = (
    Choice(UsStatus.CITIZEN, "US citizen", ("us citizen", "us-citizen")),
    Choice(
        UsStatus.PERMANENT_RESIDENT,
        "US permanent resident (green card)",
        ("pr", "lpr", "green card", "green-card", "greencard", "gc", "permanent resident", "resident"),
    ),
)
TRACK_LABELS = {c.value: c.label for c in TRACK_CHOICES}

SET_OPTIONS = (
    Option("name", "your name as you sign emails, e.g. Dr Amal Hassan", max_length=80),
    Option("country", "country where you trained", max_length=60),
    Option("school", "your medical school", max_length=120),
    Option("specialty", "target specialty", OptionType.SPECIALTY, autocomplete="specialty"),
    Option(
        "track", "us-img (US citizen/green card) or non-us-img (needs a visa)", OptionType.CHOICE, choices=TRACK_CHOICES
    ),
    Option("visa", "visa you would train on", OptionType.CHOICE, choices=VISA_CHOICES),
    Option(
        "status",
        "us-img track: citizen or permanent-resident (green card), so scripts state it correctly",
        OptionType.CHOICE,
        choices=STATUS_CHOICES,
    ),
    Option("eras", "month you plan to submit ERAS (YYYY-MM)", OptionType.MONTH),
    Option(
        "timezone",
        "your IANA time zone, e.g. Africa/Cairo",
        OptionType.TIMEZONE,
        autocomplete="timezone",
        max_length=60,
    ),
    Option("interests", "interests to mention, e.g. consult-liaison psychiatry, QI", max_length=160),
    Option("role", "what you do now, with its article, e.g. a research fellow at Cairo University", max_length=120),
    Option("quiet_hours", "no nudges between these local times, e.g. 21:00-08:00 (or off)", max_length=20),
)


def show(profile: Profile, ctx: Context) -> Reply:
    pb_name = ctx.app.playbooks.label(profile.specialty) if profile.specialty else None
    dash = "—"
    r = Reply(title="Your profile")
    r.fields(
        ("Name", profile.name or dash),
        ("Country", profile.country or dash),
        ("Medical school", profile.school or dash),
        ("Specialty", pb_name or dash),
        ("Track", TRACK_LABELS.get(profile.track or "", dash)),
        (
            ("US status", US_STATUS_LABELS.get(UsStatus(profile.status), dash) if profile.status else dash)
            if profile.track == Track.US_IMG
            else ("Visa", VISA_LABELS.get(Visa(profile.visa), dash) if profile.visa else dash)
        ),
        ("ERAS submission", fmt_month(profile.eras) if profile.eras else dash),
        ("Time zone", profile.timezone),
        ("Interests", profile.interests or dash),
        ("Current role", profile.role or dash),
        (
            "Quiet hours",
            f"{profile.quiet_start:%H:%M}-{profile.quiet_end:%H:%M}"
            if profile.quiet_start != profile.quiet_end
            else "off",
        ),
    )
    missing = [
        o
        for o, v in (
            ("name", profile.name),
            ("country", profile.country),
            ("school", profile.school),
            ("specialty", profile.specialty),
            ("track", profile.track),
            ("eras", profile.eras),
            ("status", profile.status if profile.track == Track.US_IMG else "n/a"),
        )
        if not v
    ]
    if missing:
        r.footer = (
            "Still empty: "
            + ", ".join(missing)
            + ". Set them with "
            + hint("profile set " + " ".join(f"{m}:..." for m in missing[:3]))
        )
    return r


async def undelivered_followups(ctx: Context, user_id: int) -> set[str]:
    """Refs (contact ids) of follow-up nudges still waiting to be sent."""
    return {
        n.ref
        for n in await ctx.store.open_nudges(user_id)
        if n.kind == NudgeKind.FOLLOWUP and n.status == NudgeStatus.PENDING
    }


async def replan_contacts(ctx: Context, old: Profile, new: Profile) -> None:
    """A new specialty or track can change the playbook behind each contact's follow-ups:
    recompute the contacts whose playbook view changed (others keep their schedule and snoozes)."""
    lib = ctx.app.playbooks
    undelivered = await undelivered_followups(ctx, new.user_id)
    for contact in await ctx.store.all_contacts(new.user_id):
        before, after = cadence_view(lib, old, contact), cadence_view(lib, new, contact)
        if (before and (before.playbook.id, before.track)) == (after and (after.playbook.id, after.track)):
            continue
        # never had a follow-up (so never nudged), or its nudge is still owed: nudge it even if already due
        owed = contact.next_followup_on is None or str(contact.id) in undelivered
        await recompute(ctx, contact, keep_overdue=owed)


@commands.command("show", "Show your profile", group="profile")
async def profile_show(ctx: Context) -> Reply:
    return show(ctx.profile, ctx)


@commands.command(
    "set",
    "Set one or more profile fields",
    *SET_OPTIONS,
    group="profile",
    help='/profile set specialty:psych track:non-us-img country:Egypt eras:2027-09 name:"Dr Amal Hassan"',
)
async def profile_set(ctx: Context, **values: object) -> Reply:
    changes = {k: v for k, v in values.items() if v is not None}
    if not changes:
        raise UsageError(
            f"{hint('profile set')} needs at least one field, e.g. {hint('profile set specialty:im eras:2027-09')}"
        )
    if "quiet_hours" in changes:
        start, end = parse_quiet_hours(str(changes.pop("quiet_hours")))
        changes["quiet_start"], changes["quiet_end"] = start, end
    old = ctx.profile
    if "status" in changes and "track" not in changes and old.track is None:
        changes["track"] = Track.US_IMG  # only the us-img track has a US status
    new = old.with_(**changes)
    if new.track == Track.US_IMG and "visa" not in changes and old.visa not in (None, Visa.NONE):
        new = new.with_(visa=Visa.NONE)
    store = ctx.store
    async with store.transaction():
        await store.save_profile(new, ctx.now)
        ctx.profile = new
        if {"specialty", "track"} & changes.keys():
            await replan_contacts(ctx, old, new)
        if {"eras", "specialty", "track", "timezone"} & changes.keys():
            await planner.plan_phases(store, ctx.app.playbooks, new, ctx.now)
        if "timezone" in changes and new.timezone != old.timezone:
            # due times are local wall times (09:00 on the day): plan them again in the new zone,
            # only those not sent yet (a delivered follow-up must not be nudged again)
            undelivered = await undelivered_followups(ctx, new.user_id)
            for contact in await store.all_contacts(new.user_id):
                if contact.next_followup_on is not None and str(contact.id) in undelivered:
                    await planner.plan_followup(store, new, contact, ctx.now, keep_overdue=True)
            await planner.plan_goals(store, new, ctx.now)
        if {"timezone", "quiet_start", "quiet_end"} & changes.keys():
            await planner.retime(store, new, ctx.now)
    ctx.profile = new
    r = show(new, ctx)
    r.title = "Profile updated"
    r.tone = Tone.SUCCESS
    return r
