"""taxonomy check and test: warnings about likely mistakes, and the examples run."""

from __future__ import annotations

from decimal import Decimal

import pytest
from test_taxonomy import MINIMAL

from analyzer.taxonomy import taxonomy_from_text
from analyzer.taxonomy_check import check_taxonomy
from analyzer.taxonomy_check import test_taxonomy as run_examples


@pytest.mark.parametrize("name", ["csec", "prevention-levels"])
def test_bundled_taxonomies_pass_their_own_examples(name):
    report = run_examples(name)
    failures = [(r.example.line, r.expected, r.got) for r in report.failures]
    assert report.results and not failures


def test_test_reports_failures_with_what_was_expected():
    text = (
        MINIMAL
        + """
rules:
  - {id: tf, category: response, phrases: [task force]}
examples:
  - {text: Task force, approach: response}
  - {text: Task force, approach: intervention}
  - {text: Task force, approach: response, shares: {response: 1}}
"""
    )
    report = run_examples(taxonomy_from_text(text))
    assert [r.passed for r in report.results] == [True, False, True]
    failed = report.failures[0]
    assert failed.expected == {"approach": "intervention"}
    assert failed.got == {"approach": "response"}
    assert (
        failed.example.line
        == text.splitlines().index("  - {text: Task force, approach: intervention}") + 1
    )
    assert report.results[2].example.shares == {"response": Decimal(1)}


def test_check_warns_about_likely_mistakes():
    text = (
        MINIMAL
        + """
contexts:
  unused: [nothing]
rules:
  - {id: mh-court, category: intervention, phrases: [mental health court]}
  - {id: mh, category: response, phrases: [mental health]}
  - {id: dup, category: response, phrases: [Shelter]}
  - {id: dup2, category: intervention, phrases: [shelter]}
  - {id: pat, category: response, patterns: ['sting']}
examples:
  - {text: mental health court, approach: intervention}
"""
    )
    findings = check_taxonomy(taxonomy_from_text(text, source="t.yaml")).findings
    kinds = {(f.kind, f.key) for f in findings}
    assert ("duplicate-phrase", 'rules "dup"') in kinds
    assert ("shadowed-phrase", 'rules "mh"') in kinds
    assert ("pattern-without-boundary", 'rules "pat"') in kinds
    assert ("rule-without-example", 'rules "pat"') in kinds
    assert ("rule-without-example", 'rules "mh-court"') not in kinds
    assert ("category-without-example", "dimensions.approach.response") in kinds
    assert ("unused-context", "contexts.unused") in kinds
    shadowed = next(f for f in findings if f.kind == "shadowed-phrase")
    line = text.splitlines().index("  - {id: mh, category: response, phrases: [mental health]}") + 1
    assert shadowed.line == line and '"mental health court"' in shadowed.message
