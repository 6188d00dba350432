"""PNG writer: the SVG rasterised by librsvg's ``rsvg-convert``, at the pixel size ``pixel_size`` decides.

The size is computed once, here, before any rasteriser runs, and handed to
it as an exact width and height in pixels: by default 2 pixels per SVG unit
(crisp on slides), or ``scale`` pixels per unit (``--scale``), or ``width``
pixels wide with the height following (``--width``). Any rasteriser that
can draw into a given pixel size honours the same options.

Cairo (which librsvg draws with) cannot make an image wider or taller than
32767 pixels; by default a diagram too big for that at 2× (a vectorized
network of some 32 layers or more, unwrapped) is rasterised at the largest
scale that fits, so it still renders, while a size asked for explicitly
beyond that limit is an error. The default also keeps the image within
``MAX_AREA`` pixels (25 megapixels, the most Google Slides and Docs take in):
a poster-sized diagram (an element-wise 32-32-32-1 network is 4700 × 6340 SVG
units, 119 megapixels at 2×) gets the scale that fills that area, instead of a
file no slide accepts that takes seconds to rasterise. An explicit ``--scale``
or ``--width`` is honoured up to cairo's limit. SVG and PDF keep such
diagrams at full size.
"""

from __future__ import annotations

import math

from bpdiagram.errors import BpdiagramError
from bpdiagram.layout.binaries import run_rsvg
from bpdiagram.layout.scene import Scene
from bpdiagram.writers import Writer, svg

SCALE = 2.0
MAX_PIXELS = 32767
"""Cairo's largest image side."""
MAX_AREA = 25_000_000
"""The default PNG's largest area in pixels: 25 megapixels, the largest image Google Slides and Docs accept."""


def scale_for(scene: Scene) -> float:
    """``SCALE``, or less when the picture would otherwise exceed cairo's largest side or ``MAX_AREA``."""
    area = max(scene.width * scene.height, 1.0)
    return min(SCALE, MAX_PIXELS / max(scene.width, scene.height, 1.0), math.sqrt(MAX_AREA / area))


def pixel_size(scene: Scene, *, scale: float | None = None, width: int | None = None) -> tuple[int, int]:
    """The PNG's width and height in pixels: ``width`` wide, else ``scale`` px per SVG unit, else the default.

    Heights (and widths from a scale) are rounded to the nearest pixel, as
    rasterisers round a scaled size.
    """
    if scale is not None and width is not None:
        raise BpdiagramError("give the PNG's scale or its width, not both (--scale or --width)")
    if width is not None:
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise BpdiagramError(f"the PNG's width must be a whole number of pixels, 1 or more (got {width!r})")
        size = (width, max(1, round(scene.height * width / scene.width)))
    elif scale is not None:
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (math.isfinite(scale) and scale > 0):
            raise BpdiagramError(f"the PNG's scale must be a number of pixels per SVG unit above 0 (got {scale!r})")
        size = (max(1, round(scene.width * scale)), max(1, round(scene.height * scale)))
    else:
        default = scale_for(scene)
        return (max(1, round(scene.width * default)), max(1, round(scene.height * default)))
    if max(size) > MAX_PIXELS:
        raise BpdiagramError(f"a PNG of {size[0]} × {size[1]} px is larger than the rasteriser allows "
                             f"({MAX_PIXELS} px a side); ask for a smaller --scale or --width")
    return size


def from_svg(data: bytes, scene: Scene, *, scale: float | None = None, width: int | None = None) -> bytes:
    """The scene's SVG ``data`` as PNG bytes of exactly ``pixel_size(scene, scale=…, width=…)``."""
    return run_rsvg(data, "png", size=pixel_size(scene, scale=scale, width=width))


def render(scene: Scene, *, scale: float | None = None, width: int | None = None) -> bytes:
    """The scene as PNG bytes (sized as ``from_svg``)."""
    return from_svg(svg.render(scene), scene, scale=scale, width=width)


WRITER = Writer("png", "png", render, from_svg, options=("scale", "width"))
