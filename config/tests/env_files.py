"""Reading an env file as docker compose's ``env_file`` does (KEY=VALUE lines, # comments)."""

import re
from pathlib import Path

ASSIGNMENT = re.compile(r"^(?P<commented>#\s*)?(?P<key>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


def env_file_values(path: Path) -> dict[str, str]:
    """The variables the file sets (commented-out examples are not set)."""
    values = {}
    for line in path.read_text().splitlines():
        match = ASSIGNMENT.match(line.strip())
        if match and not match["commented"]:
            value = match["value"].strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[match["key"]] = value
    return values


def env_file_names(path: Path) -> set[str]:
    """Every variable the file names, set or shown commented out (``# NAME=example``)."""
    return {m["key"] for line in path.read_text().splitlines() if (m := ASSIGNMENT.match(line.strip()))}


def settings_source() -> str:
    """The text of every module of the settings package (``config/settings/``)."""
    folder = Path(__file__).resolve().parents[1] / "settings"
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.py")))
