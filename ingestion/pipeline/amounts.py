"""Money as the file writes it: each amount column's decimal convention, decided once per file.

``1,200.50`` can only be decimal-point and ``1.200,50`` only decimal-comma; ``1.200``
or ``1,200`` could be either. A column's convention is taken from its unambiguous
values (the first chunk of the file that holds any decides, by majority of rows);
from then on ambiguous values are read that way, and a value written the other way
is rejected rather than guessed. A column with no unambiguous value of its own is
read the way the file's other amount column is; until any has a convention, values
are read as before: decimal-point first, then a decimal comma with one or two decimals.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ingestion.pipeline.dates import formula_why

POINT, COMMA = "decimal-point", "decimal-comma"

CURRENCY = re.compile(r"(?i)usd|eur|\$|€")
SPACES = re.compile(r"[\s\u00a0\u202f]+")
US_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$", re.ASCII)
EU_NUMBER = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$", re.ASCII)
_EU_LEGACY = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d{1,2}$", re.ASCII)
_CENT = Decimal("0.01")


def _compact(text: str) -> str:
    value = SPACES.sub("", CURRENCY.sub("", text))
    if value.startswith("(") and value.endswith(")"):
        value = "-" + value[1:-1]
    return value


def _decimal(value: str) -> Decimal | None:
    try:
        return Decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None


def _as_point(value: str) -> Decimal | None:
    return _decimal(value.replace(",", "")) if US_NUMBER.match(value) else None


def _as_comma(value: str) -> Decimal | None:
    return _decimal(value.replace(".", "").replace(",", ".")) if EU_NUMBER.match(value) else None


def convention_of(text: str) -> str | None:
    """POINT or COMMA when the text can only be read one way with a different value, else None."""
    value = _compact(text)
    point, comma = _as_point(value), _as_comma(value)
    if point is not None and comma is None:
        return POINT if ("." in value or "," in value) else None
    if comma is not None and point is None:
        return COMMA
    return None


def amount_parse(text: str, convention: str | None = None) -> Decimal | None:
    """``'$ 1,200.50'`` -> ``Decimal('1200.50')`` rounded half-up to cents; None if not a number.

    With a ``convention`` only that reading is used; without one, decimal-point first,
    then a decimal comma with one or two decimals.
    """
    value = _compact(text)
    if convention == POINT:
        return _as_point(value)
    if convention == COMMA:
        return _as_comma(value)
    if US_NUMBER.match(value):
        return _as_point(value)
    if _EU_LEGACY.match(value):
        return _as_comma(value)
    return None


class AmountConventions:
    """The decimal convention of each amount column of one file, decided once and then fixed."""

    def __init__(self) -> None:
        self.decided: dict[str, str] = {}

    def decide(self, column: str, values, counts) -> str | None:
        """Decide ``column`` from (distinct value, rows) pairs unless it is decided already."""
        if column not in self.decided:
            votes: Counter = Counter()
            for value, rows in zip(values, counts, strict=True):
                kind = convention_of(str(value))
                if kind:
                    votes[kind] += int(rows)
            if votes:
                self.decided[column] = max(votes, key=lambda kind: (votes[kind], kind == POINT))
        if column in self.decided:
            return self.decided[column]
        return next(iter(self.decided.values()), None)  # the file's other amount column, if any


def money_read(text: str, *, column: str, limit_cents: int, convention: str | None) -> tuple:
    """(cents, "1234.50", "") or (None, None, why)."""
    value = text.strip()
    amount = amount_parse(value, convention)
    if amount is None:
        other = COMMA if convention == POINT else POINT
        if convention and amount_parse(value, other) is not None:
            return None, None, f"{column} {value!r} is written {other}, but this column is {convention}"
        if why := formula_why(column, value):
            return None, None, why
        return None, None, f"{column} {value!r} is not a number"
    if amount < 0:
        return None, None, f"{column} {value!r} is negative"
    cents = int(amount * 100)
    if cents > limit_cents:
        return None, None, f"{column} {value!r} is too large"
    return cents, f"{amount:.2f}", ""
