"""Structural rules: the core stays platform-free and every command is declared once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.core.commands import build_registry
from bot.core.registry import Command, CommandSet, Registry

CORE = Path(__file__).resolve().parents[1] / "bot" / "core"
FORBIDDEN = (
    "discord",
    "slack_bolt",
    "slack_sdk",
    "prompt_toolkit",
    "rich",
    "aiohttp",
    "aiosqlite",
    "asyncpg",
    "prometheus_client",
)
FORBIDDEN_OURS = ("bot.frontends", "bot.store", "bot.ops", "bot.telemetry", "bot.runtime", "bot.settings")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE)))
def test_core_imports_no_platform_or_terminal_library(path: Path) -> None:
    bad = sorted(
        n for n in _imports(path) if n.split(".")[0] in FORBIDDEN or any(n.startswith(o) for o in FORBIDDEN_OURS)
    )
    assert not bad, f"{path.name} imports {bad}"


def test_no_two_commands_share_a_name() -> None:
    reg = build_registry()
    names = [c.qualified for c in reg.commands]
    assert len(names) == len(set(names))
    tops = {c.name for c in reg.commands if c.group is None}
    assert not tops & {g.name for g in reg.groups}


def test_registry_refuses_a_duplicate() -> None:
    async def h(ctx):
        return None

    s = CommandSet()
    s.command("ping", "one")(h)
    s.command("ping", "two")(h)
    with pytest.raises(ValueError, match="duplicate command name: /ping"):
        Registry([s])


def test_every_command_has_a_description_and_typed_options() -> None:
    for c in build_registry().commands:
        assert isinstance(c, Command)
        assert 1 <= len(c.description) <= 100, c.qualified  # Discord's limit
        assert len(c.options) <= 25, c.qualified
        for o in c.options:
            assert o.name.islower() and len(o.description) <= 100, (c.qualified, o.name)
            assert len(o.choices) <= 25


def test_importing_the_package_has_no_side_effects(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = "import bot.cli, bot.core.commands, bot.frontends.console, bot.store; print('ok')"
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert res.stdout.strip() == "ok" and res.stderr == ""
    assert list(tmp_path.iterdir()) == []


def test_ruff_bans_the_store_and_platforms_in_core(tmp_path: Path) -> None:
    """The same rule as a lint error (TID251, bot/core/ruff.toml), so an editor flags it at once."""
    import shutil
    import subprocess

    ruff = shutil.which("ruff") or str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "ruff")
    probe = CORE / "_ban_probe.py"
    probe.write_text("from bot.store import open_store\nimport discord\n\n__all__ = ['discord', 'open_store']\n")
    try:
        res = subprocess.run([ruff, "check", "--no-cache", str(probe)], capture_output=True, text=True, timeout=60)
    finally:
        probe.unlink()
    assert res.returncode == 1
    assert "`bot.store` is banned" in res.stdout and "`discord` is banned" in res.stdout


def test_platform_limits_live_in_their_front_end() -> None:
    """Discord's 25 choices, 100-character choice names and 2**53 integer range are the Discord
    front end's business (bot/frontends/discord/build.py); core keeps its own domain bounds."""
    for path in sorted(CORE.rglob("*.py")):
        text = path.read_text()
        for needle in ("2**53", "2 ** 53", "9007199254740992", "Discord's maximum", "Discord's limit"):
            assert needle not in text, f"{path.relative_to(CORE)} has a Discord limit: {needle}"
    from bot.frontends.discord.build import CHOICE_VALUE, CHOICES, MAX_INT

    assert (CHOICES, CHOICE_VALUE, MAX_INT) == (25, 100, 2**53)


async def test_autocomplete_takes_the_front_end_limit(app) -> None:  # type: ignore[no-untyped-def]
    from bot.core.autocomplete import suggest
    from bot.core.models import UserRef

    user = UserRef("console", "amal", "amal")
    assert len(await suggest(app, user, "timezone", "a", limit=3)) == 3
    assert len(await suggest(app, user, "timezone", "a")) > 25  # core's own default is not Discord's
