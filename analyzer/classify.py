"""Pass 2 of the engine, and the public API: scores, decisions, splits, overrides, money.

``matching.py`` says which rule hits count in every grant; here they become, for all rows at
once, one score column per category, then the decisions of ``docs/taxonomy-format.md``
("Decisions"): the primary category, ``ambiguous``, an evidence-based split with exact
integer shares (units of 1/10000, always summing to exactly one), out-of-scope from the scope
contexts, ``unclassified`` when evidence is thin. Overrides from the ledger win. Money is
allocated in exact cents by largest remainder, so every grant's allocations add back to its
amount and category totals add back to the portfolio total.

Decisions depend on the rules that fired and their best fields alone, so they are made once
per distinct set of them (``RuleSets``) and handed to the grants that share it; only the
scope (which reads the texts), overrides and the written outputs are per grant.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from .errors import AnalyzerError
from .matching import (
    MASK,
    ROW,
    Counted,
    Evidence,
    HitDetail,
    Matcher,
    compile_taxonomy,
    distinct_ids,
    hit_detail,
    or_all,
    read_texts,
    row_evidence,
    text_column,
    words_of,
)
from .schema import (
    ALLOCATIONS_SCHEMA,
    CLASSIFICATION_EXPORT_COLUMNS,
    CLASSIFICATION_SCHEMA,
    EXPORT_COLUMNS,
    GRANTS_SCHEMA,
    MATCHES_SCHEMA,
    MONEY,
    Classification,
    check_policy,
)
from .taxonomy import UNCLASSIFIED, Taxonomy, load_taxonomy
from .threads import in_threads

if TYPE_CHECKING:
    from .overrides import Ledger

#: Shares are exact integers in units of 1/10000 (``Decimal(5, 4)`` in the store).
SHARE_UNIT = 10_000
#: Scores are sums of float weights; rounding keeps 0.1 + 0.2 from missing a 0.3 threshold.
SCORE_DECIMALS = 6


# --- Scores ----------------------------------------------------------------------------------


@dataclass
class RuleSets:
    """The rules that fired in each grant (or each distinct such set), as one rule mask per
    field weight: the rules whose best field has that weight. Everything decided from the
    rules (scores, decisions, labels, ``matched_rules``) depends on these masks alone, so it
    is worked out once per distinct set."""

    #: Field weights, heaviest first.
    weights: list[float]
    #: Per set: ``w<i>_<word>``, the rule mask of weight i.
    masks: pl.DataFrame


def fired_rule_sets(counted: Counted, matcher: Matcher) -> RuleSets:
    """Per grant: its rules that fired, by their best field (fields heaviest first, each
    taking only the rules no heavier field fired)."""
    words = matcher.rule_words
    weights = matcher.taxonomy.settings.field_weights
    by_weight: dict[float, list[str]] = {}
    for field in counted.fields:
        by_weight.setdefault(float(weights.get(field, 0.0)), []).append(field)
    seen = [pl.zeros(counted.rows, dtype=MASK, eager=True) for _ in range(words)]
    columns = []
    for index, weight in enumerate(sorted(by_weight, reverse=True)):
        fired = [counted.fired(field, words) for field in by_weight[weight]]
        union = [_or_series([masks[word] for masks in fired]) for word in range(words)]
        columns += [(union[w] & ~seen[w]).alias(f"w{index}_{w}") for w in range(words)]
        seen = [seen[w] | union[w] for w in range(words)]
    return RuleSets(sorted(by_weight, reverse=True), pl.DataFrame(columns, height=counted.rows))


def category_scores(sets: RuleSets, matcher: Matcher) -> pl.DataFrame:
    """One Float64 column per category (``c<cat id>``), one row per rule set.

    A rule that fires adds weight x field weight, with its best field. The rules of a
    category with equal weights count together (a popcount of their bits in the mask of
    each field weight). Sums are exact: scores are added as integers (millionths).
    """
    micro = 10**SCORE_DECIMALS
    groups: dict[tuple[int, float], int] = {}
    for rule, (cat, weight) in enumerate(
        zip(matcher.rule_cat.to_list(), matcher.rule_weight.to_list(), strict=True)
    ):
        groups[(cat, weight)] = groups.get((cat, weight), 0) | (1 << matcher.rule_bit[rule])
    terms: dict[int, list[pl.Expr]] = {}
    for (cat, weight), rules in groups.items():
        for index, field_weight in enumerate(sets.weights):
            unit = _micro_units(weight, field_weight, micro)
            for word, wanted in enumerate(words_of(rules, matcher.rule_words)):
                if wanted and unit:
                    count = (pl.col(f"w{index}_{word}") & pl.lit(wanted, MASK)).bitwise_count_ones()
                    terms.setdefault(cat, []).append(count.cast(pl.Int64) * unit)
    return sets.masks.select(
        (
            (pl.sum_horizontal(terms[cat]) / micro)
            if cat in terms
            else pl.repeat(0.0, pl.len(), dtype=pl.Float64)
        ).alias(f"c{cat}")
        for cat in range(matcher.categories.height)
    )


def _or_series(series: list[pl.Series]) -> pl.Series:
    """The bitwise OR of some masks."""
    out = series[0]
    for other in series[1:]:
        out = out | other
    return out


def _micro_units(weight: float, field_weight: float, micro: int) -> int:
    """weight x field weight in millionths, rounded as polars rounds (one rule's score)."""
    product = pl.Series([weight], dtype=pl.Float64) * field_weight * micro
    return int(product.round(0).cast(pl.Int64).item())


def _columns(matcher: Matcher, dimension: str) -> list[tuple[int, str]]:
    """(cat id, category) of a dimension in scale order, without ``unclassified``."""
    frame = matcher.categories.filter(
        (pl.col("dimension") == dimension) & (pl.col("category") != UNCLASSIFIED)
    ).sort("sort")
    return list(zip(frame.get_column("cat").to_list(), frame.get_column("category"), strict=True))


def _top(columns: list[tuple[int, str]]) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(top score, index of the top category, runner-up score); ties go to the scale order."""
    scores = [pl.col(f"c{cat}") for cat, _ in columns]
    top_score = pl.max_horizontal(scores)
    top_index = pl.coalesce(
        [pl.when(score == top_score).then(pl.lit(i, pl.UInt32)) for i, score in enumerate(scores)]
    )
    runner = pl.max_horizontal(
        [pl.when(top_index != i).then(score).otherwise(0.0) for i, score in enumerate(scores)]
    )
    return top_score, top_index, runner


# --- Decisions ---------------------------------------------------------------------------------


def decide_primary(scores: pl.DataFrame, matcher: Matcher) -> tuple[pl.DataFrame, pl.DataFrame]:
    """From the rules, per rule set: (decisions: row, approach, ambiguous, decided_by,
    unscored (no rule of the dimension fired); shares: row, category, units). Out-of-scope
    needs the grant's texts: ``decide_scope`` adds it per grant."""
    settings = matcher.taxonomy.settings
    columns = _columns(matcher, matcher.taxonomy.primary.id)
    names = pl.Series([name for _, name in columns], dtype=pl.String)
    top_score, top_index, runner = _top(columns)
    ranked = scores.select(
        pl.int_range(pl.len(), dtype=ROW).alias("row"),
        top_score.alias("top_score"),
        pl.lit(names).gather(top_index).alias("top"),
        runner.alias("runner_score"),
    )
    by_rules = (pl.col("top_score") >= settings.min_score) & (pl.col("top_score") > 0)
    decisions = ranked.select(
        "row",
        pl.when(by_rules).then(pl.col("top")).otherwise(pl.lit(UNCLASSIFIED)).alias("approach"),
        (
            by_rules & (pl.col("runner_score") >= settings.ambiguity_ratio * pl.col("top_score"))
        ).alias("ambiguous"),
        pl.when(by_rules).then(pl.lit("rules")).otherwise(pl.lit("none")).alias("decided_by"),
        (pl.col("top_score") == 0).alias("unscored"),
    )
    return decisions, _split_shares(decisions, scores, matcher)


def decide_scope(decisions: pl.DataFrame, evidence: Evidence, matcher: Matcher) -> pl.DataFrame:
    """row, approach, ambiguous, decided_by per grant: out-of-scope where no rule of the
    primary dimension fired, no in-scope context is named in the scope fields, and those have
    at least ``min_words`` words."""
    tax = matcher.taxonomy
    out = decisions.drop("unscored")
    if tax.scope is None or evidence.rows == 0:
        return out
    fields = [f for f in tax.scope_fields() if f in evidence.values]
    in_scope = pl.lit(False)
    for field in fields:
        named = evidence.values[field].values
        for word, wanted in enumerate(words_of(matcher.scope_contexts, matcher.context_words)):
            if wanted:
                found = pl.lit(named.get_column(f"x{word}").gather(evidence.codes(field)))
                in_scope = in_scope | ((found & pl.lit(wanted, MASK)) != 0)
    candidates = decisions.select(pl.col("unscored") & ~in_scope).to_series().arg_true()
    if not (candidates.len() and fields):
        return out
    # Words are counted only where they decide (counting every text costs more).
    words = pl.sum_horizontal(
        pl.lit(
            evidence.values[f].text.gather(evidence.codes(f).gather(candidates))
        ).str.count_matches(r"[\p{L}\p{N}]+")
        for f in fields
    )
    long_enough = candidates.filter(pl.select(words >= tax.scope.min_words).to_series())
    scoped = pl.col("row").is_in(long_enough.implode())
    return out.with_columns(
        pl.when(scoped)
        .then(pl.lit(tax.scope.out_of_scope_category))
        .otherwise(pl.col("approach"))
        .alias("approach"),
        pl.when(scoped).then(pl.lit("scope")).otherwise(pl.col("decided_by")).alias("decided_by"),
    )


def shares_per_grant(
    sets: pl.Series, decisions: pl.DataFrame, by_set: pl.DataFrame
) -> pl.DataFrame:
    """row, category, units per grant, primary first: the split of its rule set where there
    is one, else all to its approach (``decisions``, per grant)."""
    primary_only = decisions.select(
        "row", pl.col("approach").alias("category"), pl.lit(SHARE_UNIT, pl.Int64).alias("units")
    )
    split_sets = by_set.filter(pl.col("units") != SHARE_UNIT).get_column("row").unique()
    if split_sets.is_empty():
        return primary_only
    rows = pl.DataFrame({"set": sets}).with_row_index("row")
    split = rows.filter(pl.col("set").is_in(split_sets.implode())).join(
        by_set.rename({"row": "set"}), on="set", maintain_order="left_right"
    )
    return pl.concat(
        [
            primary_only.filter(~pl.col("row").is_in(split.get_column("row").implode())),
            split.select("row", "category", "units"),
        ]
    ).sort("row", maintain_order=True)


def _split_shares(decisions: pl.DataFrame, scores: pl.DataFrame, matcher: Matcher) -> pl.DataFrame:
    """row, category, units (of 1/10000): the evidence-based split, primary first.

    Another category gets a share only with split_min_score of its own evidence (a phrase
    nested in a longer phrase of the primary category is not evidence: ``matching``), so a
    split always names a distinct component. Shares are rounded down to 1/100 and the primary
    category takes the remainder: it stays the largest share and the sum is exactly 1.
    """
    tax = matcher.taxonomy
    settings = tax.settings
    out_category = tax.scope.out_of_scope_category if tax.scope else None
    primary_only = decisions.select(
        "row", pl.col("approach").alias("category"), pl.lit(SHARE_UNIT, pl.Int64).alias("units")
    )
    columns = [
        (cat, name) for cat, name in _columns(matcher, tax.primary.id) if name != out_category
    ]
    splittable = (pl.col("decided_by") == "rules") & (pl.col("approach") != (out_category or ""))
    second = [
        (pl.col(f"c{cat}") >= settings.split_min_score) & (pl.col("approach") != name)
        for cat, name in columns
    ]
    if not columns or settings.split_max_categories < 2:
        return primary_only
    wide = pl.concat([decisions, scores], how="horizontal").filter(
        splittable & pl.any_horizontal(second)
    )
    if wide.is_empty():
        return primary_only
    micro = 10**SCORE_DECIMALS
    long = (
        wide.select(
            "row",
            "approach",
            *[pl.col(f"c{cat}").alias(name) for cat, name in columns],
        )
        .unpivot(index=["row", "approach"], variable_name="category", value_name="score")
        .with_columns((pl.col("score") * micro).round(0).cast(pl.Int64).alias("m"))
    )
    order = {name: i for i, (_, name) in enumerate(columns)}
    tops = long.filter(pl.col("category") == pl.col("approach")).select(
        "row", pl.col("m").alias("top")
    )
    seconds = (
        long.filter(
            (pl.col("category") != pl.col("approach"))
            & (pl.col("score") >= settings.split_min_score)
        )
        .with_columns(pl.col("category").replace_strict(order, return_dtype=pl.Int64).alias("sort"))
        .sort(["row", "m", "sort"], descending=[False, True, False])
        .with_columns(pl.int_range(pl.len()).over("row").alias("rank"))
        .filter(pl.col("rank") < settings.split_max_categories - 1)
        .join(tops, on="row", maintain_order="left")
        .with_columns((pl.col("m").sum().over("row") + pl.col("top")).alias("total"))
        .with_columns(((pl.col("m") * 100) // pl.col("total") * (SHARE_UNIT // 100)).alias("units"))
        .filter(pl.col("units") > 0)
        .select("row", "category", "units")
    )
    given = seconds.group_by("row").agg(pl.col("units").sum().alias("given"))
    primary = primary_only.join(given, on="row", how="left", maintain_order="left").select(
        "row", "category", (pl.col("units") - pl.col("given").fill_null(0)).alias("units")
    )
    return pl.concat([primary, seconds]).sort("row", maintain_order=True)


def decide_labels(scores: pl.DataFrame, matcher: Matcher) -> pl.DataFrame:
    """One column per non-primary dimension: ';'-joined labels (multi) or one label (single)."""
    tax = matcher.taxonomy
    out = []
    for dim in tax.dimensions.values():
        if dim.kind == "primary":
            continue
        columns = _columns(matcher, dim.id)
        if dim.kind == "multi":
            out.append(
                pl.concat_str(
                    [
                        pl.when(pl.col(f"c{cat}") >= tax.settings.min_score).then(pl.lit(name))
                        for cat, name in columns
                    ],
                    separator=";",
                    ignore_nulls=True,
                ).alias(dim.id)
            )
        else:
            top_score, top_index, _ = _top(columns)
            names = pl.Series([name for _, name in columns], dtype=pl.String)
            out.append(
                pl.when(top_score > 0)
                .then(pl.lit(names).gather(top_index))
                .otherwise(pl.lit(dim.default))
                .alias(dim.id)
            )
    return scores.select(out) if out else pl.DataFrame(height=scores.height)


# --- Overrides, texts, allocations ---------------------------------------------------------


def apply_overrides(
    grants: pl.DataFrame, decisions: pl.DataFrame, shares: pl.DataFrame, ledger: Ledger
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Ledger decisions win over rules: (decisions, shares, applied: row, key, reason, ...)."""
    keys = grants.select(
        pl.int_range(pl.len(), dtype=ROW).alias("row"),
        text_column(grants, "record_id").alias("record_id"),
        text_column(grants, "grant_id").alias("grant_id"),
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
    from_ledger = (
        applied.select("row", "key")
        .join(ledger.shares, on="key")
        .select("row", "category", "units")
    )
    shares = pl.concat(
        [shares.join(applied.select("row"), on="row", how="anti"), from_ledger]
    ).sort("row", maintain_order=True)
    return decisions, shares, applied


def shares_text(decisions: pl.DataFrame, shares: pl.DataFrame, matcher: Matcher) -> pl.Series:
    """``intervention:0.6;resilience-building:0.4`` per row (largest share first)."""
    whole = decisions.select((pl.col("approach") + ":1").alias("approach_shares")).to_series()
    split = shares.filter(pl.col("units") != SHARE_UNIT)
    if split.is_empty():
        return whole
    order = {name: i for i, (_, name) in enumerate(_columns(matcher, matcher.taxonomy.primary.id))}
    text = (
        split.with_columns(
            pl.col("category")
            .replace_strict(order, default=len(order), return_dtype=pl.Int64)
            .alias("sort")
        )
        .sort(["row", "units", "sort"], descending=[False, True, False])
        .group_by("row", maintain_order=True)
        .agg(pl.col("category") + ":" + format_units(pl.col("units")))
    )
    return whole.scatter(text.get_column("row"), text.get_column("category").list.join(";"))


def format_units(units: pl.Expr) -> pl.Expr:
    """10000 -> "1", 6000 -> "0.6", 2550 -> "0.255", 5 -> "0.0005" (exact, no float)."""
    digits = units.cast(pl.String).str.zfill(4).str.strip_chars_end("0")
    return pl.when(units == SHARE_UNIT).then(pl.lit("1")).otherwise(pl.lit("0.") + digits)


#: Rows per slice when the explanations are written side by side in threads.
CHUNK_ROWS = 250_000


def explanation_texts(counted: Counted) -> pl.Series:
    """'rule: "phrase" in field; ...' per row ("" where nothing fired): the segments of the
    row's fields in field order (each in text order), then its pattern hits."""
    segments = [
        rows.table.get_column("segment").gather(rows.keys) for rows in counted.fields.values()
    ]
    if counted.patterns.height:
        patterns = pl.repeat(None, counted.rows, dtype=pl.String, eager=True)
        segments.append(
            patterns.scatter(
                counted.patterns.get_column("row"), counted.patterns.get_column("segment")
            )
        )
    if not segments:
        return pl.repeat("", counted.rows, dtype=pl.String, eager=True).alias("explanation")
    frame = pl.DataFrame([s.alias(f"s{i}") for i, s in enumerate(segments)])
    joined = pl.concat_str(pl.all(), separator="; ", ignore_nulls=True).alias("explanation")
    slices = [frame.slice(start, CHUNK_ROWS) for start in range(0, frame.height, CHUNK_ROWS)]
    return pl.concat(in_threads(lambda part: part.select(joined).to_series(), slices or [frame]))


def matched_rules(sets: RuleSets, matcher: Matcher) -> pl.Series:
    """Rule ids by category, then rule order, per rule set ("" where no rule fired).

    Rule bits follow that order, so the text is the set's rule mask read a byte at a time:
    each byte is looked up in a table of the 256 texts its eight rules can make.
    """
    rule_ids = matcher.rule_ids.to_list()
    if not rule_ids or not sets.weights:
        return pl.repeat("", sets.masks.height, dtype=pl.String, eager=True).alias("matched_rules")
    by_bit = sorted(range(len(rule_ids)), key=lambda rule: matcher.rule_bit[rule])
    parts = []
    for byte in range((len(by_bit) + 7) // 8):
        word = byte // 8
        mask = or_all([pl.col(f"w{index}_{word}") for index in range(len(sets.weights))])
        value = (mask // (1 << (8 * (byte % 8)))) % 256
        parts.append(pl.lit(_byte_texts(by_bit[8 * byte : 8 * byte + 8], rule_ids)).gather(value))
    text = pl.concat_str(parts, separator=";", ignore_nulls=True)
    return sets.masks.select(text).to_series().alias("matched_rules")


def _byte_texts(rules: list[int], rule_ids: list[str]) -> pl.Series:
    """For each byte value, the ids of the rules whose bits it sets, ';'-joined (null for 0)."""
    texts = [
        ";".join(rule_ids[rule] for bit, rule in enumerate(rules) if value >> bit & 1) or None
        for value in range(256)
    ]
    return pl.Series(texts, dtype=pl.String)


def matches_frame(grants: pl.DataFrame, counted: Counted | None) -> pl.DataFrame:
    """MATCHES_SCHEMA: one row per rule hit that counted (rule, field, phrase), field by
    field (phrases in field order, then patterns), row by row within a field; no rows
    without ``counted``."""
    if counted is None:
        return pl.DataFrame(schema=MATCHES_SCHEMA)
    ids = grants.select(text_column(grants, "record_id")).to_series()
    described = counted.piece_columns
    every_row = pl.DataFrame({"row": pl.int_range(counted.rows, dtype=ROW, eager=True)})
    found = [
        every_row.with_columns(
            pl.lit(rows.table.get_column("pieces")).gather(rows.keys).alias("piece")
        )
        for rows in counted.fields.values()
    ]
    found.append(counted.patterns.select("row", pl.col("pieces").alias("piece")))

    def rows_of(pieces: pl.DataFrame) -> pl.DataFrame:
        return (
            pieces.explode("piece")
            .drop_nulls("piece")
            .select(
                pl.lit(ids).gather(pl.col("row")).alias("record_id"),
                *[
                    pl.lit(described.get_column(c)).gather(pl.col("piece"))
                    for c in described.columns
                ],
            )
        )

    return pl.concat(in_threads(rows_of, found)).cast(MATCHES_SCHEMA)


def allocate(grants: pl.DataFrame, decisions: pl.DataFrame, shares: pl.DataFrame) -> pl.DataFrame:
    """ALLOCATIONS_SCHEMA for both policies, in exact cents by largest remainder.

    Each grant's allocations add back to its amount exactly, so category totals add back to
    the portfolio total exactly. Equal remainders go to the larger share, then the category
    listed first.
    """
    if "amount" in grants.columns:
        money = grants.get_column("amount").cast(MONEY)
    else:
        money = pl.repeat(None, grants.height, dtype=MONEY, eager=True)
    ids = grants.select(text_column(grants, "record_id")).to_series()
    primary = decisions.select(
        "row", pl.col("approach").alias("category"), pl.lit(SHARE_UNIT, pl.Int64).alias("units")
    )
    frames = [
        _allocated(primary, money, ids, "primary"),
        _allocated(shares, money, ids, "split"),
    ]
    return pl.concat(frames).select(list(ALLOCATIONS_SCHEMA)).cast(ALLOCATIONS_SCHEMA)


def _allocated(parts: pl.DataFrame, money: pl.Series, ids: pl.Series, policy: str) -> pl.DataFrame:
    """One policy's allocations, in the order of ``parts``: a share of 1 takes the grant's
    amount as it is, shares below 1 split its cents by largest remainder."""
    rows = parts.get_column("row")
    share = pl.repeat(Decimal(1), parts.height, dtype=pl.Decimal(5, 4), eager=True)
    amount = money.gather(rows)
    split = parts.with_row_index("position").filter(pl.col("units") != SHARE_UNIT)
    if split.height:
        divided = _split_amounts(split, money)
        share = share.scatter(divided.get_column("position"), divided.get_column("share"))
        amount = amount.scatter(divided.get_column("position"), divided.get_column("amount"))
    return pl.DataFrame(
        {
            "record_id": ids.gather(rows),
            "policy": pl.repeat(policy, parts.height, dtype=pl.String, eager=True),
            "category": parts.get_column("category"),
            "share": share,
            "amount": amount,
        }
    )


def _split_amounts(split: pl.DataFrame, money: pl.Series) -> pl.DataFrame:
    """position, share, amount of shares below 1 (rows of ``split``: position, row, units):
    cents by largest remainder."""
    cents = (pl.lit(money).gather(pl.col("row")) * 100).cast(pl.Int128)
    return (
        split.with_columns(cents.alias("cents"))
        .with_columns((pl.col("cents").abs() * pl.col("units")).alias("product"))
        .with_columns(
            (pl.col("product") // SHARE_UNIT).alias("base"),
            (pl.col("product") % SHARE_UNIT).cast(pl.Int64).alias("remainder"),
        )
        .sort(["row", "remainder", "units", "position"], descending=[False, True, True, False])
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
        .select(
            "position",
            (pl.col("units").cast(pl.Decimal(38, 0)) * pl.lit(Decimal("0.0001")))
            .cast(pl.Decimal(5, 4))
            .alias("share"),
            (pl.col("cents_out").cast(pl.Decimal(38, 2)) * pl.lit(Decimal("0.01")))
            .cast(MONEY)
            .alias("amount"),
        )
    )


# --- The public functions ----------------------------------------------------------------------


def classify_grants(
    grants: pl.DataFrame,
    taxonomy: str | Path | Taxonomy = "csec",
    *,
    overrides: str | Path | Ledger | None = None,
    with_matches: bool = True,
) -> Classification:
    """Classify every row of a grants frame (GRANTS_SCHEMA columns; text fields may be missing).

    ``overrides`` is a ledger path or a loaded ``overrides.Ledger``; its decisions win.
    ``with_matches=False`` leaves ``matches`` (one row per rule hit, ~12 a grant) empty, for
    callers that do not keep them: it saves their time and memory.
    """
    return run_engine(
        grants, taxonomy, overrides=overrides, with_matches=with_matches
    ).classification


@dataclass
class EngineRun:
    """A classification with the intermediate results ``explain`` reads."""

    classification: Classification
    matcher: Matcher
    grants: pl.DataFrame
    #: Per distinct rule set: the category scores; per grant: its rule set.
    set_scores: pl.DataFrame
    sets: pl.Series
    #: row, key, approach, reason, reviewer of the grants an override decided.
    overridden: pl.DataFrame | None

    @cached_property
    def evidence(self) -> HitDetail:
        """Every hit as a row of its own. The hit tables are not kept by the classification
        (they are large): they are read again, which is cheap for the few grants this is
        meant for (``explain`` reads one)."""
        texts = read_texts(self.grants, self.matcher)
        return hit_detail(texts, row_evidence(texts, self.matcher), self.matcher)

    @cached_property
    def scores(self) -> pl.DataFrame:
        """Per grant: one score column per category (``c<cat id>``)."""
        return self.set_scores.gather(self.sets)


def run_engine(
    grants: pl.DataFrame,
    taxonomy: str | Path | Taxonomy = "csec",
    *,
    overrides: str | Path | Ledger | None = None,
    with_matches: bool = True,
) -> EngineRun:
    """Both passes of the engine over a grants frame; see ``classify_grants``.

    What the texts say is worked out once per distinct text, what the rules decide once per
    distinct set of rules that fired; only the outputs are written row by row.
    """
    from .overrides import Ledger, load_overrides, unmatched_keys

    tax = load_taxonomy(taxonomy)
    if "record_id" not in grants.columns:
        raise AnalyzerError(
            "the grants frame has no record_id column",
            hint="build it with analyzer.read_files or give each row a unique record_id",
        )
    matcher = compile_taxonomy(tax)
    ledger = None
    if overrides is not None:
        ledger = (
            overrides if isinstance(overrides, Ledger) else load_overrides(overrides, taxonomy=tax)
        )
    # The hit tables of the texts are freed once the evidence is built from them.
    evidence = row_evidence(read_texts(grants, matcher), matcher)
    counted = evidence.counted
    with ThreadPoolExecutor(max_workers=2) as pool:
        # Explanations and matches need only the hits that count: they are written while
        # the decisions are made (mostly small steps that keep one core busy).
        explanations = pool.submit(explanation_texts, counted)
        matches = pool.submit(matches_frame, grants, counted if with_matches else None)
        decided = _decide(evidence, matcher)
        del evidence  # only the hits that count are read from here on: free the rest
        decisions, shares, applied = decided.decisions, decided.shares, None
        if ledger is not None:
            decisions, shares, applied = apply_overrides(grants, decisions, shares, ledger)
        allocations = allocate(grants, decisions, shares)
        explained = pl.DataFrame(
            [matched_rules(decided.rule_sets, matcher).gather(decided.sets), explanations.result()]
        )
        if applied is not None and applied.height:
            explained = _with_override_notes(explained, applied)
        labels = decide_labels(decided.scores, matcher).gather(decided.sets)
        table = _table(grants, decisions, shares, labels, explained, matcher)
        matches = matches.result()
    run = {
        "taxonomy_name": tax.name,
        "taxonomy_version": tax.version,
        "taxonomy_sha256": tax.sha256,
        "taxonomy_path": tax.source,
        "rule_count": len(tax.rules),
        "overrides_path": str(ledger.path) if ledger is not None else None,
        "override_count": applied.height if applied is not None else 0,
        "overrides_unmatched": [] if ledger is None else unmatched_keys(ledger, grants),
    }
    classification = Classification(table, matches, allocations, run)
    return EngineRun(classification, matcher, grants, decided.scores, decided.sets, applied)


@dataclass
class _Decided:
    """The decisions of the rules: per distinct rule set, and handed to each grant."""

    #: Per grant: its rule set.
    sets: pl.Series
    #: Per rule set: the rules (``RuleSets``) and the category scores.
    rule_sets: RuleSets
    scores: pl.DataFrame
    #: Per grant: row, approach, ambiguous, decided_by; row, category, units.
    decisions: pl.DataFrame
    shares: pl.DataFrame


def _decide(evidence: Evidence, matcher: Matcher) -> _Decided:
    """Decide once per distinct set of rules that fired, then per grant (the scope)."""
    fired = fired_rule_sets(evidence.counted, matcher)
    sets, first = distinct_ids(fired.masks)
    distinct = RuleSets(fired.weights, fired.masks.gather(first))
    scores = category_scores(distinct, matcher)
    by_set, shares_by_set = decide_primary(scores, matcher)
    per_grant = by_set.gather(sets).with_columns(pl.int_range(pl.len(), dtype=ROW).alias("row"))
    decisions = decide_scope(per_grant, evidence, matcher)
    shares = shares_per_grant(sets, decisions, shares_by_set)
    return _Decided(sets, distinct, scores, decisions, shares)


def _table(
    grants: pl.DataFrame,
    decisions: pl.DataFrame,
    shares: pl.DataFrame,
    labels: pl.DataFrame,
    explained: pl.DataFrame,
    matcher: Matcher,
) -> pl.DataFrame:
    """CLASSIFICATION_SCHEMA, then any extra dimension of the taxonomy."""
    table = pl.concat(
        [
            grants.select(text_column(grants, "record_id").alias("record_id")),
            decisions.drop("row"),
            shares_text(decisions, shares, matcher).to_frame(),
            labels,
            explained,
        ],
        how="horizontal",
    )
    extra = [d for d in labels.columns if d not in CLASSIFICATION_SCHEMA]
    return table.select(
        *[
            (pl.col(name) if name in table.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in CLASSIFICATION_SCHEMA.items()
        ],
        *extra,
    )


def _with_override_notes(explained: pl.DataFrame, applied: pl.DataFrame) -> pl.DataFrame:
    """Put "override by <reviewer>: <reason>" first in the explanation of overridden grants."""
    note = (
        pl.lit("override")
        + pl.when(pl.col("reviewer").is_not_null())
        .then(pl.lit(" by ") + pl.col("reviewer"))
        .otherwise(pl.lit(""))
        + pl.lit(": ")
        + pl.col("reason")
    )
    notes = applied.select("row", note.alias("note"))
    explanation = explained.get_column("explanation")
    current = explanation.gather(notes.get_column("row"))
    joined = notes.select(
        pl.when(pl.lit(current) == "")
        .then(pl.col("note"))
        .otherwise(pl.col("note") + "; " + pl.lit(current))
    ).to_series()
    return explained.with_columns(explanation.scatter(notes.get_column("row"), joined))


def classify(
    inputs: Iterable[str | Path] | None = None,
    *,
    db: str | Path | None = None,
    grants: pl.DataFrame | None = None,
    taxonomy: str | Path | Taxonomy = "csec",
    overrides: str | Path | Ledger | None = None,
    policy: str = "primary",
    out: str | Path | None = None,
    **ingest_options: Any,
) -> pl.DataFrame:
    """Classify grants from spreadsheets, a store or a frame: one row per grant.

    Returns the canonical and provenance columns plus approach, approach_shares, ambiguous,
    rights, risk_factors, provider_type, matched_rules, decided_by (and ``allocated``: the
    grant's money per category under ``policy``). With ``db`` the classification is stored
    (spreadsheets given with ``db`` are loaded into it first); with ``out`` a CSV is written.
    ``ingest_options`` (``sheets``, ``mapping``, ``currency``, ``funder``, ...) are those of
    :func:`analyzer.ingest.read_files`.
    """
    from . import store

    check_policy(policy)
    con = None
    if grants is None:
        if inputs:
            from .ingest import read_files

            result = read_files([Path(p) for p in inputs], **ingest_options)
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
    classified = grants_with_classification(grants, classification.table)
    frame = classified_frame(classified, classification.allocations, policy)
    if out is not None:
        from .safe import write_safe_csv

        write_safe_csv(frame, out)
    return frame


def grants_with_classification(grants: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """Every grant column (null where the frame lacks one) beside its classification."""
    grants = grants.select(
        (pl.col(c) if c in grants.columns else pl.lit(None, GRANTS_SCHEMA[c])).alias(c)
        for c in GRANTS_SCHEMA
    )
    if grants.height and grants["record_id"].to_list()[:1] != table["record_id"].to_list()[:1]:
        table = grants.select("record_id").join(table, on="record_id", how="left")
    return pl.concat([grants, table.drop("record_id")], how="horizontal")


def classified_frame(
    classified: pl.DataFrame, allocations: pl.DataFrame, policy: str
) -> pl.DataFrame:
    """One row per grant as `classify -o` and `analyze` (classified.csv) write it: grant and
    provenance columns, the classification, any further dimensions of the taxonomy, the
    explanation, and ``allocated``: the grant's money per category under ``policy``
    ("intervention:600.00;resilience-building:400.00", in the order of approach_shares)."""
    extra = [c for c in classified.columns if c not in GRANTS_SCHEMA | CLASSIFICATION_SCHEMA]
    allocated = (
        allocations.filter(pl.col("policy") == policy)
        .group_by("record_id", maintain_order=True)
        .agg(
            (pl.col("category") + ":" + pl.col("amount").cast(pl.String))
            .str.join(";")
            .alias("allocated")
        )
    )
    columns = [*EXPORT_COLUMNS, *CLASSIFICATION_EXPORT_COLUMNS, *extra, "explanation"]
    return classified.select(columns).join(
        allocated, on="record_id", how="left", maintain_order="left"
    )
