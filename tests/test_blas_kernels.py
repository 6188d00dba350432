"""The same files on every CPU: output does not depend on which BLAS kernel numpy picks.

numpy's OpenBLAS chooses a kernel for the CPU it runs on (``OPENBLAS_CORETYPE`` forces one), and kernels
round matrix products differently in the last bits. A course rebuilt on a colleague's laptop must not churn,
so every number printed into an output is kept to at most six significant digits. These tests render the
templates, with the options that print numbers, under three kernels and require byte-identical files.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bpdiagram.options import FORMATS
from bpdiagram.spec import load_spec
from bpdiagram.spec.network import NetworkSpec
from bpdiagram.template_files import template_names, template_path

CANDIDATES = (("SkylakeX", "avx512f"), ("Haswell", "avx2"), ("Sandybridge", "avx"), ("Prescott", None))
"""Kernels an x86-64 OpenBLAS carries (AVX-512, AVX2, AVX, plain SSE3), each with the CPU flag it needs:
a kernel forced on a CPU without its instructions dies of SIGILL, so only the ones this CPU runs are used
(SSE3, which /proc/cpuinfo calls pni, every x86-64 CPU has)."""


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return set()
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()}


_FLAGS = _cpu_flags()
KERNELS = tuple(kernel for kernel, flag in CANDIDATES if flag is None or flag in _FLAGS)[:3]
"""Three kernels this CPU runs, the widest first (AVX-512 or AVX2 round products differently from SSE3)."""

pytestmark = [pytest.mark.graphviz,
              pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                                 reason="OPENBLAS_CORETYPE names x86-64 kernels")]


def _vectorized_networks() -> list[str]:
    """Templates drawn in the vectorized view: the ones that take --gradient-flow and --memory."""
    names = []
    for name in template_names():
        spec = load_spec(template_path(name))
        if isinstance(spec, NetworkSpec) and spec.diagram.view == "vectorized":
            names.append(name)
    return names


def _render(kernel: str, out: Path) -> dict[str, bytes]:
    """Every file the renders below write under ``kernel``, by path relative to ``out``."""
    env = {**os.environ, "OPENBLAS_CORETYPE": kernel}
    every = [a for name in template_names() for a in ("-t", name)]
    networks = [a for name in _vectorized_networks() for a in ("-t", name)]
    runs = [[*every, "--values", "--code", "-f", ",".join(FORMATS), "-o", str(out / "values")],
            [*networks, "--values", "--gradient-flow", "--memory", "-f", "svg,html,drawio,graphml",
             "-o", str(out / "flow")]]
    for args in runs:
        subprocess.run([sys.executable, "-m", "bpdiagram", "render", "-q", *args], env=env, check=True,
                       capture_output=True, timeout=600)
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and ".bpdiagram" not in p.parts}


def test_outputs_are_byte_identical_across_blas_kernels(tmp_path: Path) -> None:
    """SVG, PNG, PDF, GraphML, HTML, DOT and draw.io files do not change with the kernel."""
    with ThreadPoolExecutor(max_workers=len(KERNELS)) as pool:
        first, *others = pool.map(lambda kernel: _render(kernel, tmp_path / kernel), KERNELS)
    assert len(first) > 50
    for kernel, files in zip(KERNELS[1:], others, strict=True):
        assert files.keys() == first.keys()
        differ = [name for name in first if files[name] != first[name]]
        assert differ == [], f"{kernel} differs from {KERNELS[0]} in {differ[:10]}"


def test_the_kernels_really_round_differently_here() -> None:
    """The raw float64 gradient norms do differ between kernels on this machine (else the test above proves
    nothing): the deep template's ‖dW[l]‖ printed in full under each kernel."""
    code = ("from bpdiagram.spec import load_spec; from bpdiagram.template_files import template_path;"
            "from bpdiagram.model.numeric_pass import layer_norms, run;"
            "print([repr(n.dW_norm) for n in layer_norms(run(load_spec(template_path('vanishing-gradients'))))])")
    printed = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "OPENBLAS_CORETYPE": kernel},
                              check=True, capture_output=True, text=True).stdout for kernel in KERNELS}
    assert len(printed) > 1
