# ruff: noqa: E501  (the drafts are pasted as a mail client shows them: one line per paragraph)
"""Issue 11, part 4: /review checks a pasted draft against the playbook's rules, and stores nothing.

Each rule is caught on a planted draft: a good draft with exactly one defect put in. A good
draft from each specialty passes with no false alarm, on both tracks.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.core.playbooks.loader import PlaybookLoadError, TrackView, load_playbooks, shipped_playbooks_dir
from bot.core.review import read_draft, review
from tests.helpers import Transcript
from tests.test_privacy import text_of_every_row

LIB = load_playbooks(shipped_playbooks_dir())

GOOD = {
    "psych": """Subject: IMG from Egypt - a question about your consult-liaison work

Dear Dr. Lee,

Your recent paper on delirium screening in older inpatients made me rethink how we screen on our medical wards in Cairo.

I'm Dr Amal Hassan, a graduate of Cairo University now doing research on delirium, and I plan to apply to US psychiatry residency next year.

Would you have 15 minutes in the next few weeks for a short call about how you set up that screening?

With thanks,
Dr Amal Hassan
""",
    "em": """Subject: Nigerian graduate - one question about your ultrasound teaching

Dear Dr. Okafor,

I watched your talk on point-of-care ultrasound for new interns, and the idea of a five-scan starter set stayed with me.

I'm Dr Chidi Obi, a graduate of the University of Lagos working in an emergency department in Lagos, preparing to apply to US emergency medicine.

Would you share a few lines on how an applicant like me can build ultrasound experience that programs value?

Best regards,
Dr Chidi Obi
""",
    "im": """Subject: International graduate - question about your QI work on readmissions

Dear Dr. Patel,

I read your article on cutting heart-failure readmissions with pharmacist-led discharge calls.

I'm Dr Sara Khan, a graduate of King Edward Medical University, now a research fellow in Lahore; I plan to apply to internal medicine with ERAS next year.

Could we talk for 15-20 minutes in the coming weeks about how you started that project?

I can send a one-page CV if that would be useful.

With thanks,
Dr Sara Khan
""",
    "peds": """Subject: Pediatrics applicant from India - your work on neonatal sepsis

Dear Dr. Garcia,

Your study on early-onset sepsis calculators in community nurseries connects closely with my work in a neonatal unit in Pune.

I'm Dr Priya Nair, a graduate of B. J. Medical College, and I'm working toward the pediatrics match.

May I ask how you would suggest an international graduate get involved in research like yours?

Thank you for your time,
Dr Priya Nair
""",
}


def _view(spec: str = "psych", track: str = "non-us-img") -> TrackView:
    return LIB.get(spec).view(track)


def flagged(text: str, spec: str = "psych", kind: str = "cold-email") -> set[str]:
    return {f.rule.id for f in review(_view(spec), kind, text) if not f.passed}


@pytest.mark.parametrize("spec", sorted(GOOD))
@pytest.mark.parametrize("track", ["us-img", "non-us-img"])
def test_a_good_draft_from_each_specialty_passes_every_rule(spec: str, track: str) -> None:
    findings = review(_view(spec, track), "cold-email", GOOD[spec])
    assert len(findings) >= 11
    assert [f.rule.id for f in findings if not f.passed] == []


G = GOOD["psych"]
ASK = "Would you have 15 minutes in the next few weeks for a short call about how you set up that screening?"
FIRST = "Your recent paper on delirium screening"

PLANTS: dict[str, list[Callable[[str], str]]] = {
    "length": [
        lambda t: t.replace(
            "With thanks,", "\n".join(f"Extra line {n} about my path." for n in range(9)) + "\nWith thanks,"
        )
    ],
    "visa-in-opening": [
        lambda t: t.replace("Dear Dr. Lee,\n", "Dear Dr. Lee,\nI am on a J-1 visa and will need sponsorship.\n"),
        lambda t: t.replace("Dear Dr. Lee,\n", "Dear Dr. Lee,\nAs a non-US citizen I need H-1B sponsorship.\n"),
    ],
    "big-ask-first": [
        lambda t: t.replace(ASK, "Would you consider me for an observership in your department?"),
        lambda t: t.replace(ASK, "Could you write me a letter of recommendation for ERAS?"),
        lambda t: t.replace(ASK, "Is there an open position in your research group?"),
        lambda t: t.replace(ASK, "I am writing to request a clinical elective with your team."),
        lambda t: t.replace(ASK, "Please give me an observership and a letter."),
    ],
    "generic-greeting": [
        lambda t: t.replace("Dear Dr. Lee,", "To whom it may concern,"),
        lambda t: t.replace("Dear Dr. Lee,", "Dear Sir/Madam,"),
    ],
    "full-name-salutation": [
        lambda t: t.replace("Dear Dr. Lee,", "Dear Dr. Maya Lee,"),
        lambda t: t.replace("Dear Dr. Lee,", "Dear Maya Lee,"),
    ],
    "no-ask": [lambda t: t.replace(ASK, "I hope to learn more about how you set up that screening.")],
    "several-asks": [lambda t: t.replace(ASK, ASK + " Could you also introduce me to your program director?")],
    "unrequested-cv": [
        lambda t: t.replace(ASK, ASK + " I have attached my CV for your review."),
        lambda t: t.replace(ASK, ASK + " My CV is attached."),
    ],
    "leftover-placeholders": [
        lambda t: t.replace("on delirium screening", "on [topic]"),
        lambda t: t.replace("Dr Amal Hassan\n", "{name}\n"),
    ],
    "subject-line": [lambda t: t.split("\n", 2)[2]],
    "names-someone": [
        lambda t: t.replace("Dear Dr. Lee,", "Good morning,").replace(
            "Your recent paper on delirium screening in older inpatients made me rethink",
            "Psychiatry research has made me rethink",
        )
    ],
}


def test_every_base_rule_has_a_plant() -> None:
    base = {r.id for r in _view().review_rules if not r.id.startswith("psych-")}
    assert base == set(PLANTS)


@pytest.mark.parametrize(("rule", "n"), [(r, i) for r, fs in PLANTS.items() for i in range(len(fs))])
def test_each_rule_catches_its_planted_defect(rule: str, n: int) -> None:
    draft = PLANTS[rule][n](G)
    assert draft != G
    found = flagged(draft)
    assert rule in found, (rule, draft)
    # the plant trips its own rule; a greeting swap may also make the draft less personal
    assert found - {rule} <= {"names-someone", "generic-greeting"}, found


def test_specialty_rules_are_added_to_the_base() -> None:
    em = GOOD["em"].replace(
        "Would you share a few lines", "Would you be willing to write me a SLOE? Would you share a few lines"
    )
    assert "em-no-sloe-ask" in flagged(em, "em")
    assert "em-no-sloe-ask" not in {r.id for r in _view("im").review_rules}
    psych = G.replace("made me rethink", "and my patient, named Mr. Ahmed, made me rethink")
    assert "psych-patient-privacy" in flagged(psych)
    assert flagged(psych, "peds") == set()  # pediatrics has no such rule; the base rules pass


def test_rules_apply_per_kind() -> None:
    thanks = G.replace(ASK, "Thank you again for the call last week; your advice on the screening tool helped.")
    assert "no-ask" in flagged(thanks, kind="cold-email")
    assert "no-ask" not in flagged(thanks, kind="thank-you")  # a thank-you needs no ask
    letter = G.replace(ASK, "Would you be willing to write me a letter of recommendation?")
    assert "big-ask-first" in flagged(letter, kind="cold-email")
    assert "big-ask-first" not in flagged(letter, kind="lor-request")
    cv = G.replace(ASK, ASK + " My CV is attached.")
    assert "unrequested-cv" not in flagged(cv, kind="research-email")
    assert "unrequested-cv" not in flagged(G.replace(ASK, ASK + " As you requested, my CV is attached."))


def test_an_observership_mentioned_but_not_asked_for_is_fine() -> None:
    draft = G.replace("now doing research on delirium", "now finishing an observership at a hospital in Boston")
    assert flagged(draft) == set()


def test_a_long_paragraph_counts_as_the_lines_it_wraps_to() -> None:
    one = "word " * 400  # one pasted line of 2000 characters
    assert read_draft(f"Subject: x\n{one}").line_count == 20


async def test_console_block_reviews_a_pasted_draft_and_stores_nothing(console: Transcript) -> None:
    await console.say("/profile set specialty:psych track:non-us-img visa:j1")
    before = await text_of_every_row(console.app)
    bad = PLANTS["big-ask-first"][0](G)
    assert await console.say("/review cold-email <<") == ""
    for line in bad.splitlines():
        assert await console.say(line) == ""
    out = await console.say(".")
    assert "Review of your cold-email draft: 1 thing to fix" in out
    assert "✗ Size of the ask (“observership”): Don't ask a stranger for a letter, an observership or a job" in out
    assert "✓ Subject line: There is a subject line." in out
    assert "Compare with /script cold-email · your draft was checked, not stored" in out
    good = await console.say("/review cold-email <<") + "".join([await console.say(x) for x in G.splitlines()])
    out = good + await console.say(".")
    assert "ready to send" in out and "✗" not in out
    assert await text_of_every_row(console.app) == before  # no table changed


async def test_console_block_keeps_command_and_comment_lines_and_ends_at_eof(console: Transcript) -> None:
    from bot.frontends.console import run_piped

    await console.say("/profile set specialty:em track:us-img")
    draft = "Subject: hi\nDear Dr. Okafor,\n/script is a command\n# not a comment here\nYour talk on [topic] was great."
    stream = io.StringIO("/review cold-email <<\n" + draft + "\n")
    await run_piped(console.front, console.engine(), stream)
    out = console.out.getvalue()
    assert "Placeholders (“[topic]”)" in out  # the block reached /review with its last line, at end of input


async def test_review_needs_a_draft_and_a_kind(console: Transcript) -> None:
    await console.say("/profile set specialty:psych track:non-us-img")
    assert "/profile show takes no text block" in await console.say("/profile show <<")
    assert "needs draft" in await console.say("/review cold-email")
    assert "option 'kind'" in await console.say('/review cold-mail "Subject: x"')
    out = await console.say('/review cold-email "Dear Dr. Lee, would you have 15 minutes for a call?"')
    assert "Subject line" in out and "Traceback" not in out


def test_a_bad_pattern_is_a_load_error(tmp_path: Path) -> None:
    d = tmp_path / "pb"
    shutil.copytree(shipped_playbooks_dir(), d)
    f = d / "_base.yaml"
    f.write_text(f.read_text().replace("'to whom it may concern'", "'to whom (it may concern'", 1))
    with pytest.raises(PlaybookLoadError) as err:
        load_playbooks(d)
    e = err.value.errors[0]
    assert e.file == "_base.yaml" and e.path.startswith("review_rules[") and e.line
    assert "is not a valid regular expression" in e.message


def passed(text: str, spec: str = "psych", kind: str = "cold-email") -> set[str]:
    return {f.rule.id for f in review(_view(spec), kind, text) if f.passed}


def test_a_greeting_on_the_same_line_as_the_text_is_still_read() -> None:
    one_line = "Hi, I am an IMG from Egypt. Would you have 15 minutes for a short call? Thanks, Amal"
    assert "generic-greeting" in flagged(one_line)
    assert "generic-greeting" in flagged("Dear Doctor, I read your paper on delirium. " + ASK)
    assert "generic-greeting" not in flagged("Dear Dr. Lee, I read your paper on delirium. " + ASK)
    assert "generic-greeting" not in flagged("Hello Dr Lee! I read your paper on delirium. " + ASK)


def test_a_draft_without_a_greeting_gets_no_verdict_on_its_greeting_or_salutation() -> None:
    bare = "I read your paper on delirium screening. " + ASK
    ids = {f.rule.id for f in review(_view(), "cold-email", bare)}
    assert "generic-greeting" not in ids and "full-name-salutation" not in ids  # neither "fine" nor a fix
    assert {"generic-greeting", "full-name-salutation"} <= passed(G)  # a draft with one: judged
