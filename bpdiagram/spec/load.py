"""Read a spec document (YAML or JSON) into plain data plus the line of every key.

PyYAML's composer gives every node its position; we walk the node tree
ourselves (instead of ``safe_load``) so that each key and list item keeps its
line, and validation errors can say ``file:line``. Only the safe YAML types
are constructed: a tag that would build a Python object is an error.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bpdiagram.errors import SpecError

MAX_SPEC_BYTES = 1_000_000
"""Specs are a few dozen lines; anything bigger is a mistake (or an attack)."""

MAX_YAML_NODES = 200_000
"""Alias expansion budget: a "billion laughs" document is refused, not expanded."""

MAX_DEPTH = 32
"""Nesting depth of mappings and lists: a spec needs five (values → W1 → row → entry); deeper is an attack."""

PathKey = tuple[str | int, ...]

_SURROGATE = re.compile(r"[\ud800-\udfff]")

_NOT_YAML_TEXT = re.compile("[^\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters a JSON string may hold literally but the YAML reader refuses or reads as a line break (C0/C1
controls, NEL, U+2028/9, tab): in valid JSON they stand inside strings (tab also between tokens), so they are
rewritten as JSON escapes (tab as a space) and YAML reads the very same values."""

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq", "tag:yaml.org,2002:merge", "tag:yaml.org,2002:timestamp",
}


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, reading floats the YAML 1.2 (and JSON) way.

    PyYAML follows YAML 1.1, where ``1e-3`` and ``2E5`` (no dot) are strings;
    every JSON writer produces them, and people write them for learning rates
    and small weights. JSON's ``NaN`` and ``Infinity`` become floats too, so
    validation can say they are not finite instead of calling them strings.
    """


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+|NaN|[-+]?Infinity)$"),
    list("-+0123456789NI"),
)


def _construct_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    text = str(node.value)
    if text in ("NaN", "Infinity", "+Infinity", "-Infinity"):
        return float(text.replace("Infinity", "inf"))
    value: float = loader.construct_yaml_float(node)
    return value


_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)


@dataclass
class Document:
    """A parsed spec: its data, where it came from and where each key stands."""

    data: Any
    file: str
    lines: dict[PathKey, int] = field(default_factory=dict)
    text_starts: dict[PathKey, int] = field(default_factory=dict)
    """Line of the first character of each text value: the line after its key for a ``|`` or ``>`` block."""

    def line_of(self, path: PathKey) -> int | None:
        """Line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None

    def error(self, path: PathKey, reason: str) -> SpecError:
        """A ``SpecError`` located at ``path`` (tuple of keys and list indices)."""
        return SpecError(reason, file=self.file, line=self.line_of(path), key=dotted(path) or None)


def dotted(path: PathKey) -> str:
    """``("layers", 1, "size")`` → ``layers[1].size`` (list indices 1-based, as users count layers)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += f".{part}" if out else part
    return out


def read_spec_file(path: str | Path) -> Document:
    """Read and parse the spec at ``path``; every failure is a located ``SpecError``."""
    name = str(path)
    return parse_spec_text(decode_spec(read_spec_bytes(path, name), name), file=name,
                           is_json=Path(path).suffix.lower() == ".json")


def read_spec_bytes(path: str | Path, name: str) -> bytes:
    """The bytes of the spec file at ``path`` (``name`` in messages); every failure is a ``SpecError``.

    Only a regular file is read (a FIFO, a device or a socket is refused before it can hang or flood
    the reader), and never more than ``MAX_SPEC_BYTES`` of it, even if it grows while being read.
    Every reader of a spec file goes through here (``render``'s fingerprints too).
    """
    p = Path(path)
    try:
        _check_regular(os.stat(p).st_mode, name)  # before opening: opening a socket fails, a FIFO waits
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise SpecError("no such file", file=name) from None
    except PermissionError:
        raise SpecError("permission denied", file=name) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a spec file", file=name) from None
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror or exc}", file=name) from None
    try:
        _check_regular(os.fstat(fd).st_mode, name)  # what was opened, should the path have changed meanwhile
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_SPEC_BYTES:
            chunk = os.read(fd, MAX_SPEC_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_SPEC_BYTES:
            raise SpecError(f"file is more than {MAX_SPEC_BYTES} bytes; specs are limited to {MAX_SPEC_BYTES}",
                            file=name)
        return b"".join(chunks)
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror or exc}", file=name) from None
    finally:
        os.close(fd)


def decode_spec(raw: bytes, name: str) -> str:
    """A spec file's text: UTF-8, a byte-order mark dropped; anything else is a ``SpecError``."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text (byte {exc.start})", file=name) from None


def _check_regular(mode: int, name: str) -> None:
    if stat.S_ISDIR(mode):
        raise SpecError("is a directory, not a spec file", file=name)
    if not stat.S_ISREG(mode):
        raise SpecError(f"is {_file_kind(mode)}, not a regular file; give a spec file", file=name)


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((what for test, what in kinds if test(mode)), "a special file")


def parse_spec_text(text: str, *, file: str = "<spec>", is_json: bool = False) -> Document:
    """Parse spec text (YAML, or JSON when ``is_json``) into a ``Document``.

    Both syntaxes go through one reader with the same checks (a key given twice, the nesting depth, the
    size after aliases, text that is not Unicode, a mapping at the top): JSON is first checked as JSON (so
    its syntax errors say so), then read by the YAML composer, which JSON is a subset of once its literal
    control characters are written as escapes. JSON the composer still cannot read (a key longer than
    1,024 characters, a key and its colon on different lines) is read by ``json`` and walked with the
    same checks, without line numbers.
    """
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError(f"spec is longer than {MAX_SPEC_BYTES} characters", file=file)
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise SpecError("binary data (NUL byte), not a spec", file=file, line=line)
    if is_json:
        try:
            json.loads(text, object_pairs_hook=lambda pairs: None)
        except json.JSONDecodeError as exc:
            raise SpecError(f"invalid JSON: {exc.msg} (column {exc.colno})", file=file, line=exc.lineno) from None
        except RecursionError:
            raise SpecError(f"spec is nested more than {MAX_DEPTH} levels deep", file=file, line=1) from None
        except ValueError:  # an integer of more than 4,300 digits
            raise SpecError("invalid JSON: a number has too many digits", file=file) from None
        yaml_text = _NOT_YAML_TEXT.sub(lambda m: " " if m.group() == "\t" else f"\\u{ord(m.group()):04x}", text)
        try:
            doc = _compose(yaml_text, file)
        except SpecError as exc:
            if not exc.reason.startswith("invalid YAML"):
                raise
            doc = _from_json(text, file)
    else:
        doc = _compose(text, file)
    if doc.data is None:
        raise SpecError("empty spec (expected a mapping such as 'input:', 'layers:', 'loss:')", file=file)
    if not isinstance(doc.data, dict):
        raise SpecError(f"the top level must be a mapping of keys, not a {type_name(doc.data)}", file=file,
                        line=doc.lines.get(()))
    return doc


def check_data(data: Any, file: str = "<dict>") -> Document:
    """An in-memory spec (a dict from the API) walked with the checks every parsed spec gets."""
    doc = Document(None, file)
    doc.data = _walk(data, (), doc, [MAX_YAML_NODES])
    return doc


def _from_json(text: str, file: str) -> Document:
    """Valid JSON the YAML composer cannot read, walked with the same checks (no line numbers)."""
    doc = Document(None, file)
    try:
        data = json.loads(text, object_pairs_hook=_Pairs)
    except RecursionError:
        raise SpecError(f"spec is nested more than {MAX_DEPTH} levels deep", file=file, line=1) from None
    doc.data = _walk(data, (), doc, [MAX_YAML_NODES])
    return doc


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as its key-value pairs in order, so a key given twice is seen, not dropped."""


def _walk(value: Any, path: PathKey, doc: Document, budget: list[int]) -> Any:
    _enter(path, doc, budget, None)
    if isinstance(value, (_Pairs, dict)):
        out: dict[str, Any] = {}
        for key, item in (value if isinstance(value, _Pairs) else value.items()):
            key = _text(key, path, doc, None) if isinstance(key, str) else key
            child = (*path, key)
            if key in out:
                raise SpecError("key given twice", file=doc.file, key=dotted(child))
            out[key] = _walk(item, child, doc, budget)
        return out
    if isinstance(value, (list, tuple)):
        return [_walk(item, (*path, i), doc, budget) for i, item in enumerate(value)]
    if isinstance(value, str):
        return _text(value, path, doc, None)
    return value


def _enter(path: PathKey, doc: Document, budget: list[int], line: int | None) -> None:
    """Count one value against the alias budget and refuse it beyond ``MAX_DEPTH``."""
    budget[0] -= 1
    if budget[0] < 0:
        raise SpecError(f"spec expands to more than {MAX_YAML_NODES} values (alias bomb?)", file=doc.file)
    if len(path) > MAX_DEPTH:
        raise SpecError(f"spec is nested more than {MAX_DEPTH} levels deep", file=doc.file, line=line,
                        key=dotted(path[:MAX_DEPTH]) or None)


def _text(value: str, path: PathKey, doc: Document, line: int | None) -> str:
    """``value`` with UTF-16 surrogate pairs (``\\ud83e\\udde0``, as ``json.dumps`` writes 🧠) joined.

    A lone surrogate (half a pair) is no character at all: it cannot be written to any file or terminal,
    so it is refused here, once, for every command.
    """
    if _SURROGATE.search(value) is None:
        return value
    try:
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError as exc:
        lone = value.encode("utf-16-le", "surrogatepass")[exc.start:exc.start + 2].decode("utf-16-le",
                                                                                           "surrogatepass")
        raise SpecError(f"has a lone surrogate escape \\u{ord(lone):04x} (half of a UTF-16 pair), which is no "
                        "character; write the character itself, or both halves of its pair", file=doc.file,
                        line=line, key=dotted(path) or None) from None


def finite_float(value: object) -> float | None:
    """``value`` as a finite float64, or None: booleans, text, NaN, ±inf and integers beyond float64's range
    (YAML and JSON read ``1000…000`` with 400 digits as an exact int) are not numbers a diagram can draw."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def shown_number(value: object) -> str:
    """A value the user wrote, quoted for an error: huge integers by their size, not their 400 digits."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 80:  # over 24 digits
        return f"an integer of {len(str(abs(value)))} digits" if value.bit_length() < 12_000 else "a huge integer"
    return repr(value)


def type_name(value: object) -> str:
    """A user-facing name for the YAML type of ``value``."""
    if value is None:
        return "null"
    return next((name for kind, name in _TYPE_NAMES if isinstance(value, kind)), type(value).__name__)


_TYPE_NAMES: tuple[tuple[type, str], ...] = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
                                            (list, "list"), (Mapping, "mapping"))
"""YAML's names for Python's types, the most specific first (a bool is an int too)."""


def _compose(text: str, file: str) -> Document:
    try:
        loader = _Loader(text)  # the reader already rejects control characters here
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise SpecError(f"invalid YAML: character {exc.character!r} is not allowed", file=file, line=line) from None
    try:
        node = loader.get_single_node()
        doc = Document(None, file)
        if node is not None:
            budget = [MAX_YAML_NODES]
            doc.data = _convert(node, (), loader, doc, budget)
        return doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(f"invalid YAML: {problem}", file=file, line=where) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", file=file) from None
    except RecursionError:
        raise SpecError(f"spec is nested more than {MAX_DEPTH} levels deep", file=file, line=1) from None
    finally:
        loader.dispose()


def _convert(node: yaml.Node, path: PathKey, loader: _Loader, doc: Document,
             budget: list[int]) -> Any:
    line = node.start_mark.line + 1
    _enter(path, doc, budget, line)
    doc.lines.setdefault(path, line)
    if node.tag not in _STANDARD_TAGS:
        raise SpecError(f"YAML tag {node.tag!r} is not allowed (plain data only)", file=doc.file, line=line,
                        key=dotted(path) or None)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise SpecError("keys must be plain names", file=doc.file, line=key_node.start_mark.line + 1,
                                key=dotted(path) or None)
            key = loader.construct_object(key_node)
            key = str(key) if not isinstance(key, str) else _text(key, path, doc, key_node.start_mark.line + 1)
            child = (*path, key)
            if key in out:
                raise SpecError("key given twice", file=doc.file, line=key_node.start_mark.line + 1, key=dotted(child))
            doc.lines[child] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, child, loader, doc, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), loader, doc, budget) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.ScalarNode):
        doc.text_starts[path] = line + 1 if node.style in ("|", ">") else line
    try:
        value = loader.construct_object(node)
        return _text(value, path, doc, line) if isinstance(value, str) else value
    except (ValueError, OverflowError) as exc:  # an integer of 5,000 digits, a date like 2024-13-45
        shown = str(node.value)
        shown = shown if len(shown) <= 24 else shown[:20] + "…"
        reason = "integer has too many digits" if node.tag.endswith(":int") else str(exc)
        raise SpecError(f"cannot read {shown!r}: {reason}", file=doc.file, line=line,
                        key=dotted(path) or None) from None
