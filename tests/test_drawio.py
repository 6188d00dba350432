"""The .drawio export, read back by draw.io's own engine (the npm package mxgraph) in Debian's chromium.

mxGraph decodes each template's file and lays it out in its view; every
vertex's box and every edge's points (its ends placed by mxGraph from the
connection constraints) must be the scene's, within rounding.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bpdiagram.cli import cli
from bpdiagram.diagram import Diagram
from bpdiagram.style import EDGE_STYLES, NODE_STYLES
from bpdiagram.writers.drawio import edge_order
from bpdiagram.writers.polyline import polyline
from tests.chromium import chromium
from tests.conftest import MXGRAPH, ROOT, TEMPLATES
from tests.geometry import group_id
from tests.mxgraph_page import read, write_page

TOL = 0.011  # coordinates are written with two decimals; connection fractions with six


@pytest.fixture(scope="module")
def mx() -> Iterator[Any]:
    with chromium() as (browser, folder):
        browser.get(write_page(folder, MXGRAPH).as_uri())
        yield browser


def _close(a: list[float] | tuple[float, ...], b: list[float] | tuple[float, ...], tol: float = TOL) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


@pytest.mark.browser
@pytest.mark.mxgraph
@pytest.mark.graphviz
@pytest.mark.parametrize("name", TEMPLATES)
def test_mxgraph_reads_back_our_geometry(mx: Any, name: str) -> None:
    d = Diagram.template(name)
    scene = d.scene
    got = read(mx, d.render("drawio"))
    errors = [e for e in mx.get_log("browser") if e.get("level") == "SEVERE"]
    assert errors == []
    vertices, edges = got["vertices"], got["edges"]
    hopping_in_svg = {j.edge for j in scene.jumps}
    for node in scene.nodes:
        v = vertices[node.id]
        assert _close(v["box"], (node.x, node.y, node.w, node.h)), (node.id, v["box"])
        assert v["data"]["kind"] == node.kind and v["data"]["band"] == node.band
        assert v["data"]["layer"] == str(node.layer)
        assert v["parent"] == group_id(node.band, node.tier)
        assert v["data"].get("tier", "0") == str(node.tier)
        assert v["style"]["fillColor"] == NODE_STYLES[node.kind].fill
        assert v["style"]["shape"] == {"ellipse": "ellipse"}.get(NODE_STYLES[node.kind].shape, "rectangle")
    for band in scene.bands:
        v = vertices[group_id(band.band, band.tier)]
        assert v["style"]["shape"] == "swimlane"
        tier = {"tier": str(band.tier)} if band.tier else {}
        label = " · ".join((band.title or band.band.upper()).split(" · ", 1)).replace(" · ", "<br>")
        assert v["data"] == {"label": label if band.titled else "", "kind": "band", "band": band.band, **tier}
        assert _close(v["box"], (8, band.y, scene.width - 16, band.h))
    assert _close(vertices["legend"]["box"], scene.legend_box)
    assert {k for k, v in edges.items() if v["parent"] == "legend"} == {f"legend.{e.kind}" for e in scene.legend}
    for edge in scene.edges:
        e = edges[edge.id]
        assert (e["source"], e["target"], e["data"]["kind"]) == (edge.source, edge.target, edge.kind)
        want = polyline(edge)
        assert len(e["points"]) == len(want), edge.id
        for p, q in zip(e["points"], want, strict=True):
            assert _close(p, q), (edge.id, e["points"], want)
        style = EDGE_STYLES[edge.kind]
        assert e["style"]["strokeColor"] == style.color and float(e["style"]["strokeWidth"]) == style.width
        assert e["style"].get("jumpStyle", "none") == ("arc" if edge.id in hopping_in_svg else "none")
        assert e["style"].get("dashPattern", "") == style.dash
        if edge.label_at is not None:
            assert _close(e["label"], edge.label_at, 0.02), (edge.id, e["label"], edge.label_at)
            assert e["text"].strip() != ""


@pytest.mark.browser
@pytest.mark.mxgraph
@pytest.mark.graphviz
def test_steps_work_for_drawio(mx: Any, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["render", "-t", "two-layer-binary", "-f", "drawio", "--steps", "-o",
                                      str(tmp_path)])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))  # not render's records
    assert files == [f"two-layer-binary-{i}.drawio" for i in range(1, 5)]
    first = read(mx, (tmp_path / "two-layer-binary-1.drawio").read_bytes())
    kinds = {v["data"].get("kind") for v in first["vertices"].values()}
    assert {v["data"].get("band") for v in first["vertices"].values() if v["data"].get("band")} == {"forward"}
    assert "grad" not in kinds and {e["data"]["kind"] for e in first["edges"].values()} == {"forward"}
    full = Diagram.template("two-layer-binary").scene
    for node in full.nodes:
        if node.id in first["vertices"]:
            assert _close(first["vertices"][node.id]["box"], (node.x, node.y, node.w, node.h))


@pytest.mark.graphviz
def test_drawio_file_is_stable_and_carries_its_data() -> None:
    d = Diagram.template("two-layer-binary")
    data = d.render("drawio")
    assert data == Diagram.template("two-layer-binary").render("drawio")
    root = ET.fromstring(data)
    assert root.tag == "mxfile" and root.find("diagram/mxGraphModel/root") is not None
    objects = {o.get("id"): o for o in root.iter("object")}
    ids = [c.get("id") for c in root.iter("object")] + [c.get("id") for c in root.iter("mxCell") if c.get("id")]
    assert len(ids) == len(set(ids))
    z1 = objects["Z1"]
    assert (z1.get("kind"), z1.get("band"), z1.get("layer")) == ("op", "forward", "1")
    assert z1.get("label") == "Z<sup>[1]</sup> = W<sup>[1]</sup>X + b<sup>[1]</sup>"
    edges = {o.get("id"): o.get("kind") for o in root.iter("object") if o.find("mxCell[@edge='1'][@parent='1']")
             is not None}
    assert edges == {e.id: e.kind for e in d.scene.edges}


def test_jumping_edges_are_painted_after_the_edges_they_hop(template: str) -> None:
    scene = Diagram.template(template).scene
    order = [e.id for e in edge_order(scene)]
    assert sorted(order) == sorted(e.id for e in scene.edges)
    position = {e: i for i, e in enumerate(order)}
    asked = {(c.over, c.under) for c in scene.crossings if c.needs_jump}
    unmet = {(o, u) for o, u in asked if position[o] < position[u]}
    # an order can keep every jump unless two lines hop each other (at two crossings); then it keeps most
    if not any((u, o) in asked for o, u in asked):
        assert unmet == set()
    in_two_cycles = {(o, u) for o, u in unmet if (u, o) in asked}
    assert len(unmet - in_two_cycles) <= len(asked) // 10
    involved = {c.over for c in scene.crossings} | {c.under for c in scene.crossings}
    unconstrained = [e.id for e in scene.edges if e.id not in involved]
    assert unconstrained == [e for e in order if e in set(unconstrained)]  # the scene's order where jumps leave it free


@pytest.mark.graphviz
def test_jumps_option_reaches_the_drawio_style() -> None:
    spec = ROOT / "docs" / "examples" / "line-jumps.yaml"
    arc, gap, none, every = (Diagram.load(spec, jumps=style).render("drawio").decode()
                             for style in ("arc", "gap", "none", "all"))
    assert "jumpStyle=arc;" in arc and "jumpStyle=gap;" not in arc
    assert "jumpStyle=gap;" in gap and "jumpStyle=arc;" not in gap
    assert "jumpStyle=arc;" not in none and "jumpStyle=gap;" not in none
    assert every.count("jumpStyle=arc;") >= arc.count("jumpStyle=arc;")


def _drawio_hops(got: dict[str, Any], order: list[str]) -> list[tuple[str, str, tuple[float, float], str | None]]:
    """The crossings of the lines mxGraph computed (the tests' own count) and the edge draw.io hops each on:
    the edge painted later, if it has a jumpStyle (draw.io's line jumps hop the edges validated before),
    else None."""
    from tests.geometry import Box, Line, crossings

    boxes = {k: Box(k, v["data"].get("kind", ""), v["data"].get("band", ""), *v["box"])
             for k, v in got["vertices"].items()}
    lines = [Line(k, v["source"], v["target"], v["data"]["kind"], [tuple(p) for p in v["points"]])
             for k, v in got["edges"].items() if v["parent"] == "1" and v["source"] is not None]
    position = {e: i for i, e in enumerate(order)}
    out = []
    for a, b, at in crossings(boxes, lines):
        front = a if position[a] > position[b] else b
        out.append((a, b, at, front if got["edges"][front]["style"].get("jumpStyle", "none") != "none" else None))
    return out


@pytest.mark.browser
@pytest.mark.mxgraph
@pytest.mark.graphviz
@pytest.mark.parametrize("name", [t for t in TEMPLATES if t not in ("single-neuron", "three-layer-elementwise")]
                         + ["docs/examples/line-jumps.yaml", "docs/examples/cs231n-staged.yaml"])
def test_drawio_hops_where_the_svg_hops(mx: Any, name: str, request: pytest.FixtureRequest) -> None:
    """Every crossing draw.io draws hops on the edge the SVG hops it on, and only where the SVG hops.

    (Element-wise fans aside: there lines run side by side closer than the polylines' 1.5 px. Lines that
    leave one node along a shared stretch cross in the SVG where they part; their polylines merge there.)
    """
    if name in ("cs231n-staged", "micrograd-readme"):  # the programs: bundles of lanes that part and merge
        request.applymarker(pytest.mark.xfail(strict=True, reason="lanes converging into a + (cs231n-staged) and "
                                               "hop constraints in a cycle (micrograd-readme) are drawn otherwise"))
    d = Diagram.load(ROOT / name) if name.endswith(".yaml") else Diagram.template(name)
    scene = d.scene
    data = d.render("drawio")
    order = [o.get("id", "") for o in ET.fromstring(data).iter("object")
             if o.find("mxCell[@edge='1'][@source]") is not None]
    found = _drawio_hops(read(mx, data), order)
    for a, b, (x, y), hop in found:
        near = [c for c in scene.crossings if {c.over, c.under} == {a, b}]
        assert near, f"draw.io draws a crossing of {a} and {b} the SVG has not"
        c = min(near, key=lambda c: math.hypot(c.at[0] - x, c.at[1] - y))
        assert math.hypot(c.at[0] - x, c.at[1] - y) < 4
        assert hop == (c.over if c.needs_jump else None), (a, b, c)
    if name in ("docs/examples/line-jumps.yaml", "docs/examples/cs231n-staged.yaml"):
        assert any(hop for *_, hop in found)


@pytest.mark.browser
@pytest.mark.mxgraph
@pytest.mark.graphviz
def test_the_gradient_flow_strip_is_drawn_in_drawio(mx: Any) -> None:
    d = Diagram.template("vanishing-gradients")
    strip = d.scene.flow
    assert strip is not None
    got = read(mx, d.render("drawio"))["vertices"]
    for bar in strip.bars:
        cell = got[f"flow.bar{bar.layer}"]
        assert cell["data"]["norm"] == repr(bar.value)
        if not bar.broken:
            assert _close(cell["box"], (bar.x - strip.bar_width / 2, strip.baseline - bar.h, strip.bar_width, bar.h))
        assert got[f"flow.bar{bar.layer}.label"]["text"] != ""
