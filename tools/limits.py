"""How long the largest input each documented limit accepts takes to render: ``make limits``.

A limit is a promise: every spec it accepts must render, in every format, in
under ``BUDGET`` seconds on the 2-core machine the project runs on. This
builds, from the limit constants themselves (so it re-measures whatever they
are set to), the largest spec of each kind the validator accepts:

* ``expression``: ``MAX_GATES`` gates, in three shapes (a fan-out chain where
  every variable is used again and again, a sum of many products, a deep
  nest of unary functions), since layout time depends on the shape;
* ``elementwise-units`` / ``-weights``: the widest element-wise network,
  ``ELEMENTWISE_MAX_UNITS`` units a layer up to ``ELEMENTWISE_MAX_WEIGHTS`` weights;
* ``elementwise-layers``: ``ELEMENTWISE_MAX_LAYERS`` element-wise layers, as
  wide as the weight limit then allows;
* ``vectorized``: ``MAX_LAYERS`` layers in the vectorized view;

checks that the validator accepts it (and that one more is refused), and
renders it with the real command line, ``bpdiagram render -f <all formats>
--force``, in a fresh process, printing wall-clock and CPU time (the
process's and its children's: graphviz, the rasteriser). The budget is
judged on CPU time, which on an idle machine is the wall-clock time of this
mostly sequential work, and unlike wall-clock time does not grow when other
jobs share the cores. ``--layers 32,64,128`` measures the
vectorized view at other depths instead, to choose its limit.

    .venv/bin/python tools/limits.py                 # every limit, all formats
    .venv/bin/python tools/limits.py --only vectorized --layers 64,96,128
    .venv/bin/python tools/limits.py --formats svg   # one format

It is a measurement, not a test: wall-clock time on a shared machine is noisy,
so the suite never asserts it (``tests/test_limits.py`` checks only that each
spec here sits exactly at its limit).
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bpdiagram.errors import SpecError
from bpdiagram.options import FORMATS
from bpdiagram.spec import load_spec
from bpdiagram.spec.expression import MAX_GATES
from bpdiagram.spec.network import (
    ELEMENTWISE_MAX_LAYERS,
    ELEMENTWISE_MAX_UNITS,
    ELEMENTWISE_MAX_WEIGHTS,
    MAX_LAYERS,
)

BUDGET = 10.0
"""Seconds the largest accepted input may take, all formats, on the project's 2-core machine."""

TIMEOUT = 600.0
"""A case still running after this is stopped and reported as longer."""


@dataclass(frozen=True)
class Case:
    """One spec at a limit, and the same spec one step beyond it (which must be refused)."""

    name: str
    limit: str
    spec: dict[str, Any]
    beyond: dict[str, Any]


def fan_out_chain(gates: int) -> str:
    """``((x·y + x)·y + x)·y …``: x and y used at every step, so each variable's gradients are summed."""
    expr, used = "x * y", 1
    while used + 2 <= gates:
        expr, used = f"({expr} + x) * y", used + 2
    return f"{expr} + x" if used < gates else expr


def sum_of_products(gates: int) -> str:
    """``w0·x0 + w1·x1 + …``: many variables, each used once (a wide, shallow graph)."""
    terms = (gates + 1) // 2
    expr = " + ".join(f"w{i} * x{i}" for i in range(terms))
    return expr if 2 * terms - 1 == gates else f"-({expr})"


def unary_nest(gates: int) -> str:
    """``sigmoid(tanh(exp(… x · y …)))``: one long chain of single-input gates."""
    expr = "x * y"
    for i in range(gates - 1):
        expr = f"{('sigmoid', 'tanh', 'relu')[i % 3]}({expr})"
    return expr


def expression_spec(build: Callable[[int], str], gates: int) -> dict[str, Any]:
    source = build(gates)
    names = sorted({t for t in source.replace("(", " ").replace(")", " ").replace("*", " ").replace("+", " ")
                    .replace("-", " ").split() if t[0].isalpha() and t not in ("sigmoid", "tanh", "relu")})
    return {"expression": source, "values": {n: 0.5 + 0.01 * i for i, n in enumerate(names)}}


def network(sizes: list[int], view: str) -> dict[str, Any]:
    layers = [{"size": n, "activation": "tanh"} for n in sizes[1:-1]]
    layers.append({"size": sizes[-1], "activation": "sigmoid"})
    return {"input": sizes[0], "layers": layers, "loss": "bce", "diagram": {"view": view}}


def widest_within(layers: int) -> int:
    """The largest width w (≤ the unit limit) such that ``layers`` layers of w units stay within the weights."""
    width = ELEMENTWISE_MAX_UNITS
    while width > 1 and layers * width * width > ELEMENTWISE_MAX_WEIGHTS:
        width -= 1
    return width


def greedy(first: int) -> list[int]:
    """Layer sizes from ``first`` units, each layer as wide as the unit and weight limits still allow."""
    sizes, left = [first], ELEMENTWISE_MAX_WEIGHTS
    while len(sizes) <= ELEMENTWISE_MAX_LAYERS and left >= sizes[-1]:
        width = min(ELEMENTWISE_MAX_UNITS, left // sizes[-1])
        sizes.append(width)
        left -= sizes[-2] * width
    return sizes


def cases(vectorized_layers: list[int] | None = None, gates: list[int] | None = None,
          widths: list[int] | None = None) -> list[Case]:
    """The largest spec each limit accepts (and one step beyond it); the lists measure other sizes instead."""
    out = [Case(f"expression-{build.__name__.replace('_', '-')}-{n}", f"MAX_GATES = {MAX_GATES}",
                expression_spec(build, n), expression_spec(build, MAX_GATES + 1))
           for n in gates or [MAX_GATES] for build in (fan_out_chain, sum_of_products, unary_nest)]
    units, weights = ELEMENTWISE_MAX_UNITS, ELEMENTWISE_MAX_WEIGHTS
    square = widest_within(2)  # the widest three equal layers (two of weights) the limits take
    for side in widths or [units, square]:
        sizes = greedy(side)
        beyond = [*sizes, units]  # one more layer: too many weights (or layers)
        out.append(Case(f"elementwise-{'-'.join(map(str, sizes))}",
                        f"ELEMENTWISE_MAX_UNITS = {units}, ELEMENTWISE_MAX_WEIGHTS = {weights}",
                        network(sizes, "elementwise"), network(beyond, "elementwise")))
    width = widest_within(ELEMENTWISE_MAX_LAYERS)
    out.append(Case(f"elementwise-{ELEMENTWISE_MAX_LAYERS}-layers-of-{width}",
                    f"ELEMENTWISE_MAX_LAYERS = {ELEMENTWISE_MAX_LAYERS}",
                    network([width] * (ELEMENTWISE_MAX_LAYERS + 1), "elementwise"),
                    network([1] * (ELEMENTWISE_MAX_LAYERS + 2), "elementwise")))
    for depth in vectorized_layers or [MAX_LAYERS]:
        out.append(Case(f"vectorized-{depth}-layers", f"MAX_LAYERS = {MAX_LAYERS}",
                        network([4] * (depth + 1), "vectorized"), network([4] * (MAX_LAYERS + 2), "vectorized")))
    return out


def accepted(spec: dict[str, Any]) -> bool:
    try:
        load_spec(spec)
    except SpecError:
        return False
    return True


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float
    ok: bool
    note: str


LIFTED = ("import bpdiagram.spec.expression as e, bpdiagram.spec.network as n; "
          "e.MAX_GATES = n.MAX_LAYERS = n.ELEMENTWISE_MAX_UNITS = n.ELEMENTWISE_MAX_WEIGHTS = "
          "n.ELEMENTWISE_MAX_LAYERS = 10**6; ")
"""Run before the command when sweeping, so sizes beyond today's limits can be measured to choose new ones."""


def render(spec: dict[str, Any], formats: str, folder: Path, timeout: float = TIMEOUT, *,
           lifted: bool = False) -> Timing:
    """``bpdiagram render`` of ``spec`` in a fresh process: wall-clock and CPU (its own and graphviz's)."""
    path = folder / "limit.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    code = (LIFTED if lifted else "") + "from bpdiagram.cli import main; main()"
    command = [sys.executable, "-c", code, "render", str(path), "-o", str(folder / "out"), "-f", formats, "--force"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as process:  # its own group: graphviz is stopped with it
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return Timing(timeout, float("nan"), False, f"stopped after {timeout:.0f} s")
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    note = stderr.strip().splitlines()[-1] if process.returncode else ""
    return Timing(wall, cpu, process.returncode == 0, note)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="Measure only the cases whose name contains this text.")
    parser.add_argument("--formats", default=",".join(FORMATS), help="Formats to render (default: all).")
    parser.add_argument("--layers", help="Vectorized depths to measure instead of MAX_LAYERS, e.g. 64,128.")
    parser.add_argument("--gates", help="Expression sizes to measure instead of MAX_GATES, e.g. 20,30.")
    parser.add_argument("--widths", help="Element-wise widths to measure instead of ELEMENTWISE_MAX_UNITS "
                                         "(as many layers of that width as the weight limit allows).")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="Stop a case after this many seconds.")
    args = parser.parse_args(argv)

    def sizes(text: str | None) -> list[int] | None:
        return [int(n) for n in text.split(",")] if text else None
    print(f"limits, rendered with -f {args.formats} (budget {BUDGET:g} s; {os.cpu_count()} CPUs)")
    print(f"{'case':34} {'limit':60} {'wall s':>7} {'cpu s':>7}  result")
    worst = 0.0
    sweeping = bool(args.layers or args.gates or args.widths)  # sizes beyond the limits are measured too
    for case in cases(sizes(args.layers), sizes(args.gates), sizes(args.widths)):
        if args.only and args.only not in case.name:
            continue
        if not accepted(case.spec) and not sweeping:
            print(f"{case.name:34} {case.limit:60} {'':>7} {'':>7}  NOT ACCEPTED: the case is not at its limit")
            return 2
        if accepted(case.beyond):
            print(f"{case.name:34} {case.limit:60} {'':>7} {'':>7}  one step beyond is accepted too")
        with tempfile.TemporaryDirectory() as folder:
            t = render(case.spec, args.formats, Path(folder), args.timeout, lifted=sweeping)
        # CPU time judges: on a shared machine wall-clock time grows with the load, CPU time hardly
        verdict = ("ok" if t.cpu <= BUDGET else "OVER BUDGET") if t.ok else f"FAILED: {t.note}"
        worst = max(worst, t.cpu if t.ok else t.wall)
        print(f"{case.name:34} {case.limit:60} {t.wall:7.1f} {t.cpu:7.1f}  {verdict}", flush=True)
    print(f"slowest: {worst:.1f} s of CPU; load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
