"""PDF writer: the SVG converted to vector PDF by librsvg's ``rsvg-convert``, for LaTeX and print.

The page is the SVG's size (1 px = 0.75 pt), so ``\\includegraphics`` shows the
same picture as the SVG and the PNG. Cairo stamps the current time into the
PDF's info dictionary; that stamp is blanked out so the same spec gives the
same bytes, as every format does (README, "Reliability": reproducible).
"""

from __future__ import annotations

import re

from bpdiagram.layout.binaries import run_rsvg
from bpdiagram.layout.scene import Scene
from bpdiagram.writers import Writer, svg

_DATES = re.compile(rb"/(?:CreationDate|ModDate)\s*\((?:[^()\\]|\\.)*\)")


def from_svg(data: bytes, scene: Scene) -> bytes:
    """The scene's SVG ``data`` as PDF bytes, without a creation date."""
    return without_dates(run_rsvg(data, "pdf"))


def render(scene: Scene) -> bytes:
    """The scene as PDF bytes, without a creation date."""
    return from_svg(svg.render(scene), scene)


def without_dates(pdf: bytes) -> bytes:
    """``pdf`` with its info dictionary's dates replaced by spaces.

    Spaces of the same length keep every byte offset, so the cross-reference
    table stays valid and no re-writing of the file is needed.
    """
    return _DATES.sub(lambda m: b" " * len(m.group()), pdf)


WRITER = Writer("pdf", "pdf", render, from_svg)
