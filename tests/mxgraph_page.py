"""A page that loads a .drawio file into draw.io's engine (the npm package mxgraph) and reads the drawing back.

mxGraph decodes the file with its own codec (``mxCodec``), as draw.io does,
and lays every cell out in its view; ``read`` returns what the view computed:
each vertex's absolute box, each edge's absolute points (its ends as mxGraph
placed them from the connection constraints, and its bends), each edge
label's anchor, and each cell's style and ``<object>`` data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
<script>
var mxBasePath = {base};
var mxLoadResources = false;
var mxLoadStylesheets = false;
</script>
<script src={client}></script>
<style>
body {{ margin: 0; background: #fff; }}
#graph {{ position: absolute; left: 0; top: 0; overflow: hidden; }}
</style>
</head><body><div id="graph"></div>
<script>
window.loadDrawio = function (xml) {{
  var container = document.getElementById('graph');
  container.innerHTML = '';
  var doc = mxUtils.parseXml(xml);
  var model = doc.documentElement.getElementsByTagName('mxGraphModel')[0];
  container.style.width = model.getAttribute('pageWidth') + 'px';
  container.style.height = model.getAttribute('pageHeight') + 'px';
  container.style.background = model.getAttribute('background');
  var graph = new mxGraph(container);
  graph.setHtmlLabels(true);
  graph.foldingEnabled = false;
  graph.convertValueToString = function (cell) {{
    var v = cell.value;
    return (v != null && v.nodeType == 1) ? v.getAttribute('label') : (v == null ? '' : String(v));
  }};
  new mxCodec(doc).decode(model, graph.getModel());
  graph.refresh();
  window.graph = graph;
  var out = {{vertices: {{}}, edges: {{}}}};
  var cells = graph.getModel().cells;
  for (var id in cells) {{
    var cell = cells[id];
    var state = graph.view.getState(cell);
    if (state == null) continue;
    var data = {{}};
    if (cell.value != null && cell.value.nodeType == 1) {{
      for (var i = 0; i < cell.value.attributes.length; i++) {{
        var a = cell.value.attributes[i];
        data[a.name] = a.value;
      }}
    }}
    var item = {{style: state.style, data: data, parent: cell.parent ? cell.parent.id : null,
                 text: state.text != null && state.text.node != null ? state.text.node.textContent : ''}};
    if (cell.vertex) {{
      item.box = [state.x, state.y, state.width, state.height];
      out.vertices[id] = item;
    }} else if (cell.edge) {{
      item.points = state.absolutePoints.map(function (p) {{ return [p.x, p.y]; }});
      item.label = state.absoluteOffset != null ? [state.absoluteOffset.x, state.absoluteOffset.y] : null;
      item.source = cell.source ? cell.source.id : null;
      item.target = cell.target ? cell.target.id : null;
      out.edges[id] = item;
    }}
  }}
  return JSON.stringify(out);
}};
</script></body></html>
"""


def write_page(folder: Path, mxgraph: Path) -> Path:
    """The loader page in ``folder``, using mxClient from the ``mxgraph`` package's ``javascript`` folder."""
    page = folder / "mxgraph.html"
    page.write_text(PAGE.format(base=json.dumps((mxgraph / "src").as_uri()),
                                client=json.dumps((mxgraph / "mxClient.min.js").as_uri())), encoding="utf-8")
    return page


def read(driver: Any, drawio: bytes) -> dict[str, Any]:
    """Load ``drawio`` into the open loader page; what mxGraph's view made of it."""
    result: dict[str, Any] = json.loads(driver.execute_script("return window.loadDrawio(arguments[0])",
                                                              drawio.decode("utf-8")))
    return result
