"""Modules loaded on first use, for the heavy libraries most runs never touch.

numpy takes about a tenth of a second to import, as long as laying out a
small diagram; only diagrams with numbers (and ``bpdiagram check``) compute
with it, yet the op catalogue, which every diagram reads its formulas from,
holds the numpy rules next to them. ``lazy_module("numpy")`` gives the
catalogue a module object whose first attribute access does the import.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """Module ``name``, imported when one of its attributes is first used (the stdlib's ``LazyLoader``).

    Already imported, it is returned as it is. The lazy module stands in
    ``sys.modules``, so a later plain ``import`` gets the same module.
    """
    module = sys.modules.get(name)
    if module is not None:
        return module
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
