"""Option descriptions as people read them in /help, Slack modals and Discord's option picker."""

from __future__ import annotations

import re

from bot.core.commands import build_registry
from bot.core.registry import OptionType


def test_examples_of_choices_in_a_description_are_real_choices() -> None:
    # "which script the draft is (cold-email, follow-up...)" sent people to a kind that does not exist
    wrong = []
    for command in build_registry().commands:
        for opt in command.options:
            if opt.type != OptionType.CHOICE:
                continue
            values = {c.value for c in opt.choices}
            for listed in re.findall(r"\(([^()]*,[^()]*)\)", opt.description):
                for word in re.split(r"[,\s.]+", listed):
                    if "-" in word and word not in values:
                        wrong.append((command.qualified, opt.name, word))
    assert wrong == []
