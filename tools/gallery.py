"""Draw every template as PNG into a folder, for the docs site's gallery: ``make docs``.

The gallery page itself is generated when the site is built (docs/hooks/gallery.py), from the same templates
folder, so a new template needs only its picture, which this draws.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bpdiagram.commands.common import EXIT_BAD_INPUT
from bpdiagram.diagram import Diagram
from bpdiagram.template_files import template_names


def main(argv: list[str]) -> int:
    """``gallery.py OUT``: OUT/<template>.png for every template; stale pictures of removed templates go."""
    if len(argv) != 1:
        print("usage: gallery.py OUT", file=sys.stderr)
        return EXIT_BAD_INPUT
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    names = template_names()
    for stale in out.glob("*.png"):
        if stale.stem not in names:
            stale.unlink()
    for name in names:
        Diagram.template(name).save(out / f"{name}.png")
    return 0


if __name__ == "__main__":
    if status := main(sys.argv[1:]):
        sys.exit(status)
