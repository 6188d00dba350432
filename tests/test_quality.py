"""The layout measures its own quality: each check fires on a bad scene, and every real picture is clean.

Crossings are also measured independently on the GraphML geometry (tests/geometry.py),
and the jumps the SVG draws are counted from its paths.
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from bpdiagram.diagram import Diagram
from bpdiagram.layout.quality import measure
from bpdiagram.spec import load_spec
from tests.geometry import crossings, curve_lines
from tests.narrow import as_network
from tests.scenes import box, line, plus, scene

SVG = "{http://www.w3.org/2000/svg}"


# -- every check can fail ---------------------------------------------------------------------------------------
def test_a_clean_scene_has_no_problems() -> None:
    q = measure(plus())
    assert q.problems == 0
    assert (q.crossings, q.jumps) == (1, 1)
    assert q.nodes == {"op": 4}
    assert q.edges == {"forward": 1, "cache": 1, "backward": 0, "update": 0, "derivative": 0}
    assert (q.width, q.height) == (400.0, 300.0)


def test_overlapping_nodes_are_reported() -> None:
    q = measure(scene([box("A", 0, 0), box("B", 30, 20), box("C", 70, 20)], []))  # C touches B: no overlap
    assert q.overlapping_nodes == ("nodes A and B overlap",)


def test_a_label_too_wide_or_too_tall_for_its_node_spills() -> None:
    wide = box("A", 0, 0, 40, 30, label="a label far too long for this box")
    tall = box("B", 100, 0, 200, 20, label="one\ntwo\nthree")
    fits = box("C", 0, 100, 200, 40, label="fits")
    ellipse = box("D", 0, 200, 60, 30, kind="param", label="W[1], b[1]")  # fits the box, not the ellipse
    q = measure(scene([wide, tall, fits, ellipse], []))
    assert [p.split()[2] for p in q.spilling_labels] == ["A", "B", "D"]


def test_edges_against_the_grammar_are_reported() -> None:
    nodes = [box("A", 100, 0), box("B", 0, 0), box("C", 0, 100, band="cache"), box("D", 200, 200, band="backward"),
             box("E", 200, 20, band="backward")]
    edges = [line("e0", "A", "B", (100, 15), (40, 15), kind="forward"),
             line("e1", "C", "D", (40, 115), (200, 215), kind="backward"),
             line("e2", "D", "C", (220, 200), (20, 130), kind="cache"),
             line("e3", "B", "D", (20, 30), (220, 200), kind="update")]
    q = measure(scene(nodes, edges))
    assert q.grammar_violations == (
        "backward edge C -> D points right",
        "bands cache and backward interleave",
        "bands forward and backward interleave",
        "cache edge D -> C does not point down",
        "forward edge A -> B points left",
        "update edge B -> D does not point up",
    )


def test_an_edge_through_another_node_is_reported_but_one_grazing_it_is_not() -> None:
    nodes = [box("A", 0, 0), box("B", 200, 0), box("M", 100, 0), box("P", 100, 100, 60, 30, kind="param")]
    through = line("e0", "A", "B", (40, 15), (200, 15))
    grazing = line("e1", "A", "B", (40, 30.5), (200, 30.5))
    corner = line("e2", "A", "B", (40, 100.5), (200, 100.5))  # the ellipse's box, not the ellipse
    q = measure(scene(nodes, [through, grazing, corner]))
    assert q.edges_through_nodes == ("forward edge A -> B passes through M",)


# -- every real picture ------------------------------------------------------------------------------------------
def _unseen() -> list[tuple[str, Diagram]]:
    """Specs the layout was not tuned on: depths, activations, losses, notations, partial views, shapes."""
    out = []
    for layers in ([{"size": 3, "activation": "sigmoid"}],
                   [{"size": 3, "activation": "leaky_relu"}, {"size": 2, "activation": "linear"}],
                   [{"size": 5, "activation": "relu"}] * 4 + [{"size": 4, "activation": "softmax"}],
                   [{"size": 3, "activation": "tanh"}, {"size": 3, "activation": "sigmoid"},
                    {"size": 2, "activation": "linear"}]):
        loss = {"sigmoid": "bce", "linear": "mse", "softmax": "ce"}[str(layers[-1]["activation"])]
        for simplify, notation in (("auto", "dls"), ("false", "cs231n")):
            spec = load_spec({"input": {"name": "pixels", "size": 3}, "layers": layers, "loss": loss,
                              "diagram": {"simplify": simplify, "notation": notation}})
            name = f"{len(layers)}-{layers[-1]['activation']}-{simplify}-{notation}"
            out.append((name, Diagram(spec, name=name, shapes=notation == "cs231n")))
    base = Diagram.template("three-layer-logistic")
    variants: list[dict[str, Any]] = [{"backprop_to": 2}, {"backprop_to": 3}, {"show": ("forward", "backward")},
                                      {"show": ("forward", "cache", "backward", "derivative")}]
    for variant in variants:
        network = as_network(base.spec)
        spec = dataclasses.replace(network, diagram=dataclasses.replace(network.diagram, **variant))
        out.append((f"three-layer {variant}", Diagram(spec)))
    return out


UNSEEN = _unseen()


def _check(d: Diagram) -> None:
    q = d.stats()
    assert q.overlapping_nodes == ()
    assert q.spilling_labels == ()
    assert q.grammar_violations == ()
    assert q.edges_through_nodes == ()
    boxes, lines = curve_lines(d.scene)
    independent = crossings(boxes, lines)
    # exact on ordinary pictures; on the element-wise fans (hundreds of crossings) a near-tangent
    # touch may count on one side of the rounding and not the other
    assert abs(q.crossings - len(independent)) <= len(independent) // 200
    root = ET.fromstring(d.render("svg"))
    edges = [g for g in root.iter(f"{SVG}g") if "edge" in (g.get("class") or "").split()]
    needed = sum(1 for c in d.scene.crossings if c.needs_jump)
    assert sum(int(g.get("data-jumps", "0")) for g in edges) == q.jumps == needed
    # every arc drawn sits on a crossing measured on the GraphML geometry
    arcs = 0
    for g in edges:
        path = g.find(f"{SVG}path")
        assert path is not None
        for x, y in re.findall(r"A[\d.]+,[\d.]+ 0 0 [01] (-?[\d.]+),(-?[\d.]+)", path.get("d", "")):
            arcs += 1
            assert any(abs(float(x) - px) < 12 and abs(float(y) - py) < 12 for _, _, (px, py) in independent)
    assert arcs <= q.crossings and (arcs > 0) == (q.crossings > 0)


@pytest.mark.graphviz
def test_every_template_is_clean_and_its_jumps_equal_its_crossings(template: str) -> None:
    _check(Diagram.template(template))


@pytest.mark.graphviz
@pytest.mark.parametrize("case", range(len(UNSEEN)), ids=[name for name, _ in UNSEEN])
def test_unseen_specs_are_clean_and_their_jumps_equal_their_crossings(case: int) -> None:
    _check(UNSEEN[case][1])


@pytest.mark.graphviz
def test_jump_styles_change_the_drawing_not_the_layout() -> None:
    # the CS231n staged example: a variable read three times steps down across other lanes
    spec = load_spec(Path(__file__).resolve().parent.parent / "docs" / "examples" / "cs231n-staged.yaml")
    arc, gap, none = (Diagram(spec, jumps=style) for style in ("arc", "gap", "none"))
    assert arc.scene.edges == gap.scene.edges == none.scene.edges
    assert arc.stats().crossings == gap.stats().crossings == none.stats().crossings > 0
    needed = sum(1 for c in arc.scene.crossings if c.needs_jump)
    assert (arc.stats().jumps, gap.stats().jumps, none.stats().jumps) == (needed, needed, 0)
    assert arc.render("graphml") == none.render("graphml")  # yEd has no jumps
    assert b" A5.5,5.5 0 0 " in arc.render("svg") and b" A5.5" not in gap.render("svg")
    assert b'data-jumps="1"' not in none.render("svg")
