"""PNG writer: the SVG rasterised by librsvg's ``rsvg-convert`` at 2× for crisp slides.

Cairo (which librsvg draws with) cannot make an image wider or taller than
32767 pixels; a diagram too big for that at 2× (a vectorized network of some
32 layers or more) is rasterised at the largest scale that fits, so it still
renders. SVG and PDF keep such diagrams at full size.

``from_svg`` is the one entry point that makes PNG bytes: ``scale`` is the
pixels per SVG unit (default ``SCALE``).
"""

from __future__ import annotations

from bpdiagram.layout.engine import run_rsvg
from bpdiagram.layout.scene import Scene
from bpdiagram.writers import Writer, svg

SCALE = 2.0
MAX_PIXELS = 32767
"""Cairo's largest image side."""


def scale_for(scene: Scene, scale: float = SCALE) -> float:
    """``scale``, or less when the picture would otherwise exceed cairo's largest image."""
    return min(scale, MAX_PIXELS / max(scene.width, scene.height, 1.0))


def pixel_size(scene: Scene, scale: float = SCALE) -> tuple[int, int]:
    """The PNG's (width, height): the scene's size times ``scale_for(scene, scale)``, rounded, at least 1."""
    k = scale_for(scene, scale)
    return max(1, round(scene.width * k)), max(1, round(scene.height * k))


def from_svg(data: bytes, scene: Scene, scale: float = SCALE) -> bytes:
    """The scene's SVG ``data`` as PNG bytes, ``scale`` times the SVG's pixel size (or as large as cairo allows)."""
    return run_rsvg(data, "png", size=pixel_size(scene, scale))


def render(scene: Scene) -> bytes:
    """The scene as PNG bytes, twice the SVG's pixel size (or as large as cairo allows)."""
    return from_svg(svg.render(scene), scene)


WRITER = Writer("png", "png", render, from_svg)
