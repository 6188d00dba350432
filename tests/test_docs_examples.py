"""Every example in the documentation runs: the docs cannot promise what the tool does not do.

Each page (README.md and every Markdown file under docs/) is run in its own temporary folder holding a copy of
docs/examples (at its top and as docs/examples, as in a clone), with the installed ``bpdiagram`` first on PATH.
In page order:

- a ```bash block runs with ``bash -e -o pipefail`` and must exit 0;
- a ```python block runs in a fresh interpreter and must exit 0;
- a ```yaml block that is a whole spec must load (a fragment, with neither ``layers:`` nor ``expression:`` nor
  ``program:``, is shown for its keys only);
- ```text blocks show output or commands for another machine and are not run.

An HTML comment on the line before a block changes that: ``<!-- norun: why -->`` skips it (the reason is
required), and ``<!-- file: NAME -->`` writes the block into the folder as NAME instead (a spec or a script the
later blocks use).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from bpdiagram.errors import BpdiagramError
from bpdiagram.spec import spec_from_text

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted([ROOT / "README.md", *(p for p in DOCS.rglob("*.md") if "examples" not in p.parts)])
FENCE = re.compile(r"(?:^<!-- (?P<directive>norun|file): ?(?P<arg>[^>]*?) ?-->\n)?^```(?P<lang>[\w-]*)[^\n]*\n"
                   r"(?P<body>.*?)^```\s*$", re.M | re.S)

pytestmark = pytest.mark.graphviz


@dataclass(frozen=True)
class Block:
    """One fenced block of a page: its language, text, first line number and the directive before it."""

    lang: str
    body: str
    line: int
    directive: str | None
    arg: str


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page``, in order (blocks nested in lists are found too: their fences are indented)."""
    text = page.read_text(encoding="utf-8")
    flat = re.sub(r"^ {4}(?=```|<!--)", "", text, flags=re.M)
    return [Block(m["lang"], textwrap.dedent(m["body"]), flat.count("\n", 0, m.start("body")), m["directive"],
                  m["arg"] or "") for m in FENCE.finditer(flat)]


def _is_whole_spec(text: str) -> bool:
    return bool(re.search(r"^(layers|expression|program):", text, re.M))


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_example_of_the_page_runs(page: Path, tmp_path: Path) -> None:
    shutil.copytree(DOCS / "examples", tmp_path, dirs_exist_ok=True)
    shutil.copytree(DOCS / "examples", tmp_path / "docs" / "examples")  # as from the root of a clone
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "COLUMNS": "100"}
    where = page.relative_to(ROOT).as_posix()
    for block in blocks(page):
        at = f"{where}:{block.line + 1}"
        if block.directive == "norun":
            assert block.arg.strip(), f"{at}: <!-- norun --> needs a reason"
            continue
        if block.directive == "file":
            (tmp_path / block.arg.strip()).write_text(block.body, encoding="utf-8")
            continue
        if "torch" in block.body and importlib.util.find_spec("torch") is None:
            continue  # the page on PyTorch models runs where the optional extra is installed (make test installs it)
        if block.lang == "bash":
            done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block.body], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=300, check=False)
            assert done.returncode == 0, f"{at}: the bash block failed:\n{block.body}\n{done.stderr[-2000:]}"
        elif block.lang == "python":
            done = subprocess.run([sys.executable, "-c", block.body], cwd=tmp_path, env=env, capture_output=True,
                                  text=True, timeout=300, check=False)
            assert done.returncode == 0, f"{at}: the python block failed:\n{done.stderr[-2000:]}"
        elif block.lang == "yaml" and _is_whole_spec(block.body):
            try:
                spec_from_text(block.body, file=at)
            except BpdiagramError as exc:
                pytest.fail(f"{at}: the spec does not load: {exc}")


def test_the_readme_is_a_front_page() -> None:
    """README.md is the front page: what it is, a picture, install, two commands, links; the manual is the site."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 400
    assert "](docs/images/" in readme and "pip install" in readme and "bpdiagram render" in readme
    generated = {"docs/gallery.md"}  # written by the site's hook at build time
    for link in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (ROOT / link).exists() or link in generated, f"README links to {link}, which does not exist"


INTERNAL = re.compile(r"INTERFACE(\.md)?\b|DESIGN\.md|STYLE\.md|§ ?\d+|\b[Ii]ssues? #?\d+\b|\bround (one|two|three)\b")
"""What only the team can read: the contract's sections, design documents, issue numbers, work rounds."""


def test_no_user_doc_or_docstring_cites_internal_documents() -> None:
    """Users cannot see the team's documents or issues, so the docs and docstrings never point at them."""
    files = [ROOT / "README.md", *DOCS.rglob("*.md"), *(ROOT / "bpdiagram").rglob("*.py"),
             *(ROOT / "templates").glob("*.yaml"), *(DOCS / "examples").glob("*")]
    cited = [f"{p.relative_to(ROOT)}:{n}: {m.group(0)}" for p in files if p.is_file()
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
             if (m := INTERNAL.search(line))]
    assert cited == []


def test_the_runner_sees_blocks_and_directives(tmp_path: Path) -> None:
    """The block reader finds fenced blocks, their languages and the directives before them."""
    page = tmp_path / "page.md"
    page.write_text("# t\n\n<!-- norun: needs a GPU -->\n```bash\nexit 1\n```\n\n- item\n\n    ```python\n"
                    "    print(1)\n    ```\n\n<!-- file: a.yaml -->\n```yaml\ninput: 2\n```\n", encoding="utf-8")
    found = [(b.lang, b.directive, b.arg, b.body) for b in blocks(page)]
    assert found == [("bash", "norun", "needs a GPU", "exit 1\n"), ("python", None, "", "print(1)\n"),
                     ("yaml", "file", "a.yaml", "input: 2\n")]
