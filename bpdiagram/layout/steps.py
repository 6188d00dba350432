"""Slide build-up: the same laid-out scene with only some bands and edge kinds shown.

A slide sequence must not jump, so the layout is computed once for the whole
diagram and each step hides what it does not show: canvas size, title and the
position of every node and edge stay exactly as in the full picture.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bpdiagram.errors import BpdiagramError
from bpdiagram.layout.crossings import plan_jumps
from bpdiagram.layout.scene import LegendEntry, Scene
from bpdiagram.options import BANDS, EDGE_KINDS, Band, EdgeKind


@dataclass(frozen=True)
class Step:
    """One slide of the build-up: the bands whose nodes are drawn and the edge kinds drawn between them."""

    bands: frozenset[Band]
    kinds: frozenset[EdgeKind]


STEPS: tuple[Step, ...] = (
    Step(frozenset({"forward"}), frozenset({"forward"})),  # the forward pass
    Step(frozenset({"forward", "cache"}), frozenset({"forward", "cache"})),  # + the cache
    Step(frozenset(BANDS), frozenset({"forward", "cache", "backward"})),  # + the backward pass
    Step(frozenset(BANDS), frozenset(EDGE_KINDS)),  # + update edges and derivative links
)
"""Steps 1 … 4: forward only; + cache; + backward; + update and derivative links."""


def step_scene(scene: Scene, step: int) -> Scene:
    """Step ``step`` (1-based, see ``STEPS``) of ``scene``'s build-up."""
    if not 1 <= step <= len(STEPS):
        raise BpdiagramError(f"step must be from 1 to {len(STEPS)} (got {step})")
    return only(scene, bands=STEPS[step - 1].bands, kinds=STEPS[step - 1].kinds)


def only(scene: Scene, *, bands: frozenset[Band], kinds: frozenset[EdgeKind]) -> Scene:
    """``scene`` with the nodes of ``bands`` and the edges of ``kinds`` between them; nothing else moves.

    Band strips are kept for the bands that still have nodes. The legend keeps
    the entries of the kinds still drawn, at their places, and its frame
    shrinks around them (entries come in ``EDGE_KINDS`` order, and steps add
    kinds in that order, so the frame grows from the left slide by slide).
    """
    nodes = tuple(n for n in scene.nodes if n.band in bands)
    shown = {n.id for n in nodes}
    edges = tuple(e for e in scene.edges if e.kind in kinds and e.source in shown and e.target in shown)
    drawn = {e.kind for e in edges}
    legend = tuple(entry for entry in scene.legend if entry.kind in drawn)
    present = {n.band for n in nodes}
    # a jump over a line this step hides would hop over nothing: keep the crossings of lines still drawn
    drawn_ids = {e.id for e in edges}
    crossings = tuple(c for c in scene.crossings if c.over in drawn_ids and c.under in drawn_ids)
    return dataclasses.replace(scene, nodes=nodes, edges=edges, bands=tuple(b for b in scene.bands
                                                                             if b.band in present),
                               legend=legend, legend_box=_legend_box(scene, legend), crossings=crossings,
                               jumps=plan_jumps(edges, [c for c in crossings if c.needs_jump]), all_jumps=None,
                               flow=scene.flow if "backward" in bands else None)


def _legend_box(scene: Scene, legend: tuple[LegendEntry, ...]) -> tuple[float, float, float, float]:
    """The legend frame around ``legend`` (a subset of ``scene.legend``), with the full frame's margins."""
    x0, y0, w, h = scene.legend_box
    kept = [e for e in scene.legend if e in legend]
    if not kept:
        return (x0, y0, 0.0, 0.0)
    full = scene.legend
    right_pad = x0 + w - max(e.text_at[0] + e.text.width for e in full)
    bottom_pad = y0 + h - max(e.start[1] for e in full)
    right = max(e.text_at[0] + e.text.width for e in kept) + right_pad
    bottom = max(e.start[1] for e in kept) + bottom_pad
    return (x0, y0, round(right - x0, 2), round(bottom - y0, 2))
