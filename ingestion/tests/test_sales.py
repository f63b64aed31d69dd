import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd

from ingestion.pipeline import aggregates


def totals(*parts: pd.DataFrame) -> pd.DataFrame:
    summed = aggregates.SalesTotals()
    for part in parts:
        summed.add(part)
    return summed.frame()


def test_new_invoices_add_counts_quantities_and_cents_per_key():
    new = pd.DataFrame(
        {
            "clean_issue_date": [dt.date(2024, 1, 5), dt.date(2024, 1, 5), dt.date(2024, 2, 1)],
            "customer_key": [1, 1, 2],
            "item_key": [3, 3, 3],
            "status_key": [1, 1, 1],
            "clean_qty": [2, 1, 5],
            "clean_total": ["2401.00", "0.10", "100.05"],
        }
    )
    out = totals(aggregates.from_new_invoices(new))
    assert out.to_dict("records") == [
        {
            "day": pd.Timestamp("2024-01-05"),
            "customer_key": 1,
            "item_key": 3,
            "status_key": 1,
            "invoice_count": 2,
            "qty": 3,
            "cents": 240110,
        },
        {
            "day": pd.Timestamp("2024-02-01"),
            "customer_key": 2,
            "item_key": 3,
            "status_key": 1,
            "invoice_count": 1,
            "qty": 5,
            "cents": 10005,
        },
    ]


def test_an_update_in_place_cancels_out_and_a_move_subtracts_and_adds():
    old = aggregates.from_grouped_rows([("2024-01-05", 1, 3, 1, 1, 2, Decimal("10.00"))], -1)
    moved = aggregates.from_grouped_rows([("2024-01-06", 1, 3, 1, 1, 2, Decimal("10.00"))], 1)
    same = aggregates.from_grouped_rows([("2024-01-05", 1, 3, 1, 1, 2, 10.0)], 1)  # SQLite sums are floats

    assert totals(old, same).empty
    rows = aggregates.delta_table_rows(totals(old, moved))
    assert rows.to_dict("records") == [
        {
            "day": "2024-01-05",
            "customer_key": 1,
            "item_key": 3,
            "status_key": 1,
            "invoice_count": -1,
            "qty": -2,
            "revenue": "-10.00",
        },
        {
            "day": "2024-01-06",
            "customer_key": 1,
            "item_key": 3,
            "status_key": 1,
            "invoice_count": 1,
            "qty": 2,
            "revenue": "10.00",
        },
    ]


def test_totals_added_in_parts_or_summed_apart_equal_one_group_by_over_every_change():
    rng = np.random.default_rng(7)

    def changes(rows: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                # before 1970 and far ahead; keys far above the day's bits
                "day": pd.to_datetime("1901-01-01")
                + pd.to_timedelta(rng.integers(0, 80_000, rows), unit="D"),
                "customer_key": rng.choice([1, 2, 3, 10**12], rows),
                "item_key": rng.choice([5, 6, 2**40], rows),
                "status_key": rng.integers(1, 4, rows),
                "invoice_count": rng.choice([-1, 1], rows),
                "qty": rng.integers(-5, 50, rows),
                "cents": rng.integers(-(10**12), 10**12, rows),
            }
        )

    empty, one, taken_back, few, many = (changes(n) for n in (0, 1, 5_000, 3, 20_000))
    cancel = taken_back.copy()
    cancel[list(aggregates.SUMS)] *= -1  # takes back every change of one part
    totals = aggregates.SalesTotals()
    for n, part in enumerate((empty, one, taken_back, few, many, cancel)):
        if n % 2:  # summed apart first (another thread's), its (customer, item, status) numbered its own way
            apart = aggregates.SalesTotals()
            apart.add(part.iloc[::-1])
            totals.add_totals(apart)
        else:
            totals.add(part)

    expected = pd.concat([one, few, many]).groupby(list(aggregates.KEYS), as_index=False).sum()
    expected = expected[(expected[list(aggregates.SUMS)] != 0).any(axis=1)].reset_index(drop=True)
    got = totals.frame()  # in the aggregates' key order, as loaded
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert len(got) > 20_000 * 0.9  # most keys distinct: the sort and the insertions are exercised
