import datetime as dt
from decimal import Decimal

import pandas as pd

from ingestion.pipeline import aggregates


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
    out = aggregates.from_new_invoices(new)
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

    assert aggregates.reduce([old, same]).empty
    rows = aggregates.delta_table_rows(aggregates.reduce([old, moved]))
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
