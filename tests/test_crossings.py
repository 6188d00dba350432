"""Crossings and line jumps on hand-made geometry: the definition, the jump rule, the drawn arcs."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from itertools import pairwise
from typing import Any

import pytest

from bpdiagram import Diagram
from bpdiagram.layout.crossings import BULK_LINES, JUMP_RADIUS, find_crossings, plan_jumps
from bpdiagram.layout.geometry import bezier_point
from bpdiagram.layout.quality import measure
from bpdiagram.layout.scene import Crossing, Jump, PathPos
from bpdiagram.writers import graphml, svg
from tests.geometry import crossings as graphml_crossings
from tests.geometry import read
from tests.scenes import box, curve, line, plus, scene

SVG = "{http://www.w3.org/2000/svg}"


def test_a_plain_crossing_is_found_once_and_the_flatter_edge_jumps() -> None:
    s = plus()
    assert len(s.crossings) == 1
    c = s.crossings[0]
    assert (c.over, c.under) == ("e0", "e1")
    assert c.at == (150.0, 150.0)
    assert c.at_length == pytest.approx(100.0)


def test_the_jump_rule_follows_the_slope_not_the_drawing_order() -> None:
    nodes = [box("A", 0, 0), box("B", 300, 300), box("C", 0, 300), box("D", 300, 0)]
    steep = line("e0", "A", "B", (20, 20), (60, 300))
    flat = line("e1", "C", "D", (0, 200), (300, 150))
    (c,) = find_crossings([steep, flat], nodes)
    assert c.over == "e1"
    (c,) = find_crossings([flat, steep], nodes)
    assert c.over == "e1"


def test_equally_steep_edges_let_the_later_drawn_one_jump() -> None:
    nodes = [box("A", 0, 0), box("B", 300, 300), box("C", 0, 300), box("D", 300, 0)]
    down = line("e0", "A", "B", (40, 40), (240, 240))
    up = line("e1", "C", "D", (40, 240), (240, 40))
    (c,) = find_crossings([down, up], nodes)
    assert c.over == "e1"


def test_edges_meeting_at_a_node_do_not_cross_but_may_cross_elsewhere() -> None:
    nodes = [box("H", 100, 100), box("K", 100, 100), box("A", 0, 0), box("B", 250, 0),
             box("C", 0, 300), box("D", 250, 300)]
    # two edges into H whose ends cross 3 px above its box: they meet there
    meet = [line("e0", "A", "H", (40, 30), (122, 99)), line("e1", "B", "H", (250, 30), (118, 99))]
    assert find_crossings(meet, nodes) == ()
    # the same lines into two different nodes (K lies where H lies) do cross
    apart = [meet[0], line("e1", "B", "K", (250, 30), (118, 99))]
    assert len(find_crossings(apart, nodes)) == 1
    # two edges out of H that swap sides far below it cross there
    far = [line("e0", "H", "D", (105, 130), (180, 300)), line("e1", "H", "C", (135, 130), (160, 300))]
    (c,) = find_crossings(far, nodes)
    assert c.at[1] == pytest.approx(232.0)


def test_parallel_collinear_and_touching_lines_are_not_crossings() -> None:
    nodes = [box("A", 0, 0), box("B", 300, 0), box("C", 0, 100), box("D", 300, 100)]
    edges = [line("e0", "A", "B", (40, 50), (300, 50)), line("e1", "C", "D", (40, 60), (300, 60)),
             line("e2", "A", "D", (100, 50), (200, 50)),  # lies on e0
             line("e3", "C", "B", (150, 90), (150, 61))]  # ends 1 px short of e1's line
    assert find_crossings(edges, nodes) == ()


def _curve_hits(points: tuple[tuple[float, float], ...], x: float) -> list[float]:
    """Independent oracle: where one cubic Bézier meets the vertical line at ``x`` (bisection on t)."""
    p0, p1, p2, p3 = points
    ts = [i / 400 for i in range(401)]
    out = []
    for t0, t1 in pairwise(ts):
        f0 = bezier_point(p0, p1, p2, p3, t0)[0] - x
        f1 = bezier_point(p0, p1, p2, p3, t1)[0] - x
        if f0 == 0 or f0 * f1 < 0:
            lo, hi = t0, t1
            for _ in range(60):
                mid = (lo + hi) / 2
                fm = bezier_point(p0, p1, p2, p3, mid)[0] - x
                if (fm < 0) == (f0 < 0):
                    lo = mid
                else:
                    hi = mid
            out.append(bezier_point(p0, p1, p2, p3, lo)[1])
    return out


def test_crossings_follow_the_real_curve() -> None:
    """A curve that bows over a vertical line and back crosses it twice, where the curve really is."""
    pts = ((20.0, 200.0), (300.0, 0.0), (300.0, 400.0), (20.0, 220.0))
    nodes = [box("A", 0, 190, 20, 20), box("B", 0, 215, 20, 20), box("N", 140, 0), box("S", 140, 380)]
    edges = [curve("e0", "A", "B", pts), line("e1", "N", "S", (160, 30), (160, 380))]
    found = sorted(c.at[1] for c in find_crossings(edges, nodes))
    expected = sorted(_curve_hits(pts, 160.0))
    assert len(found) == len(expected) == 2
    for y, want in zip(found, expected, strict=True):
        assert y == pytest.approx(want, abs=0.3)


def test_an_edge_never_jumps_on_its_arrowhead() -> None:
    """The flatter edge would jump, but the crossing lies on its arrowhead: the steeper one jumps instead."""
    nodes = [box("W", 0, 85), box("E", 200, 85), box("N", 190, 0), box("S", 190, 200)]
    flat = line("e0", "W", "E", (40, 100), (200, 100), head=True)
    steep = line("e1", "N", "S", (196, 30), (196, 200))
    (c,) = find_crossings([flat, steep], nodes)
    assert c.over == "e1"


def test_a_jump_cuts_one_radius_either_side_and_bulges_the_documented_way() -> None:
    (jump,) = plus().jumps
    assert jump.edge == "e0" and jump.crossings == 1
    assert math.dist(jump.p_in, (150 - JUMP_RADIUS, 150)) < 0.05
    assert math.dist(jump.p_out, (150 + JUMP_RADIUS, 150)) < 0.05
    assert jump.bulge == (0.0, -1.0)  # flat lines hop upwards
    s = plus()
    (c,) = s.crossings
    (steep,) = plan_jumps(s.edges, [Crossing(c.under, c.over, c.at, 110.0)])
    assert steep.edge == "e1"
    assert steep.bulge == (-1.0, 0.0)  # steep lines hop to the left
    assert math.dist(steep.p_in, (150, 150 - JUMP_RADIUS)) < 0.05


def test_close_crossings_share_one_wider_jump() -> None:
    nodes = [box("W", 0, 135), box("E", 300, 135), box("N1", 130, 0), box("S1", 130, 260),
             box("N2", 140, 0), box("S2", 140, 260)]
    edges = [line("e0", "W", "E", (40, 150), (300, 150)), line("e1", "N1", "S1", (150, 30), (150, 260)),
             line("e2", "N2", "S2", (156, 30), (156, 260))]
    s = scene(nodes, edges)
    assert len(s.crossings) == 2
    (jump,) = s.jumps
    assert jump.crossings == 2
    assert math.dist(jump.p_in, jump.p_out) == pytest.approx(6 + 2 * JUMP_RADIUS, abs=0.05)


def _arc_midpoints(d: str) -> list[tuple[float, float]]:
    """The middle of every ``A`` command of a path, from the SVG spec's endpoint-to-centre conversion."""
    out = []
    tokens = re.findall(r"[MCA]|-?[\d.]+", d)
    current = (0.0, 0.0)
    i = 0
    while i < len(tokens):
        cmd = tokens[i]
        if cmd == "M":
            current = (float(tokens[i + 1]), float(tokens[i + 2]))
            i += 3
        elif cmd == "C":
            current = (float(tokens[i + 5]), float(tokens[i + 6]))
            i += 7
        else:
            r, sweep = float(tokens[i + 1]), int(tokens[i + 5])
            end = (float(tokens[i + 6]), float(tokens[i + 7]))
            # a half circle: the centre is the chord's middle; sweep 1 runs through increasing angle
            cx, cy = (current[0] + end[0]) / 2, (current[1] + end[1]) / 2
            theta = math.atan2(current[1] - cy, current[0] - cx) + (math.pi / 2 if sweep else -math.pi / 2)
            assert r == pytest.approx(math.dist(current, end) / 2, abs=0.02)
            out.append((cx + r * math.cos(theta), cy + r * math.sin(theta)))
            current = end
            i += 8
    return out


@pytest.mark.parametrize(("a", "b", "side"), [
    ((0.0, 50.0), (100.0, 50.0), "up"), ((100.0, 50.0), (0.0, 50.0), "up"),
    ((50.0, 0.0), (50.0, 100.0), "left"), ((50.0, 100.0), (50.0, 0.0), "left"),
    ((0.0, 0.0), (100.0, 60.0), "up"), ((0.0, 100.0), (60.0, 0.0), "left"),
])
def test_arcs_bulge_up_on_flat_lines_and_left_on_steep_ones(a: tuple[float, float], b: tuple[float, float],
                                                             side: str) -> None:
    nodes = [box("A", a[0] - 20, a[1] - 15), box("B", b[0] - 20, b[1] - 15),
             box("C", -200, -200), box("D", 400, 400)]
    mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    main = line("e0", "A", "B", a, b)
    cross = line("e1", "C", "D", (mid[0] - 60, mid[1] - 80), (mid[0] + 60, mid[1] + 80))
    edges = [main, cross]
    (found,) = find_crossings(edges, nodes)
    assert math.dist(found.at, mid) < 0.01
    # whichever edge the rule picks, make the main edge jump: the side depends on its own slope only
    crossings = [Crossing("e0", "e1", found.at, math.dist(a, found.at))]
    d = svg.path_data(main.points, plan_jumps(edges, crossings), "arc")
    (top,) = _arc_midpoints(d)
    assert math.dist(top, mid) == pytest.approx(JUMP_RADIUS, abs=0.05)  # a half circle around the crossing
    if side == "up":
        assert top[1] < mid[1] - JUMP_RADIUS / 2
    else:
        assert top[0] < mid[0] - JUMP_RADIUS / 2


def test_gap_and_none_styles() -> None:
    s = plus()
    edge = s.edges[0]
    arc = svg.path_data(edge.points, s.jumps, "arc")
    gap = svg.path_data(edge.points, s.jumps, "gap")
    none = svg.path_data(edge.points, s.jumps, "none")
    assert arc.count("A") == 1 and gap.count("A") == 0 and none.count("A") == 0
    assert gap.count("M") == 2 and none.count("M") == 1
    assert none == svg.path_data(edge.points)
    (jump,) = s.jumps
    assert f"M{jump.p_out[0]:g},{jump.p_out[1]:g}" in gap


def test_cutting_a_curve_keeps_every_point_on_it() -> None:
    pts = ((0.0, 0.0), (40.0, 90.0), (120.0, -30.0), (160.0, 60.0))
    for t0, t1 in ((0.0, 0.3), (0.25, 0.75), (0.6, 1.0)):
        sub = svg.sub_bezier(*pts, t0, t1)
        for k in range(11):
            u = k / 10
            assert math.dist(bezier_point(*sub, u), bezier_point(*pts, t0 + (t1 - t0) * u)) < 1e-9
    jump = Jump("e", PathPos(0, 0.4), PathPos(0, 0.5), (0, 0), (0, 0), (0.0, -1.0), 1)
    d = svg.path_data(pts, (jump,), "gap")
    assert d.count("C") == 2


@pytest.mark.parametrize("style", ["arc", "gap", "none"])
def test_data_jumps_count_what_is_drawn_and_match_the_graphml_crossings(style: str) -> None:
    s = plus(style)  # type: ignore[arg-type]
    root = ET.fromstring(svg.render(s))
    hops = {g.get("id"): int(g.get("data-jumps", "-1")) for g in root.iter(f"{SVG}g")
            if "edge" in (g.get("class") or "").split()}
    assert hops == {"edge-e0": 0 if style == "none" else 1, "edge-e1": 0}
    boxes, lines = read(graphml.render(s))
    assert len(graphml_crossings(boxes, lines)) == 1 == measure(s).crossings
    assert measure(s).jumps == sum(hops.values())


@pytest.mark.parametrize("build", [
    lambda: Diagram.template("three-layer-elementwise").layout,
    lambda: Diagram.template("two-layer-binary").layout,
    lambda: Diagram.load({"input": 8, "layers": [{"size": 8, "activation": "tanh"}, {"size": 8, "activation": "tanh"},
                                                 {"size": 1, "activation": "sigmoid"}],
                          "loss": "bce", "diagram": {"view": "elementwise"}}).layout,
], ids=["three-layer-elementwise", "two-layer-binary", "elementwise-8-8-8-1"])
def test_numpy_search_finds_the_same_crossings_as_the_plain_one(build: Any) -> None:
    """Big diagrams find their short lines' crossings with numpy (``BULK_LINES``): the same Crossings, exactly."""
    scene = build()
    plain = find_crossings(scene.edges, scene.nodes, bulk=False)
    assert find_crossings(scene.edges, scene.nodes, bulk=True) == plain
    assert plain == scene.crossings or len(scene.edges) < BULK_LINES


def test_numpy_search_on_hand_made_crossings() -> None:
    """Shared nodes, touching and collinear lines, arrowheads, equal slopes: numpy's answer is the plain one's."""
    nodes = [box("A", 0, 0), box("B", 300, 300), box("C", 0, 300), box("D", 300, 0), box("H", 100, 100),
             box("K", 100, 100)]
    cases = [
        [line("e0", "A", "B", (20, 20), (60, 300)), line("e1", "C", "D", (0, 200), (300, 150))],
        [line("e0", "A", "B", (40, 40), (240, 240)), line("e1", "C", "D", (40, 240), (240, 40), head=True)],
        [line("e0", "A", "H", (40, 30), (122, 99)), line("e1", "B", "H", (250, 30), (118, 99)),
         line("e2", "B", "K", (250, 30), (118, 99), kind="cache")],
        [line("e0", "H", "D", (105, 130), (180, 300), head=True), line("e1", "H", "C", (135, 130), (160, 300))],
        [line("e0", "A", "B", (40, 50), (300, 50)), line("e1", "C", "D", (40, 60), (300, 60)),
         line("e2", "A", "D", (100, 50), (200, 50)), line("e3", "C", "B", (150, 90), (150, 61), head=True),
         line("e4", "C", "B", (150, 0), (152, 300), kind="backward"),
         curve("e5", "A", "D", ((0, 0), (100, 300), (200, -100), (300, 200)))],
    ]
    for edges in cases:
        assert find_crossings(edges, nodes, bulk=True) == find_crossings(edges, nodes, bulk=False)
