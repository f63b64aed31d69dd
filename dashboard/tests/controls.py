"""The "Every control" tables of the manual (``| page | control | kind | what it does |``), read
so a browser test finds each control on its page by its label or accessible name.

In the control cell each **bold** text is one control's name; ``N`` stands for a number and
``…`` for any text. The kind says how the page exposes it (a role or a label).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]
HEADER = "| page | control | kind | what it does |"


class Control(NamedTuple):
    page: str
    name: str
    kind: str


def controls_table(doc: str) -> list[Control]:
    """Every control the table under "Every control" in ``docs/<doc>`` names."""
    lines = (ROOT / "docs" / doc).read_text(encoding="utf-8").splitlines()
    start = lines.index(HEADER) + 2
    controls = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        page, named, kind, what = (cell.strip() for cell in line.strip("|").split("|"))
        assert what and kind in KINDS, line
        names = re.findall(r"\*\*(.+?)\*\*", named)
        assert names, line
        controls += [Control(page, name, kind) for name in names]
    return controls


def name_pattern(name: str) -> re.Pattern:
    """The accessible name a table's ``name`` stands for, whole (a form label's ``:`` aside)."""
    pattern = re.escape(name).replace("…", ".+")
    return re.compile("^" + re.sub(r"\bN\b", r"[\\d,]+", pattern) + ":?$")


# kind -> how Playwright finds it: a role (its accessible name), or a form field (its label)
ROLES = {
    "link": "link",
    "button": "button",
    "list": "combobox",
    "date field": "textbox",
    "text field": "textbox",
    "checkbox": "checkbox",
    "group of boxes": "group",
    "list action": "option",
}
LABELLED = {"file field"}
KINDS = {*ROLES, *LABELLED, "disclosure"}


def control_found(page, control: Control) -> bool:
    """Whether ``page`` shows ``control`` (a list action: among its action list's options)."""
    name = name_pattern(control.name)
    if control.kind in LABELLED:
        found = page.get_by_label(name)
    elif control.kind == "disclosure":
        found = page.locator("summary").filter(has_text=name)
    else:
        found = page.get_by_role(ROLES[control.kind], name=name, include_hidden=control.kind == "list action")
    return found.count() > 0 and (control.kind == "list action" or found.first.is_visible())


def controls_missing(page, controls: list[Control], where: str) -> list[str]:
    """The controls of the table's page ``where`` that ``page`` does not show."""
    return [
        f"{c.page}: {c.name} ({c.kind})" for c in controls if c.page == where and not control_found(page, c)
    ]
