"""Realistic messy invoice files, with the kinds of mess real exports have, in their proportions.

Per 10,000 rows, like the exports users send: ~50 missing invoice ids, ~90 repeated
rows, ~500 impossible dates (month 13), dates as YYYY-MM-DD / YYYY/MM/DD / DD/MM/YYYY
with some single-digit days, customer names blank or in other cases, prices with
``$ `` or ``USD `` marks, ~190 ``NULL`` totals and ~190 totals that are off by one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ingestion.pipeline.columns import RAW_COLUMNS
from warehouse.reference import CUSTOMERS

ITEM_PRICES = {
    "Server Setup": "1200.50",
    "Audit Service": "2000.00",
    "Licencia Software": "5000.00",
    "Front-end dev": "50.00",
    "Consultoria Data": "1500.00",
    "API Access": "500.00",
    "Cloud Storage": "20.00",
    "Mantenimiento": "100.00",
}
STATUSES = ("Paid", "Pending", "Processing", "REFUNDED", "Cancelled")
RATES = {
    "missing_id": 0.005,
    "repeated_row": 0.009,
    "invalid_date": 0.05,
    "slash_dmy": 0.1465,
    "slash_ymd": 0.1025,
    "single_digit_day": 0.0165,
    "blank_name": 0.049,
    "lower_name": 0.117,
    "upper_name": 0.053,
    "dollar_price": 0.097,
    "usd_price": 0.05,
    "null_total": 0.019,
    "off_by_one_total": 0.019,
}
FIRST_DAY = np.datetime64("2023-01-01")
DAYS = 730
CHUNK_ROWS = 500_000


def _pick(rng, n: int, rate: float) -> np.ndarray:
    return rng.random(n) < rate


def invoices_generate(*, rows: int, seed: int, first_number: int = 1, width: int = 5) -> pd.DataFrame:
    """``rows`` messy invoice rows as text, ids numbered from ``first_number``."""
    rng = np.random.default_rng(seed)
    repeats = round(rows * RATES["repeated_row"])
    base = rows - repeats
    numbers = np.arange(first_number, first_number + base)
    ids = np.char.add("INV-", np.char.zfill(numbers.astype(str), width)).astype(object)
    ids[_pick(rng, base, RATES["missing_id"])] = ""

    days = FIRST_DAY + rng.integers(0, DAYS, base)
    ymd = pd.DatetimeIndex(days)
    year, month, day = ymd.year.astype(str), ymd.month.astype(str), ymd.day.astype(str)
    mm, dd = np.char.zfill(month.to_numpy().astype(str), 2), np.char.zfill(day.to_numpy().astype(str), 2)
    yy = year.to_numpy().astype(str)
    style = rng.random(base)
    single = _pick(rng, base, RATES["single_digit_day"]) & (day.to_numpy().astype(int) < 10)
    dd_iso = np.where(single, day.to_numpy().astype(str), dd)
    dates = np.char.add(np.char.add(np.char.add(yy, "-"), np.char.add(mm, "-")), dd_iso).astype(object)
    dmy = style < RATES["slash_dmy"]
    dates[dmy] = np.char.add(np.char.add(dd[dmy], "/"), np.char.add(np.char.add(mm[dmy], "/"), yy[dmy]))
    ymd_slash = (style >= RATES["slash_dmy"]) & (style < RATES["slash_dmy"] + RATES["slash_ymd"])
    dates[ymd_slash] = np.char.add(
        np.char.add(yy[ymd_slash], "/"), np.char.add(np.char.add(mm[ymd_slash], "/"), dd[ymd_slash])
    )
    bad = _pick(rng, base, RATES["invalid_date"])
    dates[bad] = np.char.add(np.char.add(yy[bad], "-13-"), dd_iso[bad])

    customer = rng.integers(0, len(CUSTOMERS), base)
    customer_ids = np.array([c[0] for c in CUSTOMERS], dtype=object)[customer]
    names = np.array([c[1] for c in CUSTOMERS], dtype=object)[customer]
    case = rng.random(base)
    lower = case < RATES["lower_name"]
    upper = (case >= RATES["lower_name"]) & (case < RATES["lower_name"] + RATES["upper_name"])
    names[lower] = np.char.lower(names[lower].astype(str))
    names[upper] = np.char.upper(names[upper].astype(str))
    names[_pick(rng, base, RATES["blank_name"])] = ""

    items = np.array(list(ITEM_PRICES), dtype=object)
    item = rng.integers(0, len(items), base)
    price = np.array(list(ITEM_PRICES.values()))[item]
    qty = rng.integers(1, 21, base)
    cents = np.array([int(p.replace(".", "")) for p in ITEM_PRICES.values()])[item] * qty
    off = _pick(rng, base, RATES["off_by_one_total"])
    cents = np.where(off, cents - 100, cents)
    totals = np.char.add(
        np.char.add((cents // 100).astype(str), "."), np.char.zfill((cents % 100).astype(str), 2)
    ).astype(object)
    totals[_pick(rng, base, RATES["null_total"])] = "NULL"
    mark = rng.random(base)
    price_text = price.astype(object)
    dollar = mark < RATES["dollar_price"]
    usd = (mark >= RATES["dollar_price"]) & (mark < RATES["dollar_price"] + RATES["usd_price"])
    price_text[dollar] = np.char.add("$ ", price[dollar])
    price_text[usd] = np.char.add("USD ", price[usd])

    frame = pd.DataFrame(
        {
            "invoice_id": ids,
            "issue_date": dates,
            "customer_id": customer_ids,
            "customer_name": names,
            "item_description": items[item],
            "qty": qty.astype(str),
            "unit_price": price_text,
            "total": totals,
            "status": np.array(STATUSES, dtype=object)[rng.integers(0, len(STATUSES), base)],
        },
        columns=list(RAW_COLUMNS),
    )
    if repeats:
        sources = rng.integers(0, base, repeats)
        positions = rng.integers(sources + 1, base + 1)
        order = np.insert(np.arange(base), positions, sources)
        frame = frame.iloc[order].reset_index(drop=True)
    return frame


def invoice_file_generate(*, path: Path, rows: int, seed: int) -> Path:
    """Write a messy CSV of ``rows`` rows in chunks (memory stays flat for big files)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width = max(5, len(str(rows)))
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(RAW_COLUMNS) + "\n")
        written, part = 0, 0
        while written < rows:
            size = min(CHUNK_ROWS, rows - written)
            frame = invoices_generate(rows=size, seed=seed + part, first_number=written + 1, width=width)
            frame.to_csv(handle, index=False, header=False, lineterminator="\n")
            written, part = written + size, part + 1
    return path
