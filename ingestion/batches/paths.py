"""Which files a load means: files, folders (their files of a readable format) and glob patterns."""

from glob import glob
from pathlib import Path

from ingestion.pipeline.formats import INPUT_SUFFIXES

__all__ = ["INPUT_SUFFIXES", "input_files"]
PATH_NOT_FOUND = "no such file or folder: {path}"


def input_files(patterns: list[str]) -> list[Path]:
    """Expand ``patterns`` in order, without repeats. Raise ValueError for a missing path."""
    found: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if any(ch in pattern for ch in "*?["):
            matches = [Path(m) for m in sorted(glob(pattern, recursive=True))]
            found.extend(m for m in matches if m.is_file())
        elif path.is_dir():
            found.extend(
                sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise ValueError(PATH_NOT_FOUND.format(path=pattern))
    unique: dict[Path, Path] = {}
    for p in found:
        unique.setdefault(p.resolve(), p)
    return list(unique.values())
