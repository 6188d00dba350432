"""The rebuild loop behind ``bpdiagram watch``: build, then build again whenever a spec file changes.

The process stays up, so the imports (numpy, graphviz, the writers) and the
template catalogue are paid once; a rebuild only reads the spec and lays it
out. File changes come from ``watchfiles`` (inotify on Linux, FSEvents on
macOS, a Rust core), which watches each spec's folder: editors that save by
writing a new file and renaming it over the old one are seen as well.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bpdiagram.errors import BpdiagramError
from bpdiagram.render_job import Options, Source, plan, write
from bpdiagram.serve import Site

DEBOUNCE_MS = 150
"""Changes arriving together (an editor's save, a ``git checkout``) make one build; well under a second."""


class Watcher:
    """Builds ``sources`` into ``output``, reporting each build as one line, and rebuilds what changes."""

    def __init__(self, sources: list[Source], options: Options, output: Path, *, echo: Callable[[str], None],
                 fail: Callable[[str], None], site: Site | None = None) -> None:
        self.sources = sources
        self.options = options
        self.output = output
        self.echo = echo
        self.fail = fail
        self.site = site
        self.watched = {source.path.resolve(): source for source in sources}

    def build(self, source: Source) -> bool:
        """Build one source; one ``rendered:`` or ``error:`` line. Whether it built."""
        try:
            build = plan(source, self.options, self.output)
            page = build.html_page() if self.site is not None and build.html_page is not None else None
            written = write(build)
        except BpdiagramError as exc:
            self.fail(str(exc))
            if self.site is not None:
                self.site.publish_error(source.stem, str(exc))
            return False
        self.echo("rendered: " + " ".join(str(p) for p in written))
        if self.site is not None and page is not None:
            self.site.publish(source.stem, page)
        return True

    def build_all(self) -> None:
        """Build every source once, in order."""
        for source in self.sources:
            self.build(source)

    def changed(self, paths: set[Path]) -> list[Source]:
        """The sources whose spec files are among ``paths`` (resolved), in the order they were given."""
        return [source for path, source in self.watched.items() if path in paths]

    def watch(self) -> None:
        """Rebuild each spec that changes, until Ctrl-C (which raises KeyboardInterrupt)."""
        from watchfiles import watch

        folders = sorted({str(path.parent) for path in self.watched})
        names = set(map(str, self.watched))
        for changes in watch(*folders, watch_filter=lambda _change, path: str(Path(path).resolve()) in names,
                             debounce=DEBOUNCE_MS, step=50, recursive=False, raise_interrupt=True):
            for source in self.changed({Path(path).resolve() for _, path in changes}):
                self.build(source)
