"""The laid-out scene: what every writer draws, and all it reads.

Coordinates are SVG pixels, origin top-left, y down. Edges are cubic Bézier
chains in the model's direction (source → target): ``points`` holds
p0, c1, c2, p1, c1, c2, p2, …; ``tip`` is where the arrowhead points, when the
kind has one (the path ends at the head's base).
"""

from __future__ import annotations

from dataclasses import dataclass

from bpdiagram.layout.text import TextBlock
from bpdiagram.options import Band, EdgeKind, NodeKind, Theme

Point = tuple[float, float]


@dataclass(frozen=True)
class NodeBox:
    """A node: identity, data keys and its box (top-left x, y, width, height)."""

    id: str
    kind: NodeKind
    band: Band
    layer: int
    label: str
    plain: str
    x: float
    y: float
    w: float
    h: float
    text: TextBlock

    @property
    def center(self) -> Point:
        """Centre of the box."""
        return (self.x + self.w / 2, self.y + self.h / 2)


@dataclass(frozen=True)
class EdgeRoute:
    """An edge: identity, data keys, its Bézier route and optional label."""

    id: str
    source: str
    target: str
    kind: EdgeKind
    label: str
    plain: str
    points: tuple[Point, ...]
    tip: Point | None
    label_at: Point | None
    text: TextBlock | None


@dataclass(frozen=True)
class BandRect:
    """The background strip of one band."""

    band: Band
    y: float
    h: float


@dataclass(frozen=True)
class LegendEntry:
    """One legend row: a sample of ``kind`` from ``start`` to ``end``, then its name."""

    kind: EdgeKind
    start: Point
    end: Point
    text_at: Point
    text: TextBlock


@dataclass(frozen=True)
class Scene:
    """Everything a writer needs: size, title, bands, nodes, edges, legend, and the theme to paint in.

    The theme changes paint only, never geometry, so one layout serves every theme.
    """

    title: str
    title_text: TextBlock
    width: float
    height: float
    bands: tuple[BandRect, ...]
    nodes: tuple[NodeBox, ...]
    edges: tuple[EdgeRoute, ...]
    legend: tuple[LegendEntry, ...]
    legend_box: tuple[float, float, float, float]
    """x, y, width, height of the legend frame."""
    theme: Theme = "default"
