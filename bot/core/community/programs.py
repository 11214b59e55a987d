"""Finding the program and the member a command is about."""

from __future__ import annotations

from bot.core.community.models import Member, Place, Program
from bot.core.context import Context
from bot.core.errors import NotFoundError, UsageError
from bot.core.hints import hint


def place_of(ctx: Context) -> Place:
    o = ctx.origin
    assert o.community is not None and o.channel is not None
    return Place(o.platform, o.community, o.channel)


async def program_here(ctx: Context) -> Program:
    """The program of the channel the command was typed in."""
    if not ctx.origin.in_community:
        raise UsageError(f"run this in a circle's channel; an admin starts one there with {hint('circle setup')}")
    program = await ctx.store.program_at(place_of(ctx))
    if program is None:
        raise NotFoundError(f"this channel has no circle; a community admin starts one with {hint('circle setup')}")
    return program


async def my_program(ctx: Context, program_id: int | None) -> tuple[Program, Member]:
    """The program a member means: the one a button names, the channel's, or their only one."""
    if program_id is not None:
        program = await ctx.store.get_program(program_id)
        if program is None or program.place.platform != ctx.origin.platform:
            raise NotFoundError(f"circle {program_id} does not exist (any more)")
    elif ctx.origin.in_community:
        program = await program_here(ctx)
    else:
        mine = [m for m in await ctx.store.user_memberships(ctx.user_id) if m.platform == ctx.origin.platform]
        if not mine:
            raise NotFoundError(f"you are in no circle; join one with {hint('circle join')} in its channel")
        if len(mine) > 1:
            raise UsageError(f"you are in {len(mine)} circles; run this in the channel of the one you mean")
        program = await ctx.store.get_program(mine[0].program_id)
        assert program is not None
    member = await ctx.store.get_member(program.id, ctx.user_id)
    if member is None:
        raise NotFoundError(f"you are not in the circle of {program.channel_label}; join with {hint('circle join')}")
    return program, member


async def member_named(ctx: Context, program: Program, name: str) -> Member:
    """Another member, by display name or account (exact, then unique prefix)."""
    wanted = name.strip().lstrip("@").lower()
    members = await ctx.store.members(program.id)
    exact = [m for m in members if wanted in (m.name.lower(), m.account.lower())]
    found = exact or [m for m in members if m.name.lower().startswith(wanted)]
    if not found:
        raise NotFoundError(f"nobody called '{name}' is in the circle of {program.channel_label}")
    if len(found) > 1:
        raise UsageError(f"'{name}' matches {len(found)} members: {', '.join(m.name for m in found[:8])}; be exact")
    return found[0]
