"""Files written whole or not at all: a reader never sees half a file, a failed save leaves the folder as it was."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bpdiagram.errors import OutputError


def write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder, so no reader sees half a file."""
    return write_all([(path, data)])[0]


def write_all(payloads: list[tuple[Path, bytes]]) -> list[Path]:
    """Write every file of a diagram, or none of them: no partial output.

    Each file first goes to a temporary file beside its target; only when all are written are they
    renamed into place, each target's previous file kept aside until the last rename succeeds. A
    failure anywhere (a target that is a folder, a full disk) removes the temporary files and puts
    back the files that were there before, so the folder is as it was.
    """
    for target, _ in payloads:
        if target.is_dir():
            raise OutputError(f"{target}: cannot write: is a directory")
    temps: list[Path] = []
    kept: list[tuple[Path, Path | None]] = []  # (target, its previous file set aside) for each rename done
    try:
        for target, data in payloads:
            temps.append(_temporary(target, data))
        for target, temp in zip((t for t, _ in payloads), temps, strict=True):
            previous = None
            if target.exists():
                previous = target.with_name(f".{target.name}.{temp.name.rsplit('.', 2)[-2]}.old")
                _rename(target, previous)
            kept.append((target, previous))
            _rename(temp, target)
    except OutputError:
        for temp in temps:
            temp.unlink(missing_ok=True)
        for target, previous in reversed(kept):
            if previous is not None:
                os.replace(previous, target)
            else:
                target.unlink(missing_ok=True)
        raise
    for _, previous in kept:
        if previous is not None:
            previous.unlink(missing_ok=True)
    return [target for target, _ in payloads]


def _temporary(target: Path, data: bytes) -> Path:
    """``data`` written to a new temporary file in ``target``'s folder."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"{target.parent}: cannot write: {exc.strerror or exc}") from None
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, 0o644)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from None
    return temp


def _rename(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from None
