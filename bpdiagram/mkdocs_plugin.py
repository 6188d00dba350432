"""The ``bpdiagram`` plugin for MkDocs: fenced ``bpdiagram`` blocks become the diagram.

In ``mkdocs.yml``: ``plugins: [search, bpdiagram]``; in a page, a fence whose
info string is ``bpdiagram`` holds a spec, or ``file: PATH`` (relative to the
page's Markdown file)::

    ```bpdiagram alt="The staged computation" show=forward,backward
    program: |
      q = x + y
      f = q * z
    values: {x: -2, y: 5, z: -4}
    ```

Options follow the info string as ``name=value`` (quoted when the value has
spaces): ``alt``, ``show``, ``backprop-to``, ``values``, ``format`` (svg or
png), ``theme``, the flags ``shapes``, ``memory``, ``gradient-flow``, and
``inline`` (the SVG's markup in the page instead of an ``<img>``). The plugin's
own settings: ``inline`` (the default for every block) and ``cache_dir``.

Pictures are written to ``assets/bpdiagram/`` in the site, named by a digest of
spec, options and version, and kept in ``cache_dir`` between builds, so
``mkdocs serve`` draws only what changed; a spec file a page reads is watched
by ``mkdocs serve`` too. A bad spec is a warning naming the page and its line
(``mkdocs build --strict`` stops on it) and the block is left out.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from mkdocs.config import config_options
from mkdocs.config.base import Config
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

from bpdiagram.embed import Picture, cached, in_page, options_from, spec_source
from bpdiagram.errors import BpdiagramError

log = logging.getLogger("mkdocs.plugins.bpdiagram")
ASSETS = "assets/bpdiagram"
"""Where in the site the pictures go."""

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[^\s`{]*)(?P<info>[^\n]*)\n",
                    re.MULTILINE)
"""The opening line of any fenced block: other blocks are skipped whole, so a ``bpdiagram`` fence shown
inside a Markdown example stays text."""
_OPTION = re.compile(r"""([A-Za-z][\w-]*)(?:=("[^"]*"|'[^']*'|[^\s"']+))?""")


class BpdiagramConfig(Config):
    """The plugin's settings in ``mkdocs.yml``."""

    inline = config_options.Type(bool, default=False)
    """Put every SVG's markup into its page (a block's own ``inline`` asks for it one at a time)."""
    cache_dir = config_options.Type(str, default=".cache/plugin/bpdiagram")
    """Pictures kept between builds, relative to ``mkdocs.yml``'s folder."""


def fence_options(info: str) -> dict[str, str | None]:
    """The ``name=value`` options after ``bpdiagram`` on a fence line (a bare name is a flag).

    >>> fence_options(' alt="Two layers" show=forward,backward values')
    {'alt': 'Two layers', 'show': 'forward,backward', 'values': None}
    """
    out: dict[str, str | None] = {}
    for name, value in _OPTION.findall(info.strip().strip("{}")):
        out[name] = value[1:-1] if value[:1] in ("'", '"') else (value or None)
    return out


class BpdiagramPlugin(BasePlugin[BpdiagramConfig]):
    """Turns each ``bpdiagram`` fence into an ``<img>`` of the drawn file (or the SVG itself)."""

    def __init__(self) -> None:
        self.pictures: dict[str, Picture] = {}
        self.watched: set[Path] = set()
        self.cache = Path(".cache/plugin/bpdiagram")

    def on_config(self, config: Any) -> Any:
        """Resolve the cache folder beside ``mkdocs.yml``."""
        base = Path(config.config_file_path).parent if config.config_file_path else Path.cwd()
        self.cache = base / self.config.cache_dir
        self.pictures = {}
        return config

    def on_page_markdown(self, markdown: str, page: Page, config: Any, files: Files) -> str:
        """The page's Markdown with every ``bpdiagram`` fence replaced by its picture."""
        source = page.file.content_string if page.file.abs_src_path else markdown
        head = source.find(markdown)
        above = source[:head].count("\n") if head > 0 else 0  # lines of front matter MkDocs took off
        base = Path(page.file.abs_src_path).parent if page.file.abs_src_path else Path(config.docs_dir)
        out: list[str] = []
        at = 0
        for match in _FENCE.finditer(markdown):
            if match.start() < at:
                continue
            end, body = _block(markdown, match)
            if match.group("lang") == "bpdiagram":
                line = above + markdown.count("\n", 0, match.start()) + 1
                out.append(markdown[at:match.start()])
                out.append(self._replace(body, match, page, base, line))
            else:
                out.append(markdown[at:end])
            at = end
        out.append(markdown[at:])
        return "".join(out)

    def _replace(self, body: str, match: re.Match[str], page: Page, base: Path, line: int) -> str:
        indent = match.group("indent")
        where = page.file.src_uri
        try:
            given = fence_options(match.group("info"))
            inline = "inline" in given or self.config.inline
            given.pop("inline", None)
            options = options_from(given)
            text, name, path = spec_source(body, base=base, file=where)
            if path is not None:
                self.watched.add(path)
            picture = cached(text, file=name, options=options, folder=self.cache)
        except BpdiagramError as exc:
            message, spec_line = in_page(exc, where)
            log.warning("bpdiagram: %s:%d: %s", where, line + (spec_line or 0), message)
            return ""
        if inline and picture.format == "svg":
            return f'{indent}<div class="bpdiagram">{picture.inline_svg()}</div>\n'
        alt = _attr(picture.alt)
        self.pictures[picture.filename] = picture
        src = get_relative_url(f"{ASSETS}/{picture.filename}", page.url)
        return (f'{indent}<div class="bpdiagram"><img src="{_attr(src)}" alt="{alt}" '
                f'style="max-width: 100%; height: auto"></div>\n')

    def on_post_build(self, config: Any) -> None:
        """Write the pictures the pages use into the site."""
        folder = Path(config.site_dir) / ASSETS
        for name, picture in sorted(self.pictures.items()):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(picture.data)

    def on_serve(self, server: Any, config: Any, builder: Any) -> Any:
        """``mkdocs serve`` rebuilds when a spec file a page reads changes."""
        for path in sorted(self.watched):
            server.watch(str(path))
        return server


def _block(markdown: str, match: re.Match[str]) -> tuple[int, str]:
    """Where the fence opened by ``match`` ends, and its body with the fence's indentation taken off."""
    fence, indent = match.group("fence"), match.group("indent")
    closing = re.compile(rf"^{re.escape(indent)}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
    close = closing.search(markdown, match.end())
    stop = close.start() if close else len(markdown)
    end = close.end() + 1 if close else len(markdown)
    lines = markdown[match.end():stop].split("\n")
    body = "\n".join(ln[len(indent):] if ln.startswith(indent) else ln.lstrip() for ln in lines)
    return min(end, len(markdown)), body


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
