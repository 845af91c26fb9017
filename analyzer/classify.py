"""The vectorised rule engine: every grant of a frame is classified at once.

How it works, in passes over whole columns (no Python loop over rows):

1. Each text field is normalised (``phrases.normalize_expr``) and searched once with an
   Aho-Corasick automaton holding every phrase variant the field needs (rule phrases and
   context phrases), with overlapping matches: linear time, word boundaries from the padding,
   nested phrases all found. Patterns (Rust regex, linear time) run on the same text.
2. The hits become one long frame (row, field, phrase id, count); joins with small tables
   from the taxonomy give rule hits, context hits, ``requires``/``unless`` outcomes and
   scores.
3. Group-bys turn scores into decisions (``docs/taxonomy-format.md``, "Decisions"), exact
   integer shares (units of 1/10000) and exact cent allocations (largest remainder).

The long frames are kept so ``explain`` can show each grant's rules, phrases and fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl

from . import phrases as ph
from .errors import AnalyzerError
from .schema import (
    ALLOCATIONS_SCHEMA,
    CLASSIFICATION_EXPORT_COLUMNS,
    CLASSIFICATION_SCHEMA,
    EXPORT_COLUMNS,
    GRANTS_SCHEMA,
    MATCHES_SCHEMA,
    MONEY,
    TEXT_FIELDS,
    Classification,
)
from .taxonomy import UNCLASSIFIED, Taxonomy, load_taxonomy

#: Shares are exact integers in units of 1/10000 (``Decimal(5, 4)`` in the store).
SHARE_UNIT = 10_000
#: Scores are sums of float weights; rounding keeps 0.1 + 0.2 from missing a 0.3 threshold.
SCORE_DECIMALS = 6
POLICIES = ("primary", "split")
FIELD_ID = {name: i for i, name in enumerate(TEXT_FIELDS)}

ROW = pl.UInt32
ID = pl.UInt32


# --- The taxonomy compiled into lookup tables ---------------------------------------------------


@dataclass
class Matcher:
    """A taxonomy as the engine uses it: phrase variants and small join tables of integer ids."""

    taxonomy: Taxonomy
    #: Padded phrase variants; the position is the phrase id (``vid``).
    variants: list[str]
    #: The variants each field is searched for.
    field_variants: dict[str, list[str]]
    #: vid -> rule whose phrase it is: vid, rule.
    triggers: pl.DataFrame
    #: vid -> context it belongs to: vid, ctx.
    context_phrases: pl.DataFrame
    #: rule, field, field_weight: the fields a rule looks at.
    rule_fields: pl.DataFrame
    #: rule, ctx: one row per requires / unless entry.
    requires: pl.DataFrame
    unless: pl.DataFrame
    #: rule, rule_id, cat, weight.
    rules: pl.DataFrame
    #: cat, dimension, category, sort: every category of every dimension.
    categories: pl.DataFrame
    #: Context names ("youth") and literal context phrases ("phrase:not limited to police").
    contexts: list[str]
    #: (rule index, pattern, fields) for each pattern of each rule.
    patterns: list[tuple[int, str, tuple[str, ...]]]
    #: Context ids that put a grant in scope.
    scope_contexts: list[int]

    @property
    def fields(self) -> list[str]:
        """Fields that have to be normalised: searched for phrases, patterns or scope words."""
        needed = set(self.field_variants) | {f for _, _, fs in self.patterns for f in fs}
        if self.taxonomy.scope is not None:
            needed |= set(self.taxonomy.scope_fields())
        return [f for f in TEXT_FIELDS if f in needed]


def context_key(entry: str, taxonomy: Taxonomy) -> str:
    """A requires/unless entry names a context or is itself a phrase."""
    return entry if entry in taxonomy.contexts else f"phrase:{entry}"


def compile_taxonomy(taxonomy: Taxonomy) -> Matcher:
    """Build the lookup tables of a validated taxonomy (cheap: proportional to its size)."""
    tax = taxonomy
    variant_ids: dict[str, int] = {}

    def vids(phrase: str) -> list[int]:
        return [
            variant_ids.setdefault(ph.pad(v), len(variant_ids)) for v in ph.phrase_variants(phrase)
        ]

    # Contexts: named ones, then literal requires/unless phrases as anonymous contexts.
    contexts: dict[str, int] = {}
    context_rows: list[tuple[int, int]] = []

    def context_id(key: str) -> int:
        if key not in contexts:
            contexts[key] = len(contexts)
            words = tax.contexts[key] if key in tax.contexts else (key.removeprefix("phrase:"),)
            for word in words:
                context_rows.extend((vid, contexts[key]) for vid in vids(word))
        return contexts[key]

    categories = [
        (dim.id, cat, dim.sort_key(cat)[0] * 1000 + dim.sort_key(cat)[1])
        for dim in tax.dimensions.values()
        for cat in [*dim.categories, *([UNCLASSIFIED] if dim.kind == "primary" else [])]
    ]
    cat_ids = {(d, c): i for i, (d, c, _) in enumerate(categories)}

    trigger_rows, field_rows, requires_rows, unless_rows, patterns = [], [], [], [], []
    field_vids: dict[str, set[int]] = {f: set() for f in TEXT_FIELDS}
    weights = tax.settings.field_weights
    for index, rule in enumerate(tax.rules):
        fields = tax.rule_fields(rule)
        rule_vids = [v for phrase in rule.phrases for v in vids(phrase)]
        trigger_rows.extend((v, index) for v in rule_vids)
        field_rows.extend((index, FIELD_ID[f], float(weights.get(f, 0.0))) for f in fields)
        for f in fields:
            field_vids[f].update(rule_vids)
        for entries, out in ((rule.requires, requires_rows), (rule.unless, unless_rows)):
            for entry in entries:
                ctx = context_id(context_key(entry, tax))
                out.append((index, ctx))
                for f in fields:
                    field_vids[f].update(v for v, c in context_rows if c == ctx)
        patterns.extend((index, pattern, fields) for pattern in rule.patterns)

    scope_contexts = []
    if tax.scope is not None:
        scope_contexts = [context_id(name) for name in tax.scope.in_scope_contexts]
        for f in tax.scope_fields():
            field_vids[f].update(v for v, c in context_rows if c in scope_contexts)

    variants = list(variant_ids)
    return Matcher(
        taxonomy=tax,
        variants=variants,
        field_variants={
            f: sorted(variants[v] for v in ids) for f, ids in field_vids.items() if ids
        },
        triggers=_frame(trigger_rows, {"vid": ID, "rule": ID}).unique(),
        context_phrases=_frame(context_rows, {"vid": ID, "ctx": ID}).unique(),
        rule_fields=_frame(field_rows, {"rule": ID, "field": pl.UInt8, "field_weight": pl.Float64}),
        requires=_frame(requires_rows, {"rule": ID, "ctx": ID}).unique(),
        unless=_frame(unless_rows, {"rule": ID, "ctx": ID}).unique(),
        rules=pl.DataFrame(
            {
                "rule": list(range(len(tax.rules))),
                "rule_id": [r.id for r in tax.rules],
                "cat": [cat_ids[(r.dimension, r.category)] for r in tax.rules],
                "weight": [float(r.weight) for r in tax.rules],
            },
            schema={"rule": ID, "rule_id": pl.String, "cat": ID, "weight": pl.Float64},
        ),
        categories=pl.DataFrame(
            {
                "cat": list(range(len(categories))),
                "dimension": [d for d, _, _ in categories],
                "category": [c for _, c, _ in categories],
                "sort": [s for _, _, s in categories],
            },
            schema={"cat": ID, "dimension": pl.String, "category": pl.String, "sort": pl.Int64},
        ),
        contexts=list(contexts),
        patterns=patterns,
        scope_contexts=scope_contexts,
    )


def _frame(rows: list[tuple], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row")


# --- Pass 1: evidence ----------------------------------------------------------------------------


@dataclass
class Evidence:
    """Everything the texts say, as long frames keyed by row number (0-based, in input order)."""

    #: The normalised text of each needed field (one row per grant).
    text: pl.DataFrame
    #: Every phrase or pattern hit of a rule in one of its fields:
    #: row, field, vid, count, rule, field_weight.
    hits: pl.DataFrame
    #: The hits of rules that fired (requires met, no unless, not nested): these score.
    fired: pl.DataFrame
    #: Hits found only inside a longer phrase of another category of the same dimension:
    #: row, field, vid, rule, outer_vid.
    nested: pl.DataFrame
    #: Rules whose phrase matched but an unless entry was found: row, rule, ctx, field, vid.
    blocked: pl.DataFrame
    #: Rules whose phrase matched but no requires entry was found: row, rule.
    unmet: pl.DataFrame
    #: Context phrases found: row, field, ctx, vid.
    contexts: pl.DataFrame
    #: Padded phrase text per vid (variants, then texts matched by patterns).
    phrase_text: pl.Series


def gather_evidence(grants: pl.DataFrame, matcher: Matcher) -> Evidence:
    """Search every field of every grant once and derive which rules fired."""
    fields = matcher.fields
    text = (
        grants.select(ph.normalize_expr(_text_column(grants, f)).alias(f) for f in fields)
        if fields
        else pl.DataFrame()
    )
    found = _phrase_hits(text, matcher)
    pattern_hits, pattern_texts = _pattern_hits(text, matcher, first_vid=len(matcher.variants))
    phrase_text = pl.Series("phrase", matcher.variants + pattern_texts, dtype=pl.String)

    hits = pl.concat(
        [
            found.join(matcher.triggers, on="vid"),
            pattern_hits,
        ],
        how="vertical_relaxed",
    ).join(matcher.rule_fields, on=["rule", "field"])
    contexts = found.join(matcher.context_phrases, on="vid").select("row", "field", "ctx", "vid")

    candidates = hits.select("row", "rule").unique()
    rule_field_keys = matcher.rule_fields.select("rule", "field")
    satisfied = (
        candidates.join(matcher.requires, on="rule")
        .join(contexts, on=["row", "ctx"])
        .join(rule_field_keys, on=["rule", "field"], how="semi")
        .select("row", "rule")
        .unique()
    )
    unmet = candidates.join(matcher.requires.select("rule").unique(), on="rule", how="semi").join(
        satisfied, on=["row", "rule"], how="anti"
    )
    blocked = (
        candidates.join(matcher.unless, on="rule")
        .join(contexts, on=["row", "ctx"])
        .join(rule_field_keys, on=["rule", "field"], how="semi")
    )
    fired = hits.join(unmet, on=["row", "rule"], how="anti").join(
        blocked.select("row", "rule").unique(), on=["row", "rule"], how="anti"
    )
    nested = _nested_hits(fired, matcher, phrase_text)
    fired = fired.join(nested, on=["row", "field", "vid", "rule"], how="anti")
    return Evidence(text, hits, fired, nested, blocked, unmet, contexts, phrase_text)


def _nested_hits(fired: pl.DataFrame, matcher: Matcher, phrase_text: pl.Series) -> pl.DataFrame:
    """Hits that are only part of a longer phrase of a competing category.

    "mental health" inside "mental health court" is no evidence of mental-health care when
    "mental health court" belongs to another category of the same dimension; it still counts
    in other dimensions, and a second, separate mention still counts (occurrence counts).
    """
    schema = {"row": ROW, "field": pl.UInt8, "vid": ID, "rule": ID, "outer_vid": ID}
    keyed = fired.join(matcher.rules.select("rule", "cat"), on="rule").join(
        matcher.categories.select("cat", "dimension"), on="cat"
    )
    competing = (
        keyed.group_by("row", "dimension")
        .agg(pl.col("cat").n_unique().alias("n"))
        .filter(pl.col("n") > 1)
    )
    if competing.is_empty():
        return _frame([], schema)
    phrases = pl.DataFrame(
        {"vid": range(len(phrase_text)), "phrase": phrase_text},
        schema={"vid": ID, "phrase": pl.String},
    )
    inner = keyed.join(competing, on=["row", "dimension"], how="semi").join(phrases, on="vid")
    outer = inner.select(
        "row",
        "field",
        "dimension",
        pl.col("cat").alias("outer_cat"),
        pl.col("vid").alias("outer_vid"),
        pl.col("phrase").alias("outer_phrase"),
        pl.col("count").alias("outer_count"),
    ).unique()
    return (
        inner.join(outer, on=["row", "field", "dimension"])
        .filter(
            (pl.col("cat") != pl.col("outer_cat"))
            & (pl.col("vid") != pl.col("outer_vid"))
            & (pl.col("outer_count") >= pl.col("count"))
            & pl.col("outer_phrase").str.contains(pl.col("phrase"), literal=True)
        )
        .select(list(schema))
        .unique(["row", "field", "vid", "rule"])
    )


def _text_column(grants: pl.DataFrame, field: str) -> pl.Expr:
    if field in grants.columns:
        return pl.col(field).cast(pl.String)
    return pl.lit(None, dtype=pl.String)


def _phrase_hits(text: pl.DataFrame, matcher: Matcher) -> pl.DataFrame:
    """row, field, vid, count for every phrase variant found (all overlaps) in every field."""
    vid_of = pl.Enum(matcher.variants) if matcher.variants else None
    parts = []
    for field, variants in matcher.field_variants.items():
        found = text.select(
            pl.col(field)
            .str.extract_many(variants, overlapping=True)
            .cast(pl.List(vid_of))
            .list.eval(pl.element().to_physical().cast(ID))
            .alias("vid")
        )
        parts.append(
            found.with_row_index("row")
            .explode("vid")
            .drop_nulls("vid")
            .group_by("row", "vid")
            .len("count")
            .select(
                pl.col("row").cast(ROW),
                pl.lit(FIELD_ID[field], pl.UInt8).alias("field"),
                "vid",
                pl.col("count").cast(pl.UInt32),
            )
        )
    if not parts:
        return _frame([], {"row": ROW, "field": pl.UInt8, "vid": ID, "count": pl.UInt32})
    return pl.concat(parts)


def _pattern_hits(
    text: pl.DataFrame, matcher: Matcher, *, first_vid: int
) -> tuple[pl.DataFrame, list[str]]:
    """row, field, vid, count, rule for every pattern match; matched texts get new vids."""
    schema = {"row": ROW, "field": pl.UInt8, "vid": ID, "count": pl.UInt32, "rule": ID}
    parts = []
    for rule, pattern, fields in matcher.patterns:
        for field in fields:
            found = (
                text.select(pl.col(field).str.extract_all(f"(?i){pattern}").alias("match"))
                .with_row_index("row")
                .explode("match")
                .drop_nulls("match")
                .filter(pl.col("match").str.strip_chars() != "")
            )
            if found.height:
                parts.append(
                    found.group_by("row", "match")
                    .len("count")
                    .with_columns(
                        pl.lit(FIELD_ID[field], pl.UInt8).alias("field"),
                        pl.lit(rule, ID).alias("rule"),
                    )
                )
    if not parts:
        return _frame([], schema), []
    hits = pl.concat(parts)
    texts = hits.select(pl.col("match").str.strip_chars().unique(maintain_order=True)).to_series()
    ids = pl.DataFrame(
        {"match": texts, "vid": range(first_vid, first_vid + len(texts))},
        schema={"match": pl.String, "vid": ID},
    )
    hits = hits.with_columns(pl.col("match").str.strip_chars()).join(ids, on="match")
    hits = hits.group_by("row", "field", "vid", "rule").agg(pl.col("count").sum())
    return hits.select(pl.col(name).cast(dtype) for name, dtype in schema.items()), [
        ph.pad(t) for t in texts.to_list()
    ]


# --- Pass 2: scores and decisions ---------------------------------------------------------------


def category_scores(evidence: Evidence, matcher: Matcher) -> pl.DataFrame:
    """row, cat, score: each fired rule counts once per grant, with its best field."""
    return (
        evidence.fired.group_by("row", "rule")
        .agg(pl.col("field_weight").max())
        .join(matcher.rules.select("rule", "cat", "weight"), on="rule")
        .group_by("row", "cat")
        .agg((pl.col("weight") * pl.col("field_weight")).sum().round(SCORE_DECIMALS).alias("score"))
        .filter(pl.col("score") > 0)
    )


def _ranked(scores: pl.DataFrame, matcher: Matcher, dimension: str) -> pl.DataFrame:
    """The scores of one dimension, best first per row (ties: lower order first)."""
    cats = matcher.categories.filter(pl.col("dimension") == dimension)
    return scores.join(cats.select("cat", "category", "sort"), on="cat").sort(
        ["row", "score", "sort"], descending=[False, True, False]
    )


def decide_primary(
    n: int, evidence: Evidence, scores: pl.DataFrame, matcher: Matcher
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(decisions, shares): one row per grant, and the long form row, category, units."""
    tax = matcher.taxonomy
    settings = tax.settings
    ranked = _ranked(scores, matcher, tax.primary.id)
    top = ranked.group_by("row", maintain_order=True).agg(
        pl.col("category").first().alias("top"),
        pl.col("score").first().alias("top_score"),
        pl.col("score").get(1, null_on_oob=True).alias("runner_score"),
    )
    rows = pl.DataFrame({"row": pl.arange(0, n, dtype=ROW, eager=True)})
    decided = rows.join(top, on="row", how="left").join(
        _scope_outcome(n, evidence, matcher), on="row", how="left"
    )
    by_rules = pl.col("top_score") >= settings.min_score
    out_category = tax.scope.out_of_scope_category if tax.scope else None
    decisions = decided.select(
        "row",
        pl.when(by_rules)
        .then(pl.col("top"))
        .when(pl.col("top_score").is_null() & pl.col("out_of_scope"))
        .then(pl.lit(out_category))
        .otherwise(pl.lit(UNCLASSIFIED))
        .alias("approach"),
        (by_rules & (pl.col("runner_score") >= settings.ambiguity_ratio * pl.col("top_score")))
        .fill_null(False)
        .alias("ambiguous"),
        pl.when(by_rules)
        .then(pl.lit("rules"))
        .when(pl.col("top_score").is_null() & pl.col("out_of_scope"))
        .then(pl.lit("scope"))
        .otherwise(pl.lit("none"))
        .alias("decided_by"),
    )
    shares = _split_shares(decisions, ranked, evidence, matcher)
    return decisions, shares


def _scope_outcome(n: int, evidence: Evidence, matcher: Matcher) -> pl.DataFrame:
    """row, out_of_scope: long enough texts with no in-scope context (only where scope is set)."""
    tax = matcher.taxonomy
    if tax.scope is None:
        return _frame([], {"row": ROW, "out_of_scope": pl.Boolean})
    fields = [f for f in tax.scope_fields() if f in evidence.text.columns]
    scope_fields = [FIELD_ID[f] for f in fields]
    in_scope = (
        evidence.contexts.filter(
            pl.col("ctx").is_in(matcher.scope_contexts) & pl.col("field").is_in(scope_fields)
        )
        .select("row")
        .unique()
    )
    words = sum(
        (pl.col(f).str.count_matches(r"[\p{L}\p{N}]+") for f in fields), pl.lit(0, pl.UInt32)
    )
    return (
        evidence.text.with_row_index("row")
        .join(in_scope, on="row", how="anti")
        .select(pl.col("row").cast(ROW), (words >= tax.scope.min_words).alias("out_of_scope"))
        .filter(pl.col("out_of_scope"))
    )


def _split_shares(
    decisions: pl.DataFrame, ranked: pl.DataFrame, evidence: Evidence, matcher: Matcher
) -> pl.DataFrame:
    """row, category, units (of 1/10000): the evidence-based split, primary first.

    A second category needs split_min_score of its own evidence (nested phrases do not count,
    see ``_nested_hits``), so a split always names a distinct component of the grant.
    """
    tax = matcher.taxonomy
    settings = tax.settings
    out_category = tax.scope.out_of_scope_category if tax.scope else None
    primary_only = decisions.select(
        "row", pl.col("approach").alias("category"), pl.lit(SHARE_UNIT, pl.Int64).alias("units")
    )
    by_rules = decisions.filter(pl.col("decided_by") == "rules")
    if out_category is not None:
        by_rules = by_rules.filter(pl.col("approach") != out_category)
    seconds = (
        ranked.join(by_rules.select("row", "approach"), on="row")
        .filter(
            (pl.col("category") != pl.col("approach"))
            & (pl.col("score") >= settings.split_min_score)
            & (pl.col("category") != (out_category or ""))
        )
        .select("row", "cat", "category", "score", "sort")
    )
    if seconds.is_empty():
        return primary_only
    seconds = (
        seconds.sort(["row", "score", "sort"], descending=[False, True, False])
        .with_columns(pl.int_range(pl.len()).over("row").alias("rank"))
        .filter(pl.col("rank") < settings.split_max_categories - 1)
    )
    if seconds.is_empty():
        return primary_only
    tops = (
        ranked.join(seconds.select("row").unique(), on="row")
        .group_by("row")
        .agg(pl.col("score").first().alias("top_score"))
    )
    micro = 10**SCORE_DECIMALS
    parts = (
        seconds.join(tops, on="row")
        .with_columns(
            (pl.col("score") * micro).round(0).cast(pl.Int64).alias("m"),
        )
        .with_columns(
            (
                pl.col("m").sum().over("row")
                + (pl.col("top_score") * micro).round(0).cast(pl.Int64)
            ).alias("total")
        )
        .with_columns(
            # Rounded down to 1/100, so the primary (the remainder) stays the largest share.
            ((pl.col("m") * 100) // pl.col("total") * (SHARE_UNIT // 100)).alias("units")
        )
        .filter(pl.col("units") > 0)
    )
    secondary = parts.select("row", "category", "units")
    primary = primary_only.join(
        secondary.group_by("row").agg(pl.col("units").sum().alias("given")), on="row", how="left"
    ).select("row", "category", (pl.col("units") - pl.col("given").fill_null(0)).alias("units"))
    return pl.concat([primary, secondary]).sort("row", maintain_order=True)


def decide_labels(n: int, scores: pl.DataFrame, matcher: Matcher) -> pl.DataFrame:
    """row plus one column per non-primary dimension: ';'-joined labels (multi) or one (single)."""
    tax = matcher.taxonomy
    out = pl.DataFrame({"row": pl.arange(0, n, dtype=ROW, eager=True)})
    for dim in tax.dimensions.values():
        if dim.kind == "primary":
            continue
        ranked = _ranked(scores, matcher, dim.id)
        if dim.kind == "multi":
            labels = (
                ranked.filter(pl.col("score") >= tax.settings.min_score)
                .sort(["row", "sort"])
                .group_by("row", maintain_order=True)
                .agg(pl.col("category").str.join(";").alias(dim.id))
            )
            fill = ""
        else:
            labels = ranked.group_by("row", maintain_order=True).agg(
                pl.col("category").first().alias(dim.id)
            )
            fill = dim.default
        out = out.join(labels, on="row", how="left").with_columns(pl.col(dim.id).fill_null(fill))
    return out


# --- Overrides, text columns, allocations ----------------------------------------------------


def apply_overrides(
    grants: pl.DataFrame, decisions: pl.DataFrame, shares: pl.DataFrame, ledger
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Ledger decisions win over rules: (decisions, shares, applied row, key, reason, reviewer)."""
    keys = grants.select(
        pl.arange(0, grants.height, dtype=ROW).alias("row"),
        _text_column(grants, "record_id").alias("record_id"),
        _text_column(grants, "grant_id").alias("grant_id"),
    )
    entries = ledger.entries.select("key", "approach", "reason", "reviewer")
    # A ledger key naming a record_id is more specific than one naming a grant_id.
    by_record = keys.join(entries, left_on="record_id", right_on="key").with_columns(
        pl.col("record_id").alias("key"), pl.lit(0).alias("precedence")
    )
    by_grant = keys.join(entries, left_on="grant_id", right_on="key").with_columns(
        pl.col("grant_id").alias("key"), pl.lit(1).alias("precedence")
    )
    applied = (
        pl.concat([by_record, by_grant], how="diagonal_relaxed")
        .sort("row", "precedence")
        .unique("row", keep="first", maintain_order=True)
        .select("row", "key", "approach", "reason", "reviewer")
    )
    if applied.is_empty():
        return decisions, shares, applied
    decisions = decisions.update(
        applied.select(
            "row",
            "approach",
            pl.lit(False).alias("ambiguous"),
            pl.lit("override").alias("decided_by"),
        ),
        on="row",
    )
    ledger_shares = (
        applied.select("row", "key")
        .join(ledger.shares, on="key")
        .select("row", "category", "units")
    )
    shares = pl.concat(
        [shares.join(applied.select("row"), on="row", how="anti"), ledger_shares]
    ).sort("row", maintain_order=True)
    return decisions, shares, applied


def shares_text(shares: pl.DataFrame, matcher: Matcher) -> pl.DataFrame:
    """row, approach_shares: ``intervention:0.6;resilience-building:0.4`` (largest first)."""
    order = matcher.categories.filter(pl.col("dimension") == matcher.taxonomy.primary.id)
    return (
        shares.join(order.select("category", "sort"), on="category", how="left")
        .sort(["row", "units", "sort"], descending=[False, True, False])
        .group_by("row", maintain_order=True)
        .agg(
            (pl.col("category") + ":" + _format_units(pl.col("units")))
            .str.join(";")
            .alias("approach_shares")
        )
    )


def _format_units(units: pl.Expr) -> pl.Expr:
    """10000 -> "1", 6000 -> "0.6", 2550 -> "0.255", 5 -> "0.0005" (exact, no float)."""
    digits = units.cast(pl.String).str.zfill(4).str.strip_chars_end("0")
    return pl.when(units == SHARE_UNIT).then(pl.lit("1")).otherwise(pl.lit("0.") + digits)


def explanations(evidence: Evidence, matcher: Matcher, n: int) -> pl.DataFrame:
    """row, matched_rules, explanation: rule, phrase and field of every hit, in rule order."""
    named = (
        evidence.fired.select("row", "rule", "field", "vid")
        .unique()
        .sort("row", "rule", "field", "vid")
        .with_columns(
            rule_id=pl.lit(matcher.rules.get_column("rule_id")).gather(pl.col("rule")),
            phrase=pl.lit(evidence.phrase_text.str.strip_chars()).gather(pl.col("vid")),
            field_name=pl.lit(pl.Series(TEXT_FIELDS)).gather(pl.col("field")),
        )
    )
    per_row = named.group_by("row", maintain_order=True).agg(
        pl.col("rule_id").unique(maintain_order=True).str.join(";").alias("matched_rules"),
        (pl.col("rule_id") + ': "' + pl.col("phrase") + '" in ' + pl.col("field_name"))
        .str.join("; ")
        .alias("explanation"),
    )
    return (
        pl.DataFrame({"row": pl.arange(0, n, dtype=ROW, eager=True)})
        .join(per_row, on="row", how="left")
        .with_columns(pl.col("matched_rules").fill_null(""), pl.col("explanation").fill_null(""))
    )


def matches_frame(grants: pl.DataFrame, evidence: Evidence, matcher: Matcher) -> pl.DataFrame:
    """MATCHES_SCHEMA: one row per fired rule, field and phrase."""
    record_ids = _text_column(grants, "record_id")
    ids = grants.select(record_ids.alias("record_id")).to_series()
    hits = (
        evidence.fired.select("row", "rule", "field", "vid")
        .unique()
        .sort("row", "rule", "field", "vid")
        .join(matcher.rules.select("rule", "rule_id", "cat"), on="rule", how="left")
        .join(matcher.categories.select("cat", "dimension", "category"), on="cat", how="left")
    )
    return hits.select(
        pl.lit(ids).gather(pl.col("row")).alias("record_id"),
        "dimension",
        "category",
        "rule_id",
        pl.lit(pl.Series(TEXT_FIELDS)).gather(pl.col("field")).alias("field"),
        pl.lit(evidence.phrase_text.str.strip_chars()).gather(pl.col("vid")).alias("phrase"),
    ).cast(MATCHES_SCHEMA)


def allocate(
    grants: pl.DataFrame, decisions: pl.DataFrame, shares: pl.DataFrame, matcher: Matcher
) -> pl.DataFrame:
    """ALLOCATIONS_SCHEMA for both policies, in exact cents by largest remainder.

    Each grant's allocations add back to its amount exactly, so category totals add back to the
    portfolio total exactly. A tie in remainders goes to the category earlier on the scale.
    """
    amounts = grants.select(
        pl.arange(0, grants.height, dtype=ROW).alias("row"),
        _text_column(grants, "record_id").alias("record_id"),
        (
            (pl.col("amount") * 100).cast(pl.Int128)
            if "amount" in grants.columns
            else pl.lit(None, pl.Int128)
        ).alias("cents"),
    )
    order = matcher.categories.filter(pl.col("dimension") == matcher.taxonomy.primary.id).select(
        "category", "sort"
    )
    primary = decisions.select(
        "row", pl.col("approach").alias("category"), pl.lit(SHARE_UNIT, pl.Int64).alias("units")
    )
    frames = []
    for policy, parts in (("primary", primary), ("split", shares)):
        split = (
            parts.join(amounts, on="row")
            .join(order, on="category", how="left")
            .with_columns(
                (pl.col("cents").abs() * pl.col("units")).alias("product"),
            )
            .with_columns(
                (pl.col("product") // SHARE_UNIT).alias("base"),
                (pl.col("product") % SHARE_UNIT).cast(pl.Int64).alias("remainder"),
            )
            .sort(["row", "remainder", "sort"], descending=[False, True, False], nulls_last=True)
            .with_columns(
                (pl.col("cents").abs() - pl.col("base").sum().over("row")).alias("left_over"),
                (pl.int_range(pl.len()).over("row") + 1).alias("rank"),
            )
            .with_columns(
                (
                    (pl.col("base") + (pl.col("rank") <= pl.col("left_over")).cast(pl.Int128))
                    * pl.col("cents").sign()
                ).alias("cents_out")
            )
        )
        frames.append(
            split.select(
                "row",
                "record_id",
                pl.lit(policy).alias("policy"),
                "category",
                (pl.col("units").cast(pl.Decimal(38, 0)) * pl.lit(Decimal("0.0001")))
                .cast(pl.Decimal(5, 4))
                .alias("share"),
                (pl.col("cents_out").cast(pl.Decimal(38, 2)) * pl.lit(Decimal("0.01")))
                .cast(MONEY)
                .alias("amount"),
            )
        )
    return (
        pl.concat(frames)
        .sort("policy", "row", maintain_order=True)
        .select(list(ALLOCATIONS_SCHEMA))
        .cast(ALLOCATIONS_SCHEMA)
    )


# --- The public functions -------------------------------------------------------------------------


def classify_grants(
    grants: pl.DataFrame,
    taxonomy: str | Path | Taxonomy = "csec",
    *,
    overrides=None,
) -> Classification:
    """Classify every row of a grants frame (GRANTS_SCHEMA columns; text fields may be missing).

    ``overrides`` is a ledger path or a loaded ``overrides.Ledger``; its decisions win.
    """
    from .overrides import Ledger, load_overrides

    tax = load_taxonomy(taxonomy)
    matcher = compile_taxonomy(tax)
    ledger = None
    if overrides is not None:
        ledger = (
            overrides if isinstance(overrides, Ledger) else load_overrides(overrides, taxonomy=tax)
        )
    n = grants.height
    evidence = gather_evidence(grants, matcher)
    scores = category_scores(evidence, matcher)
    decisions, shares = decide_primary(n, evidence, scores, matcher)
    applied = None
    if ledger is not None:
        decisions, shares, applied = apply_overrides(grants, decisions, shares, ledger)
    labels = decide_labels(n, scores, matcher)
    explained = explanations(evidence, matcher, n)
    if applied is not None and applied.height:
        note = (
            pl.lit("override")
            + pl.when(pl.col("reviewer").is_not_null())
            .then(pl.lit(" by ") + pl.col("reviewer"))
            .otherwise(pl.lit(""))
            + pl.when(pl.col("reason").is_not_null())
            .then(pl.lit(": ") + pl.col("reason"))
            .otherwise(pl.lit(""))
        )
        explained = explained.join(
            applied.select("row", note.alias("note")), on="row", how="left"
        ).select(
            "row",
            "matched_rules",
            pl.when(pl.col("note").is_null())
            .then(pl.col("explanation"))
            .when(pl.col("explanation") == "")
            .then(pl.col("note"))
            .otherwise(pl.col("note") + "; " + pl.col("explanation"))
            .alias("explanation"),
        )
    table = (
        decisions.join(shares_text(shares, matcher), on="row", how="left")
        .join(labels, on="row", how="left")
        .join(explained, on="row", how="left")
        .sort("row")
    )
    ids = grants.select(_text_column(grants, "record_id").alias("record_id")).to_series()
    extra = [d for d in labels.columns if d != "row" and d not in CLASSIFICATION_SCHEMA]
    table = table.select(
        pl.lit(ids).gather(pl.col("row")).alias("record_id"),
        *[
            (pl.col(name) if name in table.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in CLASSIFICATION_SCHEMA.items()
            if name != "record_id"
        ],
        *extra,
    )
    run = {
        "taxonomy_name": tax.name,
        "taxonomy_version": tax.version,
        "taxonomy_sha256": tax.sha256,
        "taxonomy_path": tax.source,
        "rule_count": len(tax.rules),
        "overrides_path": str(ledger.path) if ledger is not None else None,
        "override_count": 0 if applied is None else applied.height,
        "overrides_unmatched": [] if ledger is None else _unmatched_keys(grants, ledger),
    }
    return Classification(
        table=table,
        matches=matches_frame(grants, evidence, matcher),
        allocations=allocate(grants, decisions, shares, matcher),
        run=run,
    )


def _unmatched_keys(grants: pl.DataFrame, ledger) -> list[str]:
    known = set()
    for column in ("record_id", "grant_id"):
        if column in grants.columns:
            known |= set(grants.get_column(column).drop_nulls().to_list())
    return [key for key in ledger.entries.get_column("key").to_list() if key not in known]


def classify(
    inputs=None,
    *,
    db=None,
    grants: pl.DataFrame | None = None,
    taxonomy: str | Path | Taxonomy = "csec",
    overrides=None,
    policy: str = "primary",
    out=None,
) -> pl.DataFrame:
    """Classify grants from spreadsheets, a store or a frame: one row per grant.

    Returns the canonical and provenance columns plus approach, approach_shares, ambiguous,
    rights, risk_factors, provider_type, matched_rules, decided_by (and ``allocated``: the
    grant's money per category under ``policy``). With ``db`` the classification is stored
    (spreadsheets given with ``db`` are loaded into it first); with ``out`` a CSV is written.
    """
    from . import store

    if policy not in POLICIES:
        raise AnalyzerError(f'unknown policy "{policy}"', hint=f"use one of: {', '.join(POLICIES)}")
    con = None
    if grants is None:
        if inputs:
            from .ingest import read_files

            result = read_files([Path(p) for p in inputs])
            grants = result.grants
            if db is not None:
                con = store.connect(db)
                store.save_ingest(con, result)
                grants = store.load_grants(con)
        elif db is not None:
            con = store.connect(db, must_exist=True)
            grants = store.load_grants(con)
        else:
            raise AnalyzerError(
                "nothing to classify", hint="give spreadsheet files, --db DB, or a grants frame"
            )
    elif db is not None:
        con = store.connect(db)
    classification = classify_grants(grants, taxonomy, overrides=overrides)
    if con is not None:
        store.save_classification(con, classification)
        con.close()
    frame = classified_frame(grants, classification, policy)
    if out is not None:
        from .safe import write_safe_csv

        write_safe_csv(frame, out)
    return frame


def classified_frame(
    grants: pl.DataFrame, classification: Classification, policy: str
) -> pl.DataFrame:
    """The contract's columns: grant and provenance columns, then the classification."""
    base = grants.select(
        (pl.col(c) if c in grants.columns else pl.lit(None, GRANTS_SCHEMA[c])).alias(c)
        for c in EXPORT_COLUMNS
    )
    table = classification.table
    extra = [c for c in table.columns if c not in CLASSIFICATION_SCHEMA]
    allocated = (
        classification.allocations.filter(pl.col("policy") == policy)
        .group_by("record_id", maintain_order=True)
        .agg(
            (pl.col("category") + ":" + pl.col("amount").cast(pl.String))
            .str.join(";")
            .alias("allocated")
        )
    )
    return pl.concat(
        [base, table.select(*CLASSIFICATION_EXPORT_COLUMNS, *extra)], how="horizontal"
    ).join(allocated, on="record_id", how="left", maintain_order="left")
