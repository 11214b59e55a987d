"""Progress chart: a real PNG of the stated size, alt text with the numbers, sparkline shape."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.core.community.chart import Chart, WeekPoint, _drawable, _font, render_chart, sparkline

WEEKS = [
    WeekPoint("Jan 4", 12, 3, 2, 1, 7),
    WeekPoint("Jan 11", 15, 4, 0, 2, 8),
    WeekPoint("Jan 18", 9, 0, 5, 3, 6),
    WeekPoint("Jan 25", 21, 6, 4, 0, 9),
]


def open_png(chart: Chart) -> Image.Image:
    image = Image.open(io.BytesIO(chart.png))
    assert image.format == "PNG"
    image.load()  # decodes every row: a truncated or corrupt file raises here
    return image


def test_the_chart_is_a_png_of_the_stated_size() -> None:
    chart = render_chart("IMG EM circle", WEEKS)
    image = open_png(chart)
    assert image.size == (chart.width, chart.height) == (720, 360)
    other = render_chart("IMG EM circle", WEEKS, width=480, height=240)
    assert open_png(other).size == (480, 240)


def test_each_series_is_drawn_in_its_own_colour() -> None:
    image = open_png(render_chart("t", WEEKS)).convert("RGB")
    colours = {c for _n, c in image.getcolors(maxcolors=10_000) or []}
    for series in [(0, 114, 178), (230, 159, 0), (0, 158, 115), (204, 121, 167)]:
        assert series in colours
    # an empty chart has the legend but no bars: far fewer pixels of the emails colour
    empty = open_png(render_chart("t", [])).convert("RGB")

    def blue(img: Image.Image) -> int:
        return dict((c, n) for n, c in img.getcolors(maxcolors=10_000) or []).get((0, 114, 178), 0)

    assert blue(image) > 10 * blue(empty) > 0


def test_taller_bars_for_bigger_numbers() -> None:
    def blue_pixels(weeks: list[WeekPoint]) -> int:
        img = open_png(render_chart("t", weeks)).convert("RGB")
        return dict((c, n) for n, c in img.getcolors(maxcolors=10_000) or []).get((0, 114, 178), 0)

    low = [WeekPoint("a", 1, 10, 0, 0, 1), WeekPoint("b", 1, 10, 0, 0, 1)]
    high = [WeekPoint("a", 10, 10, 0, 0, 1), WeekPoint("b", 10, 10, 0, 0, 1)]
    assert blue_pixels(high) > 5 * blue_pixels(low)


def test_a_small_count_beside_a_large_one_still_draws_on_a_full_year() -> None:
    weeks = [WeekPoint(f"W{i}", 1 if i % 2 else 400, 0, 0, 1, 3) for i in range(52)]
    chart = render_chart("year", weeks)
    assert open_png(chart).size == (720, 360)
    assert "Emails sent per week: 400, 1, 400, 1," in chart.alt_text


def test_alt_text_states_every_number() -> None:
    alt = render_chart("IMG EM circle", WEEKS).alt_text
    assert alt.startswith("IMG EM circle, last 4 weeks (Jan 4 to Jan 25).")
    assert "Emails sent per week: 12, 15, 9, 21." in alt
    assert "New contacts per week: 3, 4, 0, 6." in alt
    assert "Follow-ups done per week: 2, 0, 5, 4." in alt
    assert "Conversations per week: 1, 2, 3, 0." in alt
    assert "Members who checked in: 7, 8, 6, 9." in alt


def test_no_weeks_gives_a_valid_chart_that_says_so() -> None:
    chart = render_chart("Psych circle", [])
    assert open_png(chart).size == (720, 360)
    assert chart.alt_text == "Psych circle: no check-ins yet."
    assert render_chart("x", WEEKS[:1]).alt_text.startswith("x, last week (Jan 4 to Jan 4).")


def test_long_or_odd_labels_are_cut_and_cleaned_not_refused() -> None:
    weeks = [WeekPoint("week\x00 one\nof the long labels " * 5, 1, 1, 1, 1, 1)] * 30
    chart = render_chart("title\tthat is far too long " * 20, weeks)
    assert open_png(chart).size == (720, 360)
    assert "\x00" not in chart.alt_text and "\n" not in chart.alt_text and "\t" not in chart.alt_text


@pytest.mark.parametrize(
    ("text", "drawn"),
    [
        ("IMG EM · check-ins per week", "IMG EM · check-ins per week"),
        ("Médecine IMG – Égypte", "Medecine IMG - Egypte"),
        ("Łódź circle", "Lodz circle"),
        ("Tōkyō 日本 group", "Tokyo ?? group"),
        ("دائرة الأطباء", ""),  # mostly missing from the built-in font: not drawn at all
    ],
)
def test_text_the_built_in_font_lacks_is_folded_not_drawn_as_boxes(text: str, drawn: str) -> None:
    assert _drawable(text, _font(16)) == drawn


def test_a_title_in_another_script_still_renders_and_the_alt_text_keeps_it() -> None:
    chart = render_chart("دائرة الأطباء", [WeekPoint("الأسبوع ١", 1, 2, 3, 4, 5)])
    assert open_png(chart).size == (720, 360)
    assert chart.alt_text.startswith("دائرة الأطباء, last week (الأسبوع ١ to الأسبوع ١).")


def test_bad_input_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="negative count"):
        render_chart("t", [WeekPoint("w1", -1, 0, 0, 0, 0)])
    with pytest.raises(ValueError, match="at most 52 weeks, not 53"):
        render_chart("t", [WeekPoint("w", 0, 0, 0, 0, 0)] * 53)
    with pytest.raises(ValueError, match="chart size"):
        render_chart("t", WEEKS, width=10)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], ""),
        ([0, 0, 0], "▁▁▁"),
        ([5], "█"),
        ([0, 7], "▁█"),
        ([0, 1, 2, 3, 4, 5, 6, 7], "▁▂▃▄▅▆▇█"),
        ([12, 15, 3, 0, 30], "▄▅▂▁█"),
        ([10, 10], "██"),
    ],
)
def test_sparkline_shape(values: list[int], expected: str) -> None:
    assert sparkline(values) == expected
