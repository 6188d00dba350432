"""The HTML page of a series (``render --backprop-to 3,2,1 -f html``): one page stepping through it.

A lecture shows "backprop to layer 3, then 2, then 1" one after the other,
so the series is one page: each diagram is the interactive fragment of the
``html`` writer, in its own frame, and a control above them (buttons, and
the ← → keys) shows one frame at a time. The frame shown is kept in the
URL's fragment (``#to-2``), so a reload or a shared link opens the same one,
and the edge kinds hidden in one frame stay hidden in the next.

Like the single page it loads nothing and runs only its own inline scripts.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from bpdiagram.layout.scene import Scene
from bpdiagram.writers import codepanel
from bpdiagram.writers.html import CSS, PAGE_CSS, SCRIPT, _csp_hash, fragment
from bpdiagram.writers.xmltext import clean

SERIES_CSS = """
.bp-series-nav{font:15px/1.4 sans-serif;display:flex;align-items:center;gap:.8em;margin:0 0 .8em}
.bp-series-nav button{font:inherit;padding:.15em .7em;cursor:pointer}
.bp-series-nav button:disabled{cursor:default;opacity:.4}
.bp-series-label{min-width:14em;font-weight:bold}
.bp-series-on .bp-frame>h2{display:none}
""".lstrip()

SERIES_SCRIPT = """
(function () {
  "use strict";
  var frames = Array.prototype.slice.call(document.querySelectorAll("section.bp-frame"));
  var label = document.querySelector(".bp-series-label");
  var prev = document.querySelector("button.bp-prev");
  var next = document.querySelector("button.bp-next");
  var current = -1;
  function hiddenKinds(frame) {
    return Array.prototype.slice.call(frame.querySelectorAll("input.bp-kind"))
      .filter(function (box) { return !box.checked; }).map(function (box) { return box.value; });
  }
  function show(i) {
    if (i < 0 || i >= frames.length || i === current) { return; }
    var hidden = current >= 0 ? hiddenKinds(frames[current]) : null;
    frames.forEach(function (frame, j) { frame.hidden = j !== i; });
    if (hidden !== null) {
      frames[i].querySelectorAll("input.bp-kind").forEach(function (box) {
        var want = hidden.indexOf(box.value) < 0;
        if (box.checked !== want) { box.checked = want; box.dispatchEvent(new Event("change")); }
      });
    }
    current = i;
    label.textContent = frames[i].getAttribute("data-label") + " (" + (i + 1) + " of " + frames.length + ")";
    prev.disabled = i === 0;
    next.disabled = i === frames.length - 1;
    if (history.replaceState) { history.replaceState(null, "", "#" + frames[i].id); }
  }
  function fromHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    for (var j = 0; j < frames.length; j++) { if (frames[j].id === id) { return j; } }
    return 0;
  }
  prev.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    if (ev.key === "ArrowLeft") { ev.preventDefault(); show(current - 1); }
    if (ev.key === "ArrowRight") { ev.preventDefault(); show(current + 1); }
  });
  window.addEventListener("hashchange", function () { show(fromHash()); });
  document.querySelector(".bp-series-nav").hidden = false;
  document.body.classList.add("bp-series-on");
  show(fromHash());
})();
""".lstrip()

SERIES_CSP = (f"default-src 'none'; script-src {_csp_hash(SCRIPT)} {_csp_hash(SERIES_SCRIPT)}; "
              f"style-src {_csp_hash(PAGE_CSS)} {_csp_hash(CSS)} {_csp_hash(SERIES_CSS)}; base-uri 'none'; "
              "form-action 'none'")
SERIES_CODE_CSP = (SERIES_CSP.replace("script-src ", f"script-src {_csp_hash(codepanel.SCRIPT)} ")
                   .replace("style-src ", f"style-src {_csp_hash(codepanel.CSS)} "))
"""The same, with the code panel's script and style (``render --code``)."""


def render_series(frames: Sequence[tuple[str, str, Scene]], *, title: str) -> bytes:
    """One standalone page showing ``frames`` (caption, anchor id, scene) one at a time, in the order given.

    Without scripts every frame is shown, one under the other.
    """
    sections = "".join(
        f'<section class="bp-frame" id="{html.escape(anchor)}" data-label="{html.escape(caption)}">\n'
        f"<h2>{html.escape(caption)}</h2>\n{fragment(scene)}</section>\n"
        for caption, anchor, scene in frames)
    heading = html.escape(clean(title or "backpropagation diagrams"))
    policy = SERIES_CSP if all(scene.code is None for _, _, scene in frames) else SERIES_CODE_CSP
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="bpdiagram">\n'
        f"<title>{heading}</title>\n<style>{PAGE_CSS}</style>\n<style>{SERIES_CSS}</style>\n</head>\n<body>\n"
        '<nav class="bp-series-nav" hidden>\n'
        '<button type="button" class="bp-prev" title="previous (←)" aria-label="previous">←</button>\n'
        '<span class="bp-series-label" role="status" aria-live="polite"></span>\n'
        '<button type="button" class="bp-next" title="next (→)" aria-label="next">→</button>\n'
        "</nav>\n"
        f"{sections}"
        f"<script>{SERIES_SCRIPT}</script>\n"
        "</body>\n</html>\n")
    return page.encode("utf-8")
