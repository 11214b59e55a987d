"""App Home: the dashboard published when a user opens the app's Home tab (``app_home_opened``).

It shows what the registry commands would: due follow-ups (``/followups``) with buttons to log
an email, get the script or show the contact,
goal progress (``/goal progress``), the current timeline phase, and quick actions; "Add
contact" runs ``contact add`` without a name, which opens the modal. Only the user sees their
Home tab, so buttons are safe there; they carry their owner like every other button.
"""

from __future__ import annotations

from dataclasses import replace

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock, SectionBlock
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.commands.tracker import log_button
from bot.core.context import App
from bot.core.dates import fmt_date
from bot.core.dispatch import run_command
from bot.core.errors import BotError
from bot.core.hints import format_hints
from bot.core.models import UserRef
from bot.core.origin import Origin
from bot.core.reply import Reply
from bot.core.timeline import PhaseState, dated_phases
from bot.frontends.kit import truncate
from bot.frontends.slack.blocks import ACTION_PREFIX, ButtonValue, escape, md, render

HOME_BLOCKS = 100  # Slack's limit for a Home tab

QUICK_ACTIONS = (
    ("Add contact", "contact add"),
    ("Follow-ups", "followups"),
    ("Goal progress", "goal progress"),
    ("Timeline", "timeline show"),
    ("Script", "script"),
)


async def _section(app: App, user: UserRef, line: str) -> Reply:
    command = app.registry.get(line)
    assert command is not None, line
    try:
        return await run_command(app, user, command, {}, notices=False, origin=Origin.direct("slack"))
    except BotError as exc:  # e.g. no profile yet: the message says what to set
        return Reply(title=command.description).text(exc.message)


async def _phase(app: App, user: UserRef, prefix: str) -> list[Block]:
    ctx = await app.context(user, origin=Origin.direct("slack"))
    try:
        view = ctx.view(None)
    except BotError as exc:
        return [SectionBlock(text=md("*Timeline*\n" + escape(format_hints(exc.message, prefix))))]
    if not ctx.profile.eras:
        return [SectionBlock(text=md(f"*Timeline*\nSet your ERAS month with `{prefix}profile set eras:YYYY-MM`"))]
    phases = dated_phases(view, ctx.profile.eras, ctx.today)
    current = next((p for p in phases if p.state == PhaseState.CURRENT), None)
    if current is None:
        return [SectionBlock(text=md("*Timeline*\nToday falls outside every phase of this timeline."))]
    # playbook prose names commands as "/script ...": mark them, then write them in Slack's syntax
    lines = [f"• {escape(format_hints(app.registry.mark_commands(item), prefix))}" for item in current.checklist[:10]]
    head = f"*Now: {escape(current.phase.title)}* ({fmt_date(current.start)} → {fmt_date(current.end)})"
    return [SectionBlock(text=md(truncate("\n".join([head, *lines]), 3000)))]


def _quick_actions(owner: str) -> Block:
    return ActionsBlock(
        elements=[
            ButtonElement(
                text=label,
                action_id=f"{ACTION_PREFIX}home-{i}",
                value=ButtonValue(line=line, owner=owner).encode(),
                style="primary" if i == 0 else None,
            )
            for i, (label, line) in enumerate(QUICK_ACTIONS)
        ]
    )


def _blocks(reply: Reply, owner: str, offset: int) -> list[Block]:
    blocks = [b for m in render(reply, owner=owner, buttons=True) for b in m.blocks]
    for block in blocks:  # action ids unique across the whole view
        if isinstance(block, ActionsBlock):
            for element in block.elements:
                if isinstance(element, ButtonElement) and element.action_id:
                    element.action_id = f"{element.action_id}-{offset}"
    return blocks


DUE_BUTTONS = 10  # contacts whose buttons the Home tab shows


async def _due_buttons(app: App, user: UserRef) -> list[Block]:
    """For each follow-up due today or earlier: log what it sends and get the script it needs
    (the buttons /followups shows), and show the contact."""
    ctx = await app.context(user, origin=Origin.direct("slack"))
    contacts, _ = await app.store.list_contacts(ctx.user_id, due_by=ctx.today, limit=DUE_BUTTONS)
    blocks: list[Block] = []
    for c in contacts:
        done, logs = log_button(c)
        actions = (
            (done, logs, "primary"),
            *((("Script", f"script {c.followup_script} contact:{c.ref}", None),) if c.followup_script else ()),
            ("Show", f"contact show {c.ref}", None),
        )
        blocks.append(
            ActionsBlock(
                block_id=f"due-{c.id}",
                elements=[
                    ButtonElement(
                        text=f"{label} · {c.ref}",
                        action_id=f"{ACTION_PREFIX}due-{c.id}-{i}",
                        value=ButtonValue(line=line, owner=user.account).encode(),
                        style=style,
                    )
                    for i, (label, line, style) in enumerate(actions)
                ],
            )
        )
    return blocks


async def home_view(app: App, user: UserRef, prefix: str) -> View:
    owner = user.account
    blocks: list[Block] = [
        SectionBlock(text=md("*IMG Peer Bot*\nYour follow-ups, goals and timeline at a glance.")),
        _quick_actions(owner),
        DividerBlock(),
    ]
    # the Home tab's own row per due contact (Emailed, Script, Show) stands for /followups' buttons
    blocks += _blocks(replace(await _section(app, user, "followups"), actions=[]), owner, 1)
    blocks += await _due_buttons(app, user)
    blocks.append(DividerBlock())
    blocks += _blocks(await _section(app, user, "goal progress"), owner, 2)
    blocks.append(DividerBlock())
    blocks += await _phase(app, user, prefix)
    return View(type="home", blocks=blocks[:HOME_BLOCKS])


async def publish_home(app: App, client: AsyncWebClient, slack_user: str, user: UserRef, prefix: str) -> None:
    await client.views_publish(user_id=slack_user, view=await home_view(app, user, prefix))
