"""The element-wise view as a forward grid and its mirror (no graphviz).

Columns, left to right: the inputs x_i; per layer l the linear steps z_j[l]
(parameters w_j[l] under each) and the activations a_j[l]; the loss, its
targets under it. Unit j of every layer stands in forward row j; the
backward band is the mirror image of the forward band about the cache band:
each backward op stands in the column of the forward op it differentiates
(dw_j, db_j under z_j; da_j, dz_j under a_j), unit 1 farthest from the cache
as in the forward band. Per-weight lines are straight, so the backward fans
are the forward fans reflected.

Nothing that crosses the bands runs through a weight fan where it can be
helped: the gap between a layer's z column and its a column is crossed by
one horizontal line per unit (z_j → a_j, dz_j → dw_j) and no fan, so every
vertical line of a layer runs there, and horizontal travel happens in the
cache band, which no fan crosses. In that gap, left to right:

* per unit, nested (unit 1 outermost): the update dw_j → w_j, which turns
  under w_j and arrives pointing up, and the derivative tie z_j → dw_j;
  mirrored rows make these nest, so they never cross each other;
* the buses of the vectors kept from this layer's column of z and w: every
  unit joins the bus, which drops into the kept value standing under it;
* the derivative ties a_j → dz_j, nested (unit 1 outermost);
* the bus of a[l]: each a_j joins it, it drops into the kept a[l] (standing
  under the bus and the a column), and continues down to the dz_j that read it.

The only lines left crossing a fan are the kept values read across it
(a[l−1] by dw[l], the weights by dz[l−1]): they run down one lane beside
the column they enter. The loss's gradient, its derivative ties and the
kept targets come down to the right of the loss, and turn left into dz[L].
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import networkx as nx

from bpdiagram.layout.geometry import Side, ellipse_x, polyline
from bpdiagram.layout.orthogonal import allocate_taps, lead_in, rounded, side_y
from bpdiagram.layout.scene import EdgeRoute, NodeBox, Point
from bpdiagram.layout.text import TextBlock
from bpdiagram.richtext import plain
from bpdiagram.style import NODE_STYLES

__all__ = ["grid_layout"]

ARROW = 7.5
PITCH = 9.0
"""Distance between neighbouring lanes."""
PAD = 12.0
"""Room between a column's boxes and the nearest lane."""
FAN = 70.0
"""Width of the room a weight fan crosses (plus FAN_PER_UNIT per unit of the taller layer)."""
FAN_PER_UNIT = 8.0
ROW_GAP = 16.0
BAND_GAP = 40.0
JOG = 9.0
"""How far under a parameter an update turns to arrive pointing up."""
TAP_MARGIN = 7.0
TAP_GAP = 9.0
CENTRE_GAP = 7.0
CACHE_INSET = 8.0
"""A kept value stands this far left (or right) of the bus that drops into it."""

EdgeKey = tuple[str, str, str]
_UNIT = re.compile(r"^(input|target|[zawd]+)(\d*)_(\d+)$")


@dataclass(frozen=True)
class Grid:
    nodes: dict[str, NodeBox]
    routes: dict[EdgeKey, EdgeRoute]
    right: float
    bottom: float


@dataclass
class _Line:
    """An orthogonal route: its lane names in order, and how it starts and ends."""

    start: tuple[str, Side]
    lane: str
    end: tuple[str, Side]
    jog: bool = False
    """Turn under the target and arrive pointing up (updates)."""


def _role(n: str) -> tuple[str, int, int]:
    """(kind, layer, unit) of a unit node: ('z', 2, 3) for z2_3, ('input', 0, 1) for input_1."""
    m = _UNIT.match(n)
    if not m:
        return (n, 0, 0)
    return (m.group(1), int(m.group(2) or 0), int(m.group(3)))


def grid_layout(g: nx.MultiDiGraph, texts: dict[str, TextBlock], sizes: dict[str, tuple[float, float]],
                edge_texts: dict[EdgeKey, TextBlock], edge_ids: dict[EdgeKey, str], *,
                left: float, top: float) -> Grid:
    """Lay the element-wise graph ``g`` out from ``left``, ``top``."""
    size = {0: sum(1 for n in g.nodes if n.startswith("input_"))}
    L = max(int(g.nodes[n]["layer"]) for n in g.nodes)
    for layer in range(1, L + 1):
        size[layer] = sum(1 for n in g.nodes if re.fullmatch(fr"z{layer}_\d+", n))
    widest = max(size.values())
    edges = sorted(g.edges(keys=True), key=lambda e: edge_ids[e])
    kind_of = {e: g.edges[e]["kind"] for e in edges}
    has = set(g.nodes)

    # -- the lines that run in lanes, and the lanes of each gap -------------------------------
    lines: dict[EdgeKey, _Line] = {}
    straight_edges: list[EdgeKey] = []
    for e in edges:
        u, v, kind = e
        ru, rv = _role(u), _role(v)
        if kind in ("forward", "backward") and not (u == "loss" or (ru[0] == "target" and rv[0] == "loss")):
            straight_edges.append(e)
        elif kind == "forward":  # a target into the loss
            if ru[2] == 1:
                straight_edges.append(e)
            else:
                lines[e] = _Line((u, "right"), "y-loss", ("loss", "right"))
        elif kind == "backward":  # the loss into dz[L]
            lines[e] = _Line(("loss", "right"), "gradient", (v, "right"))
        elif kind == "update":
            lines[e] = _Line((u, "right"), f"update.{ru[1]}.{ru[2]}", (v, "bottom"), jog=True)
        elif kind == "derivative" and u == "loss":
            lines[e] = _Line(("loss", "right"), "loss-tie", (v, "right"))
        elif kind == "derivative" and ru[0] == "z":
            lines[e] = _Line((u, "right"), f"ztie.{ru[1]}.{ru[2]}", (v, "right"))
        elif kind == "derivative":
            lines[e] = _Line((u, "left"), f"atie.{ru[1]}.{ru[2]}", (v, "left"))
        elif kind == "cache" and g.nodes[v]["band"] == "cache":  # a value into its kept copy
            side: Side = "left" if ru[0] in ("input", "a") else "right"
            lines[e] = _Line((u, side), f"bus.{v}", (v, "top"))
        else:  # a kept value into a backward op that reads it
            rv_kind = rv[0]
            if u.startswith(("cache.a", "cache.input")) and rv_kind == "dw":
                lines[e] = _Line((u, "right"), f"read.{u}", (v, "left"))
            elif u.startswith("cache.w"):
                lines[e] = _Line((u, "left"), f"read.{u}", (v, "right"))
            elif u == "cache.target":
                lines[e] = _Line((u, "bottom"), f"bus.{u}", (v, "right"))
            else:  # cache.a or cache.z into dz of its own layer, down its bus
                lines[e] = _Line((u, "bottom"), f"bus.{u}", (v, "left"))

    # -- row heights: boxes, and room for the taps on their sides ----------------------------
    taps: dict[tuple[str, str], set[str]] = {}
    for line in lines.values():
        for node, s in (line.start, line.end):
            if s in ("left", "right"):
                taps.setdefault((node, s), set()).add(line.lane)
    busy: set[tuple[str, str]] = set()
    for u, v, _ in straight_edges:
        if g.nodes[u]["row"] == g.nodes[v]["row"] or g.nodes[u]["column"] != g.nodes[v]["column"]:
            busy.update({(u, "left"), (u, "right"), (v, "left"), (v, "right")})
    height = {n: sizes[n][1] for n in g.nodes}
    for (n, facing), names in taps.items():
        need = 2 * TAP_MARGIN + (len(names) - 1) * TAP_GAP + (2 * CENTRE_GAP if (n, facing) in busy else 0.0)
        height[n] = max(height[n], need)
    height = {n: 2.0 * math.ceil(h / 2) for n, h in height.items()}  # even: centres on whole pixels
    rows: dict[str, float] = {}
    for n in g.nodes:
        r = g.nodes[n]["row"]
        rows[r] = max(rows.get(r, 0.0), height[n])
    y_of: dict[str, float] = {}  # row centre
    y = top
    forward_rows = [r for j in range(1, widest + 1) for r in (f"f{j}", f"p{j}") if r in rows]
    for r in forward_rows:
        y_of[r] = y + rows[r] / 2
        y += rows[r] + ROW_GAP
    fwd_bottom = y - ROW_GAP
    if "cache" in rows:
        y_of["cache"] = fwd_bottom + BAND_GAP + rows["cache"] / 2
        y = fwd_bottom + 2 * BAND_GAP + rows["cache"]
    else:
        y = fwd_bottom + BAND_GAP
    back_rows = [f"b{j}" for j in range(widest, 0, -1) if f"b{j}" in rows]  # mirrored: unit 1 lowest
    for r in back_rows:
        y_of[r] = y + rows[r] / 2
        y += rows[r] + ROW_GAP
    bottom = y - ROW_GAP

    # -- columns ------------------------------------------------------------------------------
    def col_width(column: float) -> float:
        return max((sizes[n][0] for n in g.nodes if g.nodes[n]["column"] == column
                    and g.nodes[n]["band"] != "cache"), default=0.0)

    lane_x: dict[str, float] = {}
    cache_x: dict[str, float] = {}
    col_x: dict[float, float] = {}
    x = left
    in_cache = [n for n in ("cache.input",) if n in has]
    if in_cache:  # the bus of the inputs runs left of their column
        lane_x[f"bus.{in_cache[0]}"] = x + CACHE_INSET
        cache_x[in_cache[0]] = x
        x += CACHE_INSET + PAD + 4
    col_x[0] = x
    x += col_width(0)
    for layer in range(1, L + 1):
        units = size[layer]
        # the fan before z[l]: the kept values read across it run down beside the columns either side
        prev = f"cache.a{layer - 1}" if layer > 1 else "cache.input"
        room = FAN + FAN_PER_UNIT * max(units, size[layer - 1])
        if f"read.cache.w{layer}" in {ln.lane for ln in lines.values()}:
            lane_x[f"read.cache.w{layer}"] = x + PAD
        z_at = x + room + (2 * PAD if prev in has else 0.0)
        if f"read.{prev}" in {ln.lane for ln in lines.values()}:
            lane_x[f"read.{prev}"] = z_at - PAD
        col_x[4 * layer - 2] = z_at
        x = z_at + col_width(4 * layer - 2) + PAD
        # the gap between z[l] and a[l]
        for j in range(units, 0, -1):
            for name in (f"update.{layer}.{j}", f"ztie.{layer}.{j}"):
                if any(ln.lane == name for ln in lines.values()):
                    lane_x[name] = x
                    x += PITCH
        for kept in (f"cache.w{layer}", f"cache.z{layer}"):
            if kept in has:
                x += CACHE_INSET
                lane_x[f"bus.{kept}"] = x
                cache_x[kept] = x - CACHE_INSET
                x = x - CACHE_INSET + sizes[kept][0] + PITCH
        for j in range(1, units + 1):
            name = f"atie.{layer}.{j}"
            if any(ln.lane == name for ln in lines.values()):
                lane_x[name] = x
                x += PITCH
        kept = f"cache.a{layer}"
        if kept in has:
            x += CACHE_INSET
            lane_x[f"bus.{kept}"] = x
            cache_x[kept] = x - CACHE_INSET
            x += PITCH
        x += PAD - PITCH if x > col_x[4 * layer - 2] else 0.0
        col_x[4 * layer] = x
        x += col_width(4 * layer)
        if kept in has:
            x = max(x, cache_x[kept] + sizes[kept][0] + PAD)
    # the loss, and the lanes right of it
    x += FAN + FAN_PER_UNIT * size[L]
    loss_col = 4 * L + 2
    col_x[loss_col] = x
    x += col_width(loss_col) + PAD
    for name in ("y-loss", "bus.cache.target", "gradient", "loss-tie"):
        if any(ln.lane == name for ln in lines.values()):
            if name == "bus.cache.target":
                x += CACHE_INSET
                lane_x[name] = x
                cache_x["cache.target"] = x + CACHE_INSET - sizes["cache.target"][0]
                x += PITCH
            else:
                lane_x[name] = x
                x += PITCH
    right = x

    # -- boxes --------------------------------------------------------------------------------
    boxes: dict[str, NodeBox] = {}
    for n, data in g.nodes(data=True):
        w, _ = sizes[n]
        h = height[n]
        if data["band"] == "cache":
            x0 = cache_x[n]
        else:
            column = data["column"]
            x0 = col_x[column] + (col_width(column) - w) / 2
        cy = round(y_of[data["row"]])
        boxes[n] = NodeBox(n, data["kind"], data["band"], data["layer"], data["label"], data["plain"],
                           float(round(x0)), cy - h / 2, float(round(w)), h, texts[n])

    # -- routes -------------------------------------------------------------------------------
    lane_of = {e: (lane_x[line.lane], line.start[1], line.end[1]) for e, line in lines.items()}
    tap_y = allocate_taps(boxes, lane_of, straight_edges)
    routes: dict[EdgeKey, EdgeRoute] = {}

    def put(e: EdgeKey, corners: list[Point], head: bool, label_at: Point | None = None) -> None:
        label = g.edges[e]["label"]
        text = edge_texts.get(e)
        line = lines.get(e)
        if line is not None and line.lane.startswith(("bus.", "read.", "gradient", "loss-tie")):
            # a line of a bus: square corners, so where it branches off the shared run it only touches it
            pts = polyline(_shorten(_dedupe(corners), ARROW if head else 0.0))
        else:
            pts = rounded(_dedupe(corners), shorten=ARROW if head else 0.0)
        if line is not None and line.end[1] == "top" and line.start[1] in ("left", "right"):
            # a bus gathering into a kept value: the dashes of its lines in phase where they overlap
            pts = lead_in(pts, kind_of[e], into=1.0 if line.start[1] == "left" else -1.0)
        tip = corners[-1] if head else None
        at = label_at if text is not None else None
        if text is not None and at is None:
            a, b = corners[len(corners) // 2 - 1], corners[len(corners) // 2]
            at = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        routes[e] = EdgeRoute(edge_ids[e], e[0], e[1], kind_of[e], label, plain(label), pts,
                              _r(tip) if tip else None, _r(at) if at else None, text)

    for e in straight_edges:
        u, v, _ = e
        bu, bv = boxes[u], boxes[v]
        head = kind_of[e] != "derivative"
        if g.nodes[u]["column"] == g.nodes[v]["column"]:  # straight up (w → z, y → J), one column
            cx = bv.center[0]
            put(e, [(cx, side_y(bu, "top", cx)), (cx, side_y(bv, "bottom", cx))], head)
        elif bv.x > bu.x:
            put(e, [(_side(bu, "right", bu.center[1]), bu.center[1]),
                    (_side(bv, "left", bv.center[1]), bv.center[1])], head)
        else:
            put(e, [(_side(bu, "left", bu.center[1]), bu.center[1]),
                    (_side(bv, "right", bv.center[1]), bv.center[1])], head)
    for e, line in lines.items():
        u, v, _ = e
        bu, bv = boxes[u], boxes[v]
        lx = lane_x[line.lane]
        (_, s0), (_, s1) = line.start, line.end
        pts: list[Point] = []
        if s0 in ("left", "right"):
            ty = tap_y.get((u, s0, lx), bu.center[1])
            pts += [(_side(bu, s0, ty), ty), (lx, ty)]
        else:  # out of a kept value's bottom, on its bus
            pts.append((lx, bu.y + bu.h))
        if s1 in ("left", "right"):
            ty = tap_y.get((v, s1, lx), bv.center[1])
            pts += [(lx, ty), (_side(bv, s1, ty), ty)]
        elif line.jog:  # under the parameter, then up into it
            cx = bv.center[0]
            below = bv.y + bv.h + JOG
            pts += [(lx, below), (cx, below), (cx, side_y(bv, "bottom", cx))]
        else:  # into a kept value's top
            pts.append((lx, bv.y))
        head = kind_of[e] != "derivative"
        label_at = None
        if e in edge_texts and line.jog:  # on the turn under the parameter, where nothing else runs
            label_at = ((lx + bv.center[0]) / 2, bv.y + bv.h + JOG)
        elif e in edge_texts:
            text = edge_texts[e]
            label_at = (lx + 4 + text.width / 2, (pts[1][1] + pts[-3][1]) / 2 if len(pts) >= 4 else pts[0][1])
        put(e, pts, head, label_at)
    return Grid(boxes, routes, right, bottom)


def _shorten(points: list[Point], by: float) -> list[Point]:
    """``points`` with the last segment ``by`` px shorter (room for the arrow head)."""
    (ax, ay), (bx, by_) = points[-2], points[-1]
    length = math.hypot(bx - ax, by_ - ay) or 1.0
    cut = min(by, length * 0.8)
    return [*points[:-1], (bx - (bx - ax) * cut / length, by_ - (by_ - ay) * cut / length)]


def _side(box: NodeBox, side: str, y: float) -> float:
    if NODE_STYLES[box.kind].shape == "ellipse":
        return ellipse_x(box.center, (box.w, box.h), side, y)
    return box.x if side == "left" else box.x + box.w


def _dedupe(points: list[Point]) -> list[Point]:
    out = [_r(points[0])]
    for p in points[1:]:
        if abs(p[0] - out[-1][0]) > 0.01 or abs(p[1] - out[-1][1]) > 0.01:
            out.append(_r(p))
    return out


def _r(p: Point) -> Point:
    return (round(p[0], 2), round(p[1], 2))
