"""What a chunk's valid rows do to the facts, and the repeated ids' first rows, found by key."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from ingestion.pipeline import aggregates, duplicates, fact_changes
from warehouse.models import LoadBatch, StagingInvoice


def chunk(*rows: tuple) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(fact_changes.FACT_SOURCE))
    for column in ("customer_key", "item_key", "status_key", "clean_qty"):
        frame[column] = frame[column].astype("Int64")
    return frame


def test_rows_split_into_new_changed_and_unchanged_invoices():
    day = dt.date(2024, 1, 5)
    rows = chunk(
        ("INV-1", day, 1, 2, 3, 2, "1200.50", "2401.00"),  # identical to the warehouse
        ("INV-2", day, 1, 2, 4, 1, "500.00", "500.00"),  # status changed (PENDING -> PAID)
        ("INV-3", day, 1, 2, 3, 1, "20.00", "20.00"),  # new
        ("inv-1", day, 1, 2, 3, 2, "1200.50", "2401.00"),  # new: ids are case-sensitive
    )
    existing = [
        ("INV-1", "2024-01-05,1,2,3,2,1200.50,2401.00"),
        ("INV-2", "2024-01-05,1,2,3,1,500.00,500.00"),
    ]

    changes = fact_changes.facts_compare(rows, existing)

    assert changes.new["clean_invoice_id"].tolist() == ["INV-3", "inv-1"]
    assert changes.changed["clean_invoice_id"].tolist() == ["INV-2"]
    assert changes.old.to_dict("records") == [
        {
            "clean_invoice_id": "INV-2",
            "clean_issue_date": day,
            "customer_key": 1,
            "item_key": 2,
            "status_key": 3,
            "clean_qty": 1,
            "clean_unit_price": "500.00",
            "clean_total": "500.00",
        }
    ]
    assert (changes.unchanged, changes.existing) == (1, 2)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("clean_issue_date", dt.date(2024, 1, 6)),
        ("clean_qty", 3),
        ("clean_unit_price", "1200.51"),
        ("clean_total", "2401.01"),
        ("item_key", 9),
    ],
)
def test_any_changed_value_makes_a_change(column, value):
    row = ("INV-1", dt.date(2024, 1, 5), 1, 2, 3, 2, "1200.50", "2401.00")
    rows = chunk(row)
    rows.loc[0, column] = value

    changes = fact_changes.facts_compare(rows, [("INV-1", "2024-01-05,1,2,3,2,1200.50,2401.00")])

    assert (len(changes.new), len(changes.changed), changes.unchanged) == (0, 1, 0)


def test_an_empty_warehouse_makes_every_row_new():
    rows = chunk(("INV-1", dt.date(2024, 1, 5), 1, 2, 3, 2, "1.00", "2.00"))
    changes = fact_changes.facts_compare(rows, [])
    assert (len(changes.new), len(changes.changed), changes.unchanged) == (1, 0, 0)


def test_daily_changes_roll_up_to_months_and_monday_weeks():
    total = pd.DataFrame(
        {
            "day": pd.to_datetime(["2024-01-31", "2024-02-01", "2024-02-04", "2024-02-05"]),
            "customer_key": 1,
            "item_key": 2,
            "status_key": 3,
            "invoice_count": [1, 1, 1, 1],
            "qty": [1, 2, 3, 4],
            "cents": [100, 200, 300, 400],
        }
    )

    months = aggregates.rolled_up(total, "month")
    weeks = aggregates.rolled_up(total, "week")

    assert months["day"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-02-01"]
    assert months["cents"].tolist() == [100, 900]
    assert weeks["day"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-29", "2024-02-05"]
    assert weeks["qty"].tolist() == [6, 4]


@pytest.mark.django_db
def test_first_valid_rows_come_from_the_let_through_row_or_the_first_flagged_one(tmp_path):
    batch = LoadBatch.objects.create(file_name="f.csv", file_path="f.csv", sha256="0" * 64)
    staged = {2: "INV-1", 3: "INV-2", 4: "INV-1", 5: "INV-3", 6: "INV-3", 7: "INV-2"}
    StagingInvoice.objects.bulk_create(
        StagingInvoice(
            batch=batch,
            source_row=row,
            file_name="f.csv",
            loaded_at=timezone.now(),
            clean_invoice_id=invoice_id,
        )
        for row, invoice_id in staged.items()
    )
    certain = duplicates.CertainRows(tmp_path / "certain.bin")
    certain.add(pd.Series(["INV-1", "INV-2"]), np.array([2, 3]))
    # Row 3 holds INV-2, but is recorded under INV-3's hash: what a hash collision looks like.
    certain.add(pd.Series(["INV-3"]), np.array([3]))
    # Flagged rows: INV-1 and INV-2 again; INV-3 twice, its first time a false alarm of the filter.
    candidates = pd.DataFrame(
        {"source_row": [4, 5, 6, 7], "clean_invoice_id": ["INV-1", "INV-3", "INV-3", "INV-2"]}
    )

    first = duplicates.first_valid_rows(batch.pk, candidates, certain)

    assert first.rows == {"INV-1": 2, "INV-2": 3, "INV-3": 5}
    # Only the let-through first rows come with their fingerprint; row 5 is copied with the candidates.
    assert sorted(first.fingerprints) == [2, 3]
