"""The one place that runs the graphviz binary.

Everything else builds DOT text and reads JSON; only ``run_dot`` starts a
process, so "graphviz is not installed", crashes and hangs are handled once.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from bpdiagram.errors import GraphvizError

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
