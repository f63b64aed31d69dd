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
    """What cleaned, newly inserted invoices add (``clean_*`` columns of the pipeline), one
    row per invoice (``SalesTotals`` sums them per key); with ``sign=-1``, what invoices in
    that shape take away when they are replaced."""
    return pd.DataFrame(
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


SUMS = ("invoice_count", "qty", "cents")
# A key packs the day above a number for (customer, item, status), so keys sort by day, as
# the aggregates' primary keys do: 21 bits of days from 1970 (+-2,870 years), 42 of numbers.
_NUMBER_BITS = 42
_DAY_ZERO = 1 << 20


class SalesTotals:
    """Signed changes summed per key as they come, in flat sorted arrays.

    Memory follows the distinct keys (bounded by days x customers x items x statuses), not
    the rows added; adding a part costs in proportion to the part, with no copy of the
    totals but the insertion of the keys not seen before.
    """

    def __init__(self) -> None:
        self._keys = np.empty(0, dtype=np.int64)  # sorted
        self._sums = np.empty((0, len(SUMS)), dtype=np.int64)
        self._triples: dict[tuple[int, ...], int] = {}  # (customer, item, status) -> number

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, part: pd.DataFrame) -> None:
        """Add changes with the columns of ``from_new_invoices`` (keys may repeat)."""
        if part.empty:
            return
        local, triples = _factorized_rows([part[key].to_numpy(dtype=np.int64) for key in KEYS[1:]])
        numbers = np.array([self._triples.setdefault(t, len(self._triples)) for t in triples], dtype=np.int64)
        days = part["day"].to_numpy().astype("datetime64[D]").astype(np.int64) + _DAY_ZERO
        keys, inverse = np.unique((days << _NUMBER_BITS) | numbers[local], return_inverse=True)
        sums = np.zeros((len(keys), len(SUMS)), dtype=np.int64)
        np.add.at(sums, inverse, part[list(SUMS)].to_numpy(dtype=np.int64))
        self._fold(keys, sums)

    def add_totals(self, other: SalesTotals) -> None:
        """Add another's sums (made apart, say on another thread): its keys renumbered to
        this one's (customer, item, status) numbers."""
        if not len(other):
            return
        numbers = np.array([self._triples.setdefault(t, len(self._triples)) for t in other._triples])
        low = (1 << _NUMBER_BITS) - 1
        keys = (other._keys & ~low) | numbers.astype(np.int64)[other._keys & low]
        order = np.argsort(keys)  # distinct keys stay distinct: the renumbering is one to one
        self._fold(keys[order], other._sums[order])

    def _fold(self, keys: np.ndarray, sums: np.ndarray) -> None:
        """Add sums for sorted, distinct keys."""
        at = np.searchsorted(self._keys, keys)
        known = at < len(self._keys)
        known[known] = self._keys[at[known]] == keys[known]
        self._sums[at[known]] += sums[known]
        self._keys = np.insert(self._keys, at[~known], keys[~known])
        self._sums = np.insert(self._sums, at[~known], sums[~known], axis=0)

    def frame(self) -> pd.DataFrame:
        """One row per key, keys that cancel out dropped, in the columns of ``from_new_invoices``;
        in the order of the aggregates' primary keys (day, customer, item, status), which the
        server writes faster than rows out of order."""
        kept = self._sums.any(axis=1)
        keys, sums = self._keys[kept], self._sums[kept]
        triples = np.array(list(self._triples), dtype=np.int64).reshape(-1, len(KEYS) - 1)
        triples = triples[keys & ((1 << _NUMBER_BITS) - 1)]
        days = ((keys >> _NUMBER_BITS) - _DAY_ZERO).astype("datetime64[D]")
        order = np.lexsort((*(triples[:, i] for i in reversed(range(len(KEYS) - 1))), days))
        return pd.DataFrame(
            {
                "day": pd.to_datetime(days[order]),
                **{key: triples[order, i] for i, key in enumerate(KEYS[1:])},
                **{name: sums[order, i] for i, name in enumerate(SUMS)},
            }
        )


def _factorized_rows(columns: list[np.ndarray]) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """Each row's number among the distinct rows of ``columns`` (in order of first
    appearance), and those rows."""
    numbers = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:  # numbered again after each column: never above rows ** 2
        codes, uniques = pd.factorize(column)
        numbers = pd.factorize(numbers * len(uniques) + codes)[0]
    first = np.unique(numbers, return_index=True)[1]
    return numbers, list(zip(*(column[first].tolist() for column in columns), strict=True))


def delta_table_rows(total: pd.DataFrame) -> pd.DataFrame:
    """Rows of the aggregates' delta table: ISO days, revenue as a decimal string."""
    cents = total["cents"]
    sign = np.where(cents < 0, "-", "")
    whole, part = cents.abs() // 100, cents.abs() % 100
    return pd.DataFrame(
        {
            "day": _iso_days(total["day"]),
            "customer_key": total["customer_key"],
            "item_key": total["item_key"],
            "status_key": total["status_key"],
            "invoice_count": total["invoice_count"],
            "qty": total["qty"],
            "revenue": sign + whole.astype(str) + "." + part.astype(str).str.zfill(2),
        }
    )


def _iso_days(days: pd.Series) -> pd.Series:
    """Days as ISO text, each distinct day formatted once (a load's changes span few days)."""
    codes, uniques = pd.factorize(days)
    return pd.Series(pd.DatetimeIndex(uniques).strftime("%Y-%m-%d").take(codes), index=days.index)


def rolled_up(total: pd.DataFrame, period: str) -> pd.DataFrame:
    """Daily changes summed per month (its first day) or per ISO week (its Monday)."""
    day = total["day"]
    if period == "month":
        start = day.dt.to_period("M").dt.start_time
    else:
        start = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    return total.assign(day=start).groupby(list(KEYS), as_index=False).sum()
