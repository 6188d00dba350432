"""The package as users get it: a wheel built from the working tree, installed into a fresh venv, run elsewhere.

The rest of the suite runs on an editable install, which reads modules and templates straight from the
checkout, so a subpackage or data file the wheel leaves out would never be noticed there. Here the wheel is
built with the project's own build backend, installed with pip into a new virtual environment, and every
command a user runs is run from a folder outside the repository. The new environment finds bpdiagram's
dependencies (numpy, networkx, ...) through a ``.pth`` line naming this environment's site-packages, because
the tests run offline; bpdiagram itself can only come from the wheel (the test checks ``bpdiagram.__file__``).
"""

from __future__ import annotations

import email.parser
import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import bpdiagram
from bpdiagram.options import FORMATS
from bpdiagram.template_files import template_names

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.graphviz

# the first bytes each format's file starts with (after any whitespace), so a file of the wrong kind fails
MAGIC = {"svg": b"<?xml", "png": b"\x89PNG", "pdf": b"%PDF-", "graphml": b"<?xml", "html": b"<!DOCTYPE html>",
         "dot": b"digraph", "drawio": b"<?xml", "tikz": b"% Backpropagation diagram drawn by bpdiagram"}
SUFFIX = {"tikz": "tex"}


@dataclass(frozen=True)
class Installed:
    """A fresh venv holding the wheel: its interpreter, its ``bpdiagram`` script, the wheel file."""

    python: Path
    script: Path
    wheel: Path

    def run(self, *args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the installed ``bpdiagram`` in ``cwd`` with an environment that cannot see the checkout."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["PATH"] = f"{self.script.parent}{os.pathsep}{env.get('PATH', '')}"
        result = subprocess.run([str(self.script), *args], cwd=cwd, env=env, capture_output=True, text=True,
                                timeout=300, check=False)
        if check:
            assert result.returncode == 0, f"bpdiagram {' '.join(args)} failed:\n{result.stderr}"
        return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """Build the wheel from the working tree and install it into a new venv (no network)."""
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(dist), str(ROOT)], check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("bpdiagram-*.whl")
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True, timeout=300)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # the dependencies, offline: this environment's site-packages, appended after the fresh one's own
    (Path(purelib) / "_deps_from_test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    yield Installed(python=python, script=env_dir / "bin" / "bpdiagram", wheel=wheel)


def test_the_wheel_holds_every_module_and_data_file(installed: Installed) -> None:
    """Every module of the source tree, every template and the typing marker are in the wheel."""
    with zipfile.ZipFile(installed.wheel) as whl:
        names = set(whl.namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "bpdiagram").rglob("*.py")}
    assert modules - names == set()
    templates = {f"bpdiagram/templates/{p.name}" for p in (ROOT / "templates").glob("*.yaml")}
    assert templates and templates - names == set()
    assert "bpdiagram/py.typed" in names
    assert not any("__pycache__" in n or n.startswith(("tests/", "docs/")) for n in names)


def test_the_metadata_is_complete(installed: Installed) -> None:
    """Version single-sourced from the package, the dependencies, the licence file, URLs and classifiers."""
    with zipfile.ZipFile(installed.wheel) as whl:
        meta_name = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(whl.read(meta_name).decode("utf-8"))
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in whl.namelist())
    assert meta["Version"] == bpdiagram.__version__
    requires = {r.split(">")[0].split("=")[0].split(";")[0].strip().lower() for r in meta.get_all("Requires-Dist", [])}
    assert {"networkx", "graphviz", "numpy", "click", "pyyaml", "watchfiles"} <= requires
    assert meta["License-Expression"] == "MIT"
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL", []))
    assert {"Homepage", "Documentation", "Source", "Issues", "Changelog"} <= set(urls)
    assert any(c.startswith("Programming Language :: Python :: 3.11") for c in meta.get_all("Classifier", []))


def test_bpdiagram_comes_from_the_wheel(installed: Installed, tmp_path: Path) -> None:
    """The installed interpreter imports the installed package, not the checkout."""
    out = subprocess.run([str(installed.python), "-c", "import bpdiagram; print(bpdiagram.__file__)"],
                         cwd=tmp_path, check=True, capture_output=True, text=True).stdout.strip()
    assert Path(out).is_relative_to(installed.python.parent.parent)
    assert installed.run("--version", cwd=tmp_path).stdout.split()[-1] == bpdiagram.__version__


def test_every_template_renders_in_every_format(installed: Installed, tmp_path: Path) -> None:
    """``render`` of every template to every format, from a folder outside the repository."""
    names = template_names()
    listed = installed.run("templates", cwd=tmp_path).stdout
    assert all(name in listed for name in names)
    args = [a for name in names for a in ("-t", name)]
    installed.run("render", *args, "-f", ",".join(FORMATS), "-o", "out", "-q", cwd=tmp_path)
    for name in names:
        for fmt in FORMATS:
            data = (tmp_path / "out" / f"{name}.{SUFFIX.get(fmt, fmt)}").read_bytes()
            assert data.lstrip().startswith(MAGIC[fmt]), f"{name}.{fmt}"


@pytest.mark.parametrize("name", template_names())
def test_check_and_code_work_installed(installed: Installed, tmp_path: Path, name: str) -> None:
    """``check --json`` passes and the exported module runs on numpy alone, from outside the repository."""
    report = json.loads(installed.run("check", "-t", name, "--json", cwd=tmp_path).stdout)
    assert report["ok"] is True
    installed.run("code", "-t", name, "-o", "exported.py", cwd=tmp_path)
    ran = subprocess.run([str(installed.python), "exported.py"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip()
