"""Every shipped playbook validates, renders and dates correctly; broken ones fail clearly."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from bot.core.dates import add_months
from bot.core.models import Contact, Profile
from bot.core.playbooks.loader import PlaybookLoadError, load_playbooks, shipped_playbooks_dir
from bot.core.playbooks.placeholders import PLACEHOLDERS, hint
from bot.core.playbooks.schema import TRACKS, ScriptKind
from bot.core.scripts import PROFILE_OPTION, render_script, script_values
from bot.core.timeline import PhaseState, dated_phases

SHIPPED = shipped_playbooks_dir()
LIB = load_playbooks(SHIPPED)
FULL = Profile(
    user_id=1,
    name="Dr Amal Hassan",
    country="Egypt",
    school="Cairo University",
    specialty="psych",
    track="non-us-img",
    visa="j1",
    status="citizen",  # read only on the us-img track
    eras="2027-09",
    interests="consult-liaison psychiatry",
    role="a research fellow",
)
CONTACT = Contact(
    id=1,
    user_id=1,
    number=1,
    name="Dr Maya Lee",
    role="attending",
    institution="Mass General",
    how_met="conference",
    met_on=date(2026, 11, 20),
)
HINT = re.compile(r"\[[^\]]+\]")


def test_the_four_specialties_ship() -> None:
    assert set(LIB.ids) == {"em", "im", "psych", "peds"}


def test_every_profile_placeholder_maps_to_a_profile_option() -> None:
    assert set(PROFILE_OPTION) <= set(PLACEHOLDERS)


@pytest.mark.parametrize("pid", sorted(LIB.ids))
@pytest.mark.parametrize("track", TRACKS)
def test_every_script_kind_renders_full_and_empty(pid: str, track: str) -> None:
    view = LIB.get(pid).view(track)
    kinds = {s.kind for s in view.scripts}
    expected = set(ScriptKind) - ({ScriptKind.VISA_LINE} if track == "us-img" else set())
    assert kinds == expected
    profile_hints = {hint(p) for p in PLACEHOLDERS}
    for script in view.scripts:
        full = render_script(script, script_values(FULL, view.playbook, CONTACT))
        text = (full.subject or "") + full.body
        assert "{" not in text and "}" not in text, (pid, track, script.id)
        assert not (profile_hints & set(HINT.findall(text))), (pid, track, script.id, text)
        assert full.missing_profile == () and not full.missing_contact
        empty = render_script(script, script_values(Profile(user_id=2), view.playbook))
        etext = (empty.subject or "") + empty.body
        assert "{" not in etext
        # the empty render differs only where a hint now stands
        assert len(HINT.findall(etext)) >= len(HINT.findall(text))


@pytest.mark.parametrize("pid", sorted(LIB.ids))
def test_visa_line_only_for_non_us_track(pid: str) -> None:
    assert LIB.get(pid).view("us-img").script("visa-line") is None
    assert LIB.get(pid).view("non-us-img").script("visa-line") is not None


@pytest.mark.parametrize("pid", sorted(LIB.ids))
@pytest.mark.parametrize("track", TRACKS)
def test_timeline_dates_are_monotonic_and_anchor_on_eras(pid: str, track: str) -> None:
    view = LIB.get(pid).view(track)
    eras = "2027-09"
    phases = dated_phases(view, eras, date(2026, 11, 23))
    starts = [p.start for p in phases]
    assert starts == sorted(starts)
    for p in phases:
        assert p.start < p.end
        assert p.start == add_months(date(2027, 9, 1), -p.phase.start)
        assert p.start.day == 1
    assert any(p.state == PhaseState.CURRENT for p in phases)
    assert any(p.start <= date(2027, 9, 1) < p.end or p.end == date(2027, 9, 1) for p in phases)


@pytest.mark.parametrize("pid", sorted(LIB.ids))
@pytest.mark.parametrize("track", TRACKS)
def test_each_track_has_the_content_the_commands_need(pid: str, track: str) -> None:
    view = LIB.get(pid).view(track)
    assert view.section("overview") and view.conferences and view.faqs and view.mistakes and view.goals
    assert {c.situation for c in view.cadences} == {
        "after-meeting",
        "no-reply",
        "second-no-reply",
        "mentor-update",
        "dormant",
        "thanks-after-help",
    }
    for item in [*view.scripts, *view.cadences, *view.conferences, *view.timeline]:
        assert item.sources, item.id


def test_cadences_differ_per_specialty_as_the_seeds_say() -> None:
    after = {pid: LIB.get(pid).view("non-us-img").cadence("after-meeting").after_days for pid in LIB.ids}
    assert after["psych"] == 3 and after["peds"] == 3  # "within 3-7 days"
    assert after["im"] == 1  # "the next day"
    no_reply = LIB.get("psych").view("non-us-img").cadence("no-reply")
    assert (no_reply.after_days, no_reply.within_days) == (10, 14)
    assert LIB.get("peds").view("non-us-img").cadence("no-reply").after_days == 14  # "2-3 weeks later"


def _broken_copy(tmp_path: Path, transform) -> Path:
    target = tmp_path / "pb"
    shutil.copytree(SHIPPED, target)
    f = target / "psychiatry.yaml"
    f.write_text(transform(f.read_text()))
    return target


def test_unknown_placeholder_is_reported_with_file_path_and_line(tmp_path: Path) -> None:
    d = _broken_copy(tmp_path, lambda t: t.replace("{country}", "{cuntry}", 1))
    with pytest.raises(PlaybookLoadError) as err:
        load_playbooks(d)
    (e,) = err.value.errors
    assert e.file == "psychiatry.yaml"
    assert re.fullmatch(r"scripts\[\d+\]\.(body|subject)", e.path)
    assert e.line and e.line > 1
    assert "unknown placeholder(s): {cuntry}" in str(e)
    line_text = (d / "psychiatry.yaml").read_text().splitlines()[e.line - 1]
    assert line_text.strip().startswith(("body:", "subject:"))


def test_broken_yaml_and_bad_values_are_all_listed(tmp_path: Path) -> None:
    d = _broken_copy(tmp_path, lambda t: t.replace("after_days: 3", "after_days: soon", 1))
    (d / "broken.yaml").write_text("id: x\nname: [unclosed\n")
    with pytest.raises(PlaybookLoadError) as err:
        load_playbooks(d)
    msgs = [str(e) for e in err.value.errors]
    assert any(m.startswith("broken.yaml: (file) (line ") and "not valid YAML" in m for m in msgs)
    assert any(m.startswith("psychiatry.yaml: cadences[") and ".after_days (line " in m for m in msgs)


def test_validate_command_exit_codes(tmp_path: Path) -> None:
    from bot.cli import main

    assert main(["playbooks", "validate"]) == 0
    d = _broken_copy(tmp_path, lambda t: t.replace("kind: cold-email", "kind: cold-mail", 1))
    assert main(["playbooks", "validate", str(d)]) == 1


FAMILY_MEDICINE = """\
id: fm
name: Family Medicine
extends: base
aliases: [family medicine, FM, family]
conferences:
  - id: aafp-fmx
    name: AAFP Family Medicine Experience
    short: FMX
    good_for: Meeting family physicians and program faculty in one place.
    sources: [community]
"""


async def test_a_dropped_in_specialty_appears_everywhere(tmp_path: Path) -> None:
    d = tmp_path / "pb"
    shutil.copytree(SHIPPED, d)
    (d / "family-medicine.yaml").write_text(FAMILY_MEDICINE)
    lib = load_playbooks(d)
    assert "fm" in lib.ids and lib.resolve("Family") is not None

    from tests.helpers import Transcript, make_app

    app = await make_app(tmp_path / "x.db", playbooks=d, playbook_cache=False)  # no cache file per tmp dir
    t = Transcript(app)
    out = await t.say("/profile set specialty:family track:us-img")
    assert "Family Medicine" in out
    assert "FMX" in await t.say("/conferences")
    assert "[your name]" in await t.say("/script cold-email")
    from bot.core.dispatch import choices_for

    spec_opt = app.registry.get("profile set").option("specialty")  # type: ignore[union-attr]
    assert "fm" in [c.value for c in choices_for(app, spec_opt)]
    await app.store.close()


def test_originality_check_passes() -> None:
    tool = Path(__file__).resolve().parents[1].parent / "shared" / "tools" / "check-originality"
    if not tool.exists():
        pytest.skip("../shared/tools/check-originality is not beside this checkout")
    res = subprocess.run([str(tool), str(SHIPPED)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout
