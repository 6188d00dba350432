"""Themes: one style table per theme; print is grayscale-safe; the theme changes paint, never geometry."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from bpdiagram.diagram import Diagram
from bpdiagram.errors import BpdiagramError
from bpdiagram.options import EDGE_KINDS, NODE_KINDS, THEMES
from bpdiagram.style import PRINT, style_table

SVG = "{http://www.w3.org/2000/svg}"
COLOUR = re.compile(r"^#([0-9A-Fa-f]{2})([0-9A-Fa-f]{2})([0-9A-Fa-f]{2})$")


def is_grey(colour: str) -> bool:
    m = COLOUR.match(colour)
    assert m, colour
    r, g, b = (int(x, 16) for x in m.groups())
    return r == g == b


def test_every_theme_covers_every_kind_and_keeps_shapes_heads_and_meanings() -> None:
    default = style_table("default")
    for theme in THEMES:
        table = style_table(theme)
        assert set(table.edges) == set(EDGE_KINDS) and set(table.nodes) == set(NODE_KINDS)
        for kind in EDGE_KINDS:
            assert (table.edges[kind].head, table.edges[kind].meaning) == (default.edges[kind].head,
                                                                           default.edges[kind].meaning)
        for node_kind in NODE_KINDS:
            assert table.nodes[node_kind].shape == default.nodes[node_kind].shape  # the layout sizes by shape


def test_print_theme_tells_kinds_apart_without_colour() -> None:
    edges = PRINT.edges
    dashes = [edges[k].dash for k in EDGE_KINDS]
    assert len(set(dashes)) == len(EDGE_KINDS), dashes
    # every pair differs in dash pattern, and forward/backward (both prominent) also in width and head
    assert edges["backward"].width > edges["forward"].width + 0.5
    assert edges["backward"].head != edges["forward"].head
    colours = [e.color for e in edges.values()] + [n.fill for n in PRINT.nodes.values()] + \
        [n.stroke for n in PRINT.nodes.values()] + list(PRINT.band_fills.values())
    assert all(is_grey(c) for c in colours)
    assert {n.fill for n in PRINT.nodes.values()} == {"#FFFFFF"}


def _paint(root: ET.Element) -> set[str]:
    return {v for el in root.iter() for k, v in el.attrib.items() if k in ("fill", "stroke") and v.startswith("#")}


def _geometry(root: ET.Element) -> list[tuple[str, ...]]:
    keep = ("x", "y", "width", "height", "cx", "cy", "rx", "ry", "d", "points", "viewBox")
    return [(el.tag, *(f"{k}={el.get(k)}" for k in keep if el.get(k) is not None)) for el in root.iter()]


@pytest.mark.graphviz
def test_print_svg_is_grey_and_has_the_default_geometry(template: str) -> None:
    d = Diagram.template(template)
    default = ET.fromstring(d.render("svg"))
    printed = ET.fromstring(d.with_options(theme="print").render("svg"))
    assert all(is_grey(c) for c in _paint(printed)), sorted(_paint(printed))
    assert not all(is_grey(c) for c in _paint(default))
    assert _geometry(printed) == _geometry(default)
    dashes = {g.get("class"): path.get("stroke-dasharray", "") for g in printed.iter(f"{SVG}g")
              if "edge" in (g.get("class") or "").split() for path in g.iter(f"{SVG}path")}
    drawn = {d.graph.edges[e]["kind"] for e in d.graph.edges(keys=True)}  # an expression has no update edges
    assert dashes == {f"edge kind-{k}": PRINT.edges[k].dash for k in EDGE_KINDS if k in drawn}


@pytest.mark.graphviz
def test_print_graphml_uses_the_print_table() -> None:
    graphml = Diagram.template("two-layer-binary", theme="print").render("graphml").decode()
    colours = set(re.findall(r'color="(#[0-9A-Fa-f]{6})"', graphml))
    assert colours and all(is_grey(c) for c in colours)
    assert 'type="dashed_dotted"' in graphml and 'type="dotted"' in graphml


@pytest.mark.graphviz
def test_changing_only_the_theme_reuses_the_layout() -> None:
    d = Diagram.template("two-layer-binary")
    layout = d.layout
    printed = d.with_options(theme="print")
    assert printed.layout is layout
    assert printed.scene.theme == "print" and d.scene.theme == "default"
    assert d.with_options(backprop_to=2).__dict__.get("layout") is None  # a new spec gets its own layout


def test_unknown_theme_is_a_clear_error() -> None:
    with pytest.raises(BpdiagramError, match="unknown theme 'pritn'; valid themes: default, print"):
        Diagram.template("two-layer-binary", theme="pritn")
