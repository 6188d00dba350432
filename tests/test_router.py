"""The router's candidate lines: numpy's search (for big diagrams) finds the plain loops' lines, in their order."""

from __future__ import annotations

import itertools

import pytest

from bpdiagram import Diagram
from bpdiagram.layout import router
from bpdiagram.layout.router import _bulk_candidates, _plain_candidates, side_ports
from bpdiagram.layout.scene import NodeBox
from tests.scenes import box as _box

PAIRS = [  # source, target: below, above, beside and below (side entries), narrow, odd sizes
    (_box("u", 10, 10, 140.3, 36.5), _box("v", 40.7, 120, 88.1, 36.5)),
    (_box("u", 300, 400, 60, 36), _box("v", 20.33, 80.17, 190, 40)),
    (_box("u", 500, 10, 120, 36), _box("v", 80, 200, 150, 36)),
    (_box("u", 0, 10, 50, 36), _box("v", 400.01, 260.49, 44, 60)),
    (_box("u", 0, 0, 21, 21), _box("v", 0, 100, 21, 21)),
]


@pytest.mark.parametrize(("u", "v"), PAIRS)
@pytest.mark.parametrize("direction", ["down", "left", "any"])
@pytest.mark.parametrize(("ellipse_u", "ellipse_v", "faces"), [(False, False, False), (False, False, True),
                                                               (True, False, True), (False, True, False)])
def test_numpy_candidates_are_the_plain_ones_in_the_same_order(u: NodeBox, v: NodeBox, direction: router.Direction,
                                                               ellipse_u: bool, ellipse_v: bool,
                                                               faces: bool) -> None:
    down = u.y + u.h <= v.y
    sign = 1 if down else -1
    starts = side_ports(u, "bottom" if down else "top", ellipse_u)
    ends = [(p, False) for p in side_ports(v, "top" if down else "bottom", ellipse_v)]
    if faces:
        ends += [(p, True) for p in side_ports(v, "right" if u.x > v.x else "left", False)]
    plain = _plain_candidates(starts, ends, direction, sign, v.center[1])
    assert list(_bulk_candidates(starts, ends, direction, sign, v.center[1])) == plain
    assert list(_bulk_candidates(starts, ends, direction, sign, v.center[1])) == plain  # iterated again: the same


def test_numpy_candidates_keep_equal_costs_in_the_order_they_were_made() -> None:
    """Mirror-image lines cost the same: the one made first (the left start, then the left end) comes first."""
    u, v = _box("u", 0, 0, 120, 36), _box("v", 0, 100, 120, 36)
    starts, ends = side_ports(u, "bottom", False), [(p, False) for p in side_ports(v, "top", False)]
    got = list(_bulk_candidates(starts, ends, "any", 1, v.center[1]))
    ties = [(c, m) for c, m, _, _ in got]
    assert len({c for c, _ in ties}) < len(ties)  # there are ties to keep in order
    assert all(m1 < m2 for (c1, m1), (c2, m2) in itertools.pairwise(ties) if c1 == c2)
    assert got == _plain_candidates(starts, ends, "any", 1, v.center[1])


@pytest.mark.parametrize("name", ["two-layer-binary", "residual-block", "batchnorm", "softmax-classifier"])
def test_a_diagram_routed_with_numpy_candidates_is_the_plain_one(name: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Big diagrams (``BULK_REQUESTS`` requests and more) route with numpy's candidates: the same picture."""
    plain = Diagram.template(name).render("svg")
    monkeypatch.setattr(router, "BULK_REQUESTS", 1)
    assert Diagram.template(name).render("svg") == plain
