"""Issue 11, part 1: what the playbooks tell an applicant, read as the applicant reads it.

Every check here goes through the console, as a user typing commands, and looks at the rendered
reply: the grammar of the visa line, how a green-card holder is described, salutations, the AAP
sections, pediatric mentor rhythms, visible rendering slips, scripts that fit the situation,
track-specific lines, and the seed advice that used to be missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core.context import App
from bot.core.playbooks.schema import ScriptKind
from bot.core.wording import role_phrase, salutation, school_in_sentence, school_on_its_own
from tests.helpers import Transcript

SPECIALTIES = ("em", "im", "peds", "psych")
BASE = (
    'name:"Dr Amal Hassan" country:Nigeria school:"University of Lagos" eras:2027-09 '
    'interests:"point-of-care ultrasound" role:"research fellow at Lagos University Teaching Hospital"'
)
PROFILES = {
    "us-citizen": f"/profile set {BASE} track:us-img status:citizen",
    "us-pr": f"/profile set {BASE} track:us-img status:permanent-resident",
    "us-unknown": f"/profile set {BASE} track:us-img",
    "j1": f"/profile set {BASE} track:non-us-img visa:j1",
    "h1b": f"/profile set {BASE} track:non-us-img visa:h1b",
    "visa-other": f"/profile set {BASE} track:non-us-img visa:other",
    "visa-none": f"/profile set {BASE} track:non-us-img visa:none",
}
US = ("us-citizen", "us-pr")
NON_US = ("j1", "visa-none")
MAYA = '/contact add "Dr Maya Lee" role:attending institution:"Mass General" how_met:conference met_on:today'


async def as_user(console: Transcript, who: str, specialty: str) -> Transcript:
    await console.say(PROFILES[who] + f" specialty:{specialty}")
    return console


def script_block(out: str) -> str:
    """The copy-ready text between the ``` fences of a /script reply."""
    parts = out.split("```")
    assert len(parts) >= 3, out
    return parts[1]


# ------------------------------------------------------------------ the visa line


@pytest.mark.parametrize("spec", SPECIALTIES)
async def test_visa_line_reads_right_for_none_other_and_j1(console: Transcript, spec: str) -> None:
    await as_user(console, "visa-none", spec)
    out = await console.say("/script visa-line")
    assert "no visa needed route" not in out and "planning on the" not in out
    assert "won't need visa sponsorship" in out
    assert "I'll need a visa" not in out and "need visa sponsorship for residency (" not in out

    await console.say("/profile set visa:other")
    out = await console.say("/script visa-line")
    assert "the a work visa" not in out and "planning on the" not in out
    assert "a visa other than the J-1 or H-1B" in out

    await console.say("/profile set visa:j1")
    out = await console.say("/script visa-line")
    assert "planning to train on a J-1." in out and "residents on J-1 visas?" in out

    await console.say("/profile set visa:h1b")
    assert "an H-1B" in await console.say("/script visa-line")


@pytest.mark.parametrize("spec", SPECIALTIES)
async def test_non_us_booth_questions_end_on_the_right_visa_question(console: Transcript, spec: str) -> None:
    await as_user(console, "j1", spec)
    block = script_block(await console.say("/script booth-questions"))
    assert "Does your program take residents on J-1 visas?" in block
    await console.say("/profile set visa:none")
    block = script_block(await console.say("/script booth-questions"))
    assert "J-1" not in block and "already hold US work authorization?" in block


@pytest.mark.parametrize("spec", SPECIALTIES)
async def test_us_booth_questions_ask_no_visa_question(console: Transcript, spec: str) -> None:
    await as_user(console, "us-pr", spec)
    block = script_block(await console.say("/script booth-questions"))
    assert "visa" not in block.lower() and "sponsor" not in block.lower()


# ------------------------------------------------------------------ citizen or green card

CITIZEN_CLAIMS = re.compile(r"I'm a US citizen|a US citizen who|, a US citizen|US citizen IMG")


@pytest.mark.parametrize("spec", SPECIALTIES)
async def test_a_permanent_resident_is_never_made_to_claim_citizenship(console: Transcript, spec: str) -> None:
    await as_user(console, "us-pr", spec)
    await console.say(MAYA)
    seen = ""
    for kind in ScriptKind:
        if kind == ScriptKind.VISA_LINE:
            continue
        out = await console.say(f"/script {kind.value} contact:#1")
        assert not CITIZEN_CLAIMS.search(out), (kind, out)
        seen += out
    assert "a US permanent resident (green card holder) who" in seen
    assert "US permanent resident IMG" in seen  # subject lines and signatures


@pytest.mark.parametrize("spec", SPECIALTIES)
async def test_a_citizen_says_citizen_and_an_unknown_status_asserts_neither(
    console: Transcript, app: App, spec: str
) -> None:
    await as_user(console, "us-citizen", spec)
    assert "a US citizen" in script_block(await console.say("/script cold-email"))
    out = await console.say("/script elevator-pitch")
    assert "US citizen" in script_block(out) and "permanent resident" not in script_block(out)

    other = Transcript(app, user="nadia")  # a us-img user who never said which
    await as_user(other, "us-unknown", spec)
    out = await other.say("/script cold-email")
    block = script_block(out)
    assert "[a US citizen / a US permanent resident]" in block
    assert not CITIZEN_CLAIMS.search(block.replace("[a US citizen / a US permanent resident]", ""))
    assert "/profile set status:..." in out


async def test_profile_shows_the_us_status_and_green_card_sets_it(console: Transcript) -> None:
    out = await console.say("/profile set status:green-card")
    assert "Track: US-citizen/green-card IMG" in out  # a US status implies the us-img track
    assert "US status: US permanent resident (green card)" in out
    assert "US status: US citizen" in await console.say("/profile set status:citizen")


# ------------------------------------------------------------------ salutations


@pytest.mark.parametrize("spec", SPECIALTIES)
@pytest.mark.parametrize("who", ["us-citizen", "j1"])
async def test_salutations_use_title_and_last_name(console: Transcript, spec: str, who: str) -> None:
    await as_user(console, who, spec)
    await console.say(MAYA)
    await console.say('/contact add "Sam Okafor" role:coordinator')
    await console.say('/contact add "Prof. John Smith, MD"')
    for kind in ("cold-email", "lor-request", "thank-you", "progress-update"):
        out = await console.say(f"/script {kind} contact:#1")
        assert "Dear Dr. Lee," in out and "Dr Maya Lee," not in out, (kind, out)
    assert "Dear [Dr./Mr./Ms.] Okafor," in await console.say("/script thank-you contact:#2")
    assert "Dear Prof. Smith," in await console.say("/script thank-you contact:#3")
    out = await console.say("/script thank-you")
    assert "Dear [title and last name, e.g. Dr. Lee]," in out
    assert 'Address it to someone you track: add contact:"<name>"' in out


@pytest.mark.parametrize(
    ("name", "role", "expected"),
    [
        ("Dr Maya Lee", "other", "Dr. Lee"),
        ("Maya Lee", "attending", "Dr. Lee"),
        ("Maya Lee", "coordinator", "[Dr./Mr./Ms.] Lee"),
        ("Maya Lee, MD", "other", "Dr. Lee"),
        ("Lee, Maya", "resident", "Dr. Lee"),
        ("Dr. Omar El Sayed", "other", "Dr. El Sayed"),
        ("Ms Ana de la Cruz", "coordinator", "Ms. de la Cruz"),
    ],
)
def test_salutation_from_a_typed_name(name: str, role: str, expected: str) -> None:
    assert salutation(name, role) == expected


def test_articles_for_schools_and_roles() -> None:
    assert school_in_sentence("University of Lagos") == "the University of Lagos"
    assert school_in_sentence("the University of Lagos") == "the University of Lagos"
    assert school_in_sentence("Cairo University") == "Cairo University"
    assert school_in_sentence("University College London") == "University College London"
    assert school_on_its_own("The University of Lagos") == "University of Lagos"
    assert role_phrase("research fellow") == "a research fellow"
    assert role_phrase("intern at Mayo") == "an intern at Mayo"
    assert role_phrase("MD candidate") == "an MD candidate"
    assert role_phrase("a house officer") == "a house officer"
    assert role_phrase("preparing for Step 2") == "preparing for Step 2"


# ------------------------------------------------------------------ AAP sections and peds mentors


@pytest.mark.parametrize("who", ["us-citizen", "j1"])
async def test_the_aap_section_for_imgs_is_named_and_explained(console: Transcript, who: str) -> None:
    await as_user(console, who, "peds")
    more = await console.say("/playbook section:more")
    assert "Section on International Medical Graduates" in more
    assert "the section meant for people on your path" in more
    assert "Section on Global Health, which replaced the Section on International Child Health" in more
    stakeholders = await console.say("/playbook section:stakeholders")
    assert "Section on International Medical Graduates (the AAP's own section for IMGs)" in stakeholders
    assert "international child health" not in stakeholders.lower()  # the old name is not offered as current
    arenas = await console.say("/playbook section:arenas")
    assert "SOIM and SOYP" not in arenas and "the one set up for IMGs" in arenas


@pytest.mark.parametrize("who", ["us-citizen", "j1"])
async def test_peds_attendings_hear_every_few_months_main_mentors_monthly(console: Transcript, who: str) -> None:
    await as_user(console, who, "peds")
    # added Mon 23 Nov 2026, no meeting to follow up: the mentor rhythm applies
    out = await console.say('/contact add "Dr Attending" role:attending tags:mentor how_met:email')
    assert "Next follow-up: Sun 21 Feb 2027" in out  # 90 days, not 30
    out = await console.say('/contact add "Dr Resident" role:resident tags:mentor how_met:email')
    assert "Next follow-up: Wed 23 Dec 2026" in out  # a main mentor: about monthly
    out = await console.say("/playbook section:cadences")
    assert "mentor-update (attendings, program directors): 90–120 days" in out


# ------------------------------------------------------------------ visible rendering slips


@pytest.mark.parametrize("who", ["us-citizen", "j1"])
async def test_peds_hashtags_are_not_cut_off(console: Transcript, who: str) -> None:
    await as_user(console, who, "peds")
    assert "and join #medtwitter and #peds." in await console.say("/playbook section:more")


@pytest.mark.parametrize("spec", SPECIALTIES)
@pytest.mark.parametrize("who", ["us-citizen", "j1"])
async def test_no_raw_placeholder_or_double_full_stop_anywhere(console: Transcript, spec: str, who: str) -> None:
    await as_user(console, who, spec)
    await console.say(MAYA)
    commands = [f"/script {k.value} contact:#1" for k in ScriptKind if not (k == "visa-line" and who in US)]
    commands += [
        "/script",
        "/conferences",
        "/faq",
        "/mistakes",
        "/timeline",
        "/goal set",
        *(f"/playbook section:{s}" for s in ("overview", "stakeholders", "arenas", "goals", "cadences", "more")),
    ]
    for cmd in commands:
        out = await console.say(cmd)
        assert not re.search(r"\{[a-z_]+\}", out), (cmd, out)  # e.g. a literal {interests}
        assert ".." not in out.replace("...", ""), (cmd, out)  # e.g. "offered.."


async def test_goal_counts_are_pluralised(console: Transcript) -> None:
    await as_user(console, "j1", "im")
    out = await console.say("/playbook section:goals")
    assert "1 follow-up per week" in out and "1 follow-ups" not in out and "3 emails per week" in out
    assert "Goal set: 1 follow-up per week" in await console.say("/goal set follow-ups 1 week")
    assert "Goal set: 2 new contacts per month" in await console.say("/goal set new-contacts 2 month")


@pytest.mark.parametrize("spec", SPECIALTIES)
async def test_school_and_role_get_their_articles(console: Transcript, spec: str) -> None:
    await as_user(console, "j1", spec)
    await console.say(MAYA)
    text = ""
    for kind in ("cold-email", "research-email", "conference-followup", "informational-interview", "elevator-pitch"):
        text += script_block(await console.say(f"/script {kind} contact:#1"))
    assert "the University of Lagos" in text
    assert not re.search(r"(from|at|of) University of Lagos", text)
    assert "currently research fellow" not in text and "a research fellow at" in text


async def test_signatures_keep_the_bare_school_name(console: Transcript) -> None:
    await as_user(console, "j1", "psych")
    block = script_block(await console.say("/script cold-email"))
    assert block.rstrip().endswith("Dr Amal Hassan\nUniversity of Lagos, Nigeria")


# ------------------------------------------------------------------ scripts that fit the situation


@pytest.mark.parametrize("who", ["us-citizen", "j1"])
async def test_im_linkedin_note_has_a_version_for_non_alumni(console: Transcript, who: str) -> None:
    await as_user(console, who, "im")
    block = script_block(await console.say("/script linkedin-connect"))
    alum, _, anyone = block.partition("Anyone else:")
    assert "also from the University of Lagos" in alum
    assert anyone.strip() and "also from" not in anyone and "as you did" not in anyone


@pytest.mark.parametrize("spec", SPECIALTIES)
async def test_us_track_asks_for_a_rotation_before_an_observership(console: Transcript, spec: str) -> None:
    await as_user(console, "us-citizen", spec)
    await console.say(MAYA)
    block = script_block(await console.say("/script observership-request contact:#1"))
    assert "rotation" in block and ("elective" in block or "sub-internship" in block)
    assert block.index("rotation") < block.index("observership")


@pytest.mark.parametrize("who", ["us-pr", "us-citizen", "j1", "visa-none"])
async def test_em_ten_to_fifteen_second_intro_is_about_thirty_to_forty_words(console: Transcript, who: str) -> None:
    await as_user(console, who, "em")
    out = await console.say("/script elevator-pitch")
    assert "10-15 second intro" in out
    words = len(script_block(out).split())
    assert 25 <= words <= 40, (words, out)


# ------------------------------------------------------------------ other-track clutter

NON_US_ONLY = re.compile(
    r"non-US citizens:|\(non-US citizens|If you will need a visa|not a US citizen"
    r"|visa sponsorship|sponsors? (?:visas|your visa|J-1|H-1B)",
    re.I,
)
US_ONLY = re.compile(r"US citizens?:|\(US citizens|US citizen who|green-card holder|no visa hurdle", re.I)


async def _everything(console: Transcript) -> str:
    out = ""
    for cmd in ("/faq", "/mistakes", "/conferences", "/goal set"):
        out += await console.say(cmd)
    for section in ("overview", "stakeholders", "arenas", "more"):
        out += await console.say(f"/playbook section:{section}")
    for year in (2027, 2028):  # with different ERAS months, each phase in turn is the current one
        for month in range(1, 13):
            out += await console.say(f"/timeline eras:{year}-{month:02d}")
    return out


@pytest.mark.parametrize("spec", SPECIALTIES)
async def test_each_track_sees_only_its_own_lines(console: Transcript, spec: str) -> None:
    await as_user(console, "us-citizen", spec)
    us = await _everything(console)
    assert not NON_US_ONLY.findall(us), sorted(set(NON_US_ONLY.findall(us)))
    await as_user(console, "j1", spec)
    non_us = await _everything(console)
    assert not US_ONLY.findall(non_us), sorted(set(US_ONLY.findall(non_us)))


# ------------------------------------------------------------------ seed content that was missing


@pytest.mark.parametrize("spec", SPECIALTIES)
@pytest.mark.parametrize("who", ["us-citizen", "j1"])
async def test_seed_001_advice_reaches_every_specialty(console: Transcript, spec: str, who: str) -> None:
    await as_user(console, who, spec)
    assert "10-15 lines" in await console.say("/script cold-email")
    assert "50" in await console.say("/script research-email")
    faq = await console.say("/faq")
    assert "50 carefully written emails" in faq and "10-15 lines" in faq
    goals = await console.say("/goal set")
    assert "Within 1-3 years" in goals and "presentation at a regional or national meeting" in goals
    more = await console.say("/playbook section:more")
    assert "About, in three short parts" in more and "Experience:" in more and "Featured" in more
    assert "Choose 1-2 attendings and 2-3 residents" in more or "pick 1-2 attendings and 2-3 residents" in more
    conferences = await console.say("/conferences")
    assert "panel on IMGs" in conferences
    assert "receptions for trainees" in conferences and "meet-the-professor sessions" in conferences


@pytest.mark.parametrize("who", ["us-citizen", "j1"])
async def test_seed_004_advice_reaches_pediatrics(console: Transcript, who: str) -> None:
    await as_user(console, who, "peds")
    more = await console.say("/playbook section:more")
    assert "listservs and special interest groups of AAP sections" in more
    assert "lab or team meetings" in more and "grand rounds or journal club" in more
    assert "Structured mentorship programs" in more
    assert "LinkedIn About in three parts: two or three sentences on your background" in more


# ------------------------------------------------------------------ guards for the playbook files


def test_no_playbook_line_is_cut_short_by_a_yaml_comment() -> None:
    """An unquoted ` #tag` ends a YAML plain scalar: the rest of the line silently disappears."""
    import yaml

    from bot.core.playbooks.loader import shipped_playbooks_dir

    cut = []
    for path in sorted(shipped_playbooks_dir().glob("*.yaml")):
        lines = path.read_text(encoding="utf-8").splitlines()

        def walk(node: yaml.Node, lines: list[str] = lines, name: str = path.name) -> None:
            if isinstance(node, yaml.ScalarNode) and node.style is None:
                rest = lines[node.end_mark.line][node.end_mark.column :] if node.end_mark.line < len(lines) else ""
                if "#" in rest:
                    cut.append(f"{name}:{node.end_mark.line + 1}: ...{node.value[-30:]!r} then {rest.strip()!r}")
            elif isinstance(node, yaml.SequenceNode):
                for child in node.value:
                    walk(child)
            elif isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    walk(key)
                    walk(value)

        root = yaml.compose(path.read_text(encoding="utf-8"))
        if root is not None:
            walk(root)
    assert cut == []


def test_a_placeholder_outside_subject_and_body_is_a_load_error(tmp_path: Path) -> None:
    import shutil

    from bot.core.playbooks.loader import PlaybookLoadError, load_playbooks, shipped_playbooks_dir

    d = tmp_path / "pb"
    shutil.copytree(shipped_playbooks_dir(), d)
    f = d / "psychiatry.yaml"
    f.write_text(f.read_text().replace("Set your headline first", "Set your headline ({interests}) first", 1))
    with pytest.raises(PlaybookLoadError) as err:
        load_playbooks(d)
    (e,) = err.value.errors
    assert e.file == "psychiatry.yaml" and re.fullmatch(r"scripts\[\d+\]\.when", e.path) and e.line
    assert "placeholders are filled in only in a script's subject and body" in e.message


def test_track_lines_must_name_a_track(tmp_path: Path) -> None:
    import shutil

    from bot.core.playbooks.loader import PlaybookLoadError, load_playbooks, shipped_playbooks_dir

    d = tmp_path / "pb"
    shutil.copytree(shipped_playbooks_dir(), d)
    f = d / "internal-medicine.yaml"
    f.write_text(f.read_text().replace("- non-us-img: ", "- non-us: ", 1))
    with pytest.raises(PlaybookLoadError) as err:
        load_playbooks(d)
    assert any(e.file == "internal-medicine.yaml" and e.line for e in err.value.errors)
