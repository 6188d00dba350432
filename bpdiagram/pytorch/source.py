"""``FILE.py:NAME``: the model a Python file defines, at module level or returned by a function.

Reading a model means running the file, as ``python FILE.py`` would (its
folder first on ``sys.path``, so it may import its neighbours): only give
bpdiagram files you would run. What the file prints goes to stderr, so that
``bpdiagram from-torch`` prints nothing but the spec on stdout. Whatever goes
wrong in it is one error line that names the file and the line.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from torch import nn

from bpdiagram.errors import SpecError, one_line


def parse_reference(reference: str) -> tuple[str, str]:
    """``models/mlp.py:model`` → (``models/mlp.py``, ``model``); anything else is a ``SpecError``.

    >>> parse_reference("nets/mlp.py:build")
    ('nets/mlp.py', 'build')
    """
    file, colon, name = reference.rpartition(":")
    if not colon or not file or not name.isidentifier():
        raise SpecError(f"{reference!r}: name the model as FILE.py:NAME, e.g. mlp.py:model (NAME a module-level "
                        "nn.Sequential, or a function returning one)", file="--torch")
    return file, name


def load_model(reference: str) -> tuple[str, str, Any]:
    """(file, name, the object NAME is in FILE, called when it is a function)."""
    file, name = parse_reference(reference)
    path = Path(file)
    if not path.is_file():
        raise SpecError("no such file" if not path.exists() else "is not a file", file=file)
    module = _run(path, file)
    if not hasattr(module, name):
        defined = sorted(k for k, v in vars(module).items()
                         if not k.startswith("_") and (isinstance(v, nn.Sequential) or _is_builder(v)))
        hint = f"; it defines {', '.join(defined)}" if defined else ""
        raise SpecError(f"defines no {name!r}{hint}", file=file)
    value = getattr(module, name)
    if _is_builder(value):
        with _user_code(file):
            value = value()
    return file, name, value


def _is_builder(value: Any) -> bool:
    """A function (or class-less callable) that builds a model, as opposed to a model or a class."""
    return callable(value) and not isinstance(value, (nn.Module, type))


def _run(path: Path, file: str) -> ModuleType:
    """The module the file defines, run once under a private name."""
    spec = importlib.util.spec_from_file_location(f"_bpdiagram_model_{abs(hash(path.resolve()))}", path)
    if spec is None or spec.loader is None:
        raise SpecError("cannot be read as a Python file", file=file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling in the file look themselves up there
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    try:
        with _user_code(file):
            spec.loader.exec_module(module)
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)
        sys.modules.pop(spec.name, None)
    return module


@contextlib.contextmanager
def _user_code(file: str) -> Any:
    """Run the user's code with its prints on stderr and each failure as one located ``SpecError``."""
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    except SyntaxError as exc:
        raise SpecError(f"invalid Python: {exc.msg}", file=file, line=exc.lineno) from None
    except (Exception, SystemExit) as exc:
        line = _line_in(exc, file)
        raise SpecError(one_line(f"running it raised {type(exc).__name__}: {exc}"), file=file, line=line) from None


def _line_in(exc: BaseException, file: str) -> int | None:
    """The last line of ``file`` the traceback passes through."""
    target = Path(file).resolve()
    lines = [frame.lineno for frame in traceback.extract_tb(exc.__traceback__)
             if Path(frame.filename).resolve() == target]
    return lines[-1] if lines else None
