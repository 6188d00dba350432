"""The one style table: how each node kind and edge kind looks, in every writer, per theme.

Edge kinds differ in colour (Okabe–Ito, safe for colour-blind readers) AND in
dash pattern, width and arrowhead, so they stay apart in grayscale print.
Arrowhead names are yEd's (``standard``, ``white_delta``, ``delta``, ``plain``,
``none``); the SVG writer draws the same shapes.

A theme (``--theme``) maps to one ``StyleTable``. Themes change paint only
(colours, widths, dashes); shapes, arrowheads and the legend's wording are
the same in every theme, so the layout — which sizes nodes by shape — is
shared and a diagram looks the same shape in colour and in print.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from bpdiagram.options import Band, EdgeKind, NodeKind, Theme

FONT_FAMILY = "DejaVu Sans"
FONT_STACK = "'DejaVu Sans', Verdana, 'Bitstream Vera Sans', sans-serif"
FONT_SIZE = 14.0
TITLE_SIZE = 18.0
SMALL_SIZE = 11.5
LINE_HEIGHT = 1.45
"""Line pitch in em; roomy enough for superscripts above and subscripts below."""
PAD_X = 12.0
PAD_Y = 8.0
SCRIPT_SCALE = 0.7
SUP_SHIFT = -0.38
SUB_SHIFT = 0.22
TEXT_COLOR = "#1A1A1A"
BACKGROUND = "#FFFFFF"


@dataclass(frozen=True)
class EdgeStyle:
    """Stroke and head of one edge kind; ``dash`` is an SVG dasharray ("" for solid)."""

    color: str
    width: float
    dash: str
    head: str
    yed_line: str
    meaning: str


@dataclass(frozen=True)
class NodeStyle:
    """Shape (yEd shape name), fill, border and border dash of one node kind."""

    shape: str
    fill: str
    stroke: str
    stroke_width: float
    dash: str = ""


EDGE_STYLES: dict[EdgeKind, EdgeStyle] = {
    "forward": EdgeStyle("#0072B2", 1.6, "", "standard", "line", "value into the next op"),
    "cache": EdgeStyle("#E69F00", 1.6, "6 4", "white_delta", "dashed", "value kept for the backward pass"),
    "backward": EdgeStyle("#D55E00", 2.6, "", "delta", "line", "gradient flows back"),
    "update": EdgeStyle("#009E73", 1.8, "10 3 2 3", "plain", "dashed_dotted", "parameter update"),
    "derivative": EdgeStyle("#CC79A7", 1.3, "1.5 3", "none", "dotted", "op ↔ its backward op"),
}

NODE_STYLES: dict[NodeKind, NodeStyle] = {
    "input": NodeStyle("rectangle", "#EEEEEE", "#555555", 1.4),
    "target": NodeStyle("rectangle", "#EEEEEE", "#555555", 1.4),
    "param": NodeStyle("ellipse", "#FFF6D5", "#8C6D00", 1.4),
    "op": NodeStyle("roundrectangle", "#E3EFF9", "#0072B2", 1.5),
    "loss": NodeStyle("roundrectangle", "#F3E6EF", "#6B2D5C", 2.2),
    "cached": NodeStyle("rectangle", "#FFF3DC", "#B57D00", 1.3, "4 3"),
    "grad": NodeStyle("roundrectangle", "#FBE8DE", "#D55E00", 1.5),
    "sum": NodeStyle("ellipse", "#FFFFFF", "#555555", 1.4),
    # a value handed on from (or to) another tier of a wrapped network: a plain stand-in, dashed
    "continuation": NodeStyle("rectangle", "#FFFFFF", "#555555", 1.3, "2 3"),
}

BAND_FILLS: dict[Band, str] = {"forward": "#F4F8FC", "cache": "#FFFAF0", "backward": "#FDF5F1"}
BAND_TITLES: dict[Band, str] = {"forward": "FORWARD", "cache": "CACHE", "backward": "BACKWARD"}
BAND_TITLE_COLOR = "#6E6E6E"
LEGEND_STROKE = "#BBBBBB"


@dataclass(frozen=True)
class StyleTable:
    """Everything a writer paints with, for one theme."""

    edges: Mapping[EdgeKind, EdgeStyle]
    nodes: Mapping[NodeKind, NodeStyle]
    band_fills: Mapping[Band, str]
    band_title_color: str
    text_color: str
    background: str
    legend_stroke: str
    flow_bar: str = "#D55E00"
    """Bars of the gradient-flow strip: the backward pass's colour, since they measure its gradients."""
    flow_broken: str = "#B00020"
    """The mark of a norm that is 0 or not finite (no bar can show it on a log scale)."""
    precision_line: str = "#B00020"
    """The underflow and overflow lines of a 16-bit format across the gradient-flow strip (mixed precision)."""
    precision_dash: str = "6 3"
    """Their dash pattern: dashed, so they read as limits, not as bars or axes, in print too."""
    precision_band: str = "#FBE3E6"
    """The fill of the strip's region below the underflow line, where a bar's entries flush to zero."""

    def node(self, kind: NodeKind, alert: bool = False) -> NodeStyle:
        """How a node of ``kind`` is painted; ``alert`` (a backward op whose arrays a 16-bit format loses
        entries of) is outlined in the precision colour, thicker, so the badge is seen from afar."""
        style = self.nodes[kind]
        if not alert:
            return style
        return dataclasses.replace(style, stroke=self.precision_line, stroke_width=style.stroke_width + 1.6)


DEFAULT = StyleTable(EDGE_STYLES, NODE_STYLES, BAND_FILLS, BAND_TITLE_COLOR, TEXT_COLOR, BACKGROUND, LEGEND_STROKE)

# The print theme: grayscale-safe. Kinds are told apart by dash pattern, width and
# arrowhead alone (every kind has its own dash pattern); black and grey strokes on white.
_PRINT_EDGES: dict[EdgeKind, tuple[str, float, str, str]] = {
    # kind: (colour, width, SVG dasharray, yEd line type)
    "forward": ("#000000", 1.5, "", "line"),
    "cache": ("#555555", 1.5, "6 4", "dashed"),
    "backward": ("#000000", 2.6, "14 4", "dashed"),
    "update": ("#000000", 1.6, "10 3 2 3", "dashed_dotted"),
    "derivative": ("#555555", 1.4, "1.5 3.5", "dotted"),
}
_PRINT_NODES: dict[NodeKind, tuple[str, str, float, str]] = {
    # kind: (fill, stroke, stroke width, border dasharray)
    "input": ("#FFFFFF", "#000000", 1.3, ""),
    "target": ("#FFFFFF", "#000000", 1.3, ""),
    "param": ("#FFFFFF", "#000000", 1.3, ""),
    "op": ("#FFFFFF", "#000000", 1.5, ""),
    "loss": ("#FFFFFF", "#000000", 2.6, ""),
    "cached": ("#FFFFFF", "#555555", 1.3, "4 3"),
    "grad": ("#FFFFFF", "#000000", 1.5, ""),
    "sum": ("#FFFFFF", "#000000", 1.3, ""),
    "continuation": ("#FFFFFF", "#000000", 1.3, "2 3"),
}

PRINT = StyleTable(
    edges={k: dataclasses.replace(EDGE_STYLES[k], color=c, width=w, dash=d, yed_line=y)
           for k, (c, w, d, y) in _PRINT_EDGES.items()},
    nodes={k: dataclasses.replace(NODE_STYLES[k], fill=f, stroke=s, stroke_width=w, dash=d)
           for k, (f, s, w, d) in _PRINT_NODES.items()},
    band_fills={"forward": "#F4F4F4", "cache": "#FFFFFF", "backward": "#F4F4F4"},
    band_title_color="#555555",
    text_color="#000000",
    background="#FFFFFF",
    legend_stroke="#888888",
    flow_bar="#555555",
    flow_broken="#000000",
    precision_line="#000000",
    precision_band="#E6E6E6",
)

THEMES: dict[Theme, StyleTable] = {"default": DEFAULT, "print": PRINT}


def style_table(theme: Theme) -> StyleTable:
    """The style table of ``theme`` (one of ``options.THEMES``)."""
    return THEMES[theme]
