"""Stage 4 of the pipeline: writers turn a laid-out ``Scene`` into file bytes.

One module per format, each exposing ``WRITER``; the registry maps a format
name to its module and imports it only when asked, so choosing ``svg`` never
runs the PNG rasteriser.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from bpdiagram.errors import BpdiagramError

_MODULES: dict[str, str] = {
    "svg": "bpdiagram.writers.svg",
    "png": "bpdiagram.writers.png",
    "graphml": "bpdiagram.writers.graphml",
    "pdf": "bpdiagram.writers.pdf",
    "html": "bpdiagram.writers.html",
    "dot": "bpdiagram.writers.dot",
    "drawio": "bpdiagram.writers.drawio",
    "tikz": "bpdiagram.writers.tikz",
}


@dataclass(frozen=True)
class Writer:
    """A named output format: file extension and the function producing its bytes.

    Formats made from the SVG (PNG and PDF, through rsvg-convert) also offer
    ``from_svg``: the same bytes from SVG already rendered for the scene, so a
    diagram saved as SVG, PNG and PDF builds its SVG once.

    ``options`` names the keyword options both functions take (the PNG's
    ``scale`` and ``width``); a caller passes a writer only the options it names.
    """

    name: str
    extension: str
    render: Callable[..., bytes]
    from_svg: Callable[..., bytes] | None = None
    options: tuple[str, ...] = ()


def formats() -> tuple[str, ...]:
    """Names of every registered format, in the order the CLI lists them."""
    return tuple(_MODULES)


def get_writer(name: str) -> Writer:
    """The writer for format ``name``."""
    if name not in _MODULES:
        raise BpdiagramError(f"unknown format {name!r}; valid formats: {', '.join(_MODULES)}")
    writer: Writer = importlib.import_module(_MODULES[name]).WRITER
    return writer
