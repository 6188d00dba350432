"""Regenerate tests/golden/ after an intended change of output: ``make golden``.

Review the diff of tests/golden/ before committing it: it is the change users will see.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bpdiagram.template_files import template_names
from tests.golden_io import crossings_text, dot_text, graphml_text, svg_structure

GOLDEN = Path(__file__).resolve().parent / "golden"


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name in template_names():
        (GOLDEN / f"{name}.dot").write_text(dot_text(name), encoding="utf-8")
        (GOLDEN / f"{name}.graphml").write_text(graphml_text(name), encoding="utf-8")
        (GOLDEN / f"{name}.svg.txt").write_text(svg_structure(name), encoding="utf-8")
        print(f"wrote golden files for {name}")
    (GOLDEN / "crossings.json").write_text(crossings_text(template_names()), encoding="utf-8")
    print("wrote crossings.json")


if __name__ == "__main__":
    main()
