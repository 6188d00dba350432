"""Which layout draws which view; ``layout.frame`` then puts every result in the same frame.

The vectorized view is placed by graphviz (``layout.dot_scene``); an
expression graph is drawn as a forward drawing and its mirror
(``layout.mirror``); the element-wise view as a grid of unit columns and its
mirror (``layout.grid``). Each returns a ``Scene`` in SVG pixels with the
title on top, the three bands as background strips and the legend below;
every writer draws that scene, so all formats show the same picture.
"""

from __future__ import annotations

from collections.abc import Callable

from bpdiagram.layout.crossings import find_crossings
from bpdiagram.layout.dot_scene import dot_scene
from bpdiagram.layout.frame import BAND_PAD, LEFT, MARGIN, MIN_WIDTH, finish, title_block, title_height
from bpdiagram.layout.grid import grid_layout
from bpdiagram.layout.label_boxes import Labels, measure_labels
from bpdiagram.layout.mirror import mirror_layout
from bpdiagram.layout.scene import PlacedDrawing, Scene
from bpdiagram.model.graph import Graph
from bpdiagram.options import JumpStyle


def layout_graph(g: Graph, *, jumps: JumpStyle = "arc") -> Scene:
    """Lay out ``g`` (from ``model.build.build_graph``) into a ``Scene``.

    Every crossing and the jump that bridges it are computed here, whatever
    ``jumps`` says; ``jumps`` only tells the writers how to draw them.
    """
    if g.view == "expression":
        return _mirror_scene(g, jumps)
    if g.view == "elementwise":
        return _grid_scene(g, jumps)
    return dot_scene(g, jumps)


def _mirror_scene(g: Graph, jump_style: JumpStyle) -> Scene:
    """Expression graphs: the forward drawing and its mirror (``layout.mirror``), no graphviz.

    The rows are reflected (the row nearest the cache stays nearest): on every expression measured that
    crosses about half as often as the rows translated (README, "How an expression is drawn").
    """
    return _placed_scene(g, jump_style, lambda m, top: mirror_layout(
        g, m.texts, m.sizes, m.edge_texts, left=LEFT, top=top, reflect=True, edge_id=m.ids.__getitem__))


def _grid_scene(g: Graph, jump_style: JumpStyle) -> Scene:
    """The element-wise view: a grid of unit columns and its mirror (``layout.grid``), no graphviz."""
    return _placed_scene(g, jump_style, lambda m, top: grid_layout(
        g, m.texts, m.sizes, m.edge_texts, m.ids, left=LEFT, top=top))


def _placed_scene(g: Graph, jump_style: JumpStyle, place: Callable[[Labels, float], PlacedDrawing]) -> Scene:
    """A scene from a layout that places every box and line itself (``place(labels, top)``).

    A first pass only measures the width, which the title wraps to; the title's height sets the top of
    the second.
    """
    labels = measure_labels(g)
    m = place(labels, 0.0)
    title_text = title_block(g.title, max(m.right + BAND_PAD + MARGIN, MIN_WIDTH))
    m = place(labels, MARGIN + title_height(g.title, title_text) + BAND_PAD)
    nodes = [m.nodes[n] for n in g.node_order()]
    routes = [m.routes[e] for e in labels.order]
    return finish(g.title, title_text, nodes, routes, find_crossings(routes, nodes), right=m.right,
                  jump_style=jump_style)
