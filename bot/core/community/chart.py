"""A circle's weekly progress as a PNG bar chart (Pillow), with alt text, and a text sparkline.

``render_chart`` is pure and CPU-bound (a few milliseconds): an async caller runs it off the event
loop (``asyncio.to_thread``). Only Pillow's built-in font is used (``ImageFont.load_default``), so
the picture does not depend on the fonts installed. The only text drawn is the title, the week
labels, the axis numbers and the legend: no member or contact names ever reach the image.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

MAX_WEEKS = 52
_BLOCKS = "▁▂▃▄▅▆▇█"

# Okabe-Ito colours: told apart with the common colour-vision deficiencies
_SERIES: tuple[tuple[str, str, str, tuple[int, int, int]], ...] = (
    ("emails", "Emails", "Emails sent per week", (0, 114, 178)),
    ("contacts", "New contacts", "New contacts per week", (230, 159, 0)),
    ("followups", "Follow-ups", "Follow-ups done per week", (0, 158, 115)),
    ("conversations", "Conversations", "Conversations per week", (204, 121, 167)),
)
_INK = (33, 33, 33)
_MUTED = (110, 110, 110)
_GRID = (225, 225, 225)
_BACKGROUND = (255, 255, 255)


@dataclass(frozen=True, slots=True)
class WeekPoint:
    label: str
    emails: int
    contacts: int
    followups: int
    conversations: int
    members: int  # members who checked in that week


@dataclass(frozen=True, slots=True)
class Chart:
    png: bytes
    alt_text: str
    width: int
    height: int


@lru_cache(maxsize=1)
def _palette() -> Image.Image:
    """The chart's colours plus a grey ramp for anti-aliased text: mapping to it before saving halves
    the PNG and makes encoding it several times faster than RGB (see bench/README.md)."""
    colours = [_BACKGROUND, _INK, _MUTED, _GRID, *(c for *_, c in _SERIES)]
    colours += [(g, g, g) for g in range(240, 32, -12)]
    flat = [v for rgb in colours for v in rgb]
    image = Image.new("P", (1, 1))
    image.putpalette(flat + [0] * (768 - len(flat)))
    return image


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _clean(text: str) -> str:
    """One line of printable text: control and format characters dropped, whitespace collapsed."""
    kept = "".join(" " if ch.isspace() else ch for ch in text if unicodedata.category(ch)[0] != "C" or ch.isspace())
    return " ".join(kept.split())


# what to draw for characters the built-in font lacks (it covers ASCII and a few symbols only)
_FOLD = {"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "«": '"', "»": '"', "ß": "ss", "æ": "ae",
         "Æ": "AE", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "\u00a0": " "}  # fmt: skip


@lru_cache(maxsize=4096)
def _has_glyph(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, ch: str) -> bool:
    """Whether ``font`` draws ``ch`` as itself rather than as its missing-glyph box."""
    if ch == " ":
        return True
    return bytes(font.getmask(ch)) != bytes(font.getmask("\uffff"))


def _drawable(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> str:
    """``text`` in characters the font has: accents dropped (é -> e), a few look-alikes swapped,
    anything else shown as "?"; "" when most of it would be question marks (the alt text keeps
    the original words)."""
    out: list[str] = []
    missing = 0
    for ch in text:
        if _has_glyph(font, ch):
            out.append(ch)
            continue
        alt = _FOLD.get(ch) or "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if alt and alt != ch and all(_has_glyph(font, c) for c in alt):
            out.append(alt)
        else:
            out.append("?")
            missing += 1
    shown = sum(not c.isspace() for c in text)
    return "" if missing * 2 > shown else "".join(out)


def _fit(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: float) -> str:
    """``text`` cut (with an ellipsis) to at most ``width`` pixels."""
    if font.getlength(text) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if font.getlength(text[:mid].rstrip() + "…") <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…" if lo else ""


def _step(top: int) -> int:
    """A 1-2-5 step giving at most five grid lines up to ``top``."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if top <= 5 * step * m:
                return step * m
        step *= 10


def _numbers(values: Sequence[int]) -> str:
    return ", ".join(str(v) for v in values)


def alt_text(title: str, weeks: Sequence[WeekPoint]) -> str:
    """The chart's numbers in words, for screen readers and for platforms that show no image."""
    title = _clean(title) or "Circle progress"
    if not weeks:
        return f"{title}: no check-ins yet."
    n = len(weeks)
    span = "last week" if n == 1 else f"last {n} weeks"
    parts = [f"{title}, {span} ({_clean(weeks[0].label)} to {_clean(weeks[-1].label)})."]
    for attr, _legend, words, _colour in _SERIES:
        parts.append(f"{words}: {_numbers([getattr(w, attr) for w in weeks])}.")
    parts.append(f"Members who checked in: {_numbers([w.members for w in weeks])}.")
    return " ".join(parts)


def render_chart(title: str, weeks: Sequence[WeekPoint], *, width: int = 720, height: int = 360) -> Chart:
    """Grouped bars per week (emails, new contacts, follow-ups, conversations), check-ins under each week."""
    if not 320 <= width <= 2000 or not 200 <= height <= 1200:
        raise ValueError("chart size must be 320-2000 by 200-1200 pixels")
    if len(weeks) > MAX_WEEKS:
        raise ValueError(f"a chart shows at most {MAX_WEEKS} weeks, not {len(weeks)}")
    for w in weeks:
        if min(w.emails, w.contacts, w.followups, w.conversations, w.members) < 0:
            raise ValueError(f"week {_clean(w.label)!r} has a negative count")

    image = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    title_font, font, small = _font(16), _font(12), _font(11)
    text = _drawable(_clean(title), title_font) or "Circle progress"
    draw.text((12, 10), _fit(text, title_font, width - 24), font=title_font, fill=_INK)

    # legend, right under the title
    x = 12
    for _attr, legend, _words, colour in _SERIES:
        draw.rectangle((x, 38, x + 10, 48), fill=colour)
        draw.text((x + 14, 36), legend, font=font, fill=_INK)
        x += 14 + int(font.getlength(legend)) + 16
    note = _fit("N in: members who checked in", small, width - 12 - x)
    draw.text((x, 37), note, font=small, fill=_MUTED)

    left, right, top, bottom = 44, width - 12, 62, height - 40
    if not weeks:
        message = "No check-ins yet"
        tw = font.getlength(message)
        draw.text(((left + right - tw) / 2, (top + bottom) / 2 - 6), message, font=font, fill=_MUTED)
    else:
        peak = max(max(getattr(w, a) for a, *_ in _SERIES) for w in weeks)
        step = _step(max(peak, 1))
        axis_top = max(step, -(-peak // step) * step)
        scale = (bottom - top) / axis_top
        for value in range(0, axis_top + 1, step):
            y = bottom - value * scale
            draw.line((left, y, right, y), fill=_GRID if value else _MUTED)
            label = str(value)
            draw.text((left - 6 - small.getlength(label), y - 7), label, font=small, fill=_MUTED)

        slot = (right - left) / len(weeks)
        bar = max(1, min(14, int((slot - 4) / len(_SERIES))))
        labels = [_drawable(_clean(w.label), small) for w in weeks]
        # on a long run of weeks, label every few weeks (always the latest) so the labels stay legible
        widest = max((small.getlength(t) for t in labels), default=0.0)
        every = max(1, -(-min(60, int(widest) + 6) // int(slot)))
        for i, w in enumerate(weeks):
            centre = round(left + slot * (i + 0.5))
            x0 = centre - bar * len(_SERIES) // 2
            for s, (attr, _legend, _words, colour) in enumerate(_SERIES):
                value = getattr(w, attr)
                if value:
                    bx = x0 + s * bar
                    # at least one pixel tall, so a small count next to a large one still shows
                    y0 = min(bottom - value * scale, bottom - 1)
                    draw.rectangle((bx, y0, bx + max(bar - 2, 0), bottom - 1), fill=colour)
            if (len(weeks) - 1 - i) % every:
                continue
            room = slot * every - 4
            label = _fit(labels[i], small, room)
            draw.text((centre - small.getlength(label) / 2, bottom + 4), label, font=small, fill=_INK)
            count = _fit(f"{w.members} in", small, room)
            draw.text((centre - small.getlength(count) / 2, bottom + 19), count, font=small, fill=_MUTED)

    out = io.BytesIO()
    image.quantize(palette=_palette(), dither=Image.Dither.NONE).save(out, format="PNG", compress_level=6)
    return Chart(png=out.getvalue(), alt_text=alt_text(title, weeks), width=width, height=height)


def sparkline(values: Sequence[int]) -> str:
    """One block character per value, lowest ▁ to highest █ (zero is always the lowest); empty -> ""."""
    if not values:
        return ""
    lo = min(0, *values)
    hi = max(values)
    if hi == lo:
        return _BLOCKS[0] * len(values)
    top = len(_BLOCKS) - 1
    return "".join(_BLOCKS[round((v - lo) * top / (hi - lo))] for v in values)
