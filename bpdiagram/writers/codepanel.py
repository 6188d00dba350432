"""The HTML page's optional "code" panel: the module ``bpdiagram code`` writes, beside the diagram.

Each line of the listing knows the diagram nodes it implements
(``model.code.Listing``). Hovering a node highlights its statements, and
hovering a statement highlights its node (and dims the rest, as hovering a
node does). The panel has its own CSS and script, added to the page only when
the scene carries a listing (``render --code``), so pages without it stay as
they were.
"""

from __future__ import annotations

import html

from bpdiagram.layout.scene import Scene

CSS = """
.bpdiagram .bp-side{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
.bpdiagram .bp-side>svg{flex:1 1 36em;min-width:0}
.bpdiagram .bp-code{flex:1 1 30em;min-width:0;max-height:92vh;overflow:auto;position:relative;margin:0;
border:1px solid #C8C8C8;border-radius:4px;background:#FAFAFA}
.bpdiagram .bp-code-title{position:sticky;top:0;margin:0;padding:.3em .8em;background:#EFEFEF;font-weight:bold;
border-bottom:1px solid #C8C8C8}
.bpdiagram .bp-code pre{margin:0;padding:.4em 0;font:12px/1.45 "DejaVu Sans Mono",Menlo,Consolas,monospace}
.bpdiagram .bp-line{display:block;padding:0 .8em;white-space:pre;min-height:1.45em}
.bpdiagram .bp-line[data-nodes]{cursor:pointer}
.bpdiagram .bp-line.highlight{background:#FFE9A8}
""".lstrip()

SCRIPT = """
(function () {
  "use strict";
  function init(root) {
    root.setAttribute("data-bp-code-ready", "");
    var panel = root.querySelector(".bp-code");
    if (!panel) { return; }
    var lines = {};
    panel.querySelectorAll(".bp-line[data-nodes]").forEach(function (line) {
      line.getAttribute("data-nodes").split(" ").forEach(function (id) {
        (lines[id] = lines[id] || []).push(line);
      });
    });
    function clear() {
      root.classList.remove("bp-active");
      root.querySelectorAll(".highlight").forEach(function (el) { el.classList.remove("highlight"); });
    }
    function showLines(id) {
      var found = lines[id] || [];
      found.forEach(function (line) { line.classList.add("highlight"); });
      if (found.length) {
        var top = found[0].offsetTop, bottom = found[found.length - 1].offsetTop + found[found.length - 1].offsetHeight;
        if (top < panel.scrollTop + 30 || bottom > panel.scrollTop + panel.clientHeight) {
          panel.scrollTop = Math.max(0, top - panel.clientHeight / 3);
        }
      }
    }
    root.querySelectorAll("svg g.node").forEach(function (node) {
      node.addEventListener("mouseenter", function () { showLines(node.id); });
      node.addEventListener("focus", function () { showLines(node.id); });
    });
    panel.querySelectorAll(".bp-line[data-nodes]").forEach(function (line) {
      line.addEventListener("mouseenter", function () {
        clear();
        line.getAttribute("data-nodes").split(" ").forEach(function (id) {
          var node = document.getElementById(id);
          if (node && root.contains(node)) { node.classList.add("highlight"); }
          (lines[id] || []).forEach(function (other) { other.classList.add("highlight"); });
        });
        root.classList.add("bp-active");
      });
      line.addEventListener("mouseleave", clear);
    });
  }
  document.querySelectorAll(".bpdiagram:not([data-bp-code-ready])").forEach(init);
})();
""".lstrip()


def panel(scene: Scene) -> str:
    """The code panel: one ``<span class="bp-line">`` per line, with the SVG ids of the nodes it implements."""
    if scene.code is None:
        return ""
    shown = {node.id for node in scene.nodes}
    rows = []
    for text, nodes in zip(scene.code.text.splitlines(), scene.code.nodes, strict=True):
        ids = " ".join(f"node-{n}" for n in nodes if n in shown)
        attr = f' data-nodes="{html.escape(ids)}"' if ids else ""
        rows.append(f'<span class="bp-line"{attr}>{html.escape(text)}</span>')
    return ('<section class="bp-code" aria-label="Python code of the diagram">\n'
            '<p class="bp-code-title">Python: what the diagram computes (bpdiagram code)</p>\n'
            f"<pre><code>{''.join(rows)}</code></pre>\n</section>\n")


def beside(picture: str, scene: Scene) -> str:
    """The picture, with the code panel beside it when the scene has a listing."""
    if scene.code is None:
        return picture
    return f'<div class="bp-side">\n{picture}\n{panel(scene)}</div>'


def assets(scene: Scene) -> str:
    """The panel's style and script, after the page's own script (empty without a listing)."""
    if scene.code is None:
        return ""
    return f"<style>{CSS}</style>\n<script>{SCRIPT}</script>\n"
