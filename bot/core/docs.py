"""The command reference, generated from the registry (the README embeds it)."""

from __future__ import annotations

from bot.core.registry import Command, OptionType, Registry


def _option_row(cmd: Command) -> list[str]:
    rows = []
    for o in cmd.options:
        kind = o.type.value
        if o.choices:
            kind = " \\| ".join(f"`{c.value}`" for c in o.choices)
        elif o.type == OptionType.SPECIALTY:
            kind = "specialty (any playbook id or alias)"
        need = "required" if o.required else "optional"
        rows.append(f"  - `{o.name}` ({need}, {kind}): {o.description}")
    return rows


def markdown_reference(registry: Registry) -> str:
    out = ["| Command | What it does |", "|---|---|"]
    detail: list[str] = []
    for name in registry.top_level_names():
        cmd = registry.get(name)
        cmds = [cmd] if cmd is not None else registry.in_group(name)
        for c in cmds:
            usage = " ".join([f"/{c.qualified}"] + [f"<{o.name}>" if o.required else f"[{o.name}]" for o in c.options])
            private = "" if c.private else " (public reply)"
            out.append(f"| `{usage}` | {c.description}{private} |")
            if c.options:
                detail.append(f"- `/{c.qualified}`")
                detail += _option_row(c)
    groups = [g for g in registry.groups if g.default]
    out.append("")
    if groups:
        out.append(
            "Typed alone in the console or Slack, a group runs its default: "
            + ", ".join(f"`/{g.name}` = `/{g.name} {g.default}`" for g in groups)
            + "."
        )
        out.append("")
    out.append("Options:")
    out.append("")
    out += detail
    return "\n".join(out) + "\n"
