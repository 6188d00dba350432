"""One diagram inside someone else's document: what the Sphinx directive, the MkDocs plugin and the
Jupyter magic share.

Each of them reads a spec (inline text or a file), a few options, and puts the
picture into a page. The spec is read, validated and drawn here, once, so the
three speak the same options and report the same located errors; each host
then only says where the picture goes and how its warnings are shown.

A picture's ``key`` is a digest of the spec's text, the options and
bpdiagram's version: hosts name their cached files by it, so a picture is
drawn again only when one of those changes.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from bpdiagram import __version__
from bpdiagram.errors import BpdiagramError, SpecError

if TYPE_CHECKING:
    from bpdiagram.diagram import Diagram

EmbedFormat = Literal["svg", "png"]
EMBED_FORMATS: tuple[EmbedFormat, ...] = ("svg", "png")


@dataclass(frozen=True)
class EmbedOptions:
    """The options every host takes (the CLI's names): which part to draw and how the page shows it."""

    backprop_to: int | None = None
    show: str | None = None
    """Edge kinds, comma-separated (``forward,backward``)."""
    values: bool | None = None
    """Numbers on the nodes; None: exactly when the spec has ``values:``."""
    alt: str | None = None
    """The picture's text alternative; None: the spec's title."""
    format: EmbedFormat = "svg"
    theme: str = "default"
    extra: tuple[tuple[str, str], ...] = field(default=())
    """Further ``Diagram`` options by name, as text (``shapes``, ``memory``, ``gradient_flow``)."""


@dataclass(frozen=True)
class Picture:
    """A drawn diagram: its bytes in ``format``, the text alternative, and the key of its inputs."""

    data: bytes
    format: EmbedFormat
    alt: str
    key: str

    @property
    def filename(self) -> str:
        """``bpdiagram-<key>.svg``: a name that changes exactly when the picture may."""
        return f"bpdiagram-{self.key}.{self.format}"

    def inline_svg(self) -> str:
        """The SVG as one line of markup for a page, without the XML declaration, labelled with the alt text."""
        svg = self.data.decode("utf-8").split("?>", 1)[-1].strip()
        label = self.alt.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
        return re.sub(r">\s+<", "><", svg).replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)


EXTRA_OPTIONS = ("shapes", "memory", "gradient-flow", "jumps", "batch", "dtype")
"""Drawing options a page may set beyond the common ones, by their CLI names."""
_FLAGS = ("shapes", "memory", "gradient_flow")
OPTION_NAMES = ("backprop-to", "show", "values", "alt", "format", "theme", *EXTRA_OPTIONS)


def options_from(given: dict[str, str | None]) -> EmbedOptions:
    """Options from a host's ``name → text`` (CLI names; ``_`` and ``-`` alike; None or "" for a bare flag).

    An unknown name, a layer that is not a number, a format pages cannot show: one ``BpdiagramError``.
    """
    common: dict[str, str] = {}
    extra: list[tuple[str, str]] = []
    for raw, value in given.items():
        name = raw.strip().lower().replace("_", "-")
        text = "" if value is None else str(value)
        if name in EXTRA_OPTIONS:
            extra.append((name.replace("-", "_"), text))
        elif name in OPTION_NAMES:
            common[name] = text
        else:
            raise BpdiagramError(f"unknown option {raw!r}; valid options: {', '.join(OPTION_NAMES)}")
    backprop_to = None
    if "backprop-to" in common:
        if not common["backprop-to"].strip().isdigit():
            raise BpdiagramError(f"backprop-to must be a layer number (got {common['backprop-to']!r})")
        backprop_to = int(common["backprop-to"])
    values = None
    if "values" in common:
        flag = _flag(common["values"])
        if flag is None:
            raise BpdiagramError(f"values must be true or false (got {common['values']!r})")
        values = flag
    return EmbedOptions(backprop_to=backprop_to, show=common.get("show") or None, values=values,
                        alt=common.get("alt") or None, format=check_format(common.get("format") or "svg"),
                        theme=common.get("theme") or "default", extra=tuple(sorted(extra)))


def check_format(value: str) -> EmbedFormat:
    """``value`` as an embeddable format, or a ``BpdiagramError`` naming the valid ones."""
    name = value.strip().lower()
    for fmt in EMBED_FORMATS:
        if name == fmt:
            return fmt
    raise BpdiagramError(f"unknown format {value!r}; pages take {' or '.join(EMBED_FORMATS)}")


def spec_source(text: str, *, base: Path, file: str) -> tuple[str, str, Path | None]:
    """The spec's text and its name in messages, from a block's content: a spec, or ``file: PATH``.

    ``PATH`` is read relative to ``base``; the third value is the file read (for hosts that watch it).
    """
    stripped = text.strip()
    if stripped.startswith("file:") and "\n" not in stripped:
        name = stripped[len("file:"):].strip().strip("'\"")
        if not name:
            raise SpecError("'file:' needs the path of a spec file", file=file, line=1)
        path = (base / name) if not Path(name).is_absolute() else Path(name)
        return read_text(path, name), name, path
    return text, file, None


def read_text(path: Path, name: str) -> str:
    """The text of spec file ``path`` (``name`` in messages), with the checks every spec file gets."""
    from bpdiagram.spec.load import decode_spec, read_spec_bytes

    return decode_spec(read_spec_bytes(path, name), name)


def diagram_of(text: str, *, file: str, options: EmbedOptions, name: str = "diagram") -> Diagram:
    """The diagram of spec ``text`` with ``options``; every fault is a located ``BpdiagramError``."""
    from bpdiagram.diagram import Diagram

    extra: dict[str, object] = {}
    for key, value in options.extra:
        if key in _FLAGS:
            flag = _flag(value)
            if flag is None:
                raise BpdiagramError(f"{key.replace('_', '-')} must be true or false (got {value!r})")
            extra[key] = flag
        elif key == "batch":
            if not value.strip().isdigit():
                raise BpdiagramError(f"batch must be a number of examples (got {value!r})")
            extra[key] = int(value)
        else:
            extra[key] = value.strip()
    diagram = Diagram.from_text(text, file=file, name=name, theme=options.theme, values=options.values, **extra)
    if options.backprop_to is not None or options.show is not None:
        diagram = diagram.with_options(backprop_to=options.backprop_to, show=options.show)
    return diagram


def draw(text: str, *, file: str, options: EmbedOptions) -> Picture:
    """Spec ``text`` drawn as ``options.format``; errors are ``BpdiagramError`` with the spec's file and line."""
    diagram = diagram_of(text, file=file, options=options)
    title = diagram.spec.title or ""
    alt = options.alt or (f"Backpropagation diagram: {title}" if title else "Backpropagation diagram")
    return Picture(diagram.render(options.format), options.format, alt, picture_key(text, options))


def cached(text: str, *, file: str, options: EmbedOptions, folder: Path) -> Picture:
    """The picture of spec ``text`` from ``folder`` (the host's cache), or drawn and put there.

    The file is named by the picture's key, its alt text kept beside it, so a picture whose spec and
    options did not change is read back, never drawn again.
    """
    key = picture_key(text, options)
    data_file = folder / f"bpdiagram-{key}.{options.format}"
    alt_file = data_file.with_suffix(".alt")
    if data_file.is_file() and alt_file.is_file():
        return Picture(data_file.read_bytes(), options.format, alt_file.read_text(encoding="utf-8"), key)
    picture = draw(text, file=file, options=options)
    folder.mkdir(parents=True, exist_ok=True)
    data_file.write_bytes(picture.data)
    alt_file.write_text(picture.alt, encoding="utf-8")
    return picture


def in_page(exc: BpdiagramError, page: str) -> tuple[str, int | None]:
    """What a host says about ``exc`` in page ``page``, and the spec's line when the spec is the page's own.

    A spec written in the page (its errors name ``page``) gives the key and the reason, and its line, which
    the host moves to the page's line; a spec file's error keeps its own file and line, and no line is given.
    """
    if isinstance(exc, SpecError) and exc.file == page and exc.line is not None:
        return (f"{exc.key}: {exc.reason}" if exc.key else exc.reason), exc.line
    return str(exc), None


def picture_key(text: str, options: EmbedOptions) -> str:
    """A digest of everything the picture depends on: spec text, options, bpdiagram's version."""
    blob = json.dumps([__version__, text, options.backprop_to, options.show, options.values, options.format,
                       options.theme, list(options.extra)], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def _flag(value: str) -> bool | None:
    """A flag's text as a boolean (a bare flag is true); None when it is neither yes nor no."""
    low = value.strip().lower()
    if low in ("", "true", "yes", "on", "1"):
        return True
    if low in ("false", "no", "off", "0"):
        return False
    return None
