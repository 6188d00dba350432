"""The one place that runs external programs: graphviz's ``dot`` and librsvg's ``rsvg-convert``.

Everything else builds DOT or SVG text and reads back JSON, PNG or PDF bytes;
only ``run_dot`` and ``run_rsvg`` start a process, so "not installed",
crashes and hangs are handled once, in one module.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from bpdiagram.errors import GraphvizError, RasteriserError

DOT_TIMEOUT = 120.0
"""Seconds before a dot run is abandoned; the largest templates lay out in well under one."""

INSTALL_HINT = "install graphviz (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz)"


def run_dot(source: str, *, timeout: float | None = None) -> dict[str, Any]:
    """Lay out ``source`` with ``dot -Tjson`` and return the parsed JSON (``timeout`` defaults to DOT_TIMEOUT)."""
    timeout = DOT_TIMEOUT if timeout is None else timeout
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizError(f"the graphviz 'dot' program was not found on PATH; {INSTALL_HINT}")
    try:
        proc = subprocess.run([exe, "-Tjson"], input=source.encode("utf-8"), capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise GraphvizError(f"graphviz 'dot' did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise GraphvizError(f"cannot run graphviz 'dot': {exc.strerror or exc}; {INSTALL_HINT}") from None
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = detail[-1] if detail else f"exit status {proc.returncode}"
        raise GraphvizError(f"graphviz 'dot' failed: {reason}")
    try:
        result: dict[str, Any] = json.loads(proc.stdout)
    except ValueError as exc:
        raise GraphvizError(f"graphviz 'dot' gave output that is not JSON: {exc}") from None
    return result


RSVG_TIMEOUT = 300.0
"""Seconds before an rsvg-convert run is abandoned; the largest diagrams rasterise in a few seconds."""

RSVG_INSTALL_HINT = ("install librsvg's rsvg-convert (Debian/Ubuntu: sudo apt-get install librsvg2-bin; "
                     "macOS: brew install librsvg)")


def run_rsvg(svg: bytes, fmt: str, *, size: tuple[int, int] | None = None, timeout: float | None = None) -> bytes:
    """``svg`` converted by ``rsvg-convert`` to ``fmt`` (``png`` or ``pdf``).

    ``size`` is the image's (width, height) in pixels, the SVG scaled to fill
    it; None keeps the SVG's own size. The SVG goes in on standard input and
    the file comes back on standard output; ``--unlimited`` lifts librsvg's
    guard against huge XML documents, which big diagrams' SVGs come near.
    ``timeout`` defaults to RSVG_TIMEOUT.
    """
    if fmt not in ("png", "pdf"):
        raise ValueError(f"rsvg-convert format must be png or pdf, not {fmt!r}")
    timeout = RSVG_TIMEOUT if timeout is None else timeout
    exe = shutil.which("rsvg-convert")
    if exe is None:
        raise RasteriserError(f"the 'rsvg-convert' program (for {fmt.upper()} output) was not found on PATH; "
                              f"{RSVG_INSTALL_HINT}")
    cmd = [exe, "--format", fmt, "--unlimited"]
    if size is not None:
        cmd += ["--width", str(size[0]), "--height", str(size[1])]
    try:
        proc = subprocess.run(cmd, input=svg, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RasteriserError(f"'rsvg-convert' did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise RasteriserError(f"cannot run 'rsvg-convert': {exc.strerror or exc}; {RSVG_INSTALL_HINT}") from None
    if proc.returncode != 0 or not proc.stdout:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = detail[-1] if detail else f"exit status {proc.returncode}"
        raise RasteriserError(f"'rsvg-convert' failed to write the {fmt.upper()}: {reason}")
    return proc.stdout
