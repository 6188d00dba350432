"""The shipped templates: one spec file each in ``templates/``.

A template's first line is a comment with its one-line description, shown by
``bpdiagram templates``. Installed packages carry them as ``bpdiagram/templates``;
a source checkout reads the repository's ``templates/`` folder.
"""

from __future__ import annotations

from pathlib import Path

from bpdiagram.errors import BpdiagramError

DEFAULT_TEMPLATE = "two-layer-binary"


def template_dir() -> Path:
    """The folder holding the template specs."""
    here = Path(__file__).resolve().parent
    installed = here / "templates"
    return installed if installed.is_dir() else here.parent / "templates"


def template_names() -> list[str]:
    """Every template name, sorted."""
    return sorted(p.stem for p in template_dir().glob("*.yaml"))


def template_path(name: str) -> Path:
    """The spec file of template ``name``; an unknown name lists the valid ones."""
    names = template_names()
    if name not in names:
        import difflib  # only for this message: ``bpdiagram templates`` starts without it

        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise BpdiagramError(f"unknown template {name!r}; {hint}run 'bpdiagram templates' to list them")
    return template_dir() / f"{name}.yaml"


def template_description(name: str) -> str:
    """The one-line description from the template's first comment line."""
    first = template_path(name).read_text(encoding="utf-8").splitlines()[0]
    return first.lstrip("#").strip() if first.startswith("#") else ""
