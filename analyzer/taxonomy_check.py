"""``taxonomy check`` and ``taxonomy test``: what a valid taxonomy probably got wrong, and
whether it classifies its own examples as they expect.

Loading already refuses an invalid taxonomy (``taxonomy.load_taxonomy``); the checks here are
warnings (``Finding``) about a taxonomy that loads but is probably not what was meant:
phrases in two categories, phrases shadowed by a longer one, patterns without word
boundaries, unused contexts, rules and categories no example shows. Both run the engine on
the examples, so they sit above ``classify.py``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from .classify import classify_grants
from .phrases import normalize_text
from .schema import TEXT_FIELDS
from .taxonomy import Example, Rule, Taxonomy, load_taxonomy
from .yamldoc import located


@dataclass(frozen=True)
class Finding:
    """A warning of ``taxonomy check``: the taxonomy is valid but probably not what was meant."""

    kind: str
    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        return located(self.file, self.line, self.key, self.message)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CheckReport:
    taxonomy: Taxonomy
    findings: list[Finding]

    def to_dict(self) -> dict:
        tax = self.taxonomy
        return {
            "taxonomy": tax.name,
            "version": tax.version,
            "files": tax.files,
            "rules": len(tax.rules),
            "examples": len(tax.examples),
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass
class ExampleResult:
    example: Example
    passed: bool
    #: What was expected and what came out, per checked key (dimension or "shares").
    expected: dict[str, Any]
    got: dict[str, Any]
    explanation: str

    def to_dict(self) -> dict:
        return {
            "file": self.example.file,
            "line": self.example.line,
            "text": self.example.label(),
            "passed": self.passed,
            "expected": self.expected,
            "got": self.got,
            "explanation": self.explanation,
        }


@dataclass
class TestReport:
    __test__ = False  # not a pytest class

    taxonomy: Taxonomy
    results: list[ExampleResult]

    @property
    def failures(self) -> list[ExampleResult]:
        return [r for r in self.results if not r.passed]

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict:
        return {
            "taxonomy": self.taxonomy.name,
            "examples": len(self.results),
            "failed": len(self.failures),
            "results": [r.to_dict() for r in self.results],
        }


def test_taxonomy(taxonomy: str | Path | Taxonomy) -> TestReport:
    """Classify the taxonomy's own examples and compare with what each expects."""
    tax = load_taxonomy(taxonomy)
    if not tax.examples:
        return TestReport(tax, [])
    table = classify_grants(examples_frame(tax), tax).table
    results = []
    for example, row in zip(tax.examples, table.iter_rows(named=True), strict=True):
        expected: dict[str, Any] = {}
        got: dict[str, Any] = {}
        passed = True
        for dim_id, want in example.expected.items():
            dim = tax.dimensions[dim_id]
            column = "approach" if dim.kind == "primary" else dim_id
            value = row.get(column)
            expected[dim_id], got[dim_id] = want, value
            if dim.kind == "multi":
                labels = set(filter(None, (value or "").split(";")))
                passed &= set(want) <= labels
            else:
                passed &= value == want
        if example.shares is not None:
            shares = parse_shares(row["approach_shares"] or "")
            expected["shares"] = {k: str(v) for k, v in example.shares.items()}
            got["shares"] = {k: str(v) for k, v in shares.items()}
            passed &= shares == example.shares
        results.append(ExampleResult(example, passed, expected, got, row["explanation"] or ""))
    return TestReport(tax, results)


def examples_frame(tax: Taxonomy) -> pl.DataFrame:
    """The examples as a grants frame (record ids ``example-<n>``) for the engine."""
    return pl.DataFrame(
        {
            "record_id": [f"example-{i + 1}" for i in range(len(tax.examples))],
            **{f: [ex.fields.get(f) for ex in tax.examples] for f in TEXT_FIELDS},
        },
        schema={"record_id": pl.String, **{f: pl.String for f in TEXT_FIELDS}},
    )


def parse_shares(text: str) -> dict[str, Decimal]:
    """``intervention:0.6;resilience-building:0.4`` -> {category: Decimal share}."""
    out = {}
    for part in filter(None, text.split(";")):
        category, _, share = part.rpartition(":")
        out[category] = Decimal(share)
    return out


def check_taxonomy(taxonomy: str | Path | Taxonomy) -> CheckReport:
    """Validate (raises TaxonomyError) and list what is probably a mistake, with lines."""
    tax = load_taxonomy(taxonomy)
    findings = [
        *_phrase_findings(tax),
        *_pattern_findings(tax),
        *_context_findings(tax),
        *_example_findings(tax),
    ]
    return CheckReport(tax, findings)


def _rule_key(rule: Rule) -> str:
    return f'rules "{rule.id}"'


def _phrase_findings(tax: Taxonomy) -> list[Finding]:
    """Phrases in two categories of one dimension, and phrases inside a longer phrase."""
    owners: dict[tuple[str, str], list[Rule]] = {}
    for rule in tax.rules:
        for phrase in rule.phrases:
            owners.setdefault((rule.dimension, normalize_text(phrase)), []).append(rule)
    findings = []
    for (dimension, phrase), rules in owners.items():
        categories = sorted({r.category for r in rules})
        if len(categories) > 1:
            first = rules[0]
            where = ", ".join(f"{r.category} (rule {r.id}, line {r.line})" for r in rules)
            findings.append(
                Finding(
                    "duplicate-phrase",
                    first.file,
                    first.line,
                    _rule_key(first),
                    f'phrase "{phrase}" is in more than one {dimension} category: {where}',
                )
            )
    for (dimension, phrase), rules in owners.items():
        words = phrase.split()
        for start in range(len(words)):
            for end in range(start + 1, len(words) + 1):
                if end - start == len(words):
                    continue
                inner = " ".join(words[start:end])
                for inner_rule in owners.get((dimension, inner), []):
                    outer_rule = next((r for r in rules if r.category != inner_rule.category), None)
                    if outer_rule is None:
                        continue
                    findings.append(
                        Finding(
                            "shadowed-phrase",
                            inner_rule.file,
                            inner_rule.line,
                            _rule_key(inner_rule),
                            f'phrase "{inner}" ({inner_rule.category}) is part of "{phrase}" '
                            f"({outer_rule.category}, rule {outer_rule.id}, "
                            f"line {outer_rule.line}): where that rule fires, the shorter phrase "
                            "does not count",
                        )
                    )
    return findings


def _pattern_findings(tax: Taxonomy) -> list[Finding]:
    return [
        Finding(
            "pattern-without-boundary",
            rule.file,
            rule.line,
            _rule_key(rule),
            f"pattern {pattern!r} has no \\b word boundary: it can match inside words",
        )
        for rule in tax.rules
        for pattern in rule.patterns
        if "\\b" not in pattern
    ]


def _context_findings(tax: Taxonomy) -> list[Finding]:
    used = {e for rule in tax.rules for e in (*rule.requires, *rule.unless)}
    if tax.scope is not None:
        used |= set(tax.scope.in_scope_contexts)
    return [
        Finding(
            "unused-context",
            tax.source,
            None,
            f"contexts.{name}",
            "no rule or scope uses this context",
        )
        for name in tax.contexts
        if name not in used
    ]


def _example_findings(tax: Taxonomy) -> list[Finding]:
    """Rules that fire on no example, and categories no example shows."""
    findings = []
    if tax.examples:
        result = classify_grants(examples_frame(tax), tax)
        fired = set(result.matches.get_column("rule_id").to_list())
        table = result.table
        produced: dict[str, set[str]] = {}
        for dim in tax.dimensions.values():
            column = "approach" if dim.kind == "primary" else dim.id
            values = table.get_column(column).drop_nulls().to_list()
            produced[dim.id] = {v for value in values for v in value.split(";")}
    else:
        fired, produced = set(), {}
    for rule in tax.rules:
        if rule.id not in fired:
            findings.append(
                Finding(
                    "rule-without-example",
                    rule.file,
                    rule.line,
                    _rule_key(rule),
                    "fires on no example: add one, or check its phrases",
                )
            )
    for dim in tax.dimensions.values():
        expected = {
            v
            for ex in tax.examples
            for v in (
                ex.expected.get(dim.id)
                if isinstance(ex.expected.get(dim.id), list)
                else [ex.expected.get(dim.id)]
            )
            if v
        }
        for category in dim.categories:
            if category == dim.default:
                continue
            shown = dim.kind != "primary" and category in produced.get(dim.id, set())
            if category not in expected and not shown:
                findings.append(
                    Finding(
                        "category-without-example",
                        tax.source,
                        None,
                        f"dimensions.{dim.id}.{category}",
                        "no example expects or shows this category",
                    )
                )
    return findings
