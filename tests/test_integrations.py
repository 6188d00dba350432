"""Course-notes tools, built for real: a Sphinx project, a MkDocs site (pages opened in Chromium) and a notebook
with the ``%%bpdiagram`` magic run in a Jupyter kernel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.graphviz
SPEC = ROOT / "templates" / "two-layer-binary.yaml"
PROGRAM = "program: |\n  q = x + y\n  f = q * z\nvalues: {x: -2, y: 5, z: -4}\n"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})


def shown_images(driver: Any, page: Path) -> list[tuple[int, str]]:
    """(natural width, alt) of every picture the page shows, as Chromium loaded it, and inline SVGs' width."""
    driver.get(page.as_uri())
    got: list[tuple[int, str]] = driver.execute_script(
        "return [...document.querySelectorAll('.bpdiagram img')].map(i => [i.naturalWidth, i.alt])"
        ".concat([...document.querySelectorAll('.bpdiagram svg')].map("
        "s => [Math.round(s.getBoundingClientRect().width), s.getAttribute('aria-label')]))")
    return got


# --- Sphinx ----------------------------------------------------------------------------------------------------

SPHINX_PAGE = """\
Notes
=====

.. bpdiagram:: nets/two-layer.yaml
   :show: forward,backward
   :alt: The two-layer network

.. bpdiagram::
   :inline:

   {program}
"""


@pytest.fixture(scope="module")
def sphinx_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("sphinx", reason="Sphinx is not installed (make test installs it)")
    src = tmp_path_factory.mktemp("sphinx")
    (src / "nets").mkdir()
    shutil.copy(SPEC, src / "nets" / "two-layer.yaml")
    (src / "conf.py").write_text('project = "Notes"\nextensions = ["bpdiagram.sphinx"]\n', encoding="utf-8")
    page = SPHINX_PAGE.format(program=textwrap.indent(PROGRAM, "   ").strip())
    (src / "index.rst").write_text(page, encoding="utf-8")
    done = run("sphinx", "-W", "-b", "html", ".", "_build", cwd=src)
    assert done.returncode == 0, done.stderr
    return src


@pytest.mark.browser
def test_sphinx_pages_show_the_diagrams(sphinx_project: Path, driver: Any) -> None:
    html = (sphinx_project / "_build" / "index.html").read_text(encoding="utf-8")
    assert 'alt="The two-layer network"' in html
    pictures = list((sphinx_project / "_build" / "_images").glob("bpdiagram-*.svg"))
    assert len(pictures) == 1 and "kind-update" not in pictures[0].read_text(encoding="utf-8")  # :show: applied
    shown = shown_images(driver, sphinx_project / "_build" / "index.html")
    assert [alt for _, alt in shown] == ["The two-layer network", "Backpropagation diagram"]
    assert all(width > 200 for width, _ in shown), shown


def test_sphinx_draws_again_only_what_changed(sphinx_project: Path) -> None:
    cache = sphinx_project / "_build" / ".doctrees" / "bpdiagram"
    before = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    again = run("sphinx", "-W", "-b", "html", ".", "_build", cwd=sphinx_project)
    assert again.returncode == 0 and "no targets are out of date" in again.stdout
    assert {p.name: p.stat().st_mtime_ns for p in cache.iterdir()} == before
    spec = sphinx_project / "nets" / "two-layer.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("title:", "title: Edited -"), encoding="utf-8")
    changed = run("sphinx", "-W", "-b", "html", ".", "_build", cwd=sphinx_project)
    assert changed.returncode == 0, changed.stderr
    new = {p.name for p in cache.iterdir()} - set(before)
    assert len([n for n in new if n.endswith(".svg")]) == 1  # the file's picture, drawn again; the inline one kept


def test_a_bad_spec_is_a_sphinx_warning_at_its_line(tmp_path: Path) -> None:
    pytest.importorskip("sphinx", reason="Sphinx is not installed (make test installs it)")
    (tmp_path / "conf.py").write_text('extensions = ["bpdiagram.sphinx"]\n', encoding="utf-8")
    (tmp_path / "index.rst").write_text("T\n=\n\n.. bpdiagram::\n\n   input: {size: 2}\n   layers:\n"
                                        "     - {size: 1, activation: sigmoidd}\n   loss: bce\n", encoding="utf-8")
    done = run("sphinx", "-b", "html", ".", "_build", cwd=tmp_path)
    assert done.returncode == 0
    assert "index.rst:8: WARNING: bpdiagram: layers[1].activation: 'sigmoidd' is not valid" in done.stderr
    assert "Traceback" not in done.stderr and "bpdiagram" not in (tmp_path / "_build" / "index.html").read_text()


# --- MkDocs ----------------------------------------------------------------------------------------------------

MKDOCS_PAGE = """\
---
title: Notes
---
# Notes

```bpdiagram alt="The two-layer network" show=forward,backward
file: ../nets/two-layer.yaml
```

- Inside a list:

    ```bpdiagram inline
{program}
    ```

````markdown
```bpdiagram
expression: x * y
```
````
"""


@pytest.fixture(scope="module")
def mkdocs_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocs", reason="MkDocs is not installed (make test installs it)")
    root = tmp_path_factory.mktemp("mkdocs")
    (root / "docs" / "notes" / "nets").mkdir(parents=True)
    shutil.copy(SPEC, root / "docs" / "notes" / "nets" / "two-layer.yaml")
    (root / "mkdocs.yml").write_text("site_name: Notes\nplugins:\n  - bpdiagram\n", encoding="utf-8")
    (root / "docs" / "index.md").write_text("# Home\n", encoding="utf-8")
    (root / "docs" / "notes" / "deep").mkdir()
    page = MKDOCS_PAGE.format(program=textwrap.indent(PROGRAM, "    ").rstrip())
    (root / "docs" / "notes" / "deep" / "page.md").write_text(page, encoding="utf-8")
    done = run("mkdocs", "build", "--strict", cwd=root)
    assert done.returncode == 0, done.stderr
    return root


@pytest.mark.browser
def test_mkdocs_pages_show_the_diagrams(mkdocs_site: Path, driver: Any) -> None:
    page = mkdocs_site / "site" / "notes" / "deep" / "page" / "index.html"
    html = page.read_text(encoding="utf-8")
    assert 'src="../../../assets/bpdiagram/bpdiagram-' in html
    assert "```bpdiagram" in html  # the example inside another block stays text
    shown = shown_images(driver, page)
    assert [alt for _, alt in shown] == ["The two-layer network", "Backpropagation diagram"]
    assert all(width > 200 for width, _ in shown), shown


def test_mkdocs_keeps_pictures_between_builds(mkdocs_site: Path) -> None:
    cache = mkdocs_site / ".cache" / "plugin" / "bpdiagram"
    before = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    assert run("mkdocs", "build", "--strict", cwd=mkdocs_site).returncode == 0
    assert {p.name: p.stat().st_mtime_ns for p in cache.iterdir()} == before


def test_a_bad_spec_stops_a_strict_mkdocs_build_naming_the_page_line(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="MkDocs is not installed (make test installs it)")
    (tmp_path / "docs").mkdir()
    (tmp_path / "mkdocs.yml").write_text("site_name: N\nplugins:\n  - bpdiagram\n", encoding="utf-8")
    (tmp_path / "docs" / "index.md").write_text("# N\n\n~~~bpdiagram\ninput: {size: 2}\nlayers:\n"
                                                "  - {size: 0, activation: relu}\nloss: bce\n~~~\n", encoding="utf-8")
    done = run("mkdocs", "build", "--strict", cwd=tmp_path)
    assert done.returncode != 0
    assert "bpdiagram: index.md:6: layers[1].size:" in done.stderr and "Traceback" not in done.stderr


# --- Jupyter ---------------------------------------------------------------------------------------------------

def test_the_cell_magic_runs_in_a_kernel(tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    cells = ["%load_ext bpdiagram", f"%%bpdiagram --show forward,backward --as d\n{PROGRAM}",
             "print(d.name, len(d.listing.text) > 0)", f"%%bpdiagram --format png -o figs/staged.svg\n{PROGRAM}",
             "%%bpdiagram\ninput: {size: 2}\nlayers:\n  - {size: 0, activation: relu}\nloss: bce\n"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])  # type: ignore[no-untyped-call]
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    out = [cell.outputs for cell in nb.cells]
    assert not [o for cell in out for o in cell if o.output_type == "error"]
    svg = out[1][0].data["image/svg+xml"]
    assert "q = x + y" in svg and "kind-cache" not in svg
    assert out[2][0].text.strip() == "diagram True"
    assert "image/png" in out[3][0].data and (tmp_path / "figs" / "staged.svg").is_file()
    assert len(out[4]) == 1 and out[4][0].name == "stderr"  # one line, nothing drawn, no traceback
    assert out[4][0].text.startswith("error: cell:3: layers[1].size:") and out[4][0].text.count("\n") == 1
