"""GraphML writer: opens in yEd laid out and styled, and reads as plain data.

yEd reads its own extension (``y:ShapeNode`` with geometry, ``y:PolyLineEdge``
with a path); scripts (networkx, igraph) read the plain ``kind``, ``band``,
``layer`` and ``label`` keys and ignore the rest (README, "GraphML and yEd").

As yEd saves a diagram: each band is a group node
(``yfiles.foldertype="group"``, a ``y:ProxyAutoBoundsNode`` with an open and a
closed ``y:GroupNode``) whose nested ``<graph id="<group>:">`` holds the band's
nodes; its insets are the band strip's margins, so the group yEd recomputes
around its nodes is the strip of the SVG. Every edge sits in the top graph
(yEd does the same). Edge labels use yEd's ``free`` model with the label box
given relative to the source node's centre, where the SVG draws it. Curved
routes become the fewest bends that keep their shape (``writers.polyline``);
a straight edge has none.

Fonts: every file yEd saves names ``Dialog`` (Java's logical sans font); we
name ``DejaVu Sans``, the font the boxes are measured with. Java falls back to
its default logical font (``Dialog``) for a family it does not have, and
Dialog maps to a narrower face (Arial on Windows, DejaVu Sans itself on most
Linux systems), so a label never outgrows its measured box.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

from bpdiagram.layout.scene import EdgeRoute, NodeBox, Point, Scene
from bpdiagram.options import Band
from bpdiagram.style import BAND_TITLES, FONT_FAMILY, FONT_SIZE, SMALL_SIZE, StyleTable, style_table
from bpdiagram.writers import Writer
from bpdiagram.writers.polyline import polyline
from bpdiagram.writers.xmltext import clean, document, markup_lines, num

GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"
Y_NS = "http://www.yworks.com/xml/graphml"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA = f"{GRAPHML_NS} http://www.yworks.com/xml/schema/graphml/1.1/ygraphml.xsd"
LEGEND_ID = "legend"
BAND_MARGIN = 8.0
"""px: the band strips' left and right margin on the canvas (as the SVG draws them)."""
BAND_TITLE_SIZE = 11

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
    grouped: set[str] = set()
    for group in band_groups(scene):
        inner = _group(graph, group, st)
        for node in group.nodes:
            _node(inner, node, st)
            grouped.add(node.id)
    for node in scene.nodes:
        if node.id not in grouped:
            _node(graph, node, st)
    _legend(graph, scene, st)
    for edge in scene.edges:
        _edge(graph, edge, centers, st)
    return document(root, '<?xml version="1.0" encoding="UTF-8" standalone="no"?>')


def _data(parent: ET.Element, key: str, text: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{GRAPHML_NS}}}data", {"key": key})
    el.text = clean(text)
    return el


def html_label(markup: str) -> str:
    """A yEd HTML label: real superscripts and subscripts, one ``<br>`` per line."""
    lines = markup_lines(markup, sup="sup", sub="sub")
    return "<html><div style='text-align:center'>" + "<br>".join(lines) + "</div></html>"


@dataclass(frozen=True)
class BandGroup:
    """One yEd group: a band's strip (x, y, w, h) and the nodes it holds.

    ``id`` is ``band.<band>``; where a band has several strips (a wrapped
    diagram, one strip per tier: ``--wrap``) each strip is its own group,
    ``band.<band>.<tier>`` (a strip without a tier: n counted from the top).
    """

    id: str
    band: Band
    x: float
    y: float
    w: float
    h: float
    nodes: tuple[NodeBox, ...]
    title: tuple[str, ...] = ()
    """The band's title, line by line, as the SVG writes it (its name; with ``--memory`` the cache's bytes)."""
    tier: int = 0
    """The strip's tier in a wrapped picture (1 = top), else 0."""
    titled: bool = True
    """Whether the title is shown (a wrapped picture names each band once, at its first strip, as the SVG)."""


def band_groups(scene: Scene) -> Iterator[BandGroup]:
    """The scene's band strips that hold nodes, each with the nodes inside it, top to bottom."""
    strips = sorted(scene.bands, key=lambda r: r.y)
    count = {band: sum(1 for r in strips if r.band == band) for band in {r.band for r in strips}}
    seen: dict[Band, int] = {}
    for rect in strips:
        seen[rect.band] = seen.get(rect.band, 0) + 1
        if rect.tier:
            members = tuple(n for n in scene.nodes if n.band == rect.band and n.tier == rect.tier)
        else:
            members = tuple(n for n in scene.nodes
                            if n.band == rect.band and rect.y <= n.center[1] <= rect.y + rect.h)
        if members:
            suffix = f".{rect.tier or seen[rect.band]}" if count[rect.band] > 1 or rect.tier else ""
            title = tuple((rect.title or BAND_TITLES[rect.band]).split(" · ", 1))
            yield BandGroup(f"band.{rect.band}{suffix}", rect.band, BAND_MARGIN, rect.y,
                            scene.width - 2 * BAND_MARGIN, rect.h, members, title, rect.tier, rect.titled)


def _group(graph: ET.Element, group: BandGroup, st: StyleTable) -> ET.Element:
    """The group node of ``group``; returns its nested graph, to put the band's nodes in."""
    el = ET.SubElement(graph, f"{{{GRAPHML_NS}}}node", {"id": group.id, "yfiles.foldertype": "group"})
    proxy = ET.SubElement(ET.SubElement(el, f"{{{GRAPHML_NS}}}data", {"key": NODE_GRAPHICS}),
                          _y("ProxyAutoBoundsNode"))
    realizers = ET.SubElement(proxy, _y("Realizers"), {"active": "0"})
    left = min(n.x for n in group.nodes) - group.x
    top = min(n.y for n in group.nodes) - group.y
    right = group.x + group.w - max(n.x + n.w for n in group.nodes)
    bottom = group.y + group.h - max(n.y + n.h for n in group.nodes)
    title = "\n".join(group.title)
    for closed in (False, True):
        real = ET.SubElement(realizers, _y("GroupNode"))
        if closed:
            ET.SubElement(real, _y("Geometry"), {"x": num(group.x), "y": num(group.y), "width": "120",
                                                 "height": "40"})
        else:
            ET.SubElement(real, _y("Geometry"), {"x": num(group.x), "y": num(group.y), "width": num(group.w),
                                                 "height": num(group.h)})
        ET.SubElement(real, _y("Fill"), {"color": st.band_fills[group.band], "transparent": "false"})
        ET.SubElement(real, _y("BorderStyle"), {"hasColor": "false", "type": "line", "width": "1"})
        label = ET.SubElement(real, _y("NodeLabel"), {
            "alignment": "center", "autoSizePolicy": "content", "fontFamily": FONT_FAMILY,
            "fontSize": str(BAND_TITLE_SIZE), "fontStyle": "plain", "hasBackgroundColor": "false",
            "hasLineColor": "false", "textColor": st.band_title_color, "modelName": "internal",
            "modelPosition": "c" if closed else "l",
            "visible": "true" if group.titled or closed else "false"})
        if not closed:
            label.set("rotationAngle", "270.0")  # read bottom to top, as the SVG's band titles
        label.text = title
        ET.SubElement(real, _y("Shape"), {"type": "rectangle"})
        ET.SubElement(real, _y("State"), {"closed": "true" if closed else "false", "closedHeight": "40",
                                          "closedWidth": "120", "innerGraphDisplayEnabled": "false"})
        insets = (5.0, 5.0, 5.0, 5.0) if closed else (top, left, bottom, right)
        ET.SubElement(real, _y("Insets"), _insets(*insets))
        ET.SubElement(real, _y("BorderInsets"), _insets(0, 0, 0, 0))
    _data(el, "d1", "band")
    _data(el, "d2", group.band)
    _data(el, "d4", " · ".join(group.title))
    if group.tier:
        _data(el, TIER_KEY[0], str(group.tier))
    return ET.SubElement(el, f"{{{GRAPHML_NS}}}graph", {"edgedefault": "directed", "id": f"{group.id}:"})


def _insets(top: float, left: float, bottom: float, right: float) -> dict[str, str]:
    """yEd's inset attributes: whole pixels and the exact float of each side."""
    out = {}
    for side, value in (("bottom", bottom), ("left", left), ("right", right), ("top", top)):
        out[side] = str(int(value))
        out[f"{side}F"] = num(value)
    return out


def _node(graph: ET.Element, node: NodeBox, st: StyleTable) -> None:
    style = st.node(node.kind, node.alert)
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


def _edge(graph: ET.Element, edge: EdgeRoute, centers: dict[str, Point], st: StyleTable) -> None:
    style = st.edges[edge.kind]
    el = ET.SubElement(graph, f"{{{GRAPHML_NS}}}edge", {"id": edge.id, "source": edge.source,
                                                         "target": edge.target})
    gfx = ET.SubElement(ET.SubElement(el, f"{{{GRAPHML_NS}}}data", {"key": EDGE_GRAPHICS}), _y("PolyLineEdge"))
    pts = polyline(edge)
    (scx, scy), (tcx, tcy) = centers[edge.source], centers[edge.target]
    path = ET.SubElement(gfx, _y("Path"), {"sx": num(pts[0][0] - scx), "sy": num(pts[0][1] - scy),
                                           "tx": num(pts[-1][0] - tcx), "ty": num(pts[-1][1] - tcy)})
    for x, y in pts[1:-1]:
        ET.SubElement(path, _y("Point"), {"x": num(x), "y": num(y)})
    ET.SubElement(gfx, _y("LineStyle"), {"color": style.color, "type": style.yed_line, "width": num(style.width)})
    ET.SubElement(gfx, _y("Arrows"), {"source": "none", "target": style.head})
    if edge.plain:
        _edge_label(gfx, edge, (scx, scy), style.color, st.background)
    ET.SubElement(gfx, _y("BendStyle"), {"smoothed": "false"})
    _data(el, "d5", edge.kind)
    if edge.plain:
        _data(el, "d6", edge.plain)


LABEL_PAD = 3.0
"""px: the label box reaches this far beyond the text on the left and right, as the SVG's label backdrop."""


def _edge_label(gfx: ET.Element, edge: EdgeRoute, source_center: Point, color: str, background: str) -> None:
    """The edge's label where the SVG draws it: yEd's ``free`` model, box relative to the source's centre."""
    attrs = {"alignment": "center", "backgroundColor": background, "fontFamily": FONT_FAMILY,
             "fontSize": str(int(SMALL_SIZE)), "fontStyle": "plain", "hasLineColor": "false",
             "modelName": "free", "modelPosition": "anywhere", "preferredPlacement": "anywhere", "ratio": "0.5",
             "textColor": color, "visible": "true"}
    if edge.label_at is not None and edge.text is not None:
        w, h = edge.text.width + 2 * LABEL_PAD, edge.text.height
        x, y = edge.label_at[0] - w / 2, edge.label_at[1] - h / 2
        attrs.update(width=num(w), height=num(h), x=num(x - source_center[0]), y=num(y - source_center[1]))
    label = ET.SubElement(gfx, _y("EdgeLabel"), attrs)
    label.text = clean(edge.plain)


WRITER = Writer("graphml", "graphml", render)
