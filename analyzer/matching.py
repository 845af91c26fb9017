"""Pass 1 of the engine: what every grant's text says, as long frames of integer ids.

Each text field is normalised (``phrases.normalize_expr``) and searched once with an
Aho-Corasick automaton (polars ``str.extract_many``, overlapping) holding every phrase variant
that field needs: linear time whatever the taxonomy says, whole words from the padding, and
nested phrases all found. Patterns (Rust regex: linear time) run on the same text.

Everything after the search is a lookup by integer id (``gather``) or a pass over frames kept
sorted by row, never a Python loop over rows and never a hash group-by on millions of rows:

* phrase id -> the rules it triggers and the contexts it belongs to (lists, exploded);
* contexts found in each field -> one 64-bit mask per field and row, so a rule's
  ``requires``/``unless`` is a bitwise AND on its hits;
* a hit whose phrase is only part of a longer phrase of a competing category ("mental health"
  in "mental health court") is marked nested, from a containment table built at compile time.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from . import phrases as ph
from .schema import TEXT_FIELDS
from .taxonomy import UNCLASSIFIED, Taxonomy

FIELD_ID = {name: i for i, name in enumerate(TEXT_FIELDS)}
FIELD_COUNT = len(TEXT_FIELDS)
ROW = pl.UInt32
ID = pl.UInt32
MASK = pl.UInt64


@dataclass
class Matcher:
    """A taxonomy compiled into lookup arrays indexed by integer ids."""

    taxonomy: Taxonomy
    #: Padded phrase variants; the position is the phrase id (``vid``).
    variants: list[str]
    #: The variants each field is searched for.
    field_variants: dict[str, list[str]]
    #: Per vid: the (phrase, rule) pairs it starts, the contexts it belongs to, and the
    #: shorter phrases of competing rules (same dimension, other category) it contains as
    #: whole words (List(UInt32) each).
    pairs_of_vid: pl.Series
    contexts_of_vid: pl.Series
    inners_of_vid: pl.Series
    #: Per (phrase, rule) pair: the rule and the phrase.
    pair_rule: list[int]
    pair_vid: list[int]
    #: Per rule: id, category id, weight.
    rule_ids: pl.Series
    rule_cat: pl.Series
    rule_weight: pl.Series
    #: Per rule and field (index rule * FIELD_COUNT + field): the field weight, null where the
    #: rule does not look at that field.
    rule_field_weight: pl.Series
    #: Per rule: which distinct set of fields it looks at (index into ``field_sets``).
    rule_field_set: pl.Series
    field_sets: list[tuple[str, ...]]
    #: Per 64-context word: the rule's requires / unless masks (UInt64 per rule).
    rule_requires: list[pl.Series]
    rule_unless: list[pl.Series]
    #: cat, dimension, category, sort: every category of every dimension.
    categories: pl.DataFrame
    #: Context names ("youth") and literal requires/unless phrases ("phrase:police").
    contexts: list[str]
    #: (rule index, pattern, fields) for each pattern of each rule.
    patterns: list[tuple[int, str, tuple[str, ...]]]
    #: Per 64-context word: the contexts that put a grant in scope.
    scope_mask: list[int]
    #: Per field: its rank by weight, heaviest first (so "the best field" is the smallest).
    field_rank: list[int]

    @property
    def words(self) -> int:
        """How many 64-bit words hold one context mask."""
        return max(1, (len(self.contexts) + 63) // 64)

    @property
    def fields(self) -> list[str]:
        """Fields to normalise: searched for phrases or patterns, or read for scope."""
        needed = set(self.field_variants) | {f for _, _, fs in self.patterns for f in fs}
        if self.taxonomy.scope is not None:
            needed |= set(self.taxonomy.scope_fields())
        return [f for f in TEXT_FIELDS if f in needed]


def context_key(entry: str, taxonomy: Taxonomy) -> str:
    """A requires/unless entry names a context or is itself a phrase."""
    return entry if entry in taxonomy.contexts else f"phrase:{entry}"


class _Builder:
    """Collects phrase variants and contexts while a taxonomy is compiled."""

    def __init__(self, taxonomy: Taxonomy):
        self.tax = taxonomy
        self.variant_ids: dict[str, int] = {}
        self.contexts: dict[str, int] = {}
        self.context_vids: dict[int, list[int]] = {}

    def vids(self, phrase: str) -> list[int]:
        ids = self.variant_ids
        return [ids.setdefault(ph.pad(v), len(ids)) for v in ph.phrase_variants(phrase)]

    def context(self, key: str) -> int:
        if key not in self.contexts:
            ctx = self.contexts[key] = len(self.contexts)
            words = self.tax.contexts.get(key) or (key.removeprefix("phrase:"),)
            self.context_vids[ctx] = [v for word in words for v in self.vids(word)]
        return self.contexts[key]


def compile_taxonomy(taxonomy: Taxonomy) -> Matcher:
    """Build the lookup arrays of a validated taxonomy (cheap: proportional to its size)."""
    tax = taxonomy
    build = _Builder(tax)
    categories = [
        (dim.id, cat, dim.sort_key(cat)[0] * 1000 + dim.sort_key(cat)[1])
        for dim in tax.dimensions.values()
        for cat in [*dim.categories, *([UNCLASSIFIED] if dim.kind == "primary" else [])]
    ]
    cat_ids = {(d, c): i for i, (d, c, _) in enumerate(categories)}

    rule_vids: list[list[int]] = []
    field_vids: dict[str, set[int]] = {f: set() for f in TEXT_FIELDS}
    requires: list[list[int]] = []
    unless: list[list[int]] = []
    patterns = []
    for index, rule in enumerate(tax.rules):
        fields = tax.rule_fields(rule)
        vids = [v for phrase in rule.phrases for v in build.vids(phrase)]
        rule_vids.append(vids)
        requires.append([build.context(context_key(e, tax)) for e in rule.requires])
        unless.append([build.context(context_key(e, tax)) for e in rule.unless])
        for f in fields:
            field_vids[f].update(vids)
            for ctx in requires[-1] + unless[-1]:
                field_vids[f].update(build.context_vids[ctx])
        patterns.extend((index, pattern, fields) for pattern in rule.patterns)

    scope_contexts: list[int] = []
    if tax.scope is not None:
        scope_contexts = [build.context(name) for name in tax.scope.in_scope_contexts]
        for f in tax.scope_fields():
            for ctx in scope_contexts:
                field_vids[f].update(build.context_vids[ctx])

    variants = list(build.variant_ids)
    count = len(variants)
    rule_category = [(r.dimension, r.category) for r in tax.rules]
    rules_of_vid: list[list[int]] = [[] for _ in range(count)]
    pairs_of_vid: list[list[int]] = [[] for _ in range(count)]
    pair_rule: list[int] = []
    pair_vid: list[int] = []
    for index, vids in enumerate(rule_vids):
        for v in dict.fromkeys(vids):
            rules_of_vid[v].append(index)
            pairs_of_vid[v].append(len(pair_rule))
            pair_rule.append(index)
            pair_vid.append(v)
    contexts_of_vid: list[list[int]] = [[] for _ in range(count)]
    for ctx, vids in build.context_vids.items():
        for v in dict.fromkeys(vids):
            contexts_of_vid[v].append(ctx)
    words = max(1, (len(build.contexts) + 63) // 64)
    weights = tax.settings.field_weights
    order = sorted(range(FIELD_COUNT), key=lambda f: -weights.get(TEXT_FIELDS[f], 0.0))

    def masks(lists: list[list[int]]) -> list[pl.Series]:
        return [
            pl.Series([_mask(ctxs, word) for ctxs in lists], dtype=MASK) for word in range(words)
        ]

    def id_lists(lists: list[list[int]]) -> pl.Series:
        return pl.Series(lists, dtype=pl.List(ID))

    field_sets = list(dict.fromkeys(tax.rule_fields(rule) for rule in tax.rules))
    return Matcher(
        taxonomy=tax,
        variants=variants,
        field_variants={
            f: sorted(variants[v] for v in ids) for f, ids in field_vids.items() if ids
        },
        pairs_of_vid=id_lists(pairs_of_vid),
        pair_rule=pair_rule,
        pair_vid=pair_vid,
        contexts_of_vid=id_lists(contexts_of_vid),
        inners_of_vid=id_lists(_inner_phrases(variants, rules_of_vid, rule_category)),
        rule_ids=pl.Series([r.id for r in tax.rules], dtype=pl.String),
        rule_cat=pl.Series([cat_ids[(r.dimension, r.category)] for r in tax.rules], dtype=ID),
        rule_weight=pl.Series([float(r.weight) for r in tax.rules], dtype=pl.Float64),
        rule_field_weight=pl.Series(
            [
                float(weights.get(f, 0.0)) if f in tax.rule_fields(rule) else None
                for rule in tax.rules
                for f in TEXT_FIELDS
            ],
            dtype=pl.Float64,
        ),
        rule_field_set=pl.Series(
            [field_sets.index(tax.rule_fields(rule)) for rule in tax.rules], dtype=ID
        ),
        field_sets=field_sets,
        rule_requires=masks(requires),
        rule_unless=masks(unless),
        categories=pl.DataFrame(
            {
                "cat": list(range(len(categories))),
                "dimension": [d for d, _, _ in categories],
                "category": [c for _, c, _ in categories],
                "sort": [s for _, _, s in categories],
            },
            schema={"cat": ID, "dimension": pl.String, "category": pl.String, "sort": pl.Int64},
        ),
        contexts=list(build.contexts),
        patterns=patterns,
        scope_mask=[_mask(scope_contexts, word) for word in range(words)],
        field_rank=[order.index(f) for f in range(FIELD_COUNT)],
    )


def _mask(contexts: list[int], word: int) -> int:
    return sum(1 << (c % 64) for c in set(contexts) if c // 64 == word)


def _inner_phrases(
    variants: list[str], rules_of_vid: list[list[int]], rule_category: list[tuple[str, str]]
) -> list[list[int]]:
    """Per rule phrase: the shorter phrases of competing rules it contains as whole words."""
    index = {v: i for i, v in enumerate(variants)}
    inners: list[list[int]] = [[] for _ in variants]
    for outer, text in enumerate(variants):
        if not rules_of_vid[outer]:
            continue
        words = text.split()
        found = {
            index.get(ph.pad(" ".join(words[start:end])))
            for start in range(len(words))
            for end in range(start + 1, len(words) + 1)
            if end - start < len(words)
        }
        inners[outer] = sorted(
            inner
            for inner in found
            if inner is not None
            and _compete(rules_of_vid[outer], rules_of_vid[inner], rule_category)
        )
    return inners


def _compete(outer: list[int], inner: list[int], rule_category: list[tuple[str, str]]) -> bool:
    """Do two phrases speak for different categories of the same dimension?"""
    return any(
        rule_category[a][0] == rule_category[b][0] and rule_category[a][1] != rule_category[b][1]
        for a in outer
        for b in inner
    )


# --- Searching the texts -------------------------------------------------------------------------


@dataclass
class Evidence:
    """What the texts say, keyed by row number (0-based, input order). Frames sorted by row."""

    #: The normalised text of each needed field (one row per grant).
    text: pl.DataFrame
    #: Every phrase or pattern hit of a rule in a field it looks at: hit (id), row, field,
    #: pair, vid, rule, field_weight, requires_ok, blocked.
    hits: pl.DataFrame
    #: The hits that count: requires met, no unless, not nested. Same columns.
    fired: pl.DataFrame
    #: Hits inside a longer phrase of a competing category: hit, outer_vid.
    nested: pl.DataFrame
    #: Context phrases found: row, field, vid, ctx.
    contexts: pl.DataFrame
    #: One context mask column per field and word (``m<field>_<word>``), one row per grant.
    masks: pl.DataFrame
    #: Padded phrase text per vid (variants, then texts matched by patterns).
    phrase_text: pl.Series
    #: 'rule: "phrase" in field' per pair * FIELD_COUNT + field: the explanation's pieces.
    pieces: pl.Series

    @property
    def rows(self) -> int:
        return self.masks.height


def gather_evidence(grants: pl.DataFrame, matcher: Matcher) -> Evidence:
    """Search every field of every grant once and work out which rule hits count."""
    n = grants.height
    fields = matcher.fields
    text = grants.select(ph.normalize_expr(text_column(grants, f)).alias(f) for f in fields)
    first_pair = len(matcher.pair_rule)
    pattern_hits, pattern_texts, pattern_pairs = _pattern_hits(
        text, matcher, first_vid=len(matcher.variants), first_pair=first_pair
    )
    found = _found_phrases(text, matcher)
    contexts, masks = _context_hits(found, n, matcher)
    phrase_text = pl.Series("phrase", matcher.variants + pattern_texts, dtype=pl.String)
    pair_rule = pl.Series([*matcher.pair_rule, *(r for r, _ in pattern_pairs)], dtype=ID)
    pair_vid = pl.Series([*matcher.pair_vid, *(v for _, v in pattern_pairs)], dtype=ID)
    hits = (
        found.with_columns(pl.lit(matcher.pairs_of_vid).gather(pl.col("vid")).alias("pair"))
        .explode("pair")
        .drop_nulls("pair")
    )
    if pattern_hits.height:
        hits = pl.concat([hits, pattern_hits])  # pattern hits last: sorting is not needed
    hits = (
        hits.with_columns(pl.lit(pair_rule).gather(pl.col("pair")).alias("rule"))
        .with_columns(
            pl.lit(matcher.rule_field_weight)
            .gather(pl.col("rule") * FIELD_COUNT + pl.col("field"))
            .alias("field_weight")
        )
        .drop_nulls("field_weight")
        .with_row_index("hit")
    )
    hits = hits.with_columns(_context_outcomes(hits, masks, matcher))
    candidates = hits.filter(pl.col("requires_ok") & ~pl.col("blocked"))
    nested = _nested_hits(candidates, text, matcher, phrase_text)
    fired = candidates.filter(~pl.col("hit").is_in(nested.get_column("hit").implode()))
    pieces = _pieces(matcher, pair_rule, pair_vid, phrase_text)
    return Evidence(text, hits, fired, nested, contexts, masks, phrase_text, pieces)


def _context_hits(
    found: pl.DataFrame, n: int, matcher: Matcher
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(row, field, vid, ctx of every context phrase found; the per-row context masks)."""
    contexts = (
        found.with_columns(pl.lit(matcher.contexts_of_vid).gather(pl.col("vid")).alias("ctx"))
        .explode("ctx")
        .drop_nulls("ctx")
    )
    return contexts, _context_masks(contexts, n, matcher)


def _pieces(matcher: Matcher, pair_rule: pl.Series, pair_vid: pl.Series, phrase_text) -> pl.Series:
    """The explanation piece of every pair and field, built once instead of once per hit."""
    rule_ids = matcher.rule_ids.to_list()
    phrases = phrase_text.to_list()
    return pl.Series(
        [
            f'{rule_ids[rule]}: "{phrases[vid].strip()}" in {field}'
            for rule, vid in zip(pair_rule.to_list(), pair_vid.to_list(), strict=True)
            for field in TEXT_FIELDS
        ],
        dtype=pl.String,
    )


def text_column(grants: pl.DataFrame, field: str) -> pl.Expr:
    """A text column of the grants frame, or nulls where the frame has no such column."""
    if field in grants.columns:
        return pl.col(field).cast(pl.String)
    return pl.lit(None, dtype=pl.String)


def _found_phrases(text: pl.DataFrame, matcher: Matcher) -> pl.DataFrame:
    """row, field, vid: each phrase variant found in each field, once, sorted by row."""
    schema = {"row": ROW, "field": pl.UInt8, "vid": ID}
    if not matcher.field_variants:
        return pl.DataFrame(schema=schema)
    enum = pl.Enum(matcher.variants)
    found = text.select(
        pl.col(field)
        .str.extract_many(variants, overlapping=True)
        .cast(pl.List(enum))
        .to_physical()
        .list.unique(maintain_order=True)
        for field, variants in matcher.field_variants.items()
    )
    parts = [
        found.select(pl.col(field).alias("vid"))
        .with_row_index("row")
        .explode("vid")
        .drop_nulls("vid")
        .select(
            pl.col("row").cast(ROW),
            pl.lit(FIELD_ID[field], pl.UInt8).alias("field"),
            pl.col("vid").cast(ID),
        )
        for field in matcher.field_variants
    ]
    return pl.concat(parts).sort("row", maintain_order=True)


def _pattern_hits(
    text: pl.DataFrame, matcher: Matcher, *, first_vid: int, first_pair: int
) -> tuple[pl.DataFrame, list[str], list[tuple[int, int]]]:
    """(row, field, vid, pair of every pattern match; the matched texts, which get new vids;
    the new (rule, vid) pairs)."""
    schema = {"row": ROW, "field": pl.UInt8, "vid": ID, "pair": ID}
    parts = []
    for rule, pattern, fields in matcher.patterns:
        for field in fields:
            regex = f"(?i){pattern}"
            # Most rows do not match: find them with a cheap test before extracting.
            parts.append(
                text.select(pl.col(field).alias("text"))
                .with_row_index("row")
                .filter(pl.col("text").str.contains(regex))
                .select("row", pl.col("text").str.extract_all(regex).alias("match"))
                .explode("match")
                .select(
                    pl.col("row").cast(ROW),
                    pl.lit(FIELD_ID[field], pl.UInt8).alias("field"),
                    pl.col("match").str.strip_chars(),
                    pl.lit(rule, ID).alias("rule"),
                )
                .filter(pl.col("match").is_not_null() & (pl.col("match") != ""))
            )
    if not parts:
        return pl.DataFrame(schema=schema), [], []
    matched = pl.concat(parts)
    texts = matched.get_column("match").unique(maintain_order=True)
    ids = pl.DataFrame(
        {"match": texts, "vid": pl.int_range(first_vid, first_vid + len(texts), eager=True)}
    ).cast({"vid": ID})
    matched = matched.join(ids, on="match").unique(
        ["row", "field", "vid", "rule"], maintain_order=True
    )
    pairs = matched.select("rule", "vid").unique(maintain_order=True)
    pair_ids = pairs.with_columns(
        pl.int_range(first_pair, first_pair + pairs.height, dtype=ID).alias("pair")
    )
    hits = matched.join(pair_ids, on=["rule", "vid"]).select(list(schema))
    return hits, [ph.pad(t) for t in texts.to_list()], list(pairs.iter_rows())


def _context_masks(contexts: pl.DataFrame, n: int, matcher: Matcher) -> pl.DataFrame:
    """One UInt64 column per field and 64-context word: the contexts found there, per row.

    The bits are ORed per run of the (row, field, word) key (already sorted when one word
    holds every context) and scattered into one flat row-major array read column by column.
    """
    words = matcher.words
    width = FIELD_COUNT * words
    keyed = contexts.select(
        (
            (pl.col("row").cast(pl.UInt64) * FIELD_COUNT + pl.col("field")) * words
            + pl.col("ctx") // 64
        ).alias("key"),
        pl.lit(pl.Series([1 << b for b in range(64)], dtype=MASK))
        .gather(pl.col("ctx") % 64)
        .alias("bit"),
    )
    keyed = keyed.sort("key") if words > 1 else keyed
    per_key = (
        keyed.set_sorted("key").group_by("key", maintain_order=True).agg(pl.col("bit").bitwise_or())
    )
    flat = pl.zeros(n * width, dtype=MASK, eager=True)
    if per_key.height:
        flat = flat.scatter(per_key.get_column("key"), per_key.get_column("bit"))
    return pl.DataFrame(
        [
            flat.gather_every(width, offset=FIELD_ID[f] * words + word).alias(_mask_name(f, word))
            for f in TEXT_FIELDS
            for word in range(words)
        ],
        height=n,
    )


def _mask_name(field: str, word: int) -> str:
    return f"m{FIELD_ID[field]}_{word}"


def _context_outcomes(hits: pl.DataFrame, masks: pl.DataFrame, matcher: Matcher) -> list[pl.Expr]:
    """requires_ok and blocked per hit: the rule's masks ANDed with the contexts in its fields.

    The contexts seen by each distinct set of fields are ORed once per row; a hit then looks
    up its row and its rule's field set in that flat array (one gather, no join).
    """
    rule, row = pl.col("rule"), pl.col("row")
    n = masks.height
    position = pl.lit(matcher.rule_field_set).gather(rule).cast(pl.UInt64) * n + row
    requires_any = pl.lit(False)
    satisfied = pl.lit(False)
    blocked = pl.lit(False)
    for word in range(matcher.words):
        # Set-major flat array: index set * n + row.
        flat = pl.concat(
            [
                masks.select(
                    pl.reduce(lambda a, b: a | b, [pl.col(_mask_name(f, word)) for f in fields])
                ).to_series()
                for fields in matcher.field_sets
            ]
        )
        seen = pl.lit(flat).gather(position)
        required = pl.lit(matcher.rule_requires[word]).gather(rule)
        forbidden = pl.lit(matcher.rule_unless[word]).gather(rule)
        requires_any = requires_any | (required != 0)
        satisfied = satisfied | ((seen & required) != 0)
        blocked = blocked | ((seen & forbidden) != 0)
    return [(~requires_any | satisfied).alias("requires_ok"), blocked.alias("blocked")]


def _nested_hits(
    candidates: pl.DataFrame,
    text: pl.DataFrame,
    matcher: Matcher,
    phrase_text: pl.Series,
) -> pl.DataFrame:
    """hit, outer_vid of hits found only inside a longer phrase of a competing category.

    "mental health" inside "mental health court" is no evidence for mental-health care when
    "mental health court" belongs to another category of the same dimension and its rule
    fires. It still counts in other dimensions, and a separate mention still counts
    (occurrences are compared).
    """
    schema = {"hit": pl.UInt32, "outer_vid": ID}
    phrase_count = len(matcher.variants)
    # From the longer phrases found to the shorter ones they contain: few per phrase.
    has_inner = pl.concat(
        [matcher.inners_of_vid.list.len() > 0, pl.Series([False])]  # the last: pattern texts
    )
    outer = (
        candidates.filter(
            pl.lit(has_inner).gather(pl.min_horizontal(pl.col("vid"), pl.lit(phrase_count)))
        )
        .select(
            "row",
            "field",
            pl.col("vid").alias("outer_vid"),
            pl.col("rule").alias("outer_rule"),
            pl.lit(matcher.inners_of_vid).gather(pl.col("vid")).alias("vid"),
        )
        .explode("vid")
    )
    if outer.is_empty():
        return pl.DataFrame(schema=schema)

    # Narrow the candidates to the few whose (row, field, phrase) is inside an outer phrase
    # (a set lookup on one packed integer) before joining.
    def packed() -> pl.Expr:
        return (
            pl.col("row").cast(pl.UInt64) * FIELD_COUNT + pl.col("field")
        ) * phrase_count + pl.col("vid")

    wanted = outer.select(packed().alias("key")).get_column("key").unique()
    inner = candidates.filter((pl.col("vid") < phrase_count) & packed().is_in(wanted.implode()))
    cat_dim = matcher.categories.get_column("dimension")
    cat = matcher.rule_cat
    pairs = outer.join(inner, on=["row", "field", "vid"]).filter(
        (pl.lit(cat).gather(pl.col("rule")) != pl.lit(cat).gather(pl.col("outer_rule")))
        & (
            pl.lit(cat_dim).gather(pl.lit(cat).gather(pl.col("rule")))
            == pl.lit(cat_dim).gather(pl.lit(cat).gather(pl.col("outer_rule")))
        )
    )
    nested = []
    for field in text.columns:
        part = pairs.filter(pl.col("field") == FIELD_ID[field])
        if part.is_empty():
            continue
        own = pl.lit(text.get_column(field)).gather(pl.col("row"))
        phrase = pl.lit(phrase_text)
        nested.append(
            part.filter(
                own.str.count_matches(phrase.gather(pl.col("outer_vid")), literal=True)
                >= own.str.count_matches(phrase.gather(pl.col("vid")), literal=True)
            ).select("hit", "outer_vid")
        )
    if not nested:
        return pl.DataFrame(schema=schema)
    return pl.concat(nested).unique("hit", maintain_order=True).cast(schema)
