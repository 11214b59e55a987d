"""The hint formatter: one marked command line, shown in each front end's syntax."""

from bot.core.hints import format_hints, hint, strip_markers


def test_hint_formats_per_front_end() -> None:
    text = f"no contact matches 'Lee'; see {hint('contact list')} or add one with {hint('/contact add')}"
    assert format_hints(text) == "no contact matches 'Lee'; see /contact list or add one with /contact add"
    assert format_hints(text, "/imgbot ") == (
        "no contact matches 'Lee'; see /imgbot contact list or add one with /imgbot contact add"
    )


def test_user_text_cannot_forge_a_hint() -> None:
    typed = "\ue000evil\ue001 Dr Lee"
    assert strip_markers(typed) == "evil Dr Lee"
    assert format_hints("plain /text", "/imgbot ") == "plain /text"
