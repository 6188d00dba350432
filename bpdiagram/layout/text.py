"""Measure and place label text with DejaVu Sans metrics.

Every writer places runs at the positions computed here (rasterisers handle
``text-anchor`` and ``baseline-shift`` inconsistently), and node boxes are
sized from the same numbers, so a label never spills out of its node.
"""

from __future__ import annotations

from dataclasses import dataclass

from bpdiagram import richtext
from bpdiagram.layout.metrics import ASCENT, BOLD_WIDTHS, DESCENT, WIDTHS
from bpdiagram.richtext import Script
from bpdiagram.style import LINE_HEIGHT, SCRIPT_SCALE, SUB_SHIFT, SUP_SHIFT

UNKNOWN_WIDTH = 1.0
"""Characters outside the table (emoji, CJK) are taken as one em: wide enough for all of them."""

TOP_GAP = 0.15
"""Room above the first line's ascent, in em: superscripts reach a little above the ascent."""
MAX_LINE_EM = 34.0
"""Longest label line, in em of the base size; longer lines are cut with an ellipsis."""


@dataclass(frozen=True)
class PlacedRun:
    """A run at ``dx`` from the line start, baseline shifted by ``dy``, in font ``size``."""

    text: str
    script: Script
    dx: float
    dy: float
    size: float


@dataclass(frozen=True)
class TextLine:
    """One line of a label: its runs and total width."""

    runs: tuple[PlacedRun, ...]
    width: float


@dataclass(frozen=True)
class TextBlock:
    """A laid-out label: lines, their pitch and the block's size."""

    lines: tuple[TextLine, ...]
    line_height: float
    width: float
    height: float
    size: float

    @property
    def first_baseline(self) -> float:
        """Distance from the block's top to its first baseline (every writer and the quality check use it)."""
        return TOP_GAP * self.size + ASCENT * self.size


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Advance width of ``text`` at font ``size`` (in the bold face with ``bold``)."""
    widths = BOLD_WIDTHS if bold else WIDTHS
    return sum(widths.get(ord(c), UNKNOWN_WIDTH) for c in text) * size


def layout_text(markup: str, size: float, *, cut: bool = True, bold: bool = False) -> TextBlock:
    """Place every run of ``markup``; lines too long are cut with an ellipsis (unless ``cut`` is False).

    With ``bold`` the runs are measured in the bold face (titles are drawn bold).
    """
    lines = []
    limit = MAX_LINE_EM * size if cut else float("inf")
    for runs in richtext.parse(markup):
        placed: list[PlacedRun] = []
        x = 0.0
        for run in runs:
            run_size = size * (SCRIPT_SCALE if run.script != "normal" else 1.0)
            dy = {"normal": 0.0, "sup": SUP_SHIFT * size, "sub": SUB_SHIFT * size}[run.script]
            # renderers collapse spaces at tspan edges, so spaces become offsets
            body = run.text.strip()
            lead = run.text[: len(run.text) - len(run.text.lstrip())]
            trail = run.text[len(run.text.rstrip()):] if body else ""
            x += text_width(lead, run_size, bold=bold)
            w = text_width(body, run_size, bold=bold)
            if x + w > limit:
                body = _cut(body, run_size, limit - x)
                placed.append(PlacedRun(body, run.script, x, dy, run_size))
                x += text_width(body, run_size, bold=bold)
                break
            if body:
                placed.append(PlacedRun(body, run.script, x, dy, run_size))
            x += w + text_width(trail, run_size, bold=bold)
        end = max((r.dx + text_width(r.text, r.size, bold=bold) for r in placed), default=0.0)
        lines.append(TextLine(tuple(placed), end))
    pitch = LINE_HEIGHT * size
    width = max((line.width for line in lines), default=0.0)
    height = pitch * (len(lines) - 1) + (ASCENT + DESCENT) * size + 2 * TOP_GAP * size
    return TextBlock(tuple(lines), pitch, width, height, size)


def wrap_words(text: str, size: float, room: float, *, bold: bool = False) -> str:
    """Plain ``text`` as markup whose lines fit ``room`` px at font ``size``, broken between words.

    A word wider than ``room`` keeps a line of its own (it is never cut).

    >>> wrap_words("one two three", 10.0, 60.0)
    'one two\\nthree'
    """
    lines: list[str] = []
    for word in text.split():
        if lines and text_width(f"{lines[-1]} {word}", size, bold=bold) <= room:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return "\n".join(richtext.escape(line) for line in lines)


def _cut(text: str, size: float, room: float) -> str:
    out = ""
    for c in text:
        if text_width(out + c + "…", size) > room:
            break
        out += c
    return out + "…"
