"""The README's "Where to change what" map names files that exist, and the symbols it names
are defined where it says: a moved module or a renamed function makes the map fail here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _map() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Where to change what")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_every_path_the_map_names_exists():
    paths = set(re.findall(r"`(\w[\w./-]*/[\w.-]*)`", _map()))  # not URLs (/api/...)
    assert len(paths) > 20  # the map is there and names its files
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert missing == []


def test_the_symbols_the_map_names_are_defined_in_the_file_beside_them():
    """In a row, `Name` … `path/file.py`: the file defines Name (a class, function or table)."""
    rows = [line for line in _map().splitlines() if line.startswith("| **")]
    pairs = [
        (symbol, path)
        for row in rows
        for symbol, path in re.findall(r"`(\w+)`(?: entry)?(?: in)? \(?`([\w/]+\.py)`", row)
    ]
    assert len(pairs) >= 6
    for symbol, path in pairs:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert re.search(rf"^(?:class |def |){symbol}\b", source, re.M), (symbol, path)
