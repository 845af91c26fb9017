"""The classification engine, one case per line: texts in, an inline taxonomy, categories out."""

from __future__ import annotations

import importlib
import re
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.classify import classify, classify_grants
from analyzer.errors import AnalyzerError, TaxonomyError
from analyzer.phrases import normalize_expr, normalize_text, phrase_variants
from analyzer.schema import ALLOCATIONS_SCHEMA, CLASSIFICATION_SCHEMA, GRANTS_SCHEMA, MATCHES_SCHEMA
from analyzer.taxonomy import taxonomy_from_text
from analyzer.taxonomy_check import parse_shares

HEADER = """
name: inline
version: "1"
description: test taxonomy
settings: {settings}
contexts:
  youth: [child, youth, girl, boy, student, minor]
  policing: [police, law enforcement, crime]
scope:
  in_scope_contexts: [youth]
  min_words: 6
dimensions:
  approach:
    kind: primary
    categories:
      - {{id: response, label: Response, order: 1, side: symptoms}}
      - {{id: intervention, label: Intervention, order: 2, side: symptoms}}
      - {{id: resilience-building, label: Resilience, order: 3, side: causes}}
      - {{id: structural-prevention, label: Structural, order: 4, side: causes}}
      - {{id: out-of-scope, label: Out of scope, order: 90}}
  rights:
    kind: multi
    categories:
      - {{id: health, label: Health}}
      - {{id: housing, label: Housing}}
  provider_type:
    kind: single
    default: unknown
    fields: [recipient]
    categories:
      - {{id: government, label: Government}}
      - {{id: unknown, label: Unknown}}
rules:
"""


def taxonomy(rules: str, **options):
    """An inline taxonomy with the given rules (YAML list items) and settings."""
    body = "\n".join("  " + line for line in rules.strip().splitlines())
    text = HEADER.format(settings="{" + ", ".join(f"{k}: {v}" for k, v in options.items()) + "}")
    return taxonomy_from_text(text + body + "\n")


def grants(*rows: str | dict) -> pl.DataFrame:
    """A grants frame: a text is a description; a dict gives fields (and amount)."""
    records = []
    for i, row in enumerate(rows):
        fields = {"description": row} if isinstance(row, str) else dict(row)
        fields.setdefault("amount", Decimal("100.00"))
        records.append({"record_id": f"r{i}", "grant_id": f"g{i}", **fields})
    return pl.DataFrame(records, schema={k: GRANTS_SCHEMA[k] for k in _columns(records)})


def _columns(records: list[dict]) -> list[str]:
    return [c for c in GRANTS_SCHEMA if any(c in r for r in records)]


def check(rules: str, *rows: str | dict, column: str = "approach", **options) -> list:
    """Classify rows with an inline taxonomy and return one column of the result."""
    return (
        classify_grants(grants(*rows), taxonomy(rules, **options))
        .table.get_column(column)
        .to_list()
    )


SHELTER = "- {id: shelter, category: intervention, phrases: [shelter, safe home]}"
CITY = "- {id: gov, category: government, phrases: [city, county]}"
MENTAL = """
- {id: mh-court, category: intervention, phrases: [mental health court], weight: 2}
- {id: mh, category: structural-prevention, phrases: [mental health]}
- {id: mh-right, category: health, phrases: [mental health]}
"""


# --- phrases --------------------------------------------------------------------------------


def test_phrases_match_whole_words_only():
    assert check(
        CITY,
        {"recipient": "Capacity Builders"},
        {"recipient": "City of Tulsa"},
        column="provider_type",
    ) == ["unknown", "government"]


def test_plurals_and_simple_variants_match():
    assert check(SHELTER, "Two shelters for girls", "Safe homes for youth", "Shelter.") == [
        "intervention",
        "intervention",
        "intervention",
    ]
    assert phrase_variants("agency") == ["agency", "agencies"]
    assert phrase_variants("child") == ["child", "children"]
    assert "childrens" in phrase_variants("children's")


def test_punctuation_hyphens_and_case_do_not_matter():
    rules = "- {id: drop, category: intervention, phrases: [drop-in center, children's home]}"
    assert (
        check(
            rules,
            "DROP-IN CENTER",
            "a drop in center",
            "Drop–In Center!",
            "childrens home",
            "Children’s Home",
        )
        == ["intervention"] * 5
    )


def test_nested_phrases_are_all_found_across_dimensions():
    result = classify_grants(grants("A mental health court for youth"), taxonomy(MENTAL))
    assert result.table.row(0, named=True)["approach"] == "intervention"
    assert result.table.row(0, named=True)["rights"] == "health"
    assert set(result.matches.get_column("phrase")) == {"mental health court", "mental health"}


def test_nested_phrase_of_a_competing_category_does_not_score():
    # "mental health" inside "mental health court" is no evidence of mental-health care...
    assert check(MENTAL, "A mental health court for youth", column="ambiguous") == [False]
    # ...but a separate mention is.
    text = "A mental health court for youth, and mental health care for youth in schools"
    assert set(check(MENTAL, text, column="matched_rules")[0].split(";")) == {
        "mh-court",
        "mh",
        "mh-right",
    }


def test_requires_needs_a_context_in_the_rules_fields():
    rules = "- {id: shelter, category: intervention, phrases: [shelter], requires: [youth]}"
    assert check(
        rules,
        "Shelter for girls",
        "Shelter for adults",
        "Shelter",
        {"description": "Shelter", "title": "Youth"},
    ) == ["intervention", "unclassified", "unclassified", "intervention"]


def test_unless_blocks_with_contexts_and_literal_phrases():
    rules = """
- {id: prev, category: resilience-building, phrases: [prevention education],
   unless: [policing, adults only]}
"""
    assert check(
        rules,
        "Prevention education for students",
        "Crime prevention education for students",
        "Prevention education for students' parents, adults only",
    ) == ["resilience-building", "unclassified", "unclassified"]


def test_fields_and_field_weights():
    rules = "- {id: shelter, category: intervention, phrases: [shelter], fields: [title]}"
    assert check(rules, {"description": "shelter for girls"}, {"title": "Shelter for girls"}) == [
        "unclassified",
        "intervention",
    ]
    # The funder field weighs 0.25: a phrase only there is too thin to decide.
    assert (
        check(SHELTER, {"funder": "Shelter Fund"}, {"program": "Shelter"}) == ["unclassified"] * 2
    )


def test_patterns_are_linear_time_regex():
    rules = r"- {id: sting, category: response, patterns: ['\bsting operations?\b']}"
    assert check(rules, "Sting operations against buyers", "Stinging nettles") == [
        "response",
        "unclassified",
    ]


@pytest.mark.parametrize(
    "pattern, message",
    [
        ("(?=youth)shelter", "look-around"),
        ("(?<!no )shelter", "look-around"),
        (r"(a)\1", "back-reference"),
        ("(a+", "not a valid regular expression"),
        ("a*", "matches empty text"),
        ("a" * 1001, "longer than 1000"),
        ("(a{1000}){1000}", "not a valid regular expression"),  # compiled size limit
    ],
)
def test_hostile_or_broken_patterns_are_rejected(pattern, message):
    rules = f"- {{id: bad, category: response, patterns: ['{pattern}']}}"
    with pytest.raises(TaxonomyError) as error:
        taxonomy(rules)
    assert message in str(error.value)
    assert "line" in error.value.problems[0]


def test_python_and_polars_normalisation_agree():
    texts = [
        "Drop-In  Center!",
        "  children's\thome ",
        "U.S. Dept. of Health",
        "Niños—y—NIÑAS",
        "a/b",
    ]
    polars = pl.select(normalize_expr(pl.lit(pl.Series(texts)))).to_series().to_list()
    assert [" " + normalize_text(t) + " " for t in texts] == [re.sub(" +", " ", p) for p in polars]


# --- decisions ---------------------------------------------------------------------------------


def test_min_score_leaves_thin_evidence_unclassified():
    rules = "- {id: weak, category: intervention, phrases: [support], weight: 0.5}"
    assert check(rules, "Support for youth services") == ["unclassified"]
    assert check(rules, "Support for youth services", column="decided_by") == ["none"]


def test_scope_out_of_scope_only_for_long_texts_without_in_scope_words():
    texts = [
        "Senior center meals and transportation for elderly residents",
        "Senior meals",
        "General support for the youth organisation and its many programs",
    ]
    assert check(SHELTER, *texts) == ["out-of-scope", "unclassified", "unclassified"]
    assert check(SHELTER, *texts, column="decided_by") == ["scope", "none", "none"]


def test_ambiguous_when_runner_up_is_close_and_ties_go_to_scale_order():
    rules = """
- {id: a, category: response, phrases: [task force]}
- {id: b, category: intervention, phrases: [shelter]}
"""
    assert check(rules, "Task force and shelter") == ["response"]
    assert check(rules, "Task force and shelter", column="ambiguous") == [True]
    assert check(rules, "Task force", column="ambiguous") == [False]


def test_split_shares_are_evidence_based_and_exact():
    rules = """
- {id: a, category: intervention, phrases: [shelter], weight: 3}
- {id: b, category: resilience-building, phrases: [curriculum], weight: 2}
- {id: c, category: structural-prevention, phrases: [rent], weight: 1}
"""
    shares = check(
        rules,
        "Shelter beds for survivors and a school curriculum for students, rent",
        column="approach_shares",
    )
    assert shares == ["intervention:0.6;resilience-building:0.4"]
    # Thirds are rounded down; the primary takes the remainder, so the sum is exactly 1.
    rules = rules.replace("weight: 3", "weight: 2")
    assert check(rules, "Shelter and curriculum for youth", column="approach_shares") == [
        "intervention:0.5;resilience-building:0.5"
    ]
    three = check(
        rules.replace("weight: 1", "weight: 2"),
        "shelter curriculum rent youth",
        column="approach_shares",
        split_max_categories=3,
    )
    assert three == ["intervention:0.34;resilience-building:0.33;structural-prevention:0.33"]
    assert sum(parse_shares(three[0]).values()) == 1


def test_multi_and_single_dimensions():
    rules = MENTAL + CITY + "\n- {id: housing, category: housing, phrases: [housing]}"
    result = classify_grants(
        grants({"description": "Mental health and housing for youth", "recipient": "County of X"}),
        taxonomy(rules),
    ).table.row(0, named=True)
    assert result["rights"] == "health;housing"
    assert result["provider_type"] == "government"
    assert result["risk_factors"] is None  # the taxonomy has no such dimension


def test_result_frames_follow_the_schema():
    result = classify_grants(grants("Shelter for girls", "nothing"), taxonomy(SHELTER))
    assert result.table.schema == pl.Schema(CLASSIFICATION_SCHEMA)
    assert result.matches.schema == pl.Schema(MATCHES_SCHEMA)
    assert result.allocations.schema == pl.Schema(ALLOCATIONS_SCHEMA)
    assert result.matches.row(0) == (
        "r0",
        "approach",
        "intervention",
        "shelter",
        "description",
        "shelter",
    )
    assert result.table.get_column("explanation").to_list() == [
        'shelter: "shelter" in description',
        "",
    ]
    assert result.run["rule_count"] == 1


def test_empty_frame_and_missing_text_columns():
    empty = classify_grants(pl.DataFrame(schema=GRANTS_SCHEMA), taxonomy(SHELTER))
    assert empty.table.height == 0 and empty.allocations.height == 0
    only_title = pl.DataFrame({"record_id": ["a"], "title": ["Shelter for girls"]})
    assert classify_grants(only_title, taxonomy(SHELTER)).table.get_column(
        "approach"
    ).to_list() == ["intervention"]
    with pytest.raises(AnalyzerError, match="record_id"):
        classify_grants(pl.DataFrame({"title": ["x"]}), taxonomy(SHELTER))


def test_allocations_are_exact_cents_by_largest_remainder():
    rules = """
- {id: a, category: intervention, phrases: [shelter], weight: 2}
- {id: b, category: resilience-building, phrases: [curriculum], weight: 2}
"""
    rows = [
        {"description": "shelter curriculum youth", "amount": Decimal(v)}
        for v in ("0.01", "-0.03", "100.01", "0")
    ]
    result = classify_grants(grants(*rows), taxonomy(rules))
    split = result.allocations.filter(pl.col("policy") == "split")
    assert split.get_column("amount").to_list() == [
        Decimal("0.01"),
        Decimal("0.00"),
        Decimal("-0.02"),
        Decimal("-0.01"),
        Decimal("50.01"),
        Decimal("50.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    ]


def test_classify_api_writes_the_contract_csv(tmp_path):
    out = tmp_path / "out.csv"
    frame = classify(grants=grants("=cmd shelter for girls"), taxonomy=taxonomy(SHELTER), out=out)
    for column in (
        "record_id",
        "grant_id",
        "source_file",
        "approach",
        "approach_shares",
        "ambiguous",
        "rights",
        "risk_factors",
        "provider_type",
        "matched_rules",
        "decided_by",
    ):
        assert column in frame.columns
    written = out.read_text(encoding="utf-8-sig")
    assert "'=cmd shelter for girls" in written
    assert frame.get_column("allocated").to_list() == ["intervention:100.00"]
    with pytest.raises(AnalyzerError, match="policy"):
        classify(grants=grants("x"), taxonomy=taxonomy(SHELTER), policy="half")


# --- properties --------------------------------------------------------------------------------

PROPERTY_RULES = """
- {id: a, category: response, phrases: [task force], weight: 2}
- {id: b, category: intervention, phrases: [shelter], weight: 2.5}
- {id: c, category: resilience-building, phrases: [curriculum, mentoring], weight: 2}
- {id: d, category: structural-prevention, phrases: [housing], weight: 3}
- {id: e, category: out-of-scope, phrases: [seniors], weight: 2}
"""
PROPERTY_TAXONOMY = taxonomy(PROPERTY_RULES, split_max_categories=4)
WORDS = [
    "task force",
    "shelter",
    "curriculum",
    "mentoring",
    "housing",
    "seniors",
    "youth",
    "and",
    "for",
    "the",
    "girls",
    "capacity",
    "city",
]
amounts = st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("100000000"), places=2)
texts = st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(texts, amounts), min_size=1, max_size=30))
def test_shares_sum_to_one_and_money_adds_back(rows):
    frame = grants(*({"description": t, "amount": a} for t, a in rows))
    result = classify_grants(frame, PROPERTY_TAXONOMY)
    for text in result.table.get_column("approach_shares").to_list():
        assert sum(parse_shares(text).values()) == 1
    total = sum((a for _, a in rows), Decimal(0))
    for policy in ("primary", "split"):
        allocated = result.allocations.filter(pl.col("policy") == policy)
        per_grant = allocated.group_by("record_id").agg(pl.col("amount").sum())
        amounts_by_id = dict(zip(frame["record_id"], frame["amount"], strict=True))
        for record_id, amount in per_grant.iter_rows():
            assert amount == amounts_by_id[record_id]
        by_category = allocated.group_by("category").agg(pl.col("amount").sum())
        assert sum(by_category.get_column("amount").to_list(), Decimal(0)) == total
        shares = allocated.group_by("record_id").agg(pl.col("share").sum())
        assert set(shares.get_column("share").to_list()) == {Decimal("1.0000")}


@settings(max_examples=40, deadline=None)
@given(st.lists(texts, min_size=1, max_size=20))
def test_primary_category_is_the_largest_share(rows):
    result = classify_grants(grants(*rows), PROPERTY_TAXONOMY).table
    for approach, text in result.select("approach", "approach_shares").iter_rows():
        shares = parse_shares(text)
        assert shares[approach] == max(shares.values())


def test_chunks_of_rows_give_the_same_result(monkeypatch):
    engine = importlib.import_module("analyzer.classify")  # the module, not the function

    rows = [
        {"description": text, "amount": Decimal(i) / 7}
        for i, text in enumerate(
            ["shelter curriculum youth", "task force", "", "seniors", "rent"] * 9
        )
    ]
    whole = classify_grants(grants(*rows), PROPERTY_TAXONOMY)
    monkeypatch.setattr(engine, "CHUNK_ROWS", 7)
    chunked = classify_grants(grants(*rows), PROPERTY_TAXONOMY)
    assert chunked.table.equals(whole.table)
    assert chunked.matches.equals(whole.matches)
    key = ["record_id", "policy", "category"]
    assert chunked.allocations.sort(key).equals(whole.allocations.sort(key))
