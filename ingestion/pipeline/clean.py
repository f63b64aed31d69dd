"""Clean and validate raw invoice rows: pure functions over DataFrames, no database.

Most columns hold few distinct values (a handful of customers, items, prices,
a few hundred dates), so each distinct value is cleaned once and the result is
mapped back: exact, and an order of magnitude cheaper than per-row work.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np
import pandas as pd

from ingestion.pipeline.columns import RAW_COLUMNS

# Reason codes, in the order rows are checked: the first failure is the reason.
UNKNOWN_INVOICE_ID = "UNKNOWN_INVOICE_ID"
INVALID_DATE = "INVALID_DATE"
UNKNOWN_CUSTOMER = "UNKNOWN_CUSTOMER"
UNKNOWN_ITEM = "UNKNOWN_ITEM"
UNKNOWN_STATUS = "UNKNOWN_STATUS"
INVALID_QUANTITY = "INVALID_QUANTITY"
INVALID_UNIT_PRICE = "INVALID_UNIT_PRICE"
INVALID_TOTAL = "INVALID_TOTAL"
TOTAL_MISMATCH = "TOTAL_MISMATCH"
DUPLICATE_INVOICE_ID = "DUPLICATE_INVOICE_ID"
REASONS = (
    UNKNOWN_INVOICE_ID,
    INVALID_DATE,
    UNKNOWN_CUSTOMER,
    UNKNOWN_ITEM,
    UNKNOWN_STATUS,
    INVALID_QUANTITY,
    INVALID_UNIT_PRICE,
    INVALID_TOTAL,
    TOTAL_MISMATCH,
    DUPLICATE_INVOICE_ID,
)

MISSING_TOKENS = frozenset({"", "null", "n/a", "nan", "none"})
INVOICE_ID_MAX_LENGTH = 64
MAX_QTY = 2_147_483_647
MAX_UNIT_PRICE_CENTS = 10**12 - 1  # decimal(12,2)
MAX_TOTAL_CENTS = 10**14 - 1  # decimal(14,2)
MIN_YEAR, MAX_YEAR = 1900, 2100

_CURRENCY = re.compile(r"(?i)usd|eur|\$|€")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_US_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$", re.ASCII)
_EU_NUMBER = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d{1,2}$", re.ASCII)
_TIME_SUFFIX = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_YMD = re.compile(r"^(\d{4})([-/])(\d{1,2})\2(\d{1,2})" + _TIME_SUFFIX + "$", re.ASCII)
_XYY = re.compile(r"^(\d{1,2})([-/])(\d{1,2})\2(\d{4})" + _TIME_SUFFIX + "$", re.ASCII)
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Dimensions:
    """Natural key -> surrogate key, keys already normalised (see ``dimensions_from_rows``)."""

    customers: dict[str, int]
    items: dict[str, int]
    statuses: dict[str, int]


def dimensions_from_rows(*, customers, items, statuses) -> Dimensions:
    """Build lookups from (natural key, surrogate key) pairs."""
    return Dimensions(
        customers={str(k).strip().upper(): v for k, v in customers},
        items={_item_key(k): v for k, v in items},
        statuses={str(k).strip().upper(): v for k, v in statuses},
    )


def _item_key(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def _per_distinct(values: pd.Series, func, *, slots: int) -> tuple[np.ndarray, ...]:
    """Apply ``func`` (value -> tuple of ``slots``) to each distinct value; one array per slot."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    results = [func(u) for u in uniques]
    columns = list(zip(*results)) if results else [()] * slots
    out = []
    for column in columns:
        arr = np.empty(len(column), dtype=object)
        arr[:] = column
        out.append(arr[codes])
    return tuple(out)


# --- single values -------------------------------------------------------------


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


def amount_parse(text: str) -> Decimal | None:
    """``'$ 1,200.50'`` -> ``Decimal('1200.50')`` rounded half-up to cents; None if not a number."""
    value = _SPACES.sub("", _CURRENCY.sub("", text))
    if value.startswith("(") and value.endswith(")"):
        value = "-" + value[1:-1]
    if _US_NUMBER.match(value):
        value = value.replace(",", "")
    elif _EU_NUMBER.match(value):
        value = value.replace(".", "").replace(",", ".")
    else:
        return None
    try:
        return Decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None


def _money(text: str, *, column: str, limit_cents: int) -> tuple[object, object, str]:
    """(cents, "1234.50", "") or (None, None, why)."""
    value = text.strip()
    if value.lower() in MISSING_TOKENS:
        return None, None, f"{column} is missing"
    amount = amount_parse(value)
    if amount is None:
        return None, None, f"{column} {value!r} is not a number"
    if amount < 0:
        return None, None, f"{column} {value!r} is negative"
    cents = int(amount * 100)
    if cents > limit_cents:
        return None, None, f"{column} {value!r} is too large"
    return cents, f"{amount:.2f}", ""


def _quantity(text: str) -> tuple[object, str]:
    value = text.strip()
    if value.lower() in MISSING_TOKENS:
        return None, "qty is missing"
    compact = _SPACES.sub("", value)
    exact = Decimal(compact.replace(",", "")) if _US_NUMBER.match(compact) else None
    if exact is None or exact != exact.to_integral_value():
        return None, f"qty {value!r} is not a whole number"
    qty = int(exact)
    if qty <= 0:
        return None, f"qty {value!r} is not positive"
    if qty > MAX_QTY:
        return None, f"qty {value!r} is too large"
    return qty, ""


# --- the frame ------------------------------------------------------------------


def _generated_invoice_ids(raw: pd.DataFrame) -> pd.Series:
    """A deterministic ``GEN-`` id from a row's content, so a re-load gives the same id."""
    content = raw[list(RAW_COLUMNS[1:])].apply(lambda col: col.str.strip()).agg("\x1f".join, axis=1)
    return "GEN-" + content.map(lambda s: hashlib.sha256(s.encode()).hexdigest()[:20])


def invoices_clean(
    raw: pd.DataFrame,
    *,
    dims: Dimensions,
    day_first: bool = True,
    allow_missing_invoice_id: bool = False,
) -> pd.DataFrame:
    """Add the cleaned columns, ``reason`` (first failure) and ``detail`` (every failure).

    ``raw`` holds the nine raw columns as text. Returned columns: ``clean_invoice_id,
    clean_issue_date, customer_key, item_key, status_key, clean_qty, clean_unit_price,
    clean_total, reason, detail`` (cleaned values are null where a rule failed).
    Duplicates across the file are found later, over the whole batch.
    """
    n = len(raw)
    failures: list[tuple[str, np.ndarray, np.ndarray]] = []  # (reason, failed mask, message)

    invoice_id = raw["invoice_id"].str.strip()
    id_missing = invoice_id.str.lower().isin(MISSING_TOKENS).to_numpy()
    if allow_missing_invoice_id and id_missing.any():
        invoice_id = invoice_id.where(~id_missing, _generated_invoice_ids(raw))
        id_missing = np.zeros(n, dtype=bool)
    id_too_long = (invoice_id.str.len() > INVOICE_ID_MAX_LENGTH).to_numpy()
    failures.append(
        (
            UNKNOWN_INVOICE_ID,
            id_missing | id_too_long,
            np.where(
                id_missing,
                "invoice_id is missing",
                f"invoice_id is longer than {INVOICE_ID_MAX_LENGTH} characters",
            ),
        )
    )

    dates, date_why = _per_distinct(raw["issue_date"], lambda v: date_parse(v, day_first=day_first), slots=2)
    failures.append((INVALID_DATE, date_why != "", date_why))

    for column, reason, lookup, normalise, dim in (
        ("customer_id", UNKNOWN_CUSTOMER, dims.customers, str.upper, "dim_customer"),
        ("item_description", UNKNOWN_ITEM, dims.items, _item_key, "dim_item"),
        ("status", UNKNOWN_STATUS, dims.statuses, str.upper, "dim_status"),
    ):

        def resolve(value, lookup=lookup, normalise=normalise, column=column, dim=dim):
            text = value.strip()
            if text.lower() in MISSING_TOKENS:
                return None, f"{column} is missing"
            key = lookup.get(normalise(text))
            return (key, "") if key is not None else (None, f"{column} {text!r} is not in {dim}")

        keys, why = _per_distinct(raw[column], resolve, slots=2)
        raw_keys = pd.array(keys, dtype="Int64")
        if column == "customer_id":
            customer_key = raw_keys
        elif column == "item_description":
            item_key = raw_keys
        else:
            status_key = raw_keys
        failures.append((reason, why != "", why))

    qty, qty_why = _per_distinct(raw["qty"], _quantity, slots=2)
    failures.append((INVALID_QUANTITY, qty_why != "", qty_why))
    price_cents, price_text, price_why = _per_distinct(
        raw["unit_price"],
        lambda v: _money(v, column="unit_price", limit_cents=MAX_UNIT_PRICE_CENTS),
        slots=3,
    )
    failures.append((INVALID_UNIT_PRICE, price_why != "", price_why))
    total_cents, total_text, total_why = _per_distinct(
        raw["total"], lambda v: _money(v, column="total", limit_cents=MAX_TOTAL_CENTS), slots=3
    )
    failures.append((INVALID_TOTAL, total_why != "", total_why))

    numbers_ok = (qty_why == "") & (price_why == "") & (total_why == "")
    mismatch = np.zeros(n, dtype=bool)
    mismatch_why = np.full(n, "", dtype=object)
    if numbers_ok.any():
        q = np.where(numbers_ok, qty, 0).astype(object)
        p = np.where(numbers_ok, price_cents, 0).astype(object)
        t = np.where(numbers_ok, total_cents, 0).astype(object)
        mismatch = numbers_ok & (q * p != t)  # Python ints: exact, no overflow
        for i in np.flatnonzero(mismatch):
            mismatch_why[i] = (
                f"total {total_text[i]} != qty {qty[i]} x unit_price {price_text[i]}"
                f" = {Decimal(q[i] * p[i]) / 100:.2f}"
            )
    failures.append((TOTAL_MISMATCH, mismatch, mismatch_why))

    reason = np.full(n, None, dtype=object)
    any_failed = np.zeros(n, dtype=bool)
    for code, failed, _ in failures:
        reason[failed & ~any_failed] = code
        any_failed |= failed
    detail = np.full(n, None, dtype=object)
    rejected = np.flatnonzero(any_failed)
    if len(rejected):
        parts = [
            np.where(failed[rejected], f"{code}: " + messages[rejected].astype(str), "")
            for code, failed, messages in failures
        ]
        detail[rejected] = ["; ".join(p for p in row if p) for row in zip(*parts)]

    valid = ~any_failed
    out = pd.DataFrame(index=raw.index)
    out["clean_invoice_id"] = invoice_id.where(valid)
    out["clean_issue_date"] = pd.Series(np.where(valid, dates, None), index=raw.index)
    out["customer_key"] = pd.Series(customer_key, index=raw.index).where(valid)
    out["item_key"] = pd.Series(item_key, index=raw.index).where(valid)
    out["status_key"] = pd.Series(status_key, index=raw.index).where(valid)
    out["clean_qty"] = pd.Series(pd.array(np.where(valid, qty, None), dtype="Int64"), index=raw.index)
    out["clean_unit_price"] = pd.Series(np.where(valid, price_text, None), index=raw.index)
    out["clean_total"] = pd.Series(np.where(valid, total_text, None), index=raw.index)
    out["reason"] = reason
    out["detail"] = detail
    return out
