"""HTML: a self-contained page, relations computed from the scene, and hostile text kept as text.

These run without a browser; tests/test_browser.py drives the page in Chromium.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import xml.etree.ElementTree as ET

import networkx as nx
import pytest

from bpdiagram.diagram import Diagram
from bpdiagram.writers.html import fragment, relations

pytestmark = pytest.mark.graphviz
HOSTILE = "</script><script>window.pwned=1</script> ]]> <!-- & \"q\" 'a' <svg onload=alert(1)>"


def page_of(d: Diagram) -> str:
    return d.render("html").decode("utf-8")


def scripts(page: str) -> list[tuple[str, str]]:
    """(attributes, body) of every <script> element."""
    return re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S)


def inline_svg(page: str) -> str:
    start = page.index("<svg ")
    return page[start:page.index("</svg>", start) + len("</svg>")]


def edge_ids(d: Diagram, kind: str, source: str | None = None, target: str | None = None) -> set[str]:
    return {f"edge-{e.id}" for e in d.scene.edges if e.kind == kind and source in (None, e.source)
            and target in (None, e.target)}


def test_page_is_self_contained() -> None:
    page = page_of(Diagram.template("two-layer-binary"))
    assert page.startswith("<!DOCTYPE html>\n")
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}
    assert not re.search(r"\s(src|href|xlink:href)=", page)
    assert "@import" not in page and "url(" not in page
    found = scripts(page)
    assert [attrs for attrs, _ in found] == [' type="application/json" class="bp-data"', ""]
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None and "default-src 'none'" in csp.group(1)
    digest = base64.b64encode(hashlib.sha256(found[1][1].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp.group(1)  # the browser runs exactly our script, nothing injected
    for style in re.findall(r"<style>(.*?)</style>", page, flags=re.S):
        assert base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() in csp.group(1)


def test_inline_svg_is_the_svg_with_focusable_nodes(template: str) -> None:
    d = Diagram.template(template)
    svg = inline_svg(page_of(d))
    root = ET.fromstring(svg)
    nodes = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if "node" in (g.get("class") or "").split()]
    assert len(nodes) == d.graph.number_of_nodes()
    for g in nodes:
        assert g.get("tabindex") == "0" and g.get("role") == "button"
        assert g.get("aria-label") == g.find("{http://www.w3.org/2000/svg}title").text  # type: ignore[union-attr]
    plain = re.sub(r' (tabindex|role|aria-label)="[^"]*"', "", svg)
    assert plain.encode() + b"\n" == d.render("svg").split(b"\n", 1)[1]


def test_controls_offer_each_drawn_kind_as_a_labelled_checkbox() -> None:
    page = page_of(Diagram.template("two-layer-binary").with_options(show="forward,cache,backward"))
    boxes = re.findall(r'<label title="[^"]+"><input type="checkbox" class="bp-kind" value="(\w+)" checked> (\w+)'
                       r"</label>", page)
    assert boxes == [("forward", "forward"), ("cache", "cache"), ("backward", "backward")]


def test_gradient_paths_match_networkx(template: str) -> None:
    """Each backward node highlights exactly the backward edges on paths from the loss (oracle: networkx)."""
    d = Diagram.template(template)
    back = nx.DiGraph((u, v) for u, v, k in d.graph.edges(keys=True) if k == "backward")
    rel = relations(d.scene)
    for node in d.scene.nodes:
        if node.band != "backward":
            continue
        ancestors = nx.ancestors(back, node.id)
        roots = {"loss"} if "loss" in d.graph else {n for n in d.graph if d.graph.nodes[n]["band"] == "forward"}
        assert ancestors & roots  # every gradient comes from the loss (an expression: from its output f)
        wanted = {f"edge-{e.id}" for e in d.scene.edges if e.kind == "backward" and e.target in ancestors | {node.id}}
        related = set(rel[f"node-{node.id}"].related)
        assert {r for r in related if r in edge_ids(d, "backward")} == wanted
        assert {f"node-{a}" for a in ancestors} <= related


def test_forward_op_highlights_partner_cache_and_gradient() -> None:
    d = Diagram.template("two-layer-binary")
    related = set(relations(d.scene)["node-A1"].related)
    assert {"node-A1", "node-dZ1", "node-cache.A1", "node-loss", "node-dZ2", "node-dW2"} <= related
    assert edge_ids(d, "derivative", "A1", "dZ1") <= related
    assert edge_ids(d, "cache", "A1", "cache.A1") | edge_ids(d, "cache", "cache.A1", "dZ1") <= related
    assert edge_ids(d, "backward", "dW2", "dZ1") <= related
    assert not {"node-W1", "node-dW1", "node-input", "node-Z1"} & related
    summary = relations(d.scene)["node-A1"].summary
    assert summary.startswith("A[1] = tanh(Z[1]): derivative link to dZ[1]")
    assert "gradient path J → dZ[2] → dW[2] → dZ[1]" in summary


def test_every_op_has_a_partner_and_params_their_gradient(template: str) -> None:
    d = Diagram.template(template)
    rel = relations(d.scene)
    for node in d.scene.nodes:
        related = rel[f"node-{node.id}"].related
        assert f"node-{node.id}" in related
        if node.kind == "op":
            assert any(r in edge_ids(d, "derivative") for r in related), node.id
        if node.kind == "param":
            assert f"node-d{node.id}" in related


def test_cached_node_highlights_origin_and_users() -> None:
    d = Diagram.template("two-layer-binary")
    related = set(relations(d.scene)["node-cache.A1"].related)
    assert {"node-A1", "node-dZ1", "node-dW2"} <= related
    assert "node-loss" not in related


def test_hostile_text_stays_text() -> None:
    spec = {"title": HOSTILE, "input": {"name": "</script><b>", "size": 2}, "target": "]]>&amp;",
            "layers": [{"size": 1, "activation": "sigmoid"}], "loss": "bce",
            "diagram": {"learning_rate": "<i>α</i>"}}
    d = Diagram.load(spec)
    page = page_of(d)
    assert len(scripts(page)) == 2
    assert "window.pwned" not in scripts(page)[1][1]
    assert "<script>window" not in page and "<svg onload" not in page and "<b>" not in page
    data = scripts(page)[0][1]
    assert not set("<>&") & set(data)
    parsed = json.loads(data)
    assert any("</script><b>" in entry["summary"] for entry in parsed.values())
    assert re.search(r"<title>(.*?)</title>", page).group(1) == (  # type: ignore[union-attr]
        "&lt;/script&gt;&lt;script&gt;window.pwned=1&lt;/script&gt; ]]&gt; &lt;!-- &amp; &quot;q&quot; "
        "&#x27;a&#x27; &lt;svg onload=alert(1)&gt;")
    root = ET.fromstring(inline_svg(page))
    assert root.find("{http://www.w3.org/2000/svg}title").text == HOSTILE  # type: ignore[union-attr]


def test_fragment_is_the_notebook_display() -> None:
    d = Diagram.template("two-layer-binary")
    frag = d._repr_html_()
    assert frag == fragment(d.scene)
    assert frag.startswith('<div class="bpdiagram') and "<html" not in frag and "Content-Security" not in frag
    assert d._repr_svg_() == d.render("svg").decode()

