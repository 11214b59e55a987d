"""/circle: peer accountability programs in a community channel (check-ins, digests, buddy rounds)."""

from __future__ import annotations

from bot.core.community import schedule
from bot.core.community.checkins import COUNTS_LABEL, counts_text, counts_words, read_form, tracked_counts
from bot.core.community.digest import make_digest
from bot.core.community.models import (
    DAYS,
    Affinity,
    Checkin,
    Counts,
    MeetAnswer,
    Post,
    PostKind,
    Program,
    Visibility,
    shift_week,
    week_number,
)
from bot.core.community.programs import member_named, my_program, place_of, program_here
from bot.core.context import Context
from bot.core.dates import fmt_date, parse_hhmm, zone
from bot.core.errors import NotFoundError, UsageError
from bot.core.hints import hint
from bot.core.models import ContactRole, InteractionType, name_key
from bot.core.origin import Requirement
from bot.core.registry import ID_MAX, Choice, CommandSet, Form, FormField, FormSpec, Option, OptionType
from bot.core.reply import ActionStyle, Reply, Tone
from bot.core.wording import shorten

commands = CommandSet()
commands.group("circle", "Accountability circles: weekly check-ins, digests and buddy pairing in a channel")

ADMIN = Requirement.COMMUNITY_ADMIN
MEMBER = Requirement.COMMUNITY
DAY_CHOICES = tuple(Choice(d, d.title(), (d[:3],)) for d in DAYS)
PAIRING = (
    Choice("off", "no buddy pairing", ("none", "no")),
    Choice("every-week", "every week", ("weekly", "every-1-week", "1")),
    Choice("every-2-weeks", "every 2 weeks", ("biweekly", "2")),
    Choice("every-3-weeks", "every 3 weeks", ("3",)),
    Choice("every-4-weeks", "every 4 weeks", ("monthly", "4")),
)
PAIRING_WEEKS = {"off": 0, "every-week": 1, "every-2-weeks": 2, "every-3-weeks": 3, "every-4-weeks": 4}
VISIBILITY = (
    Choice(Visibility.COUNTS, "counts only (default)", ("count",)),
    Choice(Visibility.WINS, "counts and wins", ("win", "all")),
    Choice(Visibility.NONE, "nothing: never named in the channel", ("hidden", "private", "off")),
)
ON_OFF = (Choice("on", "on", ("yes",)), Choice("off", "off", ("no",)))
AFFINITY = (
    Choice(Affinity.SAME, "same specialty and track"),
    Choice(Affinity.COMPLEMENTARY, "same specialty, the other track"),
)
PROGRAM = Option(
    "program",
    "which circle (set by buttons; default: this channel's)",
    OptionType.INTEGER,
    min_value=1,
    max_value=ID_MAX,
)
COUNT_OPTS = tuple(
    Option(
        name, f"{label} this week (default: what your tracker logged)", OptionType.INTEGER, min_value=0, max_value=500
    )
    for name, label in (
        ("emails", "emails sent"),
        ("contacts", "new contacts"),
        ("followups", "follow-ups done"),
        ("conversations", "conversations"),
    )
)


def checkin_post(program: Program, week: str, *, late: bool = False) -> Reply:
    """The weekly channel post with its Log my week button."""
    closes = program.closes_at(week).astimezone(zone(program.timezone))
    r = Reply(
        title=("(late: the bot was offline) " if late else "") + f"Week {week_number(week)} check-in",
        private=False,
        tone=Tone.NUDGE,
    )
    r.text(
        "How did your networking go this week? Press Log my week: the counts come pre-filled from your "
        "tracker, so confirm or fix them, and add a win, a blocker or next week's goal if you like. "
        f"Open until {DAYS[closes.weekday()].title()} {closes:%H:%M} ({program.timezone}), then the digest."
    )
    r.action(
        f"circle:checkin:{program.id}",
        "Log my week",
        f"/circle checkin program:{program.id}",
        ActionStyle.PRIMARY,
        form=True,
    )
    r.footer = f"Not in yet? {hint('circle join')} here. What the channel shows is your choice."
    return r


# ---------------------------------------------------------------- admin: setup, status, pause
@commands.command(
    "setup",
    "Start (or change) this channel's circle: check-in day and time, digest day, buddy pairing",
    Option("day", "check-in post day", OptionType.CHOICE, choices=DAY_CHOICES, default="monday"),
    Option("time", "local time of the posts, HH:MM", default="18:00", max_length=5),
    Option(
        "timezone",
        "the circle's time zone (default: the community's, else yours)",
        OptionType.TIMEZONE,
        autocomplete="timezone",
    ),
    Option("digest", "digest day, later in the same week", OptionType.CHOICE, choices=DAY_CHOICES, default="friday"),
    Option("pairing", "buddy pairing rounds", OptionType.CHOICE, choices=PAIRING, default="off"),
    Option(
        "affinity",
        "pair people with the same specialty and track, or the other track",
        OptionType.CHOICE,
        choices=AFFINITY,
        default=Affinity.SAME,
    ),
    group="circle",
    requirement=ADMIN,
    help="/circle setup day:monday time:18:00 timezone:America/New_York pairing:every-2-weeks",
)
async def circle_setup(
    ctx: Context, day: str, time: str, timezone: str | None, digest: str, pairing: str, affinity: str
) -> Reply:
    at = parse_hhmm(time, "time")
    post_day, close_day = DAYS.index(day), DAYS.index(digest)
    if close_day <= post_day:
        raise UsageError(
            f"option 'digest': {digest.title()} must come after the check-in day ({day.title()}) in the same week"
        )
    place = place_of(ctx)
    existing = await ctx.store.program_at(place)
    tz = timezone or await ctx.store.community_timezone(place.platform, place.community) or ctx.profile.timezone
    async with ctx.store.transaction():
        if timezone:
            await ctx.store.set_community_timezone(place.platform, place.community, timezone)
        program = await ctx.store.save_program(
            Program(
                id=0,
                place=place,
                post_day=post_day,
                post_time=at,
                close_day=close_day,
                timezone=tz,
                pairing_weeks=PAIRING_WEEKS[pairing],
                affinity=affinity,
                community_name=ctx.origin.community_name,
                channel_name=ctx.origin.channel_name,
            ),
            ctx.now,
        )
        await schedule.plan(ctx.store, program, ctx.now)
    r = Reply(title=f"Circle {'updated' if existing else 'started'} in {program.channel_label}", tone=Tone.SUCCESS)
    r.text(program.schedule_words()[0].upper() + program.schedule_words()[1:] + ".")
    r.text(
        f"Members join with {hint('circle join')} and choose what the channel may show (counts only by default). "
        f"See it any time with {hint('circle status')}."
    )
    return r


@commands.command(
    "status",
    "This channel's circle: schedule, members, this week, what is owed next",
    group="circle",
    requirement=ADMIN,
)
async def circle_status(ctx: Context) -> Reply:
    program = await program_here(ctx)
    members = await ctx.store.members(program.id)
    week = program.local_week(ctx.now)
    checked = {c.user_id for c in await ctx.store.checkins_for(program.id, [week])}
    by_vis = {v: sum(1 for m in members if m.visibility == v) for v in Visibility}
    r = Reply(title=f"Circle in {program.channel_label}" + (" (paused)" if program.paused else ""))
    r.fields(
        ("Schedule", program.schedule_words()),
        (
            "Members",
            f"{len(members)} ({by_vis[Visibility.COUNTS]} counts, {by_vis[Visibility.WINS]} wins, "
            f"{by_vis[Visibility.NONE]} hidden; {sum(m.paused for m in members)} paused from pairing)",
        ),
        (f"Week {week_number(week)}", f"{sum(1 for m in members if m.user_id in checked)} checked in"),
        inline=False,
    )
    owed = [p for p in await ctx.store.posts_of(program.id) if p.status == "pending"][:6]
    tz = zone(program.timezone)
    r.bullets(
        [f"{fmt_date(p.due_at.astimezone(tz))} {p.due_at.astimezone(tz):%H:%M}: {_owed(p)}" for p in owed],
        heading="Next",
    )
    return r


def _your_time(ctx: Context, program: Program) -> str:
    """ " In your time (Africa/Cairo): check-in Monday 20:00, digest Friday 20:00." when the
    member's own zone differs from the circle's; this week's instants, so daylight saving counts."""
    mine = ctx.profile.timezone
    if not mine or mine == program.timezone:
        return ""
    week = program.local_week(ctx.now)
    opens, closes = (t.astimezone(zone(mine)) for t in (program.opens_at(week), program.closes_at(week)))
    if (opens.hour, opens.minute) == (program.post_time.hour, program.post_time.minute) and (
        opens.weekday() == program.post_day
    ):
        return ""  # another name for the same clock
    return (
        f" In your time ({mine}): check-in {DAYS[opens.weekday()].title()} {opens:%H:%M}, "
        f"digest {DAYS[closes.weekday()].title()} {closes:%H:%M}."
    )


# What each owed post is, as an admin reads it (never its kind's id, "meet-mid").
POST_WORDS: dict[str, str] = {
    PostKind.CHECKIN: "check-in post",
    PostKind.REMINDER: "check-in reminders",
    PostKind.DIGEST: "digest",
    PostKind.PAIR_REMINDER: "buddy round heads-up",
    PostKind.ROUND: "buddy round",
    PostKind.INTRO: "buddy intro",
    PostKind.MEET_MID: '"did you meet?" halfway through the round',
    PostKind.MEET_END: '"did you meet?" at the round\'s end',
    PostKind.MENTOR_DIGEST: "mentor digests",
}


def _owed(post: Post) -> str:
    """ "check-in post, week 48"; an intro's period also names its group ("2026-W48:3")."""
    week, _, group = post.period.partition(":")
    when = f"week {week_number(week)}" if "-W" in week else week
    return f"{POST_WORDS.get(post.kind, post.kind)}, {when}" + (f", group {group}" if group else "")


@commands.command(
    "pause",
    "Pause this channel's circle: no posts, reminders or rounds until resumed",
    group="circle",
    requirement=ADMIN,
)
async def circle_pause(ctx: Context) -> Reply:
    program = await program_here(ctx)
    await ctx.store.set_program_paused(program.id, True)
    return Reply(title=f"Circle in {program.channel_label} paused", tone=Tone.SUCCESS).text(
        f"Check-ins still work. {hint('circle resume')} starts the posts again from the next one due."
    )


@commands.command("resume", "Resume this channel's circle", group="circle", requirement=ADMIN)
async def circle_resume(ctx: Context) -> Reply:
    program = await program_here(ctx)
    async with ctx.store.transaction():
        await ctx.store.set_program_paused(program.id, False)
        await schedule.plan(ctx.store, program.with_(paused=False), ctx.now)
    return Reply(title=f"Circle in {program.channel_label} resumed", tone=Tone.SUCCESS)


@commands.command("pair-now", "Run a buddy pairing round now", group="circle", requirement=ADMIN)
async def circle_pair_now(ctx: Context) -> Reply:
    from bot.core.community.rounds import run_round

    program = await program_here(ctx)
    week = program.local_week(ctx.now)
    made = await run_round(ctx.app, program, week, ctx.now)
    if made is None:
        raise UsageError(f"{program.channel_label} already has a round this week; the next one comes on schedule")
    pairs = sum(1 for g in made.groups if len(g.user_ids) == 2)
    trios = sum(1 for g in made.groups if len(g.user_ids) == 3)
    paired = sum(len(g.user_ids) for g in made.groups)
    members = len(await ctx.store.members(program.id))
    r = Reply(title=f"Round made: {pairs} pair(s), {trios} trio(s)", tone=Tone.SUCCESS)
    r.text(
        f"{paired} of {members} member(s) paired; each pair or trio gets an intro (in one private "
        "conversation of their own where the platform has them, else a DM each), and anyone unpaired is told."
    )
    return r


@commands.command(
    "digest-now", "Post this week's digest in the channel now", group="circle", requirement=ADMIN, private=False
)
async def circle_digest_now(ctx: Context) -> Reply:
    program = await program_here(ctx)
    return await make_digest(ctx.store, program, program.local_week(ctx.now))


@commands.command(
    "export", "Download this circle's check-in counts as CSV (no contact details)", group="circle", requirement=ADMIN
)
async def circle_export(ctx: Context) -> Reply:
    program = await program_here(ctx)
    members = await ctx.store.members(program.id)
    label = {m.user_id: (m.name if m.shown else f"member-{i}") for i, m in enumerate(members, 1)}
    posts = await ctx.store.posts_of(program.id)
    weeks = sorted({p.period for p in posts if p.kind != PostKind.INTRO} | {program.local_week(ctx.now)})
    rows = [["week", "member", "emails", "new_contacts", "followups", "conversations"]]
    for c in await ctx.store.checkins_for(program.id, weeks):
        if c.user_id in label:
            rows.append(
                [
                    c.week,
                    label[c.user_id],
                    *map(str, (c.counts.emails, c.counts.contacts, c.counts.followups, c.counts.conversations)),
                ]
            )
    r = Reply(title=f"Check-in counts of {program.channel_label}: {len(rows) - 1} row(s)", tone=Tone.SUCCESS)
    r.text("Counts only: no contact names, emails, notes, wins or blockers. Hidden members are numbered.")
    from bot.core.csvio import rows_to_csv  # only the export writes CSV

    r.attach(f"circle-{program.id}-checkins.csv", rows_to_csv(rows), "text/csv")
    return r


@commands.command(
    "remove",
    "Remove a member from this channel's circle",
    Option("member", "their display name", required=True),
    group="circle",
    requirement=ADMIN,
)
async def circle_remove(ctx: Context, member: str) -> Reply:
    program = await program_here(ctx)
    found = await member_named(ctx, program, member)
    await ctx.store.leave_program(program.id, found.user_id)
    return Reply(title=f"Removed {found.name} from the circle in {program.channel_label}", tone=Tone.SUCCESS)


# ---------------------------------------------------------------- members
@commands.command(
    "join",
    "Join this channel's circle, choosing what the channel may show about you",
    Option("show", "what the channel may show", OptionType.CHOICE, choices=VISIBILITY, default=Visibility.COUNTS),
    Option("reminders", "one DM before the check-in window closes", OptionType.CHOICE, choices=ON_OFF, default="on"),
    group="circle",
    requirement=MEMBER,
)
async def circle_join(ctx: Context, show: str, reminders: str) -> Reply:
    program = await program_here(ctx)
    before = await ctx.store.get_member(program.id, ctx.user_id)
    await ctx.store.join_program(program.id, ctx.user_id, show, reminders == "on", ctx.now)
    what = {
        Visibility.COUNTS: "your name and your four counts",
        Visibility.WINS: "your name, your counts and the win you write",
        Visibility.NONE: "nothing about you by name (your counts still add to the totals)",
    }[Visibility(show)]
    title = "Your circle settings are saved" if before else f"Welcome to the circle in {program.channel_label}"
    r = Reply(title=title, tone=Tone.SUCCESS)
    r.text(f"The channel will show {what}. Contacts' names, emails and notes never appear in the channel.")
    r.text(program.schedule_words()[0].upper() + program.schedule_words()[1:] + "." + _your_time(ctx, program))
    if before and before.paused:
        r.text("Buddy pairing is back on for you.")
    r.footer = f"Change it with {hint('circle join show:<counts|wins|none>')} · leave with {hint('circle leave')}"
    return r


@commands.command(
    "leave", "Leave this channel's circle (your check-ins in it are deleted)", group="circle", requirement=MEMBER
)
async def circle_leave(ctx: Context) -> Reply:
    program = await program_here(ctx)
    if not await ctx.store.leave_program(program.id, ctx.user_id):
        raise NotFoundError(f"you are not in the circle of {program.channel_label}")
    return Reply(title=f"You left the circle in {program.channel_label}", tone=Tone.SUCCESS).text(
        "Your check-ins there are deleted. Your contacts and goals are untouched."
    )


async def _checkin_form(ctx: Context, program: int | None, **_: object) -> Form:
    prog, _member = await my_program(ctx, program)
    week = prog.local_week(ctx.now)
    counts = await tracked_counts(ctx.store, ctx.profile, week)
    return Form(
        title=f"Week {week_number(week)} check-in",
        command="circle checkin",
        fields=(
            FormField("counts", COUNTS_LABEL, counts_text(counts), required=True, max_length=40),
            FormField("win", "A win (optional)", max_length=200),
            FormField("blocker", "A blocker (optional; never shown in the channel)", max_length=200),
            FormField("goal", "Next week's goal (optional)", max_length=200),
        ),
        fixed=(("program", str(prog.id)),),
    )


@commands.command(
    "checkin",
    "Log your week: counts come from your tracker unless you give them; add a win, a blocker, a goal",
    *COUNT_OPTS,
    Option("win", "a win this week (shown only if you chose counts and wins)", max_length=200),
    Option("blocker", "what is in your way (never shown in the channel)", max_length=200),
    Option("goal", "next week's goal", max_length=200),
    PROGRAM,
    group="circle",
    form=FormSpec(_checkin_form, read_form),
)
async def circle_checkin(
    ctx: Context,
    emails: int | None,
    contacts: int | None,
    followups: int | None,
    conversations: int | None,
    win: str | None,
    blocker: str | None,
    goal: str | None,
    program: int | None,
) -> Reply:
    prog, _member = await my_program(ctx, program)
    week = prog.local_week(ctx.now)
    tracked = await tracked_counts(ctx.store, ctx.profile, week)
    counts = Counts(
        tracked.emails if emails is None else emails,
        tracked.contacts if contacts is None else contacts,
        tracked.followups if followups is None else followups,
        tracked.conversations if conversations is None else conversations,
    )
    new = await ctx.store.save_checkin(Checkin(prog.id, ctx.user_id, week, counts, win, blocker, goal), ctx.now)
    r = Reply(title=f"Week {week_number(week)} {'logged' if new else 'updated'}", tone=Tone.SUCCESS)
    r.text(f"{counts_words(counts)}.")
    if counts != tracked:
        r.text(f"(Your tracker logged {counts_text(tracked)}; your numbers are what the circle sees.)")
    closes = prog.closes_at(week)
    if ctx.now < closes:
        r.footer = (
            f"The digest posts {fmt_date(closes.astimezone(zone(prog.timezone)).date())} in {prog.channel_label}."
        )
    return r


@commands.command(
    "reminders",
    "Turn your check-in reminder DM on or off",
    Option("setting", "on or off", OptionType.CHOICE, choices=ON_OFF, required=True),
    PROGRAM,
    group="circle",
)
async def circle_reminders(ctx: Context, setting: str, program: int | None) -> Reply:
    prog, member = await my_program(ctx, program)
    await ctx.store.update_member(member.with_(reminders=setting == "on"))
    return Reply(title=f"Check-in reminders for {prog.channel_label} are {setting}", tone=Tone.SUCCESS)


@commands.command("skip", "Sit out the next buddy round", PROGRAM, group="circle")
async def circle_skip(ctx: Context, program: int | None) -> Reply:
    prog, member = await my_program(ctx, program)
    if not prog.pairing_weeks:
        raise UsageError(f"the circle in {prog.channel_label} has no buddy rounds to skip")
    week = prog.local_week(ctx.now)
    for ahead in range(0, 5):
        candidate = shift_week(week, ahead)
        if schedule.round_week(prog, candidate) and await ctx.store.round_for(prog.id, candidate) is None:
            break
    await ctx.store.update_member(member.with_(skip_period=candidate))
    return Reply(title=f"You will sit out the buddy round of week {week_number(candidate)}", tone=Tone.SUCCESS)


@commands.command(
    "block",
    "Never be paired with this member",
    Option("member", "their display name", required=True),
    group="circle",
    requirement=MEMBER,
)
async def circle_block(ctx: Context, member: str) -> Reply:
    program = await program_here(ctx)
    found = await member_named(ctx, program, member)
    if found.user_id == ctx.user_id:
        raise UsageError("you cannot block yourself")
    await ctx.store.add_block(program.id, ctx.user_id, found.user_id)
    return Reply(title="Done: you will not be paired with them", tone=Tone.SUCCESS).text(
        "Nobody is told. This stays until you leave the circle."
    )


@commands.command(
    "met",
    'Answer "did you meet?" for your buddy round',
    Option(
        "group",
        "the round's group number (on the buttons)",
        OptionType.INTEGER,
        required=True,
        min_value=1,
        max_value=ID_MAX,
    ),
    Option(
        "answer",
        "yes, not-yet or no",
        OptionType.CHOICE,
        required=True,
        choices=tuple(Choice(a, a.replace("-", " "), (a.replace("-", ""),)) for a in MeetAnswer),
    ),
    group="circle",
)
async def circle_met(ctx: Context, group: int, answer: str) -> Reply:
    g = await ctx.store.get_group(group)
    if g is None or ctx.user_id not in g.user_ids:
        raise NotFoundError(f"group {group} is not one of your buddy rounds")
    buddies = [uid for uid in g.user_ids if uid != ctx.user_id]
    refs = [await ctx.store.user_ref(uid) for uid in buddies]
    names = [r.display_name or r.account for r in refs if r is not None]
    changed = await ctx.store.answer_meet(group, ctx.user_id, answer, ctx.now)
    if answer == MeetAnswer.NOT_YET:
        return Reply(title="Noted: not yet", tone=Tone.INFO).text("There is still time; I will ask again at the end.")
    if answer == MeetAnswer.NO:
        return Reply(title="Noted: you did not meet this round", tone=Tone.INFO).text(
            "Thanks for saying so; it does not count as a missed round."
        )
    r = Reply(title=f"Great: you met {' and '.join(names)}", tone=Tone.SUCCESS)
    if not changed:
        r.text("(You had already said yes.)")
        return r
    logged = await _log_meeting(ctx, ctx.user_id, buddies)
    for uid in buddies:
        await _log_meeting(ctx, uid, [ctx.user_id])
    offers = [n for n in names if name_key(n) not in logged]
    if logged:
        r.text("Logged a meeting in your tracker with " + ", ".join(sorted(logged.values())) + ".")
    for name in offers[:3]:
        r.action(
            f"circle:add-buddy:{group}",
            f"Add {shorten(name, 40)} as a contact",
            f'/contact add "{name}" role:{ContactRole.PEER} how_met:other tags:circle-buddy',
        )
    if offers:
        r.text("Add your buddy as a contact to keep track of them (and log the meeting there).")
    return r


async def _log_meeting(ctx: Context, owner: int, others: list[int]) -> dict[str, str]:
    """Log a ``meeting`` in ``owner``'s tracker with each buddy who is already one of their
    contacts (by name); returns those found, by name key."""
    from bot.core.tracker import recompute

    found: dict[str, str] = {}
    ref = await ctx.store.user_ref(owner)
    if ref is None:
        return found
    octx = ctx if owner == ctx.user_id else await ctx.app.context(ref, (), ctx.origin)
    for uid in others:
        other = await ctx.store.user_ref(uid)
        if other is None:
            continue
        name = other.display_name or other.account
        matches = await ctx.store.find_contacts(owner, name, exact=True)
        if len(matches) != 1:
            continue
        contact = matches[0]
        async with ctx.store.transaction():
            await ctx.store.add_interaction(
                owner, contact.id, InteractionType.MEETING, octx.today, "circle buddy round", ctx.now
            )
            await recompute(octx, contact)
        found[name_key(name)] = name
    return found
