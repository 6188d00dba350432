"""Straight routes between bands, chosen by the crossings they would make.

Graphviz places the nodes and routes what it routes well (parameters into
their linear step, updates up into their parameter). The edges that cross
between bands and are best drawn as straight lines are routed here: cache
edges, the loss's first gradient and derivative links. For each, every
straight line from a port on one node's facing side to a port on the other's
is a candidate; a candidate must keep clear of every other node and of the
ports other edges already use, and must point the way the grammar says. The
candidate crossing the fewest routed edges wins, then the most vertical one.
A few rounds of rip-up and reroute then let an early choice make way for a
later edge, so the order of routing matters less.

Every question about nodes in the way, ports in use and edges crossed looks
only near the line asked about (a ``spatial.Grid`` of nodes and one of routed
lines; the ports in use kept by node), so routing grows with the number of
edges, not with its square.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from bpdiagram.layout.crossings import DrawnLine, crossing_points, drawn_line
from bpdiagram.layout.geometry import Side, segment_hits_box, straight, with_head
from bpdiagram.layout.scene import EdgeRoute, NodeBox, Point
from bpdiagram.layout.spatial import Grid
from bpdiagram.options import EdgeKind

LANE_STEP = 6.0
"""Distance between neighbouring ports on a side."""
CORNER_MARGIN = 10.0
"""Ports keep this far from a box's corners (rounded corners have radius 7)."""
CLEARANCE = 6.0
"""A route keeps this far from every node it does not join."""
TIGHT_CLEARANCE = 1.0
"""The clearance of the last resort, when no line keeps ``CLEARANCE``."""
TIGHT_COST = 4.0
"""Added to a line's cost when it only keeps ``TIGHT_CLEARANCE``: above every roomy line."""
PORT_GAP = 5.0
"""Two edges' ends on one node keep at least this far apart."""
ROUNDS = 3
MAX_TRIES = 120
"""Candidate lines measured for crossings per request once one fits: bounds the work (deterministically)
on dense graphs such as long expressions, where every line crosses something."""
"""Rip-up-and-reroute rounds after the first pass (it stops earlier once nothing improves)."""
ARROW_TOL = 0.5
FACE_COST = 2.0
"""A side entry ranks after every entry through the facing top or bottom (cost ≤ π/2) that crosses no more edges."""

BULK_REQUESTS = 300
"""From this many requests on, numpy finds each request's candidate lines (``_bulk_candidates``): hundreds
per request, of which a search mostly tries a few; the same lines come out in the same order."""

Direction = Literal["down", "left", "any"]


@dataclass(frozen=True)
class Request:
    """An edge to route straight: which sides it may end on and which way it must point.

    ``faces`` lets the line end on the target's left or right side when the
    source lies wholly beside it (a line coming in from the side), besides
    the target's facing top or bottom.
    """

    id: str
    source: str
    target: str
    kind: EdgeKind
    head: bool
    direction: Direction
    faces: bool
    fallback: EdgeRoute


_Candidate = tuple[float, int, Point, Point]
"""cost, order of generation, start, end. The cost says how far from ideal a line is: its angle from the
vertical; into a side face, ``FACE_COST`` plus its distance from the face's middle. (A tuple: there are
thousands per diagram, and they sort by cost, then order.)"""


def _on_ellipse_bottom(box: NodeBox, x: float, top: bool) -> float:
    rx, ry = box.w / 2, box.h / 2
    cx, cy = box.center
    f = max(0.0, 1.0 - ((x - cx) / rx) ** 2)
    dy = ry * math.sqrt(f)
    return cy - dy if top else cy + dy


def side_ports(box: NodeBox, side: Side, ellipse: bool) -> list[Point]:
    """Port positions on one side of ``box``: the centre, then outwards in ``LANE_STEP``s, right/left (down/up)
    alternating, then the outermost positions."""
    cx, cy = box.center
    horizontal = side in ("top", "bottom")
    half = (box.w if horizontal else box.h) / 2 - CORNER_MARGIN
    if not horizontal and ellipse:
        return []
    steps = [0.0]
    k = 1
    while k * LANE_STEP <= half:
        steps += [k * LANE_STEP, -k * LANE_STEP]
        k += 1
    if half > 0 and half - (k - 1) * LANE_STEP > 1.0:
        steps += [half, -half]  # the outermost ports too: a narrow gap beside a box may only fit there
    out: list[Point] = []
    for d in steps:
        if horizontal:
            x = cx + d
            flat_y = box.y if side == "top" else box.y + box.h
            y = _on_ellipse_bottom(box, x, side == "top") if ellipse else flat_y
            out.append((round(x, 2), round(y, 2)))
        else:
            x = box.x if side == "left" else box.x + box.w
            out.append((round(x, 2), round(cy + d, 2)))
    return out


def segment_hits(a: Point, b: Point, box: NodeBox, pad: float) -> bool:
    """Whether segment a–b passes through ``box`` grown by ``pad``."""
    return segment_hits_box(a, b, (box.x, box.y, box.w, box.h), pad)


def _plain_candidates(starts: list[Point], ends: list[tuple[Point, bool]], direction: Direction, sign: int,
                      cy: float) -> list[_Candidate]:
    """``Router._candidates``'s lines, one by one: pointing the way ``direction`` says and away from the source's
    band (``sign`` 1 down, -1 up), sorted by cost (``cy``: the middle of the target's side faces)."""
    # through the facing side the cost is the angle (the most vertical wins); into a side face it
    # is FACE_COST, then the distance from the face's middle, then a hundredth of the angle
    atan2 = math.atan2
    targets = [(b, b[0], b[1], FACE_COST + abs(b[1] - cy) / LANE_STEP * 0.1 if face else None) for b, face in ends]
    out: list[_Candidate] = []
    for a in starts:
        ax, ay = a
        for b, bx, by, face_cost in targets:
            if direction == "left" and bx > ax + ARROW_TOL:
                continue
            if direction == "down" and not by > ay:
                continue
            if (by - ay) * sign <= 0:
                continue  # a side entry must still come from the source's band
            angle = atan2(abs(bx - ax), abs(by - ay))
            out.append((angle if face_cost is None else face_cost + angle * 0.01, len(out), a, b))
    out.sort()
    return out


class _Sorted:
    """A request's candidates found by numpy, in their order; each tuple made when an iteration reaches it."""

    def __init__(self, costs: list[float], starts: list[Point], ends: list[Point], at: list[int], to: list[int],
                 made: list[int]) -> None:
        self._costs, self._starts, self._ends, self._at, self._to, self._made = costs, starts, ends, at, to, made

    def __iter__(self) -> Iterator[_Candidate]:
        starts, ends = self._starts, self._ends
        for cost, made, i, j in zip(self._costs, self._made, self._at, self._to, strict=True):
            yield (cost, made, starts[i], ends[j])


def _bulk_candidates(starts: list[Point], ends: list[tuple[Point, bool]], direction: Direction, sign: int,
                     cy: float) -> _Sorted:
    """``_plain_candidates`` with numpy: the same lines, costs and order.

    The filters and costs are the same float operations (numpy's ``+ - * /``
    and ``abs`` round as Python's do); the angles are ``math.atan2``'s, not
    numpy's (which may use other code on other CPUs). A stable sort by cost
    keeps equal costs in the order they were made, as the tuples' sort does.
    """
    import numpy as np  # only big diagrams come here (see ``BULK_REQUESTS``); the others never load numpy

    if not starts or not ends:
        return _Sorted([], [], [], [], [], [])
    a = np.array(starts, dtype=float)
    b = np.array([p for p, _ in ends], dtype=float)
    ax, ay = a[:, 0:1], a[:, 1:2]
    bx, by = b[None, :, 0], b[None, :, 1]
    keep = (by - ay) * sign > 0  # a side entry must still come from the source's band
    if direction == "left":
        keep &= ~(bx > ax + ARROW_TOL)
    elif direction == "down":
        keep &= by > ay
    at, to = np.nonzero(keep)  # row by row: the order the plain loops make them in
    dx = np.abs(b[to, 0] - a[at, 0])
    dy = np.abs(b[to, 1] - a[at, 1])
    costs = np.array(list(map(math.atan2, dx.tolist(), dy.tolist())), dtype=float)
    face = np.array([f for _, f in ends], dtype=bool)[to]
    if face.any():
        face_cost = FACE_COST + np.abs(b[to, 1] - cy) / LANE_STEP * 0.1
        costs = np.where(face, face_cost + costs * 0.01, costs)
    order = np.argsort(costs, kind="stable")
    return _Sorted(costs[order].tolist(), starts, [p for p, _ in ends], at[order].tolist(), to[order].tolist(),
                   order.tolist())


class Router:
    """Routes requests one by one against everything routed so far, then improves them by rerouting."""

    def __init__(self, nodes: Sequence[NodeBox], fixed: Iterable[EdgeRoute], *, ellipses: set[str],
                 arrow: float) -> None:
        self.nodes = list(nodes)
        self.boxes = {n.id: n for n in self.nodes}
        self.ellipses = ellipses
        self.arrow = arrow
        self.routes: dict[str, EdgeRoute] = {}
        self.bulk = False
        """Whether numpy finds the candidates (``route_all`` decides: from ``BULK_REQUESTS`` requests on)."""
        self._cache: dict[str, Iterable[_Candidate]] = {}
        self._between: dict[str, list[NodeBox]] = {}
        self._answers: dict[str, tuple[object, tuple[EdgeRoute, int, float] | None]] = {}
        """request → the last question ``best`` answered for it (see there), and its answer"""
        self.lines: dict[str, DrawnLine] = {}
        # routed lines by bounding box (in step with ``lines``), and nodes by box (keyed by index in ``nodes``)
        self._near_lines: Grid[str] = Grid()
        self._near_nodes: Grid[int] = Grid()
        for i, n in enumerate(self.nodes):
            self._near_nodes.add(i, (n.x, n.y, n.x + n.w, n.y + n.h))
        # node → routed edge → where that edge ends on the node
        self._ends: dict[str, dict[str, list[Point]]] = {}
        for route in fixed:
            self._add(route)

    # -- bookkeeping ----------------------------------------------------------------
    def _add(self, route: EdgeRoute) -> None:
        self.routes[route.id] = route
        line = drawn_line(route)
        self.lines[route.id] = line
        self._near_lines.add(route.id, line.bbox)
        if route.points:
            self._ends.setdefault(route.source, {}).setdefault(route.id, []).append(route.points[0])
            end = route.tip if route.tip is not None else route.points[-1]
            self._ends.setdefault(route.target, {}).setdefault(route.id, []).append(end)

    def _remove(self, edge_id: str) -> None:
        route = self.routes.pop(edge_id)
        del self.lines[edge_id]
        self._near_lines.remove(edge_id)
        for node in (route.source, route.target):
            self._ends.get(node, {}).pop(edge_id, None)

    def _ports_in_use(self, node: str, skip: str) -> list[Point]:
        return [p for edge, ends in self._ends.get(node, {}).items() if edge != skip for p in ends]

    def _lines_near(self, box: tuple[float, float, float, float]) -> list[DrawnLine]:
        """The routed lines whose bounding boxes overlap ``box``, in the order they were routed."""
        return [self.lines[k] for k in self._near_lines.query(box)]

    def crossings_of(self, route: EdgeRoute, *, limit: int | None = None,
                     among: Sequence[DrawnLine] | None = None) -> int:
        """How many times ``route`` crosses the routes in place (itself excluded), counting up to ``limit``.

        ``among`` narrows the routes looked at to those that can be reached (a
        request's candidates all lie between its two nodes).
        """
        return self._count(route, limit, among)[0]

    def _count(self, route: EdgeRoute, limit: int | None,
               among: Sequence[DrawnLine] | None) -> tuple[int, DrawnLine | None]:
        """``crossings_of``, and the line that brought the count to ``limit`` (None if it stayed below)."""
        line = drawn_line(route)
        x0, y0, x1, y1 = line.bbox
        total = 0
        for other in self._lines_near(line.bbox) if among is None else among:
            other_id = other.edge.id
            ox0, oy0, ox1, oy1 = other.bbox
            if other_id == route.id or ox1 < x0 or ox0 > x1 or oy1 < y0 or oy0 > y1:
                continue
            total += len(crossing_points(line, other, self.boxes))
            if limit is not None and total >= limit:
                return total, other
        return total, None

    # -- routing ----------------------------------------------------------------------
    def _route(self, req: Request, a: Point, b: Point) -> EdgeRoute:
        f = req.fallback
        if req.head:
            pts, tip = with_head(a, b, self.arrow)
            return EdgeRoute(f.id, f.source, f.target, f.kind, f.label, f.plain, pts, tip, None, f.text)
        return EdgeRoute(f.id, f.source, f.target, f.kind, f.label, f.plain, straight(a, b), None, None, f.text)

    def _candidates(self, req: Request) -> Iterable[_Candidate]:
        """Every line from a port of the source to a port of the target that points the right way, by cost.

        Computed once per request; whether a port is free and a line clear
        is checked when a candidate is tried. With ``BULK_REQUESTS`` requests
        or more, numpy finds and sorts them (``_bulk_candidates``), the same
        lines in the same order, made into tuples only as the search reaches
        them: most searches stop at the first few of hundreds.
        """
        if req.id in self._cache:
            return self._cache[req.id]
        u, v = self.boxes[req.source], self.boxes[req.target]
        down = u.y + u.h <= v.y
        up = v.y + v.h <= u.y
        out: Iterable[_Candidate] = []
        if down or up:
            starts = side_ports(u, "bottom" if down else "top", u.id in self.ellipses)
            ends = [(p, False) for p in side_ports(v, "top" if down else "bottom", v.id in self.ellipses)]
            if req.faces and v.id not in self.ellipses:
                if u.x >= v.x + v.w + CORNER_MARGIN:
                    ends += [(p, True) for p in side_ports(v, "right", False)]
                elif u.x + u.w <= v.x - CORNER_MARGIN:
                    ends += [(p, True) for p in side_ports(v, "left", False)]
            if self.bulk:
                out = _bulk_candidates(starts, ends, req.direction, 1 if down else -1, v.center[1])
            else:
                out = _plain_candidates(starts, ends, req.direction, 1 if down else -1, v.center[1])
        self._cache[req.id] = out
        return out

    def _clear(self, req: Request, a: Point, b: Point, pad: float) -> bool:
        """Whether the line a–b keeps ``pad`` from every node but its own two."""
        x0, x1 = (a[0], b[0]) if a[0] <= b[0] else (b[0], a[0])
        y0, y1 = (a[1], b[1]) if a[1] <= b[1] else (b[1], a[1])
        if req.id not in self._between:
            # every candidate of a request lies within the joint box of its two nodes (ports are on
            # their sides): only nodes within CLEARANCE of that box can be in the way
            u, v = self.boxes[req.source], self.boxes[req.target]
            top, bottom = min(u.y, v.y), max(u.y + u.h, v.y + v.h)
            left, right = min(u.x, v.x), max(u.x + u.w, v.x + v.w)
            near = self._near_nodes.query((left - CLEARANCE, top - CLEARANCE, right + CLEARANCE, bottom + CLEARANCE))
            self._between[req.id] = [self.nodes[i] for i in near if self.nodes[i].id not in (req.source, req.target)]
        for n in self._between[req.id]:
            if n.x - pad > x1 or n.x + n.w + pad < x0 or n.y - pad > y1 or n.y + n.h + pad < y0:
                continue
            if segment_hits(a, b, n, pad):
                return False
        return True

    def best(self, req: Request, *, beat: tuple[int, float] | None = None) -> tuple[EdgeRoute, int, float] | None:
        """The best straight route for ``req`` (fewest crossings, then lowest cost), if any beats ``beat``.

        Lines keeping ``CLEARANCE`` from other nodes come first; only when
        none fits are lines that pass closer (``TIGHT_CLEARANCE``) tried, at
        a cost above every roomy one.
        """
        used_u = self._ports_in_use(req.source, req.id)
        used_v = self._ports_in_use(req.target, req.id)
        free: dict[tuple[bool, Point], bool] = {}

        def is_free(p: Point, at_source: bool) -> bool:
            if (at_source, p) not in free:
                used = used_u if at_source else used_v
                free[at_source, p] = all(math.dist(p, q) >= PORT_GAP for q in used)
            return free[at_source, p]

        u, v = self.boxes[req.source], self.boxes[req.target]
        x0, y0 = min(u.x, v.x), min(u.y, v.y)
        x1, y1 = max(u.x + u.w, v.x + v.w), max(u.y + u.h, v.y + v.h)
        near = self._lines_near((x0, y0, x1, y1))
        # The answer depends only on the lines near, the ports in use and ``beat`` (the rest is fixed): a
        # reroute round that finds them as they were last time gets the same answer without the search.
        key = (beat, tuple(sorted((line.edge.id, line.edge.points, line.edge.tip) for line in near)),
               tuple(sorted(used_u)), tuple(sorted(used_v)))
        if self._answers.get(req.id, (None, None))[0] == key:
            return self._answers[req.id][1]
        found = self._search(req, beat, near, is_free)
        self._answers[req.id] = (key, found)
        return found

    def _search(self, req: Request, beat: tuple[int, float] | None, near: Sequence[DrawnLine],
                is_free: Callable[[Point, bool], bool]) -> tuple[EdgeRoute, int, float] | None:
        """``best``'s search through the candidates, cheapest first.

        The line that stopped a candidate's count is asked first for the next
        one: neighbouring candidates are mostly stopped by the same line. A
        count stopped at its limit only ever rejects a candidate, so the
        order the lines are asked in never changes the answer.
        """
        best: tuple[EdgeRoute, int, float] | None = None
        lines = list(near)
        for pad, penalty in ((CLEARANCE, 0.0), (TIGHT_CLEARANCE, TIGHT_COST)):
            tried = 0
            for cand in self._candidates(req):
                base, _, a, b = cand
                cost = base + penalty
                if best is not None and best[1] == 0:
                    break  # sorted by cost: nothing later beats a crossing-free route
                if best is not None and tried >= MAX_TRIES:
                    break  # the cheapest lines are the likely ones; a dense graph must not search forever
                if beat is not None and beat[0] == 0 and cost >= beat[1] - 1e-9:
                    break  # the route to beat crosses nothing, and no cheaper candidate is left
                if not (is_free(a, True) and is_free(b, False) and self._clear(req, a, b, pad)):
                    continue
                tried += 1
                limit = best[1] if best is not None else (beat[0] + 1 if beat is not None else None)
                route = self._route(req, a, b)
                n, stop = self._count(route, limit, lines)
                if stop is not None and lines[0] is not stop:
                    lines.insert(0, lines.pop(next(k for k, x in enumerate(lines) if x is stop)))
                if best is None or n < best[1]:
                    if beat is not None and (n, cost) >= (beat[0], beat[1] - 1e-9):
                        continue
                    best = (route, n, cost)
            if best is not None:
                break
        return best

    def route_all(self, requests: Sequence[Request]) -> dict[str, EdgeRoute]:
        """Route every request (in order), then reroute each while that removes crossings or straightens it."""
        chosen: dict[str, tuple[int, float]] = {}
        self.bulk = len(requests) >= BULK_REQUESTS
        for req in requests:
            found = self.best(req)
            if found is None:
                self._add(req.fallback)
                chosen[req.id] = (self.crossings_of(req.fallback), math.inf)
            else:
                self._add(found[0])
                chosen[req.id] = (found[1], found[2])
        for _ in range(ROUNDS):
            changed = False
            for req in requests:
                current = self.routes[req.id]
                score = (self.crossings_of(current), chosen[req.id][1])
                self._remove(req.id)
                found = self.best(req, beat=score)
                if found is None:
                    self._add(current)
                    continue
                self._add(found[0])
                chosen[req.id] = (found[1], found[2])
                changed = True
            if not changed:
                break
        return {req.id: self.routes[req.id] for req in requests}
