"""How fast bpdiagram is, next to its floor and the tools people use instead: ``make bench``.

One run measures, on the same networks, the median of several repeats of:

* bpdiagram in-process: build (spec → model), layout (graphviz included) and
  each writer (svg, png, graphml) on its own, and the CLI end to end for the
  default template (``bpdiagram render -f svg,png,graphml --force``);
* ``bpdiagram watch``: a rebuild of the default template after a save (in
  the watch's process, and save → ``rendered:`` line of a real one), next
  to the cold ``render``;
* the floor: ``dot -Tjson`` alone on bpdiagram's own DOT for that network, and
  a bare ``python -c pass``;
* the alternatives: a micrograd-style scalar graph (the small ``Value`` class
  below, data and grad per node) drawn the way micrograd's ``draw_dot`` draws
  it (one record node per value, one node per operation, ``dot -Tsvg``), and
  torchviz's ``make_dot`` + SVG when torch and torchviz are importable;
* issue 16's section: the CLI's fixed costs (networkx's import, what PNG adds
  to the element-wise template) and torchview's whole drawing of the
  128-layer network, in the benchmark's own environment ``.venv-torch``
  (made with pip on a full run; ``--no-torch`` skips it), then issue 16's
  aims, judged on CPU time.

* issue 30's section, first: the CLI as users run it (bytecode compiled,
  PYTHONDONTWRITEBYTECODE removed from the measured processes' environment),
  its commands alternated round by round against the floor (the same
  interpreter's bare start-up plus ``dot -Tjson``), CPU and wall time in one
  table, then every aim of issue 30 with its verdict (``--aims-only`` stops
  there: a few minutes, written to ``results-aims.{txt,json}``).

It prints a table (ratios bpdiagram / alternative and bpdiagram / floor, the
log-log growth exponent of time against node count for each sweep, and which
aims of issue 8 are met) and writes it, with every raw number, to
``benchmarks/results.{txt,json}`` (``results-quick.*`` with ``--quick``).

    .venv/bin/python benchmarks/run.py            # the full run (under ~10 min on 2 cores)
    .venv/bin/python benchmarks/run.py --quick    # a short run: smaller sweeps, fewer repeats
    .venv/bin/python benchmarks/run.py --aims-only   # issue 30's section and aims alone

Timings are wall-clock (``time.perf_counter``); subprocess timings include
process start-up, which is the point for the CLI. bpdiagram's modules are
byte-compiled first, as an installed package's are, so the CLI's start-up is
not charged for compiling them (this machine sets PYTHONDONTWRITEBYTECODE).
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import functools
import importlib.util
import json
import math
import os
import platform
import random
import resource
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import graphviz

import bpdiagram
from bpdiagram.diagram import Diagram
from bpdiagram.errors import SpecError
from bpdiagram.layout.dot_scene import dot_source
from bpdiagram.writers import get_writer

HERE = Path(__file__).resolve().parent
WRITERS = ("svg", "png", "graphml")
DEFAULT_TEMPLATE = "two-layer-binary"
ALTERNATIVE_BUDGET = 20.0
"""Seconds: once one run of an alternative takes longer, the larger networks of that sweep are skipped."""
DOT_TIMEOUT = 90.0
"""Seconds before one ``dot -Tsvg`` run of an alternative is given up (reported as timed out); 30 with --quick."""
REFUSED = "skipped: refused by bpdiagram's limits"
"""A network bpdiagram refuses with a SpecError (the element-wise view draws at most 2,048 weights)."""
RENDER_IMPORTS = ("import bpdiagram.cli, bpdiagram.diagram, bpdiagram.writers.svg, bpdiagram.writers.png, "
                  "bpdiagram.writers.graphml")
"""What ``bpdiagram render -f svg,png,graphml`` imports before it does any work."""

Stage = dict[str, float]
"""One repeat's timings in seconds, by stage name."""


# -- the networks --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Network:
    """A network to draw: layer sizes n[0], …, n[L], tanh hidden layers, a sigmoid output, bce.

    ``sweep`` names the series whose growth exponent it belongs to.
    """

    name: str
    sizes: tuple[int, ...]
    sweep: str | None = None
    elementwise: bool = False
    template: str | None = None

    def spec(self) -> dict[str, Any]:
        """The bpdiagram spec (a mapping, as ``bpdiagram.load`` takes it)."""
        layers = [{"size": n, "activation": "tanh"} for n in self.sizes[1:-1]]
        layers.append({"size": self.sizes[-1], "activation": "sigmoid"})
        spec: dict[str, Any] = {"title": self.name, "input": self.sizes[0], "layers": layers, "loss": "bce"}
        if self.elementwise:
            spec["diagram"] = {"view": "elementwise"}
        return spec

    def diagram(self) -> Diagram:
        """A fresh diagram (nothing computed yet)."""
        if self.template is not None:
            return Diagram.template(self.template)
        return Diagram.load(self.spec(), name=self.name.replace(" ", "-"))


def networks(quick: bool) -> list[Network]:
    """The default template, the vectorized depth sweep and the element-wise sweep (smaller with ``quick``)."""
    depths = (8, 32) if quick else (8, 32, 64, 128)
    wide = ((2, 4, 1), (16, 16, 16, 1)) if quick else \
        ((2, 4, 1), (4, 8, 8, 1), (16, 16, 16, 1), (24, 24, 24, 1), (32, 32, 32, 1))
    out = [Network("default template", (2, 4, 1), template=DEFAULT_TEMPLATE)]
    out += [Network(f"vectorized depth {d}", (8,) * (d + 1), sweep="vectorized depth") for d in depths]
    out += [Network("element-wise " + "-".join(map(str, s)), s, sweep="element-wise", elementwise=True)
            for s in wide]
    return out


# -- timing --------------------------------------------------------------------------------------------------


def medians(samples: Sequence[Stage]) -> Stage:
    """The median of each stage over the repeats (stages missing from a repeat are left out)."""
    keys = dict.fromkeys(k for s in samples for k in s)
    return {k: statistics.median(s[k] for s in samples if k in s) for k in keys}


def repeated(once: Callable[[], Stage], repeats: int) -> tuple[Stage, int]:
    """Median timings of ``once`` and how many runs they come from.

    Slow cases get fewer runs, so the whole benchmark stays within minutes:
    all ``repeats`` while a run is under 2 s, 3 under 20 s, else that one run.
    """
    first = once()
    total = first["total"] if "total" in first else \
        sum(v for k, v in first.items() if k != "nodes" and not k.endswith("cpu"))
    n = repeats if total < 2 else min(repeats, 3) if total < 20 else 1
    samples = [first] + [once() for _ in range(n - 1)]
    return medians(samples), n


def cpu_seconds() -> float:
    """CPU time used so far by this process and its finished children (dot runs).

    Wall-clock time is what users wait for, and what the tables show; on a
    machine shared with other work it also counts time spent waiting for a
    core, so the CPU time of bp is kept too, to tell growth from noise.
    """
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def run_quiet(cmd: Sequence[str], *, data: bytes | None = None,
              env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run of ``cmd`` (output discarded); raises when it fails."""
    cpu = cpu_seconds()
    start = time.perf_counter()
    subprocess.run(cmd, input=data, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True, env=env)
    return time.perf_counter() - start, cpu_seconds() - cpu


def subprocess_median(cmd: Sequence[str], repeats: int, *, data: bytes | None = None) -> tuple[float, float]:
    """Median wall-clock and median CPU seconds of ``repeats`` runs of ``cmd``, after one warm-up run."""
    run_quiet(cmd, data=data)
    runs = [run_quiet(cmd, data=data) for _ in range(repeats)]
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


# -- bpdiagram -----------------------------------------------------------------------------------------------


def bpdiagram_once(net: Network, failed: dict[str, str]) -> Stage:
    """One in-process run: build, layout, then each writer on the same scene.

    A writer that fails is left out of the timings and its error kept in ``failed``
    (the 128-layer PNG did, before it was made to fit cairo's largest surface).
    ``cpu`` is the CPU time of build + layout + svg (dot included).
    """
    cpu = cpu_seconds()
    start = time.perf_counter()
    d = net.diagram()
    g = d.graph
    built = time.perf_counter()
    scene = d.layout
    laid = time.perf_counter()
    out: Stage = {"build": built - start, "layout": laid - built, "nodes": float(g.number_of_nodes()),
                  "build_layout_cpu": cpu_seconds() - cpu}
    for fmt in WRITERS:
        t = time.perf_counter()
        try:
            get_writer(fmt).render(scene)
        except Exception as exc:  # any failure is a result to report, not a crash
            failed[fmt] = f"{type(exc).__name__}: {exc}"
            continue
        out[fmt] = time.perf_counter() - t
        if fmt == "svg":
            out["cpu"] = cpu_seconds() - cpu
    return out


def bpdiagram_exe() -> list[str]:
    """The ``bpdiagram`` console script next to this interpreter (``python -m bpdiagram`` without one)."""
    script = Path(sys.executable).with_name("bpdiagram")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bpdiagram"]


# -- the micrograd-style alternative ---------------------------------------------------------------------------


def _leaf_backward() -> None:
    """A leaf's backward step: nothing to pass on."""


class Value:
    """A scalar with its gradient, micrograd's way: every operation makes a node that remembers its inputs."""

    __slots__ = ("_backward", "_op", "_prev", "data", "grad", "label")

    def __init__(self, data: float, children: tuple[Value, ...] = (), op: str = "", label: str = "") -> None:
        self.data = data
        self.grad = 0.0
        self._prev = children
        self._op = op
        self.label = label
        self._backward: Callable[[], None] = _leaf_backward

    def __add__(self, other: Value | float) -> Value:
        o = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + o.data, (self, o), "+")

        def backward() -> None:
            self.grad += out.grad
            o.grad += out.grad

        out._backward = backward
        return out

    def __radd__(self, other: float) -> Value:
        return self + other

    def __mul__(self, other: Value | float) -> Value:
        o = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * o.data, (self, o), "*")

        def backward() -> None:
            self.grad += o.data * out.grad
            o.grad += self.data * out.grad

        out._backward = backward
        return out

    def __rmul__(self, other: float) -> Value:
        return self * other

    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other: Value | float) -> Value:
        return self + (-other)

    def __rsub__(self, other: float) -> Value:
        return (-self) + other

    def _unary(self, value: float, op: str, slope: float) -> Value:
        out = Value(value, (self,), op)

        def backward() -> None:
            self.grad += slope * out.grad

        out._backward = backward
        return out

    def tanh(self) -> Value:
        """tanh, with d tanh(x)/dx = 1 − tanh(x)²."""
        t = math.tanh(self.data)
        return self._unary(t, "tanh", 1 - t * t)

    def sigmoid(self) -> Value:
        """σ, with dσ(x)/dx = σ(x)(1 − σ(x))."""
        s = 1 / (1 + math.exp(-self.data))
        return self._unary(s, "sigmoid", s * (1 - s))

    def log(self) -> Value:
        """ln, with d ln(x)/dx = 1/x."""
        return self._unary(math.log(self.data), "log", 1 / self.data)

    def backward(self) -> None:
        """Fill every ``grad`` of the graph ending here (topological order, without recursion: graphs are deep)."""
        order = topological(self)
        self.grad = 1.0
        for v in reversed(order):
            v._backward()


def topological(root: Value) -> list[Value]:
    """Every value ``root`` depends on, inputs before the values computed from them."""
    order: list[Value] = []
    seen: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        v, expanded = stack.pop()
        if expanded:
            order.append(v)
            continue
        if id(v) in seen:
            continue
        seen.add(id(v))
        stack.append((v, True))
        stack.extend((c, False) for c in reversed(v._prev) if id(c) not in seen)
    return order


def mlp_loss(sizes: Sequence[int], *, seed: int = 0) -> Value:
    """The bce loss of one example through the MLP ``sizes`` (tanh hidden, sigmoid output), micrograd's way."""
    rng = random.Random(seed)
    acts = [Value(rng.uniform(-1, 1), label=f"x{i}") for i in range(sizes[0])]
    layers = len(sizes) - 1
    for layer, (n_in, n_out) in enumerate(pairwise(sizes), start=1):
        outs = []
        for j in range(n_out):
            weights = [Value(rng.uniform(-1, 1) / math.sqrt(n_in), label=f"w{layer}.{j}.{i}") for i in range(n_in)]
            z: Value = Value(0.0, label=f"b{layer}.{j}")
            for w, a in zip(weights, acts, strict=True):
                z = z + w * a
            outs.append(z.sigmoid() if layer == layers else z.tanh())
        acts = outs
    loss: Value = Value(0.0)
    for a in acts:
        y = float(rng.random() < 0.5)
        loss = loss - (a.log() * y + (1 - a).log() * (1 - y))
    return loss


def draw_dot(root: Value) -> graphviz.Digraph:
    """micrograd's ``draw_dot``: a record node per value (label, data, grad), a node per operation.

    Node names come from a counter instead of ``id()``, so the DOT is the same every run.
    """
    order = topological(root)
    names = {id(v): f"v{i}" for i, v in enumerate(order)}
    dot = graphviz.Digraph(format="svg", graph_attr={"rankdir": "LR"})
    for v in order:
        uid = names[id(v)]
        dot.node(name=uid, label=f"{{ {v.label} | data {v.data:.4f} | grad {v.grad:.4f} }}", shape="record")
        if v._op:
            dot.node(name=uid + v._op, label=v._op)
            dot.edge(uid + v._op, uid)
        for child in v._prev:
            dot.edge(names[id(child)], uid + v._op)
    return dot


def micrograd_once(net: Network, timeout: float = DOT_TIMEOUT) -> Stage:
    """One micrograd-style rendering: forward, backward, ``draw_dot``, ``dot -Tsvg`` (as ``Digraph.pipe`` runs it)."""
    cpu = cpu_seconds()
    start = time.perf_counter()
    loss = mlp_loss(net.sizes)
    loss.backward()
    source = draw_dot(loss).source
    drawn = time.perf_counter()
    subprocess.run(["dot", "-Tsvg"], input=source.encode("utf-8"), stdout=subprocess.DEVNULL, check=True,
                   timeout=timeout)
    done = time.perf_counter()
    values = topological(loss)
    nodes = len(values) + sum(1 for v in values if v._op)  # a record per value, a node per operation
    return {"python": drawn - start, "dot": done - drawn, "total": done - start, "nodes": float(nodes),
            "cpu": cpu_seconds() - cpu}


# -- torchviz ---------------------------------------------------------------------------------------------------


def torchviz_available() -> bool:
    """Whether torch and torchviz can be imported (neither is installed by this project)."""
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "torchviz"))


def torchviz_once(net: Network, timeout: float = DOT_TIMEOUT) -> Stage:
    """One torchviz rendering: the same MLP in torch, a batch of 4, bce, ``make_dot`` and ``dot -Tsvg``."""
    torch: Any = importlib.import_module("torch")
    make_dot: Any = importlib.import_module("torchviz").make_dot
    start = time.perf_counter()
    torch.manual_seed(0)
    modules: list[Any] = []
    for layer, (n_in, n_out) in enumerate(pairwise(net.sizes), start=1):
        modules += [torch.nn.Linear(n_in, n_out),
                    torch.nn.Sigmoid() if layer == len(net.sizes) - 1 else torch.nn.Tanh()]
    model = torch.nn.Sequential(*modules)
    x = torch.randn(4, net.sizes[0])
    y = (torch.rand(4, net.sizes[-1]) > 0.5).float()
    loss = torch.nn.functional.binary_cross_entropy(model(x), y)
    source: str = make_dot(loss, params=dict(model.named_parameters())).source
    drawn = time.perf_counter()
    subprocess.run(["dot", "-Tsvg"], input=source.encode("utf-8"), stdout=subprocess.DEVNULL, check=True,
                   timeout=timeout)
    done = time.perf_counter()
    nodes = sum(1 for line in source.splitlines() if "[" in line and "->" not in line
                and not line.strip().startswith(("graph", "node", "edge")))
    return {"python": drawn - start, "dot": done - drawn, "total": done - start, "nodes": float(nodes)}


# -- analysis --------------------------------------------------------------------------------------------------


def growth_exponent(points: Iterable[tuple[float, float]]) -> float | None:
    """The slope of log time against log nodes (least squares): 1 is linear, 2 quadratic; None below 2 points."""
    pts = [(math.log(n), math.log(t)) for n, t in points if n > 0 and t > 0]
    if len(pts) < 2 or len({x for x, _ in pts}) < 2:
        return None
    mx = statistics.fmean(x for x, _ in pts)
    my = statistics.fmean(y for _, y in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing."""
    return a / b if a is not None and b else None


def in_process(stages: Stage) -> float:
    """bpdiagram's in-process time to an SVG: build + layout + svg (what the alternatives produce)."""
    return stages["build"] + stages["layout"] + stages["svg"]


# -- the run ---------------------------------------------------------------------------------------------------


@dataclass
class Bench:
    """Everything measured in one run, and how it is printed."""

    quick: bool
    repeats: int
    timeout: float
    """seconds before an alternative's ``dot -Tsvg`` is given up"""
    results: dict[str, Any]
    lines: list[str]

    def say(self, text: str = "") -> None:
        """Print a line and keep it for the results table."""
        print(text, flush=True)
        self.lines.append(text)


def graphviz_version() -> str:
    """``dot -V``'s version line."""
    proc = subprocess.run(["dot", "-V"], capture_output=True, text=True, check=True)
    return (proc.stderr or proc.stdout).strip()


def measure_startup(bench: Bench) -> None:
    """Bare Python start-up, and click's import alone, against ``bpdiagram --help`` and ``bpdiagram templates``."""
    n = 10 if bench.quick else 20
    exe = bpdiagram_exe()
    rows = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import click' (for reference)": [sys.executable, "-c", "import click"],
        "bpdiagram --help": [*exe, "--help"],
        "bpdiagram templates": [*exe, "templates"],
    }
    times = {name: subprocess_median(cmd, n) for name, cmd in rows.items()}
    bare, bare_cpu = times["python -c pass"]
    bench.results["startup"] = {name: {"seconds": t, "x_python": t / bare, "cpu_seconds": c,
                                       "cpu_x_python": c / bare_cpu} for name, (t, c) in times.items()}
    bench.say(f"Start-up (median of {n} runs)                        ms  × pass   cpu ms  × pass")
    for name, (t, c) in times.items():
        bench.say(f"  {name:<44} {t * 1000:7.1f}  {t / bare:5.2f}  {c * 1000:7.1f}  {c / bare_cpu:5.2f}")
    bench.say()


def measure_cli(bench: Bench, dot_default: tuple[float, float]) -> None:
    """The CLI end to end on the default template, against python start-up + dot alone."""
    n = 3 if bench.quick else 7
    bare = bench.results["startup"]["python -c pass"]
    with tempfile.TemporaryDirectory() as out:
        cmd = [*bpdiagram_exe(), "render", "-f", ",".join(WRITERS), "--force", "-o", out]
        t, c = subprocess_median(cmd, n)
    imports, imports_cpu = subprocess_median([sys.executable, "-c", RENDER_IMPORTS], n)
    floor, floor_cpu = bare["seconds"] + dot_default[0], bare["cpu_seconds"] + dot_default[1]
    bench.results["default_cli"] = {"command": "bpdiagram render -f svg,png,graphml --force -o DIR",
                                    "seconds": t, "floor_seconds": floor, "x_floor": t / floor,
                                    "cpu_seconds": c, "floor_cpu_seconds": floor_cpu, "cpu_x_floor": c / floor_cpu,
                                    "startup_and_imports_seconds": imports, "startup_and_imports_cpu": imports_cpu}
    bench.say(f"Default template end to end (median of {n} runs)            ms  × floor   cpu ms  × floor")
    bench.say(f"  bpdiagram render -f svg,png,graphml          {t * 1000:7.1f}  {t / floor:5.2f}  {c * 1000:7.1f}"
              f"  {c / floor_cpu:5.2f}")
    bench.say(f"  floor: python -c pass + dot -Tjson           {floor * 1000:7.1f}  {1:5.2f}  {floor_cpu * 1000:7.1f}"
              f"  {1:5.2f}")
    bench.say(f"  start-up and imports of render alone         {imports * 1000:7.1f}  {imports / floor:5.2f}"
              f"  {imports_cpu * 1000:7.1f}  {imports_cpu / floor_cpu:5.2f}")
    bench.say()


def measure_watch(bench: Bench) -> None:
    """``bpdiagram watch``: a rebuild of the default template after a save, against a cold ``render``.

    In-process: the ``Watcher`` a watch process runs, rebuilding after each
    change of the spec text (median of several saves), its wall and CPU time.
    End to end: a real ``bpdiagram watch`` process; the time from writing the
    spec to its ``rendered:`` line (change notice, debounce, rebuild, files).
    The cold render is ``default_cli`` (same template, same three formats).
    """
    from bpdiagram.render_job import Options, Source
    from bpdiagram.template_files import template_path
    from bpdiagram.watcher import Watcher

    n = 3 if bench.quick else 7
    text = template_path(DEFAULT_TEMPLATE).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / f"{DEFAULT_TEMPLATE}.yaml"
        spec.write_text(text, encoding="utf-8")
        watcher = Watcher([Source(spec, spec.stem)], Options(formats=WRITERS), Path(tmp) / "out",
                          echo=lambda line: None, fail=lambda line: None)
        watcher.build_all()  # the first build of a watch session

        def rebuild(i: int) -> tuple[float, float]:
            spec.write_text(f"# save {i}\n{text}", encoding="utf-8")
            cpu, start = cpu_seconds(), time.perf_counter()
            assert watcher.build(watcher.sources[0])
            return time.perf_counter() - start, cpu_seconds() - cpu

        runs = [rebuild(i) for i in range(n)]
        latency = _watch_latency(spec, Path(tmp) / "live", text, n)
    t, c = statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
    cold = bench.results["default_cli"]
    bench.results["watch"] = {"rebuild_seconds": t, "rebuild_cpu_seconds": c,
                              "x_cold_render": t / cold["seconds"], "cpu_x_cold_render": c / cold["cpu_seconds"],
                              "save_to_rendered_seconds": latency}
    bench.say(f"bpdiagram watch, default template, svg,png,graphml (median of {n} saves)   ms  × cold   cpu ms  × cold")
    bench.say(f"  rebuild inside watch                          {t * 1000:7.1f}  {t / cold['seconds']:5.2f}"
              f"  {c * 1000:7.1f}  {c / cold['cpu_seconds']:5.2f}")
    bench.say(f"  cold: bpdiagram render (above)                {cold['seconds'] * 1000:7.1f}  {1:5.2f}"
              f"  {cold['cpu_seconds'] * 1000:7.1f}  {1:5.2f}")
    shown = f"{latency * 1000:7.1f}" if latency is not None else "    n/a"
    bench.say(f"  save → 'rendered:' line of a watch process    {shown}")
    bench.say()


START_TIMEOUT = 120.0


def _rendered_line(proc: subprocess.Popen[str], timeout: float) -> bool:
    """Whether ``proc`` prints a ``rendered:`` line within ``timeout`` seconds."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return bool(ready) and proc.stdout.readline().startswith("rendered:")


def _watch_latency(spec: Path, out: Path, text: str, n: int) -> float | None:
    """Median seconds from a save to the ``rendered:`` line of a real ``bpdiagram watch`` (None if it fails)."""
    proc = subprocess.Popen([*bpdiagram_exe(), "watch", str(spec), "-o", str(out), "-f", ",".join(WRITERS)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    try:
        if not _rendered_line(proc, START_TIMEOUT):
            return None
        time.sleep(1.0)  # the watch starts once the first build is reported
        times = []
        for i in range(n):
            start = time.perf_counter()
            spec.write_text(f"# live {i}\n{text}", encoding="utf-8")
            if not _rendered_line(proc, 30.0):
                return None
            times.append(time.perf_counter() - start)
            time.sleep(0.3)
        return statistics.median(times)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure_network(bench: Bench, net: Network, skip_alternatives: dict[str, str]) -> dict[str, Any]:
    """bpdiagram, the floor and the alternatives on one network."""
    row: dict[str, Any] = {"name": net.name, "sizes": list(net.sizes), "sweep": net.sweep}
    failed: dict[str, str] = {}
    try:
        stages, runs = repeated(functools.partial(bpdiagram_once, net, failed), bench.repeats)
    except SpecError as exc:  # beyond a limit (tools/limits.py sets them from measurements): refused, with why
        row["bpdiagram"] = {"skipped": f"{REFUSED}: {exc.reason}"[:160], "error": str(exc)}
    else:
        nodes = stages.pop("nodes")
        row["nodes"] = int(nodes)
        complete = all(f in stages for f in WRITERS)
        row["bpdiagram"] = {**stages, "runs": runs, "in_process_svg": in_process(stages), "failed": failed,
                            "all_writers": stages["build"] + stages["layout"] + sum(stages[f] for f in WRITERS)
                            if complete else None}
        model = net.diagram().model
        if model.view == "vectorized":  # the only view graphviz lays out: dot's own time is part of its floor
            source = dot_source(model).encode("utf-8")
            dot_runs = 2 * bench.repeats if stages["layout"] < 2 else runs  # cheap when small: more runs, less noise
            row["dot_json"], row["dot_json_cpu"] = subprocess_median(["dot", "-Tjson"], dot_runs, data=source)
        else:  # the element-wise grid places everything itself: no dot run to take out (and none to time)
            row["dot_json"] = row["dot_json_cpu"] = None
    for alt, once, available in (("micrograd", micrograd_once, True),
                                 ("torchviz", torchviz_once, torchviz_available())):
        key = f"{alt}:{net.sweep}"
        if not available:
            row[alt] = {"skipped": "torch and torchviz are not importable (not installed by this project)"}
        elif key in skip_alternatives:
            row[alt] = {"skipped": skip_alternatives[key]}
        else:
            try:
                alt_stages, alt_runs = repeated(functools.partial(once, net, bench.timeout), bench.repeats)
            except subprocess.TimeoutExpired:
                row[alt] = {"skipped": f"dot -Tsvg ran over {bench.timeout:.0f} s"}
                skip_alternatives[key] = f"a smaller network ran over {bench.timeout:.0f} s"
            else:
                alt_stages["nodes"] = int(alt_stages["nodes"])
                row[alt] = {**alt_stages, "runs": alt_runs}
                if alt_stages["total"] > ALTERNATIVE_BUDGET and net.sweep is not None:
                    skip_alternatives[key] = f"a smaller network took over {ALTERNATIVE_BUDGET:.0f} s"
    bp = row["bpdiagram"].get("in_process_svg")
    own = row["bpdiagram"]["cpu"] - (row["dot_json_cpu"] or 0.0) if bp is not None else None
    row["ratios"] = {
        "bpdiagram_per_dot_json": ratio(bp, row.get("dot_json")),
        "bpdiagram_per_micrograd": ratio(bp, row["micrograd"].get("total")),
        "bpdiagram_per_micrograd_cpu": ratio(row["bpdiagram"].get("cpu"), row["micrograd"].get("cpu")),
        "bpdiagram_per_torchviz": ratio(bp, row["torchviz"].get("total")),
        "ms_per_node": ratio(bp, row.get("nodes", 0) / 1000),
        "own": own,
        "own_ms_per_node": ratio(own, row.get("nodes", 0) / 1000),
    }
    return row


def _ms(value: float | None, width: int = 7) -> str:
    return f"{value * 1000:{width}.0f}" if value is not None else f"{'–':>{width}}"


def _x(value: float | None, width: int = 6) -> str:
    return f"{value:{width}.2f}" if value is not None else f"{'–':>{width}}"


def print_networks(bench: Bench, rows: list[dict[str, Any]]) -> None:
    """The per-network table: bpdiagram's stages, dot alone, the alternatives and the ratios."""
    bench.say("Per network, in-process, median ms. bp = build + layout + svg (a vectorized layout runs dot once; the")
    bench.say("element-wise grid none), png and gml on the same scene; dot = dot -Tjson alone on bpdiagram's DOT;")
    bench.say("own = CPU time of bp − CPU time of dot,")
    bench.say("i.e. bpdiagram's own work (CPU time leaves out waiting for a core, which wall-clock time counts)")
    bench.say(f"{'network':<26}{'nodes':>6}{'build':>7}{'layout':>7}{'svg':>7}{'png':>7}{'gml':>7}{'bp':>7}"
              f"{'dot':>7}{'bp/dot':>7}{'own':>7}{'own/node':>9}  │{'micrograd nodes':>16}{'ms':>8}{'bp/mg':>7}"
              f"  │{'torchviz':>9}{'bp/tv':>7}")
    for row in rows:
        bp = row["bpdiagram"]
        mg, tv, r = row["micrograd"], row["torchviz"], row["ratios"]
        mg_part = f"{mg['nodes']:>16}{_ms(mg['total'], 8)}" if "total" in mg else f"{'–':>16}{'–':>8}"
        tv_part = _ms(tv.get("total"), 9)
        if "skipped" in bp:
            ours = f"{'(refused: see the note below)':>69}"
        else:
            ours = (f"{row['nodes']:>6}{_ms(bp['build'])}{_ms(bp['layout'])}{_ms(bp['svg'])}{_ms(bp.get('png'))}"
                    f"{_ms(bp.get('graphml'))}{_ms(bp['in_process_svg'])}{_ms(row['dot_json'])}"
                    f"{_x(r['bpdiagram_per_dot_json'], 7)}{_ms(r['own'])}{_x(r['own_ms_per_node'], 9)}")
        bench.say(f"{row['name']:<26}{ours}  │{mg_part}{_x(r['bpdiagram_per_micrograd'], 7)}"
                  f"  │{tv_part}{_x(r['bpdiagram_per_torchviz'], 7)}")
    skipped: dict[str, list[str]] = {}
    for row in rows:
        for what in ("bpdiagram", "micrograd", "torchviz"):
            if "skipped" in row[what]:
                reason = row[what]["skipped"]
                skipped.setdefault(reason if what == "bpdiagram" else f"{what} skipped: {reason}",
                                   []).append(row["name"])
    for reason, names in skipped.items():
        bench.say(f"  note: {', '.join(names)}: {reason}")
    for row in rows:
        for fmt, error in row["bpdiagram"].get("failed", {}).items():
            bench.say(f"  note: {row['name']}: {fmt} failed: {error[:150]}")
    bench.say()


def sweeps(bench: Bench, rows: list[dict[str, Any]]) -> None:
    """Growth exponents of each sweep: bpdiagram (bp, layout, all writers), dot alone, the alternatives."""
    out: dict[str, Any] = {}
    bench.say("Growth exponent of time against node count (log-log least squares; 1 = linear)")
    for sweep in dict.fromkeys(r["sweep"] for r in rows if r["sweep"]):
        members = [r for r in rows if r["sweep"] == sweep]
        drawn = [r for r in members if "nodes" in r]

        def fit(get: Callable[[dict[str, Any]], tuple[float, float] | None],
                members: list[dict[str, Any]] = members) -> float | None:
            return growth_exponent(p for p in (get(r) for r in members) if p is not None)

        exps = {
            "bpdiagram (build+layout+svg)": fit(lambda r: (r["nodes"], r["bpdiagram"]["in_process_svg"])
                                                if "nodes" in r else None),
            "bpdiagram bp, CPU time": fit(lambda r: (r["nodes"], r["bpdiagram"]["cpu"]) if "nodes" in r else None),
            "bpdiagram own (CPU, dot's taken out)": fit(lambda r: (r["nodes"], r["ratios"]["own"])
                                                        if "nodes" in r else None),
            "bpdiagram layout": fit(lambda r: (r["nodes"], r["bpdiagram"]["layout"]) if "nodes" in r else None),
            "bpdiagram all writers": fit(lambda r: (r["nodes"], r["bpdiagram"]["all_writers"])
                                         if "nodes" in r and r["bpdiagram"]["all_writers"] else None),
            "dot -Tjson alone": fit(lambda r: (r["nodes"], r["dot_json"]) if r.get("dot_json") else None),
            "dot -Tjson alone, CPU time": fit(lambda r: (r["nodes"], r["dot_json_cpu"]) if r.get("dot_json_cpu")
                                              else None),
            "micrograd (its own node count)": fit(lambda r: (r["micrograd"]["nodes"], r["micrograd"]["total"])
                                                  if "total" in r["micrograd"] else None),
            "torchviz (its own node count)": fit(lambda r: (r["torchviz"]["nodes"], r["torchviz"]["total"])
                                                 if "total" in r["torchviz"] else None),
        }
        out[sweep] = {"exponents": exps, "points": len(drawn),
                      "ms_per_node": [r["ratios"]["ms_per_node"] for r in drawn],
                      "own_ms_per_node": [r["ratios"]["own_ms_per_node"] for r in drawn]}
        bench.say(f"  {sweep} ({len(drawn)} of {len(members)} sizes drawn by bpdiagram)")
        for what, e in exps.items():
            bench.say(f"    {what:<38} {'–' if e is None else f'{e:.2f}'}")
        if drawn:
            for label, key in (("bp", "ms_per_node"), ("own (CPU)", "own_ms_per_node")):
                per_node = ", ".join(f"{r['ratios'][key]:.2f}" for r in drawn)
                bench.say(f"    {'bpdiagram ' + label + ' ms per node':<38} {per_node}")
    bench.results["sweeps"] = out
    bench.say()


def aims(bench: Bench, rows: list[dict[str, Any]]) -> None:
    """Issue 8's aims, each met, not met, or not measurable in this build."""
    res = bench.results
    by_name = {r["name"]: r for r in rows}
    checks: list[tuple[str, bool | None, str]] = []
    for cmd in ("bpdiagram --help", "bpdiagram templates"):
        x, xc = res["startup"][cmd]["x_python"], res["startup"][cmd]["cpu_x_python"]
        checks.append((f"{cmd} under 2× python start-up", x < 2, f"{x:.2f}× (CPU time {xc:.2f}×)"))
    cli = res["default_cli"]
    checks.append(("default template end to end within 2× floor", cli["x_floor"] <= 2,
                   f"{cli['x_floor']:.2f}× (CPU time {cli['cpu_x_floor']:.2f}×)"))
    deep = by_name.get("vectorized depth 128")
    if deep is not None:
        ok = "nodes" in deep and all(deep["bpdiagram"].get(f) is not None for f in WRITERS)
        checks.append(("128-layer vectorized diagram renders (svg, png, graphml)", ok,
                       f"{deep.get('nodes', 0)} nodes"))
    depth = res["sweeps"].get("vectorized depth", {}).get("exponents", {})
    e = depth.get("bpdiagram (build+layout+svg)")
    cpu, own = depth.get("bpdiagram bp, CPU time"), depth.get("bpdiagram own (CPU, dot's taken out)")
    checks.append(("in-process time per node flat across the depth sweep (exponent ≤ 1.1)",
                   None if e is None else e <= 1.1,
                   "–" if e is None else f"exponent {e:.2f} (CPU time {_x(cpu, 0)}, without dot {_x(own, 0)})"))
    mid = by_name.get("element-wise 16-16-16-1")
    if mid is None or "nodes" not in mid:
        checks.append(("element-wise 16-16-16-1 in ≤ ½ the micrograd time", None, "no element-wise 16-16-16-1 row"))
    else:
        r = mid["ratios"]["bpdiagram_per_micrograd"]
        checks.append(("element-wise 16-16-16-1 in ≤ ½ the micrograd time", None if r is None else r <= 0.5,
                       "–" if r is None else f"{r:.2f}×"))
    e = res["sweeps"].get("element-wise", {}).get("exponents", {}).get("bpdiagram (build+layout+svg)")
    checks.append(("element-wise growth exponent ≤ 1.3", None if e is None else e <= 1.3,
                   "fewer than two element-wise sizes drawn" if e is None else f"{e:.2f}"))
    res["aims"] = [{"aim": a, "met": m, "value": v} for a, m, v in checks]
    bench.say("Aims: start-up and layout")
    for aim, met, value in checks:
        verdict = "met" if met else "not measured" if met is None else "NOT met"
        bench.say(f"  {verdict:<13} {aim}: {value}")


# -- issue 16: the fixed cost of a render, PNG's share, torchview ---------------------------------------------

TORCH_ENV = HERE / ".venv-torch"
"""The benchmark's own environment for torch and torchview (never the project's .venv); made on a full run."""
TORCH_PACKAGES = ("torch==2.13.0", "numpy", "torchview")
ELEMENTWISE_TEMPLATE = "three-layer-elementwise"
TORCHVIEW_SCRIPT = """
import json, resource, sys, time
depth, width = int(sys.argv[1]), int(sys.argv[2])
import torch
from torchview import draw_graph
def cpu():
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + c.ru_utime + c.ru_stime
runs = []
for _ in range(int(sys.argv[3])):
    c0, t0 = cpu(), time.perf_counter()
    torch.manual_seed(0)
    mods = []
    for i in range(depth):
        mods += [torch.nn.Linear(width, width), torch.nn.Sigmoid() if i == depth - 1 else torch.nn.Tanh()]
    graph = draw_graph(torch.nn.Sequential(*mods), input_size=(4, width), graph_name="mlp")
    svg = graph.visual_graph.pipe(format="svg")
    runs.append((time.perf_counter() - t0, cpu() - c0, svg.count(b'class="node"')))
print(json.dumps(runs))
"""
"""torchview's whole drawing of the vectorized network (model, trace, graph, dot -Tsvg), timed in its own process."""


def torch_python(install: bool) -> tuple[Path | None, str]:
    """The torch environment's interpreter, made with ``pip`` when ``install`` and missing; else why not."""
    python = TORCH_ENV / "bin" / "python"
    check = [str(python), "-c", "import torch, torchview"]
    if python.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return python, ""
    if not install:
        return None, f"torch and torchview are not in {TORCH_ENV.name} (a full run installs them; --no-torch skips)"
    print(f"  … installing {' '.join(TORCH_PACKAGES)} into {TORCH_ENV}", file=sys.stderr, flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(TORCH_ENV)], check=True, capture_output=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *TORCH_PACKAGES], check=True, capture_output=True,
                       timeout=1800)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        return None, f"installing torch and torchview failed: {str(exc)[:120]}"
    ok = subprocess.run(check, capture_output=True, check=False).returncode == 0
    return (python, "") if ok else (None, "torch and torchview do not import after installing them")


def measure_torchview(bench: Bench, net: Network, install: bool) -> dict[str, Any]:
    """torchview's drawing of ``net`` (median of a few runs in one process, after a warm-up), or why it is skipped."""
    python, why = torch_python(install)
    if python is None:
        return {"skipped": why}
    n = 2 if bench.quick else 3
    proc = subprocess.run([str(python), "-c", TORCHVIEW_SCRIPT, str(len(net.sizes) - 1), str(net.sizes[0]),
                           str(n + 1)], capture_output=True, text=True, check=False, timeout=1800)
    if proc.returncode != 0:
        return {"skipped": f"torchview failed: {proc.stderr.strip().splitlines()[-1][:120] if proc.stderr else ''}"}
    runs = json.loads(proc.stdout.strip().splitlines()[-1])[1:]
    return {"seconds": statistics.median(r[0] for r in runs), "cpu_seconds": statistics.median(r[1] for r in runs),
            "nodes": runs[0][2], "runs": len(runs)}


def measure_render_costs(bench: Bench) -> None:
    """The CLI's fixed costs: networkx's import against an svg render; what PNG adds to the element-wise template."""
    n = 3 if bench.quick else 7
    with tempfile.TemporaryDirectory() as out:
        render = [*bpdiagram_exe(), "render", "--force", "-o", out]
        runs = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import networkx'": [sys.executable, "-c", "import networkx"],
            f"render {DEFAULT_TEMPLATE} -f svg": [*render, "-f", "svg"],
            f"render {DEFAULT_TEMPLATE} -f png": [*render, "-f", "png"],
            f"render {ELEMENTWISE_TEMPLATE} -f svg": [*render, "-t", ELEMENTWISE_TEMPLATE, "-f", "svg"],
            f"render {ELEMENTWISE_TEMPLATE} -f svg,png": [*render, "-t", ELEMENTWISE_TEMPLATE, "-f", "svg,png"],
        }
        times = {name: subprocess_median(cmd, n) for name, cmd in runs.items()}
    res: dict[str, Any] = {name: {"seconds": t, "cpu_seconds": c} for name, (t, c) in times.items()}
    bare = times["python -c pass"]
    nx_cost = tuple(times["python -c 'import networkx'"][i] - bare[i] for i in (0, 1))
    svg = times[f"render {DEFAULT_TEMPLATE} -f svg"]
    es, ep = times[f"render {ELEMENTWISE_TEMPLATE} -f svg"], times[f"render {ELEMENTWISE_TEMPLATE} -f svg,png"]
    res["networkx_share_of_svg_render"] = nx_cost[0] / svg[0]
    res["networkx_share_of_svg_render_cpu"] = nx_cost[1] / svg[1]
    res["networkx_on_render_path"] = networkx_on_render_path()
    res["png_cost_per_svg"] = (ep[0] - es[0]) / es[0]
    res["png_cost_per_svg_cpu"] = (ep[1] - es[1]) / es[1]
    bench.results["render_costs"] = res
    bench.say(f"Fixed costs of the CLI (median of {n} runs; cpu = this process's children)        ms   cpu ms")
    for name, (t, c) in times.items():
        bench.say(f"  {name:<70} {t * 1000:7.1f}  {c * 1000:7.1f}")
    bench.say(f"  networkx's import (minus python -c pass; no render pays it) ÷ render -f svg: "
              f"{res['networkx_share_of_svg_render']:5.0%} (CPU {res['networkx_share_of_svg_render_cpu']:.0%})")
    bench.say(f"  networkx imported by a render in every format and view:                "
              f"{'yes' if res['networkx_on_render_path'] else 'no'}")
    bench.say(f"  adding png to {ELEMENTWISE_TEMPLATE} costs × its svg-only render:   "
              f"{res['png_cost_per_svg']:5.2f} (CPU {res['png_cost_per_svg_cpu']:.2f})")
    bench.say()


def networkx_on_render_path() -> bool:
    """Whether rendering every format of the three views (graphviz's, the grid's, the mirror's) imports networkx.

    The typed model is all the layout and the writers read, so a render should not pay for networkx's import;
    ``Diagram.graph`` (the model for scripts) is the only thing that loads it.
    """
    code = ("import sys, bpdiagram\n"
            f"for name in ({DEFAULT_TEMPLATE!r}, {ELEMENTWISE_TEMPLATE!r}, 'expression-sigmoid-neuron'):\n"
            "    d = bpdiagram.template(name)\n"
            "    for fmt in ('svg', 'png', 'graphml', 'pdf', 'html', 'dot', 'drawio'): d.render(fmt)\n"
            "print('networkx' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    return out.stdout.strip() == "True"


def deepest_vectorized(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The deepest vectorized network of this run that bpdiagram drew (128 layers; 32 with --quick)."""
    drawn = [r for r in rows if r["sweep"] == "vectorized depth" and "nodes" in r]
    return max(drawn, key=lambda r: len(r["sizes"])) if drawn else None


def measure_torchview_row(bench: Bench, rows: list[dict[str, Any]], install: bool) -> None:
    """torchview on the deepest vectorized network, against bpdiagram's in-process layout of it."""
    row = deepest_vectorized(rows)
    if row is None:
        bench.results["torchview"] = {"skipped": "no vectorized network in this run"}
        return
    net = Network(row["name"], tuple(row["sizes"]), sweep=row["sweep"])
    tv = measure_torchview(bench, net, install)
    tv["network"] = row["name"]
    bench.results["torchview"] = tv
    bench.say(f"torchview's whole drawing of {row['name']} (torch model, trace, graph, dot -Tsvg)")
    if "skipped" in tv:
        bench.say(f"  skipped: {tv['skipped']}")
    else:
        bp = row["bpdiagram"]
        tv["layout_cpu_x_torchview"] = bp["build_layout_cpu"] / tv["cpu_seconds"]
        tv["layout_x_torchview"] = (bp["build"] + bp["layout"]) / tv["seconds"]
        bench.say(f"  torchview {tv['nodes']} nodes: CPU {tv['cpu_seconds'] * 1000:.0f} ms (dot included), "
                  f"wall {tv['seconds'] * 1000:.0f} ms")
        bench.say(f"  bpdiagram {row['nodes']} nodes, build + layout: CPU {bp['build_layout_cpu'] * 1000:.0f} ms "
                  f"(dot included) = {tv['layout_cpu_x_torchview']:.2f}× torchview's; wall "
                  f"{(bp['build'] + bp['layout']) * 1000:.0f} ms = {tv['layout_x_torchview']:.2f}×")
    bench.say()


def aims_issue16(bench: Bench, rows: list[dict[str, Any]]) -> None:
    """Issue 16's aims, each met, NOT met or skipped (with why), from this one run.

    Each is judged on CPU time (this process and its children: the machine is
    shared, and CPU time leaves out waiting for a core); wall time is shown too.
    """
    res = bench.results
    by_name = {r["name"]: r for r in rows}
    checks: list[tuple[str, bool | None, str]] = []
    cli = res["default_cli"]
    checks.append(("default template end to end within 5× its floor", cli["cpu_x_floor"] <= 5,
                   f"CPU {cli['cpu_x_floor']:.2f}× (wall {cli['x_floor']:.2f}×)"))
    mid = by_name.get("element-wise 16-16-16-1")
    r = mid["ratios"].get("bpdiagram_per_micrograd_cpu") if mid is not None else None
    checks.append(("element-wise 16-16-16-1 (svg) in ≤ ½ the micrograd-style time", None if r is None else r <= 0.5,
                   "not measured: no element-wise 16-16-16-1 row" if r is None or mid is None else
                   f"CPU {r:.3f}× (wall {_x(mid['ratios']['bpdiagram_per_micrograd'], 0)}×)"))
    costs = res.get("render_costs", {})
    pc = costs.get("png_cost_per_svg_cpu")
    checks.append((f"adding png to {ELEMENTWISE_TEMPLATE} costs ≤ ½ its svg-only render",
                   None if pc is None else pc <= 0.5,
                   "not measured" if pc is None else f"CPU {pc:.2f}× (wall {costs['png_cost_per_svg']:.2f}×)"))
    tv = res.get("torchview", {})
    x = tv.get("layout_cpu_x_torchview")
    checks.append((f"{tv.get('network', 'deepest vectorized network')} layout within 3× torchview's drawing",
                   None if x is None else x <= 3,
                   f"skipped: {tv.get('skipped', '')}" if x is None else
                   f"CPU {x:.2f}× (wall {tv['layout_x_torchview']:.2f}×)"))
    res["aims_issue16"] = [{"aim": a, "met": m, "value": v} for a, m, v in checks]
    bench.say()
    bench.say("Aims: end to end")
    for aim, met, value in checks:
        verdict = "met" if met else "skipped" if met is None and value.startswith("skipped") else \
            "not measured" if met is None else "NOT met"
        bench.say(f"  {verdict:<13} {aim}: {value}")


# -- issue 30: measured as users run it ----------------------------------------------------------------------

ISSUE30_FORMATS = ("svg", "png", "graphml", "pdf", "html", "dot", "drawio")
"""Every output format: what "in every format" renders (``bpdiagram.writers.formats()`` when this was written)."""
BUDGET = 10.0
"""Seconds: the most a network at a documented limit may take, every format at once."""


def measured_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a measured process: this one's without PYTHONDONTWRITEBYTECODE.

    An installed wheel's modules are byte-compiled; with that variable set (as
    this machine sets it) Python neither reads nor writes ``__pycache__`` and
    every run would recompile bpdiagram, a cost no user pays.
    """
    out = dict(os.environ if env is None else env)
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    return out


def compile_bytecode() -> list[str]:
    """Byte-compile bpdiagram and the venv's packages into their usual ``__pycache__``; the folders compiled."""
    import sysconfig

    folders = [str(Path(bpdiagram.__file__).parent), sysconfig.get_paths()["purelib"]]
    for folder in dict.fromkeys(folders):
        compileall.compile_dir(folder, quiet=2)  # quiet=2: files for a newer Python (torch ships some) fail silently
    return list(dict.fromkeys(folders))


Command = tuple[Sequence[str], bytes | None]
"""A measured process: its argv and what it reads on stdin."""


def alternated(cmds: dict[str, Command], rounds: int, env: dict[str, str]) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds of each command, run in turn round after round (after one warm-up each).

    Alternating puts every command under the same drift of the machine's load,
    so their ratios hold even while other work comes and goes.
    """
    for cmd, data in cmds.values():
        run_quiet(cmd, data=data, env=env)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
    for _ in range(rounds):
        for name, (cmd, data) in cmds.items():
            runs[name].append(run_quiet(cmd, data=data, env=env))
    return {name: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r))
            for name, r in runs.items()}


def verdict(met: bool | None, value: str = "") -> str:
    """How an aim is shown: met, NOT met, absent (what it measures is not in this build) or not measured."""
    if met is None:
        return "absent" if value.startswith("absent:") else "not measured"
    return "met" if met else "NOT met"


def render_every_format(spec: dict[str, Any], env: dict[str, str]) -> tuple[float, float] | str:
    """Wall and CPU seconds of one ``bpdiagram render`` of ``spec`` in every format, or the error it gave."""
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "net.yaml"
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        cmd = [*bpdiagram_exe(), "render", str(path), "-f", ",".join(ISSUE30_FORMATS), "--force",
               "-o", str(Path(tmp) / "out")]
        cpu, start = cpu_seconds(), time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, timeout=600)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            return (proc.stderr.strip().splitlines() or ["failed"])[-1][:160]
        return wall, cpu_seconds() - cpu


def elementwise_in_process(sizes: tuple[int, ...]) -> tuple[float, float] | str:
    """Graph nodes and CPU seconds of one in-process build + layout + svg of the element-wise view, or the refusal."""
    net = Network("-".join(map(str, sizes)), sizes, elementwise=True)
    cpu = cpu_seconds()
    try:
        d = net.diagram()
        nodes = d.graph.number_of_nodes()
        get_writer("svg").render(d.layout)
    except SpecError as exc:
        return str(exc)[:160]
    return float(nodes), cpu_seconds() - cpu


def measure_issue30(bench: Bench) -> None:
    """Issue 30's aims from one run, each with its verdict, judged on CPU time (wall time shown beside).

    The measured processes run with bytecode compiled and without
    PYTHONDONTWRITEBYTECODE (``measured_env``), as an installed package runs;
    the floor is the same interpreter's bare start-up plus ``dot -Tjson`` on
    bpdiagram's own DOT for the default template; the CLI commands are
    alternated round by round (``alternated``).
    """
    env = measured_env()
    rounds = 5 if bench.quick else 9
    exe = bpdiagram_exe()
    source = dot_source(Diagram.template(DEFAULT_TEMPLATE).model).encode("utf-8")
    with tempfile.TemporaryDirectory() as out:
        render = [*exe, "render", "--force", "-o", out]
        cmds: dict[str, Command] = {
            "python -c pass": ([sys.executable, "-c", "pass"], None),
            "dot -Tjson (default template's DOT)": (["dot", "-Tjson"], source),
            "bpdiagram --help": ([*exe, "--help"], None),
            f"render {DEFAULT_TEMPLATE} -f svg": ([*render, "-f", "svg"], None),
            f"render {DEFAULT_TEMPLATE} -f svg,png,graphml": ([*render, "-f", ",".join(WRITERS)], None),
        }
        times = alternated(cmds, rounds, env)
    bare, dot = times["python -c pass"], times["dot -Tjson (default template's DOT)"]
    floor = (bare[0] + dot[0], bare[1] + dot[1])
    res: dict[str, Any] = {"rounds": rounds, "bytecode": "compiled; PYTHONDONTWRITEBYTECODE unset",
                           "commands": {n: {"seconds": w, "cpu_seconds": c} for n, (w, c) in times.items()},
                           "floor": {"seconds": floor[0], "cpu_seconds": floor[1]}}
    bench.say(f"Measured as users run it: bytecode compiled, PYTHONDONTWRITEBYTECODE unset, "
              f"medians of {rounds} alternated rounds")
    bench.say(f"  {'command':<52} {'ms':>7} {'× floor':>8} {'cpu ms':>8} {'× floor':>8}")
    for name, (w, c) in [*times.items(), ("floor: python -c pass + dot -Tjson", floor)]:
        bench.say(f"  {name:<52} {w * 1000:7.1f} {w / floor[0]:8.2f} {c * 1000:8.1f} {c / floor[1]:8.2f}")
    checks: list[tuple[str, bool | None, str]] = []

    def against(name: str, base: tuple[float, float], limit: float, aim: str) -> None:
        w, c = times[name]
        checks.append((aim, c / base[1] <= limit, f"CPU {c / base[1]:.2f}× (wall {w / base[0]:.2f}×)"))

    against(f"render {DEFAULT_TEMPLATE} -f svg", floor, 2.5, "default template -f svg ≤ 2.5× its floor")
    against(f"render {DEFAULT_TEMPLATE} -f svg,png,graphml", floor, 4.0,
            "default template -f svg,png,graphml ≤ 4× its floor")
    against("bpdiagram --help", bare, 1.5, "bpdiagram --help ≤ 1.5× a bare start-up")
    big: dict[str, Any] = {}
    for label, spec in (("256 vectorized layers", Network("256 layers", (8,) * 257).spec()),
                        ("element-wise 32-32-32-1", Network("32-32-32-1", (32, 32, 32, 1), elementwise=True).spec())):
        got = render_every_format(spec, env)
        big[label] = got if isinstance(got, str) else {"seconds": got[0], "cpu_seconds": got[1]}
        checks.append((f"{label} in every format < {BUDGET:.0f} s", False if isinstance(got, str) else got[1] < BUDGET,
                       f"refused: {got}" if isinstance(got, str) else f"CPU {got[1]:.2f} s (wall {got[0]:.2f} s)"))
    res["every_format"] = big
    sweep = [(4, 4, 4, 1), (8, 8, 8, 1), (16, 16, 16, 1), (24, 24, 24, 1), (32, 32, 32, 1)]
    points = {s: elementwise_in_process(s) for s in (sweep[1:3] if bench.quick else sweep)}
    drawn = [p for p in points.values() if not isinstance(p, str)]
    growth = growth_exponent(drawn)
    largest = max((s for s, p in points.items() if not isinstance(p, str)), key=sum, default=None)
    res["elementwise_growth"] = {"points": {"-".join(map(str, s)): p for s, p in points.items()}, "growth": growth}
    checks.append(("element-wise growth ≤ 1.5 against nodes (in-process build + layout + svg, CPU)",
                   None if growth is None else growth <= 1.5,
                   "fewer than two sizes drawn" if growth is None else
                   f"{growth:.2f} over {len(drawn)} sizes up to {'-'.join(map(str, largest or ()))}"))
    mid = Network("element-wise 16-16-16-1", (16, 16, 16, 1), elementwise=True)
    bp = [elementwise_in_process(mid.sizes) for _ in range(3)]
    mg = [micrograd_once(mid, bench.timeout) for _ in range(3)]
    if any(isinstance(b, str) for b in bp):
        checks.append(("element-wise 16-16-16-1 ≤ ½ micrograd-style draw_dot", False, f"refused: {bp[0]}"))
    else:
        r = statistics.median(b[1] for b in bp if not isinstance(b, str)) / statistics.median(m["cpu"] for m in mg)
        res["elementwise_16_per_micrograd_cpu"] = r
        checks.append(("element-wise 16-16-16-1 (svg) ≤ ½ micrograd-style draw_dot", r <= 0.5, f"CPU {r:.3f}×"))
    expr_growth = expression_growth(EXPRESSION_GATES[::2])
    res["expression_growth"] = expr_growth
    checks.append(("expressions growth ≤ 1.3 against gates (svg + graphml, CPU)",
                   None if expr_growth is None else expr_growth <= 1.3,
                   "–" if expr_growth is None else f"{expr_growth:.2f}"))
    prog_growth = expression_growth(EXPRESSION_GATES[::2], program=True)
    res["program_growth"] = prog_growth
    checks.append(("programs growth ≤ 1.3 against gates (svg + graphml, CPU)",
                   None if prog_growth is None else prog_growth <= 1.3,
                   "–" if prog_growth is None else f"{prog_growth:.2f}"))
    res["aims"] = [{"aim": a, "met": m, "value": v} for a, m, v in checks]
    bench.results["issue30"] = res
    bench.say()
    bench.say("Aims: as installed")
    for aim, met, value in checks:
        bench.say(f"  {verdict(met, value):<13} {aim}: {value}")
    bench.say()


def expression_growth(gate_counts: Sequence[int], *, program: bool = False) -> float | None:
    """Growth of bpdiagram's CPU time (svg + graphml, in process, best of 3) against gates.

    With ``program``, the same computation is written as a staged program, one named line per neuron term and a
    running sum (``t1 = tanh(w1 * x + b1)``, ``u = t1 + t2``, ``u += t3`` ..., ``f = u * s1``),
    as course notes stage it.
    """
    points = []
    for gates in gate_counts:
        expr, values = expression_of(gates)
        spec: dict[str, Any] = {"title": f"{gates} gates", "expression": expr, "values": values}
        if program:
            spec = {"title": f"{gates} gates", "program": program_of(expr), "values": values}
        cpus = []
        for _ in range(3):
            cpu = cpu_seconds()
            scene = Diagram.load(spec, name="expression").layout
            for fmt in ("svg", "graphml"):
                get_writer(fmt).render(scene)
            cpus.append(cpu_seconds() - cpu)
        points.append((float(gates), min(cpus)))
    return growth_exponent(points)


def program_of(expr: str) -> str:
    """``expr`` as a program: the terms of its longest sum as named lines, summed, then the rest of the formula."""
    depth, opened, sums = 0, [-1], []
    for i, ch in enumerate(expr):
        if ch == "(":
            depth += 1
            opened.append(i)
        elif ch == ")":
            depth -= 1
            opened.pop()
        elif expr.startswith(" + ", i):
            sums.append((depth, opened[-1], i))
    groups: dict[int, list[int]] = {}
    for _, group, i in sums:
        groups.setdefault(group, []).append(i)
    start, cuts = max(groups.items(), key=lambda kv: (len(kv[1]), -kv[0]), default=(-1, []))
    if len(cuts) < 2:  # no sum of three terms or more: the formula is one line
        return f"f = {expr}\n"
    end = len(expr) if start < 0 else _closing(expr, start)
    bounds = [start + 1, *(i + 3 for i in cuts)]
    terms = [expr[lo:hi].strip() for lo, hi in zip(bounds, [*cuts, end], strict=True)]
    lines = [f"t{k} = {term}" for k, term in enumerate(terms, start=1)]
    lines += ["u = t1 + t2", *(f"u += t{k}" for k in range(3, len(terms) + 1))]
    rest = expr[:max(start, 0)] + "u" + expr[end + 1 if start >= 0 else end:]
    return "\n".join([*lines, f"f = {rest}" if rest != "u" else "f = u * 1"]) + "\n"


def _closing(expr: str, start: int) -> int:
    """The index of the ``)`` that closes the ``(`` at ``start``."""
    depth = 0
    for i in range(start, len(expr)):
        depth += {"(": 1, ")": -1}.get(expr[i], 0)
        if depth == 0:
            return i
    raise ValueError(f"unbalanced: {expr}")


# -- the expression sweep (issue 11) --------------------------------------------------------------------------

EXPRESSION_GATES = (5, 10, 20, 40, 60)


def expression_of(gates: int) -> tuple[str, dict[str, float]]:
    """A micrograd-style expression of exactly ``gates`` gates, with its values.

    Neuron terms ``tanh(wk * x + bk)`` over two shared inputs (so gradients
    are summed at fan-outs), added up, then scaled by factors to reach the count.
    """
    terms = max(1, (gates + 1) // 4)
    rng = random.Random(gates)
    values: dict[str, float] = {}
    parts = []
    for k in range(1, terms + 1):
        values.setdefault(f"x{1 + k % 2}", 0.5 if k % 2 == 0 else -1.5)
        values[f"w{k}"] = round(rng.uniform(-1, 1), 2)
        values[f"b{k}"] = round(rng.uniform(-1, 1), 2)
        parts.append(f"tanh(w{k} * x{1 + k % 2} + b{k})")
    expr = " + ".join(parts)
    for j in range(1, gates - (4 * terms - 1) + 1):
        values[f"s{j}"] = round(rng.uniform(0.5, 1.5), 2)
        expr = f"({expr}) * s{j}"
    return expr, values


def expression_value(gates: int) -> Value:
    """The same expression as micrograd ``Value`` objects (forward pass included)."""
    _, values = expression_of(gates)
    terms = max(1, (gates + 1) // 4)
    leaf = {k: Value(v, label=k) for k, v in values.items()}
    out: Value | None = None
    for k in range(1, terms + 1):
        term = (leaf[f"w{k}"] * leaf[f"x{1 + k % 2}"] + leaf[f"b{k}"]).tanh()
        out = term if out is None else out + term
    assert out is not None
    for j in range(1, gates - (4 * terms - 1) + 1):
        out = out * leaf[f"s{j}"]
    return out


def measure_expressions(bench: Bench, default_ms: float) -> None:
    """bpdiagram (svg + graphml, in process) against micrograd's draw_dot on the same expression, by gate count."""
    rows = []
    bench.say("Expression sweep: bpdiagram svg + graphml in process vs micrograd-style draw_dot + dot -Tsvg")
    bench.say(f"  {'gates':>5}  {'bp ms':>8}  {'bp CPU ms':>9}  {'micrograd ms':>12}  {'bp/micrograd':>12}"
              f"  {'bp/default':>10}")
    for gates in EXPRESSION_GATES if not bench.quick else EXPRESSION_GATES[:3]:
        expr, values = expression_of(gates)
        spec = {"title": f"{gates} gates", "expression": expr, "values": values}

        def once(spec: dict[str, Any] = spec) -> Stage:
            cpu, start = cpu_seconds(), time.perf_counter()
            d = Diagram.load(spec, name="expression")
            scene = d.layout
            for fmt in ("svg", "graphml"):
                get_writer(fmt).render(scene)
            return {"total": time.perf_counter() - start, "cpu": cpu_seconds() - cpu}

        def micro(gates: int = gates) -> Stage:
            start = time.perf_counter()
            root = expression_value(gates)
            root.backward()
            subprocess.run(["dot", "-Tsvg"], input=draw_dot(root).source.encode("utf-8"),
                           stdout=subprocess.DEVNULL, check=True, timeout=bench.timeout)
            return {"total": time.perf_counter() - start}

        bp, _ = repeated(once, bench.repeats)
        mg, _ = repeated(micro, bench.repeats)
        row = {"gates": gates, "bpdiagram": bp["total"], "bpdiagram_cpu": bp["cpu"], "micrograd": mg["total"],
               "vs_micrograd": bp["total"] / mg["total"], "vs_default": bp["total"] * 1000 / default_ms}
        rows.append(row)
        bench.say(f"  {gates:>5}  {bp['total'] * 1000:>8.0f}  {bp['cpu'] * 1000:>9.0f}  {mg['total'] * 1000:>12.0f}"
                  f"  {row['vs_micrograd']:>12.1f}  {row['vs_default']:>10.1f}")
    growth = growth_exponent((r["gates"], r["bpdiagram_cpu"]) for r in rows)
    bench.say(f"  growth of bpdiagram's CPU time against gates: {'–' if growth is None else f'{growth:.2f}'}"
              " (aim ≤ 1.3); aims: 24 gates within 3× the default template, 60 gates within 6×")
    bench.results["expressions"] = {"rows": rows, "growth": growth}
    bench.say()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table, write results.{txt,json} (results-quick.* with --quick)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller sweeps and fewer repeats (a minute or two)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per fast measurement (default 5, quick 3)")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for results(.txt/.json)")
    parser.add_argument("--no-torch", action="store_true",
                        help="do not install torch and torchview into benchmarks/.venv-torch (a full run does)")
    parser.add_argument("--aims-only", action="store_true",
                        help="only the section measured as users run it and its aims (a few minutes)")
    args = parser.parse_args(argv)
    if shutil.which("dot") is None:
        print("error: the graphviz 'dot' program is needed (make system)", file=sys.stderr)
        return 2
    compiled = compile_bytecode()
    started = time.perf_counter()
    bench = Bench(args.quick, args.repeats or (3 if args.quick else 5), 30.0 if args.quick else DOT_TIMEOUT, {}, [])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    bench.results["machine"] = {
        "date": datetime.date.today().isoformat(), "graphviz": graphviz_version(),
        "python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
        "load_average_at_start": load, "quick": args.quick, "repeats": bench.repeats,
        "bytecode": {"compiled": compiled, "PYTHONDONTWRITEBYTECODE in measured processes": False},
    }
    bench.say(f"bpdiagram {bpdiagram.__version__} benchmark, {bench.results['machine']['date']}"
              f"{' (quick)' if args.quick else ''}: {bench.results['machine']['graphviz']}, "
              f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load:.2f} at start")
    bench.say("bpdiagram and its packages byte-compiled first; measured processes run without "
              "PYTHONDONTWRITEBYTECODE, as an installed package runs")
    bench.say()
    measure_issue30(bench)
    if args.aims_only:
        return finish(bench, args.out, "results-aims", started)
    measure_startup(bench)
    nets = networks(args.quick)
    skip: dict[str, str] = {}
    rows = []
    for net in nets:
        print(f"  … {net.name}", file=sys.stderr, flush=True)
        rows.append(measure_network(bench, net, skip))
    bench.results["networks"] = rows
    measure_cli(bench, (rows[0]["dot_json"], rows[0]["dot_json_cpu"]))
    measure_render_costs(bench)
    measure_watch(bench)
    print_networks(bench, rows)
    measure_torchview_row(bench, rows, install=not args.quick and not args.no_torch)
    sweeps(bench, rows)
    aims(bench, rows)
    default = rows[0]["bpdiagram"]
    measure_expressions(bench, (default.get("layout", 0.0) + default.get("build", 0.0) + default.get("svg", 0.0)
                                + default.get("graphml", 0.0)) * 1000)
    aims_issue16(bench, rows)
    return finish(bench, args.out, "results-quick" if args.quick else "results", started)


def finish(bench: Bench, out: Path, stem: str, started: float) -> int:
    """Print the run's length and write ``stem``.{txt,json} into ``out``."""
    bench.results["seconds"] = time.perf_counter() - started
    bench.say()
    bench.say(f"(whole run: {bench.results['seconds']:.0f} s)")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(bench.results, indent=1, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    (out / f"{stem}.txt").write_text("\n".join(bench.lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
