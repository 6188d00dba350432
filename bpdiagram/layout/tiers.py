"""Tiers: a deep vectorized network drawn as several rows of layers, stacked top to bottom.

A long network drawn in one row is far wider than tall (ten layers: 11:1),
and scaled to a page its text shrinks to nothing. Wrapped, the network is
cut into tiers of ``wrap`` layers; each tier is a diagram of its own, in
today's grammar (forward, cache and backward bands; forward arrows point
right, backward arrows left), laid out by the ordinary layout, and the
tiers are stacked with a gap between them under one title and above one
legend.

A value that crosses from one tier to the next (A[l] into layer l+1's
linear step, the cached A[l] for dW[l+1], dA[l] back into layer l's
gradient) is drawn in the tier that receives it as a ``continuation`` node
labelled like the value: at the left of the forward band for A[l] (it
feeds rightwards, as X does in the first tier) and at the right of the
backward band for dA[l] (it feeds leftwards, as the loss does in the last
tier). So every arrow still points the way its band says.

Three steps, each its own function: ``split`` (model graph → one graph per
tier), ``stack`` (one scene per tier → the picture) and ``choose_wrap``
(``wrap: auto``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from bpdiagram.layout.frame import MARGIN, legend_below, title_block, title_height
from bpdiagram.layout.scene import BandRect, Crossing, EdgeRoute, Jump, NodeBox, Point, Scene
from bpdiagram.layout.views import layout_graph
from bpdiagram.model.graph import Graph, GraphBuilder, Node
from bpdiagram.options import JumpStyle
from bpdiagram.richtext import plain

__all__ = ["MAX_ASPECT", "TIER_GAP", "choose_wrap", "layout_tiers", "split", "stack", "tier_of"]

TIER_GAP = 28.0
"""White space between one tier's backward band and the next tier's forward band."""
MAX_ASPECT = 2.0
"""``wrap: auto`` keeps the picture at most this many times as wide as tall."""


def tier_of(g: Graph, wrap: int) -> dict[str, int]:
    """Each node's tier (1 = top) when ``g`` is wrapped every ``wrap`` layers.

    A node goes with its layer (the input with layer 1, the target and the loss
    with the last layer). A cached value goes where it is used: with its
    users when they all stand in one tier (so a value kept only for the next
    layer's dW is cached in the next tier), else with the value it keeps.
    """
    tiers = {n.id: (max(n.layer, 1) - 1) // wrap + 1 for n in g}
    for n in g:
        if n.kind != "cached":
            continue
        users = {tiers[e.target] for e in g.out_edges(n.id) if e.kind == "cache"}
        if len(users) == 1:
            tiers[n.id] = users.pop()
    return tiers


def split(g: Graph, wrap: int) -> list[Graph]:
    """One graph per tier, top to bottom, with ``continuation`` nodes where values cross between tiers.

    Each tier graph keeps the model's attributes (rows, columns, kinds, labels)
    and has no title (the stacked picture has one). An edge u → v whose ends
    are in different tiers becomes, in v's tier, an edge of the same kind
    from a continuation node that stands in u's row and column and is
    labelled with the value the edge carries.
    """
    tiers = tier_of(g, wrap)
    count = max(tiers.values(), default=1)
    builders = [GraphBuilder() for _ in range(count)]
    for n in g:
        builders[tiers[n.id] - 1].add_node(n)
    for e in g.edges:
        if tiers[e.source] == tiers[e.target]:
            builders[tiers[e.source] - 1].add_edge(e)
    stand_ins: dict[tuple[str, str, int], str] = {}
    used: set[str] = set(g.nodes)
    for e in g.edges:
        u, v = e.source, e.target
        if tiers[u] == tiers[v]:
            continue
        sub = builders[tiers[v] - 1]
        src = g.node(u)
        value = e.value or src.name or src.label
        stand_in = stand_ins.get((u, value, tiers[v]))
        if stand_in is None:
            stand_in = _fresh(f"cont.{u}", used)
            stand_ins[(u, value, tiers[v])] = stand_in
            sub.add_node(Node(stand_in, "continuation", src.band, src.row, src.column, src.layer, value, plain(value),
                              name=value))
        sub.add_edge(dataclasses.replace(e, source=stand_in))
    return [b.freeze(view=g.view, title="", rows=g.rows, notation=g.notation, loss=g.loss,
                     learning_rate=g.learning_rate, fused=g.fused) for b in builders]


def _fresh(name: str, used: set[str]) -> str:
    """``name``, or ``name.2``, ``name.3`` … when taken; the result is marked as taken."""
    out, i = name, 1
    while out in used:
        i += 1
        out = f"{name}.{i}"
    used.add(out)
    return out


def layout_tiers(g: Graph, wrap: int, *, jumps: JumpStyle = "arc") -> Scene:
    """Lay out ``g`` in tiers of ``wrap`` layers: each tier by the ordinary layout, then stacked."""
    wrap = min(wrap, g.layers())
    scenes = [layout_graph(sub, jumps=jumps) for sub in split(g, wrap)]
    return stack(scenes, title=g.title, wrap=wrap)


def stack(scenes: list[Scene], *, title: str, wrap: int) -> Scene:
    """The tiers' scenes (laid out without title) one under the other, with ``title`` on top and one legend.

    Tier t's nodes, bands and edges are moved down as a whole (x never
    changes, so every direction is kept), its edge ids become ``t<t>.<id>``
    (ids stay unique), and its nodes and bands carry ``tier`` = t. Each band
    is named once, beside its first strip.
    """
    content_width = max(s.width for s in scenes)
    title_text = title_block(title, content_width)
    width = max(content_width, title_text.width + 2 * MARGIN)
    y = MARGIN + title_height(title, title_text)
    nodes: list[NodeBox] = []
    bands: list[BandRect] = []
    edges: list[EdgeRoute] = []
    crossings: list[Crossing] = []
    jumps: list[Jump] = []
    every_jump: list[Jump] = []
    for t, scene in enumerate(scenes, start=1):
        top = min(b.y for b in scene.bands)
        bottom = max(b.y + b.h for b in scene.bands)
        dy = y - top

        def down(p: Point, dy: float = dy) -> Point:
            return (p[0], round(p[1] + dy, 2))

        def edge_id(i: str, t: int = t) -> str:
            return f"t{t}.{i}"

        nodes += [dataclasses.replace(n, y=round(n.y + dy, 2), tier=t) for n in scene.nodes]
        named = {b.band for b in bands}
        bands += [dataclasses.replace(b, y=round(b.y + dy, 2), tier=t, titled=b.band not in named)
                  for b in scene.bands]
        edges += [_moved_edge(e, down, edge_id) for e in scene.edges]
        crossings += [c._replace(over=edge_id(c.over), under=edge_id(c.under), at=down(c.at))
                      for c in scene.crossings]
        jumps += [dataclasses.replace(j, edge=edge_id(j.edge), p_in=down(j.p_in), p_out=down(j.p_out))
                  for j in scene.jumps]
        every_jump += [dataclasses.replace(j, edge=edge_id(j.edge), p_in=down(j.p_in), p_out=down(j.p_out))
                       for j in scene.every_jump]
        y = bottom + dy + TIER_GAP
    legend, box, height = legend_below(edges, y - TIER_GAP, width)
    first = scenes[0]
    return Scene(title, title_text, round(width, 2), round(height, 2), tuple(bands), tuple(nodes), tuple(edges),
                 legend, box, tuple(crossings), tuple(jumps), first.jump_style, first.theme, wrap=wrap,
                 all_jumps=tuple(every_jump))


def _moved_edge(e: EdgeRoute, down: Callable[[Point], Point], edge_id: Callable[[str], str]) -> EdgeRoute:
    return dataclasses.replace(e, id=edge_id(e.id), points=tuple(down(p) for p in e.points),
                               tip=down(e.tip) if e.tip is not None else None,
                               label_at=down(e.label_at) if e.label_at is not None else None)


def choose_wrap(g: Graph, *, jumps: JumpStyle = "arc") -> Scene:
    """``wrap: auto``: the picture of the smallest number of layers per tier that is at most 2:1.

    Tiers of one layer come first: the narrowest picture, so the one whose
    text is largest once the picture is scaled to a page's text width. Only
    when even that is wider than twice its height (a one-layer network) are
    wider tiers tried, and when none fits, the least wide picture is kept.
    """
    best: Scene | None = None
    for wrap in range(1, g.layers() + 1):
        scene = layout_tiers(g, wrap, jumps=jumps)
        if scene.width <= MAX_ASPECT * scene.height:
            return scene
        if best is None or scene.width / scene.height < best.width / best.height:
            best = scene
    assert best is not None  # a network has at least one layer
    return best

