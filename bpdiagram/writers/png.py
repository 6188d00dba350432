"""PNG writer: the SVG rasterised by CairoSVG at 2× for crisp slides.

Cairo cannot make an image wider or taller than 32767 pixels; a diagram too
big for that at 2× (a vectorized network of some 32 layers or more) is
rasterised at the largest scale that fits, so it still renders. SVG and PDF
keep such diagrams at full size.
"""

from __future__ import annotations

from bpdiagram.layout.scene import Scene
from bpdiagram.writers import Writer, svg

SCALE = 2.0
MAX_PIXELS = 32767
"""Cairo's largest image side."""


def scale_for(scene: Scene) -> float:
    """``SCALE``, or less when the picture would otherwise exceed cairo's largest image."""
    return min(SCALE, MAX_PIXELS / max(scene.width, scene.height, 1.0))


def from_svg(data: bytes, scene: Scene) -> bytes:
    """The scene's SVG ``data`` as PNG bytes, twice the SVG's pixel size (or as large as cairo allows)."""
    import cairosvg  # heavy (loads libcairo): imported only when a PNG is asked for

    png: bytes = cairosvg.svg2png(bytestring=data, scale=scale_for(scene))
    return png


def render(scene: Scene) -> bytes:
    """The scene as PNG bytes, twice the SVG's pixel size (or as large as cairo allows)."""
    return from_svg(svg.render(scene), scene)


WRITER = Writer("png", "png", render, from_svg)
