"""Clean and validate raw invoice rows: pure functions over DataFrames, no database.

Most columns hold few distinct values (a handful of customers, items, prices,
a few hundred dates), so each distinct value is cleaned once and the result is
mapped back: exact, and an order of magnitude cheaper than per-row work.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from ingestion.pipeline.amounts import SPACES, US_NUMBER, AmountConventions, money_read
from ingestion.pipeline.amounts import amount_parse as amount_parse
from ingestion.pipeline.columns import FIELD_CUT, FIELD_CUT_KEEP, RAW_COLUMNS
from ingestion.pipeline.dates import MISSING_TOKENS as MISSING_TOKENS
from ingestion.pipeline.dates import date_parse as date_parse
from ingestion.pipeline.dates import formula_why
from ingestion.pipeline.rules import DUPLICATE_INVOICE_ID as DUPLICATE_INVOICE_ID
from ingestion.pipeline.rules import REASONS as REASONS
from ingestion.pipeline.rules import Reason

# Reason codes are declared once, with their order and columns, in ``rules.py``.

INVOICE_ID_MAX_LENGTH = 64
MAX_QTY = 2_147_483_647
MAX_UNIT_PRICE_CENTS = 10**12 - 1  # decimal(12,2)
MAX_TOTAL_CENTS = 10**14 - 1  # decimal(14,2)

# Removed from ids before matching: zero-width characters and non-breaking spaces.
_INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u00a0\u2007\u202f"
_INVISIBLE = dict.fromkeys(map(ord, _INVISIBLE_CHARS))
_INVISIBLE_ANY = f"[{_INVISIBLE_CHARS}]"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NULL = np.array(None, dtype=object)  # 0-d: np.where's types take no bare None


def _kept(valid: np.ndarray, values) -> np.ndarray:
    """``values`` where the row passed, None elsewhere (an object array)."""
    return np.where(valid, values, _NULL)


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


def _money(text: str, *, column: str, limit_cents: int, convention: str | None) -> tuple:
    if text.strip().lower() in MISSING_TOKENS:
        return None, None, f"{column} is missing"
    return money_read(text, column=column, limit_cents=limit_cents, convention=convention)


def _quantity(text: str) -> tuple[object, str]:
    value = text.strip()
    if value.lower() in MISSING_TOKENS:
        return None, "qty is missing"
    if why := formula_why("qty", value):
        return None, why
    compact = SPACES.sub("", value)
    exact = Decimal(compact.replace(",", "")) if US_NUMBER.match(compact) else None
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


def _id_clean(values: pd.Series) -> pd.Series:
    """Trim, and remove zero-width characters and non-breaking spaces anywhere in the id."""
    if values.str.contains(_INVISIBLE_ANY, regex=True).any():
        values = values.str.replace(_INVISIBLE_ANY, "", regex=True)
    return values.str.strip()


def _control_position(text: str) -> int:
    match = _CONTROL.search(text)
    return match.start() + 1 if match else 0


def _too_long(raw: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Rows holding a field the reader cut (see ``columns.FIELD_CUT``), and which."""
    n = len(raw)
    failed = np.zeros(n, dtype=bool)
    why = np.full(n, "", dtype=object)
    marker = FIELD_CUT.split("{", 1)[0]
    columns = [*RAW_COLUMNS, "extra"] if "extra" in raw.columns else RAW_COLUMNS
    for column in columns:
        values = raw[column]
        if column == "extra":
            if values.isna().all():
                continue
            values = values.fillna("")
        if not len(values) or values.str.len().max() < FIELD_CUT_KEEP:
            continue  # a cut field is longer than the start it keeps
        cut = values.str.contains(marker, regex=False).to_numpy(dtype=bool)
        if cut.any():
            for i in np.flatnonzero(cut):
                text = str(values.iloc[int(i)])
                size = text[text.rindex(marker) + len(marker) :].split(" ", 1)[0]
                name = "an extra column" if column == "extra" else column
                why[i] = f"{why[i]}, " if why[i] else ""
                why[i] += f"{name} is longer than the field limit ({size} bytes)"
            failed |= cut
    return failed, why


def invoices_clean(
    raw: pd.DataFrame,
    *,
    dims: Dimensions,
    day_first: bool = True,
    allow_missing_invoice_id: bool = False,
    conventions: AmountConventions | None = None,
) -> pd.DataFrame:
    """Add the cleaned columns, ``reason`` (first failure) and ``detail`` (every failure).

    ``raw`` holds the nine raw columns as text. Returned columns: ``clean_invoice_id,
    clean_issue_date, customer_key, item_key, status_key, clean_qty, clean_unit_price,
    clean_total, reason, detail`` (cleaned values are null where a rule failed).
    ``conventions`` carries each amount column's decimal convention from one chunk of a
    file to the next. Duplicates across the file are found later, over the whole batch.
    """
    n = len(raw)
    conventions = conventions if conventions is not None else AmountConventions()
    failures: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # reason -> (failed mask, message)
    failures[Reason.FIELD_TOO_LONG] = _too_long(raw)

    invoice_id = _id_clean(raw["invoice_id"])
    id_missing = invoice_id.str.lower().isin(MISSING_TOKENS).to_numpy()
    if allow_missing_invoice_id and id_missing.any():
        invoice_id = invoice_id.where(~id_missing, _generated_invoice_ids(raw))
        id_missing = np.zeros(n, dtype=bool)
    id_too_long = (invoice_id.str.len() > INVOICE_ID_MAX_LENGTH).to_numpy()
    id_control = invoice_id.str.contains(_CONTROL, regex=True).to_numpy(dtype=bool)
    id_why = np.where(
        id_missing,
        "invoice_id is missing",
        f"invoice_id is longer than {INVOICE_ID_MAX_LENGTH} characters",
    ).astype(object)
    for i in np.flatnonzero(id_control & ~id_missing & ~id_too_long):
        position = _control_position(str(invoice_id.iloc[int(i)]))
        id_why[i] = f"invoice_id contains a control character at position {position}"
    failures[Reason.UNKNOWN_INVOICE_ID] = (id_missing | id_too_long | id_control, id_why)

    dates, date_why = _per_distinct(raw["issue_date"], lambda v: date_parse(v, day_first=day_first), slots=2)
    failures[Reason.INVALID_DATE] = (date_why != "", date_why)

    def customer_normalise(text: str) -> str:
        return text.translate(_INVISIBLE).strip().upper()

    for column, rule, lookup, normalise, dim in (
        ("customer_id", Reason.UNKNOWN_CUSTOMER, dims.customers, customer_normalise, "dim_customer"),
        ("item_description", Reason.UNKNOWN_ITEM, dims.items, _item_key, "dim_item"),
        ("status", Reason.UNKNOWN_STATUS, dims.statuses, str.upper, "dim_status"),
    ):

        def resolve(value, lookup=lookup, normalise=normalise, column=column, dim=dim):
            text = value.strip()
            if text.lower() in MISSING_TOKENS:
                return None, f"{column} is missing"
            if position := _control_position(text):
                return None, f"{column} contains a control character at position {position}"
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
        failures[rule] = (why != "", why)

    qty, qty_why = _per_distinct(raw["qty"], _quantity, slots=2)
    failures[Reason.INVALID_QUANTITY] = (qty_why != "", qty_why)
    money = {}
    for column, rule, limit in (
        ("unit_price", Reason.INVALID_UNIT_PRICE, MAX_UNIT_PRICE_CENTS),
        ("total", Reason.INVALID_TOTAL, MAX_TOTAL_CENTS),
    ):
        counts = raw[column].value_counts(sort=False)
        convention = conventions.decide(column, counts.index, counts.to_numpy())

        def read(value, column=column, limit=limit, convention=convention):
            return _money(value, column=column, limit_cents=limit, convention=convention)

        cents, text, why = _per_distinct(raw[column], read, slots=3)
        money[column] = (cents, text, why)
        failures[rule] = (why != "", why)
    price_cents, price_text, price_why = money["unit_price"]
    total_cents, total_text, total_why = money["total"]

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
    failures[Reason.TOTAL_MISMATCH] = (mismatch, mismatch_why)

    ordered = [(code.value, *failures[code]) for code in Reason if code in failures]
    reason = np.full(n, None, dtype=object)
    any_failed = np.zeros(n, dtype=bool)
    for code, failed, _ in ordered:
        reason[failed & ~any_failed] = code
        any_failed |= failed
    detail = np.full(n, None, dtype=object)
    failed_rules = np.sum([failed for _, failed, _ in ordered], axis=0)
    one_rule = failed_rules == 1
    for code, failed, messages in ordered:  # most rows fail one rule: its message alone
        one = np.flatnonzero(failed & one_rule)
        detail[one] = [f"{code}: {message}" for message in messages[one].tolist()]
    several = np.flatnonzero(failed_rules > 1)
    if len(several):
        parts = [
            np.where(failed[several], f"{code}: " + messages[several].astype(str), "")
            for code, failed, messages in ordered
        ]
        detail[several] = ["; ".join(p for p in row if p) for row in zip(*parts)]

    valid = ~any_failed
    out = pd.DataFrame(index=raw.index)
    out["clean_invoice_id"] = invoice_id.where(valid)
    out["clean_issue_date"] = pd.Series(_kept(valid, dates), index=raw.index)
    out["customer_key"] = pd.Series(customer_key, index=raw.index).where(valid)
    out["item_key"] = pd.Series(item_key, index=raw.index).where(valid)
    out["status_key"] = pd.Series(status_key, index=raw.index).where(valid)
    out["clean_qty"] = pd.Series(pd.array(_kept(valid, qty), dtype="Int64"), index=raw.index)
    out["clean_unit_price"] = pd.Series(_kept(valid, price_text), index=raw.index)
    out["clean_total"] = pd.Series(_kept(valid, total_text), index=raw.index)
    out["reason"] = reason
    out["detail"] = detail
    return out
