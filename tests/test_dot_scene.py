"""The vectorized view's dot input: a big graph's derivative links are drawn by the layout alone."""

from __future__ import annotations

from typing import Any

import pytest

from bpdiagram import Diagram
from bpdiagram.layout import dot_input
from bpdiagram.layout.dot_scene import dot_source
from bpdiagram.layout.geometry import is_straight
from bpdiagram.layout.router import Router
from bpdiagram.spec import network


def _deep(layers: int) -> dict[str, Any]:
    hidden = [{"size": 4, "activation": "tanh"} for _ in range(layers - 1)]
    return {"input": 4, "layers": [*hidden, {"size": 1, "activation": "sigmoid"}], "loss": "bce"}


def test_small_graphs_give_dot_their_derivative_links_and_big_ones_do_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "MAX_LAYERS", 1000)  # the test is about the graph's size, not the limit
    small = Diagram.template("two-layer-binary").model
    assert len(small.node_order()) < dot_input.LINKS_LEFT_OUT_FROM
    assert "constraint=false" in dot_source(small)
    big = Diagram.load(_deep(64 + 8)).model
    assert len(big.node_order()) >= dot_input.LINKS_LEFT_OUT_FROM
    source = dot_source(big)
    assert "constraint=false" not in source
    links = sum(1 for u, v, k in big.edge_order() if big.edge((u, v, k)).kind == "derivative")
    monkeypatch.setattr(dot_input, "LINKS_LEFT_OUT_FROM", 10**6)
    assert dot_source(big).count("->") - source.count("->") == links > 64


@pytest.mark.parametrize("name", ["two-layer-binary", "residual-block", "batchnorm", "loss-scaling"])
def test_derivative_links_left_out_of_dot_are_still_drawn_straight_and_clean(name: str,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The templates laid out as a big graph is: every derivative link a straight line, the grammar kept."""
    monkeypatch.setattr(dot_input, "LINKS_LEFT_OUT_FROM", 1)
    diagram = Diagram.template(name)
    assert "constraint=false" not in dot_source(diagram.model)
    links = [e for e in diagram.layout.edges if e.kind == "derivative"]
    assert links and all(len(e.points) == 4 and is_straight(*e.points) for e in links)
    q = diagram.stats()
    assert (q.crossings, q.grammar_violations, q.misaligned, q.edges_through_nodes, q.overlapping_nodes) == \
        (0, (), (), (), ())


def test_a_link_no_straight_line_fits_joins_the_facing_sides(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the router finds nothing, a link dot never saw is the line between its nodes' facing sides."""
    monkeypatch.setattr(dot_input, "LINKS_LEFT_OUT_FROM", 1)
    monkeypatch.setattr(Router, "best", lambda self, req, beat=None: None)
    scene = Diagram.template("two-layer-binary").layout
    boxes = {n.id: n for n in scene.nodes}
    links = [e for e in scene.edges if e.kind == "derivative"]
    assert links
    for e in links:
        u, v = boxes[e.source], boxes[e.target]
        top, bottom = (u, v) if u.y < v.y else (v, u)
        a, b = (e.points[0], e.points[-1]) if top is u else (e.points[-1], e.points[0])
        assert a == (round(top.center[0], 2), round(top.y + top.h, 2))
        assert b == (round(bottom.center[0], 2), round(bottom.y, 2))
