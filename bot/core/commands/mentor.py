"""/mentor: peer mentors in a circle (offer, request, end, list)."""

from __future__ import annotations

from bot.core.community.mentoring import assign
from bot.core.community.models import MentorOfferRow, MentorStage
from bot.core.community.programs import member_named, my_program, program_here
from bot.core.context import Context
from bot.core.errors import NotFoundError, UsageError
from bot.core.hints import hint
from bot.core.origin import Requirement
from bot.core.registry import Choice, CommandSet, Option, OptionType
from bot.core.reply import Reply, Tone

commands = CommandSet()
commands.group("mentor", "Peer mentors in a circle: offer to mentor, ask for a mentor, end a match", default="list")

STAGES = (
    Choice(MentorStage.MATCHED, "a matched IMG (starting residency)", ("matched",)),
    Choice(MentorStage.RESIDENT, "a resident"),
    Choice(MentorStage.SENIOR, "a senior resident, fellow or attending", ("attending", "fellow")),
)
TRACKS = (Choice("us-img", "us-img"), Choice("non-us-img", "non-us-img"))


async def _name(ctx: Context, user_id: int) -> str:
    ref = await ctx.store.user_ref(user_id)
    return (ref.display_name or ref.account) if ref else "a former member"


@commands.command(
    "offer",
    "Offer to mentor members of this circle",
    Option("stage", "where you are now", OptionType.CHOICE, choices=STAGES, required=True),
    Option("capacity", "how many mentees at once", OptionType.INTEGER, min_value=0, max_value=10, default=2),
    Option("specialty", "your specialty (default: your profile's)", OptionType.SPECIALTY, autocomplete="specialty"),
    Option("track", "your track (default: your profile's)", OptionType.CHOICE, choices=TRACKS),
    group="mentor",
    requirement=Requirement.COMMUNITY,
)
async def mentor_offer(ctx: Context, stage: str, capacity: int, specialty: str | None, track: str | None) -> Reply:
    program, _member = await my_program(ctx, None)
    offer = MentorOfferRow(
        program.id, ctx.user_id, stage, capacity, specialty or ctx.profile.specialty, track or ctx.profile.track
    )
    async with ctx.store.transaction():
        await ctx.store.save_mentor_offer(offer, ctx.now)
    made = await assign(ctx.store, program, ctx.now)
    r = Reply(title=f"Thanks: you offer to mentor up to {capacity} member(s)", tone=Tone.SUCCESS)
    if any(m.mentor_user_id == ctx.user_id for m in made):
        r.text("You already have a new mentee: details come by DM.")
    r.text(
        "Mentors get a digest of their mentees' check-ins (only what each mentee shares) on the playbook's "
        "mentor-update rhythm."
    )
    r.footer = f"Change it by offering again (capacity:0 takes no new mentees) · {hint('mentor list')}"
    return r


@commands.command("request", "Ask for a mentor in this circle", group="mentor", requirement=Requirement.COMMUNITY)
async def mentor_request(ctx: Context) -> Reply:
    program, _member = await my_program(ctx, None)
    current = [m for m in await ctx.store.mentor_matches(program.id) if m.mentee_user_id == ctx.user_id]
    if current:
        raise UsageError(
            f"you have a mentor ({await _name(ctx, current[0].mentor_user_id)}); "
            f"end it with {hint('mentor end')} to ask for a new one"
        )
    await ctx.store.add_mentor_request(program.id, ctx.user_id, ctx.now)
    made = await assign(ctx.store, program, ctx.now)
    mine = next((m for m in made if m.mentee_user_id == ctx.user_id), None)
    if mine:
        return Reply(title=f"Matched: your mentor is {await _name(ctx, mine.mentor_user_id)}", tone=Tone.SUCCESS).text(
            "You both get an introduction by DM."
        )
    return Reply(title="Asked: you will be matched when a mentor has room", tone=Tone.SUCCESS)


@commands.command(
    "end",
    "End a mentor match (as a mentee, or name your mentee)",
    Option("mentee", "as a mentor: which mentee (display name)"),
    group="mentor",
    requirement=Requirement.COMMUNITY,
)
async def mentor_end(ctx: Context, mentee: str | None) -> Reply:
    program = await program_here(ctx)
    matches = await ctx.store.mentor_matches(program.id)
    if mentee:
        who = await member_named(ctx, program, mentee)
        match = next((m for m in matches if m.mentor_user_id == ctx.user_id and m.mentee_user_id == who.user_id), None)
    else:
        match = next((m for m in matches if m.mentee_user_id == ctx.user_id), None)
        if match is None:
            mine = [m for m in matches if m.mentor_user_id == ctx.user_id]
            if len(mine) == 1:
                match = mine[0]
            elif mine:
                raise UsageError("you mentor several members; name one with mentee:<name>")
    if match is None or not await ctx.store.end_mentor_match(match.id, ctx.now):
        raise NotFoundError(f"you have no open mentor match in {program.channel_label}")
    r = Reply(title="Match ended", tone=Tone.SUCCESS)
    if match.mentee_user_id == ctx.user_id:
        r.text(f"Ask for a new mentor with {hint('mentor request')}; you will not be matched with the same one.")
    return r


@commands.command("list", "Your mentors and mentees in this circle", group="mentor")
async def mentor_list(ctx: Context) -> Reply:
    program, _member = await my_program(ctx, None)
    matches = await ctx.store.mentor_matches(program.id)
    lines = [f"Your mentor: {await _name(ctx, m.mentor_user_id)}" for m in matches if m.mentee_user_id == ctx.user_id]
    lines += [f"Your mentee: {await _name(ctx, m.mentee_user_id)}" for m in matches if m.mentor_user_id == ctx.user_id]
    offer = next((o for o in await ctx.store.mentor_offers(program.id) if o.user_id == ctx.user_id), None)
    waiting = ctx.user_id in await ctx.store.mentor_requests(program.id)
    r = Reply(title=f"Mentoring in {program.channel_label}")
    r.bullets(lines or ["no matches"])
    if offer:
        r.text(f"You offer to mentor up to {offer.capacity} ({offer.stage}).")
    if waiting:
        r.text("You are waiting for a mentor.")
    return r
