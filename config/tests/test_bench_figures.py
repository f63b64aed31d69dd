"""The benchmark figures in docs/ are the blocks the bench scripts write (``bench/figures.py``):
each block is whole, names the script and command that wrote it, and carries the checksum the
writer computed, so a figure typed or edited by hand fails here. The pages the benchmarks
feed hold no measured figure outside a block."""

from __future__ import annotations

import hashlib
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").glob("*.md"))
MARKER = re.compile(r"^<!-- bench:(?P<key>[^: ]*):(?P<side>start|end)(?P<rest>[^>]*)-->$", re.M)
END_REST = re.compile(r" sha256=(?P<sum>[0-9a-f]{16}) ")
COMMAND = re.compile(r"`\.venv/bin/python (?P<script>bench/\w+\.py)(?: [^`]*)?` on \d{4}-\d\d-\d\d ")
# A measured time, rate or ratio: "15.8 s", "34 ms", "60,000 rows/s", "135 req/s", "1.66x".
MEASURED = re.compile(r"\b\d[\d,.]* ?(?:ms|s|µs|req/s|rows/s)\b|\b\d+\.\d+x")
FED_PAGES = ("benchmarks.md", "performance.md")


def _writer():
    spec = importlib.util.spec_from_file_location("bench_figures", ROOT / "bench" / "figures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def blocks_check(text: str, root: Path = ROOT) -> tuple[list[str], list[str]]:
    """(the keys of the blocks in ``text``, what is wrong with them)."""
    keys: list[str] = []
    problems: list[str] = []
    open_at: re.Match[str] | None = None
    for found in MARKER.finditer(text):
        key, side, rest = found["key"], found["side"], found["rest"]
        if not re.fullmatch(r"[a-z0-9-]+", key):
            problems.append(f"block name {key!r}: lower-case letters, digits and dashes")
        if side == "start":
            if open_at is not None or rest.strip():
                problems.append(f"{key}: start marker inside a block or with text after its name")
            open_at = found
            continue
        if open_at is None or open_at["key"] != key:
            problems.append(f"{key}: end marker without its start")
            open_at = None
            continue
        body = text[open_at.end() + 1 : found.start()]
        open_at, keys = None, [*keys, key]
        checksum = END_REST.fullmatch(rest)
        if checksum is None:
            problems.append(f"{key}: end marker without the writer's checksum (never run?)")
        elif hashlib.sha256(body.encode()).hexdigest()[:16] != checksum["sum"]:
            problems.append(f"{key}: edited by hand (its checksum is not the writer's)")
        command = COMMAND.match(body)
        if command is None:
            problems.append(f"{key}: does not open with the command and date that wrote it")
            continue
        script = root / command["script"]
        source = script.read_text(encoding="utf-8") if script.exists() else ""
        if not re.search(rf'figures_write\(\s*"[\w-]+\.md",\s*"{key}"', source):
            problems.append(f"{key}: {command['script']} does not exist or does not write this block")
    if open_at is not None:
        problems.append(f"{open_at['key']}: start marker without its end")
    return keys, problems


def _outside_blocks(text: str) -> str:
    block = r"^<!-- bench:([\w-]+):start -->$.*?^<!-- bench:\1:end[^>]*-->$"
    return re.sub(block, "", text, flags=re.S | re.M)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_figure_block_is_whole_names_its_script_and_was_not_edited(page):
    assert blocks_check(page.read_text(encoding="utf-8"))[1] == []


def test_each_benchmark_block_appears_once_in_the_docs():
    keys = [key for page in PAGES for key in blocks_check(page.read_text(encoding="utf-8"))[0]]
    assert sorted(keys) == sorted(set(keys))
    assert {"ingest", "reprocess", "concurrency", "dashboard", "export", "invoices", "hostile"} <= set(keys)


@pytest.mark.parametrize("name", FED_PAGES)
def test_the_pages_the_benchmarks_feed_hold_no_measured_figure_outside_a_block(name):
    text = _outside_blocks((ROOT / "docs" / name).read_text(encoding="utf-8"))
    typed = [line for line in text.splitlines() if MEASURED.search(line) and not line.startswith(".venv")]
    assert typed == []


def test_a_block_the_writer_wrote_passes_and_any_hand_edit_fails(tmp_path):
    figures = _writer()
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "load.py").write_text('figures_write("page.md", "load", table)\n')
    run = {**figures.RUN, "command": ".venv/bin/python bench/load.py --rows 10", "note": "A note"}
    body = figures.block_body(run, [figures.table(["rows", "time"], [("10", "1.5 s")])])
    page = figures.block_replace(
        "# Load\n\n<!-- bench:load:start -->\n<!-- bench:load:end -->\nafter\n", "load", body
    )
    assert page.endswith("-->\nafter\n") and "| 10 | 1.5 s |" in page
    assert blocks_check(page, tmp_path) == (["load"], [])
    assert figures.block_replace(page, "load", body) == page  # written again: the same page

    edited = page.replace("1.5 s", "1.2 s")
    assert blocks_check(edited, tmp_path)[1] == ["load: edited by hand (its checksum is not the writer's)"]
    unsigned = re.sub(r" sha256=\w+", "", page)
    assert "never run" in blocks_check(unsigned, tmp_path)[1][0]
    assert "without its end" in blocks_check(page.replace("<!-- bench:load:end", "<!-- x"), tmp_path)[1][0]
    other = figures.block_replace(page, "load", body.replace("bench/load.py", "bench/gone.py"))
    gone = "load: bench/gone.py does not exist or does not write this block"
    assert blocks_check(other, tmp_path)[1] == [gone]
    with pytest.raises(ValueError, match="no <!-- bench:other:start -->"):
        figures.block_replace(page, "other", body)
