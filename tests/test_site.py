"""The documentation site builds strictly, as ``make site`` builds it, and holds what its pages promise.

``mkdocs build --strict`` fails on a broken link, a missing page in the navigation or a template without its
gallery picture; this test runs it into a temporary folder (offline: the theme fetches no fonts) and reads the
built pages.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bpdiagram.cli import cli
from bpdiagram.template_files import template_names

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocs", reason="the docs extra is not installed (make test installs it)")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_the_gallery_shows_every_template(site: Path) -> None:
    page = (site / "gallery" / "index.html").read_text(encoding="utf-8")
    for name in template_names():
        assert f'id="{name}"' in page and f"images/gallery/{name}.png" in page, name
        assert (site / "images" / "gallery" / f"{name}.png").is_file()


def test_the_cli_reference_has_every_command_and_option(site: Path) -> None:
    page = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    for name, command in cli.commands.items():
        assert f"bpdiagram {name}" in page, name
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert opt in page, f"{name} {opt}"


def test_the_api_reference_documents_the_public_functions(site: Path) -> None:
    page = (site / "reference" / "python-api" / "index.html").read_text(encoding="utf-8")
    for name in ("bpdiagram.load", "bpdiagram.template", "bpdiagram.templates", "bpdiagram.diagram.Diagram"):
        assert name in page, name
    assert re.search(r"id=\"bpdiagram\.diagram\.Diagram\.render\"", page)


def test_the_home_page_is_the_readme(site: Path) -> None:
    page = (site / "index.html").read_text(encoding="utf-8")
    assert "Backpropagation diagrams, correct by construction" in page
    assert 'src="images/two-layer-binary.png"' in page
    assert "fonts.googleapis.com" not in page  # nothing fetched from the internet
