"""Unit tests for the Bloom filter of invoice ids: "not seen" must always be true."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ingestion.pipeline.invoice_id_filter import InvoiceIdFilter


def ids(*values: str, index=None) -> pd.Series:
    return pd.Series(list(values), index=index, dtype=str)


def test_small_example():
    seen = InvoiceIdFilter()
    first = seen.maybe_seen(ids("INV-1", "INV-2", "INV-1", "inv-1", "INV-3"))
    assert isinstance(first, np.ndarray)
    assert first.dtype == bool
    assert first.tolist() == [False, False, True, False, False]
    second = seen.maybe_seen(ids("INV-2", "INV-4", "INV-4", "inv-1", "INV-5"))
    assert second.tolist() == [True, False, True, True, False]


def test_ids_are_case_sensitive_and_exact():
    seen = InvoiceIdFilter()
    seen.maybe_seen(ids("INV-1"))
    assert seen.maybe_seen(ids("inv-1", "INV-1 ", "INV-10", "INV-1")).tolist() == [False, False, False, True]


def test_empty_call_changes_nothing():
    seen = InvoiceIdFilter()
    result = seen.maybe_seen(ids())
    assert result.dtype == bool
    assert result.shape == (0,)
    assert not seen.bits.any()
    assert seen.maybe_seen(ids("INV-1")).tolist() == [False]


def test_non_default_index_follows_positions():
    # The service passes the valid rows of a chunk: a Series with gaps in its index.
    seen = InvoiceIdFilter()
    result = seen.maybe_seen(ids("B", "A", "B", "C", index=[4007, 4002, 4011, 4003]))
    assert result.tolist() == [False, False, True, False]
    assert seen.maybe_seen(ids("C", "D", index=[9, 3])).tolist() == [True, False]


def test_many_fresh_ids_are_not_flagged_with_the_default_size():
    seen = InvoiceIdFilter()
    assert not seen.maybe_seen(pd.Series([f"INV-{i:06d}" for i in range(20_000)])).any()
    assert not seen.maybe_seen(pd.Series([f"INV-{i:06d}" for i in range(20_000, 40_000)])).any()
    assert seen.maybe_seen(pd.Series([f"INV-{i:06d}" for i in range(0, 40_000, 7)])).all()


@pytest.mark.parametrize(("bits", "hashes"), [(64, 1), (64, 2), (256, 4), (1024, 3), (1 << 16, 4)])
def test_never_a_false_negative(bits, hashes):
    """Even a tiny, saturated filter flags every id seen before (false positives allowed)."""
    rng = np.random.default_rng(bits * 10 + hashes)
    pool = [f"INV-{n}" for n in range(300)] + [f"inv-{n}" for n in range(300)]
    seen = InvoiceIdFilter(bits=bits, hashes=hashes)
    before: set[str] = set()
    for _ in range(8):
        batch = [pool[i] for i in rng.integers(0, len(pool), size=120)]
        result = seen.maybe_seen(pd.Series(batch, index=rng.permutation(1000)[:120]))
        assert result.shape == (len(batch),)
        for position, value in enumerate(batch):
            if value in before:
                assert result[position], (value, position)
            before.add(value)


def test_large_filter_flags_exactly_the_repeats():
    rng = np.random.default_rng(7)
    seen = InvoiceIdFilter(bits=1 << 24)
    before: set[str] = set()
    for _ in range(5):
        batch = [f"INV-{n}" for n in rng.integers(0, 2_000, size=500)]
        expected = []
        for value in batch:
            expected.append(value in before)
            before.add(value)
        assert seen.maybe_seen(pd.Series(batch)).tolist() == expected
