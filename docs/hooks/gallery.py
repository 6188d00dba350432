"""MkDocs hooks: the home page from README.md, and the gallery page from the templates folder.

The home page is the repository's README with its links made relative to the docs folder, so the front page
has one source.

Every ``templates/*.yaml`` gets a section with its description (the file's first comment line), its picture
(``docs/images/gallery/<name>.png``, drawn by ``make docs``), the command that draws it and its spec. A new
template therefore appears without editing any page, and a template whose picture is missing fails the build.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
PICTURES = ROOT / "docs" / "images" / "gallery"


def gallery_markdown() -> str:
    """The gallery page's Markdown: one section per template, in name order."""
    parts = ["# Gallery\n",
             "Every template that ships with bpdiagram, as `bpdiagram render -t NAME -f png` draws it. "
             "`bpdiagram templates NAME` prints a template's spec, ready to copy and edit.\n"]
    missing = []
    for spec in sorted(TEMPLATES.glob("*.yaml")):
        name = spec.stem
        text = spec.read_text(encoding="utf-8")
        first = text.splitlines()[0] if text else ""
        description = first.lstrip("#").strip() if first.startswith("#") else ""
        if not (PICTURES / f"{name}.png").is_file():
            missing.append(name)
        parts.append(f"## {name}\n\n{description}\n\n"
                     f"![{name}: {description}](images/gallery/{name}.png)\n\n"
                     f"```text\nbpdiagram render -t {name} -f png\n```\n\n"
                     f"??? note \"The spec\"\n\n    ```yaml\n" +
                     "".join(f"    {line}\n" for line in text.splitlines()) + "    ```\n")
    if missing:
        raise PluginError(f"gallery: no picture for the templates {', '.join(missing)} "
                          "in docs/images/gallery (run 'make docs')")
    return "\n".join(parts)


def home_markdown() -> str:
    """README.md with ``docs/...`` links made relative to the docs folder."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.replace("](docs/", "](").replace("(see `LICENSE`)", "(see the repository's `LICENSE`)")


def on_files(files: Files, config: Any) -> Files:
    """Add the generated home and gallery pages to the site's files."""
    files.append(File.generated(config, "index.md", content=home_markdown()))
    files.append(File.generated(config, "gallery.md", content=gallery_markdown()))
    return files
