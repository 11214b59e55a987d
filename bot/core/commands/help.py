"""/help, built from the registry itself."""

from __future__ import annotations

from bot.core.context import Context
from bot.core.errors import UsageError
from bot.core.hints import hint
from bot.core.registry import Command, CommandSet, Option, Registry, closest
from bot.core.reply import Reply

commands = CommandSet()


def usage(cmd: Command) -> str:
    parts = [cmd.qualified]
    for o in cmd.options:
        parts.append(f"<{o.name}>" if o.required else f"[{o.name}]")
    return hint(" ".join(parts))


CONSOLE = "console"
# The console's text-block marker (a line ending in it takes the lines below as the text). Chat
# front ends have none: a command missing its long text opens a box (a modal) for it instead.
TEXT_BLOCK = " <<"
HOW_OPTIONS_GO = {
    CONSOLE: "Options go as key:value (quote text with spaces) or in order.",
    "slack": (
        "Options go as key:value (quote text with spaces) or in order; leave out a required one to fill it in a form."
    ),
    "discord": "Pick a command, then fill in its options in the boxes Discord shows.",
}


def option_line(o: Option, platform: str = CONSOLE) -> str:
    choices = f" ({', '.join(c.value for c in o.choices)})" if o.choices else ""
    need = "required" if o.required else "optional"
    described = o.description if platform == CONSOLE else o.chat_description
    return f"{o.name}: {described}{choices}; {need}"


def describe(cmd: Command, platform: str = CONSOLE) -> Reply:
    """One command's options and example, as they work on ``platform``: console-only notes
    (the ``<<`` text block) only in the console."""
    r = Reply(title=usage(cmd)).text(cmd.description)
    r.bullets([option_line(o, platform) for o in cmd.options], heading="Options")
    if cmd.help:
        example = cmd.help if platform == CONSOLE else cmd.help.removesuffix(TEXT_BLOCK)
        r.text(hint(example), heading="Example")
    return r


def overview(registry: Registry, platform: str = CONSOLE) -> Reply:
    r = Reply(title="IMG Peer Bot commands")
    how = HOW_OPTIONS_GO.get(platform, HOW_OPTIONS_GO[CONSOLE])
    r.text(f"{how} Anything you leave out comes from your profile.")
    lines = []
    for name in registry.top_level_names():
        cmd = registry.get(name)
        if cmd is not None:
            lines.append(f"{usage(cmd)}: {cmd.description}")
        else:
            subs = registry.in_group(name)
            lines.append(
                hint(f"{name} {'|'.join(c.name for c in subs)}") + ": "
                f"{next(g.description for g in registry.groups if g.name == name)}"
            )
    r.bullets(lines)
    r.footer = f"Type {hint('help <command>')} for its options, e.g. {hint('help contact add')}"
    return r


@commands.command(
    "help",
    "List commands, or show one command's options",
    Option("command", "a command name, e.g. script or contact add", autocomplete="command"),
    private=True,
)
async def help_cmd(ctx: Context, command: str | None) -> Reply:
    registry = ctx.app.registry
    if not command:
        return overview(registry, ctx.origin.platform)
    words = command.lstrip("/").lower().split()
    key = " ".join(words)
    if (cmd := registry.get(key)) is not None:
        return describe(cmd, ctx.origin.platform)
    if words and words[0] in {g.name for g in registry.groups}:
        subs = registry.in_group(words[0])
        r = Reply(title=hint(words[0]))
        r.bullets([f"{usage(c)}: {c.description}" for c in subs])
        return r
    close = closest(key, [c.qualified for c in registry.commands])
    maybe = f"; did you mean {hint(f'help {close}')}?" if close else ""
    raise UsageError(f"no command {hint(key)}{maybe}")
