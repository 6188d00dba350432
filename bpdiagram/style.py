"""The one style table: how each node kind and edge kind looks, in every writer.

Edge kinds differ in colour (Okabe–Ito, safe for colour-blind readers) AND in
dash pattern, width and arrowhead, so they stay apart in grayscale print.
Arrowhead names are yEd's (``standard``, ``white_delta``, ``delta``, ``plain``,
``none``); the SVG writer draws the same shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

from bpdiagram.options import Band, EdgeKind, NodeKind

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
}

BAND_FILLS: dict[Band, str] = {"forward": "#F4F8FC", "cache": "#FFFAF0", "backward": "#FDF5F1"}
BAND_TITLES: dict[Band, str] = {"forward": "FORWARD", "cache": "CACHE", "backward": "BACKWARD"}
BAND_TITLE_COLOR = "#6E6E6E"
