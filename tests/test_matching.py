"""The engine's first pass: distinct values, and the keys that stand for rows."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import matching
from analyzer.classify import classify_grants
from analyzer.matching import distinct_ids
from analyzer.schema import GRANTS_SCHEMA


def _hashing_alike(value: int):
    """A stand-in for DataFrame.hash_rows that gives every row the same hash."""
    return lambda frame, seed=0: pl.Series([value] * frame.height, dtype=pl.UInt64)


def _grouping(ids: pl.Series) -> list[list[int]]:
    """Rows grouped by id, as sorted lists of row numbers (ids themselves are arbitrary)."""
    rows = pl.DataFrame({"id": ids}).with_row_index("row")
    groups = rows.group_by("id").agg(pl.col("row").sort()).get_column("row").to_list()
    return sorted(groups)


def _same_rows(frame: pl.DataFrame) -> list[list[int]]:
    """The same grouping, computed the slow and obvious way."""
    groups: dict[tuple, list[int]] = {}
    for index, row in enumerate(frame.iter_rows()):
        groups.setdefault(row, []).append(index)
    return sorted(groups.values())


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "a", "b", "é", None]), st.integers(0, 3))))
def test_distinct_ids_group_equal_rows(rows):
    frame = pl.DataFrame(rows, schema={"text": pl.String, "n": pl.Int64}, orient="row")
    ids, first = distinct_ids(frame)
    assert _grouping(ids) == _same_rows(frame)
    assert frame.gather(first).gather(ids).equals(frame)  # each id's kept row is one of its own
    assert sorted(set(ids.to_list())) == list(range(first.len()))


def test_rows_sharing_a_hash_are_still_told_apart(monkeypatch):
    # Every row hashing alike forces the exact fallback: the result must not change.
    frame = pl.DataFrame({"text": ["x", "y", "x", "z", "y"]})
    monkeypatch.setattr(pl.DataFrame, "hash_rows", _hashing_alike(7))
    ids, first = distinct_ids(frame)
    assert _grouping(ids) == [[0, 2], [1, 4], [3]]
    assert frame.gather(first).gather(ids).equals(frame)


def test_hash_collisions_do_not_change_a_classification(monkeypatch):
    texts = ["Shelter for trafficking survivors", "Youth mentoring", "Street repairs", ""] * 3
    grants = pl.DataFrame(
        {"record_id": [f"r{i}" for i in range(len(texts))], "description": texts}
    ).select(
        (pl.col(c) if c in ("record_id", "description") else pl.lit(None, GRANTS_SCHEMA[c])).alias(
            c
        )
        for c in GRANTS_SCHEMA
    )
    expected = classify_grants(grants)
    monkeypatch.setattr(pl.DataFrame, "hash_rows", _hashing_alike(1))
    collided = classify_grants(grants)
    assert collided.table.equals(expected.table)
    assert collided.matches.sort(collided.matches.columns).equals(
        expected.matches.sort(expected.matches.columns)
    )


def test_values_are_read_in_slices_like_whole(monkeypatch):
    texts = [f"Case management and shelter for youth, site {i}" for i in range(40)]
    grants = pl.DataFrame({"record_id": [f"r{i}" for i in range(40)], "description": texts})
    whole = classify_grants(grants)
    monkeypatch.setattr(matching, "SLICE_VALUES", 3)
    sliced = classify_grants(grants)
    assert sliced.table.equals(whole.table)
    assert sliced.matches.equals(whole.matches)
