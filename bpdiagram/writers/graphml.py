"""GraphML writer: opens in yEd laid out and styled, and reads as plain data.

yEd reads its own extension (``y:ShapeNode`` with geometry, ``y:PolyLineEdge``
with a path); scripts (networkx, igraph) read the plain ``kind``, ``band``,
``layer`` and ``label`` keys and ignore the rest (INTERFACE §5). Curved routes
are sampled into polyline bends, since yEd's polylines are what it edits best.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from bpdiagram.layout.scene import EdgeRoute, NodeBox, Point, Scene
from bpdiagram.style import FONT_FAMILY, FONT_SIZE, SMALL_SIZE, StyleTable, style_table
from bpdiagram.writers import Writer
from bpdiagram.writers.xmltext import clean, markup_lines, num

GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"
Y_NS = "http://www.yworks.com/xml/graphml"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA = f"{GRAPHML_NS} http://www.yworks.com/xml/schema/graphml/1.1/ygraphml.xsd"
SAMPLES_PER_CURVE = 6
LEGEND_ID = "legend"

# (id, for, name, type): plain data keys first, then yEd's graphics keys
DATA_KEYS = (
    ("d0", "graph", "title", "string"),
    ("d1", "node", "kind", "string"),
    ("d2", "node", "band", "string"),
    ("d3", "node", "layer", "int"),
    ("d4", "node", "label", "string"),
    ("d5", "edge", "kind", "string"),
    ("d6", "edge", "label", "string"),
)
NODE_GRAPHICS, EDGE_GRAPHICS = "d7", "d8"
TIER_KEY = ("dtier", "node", "tier", "int")
"""Written only for a wrapped network's picture: each node's tier, 1 = top."""


def _y(tag: str) -> str:
    return f"{{{Y_NS}}}{tag}"


def render(scene: Scene) -> bytes:
    """The scene as yEd-ready GraphML bytes."""
    ET.register_namespace("", GRAPHML_NS)
    ET.register_namespace("y", Y_NS)
    ET.register_namespace("xsi", XSI_NS)
    root = ET.Element(f"{{{GRAPHML_NS}}}graphml", {f"{{{XSI_NS}}}schemaLocation": SCHEMA})
    tiered = any(n.tier for n in scene.nodes)
    for key_id, target, name, kind in DATA_KEYS + ((TIER_KEY,) if tiered else ()):
        ET.SubElement(root, f"{{{GRAPHML_NS}}}key", {"id": key_id, "for": target, "attr.name": name,
                                                     "attr.type": kind})
    ET.SubElement(root, f"{{{GRAPHML_NS}}}key", {"id": NODE_GRAPHICS, "for": "node", "yfiles.type": "nodegraphics"})
    ET.SubElement(root, f"{{{GRAPHML_NS}}}key", {"id": EDGE_GRAPHICS, "for": "edge", "yfiles.type": "edgegraphics"})
    graph = ET.SubElement(root, f"{{{GRAPHML_NS}}}graph", {"id": "G", "edgedefault": "directed"})
    _data(graph, "d0", scene.title)
    st = style_table(scene.theme)
    centers = {n.id: n.center for n in scene.nodes}
    for node in scene.nodes:
        _node(graph, node, st)
    _legend(graph, scene, st)
    for edge in scene.edges:
        _edge(graph, edge, centers, st)
    ET.indent(root, space=" ")
    body: bytes = ET.tostring(root, encoding="utf-8")
    return b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + body + b"\n"


def _data(parent: ET.Element, key: str, text: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{GRAPHML_NS}}}data", {"key": key})
    el.text = clean(text)
    return el


def html_label(markup: str) -> str:
    """A yEd HTML label: real superscripts and subscripts, one ``<br>`` per line."""
    lines = markup_lines(markup, sup="sup", sub="sub")
    return "<html><div style='text-align:center'>" + "<br>".join(lines) + "</div></html>"


def _node(graph: ET.Element, node: NodeBox, st: StyleTable) -> None:
    style = st.nodes[node.kind]
    el = ET.SubElement(graph, f"{{{GRAPHML_NS}}}node", {"id": node.id})
    # graphics first: networkx reads yEd's label into "label", and the plain key must win
    gfx = ET.SubElement(ET.SubElement(el, f"{{{GRAPHML_NS}}}data", {"key": NODE_GRAPHICS}), _y("ShapeNode"))
    ET.SubElement(gfx, _y("Geometry"), {"x": num(node.x), "y": num(node.y), "width": num(node.w),
                                        "height": num(node.h)})
    ET.SubElement(gfx, _y("Fill"), {"color": style.fill, "transparent": "false"})
    ET.SubElement(gfx, _y("BorderStyle"), {"color": style.stroke, "type": "dashed" if style.dash else "line",
                                           "width": num(style.stroke_width)})
    label = ET.SubElement(gfx, _y("NodeLabel"), {
        "alignment": "center", "autoSizePolicy": "content", "fontFamily": FONT_FAMILY,
        "fontSize": str(int(FONT_SIZE)), "fontStyle": "plain", "textColor": st.text_color,
        "modelName": "internal", "modelPosition": "c", "visible": "true"})
    label.text = html_label(node.label)
    ET.SubElement(gfx, _y("Shape"), {"type": style.shape})
    _data(el, "d1", node.kind)
    _data(el, "d2", node.band)
    _data(el, "d3", str(node.layer))
    _data(el, "d4", node.plain)
    if node.tier:
        _data(el, TIER_KEY[0], str(node.tier))


def _legend(graph: ET.Element, scene: Scene, st: StyleTable) -> None:
    """The legend as one unconnected node (kind ``legend``) with a coloured HTML key."""
    if not scene.legend:
        return
    x, y, w, h = scene.legend_box
    el = ET.SubElement(graph, f"{{{GRAPHML_NS}}}node", {"id": LEGEND_ID})
    gfx = ET.SubElement(ET.SubElement(el, f"{{{GRAPHML_NS}}}data", {"key": NODE_GRAPHICS}), _y("ShapeNode"))
    ET.SubElement(gfx, _y("Geometry"), {"x": num(x), "y": num(y), "width": num(w), "height": num(h)})
    ET.SubElement(gfx, _y("Fill"), {"color": st.background, "transparent": "false"})
    ET.SubElement(gfx, _y("BorderStyle"), {"color": st.legend_stroke, "type": "line", "width": "1"})
    samples = {"line": "━━━━", "dashed": "╍╍╍╍", "dashed_dotted": "━ · ━", "dotted": "┈┈┈┈"}
    cells = "".join(
        f"<td><font color='{st.edges[e.kind].color}'>{samples[st.edges[e.kind].yed_line]}▶</font> "
        f"{e.kind}&nbsp;&nbsp;</td>" for e in scene.legend)
    label = ET.SubElement(gfx, _y("NodeLabel"), {
        "alignment": "left", "autoSizePolicy": "content", "fontFamily": FONT_FAMILY,
        "fontSize": str(int(SMALL_SIZE)), "fontStyle": "plain", "textColor": st.text_color,
        "modelName": "internal", "modelPosition": "c", "visible": "true"})
    label.text = f"<html><table><tr>{cells}</tr></table></html>"
    ET.SubElement(gfx, _y("Shape"), {"type": "roundrectangle"})
    _data(el, "d1", "legend")
    _data(el, "d4", "; ".join(f"{e.kind}: {st.edges[e.kind].meaning}" for e in scene.legend))


def sample(points: tuple[Point, ...], per_curve: int = SAMPLES_PER_CURVE) -> list[Point]:
    """Points along a Bézier chain (ends included), for a polyline that follows the curve."""
    if not points:
        return []
    out = [points[0]]
    for i in range(0, len(points) - 3, 3):
        p0, p1, p2, p3 = points[i:i + 4]
        straight = _collinear(p0, p1, p2, p3)
        steps = 1 if straight else per_curve
        for s in range(1, steps + 1):
            t = s / steps
            a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3
            out.append((round(a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0], 2),
                        round(a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1], 2)))
    return out


STRAIGHT_TOL = 0.05
"""px: control points this close to the chord make a straight piece (coordinates are rounded to 0.01)."""


def _collinear(*pts: Point) -> bool:
    (x0, y0), (x3, y3) = pts[0], pts[-1]
    span = math.hypot(x3 - x0, y3 - y0)
    if span == 0:
        return all(p == pts[0] for p in pts)
    return all(abs((x3 - x0) * (y - y0) - (y3 - y0) * (x - x0)) / span < STRAIGHT_TOL for x, y in pts[1:-1])


def _edge(graph: ET.Element, edge: EdgeRoute, centers: dict[str, Point], st: StyleTable) -> None:
    style = st.edges[edge.kind]
    el = ET.SubElement(graph, f"{{{GRAPHML_NS}}}edge", {"id": edge.id, "source": edge.source,
                                                         "target": edge.target})
    gfx = ET.SubElement(ET.SubElement(el, f"{{{GRAPHML_NS}}}data", {"key": EDGE_GRAPHICS}), _y("PolyLineEdge"))
    pts = sample(edge.points)
    end = edge.tip if edge.tip is not None else pts[-1]
    bends = pts[1:] if edge.tip is not None else pts[1:-1]
    (scx, scy), (tcx, tcy) = centers[edge.source], centers[edge.target]
    path = ET.SubElement(gfx, _y("Path"), {"sx": num(pts[0][0] - scx), "sy": num(pts[0][1] - scy),
                                           "tx": num(end[0] - tcx), "ty": num(end[1] - tcy)})
    for x, y in bends:
        ET.SubElement(path, _y("Point"), {"x": num(x), "y": num(y)})
    ET.SubElement(gfx, _y("LineStyle"), {"color": style.color, "type": style.yed_line, "width": num(style.width)})
    ET.SubElement(gfx, _y("Arrows"), {"source": "none", "target": style.head})
    if edge.plain:
        label = ET.SubElement(gfx, _y("EdgeLabel"), {
            "alignment": "center", "fontFamily": FONT_FAMILY, "fontSize": str(int(SMALL_SIZE)),
            "fontStyle": "plain", "textColor": style.color, "modelName": "centered", "modelPosition": "center",
            "visible": "true"})
        label.text = clean(edge.plain)
    ET.SubElement(gfx, _y("BendStyle"), {"smoothed": "false"})
    _data(el, "d5", edge.kind)
    if edge.plain:
        _data(el, "d6", edge.plain)


WRITER = Writer("graphml", "graphml", render)
