"""How good a laid-out picture is, measured on the scene every writer draws.

The visual grammar (README, "How it works") asks the layout to keep the
bands apart, point every edge the way its kind goes, never overlap two nodes,
keep every label inside its node, cross few edges and jump every crossing. ``measure`` counts each of these, so
``bpdiagram stats`` can report them, tests can demand zeros, and a change of
layout can be judged by numbers rather than by eye alone.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from bpdiagram.layout.crossings import drawn_line
from bpdiagram.layout.router import segment_hits
from bpdiagram.layout.scene import NodeBox, Point, Scene
from bpdiagram.layout.text import text_width
from bpdiagram.options import BANDS, EDGE_KINDS, NODE_KINDS
from bpdiagram.style import FONT_SIZE, NODE_STYLES, SMALL_SIZE

TOLERANCE = 1.0
"""px of slack for "points left", "bands interleave" and "nodes overlap": rounding, not design."""
CAP_HEIGHT = 0.73
DESCENDER = 0.24
"""The ink of a run of text, in em above and below its baseline (DejaVu Sans)."""
INSIDE = 1.0
"""An edge passes through a node when it enters the box shrunk by this much (touching is not passing)."""
PAGE_WIDTH_CM = 16.0
"""The text width of a printed page (A4 with 2.5 cm margins): ``stats`` reports the text size at this width."""
POINTS_PER_CM = 72.0 / 2.54


def text_points(size: float, width: float, page_cm: float = PAGE_WIDTH_CM) -> float:
    """How big (in pt) text of ``size`` SVG px is once a picture ``width`` px wide is scaled to ``page_cm``.

    >>> text_points(14.0, 907.08)
    7.0
    """
    return round(size * page_cm * POINTS_PER_CM / width, 1)


@dataclass(frozen=True)
class Quality:
    """The measured quality of one picture; the problem lists are readable sentences, sorted."""

    width: float
    height: float
    nodes: dict[str, int]
    edges: dict[str, int]
    crossings: int
    jumps: int
    overlapping_nodes: tuple[str, ...]
    spilling_labels: tuple[str, ...]
    grammar_violations: tuple[str, ...]
    edges_through_nodes: tuple[str, ...]
    tiers: int = 1
    """How many tiers the picture stacks (1 unless the network is wrapped)."""
    wrap: int = 0
    """Layers per tier (0: not wrapped)."""
    misaligned: tuple[str, ...] = ()
    """Backward ops whose centre is not under the forward op they differentiate (its derivative link)."""
    detours: tuple[str, ...] = ()
    """Cache lines that turn back: run upward, or sideways one way and then the other."""

    @property
    def text_pt(self) -> float:
        """Node labels' size in pt when the picture is scaled to a 16 cm text width."""
        return text_points(FONT_SIZE, self.width)

    @property
    def small_text_pt(self) -> float:
        """The small print's size (edge labels, legend) in pt at a 16 cm text width."""
        return text_points(SMALL_SIZE, self.width)

    @property
    def problems(self) -> int:
        """Overlaps, spills, grammar violations and edges through nodes: what should always be zero."""
        return (len(self.overlapping_nodes) + len(self.spilling_labels) + len(self.grammar_violations)
                + len(self.edges_through_nodes))

    def to_json(self) -> str:
        """``to_dict`` as indented JSON text (``stats --json`` adds the diagram's name in front)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``stats --json`` (key order fixed, documented in the README)."""
        return {
            "size": {"width": self.width, "height": self.height},
            "tiers": {"count": self.tiers, "layers_per_tier": self.wrap},
            "reader": {"page_width_cm": PAGE_WIDTH_CM, "text_pt": self.text_pt, "small_text_pt": self.small_text_pt},
            "nodes": {"total": sum(self.nodes.values()), **self.nodes},
            "edges": {"total": sum(self.edges.values()), **self.edges},
            "crossings": self.crossings,
            "jumps": self.jumps,
            "overlapping_nodes": len(self.overlapping_nodes),
            "spilling_labels": len(self.spilling_labels),
            "grammar_violations": len(self.grammar_violations),
            "edges_through_nodes": len(self.edges_through_nodes),
            "misaligned": len(self.misaligned),
            "detours": len(self.detours),
            "details": {
                "overlapping_nodes": list(self.overlapping_nodes),
                "spilling_labels": list(self.spilling_labels),
                "grammar_violations": list(self.grammar_violations),
                "edges_through_nodes": list(self.edges_through_nodes),
                "misaligned": list(self.misaligned),
                "detours": list(self.detours),
            },
        }


def measure(scene: Scene) -> Quality:
    """Measure ``scene``: counts by kind, crossings, jumps drawn, and every breach of the grammar."""
    nodes: dict[str, int] = {k: sum(1 for n in scene.nodes if n.kind == k) for k in NODE_KINDS}
    edges: dict[str, int] = {k: sum(1 for e in scene.edges if e.kind == k) for k in EDGE_KINDS}
    jumps = sum(j.crossings for j in scene.drawn_jumps)
    return Quality(scene.width, scene.height, {k: v for k, v in nodes.items() if v}, edges,
                   len(scene.crossings), jumps, _overlaps(scene), _spills(scene), _grammar(scene),
                   _through_nodes(scene), max((n.tier for n in scene.nodes), default=0) or 1, scene.wrap,
                   misaligned=_misaligned(scene), detours=_detours(scene))


def _misaligned(scene: Scene) -> tuple[str, ...]:
    """Backward ops under none of the forward ops they differentiate (their derivative links).

    Under means each box's centre lies within the other's x range; an op that
    differentiates several forward ops at once (σ fused with the loss) need
    only stand under one of them.
    """
    boxes = {n.id: n for n in scene.nodes}
    links: dict[str, list[str]] = {}
    for e in scene.edges:
        if e.kind == "derivative" and e.source in boxes and e.target in boxes:
            links.setdefault(e.target, []).append(e.source)

    def under(fwd: NodeBox, back: NodeBox) -> bool:
        return (fwd.x - TOLERANCE <= back.center[0] <= fwd.x + fwd.w + TOLERANCE
                and back.x - TOLERANCE <= fwd.center[0] <= back.x + back.w + TOLERANCE)

    out = [f"{b} is not under {' or '.join(sorted(fs))}" for b, fs in links.items()
           if not any(under(boxes[f], boxes[b]) for f in fs)]
    return tuple(sorted(out))


def _detours(scene: Scene) -> tuple[str, ...]:
    """Cache lines that go up somewhere, or turn from rightwards to leftwards (or back)."""
    out = []
    for e in scene.edges:
        if e.kind != "cache":
            continue
        points = drawn_line(e).points
        way = 0
        for (x0, y0), (x1, y1) in pairwise(points):
            if y1 < y0 - TOLERANCE:
                out.append(f"cache edge {e.source} -> {e.target} runs upward")
                break
            step = 0 if abs(x1 - x0) <= TOLERANCE else (1 if x1 > x0 else -1)
            if step and way and step != way:
                out.append(f"cache edge {e.source} -> {e.target} turns back sideways")
                break
            way = step or way
    return tuple(sorted(out))


def _overlaps(scene: Scene) -> tuple[str, ...]:
    out = []
    nodes = scene.nodes
    for i, a in enumerate(nodes):
        for b in nodes[i + 1:]:
            if a.x + TOLERANCE < b.x + b.w and b.x + TOLERANCE < a.x + a.w and \
                    a.y + TOLERANCE < b.y + b.h and b.y + TOLERANCE < a.y + a.h:
                out.append(f"nodes {a.id} and {b.id} overlap")
    return tuple(sorted(out))


def _inside(node: NodeBox, x: float, y: float) -> bool:
    if NODE_STYLES[node.kind].shape == "ellipse":
        cx, cy = node.center
        return ((x - cx) / (node.w / 2)) ** 2 + ((y - cy) / (node.h / 2)) ** 2 <= 1.0 + 1e-9
    return node.x - 0.01 <= x <= node.x + node.w + 0.01 and node.y - 0.01 <= y <= node.y + node.h + 0.01


def _spills(scene: Scene) -> tuple[str, ...]:
    """Labels whose ink (every run's box, placed as the writers place it) leaves the node's shape."""
    out = []
    for node in scene.nodes:
        block = node.text
        for i, line in enumerate(block.lines):
            x0 = node.x + (node.w - line.width) / 2
            base = node.text_top + block.first_baseline + i * block.line_height
            for run in line.runs:
                left, right = x0 + run.dx, x0 + run.dx + text_width(run.text, run.size)
                top, bottom = base + run.dy - CAP_HEIGHT * run.size, base + run.dy + DESCENDER * run.size
                if not all(_inside(node, x, y) for x in (left, right) for y in (top, bottom)):
                    out.append(f"label of {node.id} spills out of its node ({run.text!r})")
                    break
            else:
                continue
            break
    return tuple(sorted(out))


def _grammar(scene: Scene) -> tuple[str, ...]:
    """The visual grammar: bands in order without interleaving (within each tier, tiers apart and
    each edge inside its tier when the picture is wrapped), and each edge kind's direction."""
    out = []
    tiers = sorted({n.tier for n in scene.nodes})
    for tier in tiers:
        where = f" in tier {tier}" if tier else ""
        for i, upper in enumerate(BANDS):
            for lower in BANDS[i + 1:]:
                ups = [n for n in scene.nodes if n.band == upper and n.tier == tier]
                lows = [n for n in scene.nodes if n.band == lower and n.tier == tier]
                if ups and lows and max(n.y + n.h for n in ups) > min(n.y for n in lows) + TOLERANCE:
                    out.append(f"bands {upper} and {lower} interleave{where}")
    out += _tiers_apart(scene, tiers)
    for e in scene.edges:
        if not e.points:
            continue
        (x0, y0), (x1, y1) = e.points[0], e.tip if e.tip is not None else e.points[-1]
        where = f"{e.kind} edge {e.source} -> {e.target}"
        if e.kind == "forward" and x1 < x0 - TOLERANCE:
            out.append(f"{where} points left")
        if e.kind == "backward" and x1 > x0 + TOLERANCE:
            out.append(f"{where} points right")
        if e.kind == "cache" and not y1 > y0:
            out.append(f"{where} does not point down")
        if e.kind == "update" and not y1 < y0:
            out.append(f"{where} does not point up")
    out += _layer_order(scene)
    return tuple(sorted(out))


def _layer_order(scene: Scene) -> list[str]:
    """Layers in order along each band: every node of layer l left of every node of a later layer.

    The forward pass runs left to right layer by layer, and the cache and
    backward bands stand under it, so in each band the layers follow one
    another; a partial view that lost the forward edges scrambles this while
    every single edge may still point the right way. Compared by box centres,
    within each tier of a picture drawn in tiers (each tier starts again at the left).
    """
    out = []
    for tier in sorted({n.tier for n in scene.nodes}):
        where = f" of tier {tier}" if tier else ""
        for band in BANDS:
            layers: dict[int, list[NodeBox]] = {}
            for n in scene.nodes:
                if n.band == band and n.tier == tier:
                    layers.setdefault(n.layer, []).append(n)
            for before, after in pairwise(sorted(layers)):
                last = max(layers[before], key=lambda n: n.center[0])
                first = min(layers[after], key=lambda n: n.center[0])
                if first.center[0] < last.center[0] - TOLERANCE:
                    out.append(f"{band} band{where}: layer {after} ({first.id}) stands left of layer {before} "
                               f"({last.id})")
    return out


def _tiers_apart(scene: Scene, tiers: list[int]) -> list[str]:
    """Each tier's strips strictly above the next tier's, and every edge drawn inside its own tier's strips."""
    spans: dict[int, tuple[float, float]] = {}
    for tier in tiers:
        strips = [(b.y, b.y + b.h) for b in scene.bands if b.tier == tier]
        boxes = [(n.y, n.y + n.h) for n in scene.nodes if n.tier == tier]
        spans[tier] = (min(lo for lo, _ in strips + boxes), max(hi for _, hi in strips + boxes))
    out = [f"tiers {a} and {b} overlap" for a, b in pairwise(tiers)
           if spans[a][1] > spans[b][0] - TOLERANCE]
    if len(tiers) < 2:
        return out
    tier_of = {n.id: n.tier for n in scene.nodes}
    for e in scene.edges:
        top, bottom = spans[tier_of[e.source]]
        ys = [p[1] for p in e.points] + ([e.tip[1]] if e.tip is not None else [])
        if ys and (min(ys) < top - TOLERANCE or max(ys) > bottom + TOLERANCE):
            out.append(f"{e.kind} edge {e.source} -> {e.target} leaves tier {tier_of[e.source]}")
    return out


def _through_nodes(scene: Scene) -> tuple[str, ...]:
    """Edges whose drawn line passes through a node other than their own two."""
    out = []
    for e in scene.edges:
        line = drawn_line(e)
        for node in scene.nodes:
            if node.id in (e.source, e.target):
                continue
            bx0, by0, bx1, by1 = line.bbox
            if bx1 < node.x or bx0 > node.x + node.w or by1 < node.y or by0 > node.y + node.h:
                continue
            ellipse = NODE_STYLES[node.kind].shape == "ellipse"
            hit = _in_ellipse if ellipse else _in_box
            if any(hit(s.a, s.b, node) for s in line.segments):
                out.append(f"{e.kind} edge {e.source} -> {e.target} passes through {node.id}")
    return tuple(sorted(out))


def _in_box(a: Point, b: Point, node: NodeBox) -> bool:
    return segment_hits(a, b, node, -INSIDE)


def _in_ellipse(a: Point, b: Point, node: NodeBox) -> bool:
    """Whether segment a–b enters the ellipse inscribed in ``node``'s box, shrunk by ``INSIDE``."""
    cx, cy = node.center
    rx, ry = node.w / 2 - INSIDE, node.h / 2 - INSIDE
    if rx <= 0 or ry <= 0:
        return False
    # in the ellipse's unit-circle coordinates: the segment's nearest point to the centre
    ax, ay = (a[0] - cx) / rx, (a[1] - cy) / ry
    dx, dy = (b[0] - a[0]) / rx, (b[1] - a[1]) / ry
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else min(max(-(ax * dx + ay * dy) / length2, 0.0), 1.0)
    return math.hypot(ax + dx * t, ay + dy * t) < 1.0
