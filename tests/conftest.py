"""Shared fixtures: template names, a ``graphviz`` marker that skips with a reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bpdiagram.library import template_names

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
TEMPLATES = template_names()
NETWORK_TEMPLATES = [t for t in TEMPLATES if not t.startswith("expression")]
HAVE_DOT = shutil.which("dot") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if HAVE_DOT:
        return
    skip = pytest.mark.skip(reason="graphviz 'dot' is not installed (make test installs it)")
    for item in items:
        if "graphviz" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=TEMPLATES)
def template(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name
