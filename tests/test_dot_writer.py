"""The DOT writer: graphviz source that redraws bpdiagram's own layout with ``neato -n2``."""

from __future__ import annotations

import json
import subprocess

import pytest

from bpdiagram.diagram import Diagram

pytestmark = pytest.mark.graphviz


def test_neato_redraws_the_same_positions(template: str) -> None:
    d = Diagram.template(template)
    source = d.render("dot")
    proc = subprocess.run(["neato", "-n2", "-Tjson"], input=source, capture_output=True, check=True)
    drawn = json.loads(proc.stdout)
    scene = d.scene
    centres = {o["name"]: tuple(map(float, o["pos"].split(","))) for o in drawn["objects"]}
    assert set(centres) == {n.id for n in scene.nodes}
    first = scene.nodes[0]
    x0, y0 = centres[first.id]
    # neato may translate the drawing; distances between nodes are kept, to the 0.05 pt graphviz rounds
    # positions to when a picture is over 1000 pt tall (five significant digits: a tall tiered picture)
    tolerance = 0.01 if scene.height < 1000 else 0.051
    for node in scene.nodes:
        x, y = centres[node.id]
        assert (x - x0, y - y0) == pytest.approx((node.center[0] - first.center[0],
                                                  first.center[1] - node.center[1]), abs=tolerance)
    assert len(drawn["edges"]) == len(scene.edges)
    kinds = sorted(e["class"] for e in drawn["edges"])
    assert kinds == sorted(f"kind-{e.kind}" for e in scene.edges)


def test_hostile_title_stays_a_string() -> None:
    d = Diagram.load({"title": 'evil" ] ; node [shape=none] <b>\\', "input": 2, "loss": "bce",
                      "layers": [{"size": 1, "activation": "sigmoid"}]})
    source = d.render("dot")
    proc = subprocess.run(["neato", "-n2", "-Tjson"], input=source, capture_output=True, check=True)
    drawn = json.loads(proc.stdout)
    # the quote did not end the string: no node was injected, and the label keeps its text
    # (graphviz keeps the escaped backslash as written and draws one)
    assert drawn["label"] == 'evil" ] ; node [shape=none] <b>\\\\'
    assert len(drawn["objects"]) == len(d.scene.nodes)
