"""PNG writer: the SVG rasterised by CairoSVG at 2× for crisp slides."""

from __future__ import annotations

from bpdiagram.layout.scene import Scene
from bpdiagram.writers import Writer, svg

SCALE = 2.0


def render(scene: Scene) -> bytes:
    """The scene as PNG bytes, twice the SVG's pixel size."""
    import cairosvg  # heavy (loads libcairo): imported only when a PNG is asked for

    data: bytes = cairosvg.svg2png(bytestring=svg.render(scene), scale=SCALE)
    return data


WRITER = Writer("png", "png", render)
