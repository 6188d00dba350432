"""The examples in the package's docstrings are run, so they cannot drift from what the code does.

Every module of the package is searched; the small pure helpers (rich-text
labels, numbers as label text, DOT quoting, the format list) must have
examples, so deleting them fails here too.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
from types import ModuleType

import pytest

import bpdiagram

MODULES = sorted(m.name for m in pkgutil.walk_packages(bpdiagram.__path__, "bpdiagram.")
                 if m.name != "bpdiagram.__main__")
"""Every module of the package (``__main__`` runs the CLI when imported)."""

MUST_HAVE_EXAMPLES = {"bpdiagram.richtext", "bpdiagram.model.array_labels", "bpdiagram.writers.xmltext",
                      "bpdiagram.writers.dot", "bpdiagram.options", "bpdiagram.model.memory"}


def examples(module: ModuleType) -> list[doctest.DocTest]:
    return [test for test in doctest.DocTestFinder().find(module) if test.examples]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    if name.startswith("bpdiagram.pytorch.") and importlib.util.find_spec("torch") is None:
        pytest.skip("needs PyTorch (pip install 'bpdiagram[torch]'; make test installs it)")
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in examples(module):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (output above)"


def test_the_small_helpers_have_examples() -> None:
    plain = [name for name in MODULES if not name.startswith("bpdiagram.pytorch.")]  # those import torch
    with_examples = {name for name in plain if examples(importlib.import_module(name))}
    assert with_examples >= MUST_HAVE_EXAMPLES, MUST_HAVE_EXAMPLES - with_examples
