"""HTML writer: one self-contained, interactive page for web course notes.

The page inlines the SVG (the same picture as ``-f svg``), a little CSS and a
little JavaScript, and loads nothing (its Content-Security-Policy forbids any
fetch), so it works offline and from ``file://``. Hovering or focusing a node
adds the class ``highlight`` to what belongs to it (the SVG's classes) — its
derivative or update partner, the cached values it and its partner use, and
the gradient path from the loss — and dims the rest; checkboxes show and hide
each edge kind. Hovering or focusing a bar of the gradient-flow strip writes
its exact norm on the status line.

Which elements belong to a node is decided here, in Python, from the scene's
edges (``relations``) and shipped as an inline JSON map, so the script only
adds and removes classes. All user text reaches the page escaped: as XML text
in the SVG, as HTML text in the page, and as JSON with ``<``, ``>`` and ``&``
written as ``\\u003c`` etc., so no title can close a ``<script>``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass

from bpdiagram.layout.scene import EdgeRoute, Scene
from bpdiagram.options import EDGE_KINDS, EdgeKind
from bpdiagram.style import FONT_STACK, style_table
from bpdiagram.writers import Writer, codepanel, svg
from bpdiagram.writers.xmltext import clean

IDLE_STATUS = "Hover over a node, or Tab to it, to highlight what belongs to it; Esc clears."

_STATIC_CSS = """
.bpdiagram{font:14px/1.4 @FONT@;color:#1A1A1A}
.bpdiagram .bp-controls{width:fit-content;max-width:100%;box-sizing:border-box;display:flex;flex-wrap:wrap;
align-items:center;gap:.25em 1.1em;margin:0 0 .4em;padding:.3em .8em .45em;border:1px solid #C8C8C8;border-radius:4px}
.bpdiagram .bp-controls legend{padding:0 .3em;font-weight:bold}
.bpdiagram .bp-controls label{white-space:nowrap;cursor:pointer}
.bpdiagram .bp-status{margin:0 0 .5em;min-height:1.4em;color:#333}
.bpdiagram svg{display:block;max-width:100%;height:auto}
.bpdiagram g.node{cursor:pointer}
.bpdiagram g.node:focus{outline:none}
.bpdiagram g.node:focus-visible{outline:3px solid #1A66C2;outline-offset:3px}
.bpdiagram g.node,.bpdiagram g.edge{transition:opacity .12s}
.bpdiagram.bp-active g.node:not(.highlight),.bpdiagram.bp-active g.edge:not(.highlight){opacity:.14}
.bpdiagram g.node.highlight>rect,.bpdiagram g.node.highlight>ellipse{stroke-width:3px}
@media (prefers-reduced-motion:reduce){.bpdiagram g.node,.bpdiagram g.edge{transition:none}}
""".replace("@FONT@", FONT_STACK)
CSS = (_STATIC_CSS + "".join(
    f".bpdiagram.bp-hide-{k} g.edge.kind-{k}{{display:none}}"
    f".bpdiagram.bp-hide-{k} .legend-entry.kind-{k}{{opacity:.3}}\n" for k in EDGE_KINDS)).lstrip()

SCRIPT = """
(function () {
  "use strict";
  function init(root) {
    root.setAttribute("data-bp-ready", "");
    var data = JSON.parse(root.querySelector("script.bp-data").textContent);
    var byId = {};
    root.querySelectorAll("svg [id]").forEach(function (el) { byId[el.id] = el; });
    var status = root.querySelector(".bp-status");
    var idle = status.textContent;
    function clear() {
      root.classList.remove("bp-active");
      root.querySelectorAll(".highlight").forEach(function (el) { el.classList.remove("highlight"); });
      status.textContent = idle;
    }
    function show(node) {
      var rel = data[node.id];
      clear();
      if (!rel) { return; }
      rel.related.forEach(function (id) { if (byId[id]) { byId[id].classList.add("highlight"); } });
      root.classList.add("bp-active");
      status.textContent = rel.summary;
    }
    function focusedNode() {
      var el = document.activeElement;
      return el && root.contains(el) && el.classList.contains("node") ? el : null;
    }
    root.querySelectorAll("svg g.node").forEach(function (node) {
      node.addEventListener("mouseenter", function () { show(node); });
      node.addEventListener("mouseleave", function () {
        var f = focusedNode();
        if (f) { show(f); } else { clear(); }
      });
      node.addEventListener("focus", function () { show(node); });
      node.addEventListener("blur", clear);
      node.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); show(node); }
      });
    });
    root.querySelectorAll("svg g.flow-bar").forEach(function (bar) {
      function tell() { clear(); status.textContent = bar.getAttribute("aria-label"); }
      bar.addEventListener("mouseenter", tell);
      bar.addEventListener("focus", tell);
      bar.addEventListener("mouseleave", clear);
      bar.addEventListener("blur", clear);
    });
    document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") { clear(); } });
    root.querySelectorAll("input.bp-kind").forEach(function (box) {
      function apply() { root.classList.toggle("bp-hide-" + box.value, !box.checked); }
      box.addEventListener("change", apply);
      apply();
    });
    root.querySelectorAll(".bp-js[hidden]").forEach(function (el) { el.hidden = false; });
  }
  document.querySelectorAll(".bpdiagram:not([data-bp-ready])").forEach(init);
})();
""".lstrip()


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


PAGE_CSS = "body{margin:1.5em;background:#FFFFFF}\n"
CSP = (f"default-src 'none'; script-src {_csp_hash(SCRIPT)}; "
       f"style-src {_csp_hash(PAGE_CSS)} {_csp_hash(CSS)}; base-uri 'none'; form-action 'none'")
"""Only our own inline script and styles may run or apply; nothing may be fetched."""
CODE_CSP = (CSP.replace("script-src ", f"script-src {_csp_hash(codepanel.SCRIPT)} ")
            .replace("style-src ", f"style-src {_csp_hash(codepanel.CSS)} "))
"""The same, with the code panel's script and style (``render --code``)."""


@dataclass(frozen=True)
class Relation:
    """What to highlight with one node: SVG element ids (itself included) and a sentence for the status line."""

    related: tuple[str, ...]
    summary: str


def node_element(node_id: str) -> str:
    """The SVG element id of node ``node_id`` (as the SVG writer writes it)."""
    return f"node-{node_id}"


def edge_element(edge_id: str) -> str:
    """The SVG element id of edge ``edge_id``."""
    return f"edge-{edge_id}"


def relations(scene: Scene) -> dict[str, Relation]:
    """For each node (by SVG element id), the elements that belong to it.

    A node's partners are the nodes joined to it by a derivative link or an
    update edge (a forward op and the backward op that differentiates it; a
    parameter and its gradient). For the node and each partner: the cache
    edges into it with the cached values and where they were kept from, the
    cache edges out of it (its own value kept), and — for backward-band nodes
    — every backward edge and node on the way from the loss to it.
    """
    incoming: dict[str, list[EdgeRoute]] = defaultdict(list)
    outgoing: dict[str, list[EdgeRoute]] = defaultdict(list)
    for e in scene.edges:
        outgoing[e.source].append(e)
        incoming[e.target].append(e)
    band = {n.id: n.band for n in scene.nodes}
    kind = {n.id: n.kind for n in scene.nodes}
    order = {n.id: i for i, n in enumerate(scene.nodes)}
    names = svg.short_names(scene)
    result: dict[str, Relation] = {}
    for node in scene.nodes:
        n = node.id
        nodes: set[str] = {n}
        edges: set[str] = set()
        groups: dict[str, set[str]] = {"derivative": set(), "update": set(), "cached": set()}
        for e in incoming[n] + outgoing[n]:
            if e.kind in ("derivative", "update"):
                other = e.target if e.source == n else e.source
                groups[e.kind].add(other)
                nodes.add(other)
                edges.add(e.id)
        depth: dict[str, int] = {}
        for anchor in sorted(nodes, key=order.__getitem__):
            for e in _cache_edges(anchor, incoming, outgoing):
                edges.add(e.id)
                nodes.update((e.source, e.target))
                groups["cached"].update(x for x in (e.source, e.target) if kind[x] == "cached")
            if band[anchor] == "backward":
                _gradient_path(anchor, incoming, edges, depth)
        nodes.update(depth)
        groups["cached"].discard(n)
        if node.kind == "cached":
            groups["kept from"] = {e.source for e in incoming[n] if e.kind == "cache"}
            groups["used by"] = {e.target for e in outgoing[n] if e.kind == "cache"}
        path = sorted(depth, key=lambda x: (-depth[x], order[x]))
        parts = [f"{label} {', '.join(names[x] for x in sorted(groups[key], key=order.__getitem__))}"
                 for key, label in (("derivative", "derivative link to"), ("update", "update with"),
                                    ("cached", "cached values"), ("kept from", "kept from"),
                                    ("used by", "used by"))
                 if groups.get(key)]
        if path:
            parts.append("gradient path " + " → ".join(names[x] for x in path))
        summary = node.plain + (": " + "; ".join(parts) if parts else "")
        related = sorted(node_element(x) for x in nodes) + sorted(edge_element(x) for x in edges)
        result[node_element(n)] = Relation(tuple(related), summary)
    return result


def _cache_edges(anchor: str, incoming: dict[str, list[EdgeRoute]],
                 outgoing: dict[str, list[EdgeRoute]]) -> list[EdgeRoute]:
    """Cache edges into ``anchor`` and one step further up (where the value was kept from), and out of it."""
    found = []
    for e in incoming[anchor]:
        if e.kind == "cache":
            found.append(e)
            found.extend(up for up in incoming[e.source] if up.kind == "cache")
    found.extend(e for e in outgoing[anchor] if e.kind == "cache")
    return found


def _gradient_path(anchor: str, incoming: dict[str, list[EdgeRoute]], edges: set[str],
                   depth: dict[str, int]) -> None:
    """Add to ``edges`` and ``depth`` (node → steps back from ``anchor``) every backward path from the loss."""
    depth.setdefault(anchor, 0)
    todo = [anchor]
    while todo:
        current = todo.pop()
        for e in incoming[current]:
            if e.kind == "backward":
                edges.add(e.id)
                if depth.get(e.source, -1) < depth[current] + 1:
                    depth[e.source] = depth[current] + 1
                    todo.append(e.source)


def json_for_script(data: object) -> str:
    """``data`` as JSON that is safe inside ``<script>``: no ``<``, ``>`` or ``&`` appears literally."""
    text = json.dumps(data, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def fragment(scene: Scene) -> str:
    """The interactive diagram as an HTML fragment (a ``<div class="bpdiagram">``), for pages and notebooks.

    Every query in the script is scoped to its own ``div``, so several
    fragments can share a page (a notebook with many diagrams).
    """
    root = svg.build(scene)
    for g in root.iter("g"):
        classes = (g.get("class") or "").split()
        if "node" in classes or "flow-bar" in classes:  # a gradient-flow bar tells its exact norm
            title = g.find("title")
            g.set("tabindex", "0")
            g.set("role", "button" if "node" in classes else "img")
            g.set("aria-label", (title.text or "") if title is not None else "")
    ET.indent(root, space=" ")
    picture = ET.tostring(root, encoding="unicode")
    meanings = style_table(scene.theme).edges
    kinds: list[EdgeKind] = [k for k in EDGE_KINDS if any(e.kind == k for e in scene.edges)]
    boxes = "\n".join(
        f'<label title="{html.escape(meanings[k].meaning)}"><input type="checkbox" class="bp-kind" value="{k}" '
        f"checked> {k}</label>" for k in kinds)
    data = {k: {"related": list(v.related), "summary": clean(v.summary)} for k, v in relations(scene).items()}
    return (
        f'<div class="bpdiagram bp-theme-{scene.theme}">\n'
        f"<style>{CSS}</style>\n"
        f'<fieldset class="bp-controls bp-js" hidden>\n<legend>Edge kinds</legend>\n{boxes}\n</fieldset>\n'
        f'<p class="bp-status bp-js" role="status" aria-live="polite" hidden>{html.escape(IDLE_STATUS)}</p>\n'
        f"{codepanel.beside(picture, scene)}\n"
        f'<script type="application/json" class="bp-data">{json_for_script(data)}</script>\n'
        f"<script>{SCRIPT}</script>\n"
        f"{codepanel.assets(scene)}"
        f"</div>\n")


def render(scene: Scene) -> bytes:
    """The scene as a standalone HTML page (UTF-8)."""
    title = html.escape(clean(scene.title or "backpropagation diagram"))
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP if scene.code is None else CODE_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="bpdiagram">\n'
        f"<title>{title}</title>\n<style>{PAGE_CSS}</style>\n</head>\n<body>\n"
        f"{fragment(scene)}"
        "</body>\n</html>\n")
    return page.encode("utf-8")


WRITER = Writer("html", "html", render)
