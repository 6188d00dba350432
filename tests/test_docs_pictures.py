"""The README's pictures match what ``make docs`` draws today, so they cannot go stale silently.

The test runs the Makefile's own ``docs`` recipe (every line but the browser
screenshot) into a temporary folder and compares each picture with the one
committed in ``docs/images``: same size, and nearly every pixel the same (a
small tolerance absorbs anti-aliasing differences between cairo builds, never
a changed label, node or edge). When it fails, run ``make docs`` and look at
the pictures before committing them.
"""

from __future__ import annotations

import runpy
import shlex
import sys
from pathlib import Path

import pytest

from bpdiagram.template_files import template_names
from tests.conftest import ROOT

pytestmark = pytest.mark.graphviz
IMAGES = ROOT / "docs" / "images"
BROWSER_ONLY = ("tools/html_screenshot.py", "tools/drawio_screenshot.py")
"""Recipe lines that need a browser (a screenshot): kept out, the browser tests cover that page."""


def docs_recipe() -> list[str]:
    """The shell lines of the Makefile's ``docs`` target."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("docs:"))
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(line[1:])
    return recipe


def differing_share(a: Path, b: Path) -> float:
    """The share of pixels that differ by more than a faint anti-aliasing shade; 1.0 when the sizes differ."""
    from PIL import Image, ImageChops

    with Image.open(a) as ia, Image.open(b) as ib:
        if ia.size != ib.size:
            return 1.0
        diff = ImageChops.difference(ia.convert("RGB"), ib.convert("RGB")).convert("L")
        histogram = diff.histogram()
        return sum(histogram[24:]) / (ia.size[0] * ia.size[1])


def run_line(line: str, images: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run one recipe line in this process (imports paid once), writing into ``images`` instead of docs/images."""
    from click.testing import CliRunner

    from bpdiagram.cli import cli

    words = [w.replace("docs/images", str(images)) for w in shlex.split(line)]
    program, args = words[0], words[1:]
    if program == "$(BIN)/bpdiagram":
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, f"{line}\n{result.stderr}"
    elif program == "$(BIN)/python" and args[0] == "-c":
        exec(compile(args[1], "<make docs>", "exec"), {})
    elif program == "$(BIN)/python":
        monkeypatch.setattr(sys, "argv", args)
        runpy.run_path(str(ROOT / args[0]), run_name="__main__")
    else:
        pytest.fail(f"the docs recipe has a line this test cannot run: {line}")


def test_readme_pictures_match_a_fresh_make_docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = tmp_path / "images"
    made.mkdir()
    monkeypatch.chdir(ROOT)
    recipe = [line for line in docs_recipe() if not any(b in line for b in BROWSER_ONLY)]
    assert any("bpdiagram render" in line for line in recipe)
    for line in recipe:
        run_line(line, made, monkeypatch)
    pictures = {p.relative_to(made).as_posix(): p for p in sorted(made.rglob("*.png"))}
    assert len(pictures) >= 10
    assert {f"gallery/{name}.png" for name in template_names()} <= pictures.keys()
    stale = {name: round(differing_share(p, IMAGES / name), 4) for name, p in pictures.items()
             if not (IMAGES / name).exists() or differing_share(p, IMAGES / name) > 0.001}
    assert not stale, f"docs/images is stale (share of pixels that differ): {stale}; run 'make docs' and look"


def test_every_picture_the_docs_show_is_made_by_make_docs() -> None:
    """Each picture in docs/images is shown by the README or a docs page (the gallery's by the generated gallery
    page), and each one shown is drawn by the recipe."""
    pages = [ROOT / "README.md", *(p for p in (ROOT / "docs").rglob("*.md"))]
    text = "\n".join(p.read_text(encoding="utf-8") for p in pages)
    recipe = "\n".join(docs_recipe())
    for picture in sorted(IMAGES.glob("*.png")):
        assert f"images/{picture.name})" in text, f"{picture.name} is not shown in the README or a docs page"
    shown = {part.split(")")[0] for part in text.split("images/")[1:] if ")" in part and
             part.split(")")[0].endswith(".png") and "/" not in part.split(")")[0]}
    for name in shown:
        stem = Path(name).stem
        assert (IMAGES / name).exists(), name
        assert stem in recipe or name in recipe, f"make docs does not draw {name}"
