"""Load, validate and merge the playbook directory.

Errors name the file, the path inside it and the line, e.g.::

    emergency-medicine.yaml: scripts[3].body (line 88): unknown placeholder(s): {nmae}
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import pickle
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from pydantic.version import VERSION as _PYDANTIC_VERSION

from bot.core.playbooks.schema import (
    ITEM_LISTS,
    TRACK_ONLY_KINDS,
    TRACKS,
    Cadence,
    Conference,
    ConferencePlanRules,
    Faq,
    Goal,
    Item,
    Milestone,
    Mistake,
    Phase,
    PlaybookFile,
    ReviewRule,
    Script,
    ScriptKind,
    Section,
    Situation,
    Task,
)

if TYPE_CHECKING:
    import yaml


@dataclass(frozen=True)
class PlaybookError:
    file: str
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.path or "(file)"
        line = f" (line {self.line})" if self.line else ""
        return f"{self.file}: {where}{line}: {self.message}"


class PlaybookLoadError(Exception):
    def __init__(self, errors: list[PlaybookError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


@dataclass(frozen=True)
class TrackView:
    """A playbook seen from one citizenship track."""

    playbook: Playbook
    track: str
    sections: list[Section]
    conferences: list[Conference]
    scripts: list[Script]
    timeline: list[Phase]
    milestones: list[Milestone]
    tasks: list[Task]
    goals: list[Goal]
    cadences: list[Cadence]
    mistakes: list[Mistake]
    faqs: list[Faq]
    review_rules: list[ReviewRule]

    def script(self, kind: str) -> Script | None:
        return next((s for s in self.scripts if s.kind == kind), None)

    def cadence(self, situation: Situation | str, role: str | None = None) -> Cadence | None:
        """The rhythm for a situation: one written for the contact's role, else the default."""
        matching = [c for c in self.cadences if c.situation == situation]
        for_role = next((c for c in matching if c.roles and role in c.roles), None)
        return for_role or next((c for c in matching if not c.roles), None)

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)


@dataclass(frozen=True)
class Playbook:
    """A concrete specialty playbook with the base merged in."""

    id: str
    name: str
    aliases: tuple[str, ...]
    summary: str | None
    file: str
    items: dict[str, list[Any]] = field(repr=False)
    conference_plan: ConferencePlanRules | None = None
    # views already built, by track (a playbook does not change once loaded)
    _views: dict[str, TrackView] = field(default_factory=dict, repr=False, compare=False)

    def view(self, track: str) -> TrackView:
        cached = self._views.get(track)
        if cached is not None:
            return cached
        lists = {name: [item for item in self.items[name] if item.applies_to(track)] for name in ITEM_LISTS}
        order = list(ScriptKind)
        lists["scripts"].sort(key=lambda s: order.index(s.kind))
        view = TrackView(playbook=self, track=track, **lists)
        self._views[track] = view
        return view


class PlaybookLibrary:
    """Every concrete playbook in a directory, looked up by id or alias."""

    def __init__(self, playbooks: list[Playbook], directory: Path) -> None:
        self.directory = directory
        self._by_id = {p.id: p for p in sorted(playbooks, key=lambda p: p.name)}
        self._alias: dict[str, str] = {}
        for p in self._by_id.values():
            for key in (p.id, p.name, *p.aliases):
                self._alias.setdefault(_norm(key), p.id)

    def __iter__(self) -> Iterator[Playbook]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    @property
    def ids(self) -> list[str]:
        return list(self._by_id)

    def get(self, playbook_id: str) -> Playbook:
        return self._by_id[playbook_id]

    def label(self, specialty: str) -> str:
        """A specialty as people read it: the playbook's name for an id we have (``em`` ->
        Emergency Medicine), else the text as stored (a contact's specialty may be any)."""
        pb = self._by_id.get(specialty)
        return pb.name if pb else specialty

    def resolve(self, text: str) -> Playbook | None:
        pid = self._alias.get(_norm(text))
        return self._by_id[pid] if pid else None

    def closest(self, text: str) -> str | None:
        match = difflib.get_close_matches(_norm(text), list(self._alias), n=1, cutoff=0.5)
        return self._alias[match[0]] if match else None


# --------------------------------------------------------------------- YAML
# yaml is imported where a file is parsed: a start-up that finds the library in its cache
# parses nothing.


def _loader() -> type[yaml.SafeLoader]:
    import yaml

    # libyaml's loader is ten times faster than the pure-Python one; both give line marks.
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str) -> yaml.Node | None:
    import yaml

    return yaml.compose(text, Loader=_loader())


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Follow a pydantic error location through the YAML node tree."""
    import yaml

    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(key):
                    nxt = v
                    line = k.start_mark.line + 1
                    break
            if nxt is None:
                break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if key >= len(node.value):
                break
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _fmt_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass
class _Parsed:
    name: str
    model: PlaybookFile
    text: str

    @property
    def node(self) -> yaml.Node | None:
        return _compose(self.text)


def _parse_file(path: Path, errors: list[PlaybookError]) -> _Parsed | None:
    import yaml

    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(PlaybookError(name, "", None, f"cannot read file: {exc}"))
        return None
    try:
        data = yaml.load(text, Loader=_loader())  # CSafeLoader or SafeLoader: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        errors.append(PlaybookError(name, "", line, f"not valid YAML: {problem}"))
        return None
    if not isinstance(data, dict):
        errors.append(PlaybookError(name, "", 1, "the file must hold a mapping (key: value) at the top"))
        return None
    try:
        model = PlaybookFile.model_validate(data)
    except ValidationError as exc:
        node = _compose(text)  # the node tree is only needed to point at lines
        for err in exc.errors():
            loc = tuple(err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            errors.append(PlaybookError(name, _fmt_loc(loc), _line_of(node, loc), msg))
        return None
    return _Parsed(name, model, text)


def _merge(base: PlaybookFile | None, spec: PlaybookFile) -> dict[str, list[Item]]:
    merged: dict[str, list[Item]] = {}
    for list_name in ITEM_LISTS:
        own = {i.id: i for i in getattr(spec, list_name)}
        out: list[Item] = []
        if base is not None:
            for item in getattr(base, list_name):
                if item.id in spec.remove:
                    continue
                out.append(own.pop(item.id, item))
        out.extend(own.values())
        merged[list_name] = out
    return merged


def _check_complete(parsed: _Parsed, items: dict[str, list[Item]]) -> list[PlaybookError]:
    errs: list[PlaybookError] = []

    def err(list_name: str, msg: str) -> None:
        line = _line_of(parsed.node, (list_name,)) or 1
        errs.append(PlaybookError(parsed.name, list_name, line, msg))

    for track in TRACKS:
        scripts = [s for s in items["scripts"] if isinstance(s, Script) and s.applies_to(track)]
        kinds = [s.kind for s in scripts]
        for kind in ScriptKind:
            only = TRACK_ONLY_KINDS.get(kind)
            wanted = only is None or only == track
            count = kinds.count(kind)
            if wanted and count == 0:
                err("scripts", f"no '{kind}' script for the {track} track")
            if count > 1:
                err("scripts", f"{count} '{kind}' scripts for the {track} track; keep one")
        cadences = [c for c in items["cadences"] if isinstance(c, Cadence) and c.applies_to(track)]
        situations = [c.situation for c in cadences if not c.roles]
        for situation in Situation:
            if situations.count(situation) != 1:
                err("cadences", f"need exactly one '{situation}' cadence without roles for the {track} track")
            roles = [r for c in cadences if c.situation == situation for r in c.roles]
            for role in sorted(set(roles)):
                if roles.count(role) > 1:
                    err("cadences", f"two '{situation}' cadences for {role} contacts on the {track} track; keep one")
        phases = [p for p in items["timeline"] if isinstance(p, Phase) and p.applies_to(track)]
        if not phases:
            err("timeline", f"no timeline phase for the {track} track")
        starts = [p.start for p in phases]
        if starts != sorted(starts, reverse=True):
            err("timeline", f"phases for the {track} track are not in date order (earliest first)")
        milestones = {m.id for m in items["milestones"] if m.applies_to(track)}
        for t in items["tasks"]:
            if isinstance(t, Task) and t.applies_to(track) and t.milestone not in milestones:
                known = ", ".join(sorted(milestones)) or "none"
                err(
                    "tasks",
                    f"task '{t.id}' is dated from '{t.milestone}', not a milestone of the {track} track ({known})",
                )
        if not any(s.id == "overview" for s in items["sections"] if s.applies_to(track)):
            err("sections", f"no 'overview' section for the {track} track")
        if not any(g.applies_to(track) for g in items["goals"]):
            err("goals", f"no outreach goal for the {track} track")
    return errs


def _playbook_files(directory: Path) -> list[Path]:
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def load_playbooks(directory: Path | str, cache_dir: Path | None = None) -> PlaybookLibrary:
    """Load every ``*.yaml``/``*.yml`` file; raise PlaybookLoadError listing all problems.

    With ``cache_dir``, a library that loaded without problems is kept there (one file per
    playbook directory), under a key made of the content of every playbook file and of the code
    that defines and checks what is kept (this module, the schema, the placeholders, the models)
    and the Python and pydantic versions. A later load whose key matches unpickles it instead of
    parsing and validating the YAML again; any change to a file, a new or removed file, or other
    code loads from the files. A cache that cannot be read or written is passed over.
    """
    directory = Path(directory)
    if cache_dir is None or not directory.is_dir():
        return _load(directory)
    key = _cache_key(directory)
    where = cache_dir / f"playbooks-{hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]}.pickle"
    if key is not None:
        cached = _read_cache(where, key)
        if cached is not None:
            cached.directory = directory  # as given this time (the file is per resolved path)
            return cached
    library = _load(directory)
    if key is not None:
        _write_cache(where, key, library)
    return library


# What the kept library depends on besides the playbook files: the classes it is made of and the
# checks that passed. A change to any of them makes every kept library stale.
_CODE_FILES = ("loader.py", "schema.py", "placeholders.py", "../models.py")
_CACHE_FORMAT = b"imgbot-playbooks-1"


def _cache_key(directory: Path) -> bytes | None:
    digest = hashlib.sha256(_CACHE_FORMAT)
    digest.update(f"{sys.version_info[:3]} {_PYDANTIC_VERSION}\0".encode())
    here = Path(__file__).resolve().parent
    try:
        for name in _CODE_FILES:
            digest.update((here / name).read_bytes())
        for path in _playbook_files(directory):
            data = path.read_bytes()
            digest.update(f"\0{path.name}\0{len(data)}\0".encode())
            digest.update(data)
    except OSError:
        return None
    return digest.hexdigest().encode()


def _read_cache(where: Path, key: bytes) -> PlaybookLibrary | None:
    try:
        with open(where, "rb") as fh:
            st = os.fstat(fh.fileno())
            # only a file this user wrote and nobody else can change: unpickling runs what it says
            if st.st_uid != os.getuid() or st.st_mode & 0o022:
                return None
            if fh.readline().rstrip(b"\n") != key:
                return None
            library = pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError):
        return None
    return library if isinstance(library, PlaybookLibrary) else None


def _write_cache(where: Path, key: bytes, library: PlaybookLibrary) -> None:
    tmp = where.with_name(f"{where.name}.{os.getpid()}.tmp")
    try:
        where.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key + b"\n")
            pickle.dump(library, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, where)  # readers see the old file or the whole new one
    except (OSError, pickle.PicklingError):
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _load(directory: Path) -> PlaybookLibrary:
    errors: list[PlaybookError] = []
    if not directory.is_dir():
        raise PlaybookLoadError([PlaybookError(str(directory), "", None, "not a directory")])
    files = _playbook_files(directory)
    parsed = [p for f in files if (p := _parse_file(f, errors)) is not None]
    by_id: dict[str, _Parsed] = {}
    for p in parsed:
        if p.model.id in by_id:
            errors.append(
                PlaybookError(
                    p.name,
                    "id",
                    _line_of(p.node, ("id",)),
                    f"id '{p.model.id}' is already used by {by_id[p.model.id].name}",
                )
            )
            continue
        by_id[p.model.id] = p

    playbooks: list[Playbook] = []
    for p in by_id.values():
        if p.model.abstract:
            continue
        base = None
        if p.model.extends:
            parent = by_id.get(p.model.extends)
            if parent is None or not parent.model.abstract:
                errors.append(
                    PlaybookError(
                        p.name,
                        "extends",
                        _line_of(p.node, ("extends",)),
                        f"no base playbook with id '{p.model.extends}'",
                    )
                )
                continue
            base = parent.model
        items = _merge(base, p.model)
        problems = _check_complete(p, items)
        rules = p.model.conference_plan or (base.conference_plan if base else None)
        if rules is None:
            line = _line_of(p.node, ("id",)) or 1
            problems.append(PlaybookError(p.name, "conference_plan", line, "no conference_plan here or in its base"))
        if problems:
            errors.extend(problems)
            continue
        playbooks.append(
            Playbook(
                id=p.model.id,
                name=p.model.name,
                aliases=tuple(p.model.aliases),
                summary=p.model.summary,
                file=p.name,
                items=items,
                conference_plan=rules,
            )
        )
    if not files:
        errors.append(PlaybookError(str(directory), "", None, "no playbook files (*.yaml) found"))
    elif not playbooks and not errors:
        errors.append(PlaybookError(str(directory), "", None, "no concrete (non-abstract) playbook"))
    if errors:
        raise PlaybookLoadError(errors)
    return PlaybookLibrary(playbooks, directory)


def shipped_playbooks_dir() -> Path:
    """The shipped playbooks: ``bot/playbooks`` in a wheel, ``playbooks/`` in a checkout."""
    packaged = Path(__file__).resolve().parents[2] / "playbooks"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "playbooks"
