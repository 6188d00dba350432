"""The laid-out scene: what every writer draws, and all it reads.

Coordinates are SVG pixels, origin top-left, y down. Edges are cubic Bézier
chains in the model's direction (source → target): ``points`` holds
p0, c1, c2, p1, c1, c2, p2, …; ``tip`` is where the arrowhead points, when the
kind has one (the path ends at the head's base).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from bpdiagram.layout.text import TextBlock
from bpdiagram.model.graph import EdgeKey
from bpdiagram.options import Band, EdgeKind, JumpStyle, NodeKind, Theme

if TYPE_CHECKING:
    from bpdiagram.model.code import Listing

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
    tier: int = 0
    """The tier (1 = top) of a wrapped network's picture; 0 when the picture is not wrapped."""
    alert: bool = False
    """A backward op whose arrays a 16-bit format loses entries of (mixed precision): drawn outlined."""

    @property
    def center(self) -> Point:
        """Centre of the box."""
        return (self.x + self.w / 2, self.y + self.h / 2)

    @property
    def text_top(self) -> float:
        """Top of the label block: centred vertically in the box (each line is centred horizontally)."""
        return self.y + (self.h - self.text.height) / 2


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
class PathPos:
    """A place on a Bézier chain: the index of its cubic piece and the parameter on it."""

    curve: int
    """Which cubic piece of the chain (0 = the first)."""
    t: float
    """The Bézier parameter on that piece, 0 at its start and 1 at its end."""


class Crossing(NamedTuple):
    """Two edges crossing at ``at``: ``over`` jumps, ``under`` runs straight on.

    ``at_length`` is the distance along ``over``'s path to the crossing. A named tuple, not a dataclass like
    the scene's other parts: an element-wise 32-32-32-1 network has 790,000 crossings, and a tuple is made
    in a third of a frozen dataclass's time.
    """

    over: str
    under: str
    at: Point
    at_length: float
    needs_jump: bool = True
    """Whether the jump rule bridges it: lines of different kinds, or a bent line (see ``crossings``)."""


@dataclass(frozen=True)
class Jump:
    """A line jump on edge ``edge``: its path is cut from ``start`` to ``end`` and bridged there.

    ``p_in`` and ``p_out`` are the cut points, ``bulge`` the unit vector
    the arc bulges towards, ``crossings`` how many crossings it hops (one,
    unless two crossings lie too close for separate arcs).
    """

    edge: str
    start: PathPos
    end: PathPos
    p_in: Point
    p_out: Point
    bulge: Point
    crossings: int


@dataclass(frozen=True)
class BandRect:
    """The background strip of one band."""

    band: Band
    y: float
    h: float
    tier: int = 0
    """As ``NodeBox.tier``."""
    titled: bool = True
    """Whether writers name the band beside this strip (a wrapped picture names each band once, at its first strip)."""
    title: str | None = None
    """The band's title when it says more than its name (the cache's bytes with ``--memory``)."""


@dataclass(frozen=True)
class LegendEntry:
    """One legend row: a sample of ``kind`` from ``start`` to ``end``, then its name."""

    kind: EdgeKind
    start: Point
    end: Point
    text_at: Point
    text: TextBlock


@dataclass(frozen=True)
class FlowBar:
    """One layer's bar of the gradient-flow strip: ‖dW[l]‖ drawn ``h`` px tall from the baseline at ``x``.

    ``value`` is the exact norm (shown on hover); ``label`` is it rounded, above the bar. A norm
    that is 0 or not finite has no height on a log scale: ``broken`` is set and a mark is drawn instead.
    """

    layer: int
    x: float
    h: float
    value: float
    label: TextBlock
    broken: bool
    caption: TextBlock | None = None
    """``layer l`` under the bar when it cannot stand under its layer's op (a picture in tiers)."""
    lost: float = 0.0
    """Under mixed precision: the share of dW[l]'s entries the format loses (flushed to zero or overflowed)."""


@dataclass(frozen=True)
class FlowLimit:
    """A line across the gradient-flow strip at one end of a 16-bit format's range (``kind`` underflow or overflow).

    Bars (norms of the scaled gradients, S·dW[l]) below the underflow line hold entries that flush to zero.
    """

    kind: str
    y: float
    value: float
    label: TextBlock


@dataclass(frozen=True)
class FlowStrip:
    """The gradient-flow strip under the backward band: bars on a log scale between ``y`` and ``y + h``.

    ``baseline`` is the y of the bars' foot; ``ticks`` the decades marked on the axis
    (their y and text), ``caption`` the strip's title.
    """

    y: float
    h: float
    baseline: float
    bar_width: float
    bars: tuple[FlowBar, ...]
    ticks: tuple[tuple[float, TextBlock], ...]
    caption: TextBlock
    limits: tuple[FlowLimit, ...] = ()
    """Under mixed precision: the format's underflow and overflow lines across the strip."""


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
    crossings: tuple[Crossing, ...] = ()
    jumps: tuple[Jump, ...] = ()
    jump_style: JumpStyle = "arc"
    """How writers that can draw jumps draw them: ``arc``, ``gap``, ``none`` (plain crossings) or ``all``
    (an arc on every crossing, the rule ignored)."""
    theme: Theme = "default"
    all_jumps: tuple[Jump, ...] | None = None
    """A jump on every crossing, the jump rule ignored (``jump_style`` ``all``); None: planned from
    ``crossings`` when asked for (``every_jump``), since only ``--jumps all`` draws them."""
    flow: FlowStrip | None = None
    """The gradient-flow strip (``--gradient-flow``), None when not asked for."""
    code: Listing | None = None
    """The module ``bpdiagram code`` writes, for writers that show it beside the picture (HTML, ``--code``)."""
    wrap: int = 0
    """Layers per tier when the network is drawn in tiers (``layout.tiers``); 0 when it is not."""

    @property
    def every_jump(self) -> tuple[Jump, ...]:
        """A jump on every crossing (``all_jumps``, or planned now from ``crossings``)."""
        if self.all_jumps is not None:
            return self.all_jumps
        from bpdiagram.layout.crossings import plan_jumps  # crossings builds on this module's types

        return plan_jumps(self.edges, self.crossings)

    @property
    def drawn_jumps(self) -> tuple[Jump, ...]:
        """The jumps writers draw: none for ``none``, every crossing's for ``all``, else the rule's."""
        if self.jump_style == "none":
            return ()
        return self.every_jump if self.jump_style == "all" else self.jumps


@dataclass(frozen=True)
class PlacedDrawing:
    """What a layout that places every box and line itself returns (the grid's, the mirror's), before the frame.

    ``views`` puts it in the frame every picture shares (title, band strips, legend) to make the ``Scene``.
    """

    nodes: dict[str, NodeBox]
    routes: dict[EdgeKey, EdgeRoute]
    right: float
    """The drawing's right edge."""
    bottom: float
    """The drawing's bottom edge."""
