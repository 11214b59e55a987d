"""CSV export and import of contacts, with the seeds' tracking-sheet columns."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from bot.core.dates import parse_date
from bot.core.errors import UsageError
from bot.core.models import Contact, ContactRole, ContactState, HowMet, InteractionType, name_key
from bot.core.textin import check_controls

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
MAX_ROWS = 10_000
LIMITS = {"name": 80, "specialty": 60, "institution": 120, "email": 254, "notes": 500, "tags": 200}


# A cell starting with one of these is run as a formula by spreadsheet apps (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(value: str) -> str:
    """Stop spreadsheet apps from running a cell as a formula: a leading ``'`` shows it as text.
    A value that itself starts with ``'`` gets one too, so :func:`_unsafe` gives back every value."""
    return "'" + value if value[:1] in (*FORMULA_STARTS, "'") else value


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
    """The value :func:`_safe_cell` was given (a cell our export neutralised), else the cell as it is."""
    return value[1:] if value[:1] == "'" and value[1:2] in (*FORMULA_STARTS, "'") else value


def decode(data: bytes) -> str:
    """The file's text: UTF-8 with or without a BOM, UTF-16 with a BOM, else Latin-1 (as Windows
    spreadsheets write it, cp1252) when the bytes look like text in it; any other file is refused."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise UsageError("that file is UTF-32 text; export it as 'CSV UTF-8' and try again")
    try:
        utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
        text = data.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError:
        text = _latin1(data)
    if "\x00" in text:  # no text file holds NUL: UTF-16 without a BOM, or a binary file
        raise UsageError(_REFUSED)
    return text.removeprefix("\ufeff")


_REFUSED = "that file is not UTF-8, UTF-16 or Latin-1 text; export it as 'CSV UTF-8' and try again"
# control characters no text file holds (tab, line feed and carriage return are fine)
_NOT_TEXT = frozenset(chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32), 127])


def _latin1(data: bytes) -> str:
    if b"\x00" in data:  # UTF-16 without a BOM, or a binary file
        raise UsageError(_REFUSED)
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8d, 0x8f, 0x90, 0x9d: no character in cp1252
        raise UsageError(_REFUSED) from None
    if any(ch in _NOT_TEXT for ch in text):  # bytes that are no text in any of them: a binary file
        raise UsageError(_REFUSED)
    return text


def parse_csv(data: bytes, today: date) -> ParsedCSV:
    from bot.core.tracker import check_email, parse_tags

    if len(data) > MAX_BYTES:
        raise UsageError(f"that file is {len(data):,} bytes; the limit is {MAX_BYTES:,}")
    text = decode(data)
    reader = csv.DictReader(io.StringIO(text))
    try:
        fields = reader.fieldnames or []  # reads the first record: it can fail like any other
    except csv.Error as exc:
        raise UsageError(f"could not read that CSV's header row: {exc}") from None
    header = [h.strip().lower().replace(" ", "_") for h in fields]
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
        for count, raw in enumerate(reader, 1):
            if count > MAX_ROWS:
                raise UsageError(f"that file has more than {MAX_ROWS:,} rows, the limit; split it and import each part")
            cells = [c for v in raw.values() for c in (v if isinstance(v, list) else [v or ""])]
            breaks = sum(c.count("\n") for c in cells)
            # the file line the record starts on (a spreadsheet's row number), past any blank lines
            row_no = max(last_line + 1, reader.line_num - breaks)
            last_line = reader.line_num
            swallowed = _swallowed(raw, len(header))
            if swallowed:
                # A quote was left open and swallowed the rows after it.
                runs = f"over rows {row_no}-{reader.line_num}" if reader.line_num > row_no else "to the end of the file"
                out.rejected.append((row_no, f"a quote is not closed: the {swallowed} cell runs {runs}"))
                continue
            if None in raw:
                out.rejected.append((row_no, "more cells than headers"))
                continue
            row = {k: _unsafe((v or "").replace("\r\n", "\n").strip()) for k, v in raw.items() if k}
            try:
                for col, value in row.items():
                    check_controls(col, value, multiline=col == "notes")
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


def _swallowed(raw: dict[str | None, object], columns: int) -> str | None:
    """The column whose cell swallowed the rows after it through an unclosed quote, if one did.

    No field of ours but notes holds a line break. Notes may (our export writes them as they are),
    unless a line inside looks like a whole row of this file: a cell count's worth of commas."""
    for key, value in raw.items():
        for cell in value if isinstance(value, list) else [value or ""]:
            text = str(cell)
            if "\n" not in text and "\r" not in text:
                continue
            if key != "notes":
                return key or "extra"
            if any(line.count(",") >= columns - 1 for line in text.splitlines()[1:]):
                return key
    return None


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
