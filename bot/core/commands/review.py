"""/review: a short checklist for a draft the user pastes. The draft is never stored."""

from __future__ import annotations

from bot.core.commands.content import KIND_CHOICES, SPECIALTY, heading
from bot.core.context import Context
from bot.core.errors import UsageError
from bot.core.hints import hint
from bot.core.models import Track
from bot.core.registry import CommandSet, Option, OptionType
from bot.core.reply import Reply, Tone

commands = CommandSet()

DRAFT_MAX = 4000  # Discord's ceiling for a modal's paragraph input


@commands.command(
    "review",
    "Check a draft email against the playbook's rules: what is fine, what to fix and why",
    Option(
        "kind",
        "which script the draft is (cold-email, no-reply-followup...)",
        OptionType.CHOICE,
        required=True,
        choices=KIND_CHOICES,
        autocomplete="script-kind",
    ),
    Option(
        "draft",
        "the draft, Subject: line first (console: end the line with << and paste it below)",
        required=True,
        max_length=DRAFT_MAX,
        multiline=True,
    ),
    SPECIALTY,
    private=True,
    help="/review cold-email <<",
)
async def review_draft(ctx: Context, kind: str, draft: str, specialty: str | None) -> Reply:
    view = ctx.playbook(specialty).view(ctx.profile.track or Track.NON_US_IMG)
    if not draft.strip():
        raise UsageError("option 'draft': paste the text of your draft")
    from bot.core.review import review as run_review  # only this command reviews drafts

    findings = run_review(view, kind, draft)
    if not findings:
        raise UsageError(f"the {view.playbook.name} playbook has no review rules for '{kind}' drafts")
    to_fix = [f for f in findings if not f.passed]
    title = f"{len(to_fix)} thing{'s' if len(to_fix) != 1 else ''} to fix" if to_fix else "ready to send"
    r = Reply(
        title=heading(view, f"Review of your {kind} draft: {title}"), tone=Tone.WARNING if to_fix else Tone.SUCCESS
    )
    if to_fix:
        r.bullets(
            [f"✗ {f.rule.title}{f' ({f.detail})' if f.detail else ''}: {f.rule.fix}" for f in to_fix],
            heading="Fix",
        )
    fine = [f for f in findings if f.passed]
    if fine:
        r.bullets([f"✓ {f.rule.title}: {f.rule.ok}" for f in fine], heading="Fine")
    r.footer = f"Compare with {hint(f'script {kind}')} · your draft was checked, not stored"
    return r
