"""Changes to the sales aggregates, as pure DataFrame functions.

A change is one row per day x customer x item x status with signed ``invoice_count``,
``qty`` and ``cents`` (revenue in cents, so sums stay exact).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

KEYS = ("day", "customer_key", "item_key", "status_key")


def dates_datetime64(dates: pd.Series) -> pd.Series:
    """Python dates as datetime64, converting each distinct day once."""
    codes, uniques = pd.factorize(dates, use_na_sentinel=False)
    return pd.Series(pd.to_datetime(pd.Series(uniques, dtype=object)).to_numpy()[codes], index=dates.index)


def from_new_invoices(new: pd.DataFrame, *, sign: int = 1) -> pd.DataFrame:
    """What cleaned, newly inserted invoices add (``clean_*`` columns of the pipeline);
    with ``sign=-1``, what invoices in that shape take away when they are replaced."""
    return (
        pd.DataFrame(
            {
                "day": dates_datetime64(new["clean_issue_date"]),
                "customer_key": new["customer_key"].astype("int64"),
                "item_key": new["item_key"].astype("int64"),
                "status_key": new["status_key"].astype("int64"),
                "invoice_count": sign,
                "qty": sign * new["clean_qty"].astype("int64"),
                "cents": sign * new["clean_total"].str.replace(".", "", regex=False).astype("int64"),
            }
        )
        .groupby(list(KEYS), as_index=False)
        .sum()
    )


def from_grouped_rows(rows: list[tuple], sign: int) -> pd.DataFrame:
    """Rows of (day, customer, item, status, count, qty, revenue) from SQL, with a sign."""
    frame = pd.DataFrame(rows, columns=[*KEYS, "invoice_count", "qty", "total"])
    cents = [int((Decimal(str(t)) * 100).to_integral_value(ROUND_HALF_UP)) for t in frame["total"]]
    return pd.DataFrame(
        {
            "day": pd.to_datetime(frame["day"].astype(str)),
            "customer_key": frame["customer_key"].astype("int64"),
            "item_key": frame["item_key"].astype("int64"),
            "status_key": frame["status_key"].astype("int64"),
            "invoice_count": sign * frame["invoice_count"].astype("int64"),
            "qty": sign * frame["qty"].astype("int64"),
            "cents": sign * pd.Series(cents, dtype="int64"),
        }
    )


def reduce(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per key: the sum of the signed changes, dropping keys that cancel out."""
    total = pd.concat(parts, ignore_index=True).groupby(list(KEYS), as_index=False).sum()
    return total[(total[["invoice_count", "qty", "cents"]] != 0).any(axis=1)]


def delta_table_rows(total: pd.DataFrame) -> pd.DataFrame:
    """Rows of the aggregates' delta table: ISO days, revenue as a decimal string."""
    cents = total["cents"]
    sign = np.where(cents < 0, "-", "")
    whole, part = cents.abs() // 100, cents.abs() % 100
    return pd.DataFrame(
        {
            "day": total["day"].dt.strftime("%Y-%m-%d"),
            "customer_key": total["customer_key"],
            "item_key": total["item_key"],
            "status_key": total["status_key"],
            "invoice_count": total["invoice_count"],
            "qty": total["qty"],
            "revenue": sign + whole.astype(str) + "." + part.astype(str).str.zfill(2),
        }
    )


def rolled_up(total: pd.DataFrame, period: str) -> pd.DataFrame:
    """Daily changes summed per month (its first day) or per ISO week (its Monday)."""
    day = total["day"]
    if period == "month":
        start = day.dt.to_period("M").dt.start_time
    else:
        start = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    return total.assign(day=start).groupby(list(KEYS), as_index=False).sum()
