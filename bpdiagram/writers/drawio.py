"""draw.io writer: an uncompressed ``.drawio`` file (``mxfile`` / ``mxGraphModel``) that opens laid out and styled.

draw.io (diagrams.net) runs on mxGraph, whose model is a tree of cells: the
root ``0``, the default layer ``1``, then vertices and edges with an
``mxGeometry`` each and a style string of ``key=value;`` pairs.

- Each band is a swimlane container (title bar on the left, as the SVG's band
  titles) holding its nodes; a child's geometry is relative to its container.
- Named styles (``swimlane``, ``ellipse``, ``text``) come from draw.io's
  stylesheet; each is followed by the keys it stands for, so mxGraph without
  that stylesheet draws the same shapes.
- Every node is a vertex with its box, its kind's fill, border and shape, and
  an HTML label (``<sup>``/``<sub>`` for sub/superscripts).
- Every edge keeps its ends exactly: fixed connection points (``exitX``/
  ``exitY``, ``entryX``/``entryY`` as fractions of the node box, perimeter
  projection off) and the bends of ``writers.polyline``; its kind's colour,
  width, dash pattern (``fixDash=1``: in pixels, as the SVG's) and arrowhead
  (``endSize`` = the head's length). Its label sits where the SVG draws it
  (an offset from the path's middle).
- ``jumpStyle=arc`` (``gap`` with ``--jumps gap``) on the edges that hop in
  the SVG, ``none`` on the others: draw.io draws the jump on the edge that is
  in front, so edges are ordered to put each hopping edge after the one it
  hops over, and behind the lines it crosses plainly (the jump rule).
- The legend is a container of cells: a sample edge and a text per kind.
- Ids are the model's (nodes ``Z1``, edges ``e0``), ``band.<band>`` for the
  swimlanes, ``legend…`` and ``title``; each cell is wrapped in an ``<object>``
  carrying ``kind``, ``band`` and ``layer``, which draw.io shows as the cell's
  data (Edit Data) and scripts read from the XML.
"""

from __future__ import annotations

import heapq
import itertools
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import Any

from bpdiagram.layout.overlays import AXIS_X
from bpdiagram.layout.scene import EdgeRoute, FlowStrip, NodeBox, Point, Scene
from bpdiagram.layout.text import TextBlock
from bpdiagram.options import JumpStyle
from bpdiagram.style import (
    FONT_FAMILY,
    FONT_SIZE,
    SMALL_SIZE,
    TITLE_SIZE,
    EdgeStyle,
    StyleTable,
    style_table,
)
from bpdiagram.writers import Writer
from bpdiagram.writers.graphml import LABEL_PAD, band_groups
from bpdiagram.writers.polyline import polyline
from bpdiagram.writers.svg import CORNER
from bpdiagram.writers.xmltext import clean, document, markup_lines, num

BAND_TITLE_WIDTH = 34.0
"""px: the swimlane's title bar on the left, where the SVG writes the band's name."""
LEGEND_HEAD = 8.0
ARROWS: dict[str, tuple[str, int]] = {
    # yEd head name (the style table's) → draw.io endArrow, endFill
    "standard": ("classic", 1),
    "delta": ("block", 1),
    "white_delta": ("block", 0),
    "plain": ("open", 0),
    "none": ("none", 0),
}
SHAPES: dict[str, str] = {
    "rectangle": "rounded=0;",
    "roundrectangle": f"rounded=1;absoluteArcSize=1;arcSize={num(2 * CORNER)};",
    "ellipse": "ellipse;shape=ellipse;perimeter=ellipsePerimeter;",
}

__all__ = ["WRITER", "edge_order", "hopping", "html_label", "render"]


def render(scene: Scene) -> bytes:
    """The scene as ``.drawio`` bytes (UTF-8 XML)."""
    st = style_table(scene.theme)
    mxfile = ET.Element("mxfile", {"host": "bpdiagram", "compressed": "false"})
    diagram = ET.SubElement(mxfile, "diagram", {"id": "bpdiagram", "name": clean(scene.title) or "Page-1"})
    model = ET.SubElement(diagram, "mxGraphModel", {
        "dx": "0", "dy": "0", "grid": "0", "gridSize": "10", "guides": "1", "tooltips": "1", "connect": "1",
        "arrows": "1", "fold": "1", "page": "0", "pageScale": "1", "pageWidth": num(scene.width),
        "pageHeight": num(scene.height), "math": "0", "shadow": "0", "background": st.background})
    root = ET.SubElement(model, "root")
    ET.SubElement(root, "mxCell", {"id": "0"})
    ET.SubElement(root, "mxCell", {"id": "1", "parent": "0"})
    if scene.title:
        _title(root, scene, st)
    origin: dict[str, Point] = {}
    placed: set[str] = set()
    for group in band_groups(scene):
        style = (f"swimlane;shape=swimlane;horizontal=0;align=center;verticalAlign=middle;"
                 f"startSize={num(BAND_TITLE_WIDTH)};html=1;container=1;collapsible=0;"
                 f"swimlaneLine=0;rounded=0;fillColor={st.band_fills[group.band]};"
                 f"swimlaneFillColor={st.band_fills[group.band]};strokeColor=none;fontColor={st.band_title_color};"
                 f"fontFamily={FONT_FAMILY};fontSize=11;fontStyle=0;")
        title = "<br>".join(_escape(t) for t in group.title) if group.titled else ""
        data = {"kind": "band", "band": group.band} | ({"tier": str(group.tier)} if group.tier else {})
        _vertex(root, group.id, "1", title, style, (group.x, group.y, group.w, group.h), data)
        for node in group.nodes:
            _node(root, node, group.id, (group.x, group.y), st)
            origin[node.id] = (group.x, group.y)
            placed.add(node.id)
    for node in scene.nodes:
        if node.id not in placed:
            _node(root, node, "1", (0.0, 0.0), st)
    if scene.flow is not None:
        _flow(root, scene.flow, st)
    _legend(root, scene, st)
    boxes = {n.id: n for n in scene.nodes}
    hops = hopping(scene)
    hop: JumpStyle = "gap" if scene.jump_style == "gap" else "arc"
    for edge in edge_order(scene):
        _edge(root, edge, boxes, hop if edge.id in hops else "none", st)
    return document(mxfile)


def html_label(markup: str) -> str:
    """A draw.io HTML label: ``<sup>``/``<sub>`` scripts, lines joined by ``<br>``."""
    return "<br>".join(markup_lines(markup, sup="sup", sub="sub"))


def hopping(scene: Scene) -> set[str]:
    """The edges that hop a crossing in the SVG: they get draw.io's ``jumpStyle``, the others ``none``."""
    if scene.jump_style == "none":
        return set()
    return {c.over for c in scene.crossings if c.needs_jump or scene.jump_style == "all"}


def edge_order(scene: Scene) -> list[EdgeRoute]:
    """The scene's edges in paint order, so that draw.io hops the crossings the SVG hops.

    draw.io draws a jump at a crossing on the edge in front, if that edge has
    a ``jumpStyle``; only the edges that hop in the SVG have one (``hopping``).
    A crossing the SVG hops asks for "under before over"; a crossing it leaves
    plain (the jump rule) asks for the hopping edge, if one of the two is, to
    be behind. The order is the scene's own where these leave it free. Where
    they form a cycle (a hops b here, b hops a there) no order serves them
    all: the Eades–Lin–Smyth heuristic keeps most of them, and draw.io draws
    the rest on the other line of the crossing (or hops a plain one).
    """
    index = {e.id: i for i, e in enumerate(scene.edges)}
    hops = hopping(scene)
    before: dict[str, set[str]] = {}  # edge → edges that must come earlier
    later: dict[str, set[str]] = {}  # edge → edges that must come later

    def first(a: str, b: str) -> None:
        before.setdefault(b, set()).add(a)
        later.setdefault(a, set()).add(b)

    for c in scene.crossings:
        if c.over not in index or c.under not in index or c.over == c.under:
            continue
        if c.over in hops and (c.needs_jump or scene.jump_style == "all"):
            first(c.under, c.over)
        elif (c.over in hops) != (c.under in hops):  # a plain crossing: the hopping edge goes behind
            first(*((c.over, c.under) if c.over in hops else (c.under, c.over)))
    if not before:
        return list(scene.edges)
    left = set(before) | set(later)  # only edges in a jump move, among the places such edges hold
    slots = sorted(index[e] for e in left)
    head, tail = _eades_lin_smyth(left, before, later, index)
    order = list(scene.edges)
    for slot, edge_id in zip(slots, head + tail[::-1], strict=True):
        order[slot] = scene.edges[index[edge_id]]
    return order


def _eades_lin_smyth(left: set[str], before: dict[str, set[str]], later: dict[str, set[str]],
                     index: dict[str, int]) -> tuple[list[str], list[str]]:
    """``edge_order``'s heuristic: repeatedly take the first source (to ``head``), else the last sink (to
    ``tail``), else the edge with the most later minus earlier neighbours (to ``head``), among those ``left``.

    The counts of earlier and later neighbours still left are kept up to date, and each kind of pick comes
    from a heap (stale entries skipped), so a diagram with a million crossings orders in well under a second.
    """
    n_before = {e: len(before.get(e, set()) & left) for e in left}
    n_later = {e: len(later.get(e, set()) & left) for e in left}
    sources = [index[e] for e in left if n_before[e] == 0]
    sinks = [-index[e] for e in left if n_later[e] == 0]
    balance = [(n_before[e] - n_later[e], index[e]) for e in left]  # the max of (later − earlier, −index)
    heapq.heapify(sources)
    heapq.heapify(sinks)
    heapq.heapify(balance)
    edge_at = {index[e]: e for e in left}
    head: list[str] = []
    tail: list[str] = []

    def take(pick: str) -> None:
        left.discard(pick)
        for b in later.get(pick, ()):
            if b in left:
                n_before[b] -= 1
                if n_before[b] == 0:
                    heapq.heappush(sources, index[b])
                heapq.heappush(balance, (n_before[b] - n_later[b], index[b]))
        for a in before.get(pick, ()):
            if a in left:
                n_later[a] -= 1
                if n_later[a] == 0:
                    heapq.heappush(sinks, -index[a])
                heapq.heappush(balance, (n_before[a] - n_later[a], index[a]))

    while left:
        first = _top(sources, lambda k: edge_at[k] in left)
        if first is not None:
            pick = edge_at[heapq.heappop(sources)]
            head.append(pick)
        elif _top(sinks, lambda k: edge_at[-k] in left) is not None:
            pick = edge_at[-heapq.heappop(sinks)]
            tail.append(pick)
        else:
            _top(balance, lambda b: edge_at[b[1]] in left and b[0] == n_before[edge_at[b[1]]] - n_later[edge_at[b[1]]])
            pick = edge_at[heapq.heappop(balance)[1]]
            head.append(pick)
        take(pick)
    return head, tail


def _top(heap: list[Any], valid: Callable[[Any], bool]) -> Any:
    """The smallest entry of ``heap`` that is ``valid`` (the stale ones above it are dropped), or None."""
    while heap and not valid(heap[0]):
        heapq.heappop(heap)
    return heap[0] if heap else None


def _object(root: ET.Element, cell_id: str, label: str, data: dict[str, str]) -> ET.Element:
    return ET.SubElement(root, "object", {"label": clean(label), **{k: clean(v) for k, v in data.items()},
                                          "id": cell_id})


def _vertex(root: ET.Element, cell_id: str, parent: str, label: str, style: str,
            box: tuple[float, float, float, float], data: dict[str, str]) -> None:
    cell = ET.SubElement(_object(root, cell_id, label, data), "mxCell",
                         {"style": style, "vertex": "1", "parent": parent})
    x, y, w, h = box
    ET.SubElement(cell, "mxGeometry", {"x": num(x), "y": num(y), "width": num(w), "height": num(h),
                                       "as": "geometry"})


def _title(root: ET.Element, scene: Scene, st: StyleTable) -> None:
    block = scene.title_text
    style = (f"text;strokeColor=none;fillColor=none;html=1;align=center;verticalAlign=middle;fontStyle=1;"
             f"fontFamily={FONT_FAMILY};fontSize={num(TITLE_SIZE)};fontColor={st.text_color};")
    box = (scene.width / 2 - block.width / 2, 16.0, block.width, block.height)
    _vertex(root, "title", "1", _block_html(block), style, box,
            {"kind": "title"})


def _block_html(block: TextBlock) -> str:
    """A laid-out text block back as HTML: its runs, scripts in ``<sup>``/``<sub>``, lines joined by ``<br>``."""
    lines = []
    for line in block.lines:
        parts = []
        for run in line.runs:
            tag = {"sup": "sup", "sub": "sub"}.get(run.script)
            parts.append(f"<{tag}>{_escape(run.text)}</{tag}>" if tag else _escape(run.text))
        lines.append("".join(parts))
    return "<br>".join(lines)


def _escape(text: str) -> str:
    return clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _node(root: ET.Element, node: NodeBox, parent: str, origin: Point, st: StyleTable) -> None:
    ns = st.node(node.kind, node.alert)
    style = (f"{SHAPES[ns.shape]}html=1;whiteSpace=nowrap;fillColor={ns.fill};strokeColor={ns.stroke};"
             f"strokeWidth={num(ns.stroke_width)};fontFamily={FONT_FAMILY};fontSize={num(FONT_SIZE)};"
             f"fontColor={st.text_color};align=center;verticalAlign=middle;")
    if ns.dash:
        style += f"dashed=1;dashPattern={ns.dash};fixDash=1;"
    _vertex(root, node.id, parent, html_label(node.label), style,
            (node.x - origin[0], node.y - origin[1], node.w, node.h),
            {"kind": node.kind, "band": node.band, "layer": str(node.layer), "name": node.plain}
            | ({"tier": str(node.tier)} if node.tier else {}))


def _edge_style(kind_style: EdgeStyle) -> str:
    arrow, fill = ARROWS[kind_style.head]
    style = (f"html=1;rounded=0;endArrow={arrow};endFill={fill};startArrow=none;"
             f"strokeColor={kind_style.color};strokeWidth={num(kind_style.width)};")
    if kind_style.dash:
        style += f"dashed=1;dashPattern={kind_style.dash};fixDash=1;"
    return style


def _edge(root: ET.Element, edge: EdgeRoute, boxes: dict[str, NodeBox], jumps: JumpStyle, st: StyleTable) -> None:
    es = st.edges[edge.kind]
    pts = polyline(edge)
    source, target = boxes[edge.source], boxes[edge.target]
    head = math.dist(edge.points[-1], edge.tip) if edge.tip is not None and edge.points else 0.0
    style = (f"edgeStyle=none;{_edge_style(es)}endSize={num(head)};"
             f"exitX={_frac(pts[0][0], source.x, source.w)};exitY={_frac(pts[0][1], source.y, source.h)};"
             f"exitPerimeter=0;entryX={_frac(pts[-1][0], target.x, target.w)};"
             f"entryY={_frac(pts[-1][1], target.y, target.h)};entryPerimeter=0;"
             f"jumpStyle={jumps};jumpSize=10;fontFamily={FONT_FAMILY};fontSize={num(SMALL_SIZE)};"
             f"fontColor={es.color};labelBackgroundColor={st.background};")
    obj = _object(root, edge.id, html_label(edge.label) if edge.label else "", {"kind": edge.kind})
    cell = ET.SubElement(obj, "mxCell", {"style": style, "edge": "1", "parent": "1", "source": edge.source,
                                         "target": edge.target})
    geo = ET.SubElement(cell, "mxGeometry", {"relative": "1", "as": "geometry"})
    if edge.label and edge.label_at is not None:
        # anchor the label a quarter pixel past a whole pixel of length from the middle (mxGraph rounds
        # that distance; never let it fall on a half), then offset it to where the SVG draws it
        total = sum(math.dist(a, b) for a, b in itertools.pairwise(pts))
        anchor = math.floor(total / 2)
        if total > 0:
            geo.set("x", f"{2 * ((anchor + 0.25) / total - 0.5):.7f}")
        mx, my = _anchor(pts, anchor)
        ET.SubElement(geo, "mxPoint", {"x": num(edge.label_at[0] - mx), "y": num(edge.label_at[1] - my),
                                       "as": "offset"})
    if len(pts) > 2:
        array = ET.SubElement(geo, "Array", {"as": "points"})
        for x, y in pts[1:-1]:
            ET.SubElement(array, "mxPoint", {"x": num(x), "y": num(y)})


def _frac(value: float, start: float, size: float) -> str:
    """Where ``value`` lies across a box edge, as draw.io's connection constraint (0 … 1), to 1e-6."""
    return f"{(value - start) / size:.6f}".rstrip("0").rstrip(".") if size else "0.5"


def _anchor(points: Iterable[Point], dist: int) -> Point:
    """Where mxGraph anchors an edge label ``dist`` (whole) pixels along the edge (``mxGraphView.getPoint``).

    Followed step by step: each segment's end is rounded to a whole pixel when
    the segment holding ``dist`` is chosen, so a label near a bend may sit on
    the next segment's line by a fraction of a pixel.
    """
    pts = list(points)
    segments = [math.dist(a, b) for a, b in itertools.pairwise(pts)]
    length, segment, index = 0.0, segments[0], 1
    while dist >= math.floor(length + segment + 0.5) and index < len(pts) - 1:
        length += segment
        segment = segments[index]
        index += 1
    factor = 0.0 if segment == 0 else (dist - length) / segment
    (x0, y0), (x1, y1) = pts[index - 1], pts[index]
    return (x0 + (x1 - x0) * factor, y0 + (y1 - y0) * factor)


def _flow(root: ET.Element, strip: FlowStrip, st: StyleTable) -> None:
    """The gradient-flow strip as cells: its caption, the decades on the axis, a bar and its label per layer."""
    text = (f"text;strokeColor=none;fillColor=none;html=1;align=left;verticalAlign=middle;spacing=0;"
            f"fontFamily={FONT_FAMILY};fontSize={num(SMALL_SIZE)};fontColor={st.band_title_color};")
    _vertex(root, "flow.caption", "1", _block_html(strip.caption), text,
            (AXIS_X + 6, strip.y, strip.caption.width + LABEL_PAD, strip.caption.height), {"kind": "gradient-flow"})
    top = min((y for y, _ in strip.ticks), default=strip.baseline)
    right = max((b.x for b in strip.bars), default=AXIS_X) + strip.bar_width
    axis = ET.SubElement(_object(root, "flow.axis", "", {"kind": "gradient-flow"}), "mxCell", {
        "style": f"edgeStyle=none;html=1;rounded=0;endArrow=none;startArrow=none;strokeColor={st.legend_stroke};"
                 "strokeWidth=1;", "edge": "1", "parent": "1"})
    geo = ET.SubElement(axis, "mxGeometry", {"relative": "1", "as": "geometry"})
    ET.SubElement(geo, "mxPoint", {"x": num(AXIS_X), "y": num(top), "as": "sourcePoint"})
    ET.SubElement(geo, "mxPoint", {"x": num(right), "y": num(strip.baseline), "as": "targetPoint"})
    ET.SubElement(ET.SubElement(geo, "Array", {"as": "points"}), "mxPoint",
                  {"x": num(AXIS_X), "y": num(strip.baseline)})
    for i, (y, tick) in enumerate(strip.ticks):
        _vertex(root, f"flow.tick{i}", "1", _block_html(tick), text.replace("align=left", "align=right"),
                (AXIS_X - 5 - tick.width - LABEL_PAD, y - tick.height / 2, tick.width + LABEL_PAD, tick.height),
                {"kind": "gradient-flow"})
    for limit in strip.limits:  # a 16-bit format's range: a dashed line and its label, as the SVG draws them
        cell = ET.SubElement(_object(root, f"flow.{limit.kind}", "", {"kind": f"precision-{limit.kind}",
                                                                      "limit": f"{limit.value:.6g}"}), "mxCell", {
            "style": f"edgeStyle=none;html=1;rounded=0;endArrow=none;startArrow=none;dashed=1;"
                     f"dashPattern={st.precision_dash};strokeColor={st.precision_line};strokeWidth=1.4;",
            "edge": "1", "parent": "1"})
        geo = ET.SubElement(cell, "mxGeometry", {"relative": "1", "as": "geometry"})
        ET.SubElement(geo, "mxPoint", {"x": num(AXIS_X), "y": num(limit.y), "as": "sourcePoint"})
        ET.SubElement(geo, "mxPoint", {"x": num(right), "y": num(limit.y), "as": "targetPoint"})
        _vertex(root, f"flow.{limit.kind}.label", "1", _block_html(limit.label),
                text.replace(st.band_title_color, st.precision_line),
                (right + 6, limit.y - limit.label.height / 2, limit.label.width + LABEL_PAD, limit.label.height),
                {"kind": f"precision-{limit.kind}"})
    for bar in strip.bars:
        data = {"kind": "gradient-flow", "layer": str(bar.layer), "norm": f"{bar.value:.6g}"}
        if bar.broken:  # no height on a log scale: a cross on the baseline, as the SVG draws it
            top = strip.baseline - 12.0
            _vertex(root, f"flow.bar{bar.layer}", "1", "✕", text.replace(st.band_title_color, st.flow_broken)
                    .replace("align=left", "align=center"), (bar.x - 6, top, 12, 12), data)
            color = st.flow_broken
        else:
            top = strip.baseline - bar.h
            _vertex(root, f"flow.bar{bar.layer}", "1", "",
                    f"rounded=0;html=1;fillColor={st.precision_line if bar.lost else st.flow_bar};strokeColor=none;",
                    (bar.x - strip.bar_width / 2, top, strip.bar_width, bar.h), data)
            color = st.precision_line if bar.lost else st.text_color
        _vertex(root, f"flow.bar{bar.layer}.label", "1", _block_html(bar.label),
                text.replace(st.band_title_color, color).replace("align=left", "align=center"),
                (bar.x - bar.label.width / 2 - LABEL_PAD, top - 2 - bar.label.height, bar.label.width + 2 * LABEL_PAD,
                 bar.label.height), data)


def _legend(root: ET.Element, scene: Scene, st: StyleTable) -> None:
    """The legend as a container: one sample edge and one text cell per edge kind."""
    if not scene.legend:
        return
    x0, y0, w, h = scene.legend_box
    _vertex(root, "legend", "1", "",
            f"rounded=1;absoluteArcSize=1;arcSize=8;html=1;container=1;collapsible=0;fillColor={st.background};"
            f"strokeColor={st.legend_stroke};strokeWidth=1;", (x0, y0, w, h), {"kind": "legend"})
    for entry in scene.legend:
        es = st.edges[entry.kind]
        cell = ET.SubElement(_object(root, f"legend.{entry.kind}", "", {"kind": entry.kind}), "mxCell", {
            "style": f"edgeStyle=none;{_edge_style(es)}endSize={num(LEGEND_HEAD if es.head != 'none' else 0)};",
            "edge": "1", "parent": "legend"})
        geo = ET.SubElement(cell, "mxGeometry", {"relative": "1", "as": "geometry"})
        (sx, sy), (tx, ty) = entry.start, entry.end
        ET.SubElement(geo, "mxPoint", {"x": num(sx - x0), "y": num(sy - y0), "as": "sourcePoint"})
        ET.SubElement(geo, "mxPoint", {"x": num(tx - x0), "y": num(ty - y0), "as": "targetPoint"})
        text_x, text_y = entry.text_at
        _vertex(root, f"legend.{entry.kind}.text", "legend", _block_html(entry.text),
                f"text;strokeColor=none;fillColor=none;html=1;align=left;verticalAlign=middle;spacing=0;fontFamily={FONT_FAMILY};"
                f"fontSize={num(SMALL_SIZE)};fontColor={st.text_color};",
                (text_x - x0, text_y - entry.text.height / 2 - y0, entry.text.width + LABEL_PAD,
                 entry.text.height), {"kind": entry.kind})


WRITER = Writer("drawio", "drawio", render)
