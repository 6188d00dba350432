"""SVG writer: the scene as standalone SVG with classes per kind.

Every node is a ``<g class="node kind-<kind> band-<band>">``, every edge a
``<g class="edge kind-<kind>" data-jumps="N">``, each with a ``<title>``; the
legend is ``<g id="legend">``. Scripts and the HTML page select by these
classes, so they are part of the output's contract.

Every run of label text is placed at an absolute position computed by the
layout (no ``text-anchor``, no ``baseline-shift``), so browsers and the PNG
rasteriser draw the same picture. Line jumps are drawn where the layout put
them (``scene.drawn_jumps``: by the jump rule, or on every crossing with
``all``), in the scene's ``jump_style``; each edge's
``data-jumps`` counts the crossings it hops.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from bpdiagram.layout.geometry import bezier_point, curves
from bpdiagram.layout.overlays import AXIS_X
from bpdiagram.layout.scene import EdgeRoute, FlowStrip, Jump, NodeBox, PathPos, Point, Scene
from bpdiagram.layout.text import TextBlock
from bpdiagram.options import JumpStyle
from bpdiagram.style import BAND_TITLES, FONT_STACK, EdgeStyle, StyleTable, style_table
from bpdiagram.writers import Writer
from bpdiagram.writers.xmltext import clean, document, num

SVG_NS = "http://www.w3.org/2000/svg"
CORNER = 7.0


def render(scene: Scene) -> bytes:
    """The scene as SVG bytes (UTF-8, with XML declaration)."""
    root = build(scene)
    return document(root)


def build(scene: Scene) -> ET.Element:
    """The scene as an SVG element tree, for writers that embed the SVG (HTML) or rasterise it."""
    ET.register_namespace("", SVG_NS)
    st = style_table(scene.theme)
    root = ET.Element("svg", {
        "xmlns": SVG_NS, "version": "1.1",
        "width": num(scene.width), "height": num(scene.height),
        "viewBox": f"0 0 {num(scene.width)} {num(scene.height)}",
        "font-family": FONT_STACK,
    })
    ET.SubElement(root, "title").text = clean(scene.title or "backpropagation diagram")
    ET.SubElement(root, "desc").text = "Backpropagation diagram drawn by bpdiagram"
    ET.SubElement(root, "rect", {"width": "100%", "height": "100%", "fill": st.background})
    _bands(root, scene, st)
    if scene.title:
        title = ET.SubElement(root, "g", {"id": "title", "font-weight": "bold"})
        _text(title, scene.title_text, scene.width / 2 - scene.title_text.width / 2, 16.0, color=st.text_color,
              width=scene.title_text.width)
    edges = ET.SubElement(root, "g", {"id": "edges"})
    names = short_names(scene)
    jumps: dict[str, list[Jump]] = {}
    for jump in scene.drawn_jumps:
        jumps.setdefault(jump.edge, []).append(jump)
    for edge in scene.edges:
        _edge(edges, edge, names, tuple(jumps.get(edge.id, ())), scene.jump_style, st)
    nodes = ET.SubElement(root, "g", {"id": "nodes"})
    for node in scene.nodes:
        _node(nodes, node, st)
    if scene.flow is not None:
        _flow(root, scene.flow, st)
    _legend(root, scene, st)
    return root


def _flow(root: ET.Element, strip: FlowStrip, st: StyleTable) -> None:
    """The gradient-flow strip: an axis with decades, a bar per layer (exact norm in its title), its label."""
    group = ET.SubElement(root, "g", {"id": "gradient-flow"})
    _text(group, strip.caption, AXIS_X + 6, strip.y, color=st.band_title_color)
    top = min((y for y, _ in strip.ticks), default=strip.baseline)
    ET.SubElement(group, "path", {"d": f"M{num(AXIS_X)} {num(top)}V{num(strip.baseline)}H"
                                       f"{num(max((b.x for b in strip.bars), default=AXIS_X) + strip.bar_width)}",
                                  "fill": "none", "stroke": st.legend_stroke, "stroke-width": "1"})
    for y, text in strip.ticks:
        ET.SubElement(group, "path", {"d": f"M{num(AXIS_X - 3)} {num(y)}H{num(AXIS_X)}", "stroke": st.legend_stroke,
                                      "stroke-width": "1"})
        _text(group, text, AXIS_X - 5 - text.width, y - text.height / 2, color=st.band_title_color)
    right = max((b.x for b in strip.bars), default=AXIS_X) + strip.bar_width
    for limit in strip.limits:
        g = ET.SubElement(group, "g", {"class": f"precision precision-{limit.kind}",
                                       "data-limit": f"{limit.value:.6g}"})
        sign = "<" if limit.kind == "underflow" else ">"
        ET.SubElement(g, "title").text = f"{limit.kind}: |S·x| {sign} {limit.value:.6g}"
        if limit.kind == "underflow":  # the region where entries flush to zero, shaded
            ET.SubElement(g, "rect", {"x": num(AXIS_X), "y": num(limit.y), "width": num(right - AXIS_X),
                                      "height": num(max(0.0, strip.baseline - limit.y)), "fill": st.precision_band})
        ET.SubElement(g, "path", {"d": f"M{num(AXIS_X)} {num(limit.y)}H{num(right)}", "fill": "none",
                                  "stroke": st.precision_line, "stroke-width": "1.4",
                                  "stroke-dasharray": st.precision_dash})
        _text(g, limit.label, right + 6, limit.y - limit.label.height / 2, color=st.precision_line)
    for bar in strip.bars:
        g = ET.SubElement(group, "g", {"class": "flow-bar" + (" flow-broken" if bar.broken else ""),
                                       "data-layer": str(bar.layer), "data-norm": f"{bar.value:.6g}"})
        ET.SubElement(g, "title").text = f"‖dW[{bar.layer}]‖ = {bar.value:.6g}" + (
            f"; {bar.lost:.6g} of its entries lost" if bar.lost else "")
        x = bar.x - strip.bar_width / 2
        if bar.broken:  # no height on a log scale: a cross on the baseline says so
            r = 5.0
            ET.SubElement(g, "path", {"d": f"M{num(bar.x - r)} {num(strip.baseline - 2 * r)}l{num(2 * r)} "
                                           f"{num(2 * r)}m0 {num(-2 * r)}l{num(-2 * r)} {num(2 * r)}",
                                      "stroke": st.flow_broken, "stroke-width": "2.2", "fill": "none"})
            label_bottom = strip.baseline - 2 * r - 2
            color = st.flow_broken
        else:
            ET.SubElement(g, "rect", {"x": num(x), "y": num(strip.baseline - bar.h), "width": num(strip.bar_width),
                                      "height": num(bar.h), "fill": st.precision_line if bar.lost else st.flow_bar})
            label_bottom = strip.baseline - bar.h - 2
            color = st.precision_line if bar.lost else st.text_color
        _text(g, bar.label, bar.x - bar.label.width / 2, label_bottom - bar.label.height, color=color)
        if bar.caption is not None:
            _text(g, bar.caption, bar.x - bar.caption.width / 2, strip.baseline + 2, color=st.band_title_color)


def short_names(scene: Scene) -> dict[str, str]:
    """Each node's name without its formula (``Z[1]`` for ``Z[1] = W[1]X + b[1]``), for titles and summaries."""
    return {n.id: n.plain.split(" / ")[0].split(" = ")[0] for n in scene.nodes}


def _bands(root: ET.Element, scene: Scene, st: StyleTable) -> None:
    group = ET.SubElement(root, "g", {"id": "bands"})
    for band in scene.bands:
        g = ET.SubElement(group, "g", {"class": f"band band-{band.band}"})
        ET.SubElement(g, "rect", {"x": num(8), "y": num(band.y), "width": num(scene.width - 16),
                                  "height": num(band.h), "fill": st.band_fills[band.band]})
        if not band.titled:
            continue
        # a title with figures (``CACHE · 3 MiB``) is two columns of rotated text, name outermost
        lines = (band.title or BAND_TITLES[band.band]).split(" · ", 1)
        for i, line in enumerate(lines):
            cx, cy = 8 + 17.0 + (i - (len(lines) - 1) / 2) * 13, band.y + band.h / 2
            label = ET.SubElement(g, "text", {
                "x": num(cx), "y": num(cy), "transform": f"rotate(-90 {num(cx)} {num(cy)})",
                "font-size": "11", "letter-spacing": "1.5" if i == 0 else "0.5", "fill": st.band_title_color,
                "text-anchor": "middle", "dominant-baseline": "middle"})
            label.text = clean(line)


def _text(parent: ET.Element, block: TextBlock, x: float, top: float, *, color: str,
          width: float | None = None) -> None:
    """Lines of ``block`` from ``top``; each line centred in ``width`` when given."""
    text = ET.SubElement(parent, "text", {"font-size": num(block.size), "fill": color})
    first_baseline = top + block.first_baseline
    for i, line in enumerate(block.lines):
        x0 = x + ((width - line.width) / 2 if width is not None else 0.0)
        base = first_baseline + i * block.line_height
        for run in line.runs:
            attrs = {"x": num(x0 + run.dx), "y": num(base + run.dy)}
            if run.size != block.size:
                attrs["font-size"] = num(run.size)
            ET.SubElement(text, "tspan", attrs).text = clean(run.text)


def _node(parent: ET.Element, node: NodeBox, st: StyleTable) -> None:
    style = st.node(node.kind, node.alert)
    g = ET.SubElement(parent, "g", {"class": f"node kind-{node.kind} band-{node.band}", "id": f"node-{node.id}",
                                    "data-layer": str(node.layer)})
    ET.SubElement(g, "title").text = clean(f"{node.plain} ({node.kind}, {node.band} band)")
    attrs = {"fill": style.fill, "stroke": style.stroke, "stroke-width": num(style.stroke_width)}
    if style.dash:
        attrs["stroke-dasharray"] = style.dash
    if style.shape == "ellipse":
        cx, cy = node.center
        ET.SubElement(g, "ellipse", {"cx": num(cx), "cy": num(cy), "rx": num(node.w / 2), "ry": num(node.h / 2),
                                     **attrs})
    else:
        rect = {"x": num(node.x), "y": num(node.y), "width": num(node.w), "height": num(node.h)}
        if style.shape == "roundrectangle":
            rect.update(rx=num(CORNER), ry=num(CORNER))
        ET.SubElement(g, "rect", {**rect, **attrs})
    _text(g, node.text, node.x, node.text_top, width=node.w, color=st.text_color)


def _pt(p: Point) -> str:
    return f"{num(p[0])},{num(p[1])}"


def _curve(c1: Point, c2: Point, p: Point) -> str:
    return f"C{_pt(c1)} {_pt(c2)} {_pt(p)}"


Segment = tuple[str, tuple[Point, ...]]
"""One piece of a drawn edge: ``("M", (p,))`` move, ``("C", (c1, c2, p))`` curve, or ``("A", (p_in, p_out, bulge))``
a half-circle hop from ``p_in`` to ``p_out`` bulging towards the unit vector ``bulge``."""


def path_segments(points: tuple[Point, ...], jumps: tuple[Jump, ...] = (),
                  style: JumpStyle = "none") -> list[Segment]:
    """The pieces that draw a Bézier chain with its ``jumps`` in ``style``; every vector writer formats these.

    A jump cuts the chain from ``jump.start`` to ``jump.end`` (split exactly
    at those parameters) and bridges the cut with a half-circle on the side of
    ``jump.bulge`` (``arc``) or leaves it open (``gap``).
    """
    if not points:
        return []
    pieces = curves(points)
    out: list[Segment] = [("M", (points[0],))]
    at = PathPos(0, 0.0)
    for jump in sorted(jumps, key=lambda j: (j.start.curve, j.start.t)) if style != "none" else ():
        out += _pieces(pieces, at, jump.start)
        p_in = bezier_point(*pieces[jump.start.curve], jump.start.t)
        p_out = bezier_point(*pieces[jump.end.curve], jump.end.t)
        out.append(("A", (p_in, p_out, jump.bulge)) if style in ("arc", "all") else ("M", (p_out,)))
        at = jump.end
    out += _pieces(pieces, at, PathPos(len(pieces) - 1, 1.0))
    return out


def path_data(points: tuple[Point, ...], jumps: tuple[Jump, ...] = (), style: JumpStyle = "none") -> str:
    """``M p0 C c1 c2 p1 …`` for a Bézier chain, with its ``jumps`` drawn in ``style`` (see ``path_segments``)."""
    out = []
    for op, pts in path_segments(points, jumps, style):
        if op == "M":
            out.append(f"M{_pt(pts[0])}")
        elif op == "C":
            out.append(_curve(*pts))
        else:
            (x0, y0), p_out, bulge = pts
            cx, cy = p_out[0] - x0, p_out[1] - y0
            radius = math.hypot(cx, cy) / 2
            sweep = 1 if bulge[0] * cy - bulge[1] * cx > 0 else 0
            out.append(f"A{num(radius)},{num(radius)} 0 0 {sweep} {_pt(p_out)}")
    return " ".join(out)


def _pieces(pieces: list[tuple[Point, Point, Point, Point]], start: PathPos, end: PathPos) -> list[Segment]:
    """``C`` segments drawing the chain from ``start`` to ``end`` (partial pieces split exactly)."""
    out: list[Segment] = []
    for i in range(start.curve, end.curve + 1):
        t0 = start.t if i == start.curve else 0.0
        t1 = end.t if i == end.curve else 1.0
        if t1 <= t0:
            continue
        _, c1, c2, p = sub_bezier(*pieces[i], t0, t1)
        out.append(("C", (c1, c2, p)))
    return out


def sub_bezier(p0: Point, p1: Point, p2: Point, p3: Point, t0: float, t1: float) -> tuple[Point, Point, Point, Point]:
    """The part of one cubic Bézier from parameter ``t0`` to ``t1``, itself a cubic Bézier (de Casteljau)."""
    if (t0, t1) == (0.0, 1.0):
        return (p0, p1, p2, p3)

    def split(a: Point, b: Point, c: Point, d: Point, t: float) -> tuple[tuple[Point, Point, Point, Point],
                                                                          tuple[Point, Point, Point, Point]]:
        def lerp(u: Point, v: Point) -> Point:
            return (u[0] + (v[0] - u[0]) * t, u[1] + (v[1] - u[1]) * t)

        ab, bc, cd = lerp(a, b), lerp(b, c), lerp(c, d)
        abc, bcd = lerp(ab, bc), lerp(bc, cd)
        m = lerp(abc, bcd)
        return (a, ab, abc, m), (m, bcd, cd, d)

    _, right = split(p0, p1, p2, p3, t0)
    if t1 >= 1.0:
        return right
    left, _ = split(*right, (t1 - t0) / (1.0 - t0))
    return left


def _edge(parent: ET.Element, edge: EdgeRoute, names: dict[str, str], jumps: tuple[Jump, ...],
          jump_style: JumpStyle, st: StyleTable) -> None:
    style = st.edges[edge.kind]
    hops = sum(j.crossings for j in jumps) if jump_style != "none" else 0
    g = ET.SubElement(parent, "g", {"class": f"edge kind-{edge.kind}", "id": f"edge-{edge.id}",
                                    "data-source": edge.source, "data-target": edge.target,
                                    "data-jumps": str(hops)})
    title = f"{names[edge.source]} → {names[edge.target]} ({edge.kind})"
    ET.SubElement(g, "title").text = clean(title + (f": {edge.plain}" if edge.plain else ""))
    _stroke(g, path_data(edge.points, jumps, jump_style), style)
    if edge.tip is not None and edge.points:
        _head(g, edge.points[-1], edge.tip, style, st.background)
    if edge.text is not None and edge.label_at is not None:
        block = edge.text
        x, y = edge.label_at
        ET.SubElement(g, "rect", {"x": num(x - block.width / 2 - 3), "y": num(y - block.height / 2),
                                  "width": num(block.width + 6), "height": num(block.height), "rx": "3",
                                  "fill": st.background, "fill-opacity": "0.85"})
        _text(g, block, x - block.width / 2, y - block.height / 2, width=block.width, color=style.color)


def _stroke(parent: ET.Element, d: str, style: EdgeStyle) -> None:
    attrs = {"d": d, "fill": "none", "stroke": style.color, "stroke-width": num(style.width)}
    if style.dash:
        attrs["stroke-dasharray"] = style.dash
    if style.head == "none":
        attrs["stroke-linecap"] = "round"
    ET.SubElement(parent, "path", attrs)


def head_points(base: Point, tip: Point, head: str) -> tuple[Point, Point, Point]:
    """The corners (left, tip, right) of arrowhead ``head`` from ``base`` to ``tip`` (yEd's shapes, drawn by hand)."""
    dx, dy = tip[0] - base[0], tip[1] - base[1]
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    spread = {"standard": 0.42, "delta": 0.5, "white_delta": 0.45, "plain": 0.5}.get(head, 0.45)
    half = length * spread
    return (base[0] - uy * half, base[1] + ux * half), tip, (base[0] + uy * half, base[1] - ux * half)


def _head(parent: ET.Element, base: Point, tip: Point, style: EdgeStyle, background: str) -> None:
    """The arrowhead of ``style`` from ``base`` to ``tip``: open for ``plain``, else filled."""
    pts = " ".join(f"{num(p[0])},{num(p[1])}" for p in head_points(base, tip, style.head))
    if style.head == "plain":
        ET.SubElement(parent, "polyline", {"points": pts, "fill": "none", "stroke": style.color,
                                           "stroke-width": num(style.width), "stroke-linejoin": "miter"})
    else:
        fill = background if style.head == "white_delta" else style.color
        ET.SubElement(parent, "polygon", {"points": pts, "fill": fill, "stroke": style.color,
                                          "stroke-width": num(min(style.width, 1.4)), "stroke-linejoin": "miter"})


def _legend(root: ET.Element, scene: Scene, st: StyleTable) -> None:
    x, y, w, h = scene.legend_box
    g = ET.SubElement(root, "g", {"id": "legend"})
    ET.SubElement(g, "title").text = "Legend: edge kinds"
    ET.SubElement(g, "rect", {"x": num(x), "y": num(y), "width": num(w), "height": num(h), "rx": "4",
                              "fill": st.background, "stroke": st.legend_stroke, "stroke-width": "1"})
    for entry in scene.legend:
        style = st.edges[entry.kind]
        item = ET.SubElement(g, "g", {"class": f"legend-entry kind-{entry.kind}"})
        (x0, y0), (x1, y1) = entry.start, entry.end
        head = 8.0 if style.head != "none" else 0.0
        _stroke(item, f"M{num(x0)},{num(y0)} L{num(x1 - head)},{num(y1)}", style)
        if head:
            _head(item, (x1 - head, y1), (x1, y1), style, st.background)
        tx, ty = entry.text_at
        _text(item, entry.text, tx, ty - entry.text.height / 2, color=st.text_color)


WRITER = Writer("svg", "svg", render)
