"""Read a GraphML file's yEd geometry back, independently of bpdiagram's own scene.

The grammar tests measure what a yEd user would open: node boxes from
``y:Geometry`` and edge end points from ``y:Path``, not the layout's objects.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from itertools import pairwise

from bpdiagram.layout.scene import Scene

NS = {"g": "http://graphml.graphdrawing.org/xmlns", "y": "http://www.yworks.com/xml/graphml"}


@dataclass
class Box:
    id: str
    kind: str
    band: str
    x: float
    y: float
    w: float
    h: float
    tier: int = 0

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass
class Line:
    id: str
    source: str
    target: str
    kind: str
    points: list[tuple[float, float]]


def read(data: bytes) -> tuple[dict[str, Box], list[Line]]:
    """Node boxes (band groups left out: they are containers) and edge polylines."""
    boxes, lines = read_all(data)
    return {k: b for k, b in boxes.items() if b.kind != "band"}, lines


def groups(data: bytes) -> dict[str, tuple[Box, list[str]]]:
    """Each yEd group node (a band): its box and the ids of the nodes its nested graph holds."""
    root = ET.fromstring(data)
    boxes, _ = read_all(data)
    out = {}
    for node in root.iter(f"{{{NS['g']}}}node"):
        inner = node.find("g:graph", NS)
        if inner is not None:
            out[node.get("id", "")] = (boxes[node.get("id", "")],
                                       [n.get("id", "") for n in inner.findall("g:node", NS)])
    return out


def read_all(data: bytes) -> tuple[dict[str, Box], list[Line]]:
    """Every node's box, group nodes included (their open state's geometry), and every edge's polyline."""
    root = ET.fromstring(data)
    keys = {k.get("id"): k.get("attr.name") for k in root.findall("g:key", NS) if k.get("attr.name")}
    boxes: dict[str, Box] = {}
    for node in root.iter(f"{{{NS['g']}}}node"):
        values = {keys.get(d.get("key")): (d.text or "") for d in node.findall("g:data", NS)}
        geo = node.find(".//y:Geometry", NS)
        assert geo is not None
        boxes[node.get("id", "")] = Box(node.get("id", ""), values.get("kind", ""), values.get("band", ""),
                                        float(geo.get("x", 0)), float(geo.get("y", 0)),
                                        float(geo.get("width", 0)), float(geo.get("height", 0)),
                                        int(values.get("tier") or 0))
    lines = []
    for edge in root.iter(f"{{{NS['g']}}}edge"):
        values = {keys.get(d.get("key")): (d.text or "") for d in edge.findall("g:data", NS)}
        path = edge.find(".//y:Path", NS)
        assert path is not None
        s, t = boxes[edge.get("source", "")], boxes[edge.get("target", "")]
        pts = [(s.cx + float(path.get("sx", 0)), s.cy + float(path.get("sy", 0)))]
        pts += [(float(p.get("x", 0)), float(p.get("y", 0))) for p in path.findall("y:Point", NS)]
        pts.append((t.cx + float(path.get("tx", 0)), t.cy + float(path.get("ty", 0))))
        lines.append(Line(edge.get("id", ""), s.id, t.id, values.get("kind", ""), pts))
    return boxes, lines


def grammar_violations(boxes: dict[str, Box], lines: list[Line], tol: float = 1.0) -> list[str]:
    """Every way the picture breaks the visual grammar (README, "How it works"), as readable strings."""
    nodes = [b for b in boxes.values() if b.kind != "legend"]
    return _interleaved(nodes, tol) + _misdirected(lines, tol) + _overlapping(nodes) + _unlinked(nodes, lines)


def _interleaved(nodes: list[Box], tol: float) -> list[str]:
    """Bands out of order: forward above cache above backward (in each tier of a wrapped picture)."""
    out = []
    order = ["forward", "cache", "backward"]
    for tier in sorted({b.tier for b in nodes}):
        for upper in order:
            for lower in order[order.index(upper) + 1:]:
                ups = [b for b in nodes if b.band == upper and b.tier == tier]
                lows = [b for b in nodes if b.band == lower and b.tier == tier]
                if ups and lows and max(b.y + b.h for b in ups) > min(b.y for b in lows) + tol:
                    out.append(f"bands {upper} and {lower} interleave" + (f" in tier {tier}" if tier else ""))
    return out


def _misdirected(lines: list[Line], tol: float) -> list[str]:
    """Edges against their kind's direction: forward right, backward left, cache down, update up."""
    out = []
    for line in lines:
        (x0, y0), (x1, y1) = line.points[0], line.points[-1]
        if line.kind == "forward" and x1 < x0 - tol:
            out.append(f"forward edge {line.source}->{line.target} points left")
        if line.kind == "backward" and x1 > x0 + tol:
            out.append(f"backward edge {line.source}->{line.target} points right")
        if line.kind == "cache" and not y1 > y0:
            out.append(f"cache edge {line.source}->{line.target} does not point down")
        if line.kind == "update" and not y1 < y0:
            out.append(f"update edge {line.source}->{line.target} does not point up")
    return out


def _overlapping(nodes: list[Box]) -> list[str]:
    return [f"nodes {a.id} and {b.id} overlap" for i, a in enumerate(nodes) for b in nodes[i + 1:]
            if a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h]


def _unlinked(nodes: list[Box], lines: list[Line]) -> list[str]:
    return [f"op {op.id} has no derivative link" for op in nodes if op.kind == "op"
            and not any(line.kind == "derivative" and op.id in (line.source, line.target) for line in lines)]


SHARED_NODE_PAD = 10.0
"""README's definition: where two edges touch the same node, points this close to its box are a meeting."""


def _cross(p1: tuple[float, float], p2: tuple[float, float], p3: tuple[float, float],
           p4: tuple[float, float]) -> tuple[float, float] | None:
    """The point where segments p1p2 and p3p4 cross, each taken half-open (its end point excluded)."""
    d1 = (p2[0] - p1[0], p2[1] - p1[1])
    d2 = (p4[0] - p3[0], p4[1] - p3[1])
    den = d1[0] * d2[1] - d1[1] * d2[0]
    if den == 0:
        return None
    e = (p3[0] - p1[0], p3[1] - p1[1])
    s = (e[0] * d2[1] - e[1] * d2[0]) / den
    t = (e[0] * d1[1] - e[1] * d1[0]) / den
    if 0 <= s < 1 and 0 <= t < 1:
        return (p1[0] + s * d1[0], p1[1] + s * d1[1])
    return None


def crossings(boxes: dict[str, Box], lines: list[Line]) -> list[tuple[str, str, tuple[float, float]]]:
    """Every crossing of two edges' polylines as yEd draws them: (edge id, edge id, point).

    Written apart from bpdiagram's own crossing code, on the GraphML polylines,
    to the README's definition: a proper intersection, not near a node both
    edges touch; one crossing per pair and place.
    """
    out = []
    for i, a in enumerate(lines):
        for b in lines[i + 1:]:
            shared = [boxes[n] for n in {a.source, a.target} & {b.source, b.target}]
            found: list[tuple[float, float]] = []
            for p1, p2 in pairwise(a.points):
                for p3, p4 in pairwise(b.points):
                    point = _cross(p1, p2, p3, p4)
                    if point is None:
                        continue
                    x, y = point
                    if any(n.x - SHARED_NODE_PAD <= x <= n.x + n.w + SHARED_NODE_PAD and
                           n.y - SHARED_NODE_PAD <= y <= n.y + n.h + SHARED_NODE_PAD for n in shared):
                        continue
                    if any(abs(x - fx) < 1 and abs(y - fy) < 1 for fx, fy in found):
                        continue
                    found.append(point)
            out += [(a.id, b.id, p) for p in found]
    return out


def curve_lines(scene: Scene, per_curve: int = 6) -> tuple[dict[str, Box], list[Line]]:
    """Node boxes and edges as the SVG draws them: each Bézier piece sampled finely by the tests' own code.

    The GraphML keeps only the bends that hold a curve's shape (within 1.5 px),
    so lines that run side by side closer than that may cross there and back
    on its polylines; crossings are counted on the curves themselves.
    """
    boxes = {n.id: Box(n.id, n.kind, n.band, n.x, n.y, n.w, n.h) for n in scene.nodes}
    lines = []
    for e in scene.edges:
        pts = [e.points[0]]
        for i in range(0, len(e.points) - 3, 3):
            (x0, y0), (x1, y1), (x2, y2), (x3, y3) = e.points[i:i + 4]
            span = ((x3 - x0) ** 2 + (y3 - y0) ** 2) ** 0.5
            straight = span > 0 and all(abs((x3 - x0) * (y - y0) - (y3 - y0) * (x - x0)) / span < 0.05
                                        for x, y in ((x1, y1), (x2, y2)))
            steps = 1 if straight else per_curve  # a straight piece stays one segment: lines on one axis never cross
            for s in range(1, steps + 1):
                t = s / steps
                a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3
                pts.append((round(a * x0 + b * x1 + c * x2 + d * x3, 2), round(a * y0 + b * y1 + c * y2 + d * y3, 2)))
        if e.tip is not None:
            pts.append(e.tip)
        lines.append(Line(e.id, e.source, e.target, e.kind, pts))
    return boxes, lines


def group_id(band: str, tier: int = 0) -> str:
    """The id README gives a band's group: ``band.<band>``, and ``band.<band>.<tier>`` in a wrapped picture."""
    return f"band.{band}" + (f".{tier}" if tier else "")
