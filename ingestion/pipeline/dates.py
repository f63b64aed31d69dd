"""Dates as invoice files write them, and the text every rule treats as missing."""

from __future__ import annotations

import re
from datetime import date

MISSING_TOKENS = frozenset({"", "null", "n/a", "nan", "none"})
MIN_YEAR, MAX_YEAR = 1900, 2100

_TIME_SUFFIX = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_YMD = re.compile(r"^(\d{4})([-/])(\d{1,2})\2(\d{1,2})" + _TIME_SUFFIX + "$", re.ASCII)
_XYY = re.compile(r"^(\d{1,2})([-/])(\d{1,2})\2(\d{4})" + _TIME_SUFFIX + "$", re.ASCII)


def formula_why(column: str, value: str) -> str:
    return f"{column} is a formula with no saved result ({value})" if value.startswith("=") else ""


def date_parse(text: str, *, day_first: bool = True) -> tuple[date | None, str]:
    """Return (date, "") or (None, why)."""
    value = text.strip()
    if value.lower() in MISSING_TOKENS:
        return None, "issue_date is missing"
    match = _YMD.match(value)
    if match:
        candidates = [(int(match[1]), int(match[3]), int(match[4]))]
    else:
        match = _XYY.match(value)
        if not match:
            if why := formula_why("issue_date", value):
                return None, why
            return None, f"issue_date {value!r} is not in an accepted format"
        a, b, year = int(match[1]), int(match[3]), int(match[4])
        first, second = ((year, b, a), (year, a, b)) if day_first else ((year, a, b), (year, b, a))
        candidates = [first, second]
    for year, month, day in candidates:
        try:
            parsed = date(year, month, day)
        except ValueError:
            continue
        if not MIN_YEAR <= parsed.year <= MAX_YEAR:
            return None, f"issue_date {value!r} is outside {MIN_YEAR}-{MAX_YEAR}"
        return parsed, ""
    return None, f"issue_date {value!r} is not a real date"
