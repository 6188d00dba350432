"""The ``%%bpdiagram`` cell magic for Jupyter: the cell's spec drawn below it.

``%load_ext bpdiagram`` registers it; then a cell::

    %%bpdiagram --show forward,backward --values
    program: |
      q = x + y
      f = q * z
    values: {x: -2, y: 5, z: -4}

shows the diagram. The options are the CLI's: ``--backprop-to N``,
``--show KINDS``, ``--values``/``--no-values``, ``--format svg|png|html``
(``html`` is the interactive page's picture: hover a node to see its
derivative link), ``--theme``, ``--shapes``, ``--memory``, ``--gradient-flow`` and
``-o FILE`` (also saves it, the format from the suffix). The cell may
instead hold ``file: PATH``. ``--as NAME`` keeps the ``Diagram`` in the
notebook's variable ``NAME`` for further use (``NAME.listing.text``, …).

A bad spec prints one ``error:`` line naming the cell's line (line 1 is the
line below ``%%bpdiagram``), and nothing is drawn.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from bpdiagram.embed import EmbedOptions, diagram_of, options_from, spec_source
from bpdiagram.errors import BpdiagramError, one_line

CELL = "cell"
"""The cell's name in error lines (``error: cell:3: layers[1].size: …``)."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so a typo in the options is one error line too."""

    def error(self, message: str) -> Any:
        raise BpdiagramError(f"%%bpdiagram: {message}")


def parser() -> argparse.ArgumentParser:
    """The options of ``%%bpdiagram`` (the CLI's names)."""
    p = _Parser(prog="%%bpdiagram", add_help=False)
    p.add_argument("--backprop-to", type=str)
    p.add_argument("--show")
    p.add_argument("--values", action="store_true", default=None)
    p.add_argument("--no-values", dest="values", action="store_false")
    p.add_argument("--format", "-f", default="svg", choices=("svg", "png", "html"))
    p.add_argument("--theme")
    p.add_argument("--shapes", action="store_true")
    p.add_argument("--memory", action="store_true")
    p.add_argument("--gradient-flow", action="store_true")
    p.add_argument("-o", "--output")
    p.add_argument("--as", dest="name")
    return p


def run_cell(line: str, cell: str, *, base: Path | None = None) -> tuple[Any, Any, str | None]:
    """The ``Diagram`` of a cell, the object Jupyter displays for it (SVG, PNG or HTML), and ``--as``'s name.

    Raises ``BpdiagramError`` with a located message for any fault.
    """
    args = parser().parse_args(shlex.split(line))
    given: dict[str, str | None] = {}
    for name in ("backprop_to", "show", "theme"):
        if getattr(args, name) is not None:
            given[name] = getattr(args, name)
    if args.values is not None:
        given["values"] = "true" if args.values else "false"
    for flag in ("shapes", "memory", "gradient_flow"):
        if getattr(args, flag):
            given[flag] = "true"
    options: EmbedOptions = options_from(given)
    text, name, _ = spec_source(cell, base=base or Path.cwd(), file=CELL)
    diagram = diagram_of(text, file=name, options=options, name=Path(args.output).stem if args.output else "diagram")
    if args.output:
        diagram.save(args.output)
    from IPython.display import HTML, SVG, Image

    shown: Any
    if args.format == "html":
        from bpdiagram.writers.html import fragment

        shown = HTML(fragment(diagram.scene))
    elif args.format == "png":
        shown = Image(data=diagram.render("png"), format="png")
    else:
        shown = SVG(data=diagram.render("svg").decode("utf-8"))
    return diagram, shown, args.name


def bpdiagram_magic(line: str, cell: str) -> Any:
    """``%%bpdiagram [options]``: draw the cell's spec; a fault is one ``error:`` line on stderr."""
    try:
        diagram, shown, keep_as = run_cell(line, cell)
    except BpdiagramError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return None
    if keep_as:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.user_ns[keep_as] = diagram
    return shown


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%%bpdiagram`` (``%load_ext bpdiagram`` calls this through the package)."""
    ipython.register_magic_function(bpdiagram_magic, magic_kind="cell", magic_name="bpdiagram")
