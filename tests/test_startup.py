"""The commands that need no diagram start without the heavy libraries.

``bpdiagram --help`` and ``bpdiagram templates`` run in build scripts and
shells many times over; importing numpy, networkx, graphviz or the cairo
stack would multiply their start-up (see README, Performance). Each command
runs in a fresh interpreter, which then lists every module it loaded.
Speed itself is measured by ``benchmarks/run.py``, never asserted here.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("numpy", "networkx", "graphviz", "cairosvg", "cairocffi", "yaml", "PIL",
         "bpdiagram.diagram", "bpdiagram.layout", "bpdiagram.model", "bpdiagram.writers")
"""Packages the light commands must not load (a name or anything under it)."""

SCRIPT = """
import sys
from bpdiagram.cli import main
sys.argv = ["bpdiagram", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
print("\\nMODULES", code, " ".join(sorted(sys.modules)))
"""


def loaded_by(*args: str) -> tuple[int, str, set[str]]:
    """Run ``bpdiagram ARGS`` in a fresh interpreter: exit status, output, and every module it loaded."""
    proc = subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, check=True,
                          timeout=60)
    out, _, modules = proc.stdout.rpartition("\nMODULES ")
    code, _, names = modules.strip().partition(" ")
    return int(code), out, set(names.split())


def printed_by(code: str) -> list[str]:
    """The first two lines ``code`` prints, run in a fresh interpreter (so its imports are its own)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return out.stdout.split("\n")[:2]


@pytest.mark.parametrize("args", [("--help",), ("templates",), ("templates", "relu-mlp"), ("--version",),
                                  ("render", "--help")])
def test_light_commands_load_no_heavy_library(args: tuple[str, ...]) -> None:
    code, out, modules = loaded_by(*args)
    assert code == 0 and out.strip()
    heavy = sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == []


@pytest.mark.graphviz
def test_the_check_sees_a_heavy_import() -> None:
    """The check itself works: a command that draws does load them."""
    code, _, modules = loaded_by("stats", "-t", "two-layer-binary", "--json")
    assert code == 0
    assert {"graphviz", "bpdiagram.diagram", "bpdiagram.model.graph"} <= modules


@pytest.mark.graphviz
@pytest.mark.parametrize("template", ["two-layer-binary", "three-layer-elementwise", "expression-sigmoid-neuron"])
def test_rendering_never_loads_networkx(template: str) -> None:
    """The typed model is all the layout and the writers read: networkx loads only for ``Diagram.graph``.

    Each view's layout (graphviz's, the grid's, the mirror's), the text formats, ``stats`` and a wrapped
    picture run without it; asking for ``d.graph`` then loads it.
    """
    code = ("import sys, bpdiagram\n"
            f"d = bpdiagram.template({template!r})\n"
            "for fmt in ('svg', 'graphml', 'dot', 'drawio', 'html'): d.render(fmt)\n"
            "d.stats(); d.with_options(wrap=1).render('svg') if d.model.view == 'vectorized' else None\n"
            "print('networkx' in sys.modules)\n"
            "g = d.graph\n"
            "print('networkx' in sys.modules, g.number_of_nodes() == len(d.model.nodes))\n")
    assert printed_by(code) == ["False", "True True"]


@pytest.mark.graphviz
def test_a_diagram_without_numbers_never_loads_numpy() -> None:
    """numpy is only loaded by diagrams that show numbers (the catalogue holds it as a lazy module)."""
    code = ("import sys, bpdiagram\n"
            "d = bpdiagram.template('two-layer-binary')\n"
            "d.render('svg'); d.render('graphml'); d.stats()\n"
            "print(sorted(m for m in sys.modules if m.startswith('numpy.')))\n"
            "d.with_options(values=True).render('svg')\n"
            "print('numpy.linalg' in sys.modules)\n")
    assert printed_by(code) == ["[]", "True"]


def test_a_command_collects_cycles_rarely_and_importing_bpdiagram_changes_nothing() -> None:
    """The CLI raises the cycle collector's thresholds for its job; a program importing bpdiagram keeps its own."""
    code = ("import contextlib, gc, io, sys\n"
            "before = gc.get_threshold()\n"
            "import bpdiagram, bpdiagram.cli\n"
            "print(gc.get_threshold() == before)\n"
            "sys.argv = ['bpdiagram', '--version']\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    bpdiagram.cli.main()\n"
            "print(gc.get_threshold() == bpdiagram.cli.GC_THRESHOLDS != before)\n")
    assert printed_by(code) == ["True", "True"]
