"""examples/quickstart.ipynb runs top to bottom in a real Jupyter kernel and shows the diagrams."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT

pytestmark = pytest.mark.graphviz
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"


def test_quickstart_notebook_runs_and_displays(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]  # nbformat is untyped
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), \
        "commit the notebook without outputs"
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    outputs = [out for cell in code for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    assert "two-layer-binary" in code[0].outputs[0].data["text/plain"]
    shown = code[1].outputs[0].data
    assert 'class="bpdiagram' in shown["text/html"] and "<svg" in shown["image/svg+xml"]
    assert "My network" in code[2].outputs[0].data["image/svg+xml"]
    printed = code[3].outputs[0].data["image/svg+xml"]
    assert 'id="node-dW2"' in printed and 'id="node-dW1"' not in printed  # backprop_to=2
    written = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "figures").rglob("*") if p.is_file())
    assert written == ["figures/my-network.html", "figures/my-network.pdf", "figures/my-network.svg",
                       *(f"figures/slides/my-network-{k}.png" for k in range(1, 5))]
    listed = code[4].outputs[0].data["text/plain"]  # a flat list of paths, not a list inside a list
    assert "PosixPath" not in listed and "'figures/my-network.pdf'" in listed and "[[" not in listed
    assert "image/svg+xml" in code[5].outputs[0].data
