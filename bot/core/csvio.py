"""CSV export and import of contacts, with the seeds' tracking-sheet columns."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from bot.core.dates import parse_date
from bot.core.errors import UsageError
from bot.core.models import Contact, ContactRole, ContactState, HowMet, InteractionType, name_key

COLUMNS = (
    "id",
    "name",
    "role",
    "specialty",
    "institution",
    "email",
    "how_met",
    "met_on",
    "last_contact",
    "next_followup",
    "next_script",
    "tags",
    "state",
    "notes",
)
MAX_BYTES = 2_000_000
LIMITS = {"name": 80, "specialty": 60, "institution": 120, "email": 254, "notes": 500, "tags": 200}


def _safe_cell(value: str) -> str:
    """Stop spreadsheet apps from running a cell as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def rows_to_csv(rows: list[list[str]]) -> bytes:
    """Rows as a UTF-8 CSV (with a BOM, for spreadsheet apps), no cell runnable as a formula."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for row in rows:
        w.writerow([_safe_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def export_csv(contacts: list[Contact]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for c in contacts:
        w.writerow(
            [
                _safe_cell(str(v))
                for v in (
                    c.ref,
                    c.name,
                    c.role,
                    c.specialty or "",
                    c.institution or "",
                    c.email or "",
                    c.how_met,
                    c.met_on.isoformat() if c.met_on else "",
                    c.last_contact_on.isoformat() if c.last_contact_on else "",
                    c.next_followup_on.isoformat() if c.next_followup_on else "",
                    c.followup_script or "",
                    ",".join(c.tags),
                    c.state,
                    c.notes or "",
                )
            ]
        )
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def dedupe_key(name: str, institution: str | None, email: str | None) -> tuple[str, str, str]:
    return (name_key(name), name_key(institution or ""), (email or "").strip().lower())


@dataclass
class ParsedCSV:
    rows: list[tuple[int, Contact]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _unsafe(value: str) -> str:
    return value[1:] if value[:2] in ("'=", "'+", "'-", "'@") else value


def parse_csv(data: bytes, today: date) -> ParsedCSV:
    from bot.core.tracker import check_email, parse_tags

    if len(data) > MAX_BYTES:
        raise UsageError(f"that file is {len(data):,} bytes; the limit is {MAX_BYTES:,}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError("that file is not UTF-8 text; export it as 'CSV UTF-8' and try again") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower().replace(" ", "_") for h in (reader.fieldnames or [])]
    if "name" not in header:
        raise UsageError(
            "that CSV has no 'name' column; the first row must be headers such as " + ", ".join(COLUMNS[1:8])
        )
    reader.fieldnames = header
    out = ParsedCSV()
    roles = {r.value for r in ContactRole}
    hows = {h.value for h in HowMet}
    try:
        last_line = reader.line_num  # the header's
        for raw in reader:
            cells = [c for v in raw.values() for c in (v if isinstance(v, list) else [v or ""])]
            breaks = sum(c.count("\n") for c in cells)
            # the file line the record starts on (a spreadsheet's row number), past any blank lines
            row_no = max(last_line + 1, reader.line_num - breaks)
            last_line = reader.line_num
            if breaks or any("\r" in c for c in cells):
                # No field of ours holds a line break: a quote was left open and swallowed the rows after it.
                col = next((k or "extra" for k, v in raw.items() if "\n" in str(v) or "\r" in str(v)), "name")
                out.rejected.append(
                    (row_no, f"a quote is not closed: the {col} cell runs over rows {row_no}-{reader.line_num}")
                )
                continue
            if None in raw:
                out.rejected.append((row_no, "more cells than headers"))
                continue
            row = {k: _unsafe((v or "").strip()) for k, v in raw.items() if k}
            try:
                name = row.get("name", "")
                if not name:
                    raise UsageError("name is empty")
                for col, limit in LIMITS.items():
                    if len(row.get(col, "")) > limit:
                        raise UsageError(f"{col} is longer than {limit} characters")
                role = (row.get("role") or "other").lower().replace(" ", "-")
                if role not in roles:
                    raise UsageError(f"role '{row.get('role')}' is not one of {', '.join(sorted(roles))}")
                how = (row.get("how_met") or "other").lower()
                if how not in hows:
                    raise UsageError(f"how_met '{row.get('how_met')}' is not one of {', '.join(sorted(hows))}")
                met_on = _past(row.get("met_on"), today, "met_on")
                last = _past(row.get("last_contact"), today, "last_contact")
                state = (row.get("state") or ContactState.ACTIVE).lower()
                if state not in {s.value for s in ContactState}:
                    raise UsageError(f"state '{row.get('state')}' is not one of active, moved-on, stopped")
                contact = Contact(
                    id=0,
                    user_id=0,
                    number=0,
                    name=name,
                    role=role,
                    specialty=row.get("specialty") or None,
                    institution=row.get("institution") or None,
                    email=check_email(row.get("email") or None),
                    how_met=how,
                    met_on=met_on,
                    notes=row.get("notes") or None,
                    tags=parse_tags(row.get("tags")),
                    last_contact_on=last,
                    state=state,
                )
            except UsageError as exc:
                out.rejected.append((row_no, exc.message.removeprefix("option ")))
                continue
            out.rows.append((row_no, contact))
    except csv.Error as exc:
        raise UsageError(f"could not read that CSV near line {reader.line_num}: {exc}") from None
    return out


def _past(value: str | None, today: date, column: str) -> date | None:
    if not value:
        return None
    day = parse_date(value, today, column)
    if day > today:
        raise UsageError(f"{column} {day.isoformat()} is in the future")
    return day


def import_kind(c: Contact) -> str:
    """The interaction an imported 'last contact' date stands for."""
    if c.how_met in (HowMet.CONFERENCE, HowMet.ROTATION, HowMet.WEBINAR) and c.last_contact_on == c.met_on:
        return InteractionType.MET
    # We cannot know whether an old exchange was answered: treat it as a sent
    # update, so the dormant (or mentor) cadence applies rather than no-reply.
    return InteractionType.UPDATE_SENT
