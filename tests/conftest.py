"""Shared fixtures: template names, ``graphviz`` and ``browser`` markers that skip with a reason."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bpdiagram.template_files import template_names

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
TEMPLATES = template_names()

def _is_expression(name: str) -> bool:
    """Whether template ``name`` is an expression or a program (a computational graph, not a network)."""
    text = (ROOT / "templates" / f"{name}.yaml").read_text(encoding="utf-8")
    return any(line.startswith(("expression:", "program:")) for line in text.splitlines())


EXPRESSION_TEMPLATES = [t for t in TEMPLATES if _is_expression(t)]
"""Templates of expressions and programs: single numbers, no layers, nothing to update."""
NETWORK_TEMPLATES = [t for t in TEMPLATES if t not in EXPRESSION_TEMPLATES]
COURSE_TEMPLATES = ["l2-regularized", "dropout", "batchnorm", "residual-block"]
"""INTERFACE §11's templates: L2, dropout, batch norm, residuals (drawn, checked and exported)."""
VECTORIZED_TEMPLATES = [t for t in NETWORK_TEMPLATES if t not in ("single-neuron", "three-layer-elementwise")]
CONV_TEMPLATES = ["tiny-cnn"]
"""Templates with conv layers: their numbers and code are tested against the autodiff in ``test_conv``."""
DENSE_TEMPLATES = [t for t in NETWORK_TEMPLATES if t not in CONV_TEMPLATES]
HAVE_DOT = shutil.which("dot") is not None
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
HAVE_LATEX = shutil.which("pdflatex") is not None and shutil.which("pdftoppm") is not None
MXGRAPH = ROOT / "tests" / ".mxgraph" / "node_modules" / "mxgraph" / "javascript"
"""draw.io's engine, the npm package ``mxgraph``, installed here by ``make mxgraph`` (not committed)."""


def _browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        return "Debian's chromium and chromium-driver are not installed (make test installs them)"
    if importlib.util.find_spec("selenium") is None:
        return "the Python package selenium is not installed (pip install -e '.[test]')"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    browser_missing = _browser_missing()
    for item in items:
        if "graphviz" in item.keywords and not HAVE_DOT:
            item.add_marker(pytest.mark.skip(reason="graphviz 'dot' is not installed (make test installs it)"))
        if "browser" in item.keywords and browser_missing:
            item.add_marker(pytest.mark.skip(reason=browser_missing))
        if "latex" in item.keywords and not HAVE_LATEX:
            item.add_marker(pytest.mark.skip(reason="Debian's texlive and poppler-utils are not installed "
                                                    "(make test installs them)"))
        if "mxgraph" in item.keywords and not (MXGRAPH / "mxClient.min.js").is_file():
            item.add_marker(pytest.mark.skip(reason="the npm package mxgraph is not installed (make test installs it)"))


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    """One headless Chromium per test module (skipped, with the reason, where it cannot start)."""
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    from tests.chromium import chromium  # imports this module: only once the fixture is asked for

    with chromium() as (browser, _):
        yield browser


@pytest.fixture(params=TEMPLATES)
def template(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name
