"""Checks of one field each, shared by the network and expression formats: keys, choices, texts, names, flags.

Each raises the ``SpecError`` of ``doc.error``, naming the file, line and key,
with the valid choices (and the closest one, for a typo).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from bpdiagram.spec.load import Document, PathKey, type_name

MAX_TEXT = 500
"""Longest title, name or learning-rate symbol accepted."""


def check_keys(doc: Document, path: PathKey, mapping: dict[str, Any], allowed: Sequence[str]) -> None:
    """Refuse keys outside ``allowed``, suggesting the closest valid one."""
    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise doc.error((*path, key), f"unknown key; {hint}valid keys: {', '.join(allowed)}")


def choice(doc: Document, path: PathKey, value: Any, choices: Sequence[str]) -> str:
    """``value`` when it is one of ``choices``; else an error suggesting the closest (or the lower-case) one."""
    if not isinstance(value, str) or value not in choices:
        shown = repr(value) if isinstance(value, (str, int, float, bool)) or value is None else f"a {type_name(value)}"
        close = []
        if isinstance(value, str):
            lowered = [c for c in choices if c == value.lower()]
            close = lowered or difflib.get_close_matches(value.lower(), choices, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise doc.error(path, f"{shown} is not valid; {hint}valid choices: {', '.join(choices)}")
    return value


def text(doc: Document, path: PathKey, value: str) -> str:
    """``value``, refused when longer than ``MAX_TEXT``."""
    if len(value) > MAX_TEXT:
        raise doc.error(path, f"is {len(value)} characters long; at most {MAX_TEXT}")
    return value


def optional_text(doc: Document, path: PathKey, value: Any) -> str | None:
    """A title: None when absent, a number or text as text, never a mapping or a list."""
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise doc.error(path, f"must be text, not a {type_name(value)}")
    return text(doc, path, str(value))


def valid_name(doc: Document, path: PathKey, value: Any) -> str:
    """The name of the input or the target: non-empty text, stripped."""
    if not isinstance(value, str) or not value.strip():
        raise doc.error(path, f"must be a non-empty name such as X or Y, not {value!r}")
    return text(doc, path, value.strip())


def flag(doc: Document, path: PathKey, value: Any) -> bool:
    """A yes/no setting: YAML's true or false only."""
    if not isinstance(value, bool):
        raise doc.error(path, f"must be true or false, not {value!r}")
    return value
