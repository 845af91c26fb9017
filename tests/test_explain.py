"""explain: one grant's decision, scores, rules with phrase and field, spans and near misses."""

from __future__ import annotations

import pytest

from analyzer.errors import AnalyzerError
from analyzer.explain import explain
from analyzer.ingest import ingest
from analyzer.taxonomy import taxonomy_from_text

TAXONOMY = taxonomy_from_text(
    """
name: tiny
version: "1"
description: for explain tests
contexts:
  youth: [child, youth, girl, student]
  policing: [police, crime]
dimensions:
  approach:
    kind: primary
    categories:
      - {id: response, label: Response, order: 1}
      - {id: intervention, label: Intervention, order: 2}
      - {id: resilience-building, label: Resilience, order: 3}
      - {id: structural-prevention, label: Structural, order: 4}
  rights:
    kind: multi
    categories:
      - {id: health, label: Health}
rules:
  - {id: shelter, category: intervention, phrases: [shelter], requires: [youth]}
  - {id: prevention-ed, category: resilience-building, phrases: [prevention education],
     unless: [policing]}
  - {id: mh-court, category: intervention, phrases: [mental health court], weight: 2}
  - {id: mh, category: structural-prevention, phrases: [mental health]}
  - {id: mh-right, category: health, phrases: [mental health]}
  - {id: hotline, category: response, phrases: [hotline], weight: 0.5}
"""
)


def test_explains_a_text_with_hits_fields_and_spans():
    text = "Shelters for GIRLS, and a Mental-Health Court."
    result = explain(text=text, taxonomy=TAXONOMY)
    assert result.decision["approach"] == "intervention"
    assert result.decision["rights"] == "health"
    assert result.scores == {"approach": {"intervention": 3.0}, "rights": {"health": 1.0}}
    assert {(h.rule_id, h.phrase, h.field) for h in result.hits} == {
        ("shelter", "shelters", "description"),
        ("mh-court", "mental health court", "description"),
        ("mh-right", "mental health", "description"),
    }
    highlighted = {text[s.start : s.end] for s in result.spans if s.counted}
    assert highlighted == {"Shelters", "Mental-Health Court", "Mental-Health"}


def test_near_misses_say_why_a_rule_did_not_count():
    text = "Crime prevention education and a shelter; mental health court; hotline"
    result = explain(text=text, taxonomy=TAXONOMY)
    reasons = {(m.kind, m.rule_id): m.reason for m in result.near_misses}
    assert reasons[("unless", "prevention-ed")] == 'unless "policing": found "crime" in description'
    assert reasons[("requires", "shelter")].startswith('requires "youth": none found in')
    assert 'part of "mental health court"' in reasons[("nested", "mh")]
    assert reasons[("below-min-score", None)] == "score 0.5 is below min_score 1"
    uncounted = {text[s.start : s.end] for s in result.spans if not s.counted}
    assert {"prevention education", "shelter"} <= uncounted


def test_explains_a_stored_grant_by_grant_id_or_record_id(tmp_path):
    source = tmp_path / "g.csv"
    source.write_text(
        "Grant ID,Description,Amount\nA-1,Shelter for youth,10\nA-1,Shelter for youth,5\n",
        encoding="utf-8",
    )
    db = tmp_path / "p.duckdb"
    ingest([source], db=db)
    by_grant = explain("A-1", db=db, taxonomy=TAXONOMY)
    assert by_grant.record_id == "g.csv:2" and by_grant.other_records == ["g.csv:3"]
    second = explain("g.csv:3", db=db, taxonomy=TAXONOMY)
    assert second.record_id == "g.csv:3"
    # Its money and where it came from, to check it against the file.
    assert second.source == {
        "amount": "5.00", "currency": "USD", "year": None, "source_file": "g.csv",
        "source_sheet": None, "source_row": 3, "flags": None,
    }  # fmt: skip
    assert explain(text="shelter", taxonomy=TAXONOMY).source is None
    with pytest.raises(AnalyzerError, match="no grant with grant_id or record_id 'zzz'"):
        explain("zzz", db=db, taxonomy=TAXONOMY)
    with pytest.raises(AnalyzerError, match="needs the store"):
        explain("A-1", taxonomy=TAXONOMY)


def test_explanation_is_json_ready():
    import json

    data = explain(text="hotline for youth", taxonomy=TAXONOMY).to_dict()
    assert json.loads(json.dumps(data))["decision"]["approach"] == "unclassified"


def test_a_text_can_bring_its_other_fields():
    # "shelter" requires a youth context, found here only in the recipient's name
    alone = explain(text="Emergency shelter beds", taxonomy=TAXONOMY)
    assert alone.decision["approach"] == "unclassified"
    with_recipient = explain(
        text="Emergency shelter beds", fields={"recipient": "Girls Inc."}, taxonomy=TAXONOMY
    )
    assert with_recipient.decision["approach"] == "intervention"
    assert with_recipient.texts["recipient"] == "Girls Inc."
    with pytest.raises(AnalyzerError, match="unknown text field 'summary'"):
        explain(text="x", fields={"summary": "y"}, taxonomy=TAXONOMY)
