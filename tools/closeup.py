"""Render a close-up of a spec's first crossing as PNG, for the README's before/after pair of line jumps.

A jump is a few pixels wide; at README width a whole diagram shows it as a
speck. This renders the diagram's SVG with the chosen jump style through the
library, narrows its viewBox to a window around the first crossing, and
rasterises that window with rsvg-convert (as the PNG writer does), enlarged:

    python tools/closeup.py docs/examples/line-jumps.yaml --jumps none -o docs/images/line-jumps-none.png
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bpdiagram.diagram import Diagram
from bpdiagram.layout.binaries import run_rsvg

WIDTH, HEIGHT, SCALE = 150.0, 90.0, 4.0


def closeup(spec: Path, jumps: str) -> bytes:
    """PNG bytes of the window around the first crossing of ``spec`` that gets a jump, drawn with ``jumps``."""
    diagram = Diagram.load(spec, jumps=jumps)  # type: ignore[arg-type]
    bridged = [c for c in diagram.scene.crossings if c.needs_jump]
    if not bridged:
        raise SystemExit(f"{spec}: no crossing to show")
    x, y = bridged[0].at
    window = f"{x - WIDTH / 2:.2f} {y - HEIGHT / 2:.2f} {WIDTH:g} {HEIGHT:g}"
    box = f'width="{WIDTH:g}" height="{HEIGHT:g}" viewBox="{window}"'
    svg = re.sub(r'width="[^"]*" height="[^"]*" viewBox="[^"]*"', box, diagram.render("svg").decode("utf-8"), count=1)
    return run_rsvg(svg.encode("utf-8"), "png", size=(round(WIDTH * SCALE), round(HEIGHT * SCALE)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path)
    parser.add_argument("--jumps", choices=("arc", "gap", "none"), default="arc")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    args.output.write_bytes(closeup(args.spec, args.jumps))
    print(args.output)


if __name__ == "__main__":
    main()
