"""The docs' benchmark figures, written by the benchmarks themselves, never typed.

A benchmark run with ``--write-docs`` replaces its block in the page of ``docs/`` it feeds::

    <!-- bench:ingest:start -->
    `.venv/bin/python bench/ingest.py ...` on <date> at commit <sha>; <cores> cores, <RAM>;
    load average at start 1/5/15 min; then the tables of its figures
    <!-- bench:ingest:end sha256=<checksum of the lines between the markers> -->

``figures_write`` is the one writer; each script calls it at the end of its ``main`` with its
figures as Markdown tables (``table``, ``summary_table``). ``config/tests/test_bench_figures.py``
fails on a block edited by hand (its checksum), a marker without its pair, and a block whose
command names no bench script that writes it.

The run's start (date, load average, command line) is recorded when this module is first
imported: ``benchdb`` imports it, and every benchmark imports ``benchdb`` before it does any
work. ``--write-docs`` (and ``--docs-note TEXT``, a sentence added to the block, such as why
the size is not the documented one) are taken off ``sys.argv`` then, so each script's own
options stay as they are.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import re
import shlex
import statistics
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FLAG, NOTE = "--write-docs", "--docs-note"


def _commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    sha = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs")  # docs: the blocks
    return f"`{sha}`" + (" with uncommitted changes" if changed else "")


def _run_start(argv: list[str]) -> dict:
    """The run as it started: the command (without the note) and the load; ``argv`` loses the
    options this module reads."""
    note = ""
    if NOTE in argv[:-1]:
        at = argv.index(NOTE)
        note = argv[at + 1]
        del argv[at : at + 2]
    command = [".venv/bin/python", os.path.relpath(Path(argv[0]).resolve(), ROOT), *argv[1:]]
    write = FLAG in argv
    if write:
        argv.remove(FLAG)
    return {
        "write": write,
        "note": note,
        "command": shlex.join(command),
        "date": dt.datetime.now(dt.UTC),
        "load": os.getloadavg(),
        "commit": _commit(),
    }


RUN = _run_start(sys.argv)


def checksum(body: str) -> str:
    """The first 16 hex digits of the sha256 of a block's lines between its markers."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


def figure(value: float) -> str:
    """A measured number as the docs print it: three significant digits, whole from 100 up."""
    if isinstance(value, int):
        return f"{value:,}"
    decimals = next((n for n, below in ((3, 1), (2, 10), (1, 100)) if abs(value) < below), 0)
    return f"{value:,.{decimals}f}"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table; numbers right-aligned."""
    cells = [[str(cell) for cell in row] for row in rows]
    numeric = [
        all(re.fullmatch(r"[-+]?[\d,.]+( ?[a-zA-Z%/]+)?", row[i] or "0") for row in cells)
        for i in range(len(header))
    ]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "".join("---:|" if right else "---|" for right in numeric),
        *("| " + " | ".join(row) + " |" for row in cells),
    ]
    return "\n".join(lines)


_UNITS = (("_per_s", "/s"), ("_seconds", " s"), ("_mb", " MB"), ("_ms", " ms"), ("_s", "/s"), ("_", " "))


def _label(name: str) -> str:
    """``rows_per_s`` -> ``rows/s``, ``peak_rss_mb`` -> ``peak rss MB``, ``req_s`` -> ``req/s``."""
    return functools.reduce(lambda label, unit: label.replace(*unit), _UNITS, name)


def summary_table(line: str) -> str:
    """A script's ``SUMMARY name=value ...`` line as a two-column table."""
    pairs = [field.partition("=") for field in line.split()[1:]]
    return table(["figure", "value"], [(_label(name), value) for name, _, value in pairs])


def records_table(records: dict[str, dict[str, float]], first: str = "run") -> str:
    """One row per named record (``{"idle": {"req_s": 135.2, ...}}``), a column per key."""
    keys = list(dict.fromkeys(key for record in records.values() for key in record))
    rows = [
        (name, *(figure(record[key]) if key in record else "" for key in keys))
        for name, record in records.items()
    ]
    return table([first, *map(_label, keys)], rows)


def medians_table(header: Sequence[str], runs: Sequence[dict[str, float]]) -> str:
    """One row per name found in ``runs`` (in order of appearance): the median of its values."""
    names = list(dict.fromkeys(name for run in runs for name in run))
    medians = [statistics.median(run[name] for run in runs if name in run) for name in names]
    return table(header, [(f"`{name}`", f"{value:,.2f}") for name, value in zip(names, medians)])


def _machine() -> str:
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {ram:.1f} GiB RAM"


def block_body(run: dict, parts: Sequence[str]) -> str:
    """What goes between the markers: who, when, where, then the figures."""
    load = " / ".join(f"{value:.1f}" for value in run["load"])
    header = (
        f"`{run['command']}` on {run['date']:%Y-%m-%d %H:%M} UTC at commit {run['commit']};"
        f" {_machine()}; load average at start {load} (1 / 5 / 15 min)."
    )
    if run["note"]:
        header += f" {run['note'].rstrip('.')}."
    return "\n\n".join([header, *parts]) + "\n"


def block_replace(text: str, key: str, body: str) -> str:
    """``text`` with the block ``key`` holding ``body``; ValueError if it has no such block."""
    start, end = f"<!-- bench:{key}:start -->\n", f"<!-- bench:{key}:end"
    first = text.find(start)
    last = text.find(end, first)
    if first < 0 or last < 0:
        raise ValueError(f"no {start.strip()} ... {end} --> block")
    close = text.index("-->", last) + 3
    return f"{text[: first + len(start)]}{body}{end} sha256={checksum(body)} -->{text[close:]}"


def figures_write(page: str, key: str, *parts: str) -> None:
    """Put ``parts`` (Markdown tables) in block ``key`` of ``docs/page``, when run with --write-docs."""
    if not RUN["write"]:
        return
    path = DOCS / page
    try:
        text = block_replace(path.read_text(encoding="utf-8"), key, block_body(RUN, parts))
        path.write_text(text, encoding="utf-8")
    except (OSError, ValueError) as error:
        sys.exit(f"the figures were not written to docs/{page}: {error}")
    print(f"figures written to docs/{page} (bench:{key})")
