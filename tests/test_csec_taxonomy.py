"""The default taxonomy (taxonomies/csec.yaml) against its own examples and the labelled sets.

Why: the CSEC taxonomy is data, so a careless edit to a phrase list can silently move money
between categories. These tests fail CI when the taxonomy's own examples break or when the
development set falls below the issue's bar (primary-approach accuracy >= 0.90 and precision
>= 0.90 for every category: a grant left unclassified is better than a wrong one).
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from analyzer.classify import classify_grants
from analyzer.schema import MONEY, TEXT_FIELDS
from analyzer.taxonomy import load_taxonomy

DATA = Path(__file__).parent / "data"
DEV_SET = DATA / "dev_set.csv"
REALDATA_LABELS = DATA / "realdata_labels.csv"
APPROACHES = ("response", "intervention", "resilience-building", "structural-prevention")
SCORED = (*APPROACHES, "out-of-scope")


def grants_frame(records: list[dict[str, str | None]]) -> pl.DataFrame:
    """A minimal grants frame: record_id, the text fields and an empty amount."""
    columns: dict[str, list] = {"record_id": [r["record_id"] for r in records]}
    for name in TEXT_FIELDS:
        columns[name] = [r.get(name) or None for r in records]
    frame = pl.DataFrame(columns, schema={name: pl.String() for name in columns})
    return frame.with_columns(pl.lit(None, MONEY).alias("amount"))


def predicted(records: list[dict[str, str | None]]) -> dict[str, dict]:
    """record_id -> the classification row, classified in one vectorised pass."""
    table = classify_grants(grants_frame(records), "csec").table
    return {row["record_id"]: row for row in table.iter_rows(named=True)}


def precision_by_category(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """Precision of each predicted category over (gold, predicted) pairs."""
    predicted_counts = Counter(p for _, p in pairs)
    correct = Counter(p for g, p in pairs if g == p)
    return {cat: correct[cat] / n for cat, n in predicted_counts.items()}


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy("csec")


@pytest.fixture(scope="module")
def dev_pairs() -> list[tuple[str, str]]:
    with DEV_SET.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    records = [{"record_id": r["id"], **{f: r.get(f) for f in TEXT_FIELDS}} for r in rows]
    result = predicted(records)
    return [(r["approach"], result[r["id"]]["approach"]) for r in rows]


def test_bundled_by_name_with_metadata(taxonomy):
    assert taxonomy.name == "csec"
    assert taxonomy.version
    assert "Duger" in taxonomy.description and "Health and Human Rights" in taxonomy.description
    assert set(taxonomy.dimensions) == {"approach", "rights", "risk_factors", "provider_type"}


def test_every_category_has_a_readable_label_and_definition(taxonomy):
    for dimension in taxonomy.dimensions.values():
        for category in dimension.categories.values():
            assert category.label and category.label != category.id
            assert len(category.definition) > 20, category.id


def test_sides_split_the_scale_into_symptoms_and_causes(taxonomy):
    sides = {c.id: c.side for c in taxonomy.dimensions["approach"].categories.values()}
    assert sides["response"] == sides["intervention"] == "symptoms"
    assert sides["resilience-building"] == sides["structural-prevention"] == "causes"


def test_at_least_ten_examples_per_approach_category(taxonomy):
    counts = Counter(e.expected.get("approach") for e in taxonomy.examples)
    for category in SCORED:
        assert counts[category] >= 10, (category, counts[category])


def test_examples_cover_rights_and_risk_factors(taxonomy):
    assert any(e.expected.get("rights") for e in taxonomy.examples)
    assert any(e.expected.get("risk_factors") for e in taxonomy.examples)
    assert any(e.expected.get("provider_type") for e in taxonomy.examples)


def test_every_example_is_classified_as_expected(taxonomy):
    records = [
        {"record_id": f"example-{i}", **example.fields}
        for i, example in enumerate(taxonomy.examples)
    ]
    result = predicted(records)
    failures = []
    for i, example in enumerate(taxonomy.examples):
        row = result[f"example-{i}"]
        for dimension, expected in example.expected.items():
            got = row.get(dimension)
            if isinstance(expected, list):
                labels = set(got.split(";")) if got else set()
                ok = set(expected) <= labels
            else:
                ok = got == expected
            if not ok:
                failures.append(f"line {example.line} {dimension}: {expected!r} != {got!r}")
    assert not failures, "\n".join(failures)


def test_dev_set_accuracy_at_least_90_percent(dev_pairs):
    accuracy = sum(g == p for g, p in dev_pairs) / len(dev_pairs)
    assert len(dev_pairs) >= 250
    assert accuracy >= 0.90, f"primary-approach accuracy {accuracy:.3f}"


def test_dev_set_precision_at_least_90_percent_per_category(dev_pairs):
    precision = precision_by_category(dev_pairs)
    low = {cat: round(p, 3) for cat, p in precision.items() if cat in SCORED and p < 0.90}
    assert not low, f"categories below 0.90 precision: {low}"


@pytest.mark.parametrize(
    ("text", "recipient", "expected"),
    [
        # Codebook hard cases, each a convention written as a context rule.
        (
            "Free youth basketball league with uniforms and gym rental for boys ages 10-14.",
            "Police Athletic League",
            "structural-prevention",
        ),
        (
            "Trafficking prevention training for patrol officers in the sheriff's office.",
            None,
            "response",
        ),
        (
            "Housing and case management for youth identified as victims of sex trafficking.",
            None,
            "intervention",
        ),
        (
            "Housing and case management for runaway and homeless youth ages 16-21.",
            None,
            "structural-prevention",
        ),
        (
            "Trauma-focused therapy for children who experienced sexual abuse.",
            None,
            "structural-prevention",
        ),
        (
            "Workshops for youth in group homes on recruitment and exploitation, co-led by "
            "partners including but not limited to law enforcement and health educators.",
            None,
            "resilience-building",
        ),
        (
            "Transitional housing for adult victims of sex trafficking ages 18 and older.",
            None,
            "out-of-scope",
        ),
        ("Senior center aerobics classes and hot lunches for older adults.", None, "out-of-scope"),
        ("General operating support.", "Covenant House", "unclassified"),
    ],
)
def test_codebook_hard_cases(text, recipient, expected):
    row = predicted([{"record_id": "x", "description": text, "recipient": recipient}])["x"]
    assert row["approach"] == expected, row["explanation"]


def test_city_is_not_found_inside_capacity():
    row = predicted(
        [{"record_id": "x", "description": "Capacity building.", "recipient": "Capacity Partners"}]
    )["x"]
    assert row["provider_type"] != "government"


@pytest.mark.realdata
def test_realdata_labels_are_reported(realdata, capsys):
    """The honest check (labels on a sample of the real files) is reported, not asserted:
    the bar is on the development set, and this figure is the one to read beside it."""
    if not REALDATA_LABELS.is_file():
        pytest.skip("tests/data/realdata_labels.csv not present")
    from analyzer.ingest import read_files

    with REALDATA_LABELS.open(encoding="utf-8", newline="") as handle:
        gold = {r["record_id"]: r["approach"] for r in csv.DictReader(handle)}
    files = sorted({realdata / record_id.split(":")[0] for record_id in gold})
    grants = read_files(files).grants.filter(pl.col("record_id").is_in(list(gold)))
    table = classify_grants(grants, "csec").table
    pairs = [(gold[r["record_id"]], r["approach"]) for r in table.iter_rows(named=True)]
    assert len(pairs) == len(gold), "some labelled record ids were not found in the real files"
    accuracy = sum(g == p for g, p in pairs) / len(pairs)
    with capsys.disabled():
        print(f"\nreal-data sample: accuracy {accuracy:.3f} on {len(pairs)} labelled grants")
    assert accuracy > 0.5
