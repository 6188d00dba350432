"""Slide build-up: four steps drawn on the full diagram's layout, so slides do not jump."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bpdiagram.diagram import Diagram
from bpdiagram.errors import BpdiagramError
from bpdiagram.layout.steps import STEPS, step_scene

pytestmark = pytest.mark.graphviz
SVG = "{http://www.w3.org/2000/svg}"
GEOMETRY = ("x", "y", "width", "height", "cx", "cy", "rx", "ry", "d", "points")


def groups(svg: bytes, cls: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    return {g.get("id", ""): g for g in root.iter(f"{SVG}g") if cls in (g.get("class") or "").split()}


def shape_of(g: ET.Element) -> list[tuple[str, ...]]:
    """Every drawn element of a group with its geometry attributes (text positions included)."""
    return [(el.tag, *(f"{k}={el.get(k)}" for k in GEOMETRY if el.get(k) is not None)) for el in g.iter()]


def test_every_step_keeps_canvas_and_positions(template: str) -> None:
    # plain crossings: a step draws no jump over a line it hides, so only the jumps may differ
    d = Diagram.template(template, jumps="none")
    full_svg = d.render("svg")
    full = ET.fromstring(full_svg)
    full_nodes, full_edges = groups(full_svg, "node"), groups(full_svg, "edge")
    previous: set[str] = set()
    for step in range(1, len(STEPS) + 1):
        svg = d.render("svg", step=step)
        root = ET.fromstring(svg)
        assert (root.get("width"), root.get("height"), root.get("viewBox")) == \
               (full.get("width"), full.get("height"), full.get("viewBox"))
        nodes, edges = groups(svg, "node"), groups(svg, "edge")
        for node_id, g in nodes.items():
            assert shape_of(g) == shape_of(full_nodes[node_id]), (step, node_id)
        for edge_id, g in edges.items():
            assert shape_of(g) == shape_of(full_edges[edge_id]), (step, edge_id)
        shown = set(nodes) | set(edges)
        assert previous <= shown, f"step {step} hides something step {step - 1} showed"
        previous = shown
    assert previous == set(full_nodes) | set(full_edges)


def test_what_each_step_adds() -> None:
    scene = Diagram.template("two-layer-binary").scene
    expected = [
        ({"forward"}, {"forward"}),
        ({"forward", "cache"}, {"forward", "cache"}),
        ({"forward", "cache", "backward"}, {"forward", "cache", "backward"}),
        ({"forward", "cache", "backward"}, {"forward", "cache", "backward", "update", "derivative"}),
    ]
    for step, (bands, kinds) in enumerate(expected, start=1):
        s = step_scene(scene, step)
        assert {n.band for n in s.nodes} == bands
        assert {e.kind for e in s.edges} == kinds
        assert [b.band for b in s.bands] == [b for b in ("forward", "cache", "backward") if b in bands]
        assert [entry.kind for entry in s.legend] == [k for k in ("forward", "cache", "backward", "update",
                                                                  "derivative") if k in kinds]
        ids = {n.id for n in s.nodes}
        assert all(e.source in ids and e.target in ids for e in s.edges)
    # step 2 draws the cache edges into the cache band, not yet those into backward ops
    step2 = step_scene(scene, 2)
    assert {e.target for e in step2.edges if e.kind == "cache"} == {n.id for n in step2.nodes if n.kind == "cached"}


def test_legend_frame_fits_the_entries_of_the_step() -> None:
    scene = Diagram.template("two-layer-binary").scene
    widths = []
    for step in range(1, len(STEPS) + 1):
        s = step_scene(scene, step)
        x, y, w, h = s.legend_box
        assert (x, y) == scene.legend_box[:2]
        for entry in s.legend:
            assert x < entry.start[0] and entry.text_at[0] + entry.text.width < x + w
            assert y < entry.start[1] < y + h
        widths.append(w)
    assert widths[0] < widths[1] and step_scene(scene, 4).legend_box == scene.legend_box


def test_last_step_is_the_full_diagram(template: str) -> None:
    d = Diagram.template(template)
    assert d.render("svg", step=len(STEPS)) == d.render("svg")


def test_steps_of_a_partial_diagram_still_number_four() -> None:
    d = Diagram.template("two-layer-binary").with_options(show="forward")
    assert all(d.render("svg", step=k) == d.render("svg", step=1) for k in range(2, 5))


@pytest.mark.parametrize("step", [0, 5, -1])
def test_step_out_of_range_is_a_clear_error(step: int) -> None:
    with pytest.raises(BpdiagramError, match="step must be from 1 to 4"):
        Diagram.template("two-layer-binary").render("svg", step=step)


def test_save_steps_writes_numbered_files(tmp_path: Path) -> None:
    d = Diagram.template("relu-mlp")
    written = d.save(tmp_path, ["svg", "pdf"], steps=True)
    assert [p.name for p in written] == [f"relu-mlp-{k}.{ext}" for ext in ("svg", "pdf") for k in range(1, 5)]
    assert written[0].read_bytes() == d.render("svg", step=1)
    assert d.outputs(tmp_path, ["svg", "pdf"], steps=True) == written
