"""Everything the bot holds about one user, as one typed export (``/privacy export``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time

from bot.core.community.models import UserCircleData
from bot.core.hints import format_hints
from bot.core.models import Contact, NudgeKind, Profile
from bot.core.ports import Store

EXPORT_FORMAT = "imgbot-user-export"
EXPORT_VERSION = 1

# What /privacy delete calls each kind of row (singular, plural), in the order it lists them.
KIND_LABELS = {
    "profile": ("profile", "profiles"),
    "contacts": ("contact", "contacts"),
    "interactions": ("logged interaction", "logged interactions"),
    "goals": ("goal", "goals"),
    "conference_plans": ("conference plan", "conference plans"),
    "nudges": ("nudge (owed or past)", "nudges (owed or past)"),
    "notices": ("pending notice", "pending notices"),
    "dm_channel": ("remembered DM channel", "remembered DM channels"),
    "circle_memberships": ("circle membership", "circle memberships"),
    "circle_checkins": ("circle check-in", "circle check-ins"),
    "circle_meetings": ("buddy-round record", "buddy-round records"),
    "circle_blocks": ("circle block", "circle blocks"),
    "mentor_offers": ("mentor offer", "mentor offers"),
    "mentor_requests": ("mentor request", "mentor requests"),
    "mentor_matches": ("mentor match", "mentor matches"),
    "account": ("account record", "account records"),
}


def count_words(counts: dict[str, int]) -> list[str]:
    """``{"contacts": 2, "goals": 1, "notices": 0}`` -> ``["2 contacts", "1 goal"]`` (none of the empty ones)."""
    out = []
    for kind in sorted(counts, key=lambda k: list(KIND_LABELS).index(k) if k in KIND_LABELS else len(KIND_LABELS)):
        n = counts[kind]
        if n:
            one, many = KIND_LABELS.get(kind, (kind, kind))
            out.append(f"{n} {one if n == 1 else many}")
    return out


@dataclass(frozen=True)
class AccountExport:
    platform: str
    account: str
    display_name: str | None
    created_at: datetime | None
    dm_channel: str | None


@dataclass(frozen=True)
class ProfileExport:
    name: str | None
    country: str | None
    school: str | None
    specialty: str | None
    track: str | None
    visa: str | None
    status: str | None
    eras: str | None
    timezone: str
    interests: str | None
    role: str | None
    quiet_start: time
    quiet_end: time
    nudges_paused_until: datetime | None


@dataclass(frozen=True)
class HistoryEntry:
    kind: str
    on: date
    note: str | None
    imported: bool
    logged_at: datetime | None


@dataclass(frozen=True)
class ContactExport:
    id: str  # the #number the user sees
    name: str
    role: str
    specialty: str | None
    institution: str | None
    email: str | None
    how_met: str
    met_on: date | None
    notes: str | None
    tags: list[str]
    state: str
    last_contact_on: date | None
    next_followup_on: date | None
    followup_situation: str | None
    followup_script: str | None
    created_at: datetime | None
    history: list[HistoryEntry]


@dataclass(frozen=True)
class GoalExport:
    metric: str
    period: str
    count: int


@dataclass(frozen=True)
class ConferencePlanExport:
    id: str  # the #number the user sees
    name: str
    specialty: str
    starts_on: date
    days: int
    created_at: datetime | None


@dataclass(frozen=True)
class NudgeExport:
    kind: str
    ref: str
    contact: str | None  # "#3" for a follow-up about a contact that still exists
    due_at: datetime
    deliver_at: datetime
    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None


@dataclass(frozen=True)
class NoticeExport:
    created_at: datetime
    message: str


@dataclass(frozen=True)
class CheckinExport:
    week: str
    emails: int
    new_contacts: int
    followups: int
    conversations: int
    win: str | None
    blocker: str | None
    goal: str | None
    logged_at: datetime | None


@dataclass(frozen=True)
class CircleExport:
    """One program you belong to, where it is, what you chose to show, and your check-ins."""

    platform: str
    community: str
    channel: str
    visibility: str
    reminders: bool
    paused: bool
    missed_rounds: int
    joined_at: datetime | None
    checkins: list[CheckinExport]
    buddy_rounds: list[dict[str, str | None]]
    blocked: list[str]
    mentor_offer: dict[str, str | int | None] | None
    mentor_request: bool
    mentor_matches: list[dict[str, str | None]]


@dataclass(frozen=True)
class UserExport:
    format: str
    version: int
    exported_at: datetime
    account: AccountExport
    profile: ProfileExport
    contacts: list[ContactExport]
    goals: list[GoalExport]
    conference_plans: list[ConferencePlanExport]
    nudges: list[NudgeExport]
    notices: list[NoticeExport]
    circles: list[CircleExport]

    def counts(self) -> dict[str, int]:
        """Rows of each kind in this export, by the kinds of :data:`KIND_LABELS` (what the store counts)."""
        return {
            "profile": 1,
            "contacts": len(self.contacts),
            "interactions": sum(len(c.history) for c in self.contacts),
            "goals": len(self.goals),
            "conference_plans": len(self.conference_plans),
            "nudges": len(self.nudges),
            "notices": len(self.notices),
            "dm_channel": int(self.account.dm_channel is not None),
            "circle_memberships": sum(1 for c in self.circles if c.visibility),
            "circle_checkins": sum(len(c.checkins) for c in self.circles),
            "circle_meetings": sum(len(c.buddy_rounds) for c in self.circles),
            # the blocks you made; a block of you is deleted with your data but never disclosed
            "circle_blocks": sum(len(c.blocked) for c in self.circles),
            "mentor_offers": sum(c.mentor_offer is not None for c in self.circles),
            "mentor_requests": sum(c.mentor_request for c in self.circles),
            "mentor_matches": sum(len(c.mentor_matches) for c in self.circles),
            "account": 1,
        }

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), default=_encode, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


def _encode(value: object) -> str:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    raise TypeError(f"cannot export {type(value).__name__}")


def _profile(p: Profile) -> ProfileExport:
    return ProfileExport(
        name=p.name,
        country=p.country,
        school=p.school,
        specialty=p.specialty,
        track=p.track,
        visa=p.visa,
        status=p.status,
        eras=p.eras,
        timezone=p.timezone,
        interests=p.interests,
        role=p.role,
        quiet_start=p.quiet_start,
        quiet_end=p.quiet_end,
        nudges_paused_until=p.nudges_paused_until,
    )


def _contact(c: Contact, history: list[HistoryEntry]) -> ContactExport:
    return ContactExport(
        id=c.ref,
        name=c.name,
        role=c.role,
        specialty=c.specialty,
        institution=c.institution,
        email=c.email,
        how_met=c.how_met,
        met_on=c.met_on,
        notes=c.notes,
        tags=list(c.tags),
        state=c.state,
        last_contact_on=c.last_contact_on,
        next_followup_on=c.next_followup_on,
        followup_situation=c.followup_situation,
        followup_script=c.followup_script,
        created_at=c.created_at,
        history=history,
    )


async def export_user(store: Store, user_id: int, now: datetime) -> UserExport:
    """Read everything stored about ``user_id``, in one transaction (one consistent snapshot)."""
    async with store.transaction():
        ref = await store.user_ref(user_id)
        if ref is None:
            raise LookupError(f"no user {user_id}")
        created = await store.user_created_at(user_id)
        channel = await store.dm_channel(ref)
        profile = await store.get_profile(user_id)
        contacts = await store.all_contacts(user_id)
        interactions = await store.user_interactions(user_id)
        goals = await store.goals(user_id)
        plans = await store.conference_plans(user_id)
        nudges = await store.user_nudges(user_id)
        notices = await store.user_notices(user_id)
        circle = await store.user_circle_data(user_id)
    history: dict[int, list[HistoryEntry]] = {}
    for i in interactions:
        history.setdefault(i.contact_id, []).append(HistoryEntry(i.kind, i.on, i.note, i.imported, i.created_at))
    refs = {str(c.id): c.ref for c in contacts}
    return UserExport(
        format=EXPORT_FORMAT,
        version=EXPORT_VERSION,
        exported_at=now,
        account=AccountExport(ref.platform, ref.account, ref.display_name, created, channel),
        profile=_profile(profile),
        contacts=[_contact(c, history.get(c.id, [])) for c in contacts],
        goals=[GoalExport(g.metric, g.period, g.count) for g in goals],
        conference_plans=[
            ConferencePlanExport(p.ref, p.name, p.specialty, p.starts_on, p.days, p.created_at) for p in plans
        ],
        nudges=[
            NudgeExport(
                kind=n.kind,
                ref=n.ref,
                contact=refs.get(n.ref) if n.kind == NudgeKind.FOLLOWUP else None,
                due_at=n.due_at,
                deliver_at=n.deliver_at,
                status=n.status,
                attempts=n.attempts,
                last_error=n.last_error,
                sent_at=n.sent_at,
            )
            for n in nudges
        ],
        # a notice may hold command hints (bot.core.hints): the file reads them as /commands
        notices=[NoticeExport(at, format_hints(message)) for at, message in notices],
        circles=_circles(circle, user_id),
    )


def _circles(data: UserCircleData, user_id: int) -> list[CircleExport]:
    out = []
    programs = {m.program_id for m in data.memberships}
    programs |= {pid for pid, _, _ in data.meetings} | {pid for pid, _ in data.blocks}
    programs |= {o.program_id for o in data.mentor_offers} | set(data.mentor_requests)
    programs |= {m.program_id for m in data.mentor_matches} | {c.program_id for c in data.checkins}
    members = {m.program_id: m for m in data.memberships}
    for pid in sorted(programs):
        p = data.programs.get(pid)
        m = members.get(pid)
        offer = next((o for o in data.mentor_offers if o.program_id == pid), None)
        out.append(
            CircleExport(
                platform=p.place.platform if p else "",
                community=p.place.community if p else "",
                channel=p.place.channel if p else "",
                visibility=m.visibility if m else "",
                reminders=m.reminders if m else False,
                paused=m.paused if m else False,
                missed_rounds=m.missed_rounds if m else 0,
                joined_at=m.joined_at if m else None,
                checkins=[
                    CheckinExport(
                        c.week,
                        c.counts.emails,
                        c.counts.contacts,
                        c.counts.followups,
                        c.counts.conversations,
                        c.win,
                        c.blocker,
                        c.goal,
                        c.created_at,
                    )
                    for c in data.checkins
                    if c.program_id == pid
                ],
                buddy_rounds=[
                    {"round": period, "answer": answer} for p_id, period, answer in data.meetings if p_id == pid
                ],
                blocked=[name for p_id, name in data.blocks if p_id == pid],
                mentor_offer=(
                    {
                        "stage": offer.stage,
                        "capacity": offer.capacity,
                        "specialty": offer.specialty,
                        "track": offer.track,
                    }
                    if offer
                    else None
                ),
                mentor_request=pid in data.mentor_requests,
                mentor_matches=[
                    {
                        "role": "mentee" if mm.mentee_user_id == user_id else "mentor",
                        "started_at": mm.started_at.isoformat(),
                        "ended_at": mm.ended_at.isoformat() if mm.ended_at else None,
                    }
                    for mm in data.mentor_matches
                    if mm.program_id == pid
                ],
            )
        )
    return out
