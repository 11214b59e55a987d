"""The invocation origin: commands declare a requirement, core checks it before the handler runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.core.commands import build_registry
from bot.core.context import App, Context
from bot.core.origin import Origin, Permission, Requirement
from bot.core.registry import CommandSet
from bot.core.reply import Reply
from bot.frontends.console import console_origin
from tests.helpers import Transcript, make_app

probe = CommandSet()


@probe.command("where", "say where this was typed")
async def where(ctx: Context) -> Reply:
    o = ctx.origin
    return Reply(title=f"{o.platform} community={o.community} channel={o.channel} dm={o.is_dm} admin={o.is_admin}")


@probe.command("members-only", "needs a community channel", requirement=Requirement.COMMUNITY)
async def members_only(ctx: Context) -> Reply:
    return Reply(title=f"hello {ctx.origin.community}")


@probe.command("admins-only", "needs a community admin", requirement=Requirement.COMMUNITY_ADMIN)
async def admins_only(ctx: Context) -> Reply:
    return Reply(title=f"configured {ctx.origin.channel}")


async def _app(tmp_path: Path) -> App:
    app = await make_app(tmp_path / "o.db")
    app.registry = build_registry()  # a registry of its own: the probe commands stay in this test
    for command in probe.commands:
        app.registry.add(command)
    return app


async def test_a_dm_origin_by_default_and_requirements_refuse_it(tmp_path: Path) -> None:
    t = Transcript(await _app(tmp_path))
    assert "console community=None channel=None dm=True admin=False" in await t.say("/where")
    out = await t.say("/members-only")
    assert "works in a community channel, not in a direct message" in out
    assert "--community NAME --channel NAME" in out
    assert "not in a direct message" in await t.say("/admins-only")


async def test_member_in_a_community_is_not_an_admin(tmp_path: Path) -> None:
    t = Transcript(await _app(tmp_path), origin=console_origin("IMG EM", "accountability", admin=False))
    assert "console community=IMG EM channel=accountability dm=False admin=False" in await t.say("/where")
    assert "hello IMG EM" in await t.say("/members-only")
    out = await t.say("/admins-only")
    assert "is for community admins; it needs --admin" in out
    assert "configured" not in out


async def test_admin_passes(tmp_path: Path) -> None:
    t = Transcript(await _app(tmp_path), origin=console_origin("IMG EM", None, admin=True))
    assert "configured general" in await t.say("/admins-only")


def test_platform_words_for_admin() -> None:
    from bot.core.errors import UsageError
    from bot.core.origin import check

    for platform, words in [("discord", "Manage Server"), ("slack", "workspace admin or owner")]:
        o = Origin(platform, community="G1", channel="C1", is_dm=False)
        try:
            check(Requirement.COMMUNITY_ADMIN, o, "circle setup")
        except UsageError as exc:
            assert words in exc.message
        else:
            raise AssertionError("a non-admin passed")
        check(Requirement.COMMUNITY_ADMIN, Origin(platform, "G1", "C1", False, frozenset(Permission)), "x")


def test_console_flags_need_a_community() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "console", "--admin"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    assert "--channel and --admin need --community NAME" in proc.stderr
