"""Why one grant landed where it did: the decision, scores, rules that fired and near misses.

``explain`` runs the same engine as ``classify`` on one grant (from the store, or a text) and
returns an :class:`Explanation`: data, not printed text. The CLI renders it with the matched
words highlighted; ``to_dict`` is its JSON form.

Near misses are what a taxonomy author needs to see: a rule whose phrase was found but which
was switched off by ``unless`` or lacked its ``requires`` context, a phrase that did not count
because it sits inside a longer phrase of another category, and categories whose score fell
just short of ``min_score`` or ``split_min_score``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from .classify import run_engine
from .errors import AnalyzerError
from .matching import FIELD_ID, Matcher, context_key
from .phrases import normalized_with_offsets, pad
from .schema import GRANTS_SCHEMA, TEXT_FIELDS
from .taxonomy import Taxonomy

if TYPE_CHECKING:
    from .overrides import Ledger


@dataclass
class Hit:
    """A rule that counted: its phrase, the field it was found in, what it added."""

    dimension: str
    category: str
    rule_id: str
    field: str
    phrase: str
    weight: float
    field_weight: float


@dataclass
class NearMiss:
    """A rule or category that almost decided, and why it did not."""

    kind: str  # "unless" | "requires" | "nested" | "below-min-score" | "below-split-score"
    dimension: str
    category: str
    rule_id: str | None
    field: str | None
    phrase: str | None
    reason: str


@dataclass
class Span:
    """Characters [start, end) of a field's original text that a phrase matched."""

    field: str
    start: int
    end: int
    rule_id: str
    counted: bool


@dataclass
class Explanation:
    record_id: str
    grant_id: str | None
    #: The grant's original text per field (only fields with text).
    texts: dict[str, str]
    taxonomy: str
    #: approach, approach_shares, ambiguous, decided_by, and one entry per other dimension.
    decision: dict[str, Any]
    #: Non-zero scores per dimension and category.
    scores: dict[str, dict[str, float]]
    hits: list[Hit]
    near_misses: list[NearMiss]
    spans: list[Span]
    #: The ledger entry that decided the grant, if one did.
    override: dict[str, Any] | None = None
    #: Other records sharing the grant id (a USAspending award has one per transaction).
    other_records: list[str] = field(default_factory=list)
    #: For a grant from the store: its money, year and where it came from (amount as text,
    #: currency, year, source_file, source_sheet, source_row, flags).
    source: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def explain(
    grant_id: str | None = None,
    *,
    text: str | None = None,
    fields: dict[str, str] | None = None,
    db: str | Path | None = None,
    taxonomy: str | Path | Taxonomy = "csec",
    overrides: str | Path | Ledger | None = None,
) -> Explanation:
    """Explain one grant: by ``grant_id`` (or record_id) from the store ``db``, or a ``text``
    (its description) with other text ``fields`` such as ``{"program": "16.320"}``, since
    rules may look at the title, programme, recipient or funder too."""
    grants, others = _one_grant(grant_id, text=text, fields=fields or {}, db=db)
    run = run_engine(grants, taxonomy, overrides=overrides)
    matcher, evidence = run.matcher, run.evidence
    row = run.classification.table.row(0, named=True)
    tax = matcher.taxonomy
    decision = {
        "approach": row["approach"],
        "approach_shares": row["approach_shares"],
        "ambiguous": row["ambiguous"],
        "decided_by": row["decided_by"],
    }
    for dim in tax.dimensions.values():
        if dim.kind != "primary":
            decision[dim.id] = row.get(dim.id)
    phrase = evidence.phrase_text.str.strip_chars().to_list()
    hits = _hits(evidence.fired, matcher, phrase)
    near = [
        *_rule_near_misses(evidence, matcher, phrase),
        *_score_near_misses(run.scores, matcher, decision["approach"]),
    ]
    texts = {f: v for f in TEXT_FIELDS if (v := grants.item(0, f)) not in (None, "")}
    override = None
    if run.overridden is not None and run.overridden.height:
        override = run.overridden.drop("row").row(0, named=True)
    return Explanation(
        record_id=row["record_id"],
        grant_id=grants.item(0, "grant_id"),
        texts=texts,
        taxonomy=f"{tax.name} {tax.version}",
        decision=decision,
        scores=_scores(run.scores, matcher),
        hits=hits,
        near_misses=near,
        spans=_spans(texts, hits, near),
        override=override,
        other_records=others,
        source=_source(grants) if text is None and not fields else None,
    )


def _source(grants: pl.DataFrame) -> dict[str, Any]:
    """The grant's money and provenance, for a person checking it against the file."""
    columns = ["currency", "year", "source_file", "source_sheet", "source_row", "flags"]
    return grants.select(pl.col("amount").cast(pl.String), *columns).row(0, named=True)


def _one_grant(
    grant_id: str | None, *, text: str | None, fields: dict[str, str], db
) -> tuple[pl.DataFrame, list[str]]:
    """A one-row grants frame, and the other record ids that share the grant id."""
    unknown = sorted(set(fields) - set(TEXT_FIELDS))
    if unknown:
        raise AnalyzerError(
            f"unknown text field {unknown[0]!r}", hint="fields are " + ", ".join(TEXT_FIELDS)
        )
    if text is not None or fields:
        values = {"record_id": "text", **fields}
        if text is not None:
            values["description"] = text
        frame = pl.DataFrame({name: [value] for name, value in values.items()})
        return _with_all_columns(frame.cast(pl.String)), []
    if grant_id is None:
        raise AnalyzerError("nothing to explain", hint="give a GRANT_ID with --db, or --text")
    if db is None:
        raise AnalyzerError(
            f"explaining grant {grant_id} needs the store it was loaded into",
            hint="add --db DB (or use --text to explain a description)",
        )
    from . import store

    con = store.connect(db, must_exist=True)
    try:
        grants = store.load_grants(con)
    finally:
        con.close()
    found = grants.filter((pl.col("record_id") == grant_id) | (pl.col("grant_id") == grant_id))
    if found.is_empty():
        raise AnalyzerError(
            f"no grant with grant_id or record_id {grant_id!r} in {db}",
            hint="record ids look like 'file.xlsx:Sheet1:12'; `analyzer export` lists them",
        )
    exact = found.filter(pl.col("record_id") == grant_id)
    chosen = exact if exact.height else found.head(1)
    others = [
        r for r in found.get_column("record_id").to_list() if r != chosen.item(0, "record_id")
    ]
    return chosen.head(1), others


def _with_all_columns(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        (pl.col(c) if c in frame.columns else pl.lit(None, GRANTS_SCHEMA[c])).alias(c)
        for c in GRANTS_SCHEMA
    )


def _hits(fired: pl.DataFrame, matcher: Matcher, phrase: list[str]) -> list[Hit]:
    """The hits that counted, with their rule's weight and their field's."""
    out = []
    for hit in fired.iter_rows(named=True):
        rule = matcher.taxonomy.rules[hit["rule"]]
        out.append(
            Hit(
                rule.dimension,
                rule.category,
                rule.id,
                TEXT_FIELDS[hit["field"]],
                phrase[hit["vid"]],
                float(rule.weight),
                float(hit["field_weight"]),
            )
        )
    return out


def _rule_near_misses(evidence, matcher: Matcher, phrase: list[str]) -> list[NearMiss]:
    """Rules whose phrase matched but which were blocked, lacked context, or were nested."""
    tax = matcher.taxonomy
    found_contexts = evidence.contexts.to_dicts()
    out = []
    missed = evidence.hits.filter(~pl.col("requires_ok") | pl.col("blocked"))
    for hit in missed.iter_rows(named=True):
        rule = tax.rules[hit["rule"]]
        fields = tax.rule_fields(rule)
        common = (
            rule.dimension,
            rule.category,
            rule.id,
            TEXT_FIELDS[hit["field"]],
            phrase[hit["vid"]],
        )
        if hit["blocked"]:
            for entry in rule.unless:
                seen = _context_found(entry, fields, found_contexts, matcher, phrase)
                if seen:
                    out.append(NearMiss("unless", *common, f'unless "{entry}": found {seen}'))
        else:
            wanted = ", ".join(f'"{e}"' for e in rule.requires)
            out.append(
                NearMiss(
                    "requires", *common, f"requires {wanted}: none found in {', '.join(fields)}"
                )
            )
    nested = evidence.nested.join(evidence.hits, on="hit")
    for hit in nested.iter_rows(named=True):
        rule = tax.rules[hit["rule"]]
        outer = phrase[hit["outer_vid"]]
        out.append(
            NearMiss(
                "nested",
                rule.dimension,
                rule.category,
                rule.id,
                TEXT_FIELDS[hit["field"]],
                phrase[hit["vid"]],
                f'part of "{outer}", a phrase of another {rule.dimension} category that counted',
            )
        )
    return _unique(out)


def _context_found(entry: str, fields, contexts: list[dict], matcher: Matcher, phrase) -> str:
    ctx = matcher.contexts.index(context_key(entry, matcher.taxonomy))
    places = {
        f'"{phrase[c["vid"]]}" in {TEXT_FIELDS[c["field"]]}'
        for c in contexts
        if c["ctx"] == ctx and TEXT_FIELDS[c["field"]] in fields
    }
    return ", ".join(sorted(places))


def _score_near_misses(scores: pl.DataFrame, matcher: Matcher, approach: str) -> list[NearMiss]:
    """Categories with some evidence that fell short of min_score or split_min_score."""
    settings = matcher.taxonomy.settings
    out = []
    for (dimension, category), score in _category_scores(scores, matcher):
        dim = matcher.taxonomy.dimensions[dimension]
        if 0 < score < settings.min_score and dim.kind != "single":
            out.append(
                NearMiss(
                    "below-min-score",
                    dimension,
                    category,
                    None,
                    None,
                    None,
                    f"score {score:g} is below min_score {settings.min_score:g}",
                )
            )
        elif (
            dim.kind == "primary"
            and category != approach
            and settings.min_score <= score < settings.split_min_score
        ):
            out.append(
                NearMiss(
                    "below-split-score",
                    dimension,
                    category,
                    None,
                    None,
                    None,
                    f"score {score:g} is below split_min_score {settings.split_min_score:g}: "
                    "no share of the money",
                )
            )
    return out


def _category_scores(scores: pl.DataFrame, matcher: Matcher):
    for cat, dimension, category in matcher.categories.select(
        "cat", "dimension", "category"
    ).iter_rows():
        score = scores.item(0, f"c{cat}")
        if score:
            yield (dimension, category), float(score)


def _scores(scores: pl.DataFrame, matcher: Matcher) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for (dimension, category), score in _category_scores(scores, matcher):
        out.setdefault(dimension, {})[category] = score
    return out


def _spans(texts: dict[str, str], hits: list[Hit], near: list[NearMiss]) -> list[Span]:
    """Where each matched phrase sits in the original text (for highlighting)."""
    wanted = [(h.field, h.phrase, h.rule_id, True) for h in hits] + [
        (m.field, m.phrase, m.rule_id or "", False) for m in near if m.field and m.phrase
    ]
    spans: dict[tuple[str, int, int], Span] = {}
    for field_name, phrase, rule_id, counted in wanted:
        original = texts.get(field_name)
        if not original:
            continue
        normal, offsets = normalized_with_offsets(original)
        target = pad(phrase)
        start = normal.find(target)
        while start >= 0:
            first, last = start + 1, start + len(target) - 2
            key = (field_name, offsets[first], offsets[last] + 1)
            if key not in spans or (counted and not spans[key].counted):
                spans[key] = Span(field_name, key[1], key[2], rule_id, counted)
            start = normal.find(target, start + 1)
    return sorted(spans.values(), key=lambda s: (FIELD_ID[s.field], s.start, -s.end))


def _unique(items: list[NearMiss]) -> list[NearMiss]:
    seen, out = set(), []
    for item in items:
        key = (item.kind, item.rule_id, item.field, item.phrase)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
