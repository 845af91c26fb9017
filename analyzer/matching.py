"""Pass 1 of the engine: what the grants' texts say, worked out once per distinct text.

Portfolios repeat themselves: the same funders, programmes, recipients and boilerplate come
back on thousands of rows. So each text field is first reduced to its distinct values
(:func:`distinct_ids`) and all text work runs once per distinct value (:func:`read_texts`):
normalisation (``phrases.normalize_expr``), one Aho-Corasick search (polars
``str.extract_many``, overlapping) for every phrase variant the field needs (linear time
whatever the taxonomy says, whole words thanks to the padding, nested phrases all found),
patterns (Rust regex: linear time), and the comparison of nested phrases. What a value says is
a list of hits in text order plus bit masks: the rules it hits (one bit per rule) and the
contexts it names (one bit per context).

Rows refer to values by integer code, and the work per row is bitwise arithmetic on those
masks (:func:`row_evidence`):

* the contexts named in a rule's fields are ORed per row, and each rule's ``requires`` and
  ``unless`` become one bit of the row's ``passed`` mask;
* a hit counts when its rule passed and no competing rule (same dimension, other category)
  whose longer phrase contains it in the same text passed too ("mental health" inside
  "mental health court");
* so which hits of a value count depends only on the value and on the passed rules among
  those it hits. That pair is the value's *key* in a row; explanations, the rules that fired
  and the matches are worked out once per distinct key, not once per hit.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from . import phrases as ph
from .schema import TEXT_FIELDS
from .taxonomy import UNCLASSIFIED, Taxonomy
from .threads import in_threads

FIELD_ID = {name: i for i, name in enumerate(TEXT_FIELDS)}
FIELD_COUNT = len(TEXT_FIELDS)
ROW = pl.UInt32
ID = pl.UInt32
MASK = pl.UInt64
#: 1 << b for b in 0..63: bit positions become UInt64 masks by lookup.
BITS = pl.Series([1 << b for b in range(64)], dtype=MASK)


def words_of(mask: int, count: int) -> list[int]:
    """A bit mask held in a Python int as ``count`` 64-bit words, lowest first."""
    return [(mask >> (64 * word)) & (2**64 - 1) for word in range(count)]


def mask_names(prefix: str, count: int) -> list[str]:
    """Column names of a mask held in ``count`` UInt64 columns: ``p0``, ``p1``..."""
    return [f"{prefix}{word}" for word in range(count)]


def bit_columns(bit: pl.Expr, prefix: str, count: int) -> list[pl.Expr]:
    """A bit position as a mask of ``count`` UInt64 columns (one of them non-zero)."""
    return [
        pl.when(bit // 64 == word)
        .then(pl.lit(BITS).gather(bit % 64))
        .otherwise(pl.lit(0, MASK))
        .alias(name)
        for word, name in enumerate(mask_names(prefix, count))
    ]


@dataclass
class ContextTest:
    """Rules that look at the same fields for the same requires (or unless) contexts: one
    bitwise test per row decides them all."""

    fields: tuple[str, ...]
    contexts: int
    rules: int


@dataclass
class Matcher:
    """A taxonomy compiled into lookup arrays indexed by integer ids."""

    taxonomy: Taxonomy
    #: Padded phrase variants; the position is the phrase id (``vid``).
    variants: list[str]
    #: The variants each field is searched for.
    field_variants: dict[str, list[str]]
    #: Per field, per vid: the (phrase, rule) pairs it starts among the rules that look at
    #: that field (List(UInt32)).
    field_pairs: dict[str, pl.Series]
    #: Per vid: the contexts it belongs to, and the shorter phrases of competing rules (same
    #: dimension, other category) it contains as whole words (List(UInt32) each).
    contexts_of_vid: pl.Series
    inners_of_vid: pl.Series
    #: Per vid: the contexts it belongs to as a context mask (x0.., one UInt64 column a word).
    vid_contexts: pl.DataFrame
    #: Per (phrase, rule) pair: the rule and the phrase.
    pair_rule: list[int]
    pair_vid: list[int]
    #: Per pair: rule, position (the rule's bit) and b0.. (that bit as a rule mask).
    pair_bits: pl.DataFrame
    #: Per rule: id, category id, weight.
    rule_ids: pl.Series
    rule_cat: pl.Series
    rule_weight: pl.Series
    #: Per rule and field (index rule * FIELD_COUNT + field): the field weight, null where the
    #: rule does not look at that field.
    rule_field_weight: pl.Series
    #: Per rule: its bit in a rule mask. Bits follow category, then declaration order, so a
    #: mask read bit by bit lists rules in the order ``matched_rules`` shows them.
    rule_bit: list[int]
    #: Rules with no ``requires`` (their requirement is met everywhere), as a rule mask.
    unconditional: int
    #: The requires and unless tests, grouped by the fields they read.
    requirements: list[ContextTest]
    exclusions: list[ContextTest]
    #: cat, dimension, category, sort: every category of every dimension.
    categories: pl.DataFrame
    #: Context names ("youth") and literal requires/unless phrases ("phrase:police").
    contexts: list[str]
    #: (rule index, pattern, fields) for each pattern of each rule.
    patterns: list[tuple[int, str, tuple[str, ...]]]
    #: The contexts that put a grant in scope, as a context mask.
    scope_contexts: int

    @property
    def rule_words(self) -> int:
        """How many 64-bit words hold one rule mask."""
        return max(1, (len(self.rule_bit) + 63) // 64)

    @property
    def context_words(self) -> int:
        """How many 64-bit words hold one context mask."""
        return max(1, (len(self.contexts) + 63) // 64)

    @property
    def fields(self) -> list[str]:
        """Fields to read: searched for phrases or patterns, or read for scope."""
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
    rule_cat = [cat_ids[(r.dimension, r.category)] for r in tax.rules]
    by_category = sorted(range(len(tax.rules)), key=lambda rule: (rule_cat[rule], rule))
    rule_bit = [0] * len(tax.rules)
    for bit, rule in enumerate(by_category):
        rule_bit[rule] = bit
    rule_words = max(1, (len(tax.rules) + 63) // 64)

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
    pair_rule: list[int] = []
    pair_vid: list[int] = []
    field_pairs: dict[str, list[list[int]]] = {f: [[] for _ in range(count)] for f in TEXT_FIELDS}
    for index, vids in enumerate(rule_vids):
        for v in dict.fromkeys(vids):
            rules_of_vid[v].append(index)
            for f in tax.rule_fields(tax.rules[index]):
                field_pairs[f][v].append(len(pair_rule))
            pair_rule.append(index)
            pair_vid.append(v)
    contexts_of_vid: list[list[int]] = [[] for _ in range(count)]
    for ctx, vids in build.context_vids.items():
        for v in dict.fromkeys(vids):
            contexts_of_vid[v].append(ctx)
    weights = tax.settings.field_weights
    context_words = max(1, (len(build.contexts) + 63) // 64)
    pair_position = pl.lit(pl.Series([rule_bit[rule] for rule in pair_rule], dtype=ID))

    def tests(contexts_of_rule: list[list[int]]) -> list[ContextTest]:
        """Rules with contexts to test, grouped by their fields and contexts."""
        grouped: dict[tuple[tuple[str, ...], int], int] = {}
        for index, rule in enumerate(tax.rules):
            if contexts_of_rule[index]:
                key = (tax.rule_fields(rule), _bits(contexts_of_rule[index]))
                grouped[key] = grouped.get(key, 0) | (1 << rule_bit[index])
        return [ContextTest(fields, ctxs, rules) for (fields, ctxs), rules in grouped.items()]

    return Matcher(
        taxonomy=tax,
        variants=variants,
        field_variants={
            f: sorted(variants[v] for v in ids) for f, ids in field_vids.items() if ids
        },
        field_pairs={f: _id_lists(field_pairs[f]) for f in field_vids if field_vids[f]},
        contexts_of_vid=_id_lists(contexts_of_vid),
        inners_of_vid=_id_lists(_inner_phrases(variants, rules_of_vid, rule_category)),
        vid_contexts=pl.DataFrame(
            [
                pl.Series(
                    name, [words_of(_bits(c), context_words)[w] for c in contexts_of_vid], MASK
                )
                for w, name in enumerate(mask_names("x", context_words))
            ]
        ),
        pair_rule=pair_rule,
        pair_vid=pair_vid,
        pair_bits=pl.select(
            pl.lit(pl.Series(pair_rule, dtype=ID)).alias("rule"),
            pair_position.alias("position"),
            *bit_columns(pair_position, "b", rule_words),
        ),
        rule_ids=pl.Series([r.id for r in tax.rules], dtype=pl.String),
        rule_cat=pl.Series(rule_cat, dtype=ID),
        rule_weight=pl.Series([float(r.weight) for r in tax.rules], dtype=pl.Float64),
        rule_field_weight=pl.Series(
            [
                float(weights.get(f, 0.0)) if f in tax.rule_fields(rule) else None
                for rule in tax.rules
                for f in TEXT_FIELDS
            ],
            dtype=pl.Float64,
        ),
        rule_bit=rule_bit,
        unconditional=_bits(rule_bit[i] for i in range(len(tax.rules)) if not requires[i]),
        requirements=tests(requires),
        exclusions=tests(unless),
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
        scope_contexts=_bits(scope_contexts),
    )


def _bits(positions) -> int:
    """A bit mask (a Python int) with the bits at ``positions`` set."""
    return sum(1 << p for p in set(positions))


def _id_lists(lists: list[list[int]]) -> pl.Series:
    """A List(UInt32) Series of Python lists, built from one flat column (several times
    faster than converting the nested lists)."""
    flat = pl.DataFrame(
        {
            "owner": pl.Series([i for i, items in enumerate(lists) for _ in items], dtype=ID),
            "item": pl.Series([item for items in lists for item in items], dtype=ID),
        }
    )
    grouped = flat.group_by("owner", maintain_order=True).agg("item")
    return (
        pl.DataFrame({"owner": pl.int_range(len(lists), dtype=ID, eager=True)})
        .join(grouped, on="owner", how="left", maintain_order="left")
        .get_column("item")
        .fill_null(pl.lit([], dtype=pl.List(ID)))
    )


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


# --- Distinct values -----------------------------------------------------------------------------


def distinct_ids(frame: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """(an id per row, equal for equal rows and dense from 0; a row index per id).

    Rows are told apart by a 64-bit hash, several times cheaper than hashing long strings
    into a join. Equal hashes of different rows are then ruled out exactly by comparing every
    row with the row kept for its id; should that ever fail, the ids come from an exact join.
    """
    n = frame.height
    hashes = frame.hash_rows(seed=0)
    distinct = hashes.unique()
    ids = hashes.replace_strict(distinct, pl.int_range(distinct.len(), dtype=ID, eager=True))
    rows = pl.int_range(n, dtype=ROW, eager=True)
    first = pl.zeros(distinct.len(), dtype=ROW, eager=True).scatter(ids, rows)
    kept = frame.gather(first).gather(ids)
    if all(kept.get_column(c).equals(frame.get_column(c)) for c in frame.columns):
        return ids, first
    return _exact_ids(frame)


def _exact_ids(frame: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """``distinct_ids`` by an exact join (the fallback when two rows share a hash)."""
    numbered = frame.with_row_index("row")
    firsts = numbered.unique(frame.columns, keep="first", maintain_order=True).with_row_index("id")
    ids = numbered.join(firsts.drop("row"), on=frame.columns, how="left", maintain_order="left")
    return ids.get_column("id").cast(ID), firsts.get_column("row").cast(ROW)


def text_column(grants: pl.DataFrame, field: str) -> pl.Expr:
    """A text column of the grants frame, or nulls where the frame has no such column."""
    if field in grants.columns:
        return pl.col(field).cast(pl.String)
    return pl.lit(None, dtype=pl.String)


# --- What each distinct text says -----------------------------------------------------------------


@dataclass
class FieldValues:
    """One text field reduced to its distinct values, and what each value says in short."""

    field: str
    #: Per row (of the whole frame): the index of its value.
    codes: pl.Series
    #: Per value: the normalised, padded text.
    text: pl.Series
    #: Per value: h0.. the rules it hits (phrases and patterns), t0.. the rules its patterns
    #: hit, x0.. the contexts it names, first and count (where its rows are in ``hits``).
    values: pl.DataFrame


@dataclass
class FieldHits:
    """Every hit in a field's values: what keys are built from (and ``explain`` shows), not
    needed once they are."""

    #: Phrase hits of the rules that look at this field, value by value in text order, then
    #: by rule: value, vid, pair, rule, position (the rule's bit), piece (the explanation
    #: piece), b0.. (the rule's bit as a mask), o0.. (the competing rules whose longer phrase
    #: contains this one in this value).
    hits: pl.DataFrame
    #: Pattern hits: value, loop (which rule, pattern and field, in taxonomy order), match
    #: (order in the text), vid, pair, rule, position.
    pattern_hits: pl.DataFrame
    #: Phrase hits inside a longer phrase of a competing rule, with the occurrences of the
    #: longer phrase at least as many: hit (row in ``hits``), value, vid, rule, outer_vid,
    #: outer_rule.
    nesting: pl.DataFrame
    #: Every phrase variant found, once per value, in text order: value, vid.
    found: pl.DataFrame


@dataclass
class Texts:
    """What every distinct text of every field says, and the tables its ids point into."""

    fields: dict[str, FieldValues]
    hits: dict[str, FieldHits]
    #: Padded phrase text per vid (variants, then texts matched by patterns).
    phrase_text: pl.Series
    #: Per pair (phrase pairs, then pattern pairs): the rule and the vid.
    pair_rule: pl.Series
    pair_vid: pl.Series
    #: 'rule: "phrase" in field' per pair * FIELD_COUNT + field: the explanation's pieces.
    pieces: pl.Series
    #: dimension, category, rule_id, field, phrase per piece: the rows of ``matches``.
    piece_columns: pl.DataFrame
    #: How many rows (grants) the texts were read from.
    rows: int


#: Distinct values of a field read in one piece; more are split into slices read side by side.
SLICE_VALUES = 20_000
#: Keys (distinct field values with the rules that passed) worked out in one piece.
KEY_SLICE = 50_000


def read_texts(grants: pl.DataFrame, matcher: Matcher) -> Texts:
    """Reduce every field to its distinct values and read each value once.

    The work runs in threads (``in_threads``): the fields side by side, then slices of each
    field's values side by side.
    """
    fields = matcher.fields
    threads = pl.thread_pool_size()
    distinct = dict(
        zip(fields, in_threads(lambda f: _distinct_texts(grants, f), fields), strict=True)
    )
    jobs = [
        (field, start, raw.slice(start, size))
        for field, (_, raw) in distinct.items()
        for start, size in _slices(raw.height, threads)
    ]
    read = in_threads(lambda job: _read_values(job[2], job[1], job[0], matcher), jobs)
    merged = {
        field: _merged([r for (f, _, _), r in zip(jobs, read, strict=True) if f == field])
        for field in fields
    }
    matched = pl.concat([found["patterns"] for found in merged.values()])
    pattern_vids = _pattern_vids(matched, len(matcher.variants))
    pattern_pairs = (
        matched.join(pattern_vids, on="match", maintain_order="left")
        .select("rule", "vid")
        .unique(maintain_order=True)
        .with_row_index("pair", offset=len(matcher.pair_rule))
        .cast({"pair": ID})
    )
    values = {
        field: _field_values(field, distinct[field][0], found, pattern_vids, pattern_pairs, matcher)
        for field, found in merged.items()
    }
    fields = {field: value for field, (value, _) in values.items()}
    hits = {field: hit for field, (_, hit) in values.items()}
    phrase_text = pl.Series(
        "phrase",
        matcher.variants + [ph.pad(t) for t in pattern_vids.get_column("match").to_list()],
        dtype=pl.String,
    )
    pair_rule = pl.Series([*matcher.pair_rule, *pattern_pairs.get_column("rule")], dtype=ID)
    pair_vid = pl.Series([*matcher.pair_vid, *pattern_pairs.get_column("vid")], dtype=ID)
    described = _piece_columns(matcher, pair_rule, pair_vid, phrase_text)
    # Built once per pair and field instead of once per hit.
    pieces = described.select(pl.format('{}: "{}" in {}', "rule_id", "phrase", "field")).to_series()
    return Texts(fields, hits, phrase_text, pair_rule, pair_vid, pieces, described, grants.height)


def _distinct_texts(grants: pl.DataFrame, field: str) -> tuple[pl.Series, pl.DataFrame]:
    """(per row the index of its text, the distinct texts as column ``raw``); null is ""."""
    if field in grants.columns:
        column = grants.get_column(field).cast(pl.String).fill_null("")
    else:
        column = pl.repeat("", grants.height, dtype=pl.String, eager=True)
    codes, first = distinct_ids(column.to_frame())
    return codes, column.gather(first).to_frame("raw")


def _slices(count: int, threads: int) -> list[tuple[int, int]]:
    """(start, size) of the slices ``count`` values are read in."""
    parts = threads if count >= SLICE_VALUES else 1
    size = max(1, -(-count // parts))
    return [(start, size) for start in range(0, max(count, 1), size)]


def _read_values(raw: pl.DataFrame, start: int, field: str, matcher: Matcher) -> dict:
    """Everything one slice of a field's values says; values numbered from ``start``.

    text: the normalised texts; found, hits, nesting: see ``FieldHits`` (hit numbers local to
    the slice); patterns: see ``_pattern_matches``; masks: per value p0.. (the rules its
    phrases hit), x0.. (the contexts it names), first and count (its hits).
    """
    text = raw.select(ph.normalize_expr(pl.col("raw")).alias("text"))
    found = pl.DataFrame(schema={"value": ID, "vid": ID})
    if variants := matcher.field_variants.get(field):
        found = (
            text.select(
                pl.col("text")
                .str.extract_many(variants, overlapping=True)
                .cast(pl.List(pl.Enum(matcher.variants)))
                .to_physical()
                .list.unique(maintain_order=True)
                .alias("vid")
            )
            .with_row_index("value", offset=start)
            .explode("vid")
            .drop_nulls("vid")
            .cast({"value": ID, "vid": ID})
        )
    hits = _phrase_hits(found, field, matcher).with_row_index("hit")
    nesting = _nesting(hits, text.get_column("text"), start, matcher)
    words, count = matcher.rule_words, raw.height
    outer = nesting.select(
        "hit", *bit_columns(_positions(matcher).gather(pl.col("outer_rule")), "o", words)
    )
    hits = hits.drop("hit").with_columns(
        _or_per_id(outer, "hit", hits.height, mask_names("o", words))
    )
    spans = (
        hits.with_row_index("first")
        .set_sorted("value")
        .group_by("value")
        .agg(pl.col("first").min(), pl.len().cast(ID).alias("count"))
        .with_columns(pl.col("value") - start)
    )
    local = pl.col("value") - start
    rules = hits.select(
        local,
        *[
            pl.col(b).alias(p)
            for b, p in zip(mask_names("b", words), mask_names("p", words), strict=True)
        ],
    )
    named = found.select(local, *[pl.lit(c).gather(pl.col("vid")) for c in matcher.vid_contexts])
    masks = pl.DataFrame(
        [
            *_or_per_id(rules, "value", count, mask_names("p", words)),
            *_or_per_id(named, "value", count, matcher.vid_contexts.columns),
            *[
                pl.zeros(count, dtype=ID, eager=True)
                .scatter(spans.get_column("value"), spans.get_column(c))
                .alias(c)
                for c in ("first", "count")
            ],
        ],
        height=count,
    )
    return {
        "text": text,
        "found": found,
        "hits": hits,
        "nesting": nesting,
        "patterns": _pattern_matches(text, start, field, matcher),
        "masks": masks,
    }


def _merged(slices: list[dict]) -> dict[str, pl.DataFrame]:
    """The reads of a field's slices as one: hit numbers made global."""
    offset, hits, nesting, masks = 0, [], [], []
    for part in slices:
        hits.append(part["hits"])
        nesting.append(part["nesting"].with_columns(pl.col("hit") + offset))
        masks.append(part["masks"].with_columns(pl.col("first") + offset))
        offset += part["hits"].height
    merged = {
        key: pl.concat([part[key] for part in slices]) for key in ("text", "found", "patterns")
    }
    return {
        **merged,
        "hits": pl.concat(hits),
        "nesting": pl.concat(nesting),
        "masks": pl.concat(masks),
    }


def _positions(matcher: Matcher) -> pl.Expr:
    """Per rule index: its bit position, as a literal to gather from."""
    return pl.lit(pl.Series(matcher.rule_bit, dtype=ID))


def _phrase_hits(found: pl.DataFrame, field: str, matcher: Matcher) -> pl.DataFrame:
    """value, vid, pair, rule, position, piece, b0..: the phrases found, one row per rule
    that looks at this field (see ``FieldValues.hits``)."""
    # A field with no phrases to search has found nothing.
    pairs = matcher.field_pairs.get(field, pl.Series([], dtype=pl.List(ID)))
    bits = matcher.pair_bits
    return (
        found.with_columns(pl.lit(pairs).gather(pl.col("vid")).alias("pair"))
        .explode("pair")
        .drop_nulls("pair")
        .with_columns(
            *[pl.lit(bits.get_column(c)).gather(pl.col("pair")) for c in bits.columns],
            (pl.col("pair") * FIELD_COUNT + FIELD_ID[field]).alias("piece"),
        )
    )


def _pattern_matches(text: pl.DataFrame, start: int, field: str, matcher: Matcher) -> pl.DataFrame:
    """value, loop, match (the text), order, rule: every pattern match in the values.

    ``loop`` numbers the (rule, pattern, field) combinations in taxonomy order: explanations
    list pattern hits in that order. A text matched twice for one rule is one hit (the first).
    """
    schema = {"value": ID, "loop": ID, "match": pl.String, "order": ID, "rule": ID}
    loops = [(r, p, f) for r, p, fields in matcher.patterns for f in fields]
    mine = [(loop, rule, pattern) for loop, (rule, pattern, f) in enumerate(loops) if f == field]
    if not mine:
        return pl.DataFrame(schema=schema)
    # Most texts match no pattern: one pass with all of them at once finds the few that do.
    candidates = text.with_row_index("value", offset=start)
    if either := _any_pattern([pattern for _, _, pattern in mine]):
        candidates = candidates.filter(pl.col("text").str.contains(either))
    parts = []
    for loop, rule, pattern in mine:
        regex = f"(?i){pattern}"
        parts.append(
            candidates.filter(pl.col("text").str.contains(regex))
            .select("value", pl.col("text").str.extract_all(regex).alias("match"))
            .explode("match")
            .select(
                pl.col("value").cast(ID),
                pl.lit(loop, ID).alias("loop"),
                pl.col("match").str.strip_chars(),
                pl.int_range(pl.len(), dtype=ID).over("value").alias("order"),
                pl.lit(rule, ID).alias("rule"),
            )
            .filter(pl.col("match").is_not_null() & (pl.col("match") != ""))
        )
    return pl.concat(parts).unique(["value", "match", "rule"], keep="first", maintain_order=True)


def _any_pattern(patterns: list[str]) -> str | None:
    """One case-insensitive regex matching where any of ``patterns`` does (each a group of its
    own, so its inline flags stay its own), or None when it would not compile (too large)."""
    if len(patterns) < 2:
        return None
    either = "(?i)" + "|".join(f"(?:{pattern})" for pattern in patterns)
    try:
        pl.select(pl.lit("").str.contains(either))
    except pl.exceptions.PolarsError:
        return None
    return either


def _pattern_vids(matched: pl.DataFrame, first_vid: int) -> pl.DataFrame:
    """match, vid: texts matched by patterns get phrase ids after the variants."""
    texts = matched.get_column("match").unique(maintain_order=True)
    return pl.DataFrame(
        {"match": texts, "vid": pl.int_range(first_vid, first_vid + len(texts), eager=True)}
    ).cast({"vid": ID})


def _piece_columns(
    matcher: Matcher, pair_rule: pl.Series, pair_vid: pl.Series, phrase_text: pl.Series
) -> pl.DataFrame:
    """dimension, category, rule_id, field, phrase per piece (pair * FIELD_COUNT + field)."""
    piece = pl.int_range(pair_rule.len() * FIELD_COUNT, dtype=ID)
    rule = pl.lit(pair_rule).gather(piece // FIELD_COUNT)
    cat = pl.lit(matcher.rule_cat).gather(rule)
    return pl.select(
        pl.lit(matcher.categories.get_column("dimension")).gather(cat).alias("dimension"),
        pl.lit(matcher.categories.get_column("category")).gather(cat).alias("category"),
        pl.lit(matcher.rule_ids).gather(rule).alias("rule_id"),
        pl.lit(pl.Series(TEXT_FIELDS)).gather(piece % FIELD_COUNT).alias("field"),
        pl.lit(phrase_text.str.strip_chars())
        .gather(pl.lit(pair_vid).gather(piece // FIELD_COUNT))
        .alias("phrase"),
    )


def _field_values(
    field: str,
    codes: pl.Series,
    read: dict[str, pl.DataFrame],
    pattern_vids: pl.DataFrame,
    pattern_pairs: pl.DataFrame,
    matcher: Matcher,
) -> tuple[FieldValues, FieldHits]:
    """A field's values and hits from what was read, with the pattern hits now that their
    texts have phrase ids."""
    words = matcher.rule_words
    text = read["text"].get_column("text")
    patterns = (
        read["patterns"]
        .join(pattern_vids, on="match", maintain_order="left")
        .join(pattern_pairs, on=["rule", "vid"], maintain_order="left")
        .sort("value", "loop", "order", maintain_order=True)
        .select(
            "value",
            "loop",
            pl.col("order").alias("match"),
            "vid",
            "pair",
            "rule",
            _positions(matcher).gather(pl.col("rule")).alias("position"),
        )
    )
    from_patterns = _or_per_id(
        patterns.select("value", *bit_columns(pl.col("position"), "t", words)),
        "value",
        text.len(),
        mask_names("t", words),
    )
    masks = read["masks"]
    values = masks.select(
        *[(pl.col(f"p{w}") | from_patterns[w]).alias(f"h{w}") for w in range(words)],
        *[pl.lit(t) for t in from_patterns],
        *mask_names("x", matcher.context_words),
        "first",
        "count",
    )
    return FieldValues(field, codes, text, values), FieldHits(
        hits=read["hits"], pattern_hits=patterns, nesting=read["nesting"], found=read["found"]
    )


def _or_per_id(frame: pl.DataFrame, id_column: str, size: int, names: list[str]) -> list[pl.Series]:
    """The UInt64 columns ``names`` of ``frame`` ORed per id 0..size-1 (0 for an id with no
    rows). ``frame`` must be sorted by ``id_column``: the group-by then takes polars' fast
    path for sorted keys."""
    per_id = frame.set_sorted(id_column).group_by(id_column).agg(pl.col(names).bitwise_or())
    ids = per_id.get_column(id_column)
    return [
        pl.zeros(size, dtype=MASK, eager=True).scatter(ids, per_id.get_column(name)).alias(name)
        for name in names
    ]


def _nesting(hits: pl.DataFrame, text: pl.Series, start: int, matcher: Matcher) -> pl.DataFrame:
    """hit, value, vid, rule, outer_vid, outer_rule: hits inside a longer phrase of a
    competing rule.

    "mental health" inside "mental health court" is no evidence for mental-health care when
    "mental health court" belongs to another category of the same dimension (and its rule
    passes in the row, which ``row_evidence`` checks). It still counts in other dimensions,
    and a separate mention still counts: the longer phrase must occur at least as often.
    """
    schema = {"hit": ID, "value": ID, "vid": ID, "rule": ID, "outer_vid": ID, "outer_rule": ID}
    # (value, vid) packed in one integer: a join on one column is several times faster.
    phrases = len(matcher.variants)

    def packed(vid: str) -> pl.Expr:
        return pl.col("value").cast(pl.UInt64) * phrases + pl.col(vid)

    has_inner = matcher.inners_of_vid.list.len() > 0
    outer = (
        hits.filter(pl.lit(has_inner).gather(pl.col("vid")))
        .select(
            "value",
            pl.col("vid").alias("outer_vid"),
            pl.col("rule").alias("outer_rule"),
            pl.lit(matcher.inners_of_vid).gather(pl.col("vid")).alias("vid"),
        )
        .explode("vid")
        .select(packed("vid").alias("key"), "outer_vid", "outer_rule")
    )
    if outer.is_empty():
        return pl.DataFrame(schema=schema)
    cat = pl.lit(matcher.rule_cat)
    dimension = pl.lit(matcher.categories.get_column("dimension"))
    inner = hits.select("hit", "value", "vid", "rule", packed("vid").alias("key"))
    pairs = (
        inner.filter(pl.col("key").is_in(outer.get_column("key").implode()))
        .join(outer, on="key")
        .filter(
            (cat.gather(pl.col("rule")) != cat.gather(pl.col("outer_rule")))
            & (
                dimension.gather(cat.gather(pl.col("rule")))
                == dimension.gather(cat.gather(pl.col("outer_rule")))
            )
        )
    )
    own = pl.lit(text).gather(pl.col("value") - start)
    phrase = pl.lit(pl.Series(matcher.variants, dtype=pl.String))
    counted = pairs.with_columns(
        own.str.count_matches(phrase.gather(pl.col("vid")), literal=True).alias("inner")
    )
    # A shorter phrase found once is outnumbered by nothing: the longer one containing it was
    # found too. Only phrases found more than once need the longer one counted.
    more = counted.filter(pl.col("inner") > 1)
    more = more.filter(
        own.str.count_matches(phrase.gather(pl.col("outer_vid")), literal=True) >= pl.col("inner")
    )
    return (
        pl.concat([counted.filter(pl.col("inner") == 1), more])
        .select(list(schema))
        .sort("hit", maintain_order=True)
    )


# --- Row by row ---------------------------------------------------------------------------------


@dataclass
class FieldRows:
    """Which hits of a field count in each row, through the row's key."""

    #: Per row: its key (its value and the rules that passed among those the value hits).
    keys: pl.Series
    #: Per key: code, k0.. (the key), segment (the explanation pieces of the hits that count,
    #: joined; null when none does), pieces (their ids, List(UInt32)), f0.. (the rules that
    #: fired in this field, phrases and patterns).
    table: pl.DataFrame


@dataclass
class Counted:
    """The hits that count, row by row: what the rules fired, the explanations and the
    matches are written from."""

    rows: int
    #: Per field: each row's key and, per key, the hits that count.
    fields: dict[str, FieldRows]
    #: row, segment, pieces: the pattern hits that count, for the rows that have any.
    patterns: pl.DataFrame
    #: dimension, category, rule_id, field, phrase per piece: the rows of ``matches``.
    piece_columns: pl.DataFrame

    def fired(self, field: str, words: int) -> list[pl.Series]:
        """Per row: the rules that fired in ``field`` (a rule mask in ``words`` columns)."""
        rows = self.fields[field]
        return [rows.table.get_column(n).gather(rows.keys) for n in mask_names("f", words)]


@dataclass
class Evidence:
    """What the texts of every row say, row by row."""

    #: Per field: its values (each row's code, the texts, the masks per value).
    values: dict[str, FieldValues]
    #: Per row: x<field id>_<word> (the contexts named in a field), state (its combination).
    contexts: pl.DataFrame
    #: Per state: r0.. (rules whose requires are met), b0.. (rules an unless blocks), p0..
    #: (rules that passed: r and not b).
    tests: pl.DataFrame
    counted: Counted

    @property
    def rows(self) -> int:
        return self.contexts.height

    def codes(self, field: str) -> pl.Series:
        """Per row: the index of its value in ``field``."""
        return self.values[field].codes

    def rule_masks(self, prefix: str) -> pl.DataFrame:
        """Per row: the rule masks ``prefix``0.. of ``tests`` (``r``, ``b`` or ``p``)."""
        names = [c for c in self.tests.columns if c[0] == prefix and c[1:].isdigit()]
        return self.tests.select(names).gather(self.contexts.get_column("state"))


def row_evidence(texts: Texts, matcher: Matcher) -> Evidence:
    """Which rules pass and which hits count in each row."""
    contexts = pl.DataFrame(
        [
            fv.values.get_column(x).gather(fv.codes).alias(f"x{FIELD_ID[field]}_{w}")
            for field, fv in texts.fields.items()
            for w, x in enumerate(mask_names("x", matcher.context_words))
        ],
        height=texts.rows,
    )
    # Rows name few distinct combinations of contexts: test each combination once.
    states, first = distinct_ids(contexts)
    words = matcher.rule_words
    r, b, p = (mask_names(prefix, words) for prefix in ("r", "b", "p"))
    tests = (
        contexts.gather(first)
        .with_columns(_context_tests(contexts, matcher))
        .select(
            *r, *b, *[(pl.col(x) & ~pl.col(y)).alias(z) for x, y, z in zip(r, b, p, strict=True)]
        )
    )
    counted = Counted(texts.rows, {}, pl.DataFrame(), texts.piece_columns)
    evidence = Evidence(texts.fields, contexts.with_columns(states.alias("state")), tests, counted)
    passed = evidence.rule_masks("p")
    keyed = in_threads(
        lambda field: _field_rows(texts.fields[field], texts.hits[field], passed, texts, matcher),
        list(texts.fields),
    )
    counted.fields = dict(zip(texts.fields, keyed, strict=True))
    counted.patterns = _pattern_rows(evidence, texts, passed, matcher)
    return evidence


def _context_tests(contexts: pl.DataFrame, matcher: Matcher) -> list[pl.Expr]:
    """r0.. (rules whose requires are met) and b0.. (rules an unless blocks), from the
    contexts named in each rule's fields (``contexts``: x<field id>_<word> columns)."""

    def named(test: ContextTest) -> pl.Expr:
        """Does the row name one of the test's contexts in one of its fields?"""
        found = pl.lit(False)
        for word, wanted in enumerate(words_of(test.contexts, matcher.context_words)):
            columns = [
                f"x{FIELD_ID[f]}_{word}"
                for f in test.fields
                if f"x{FIELD_ID[f]}_{word}" in contexts.columns
            ]
            if wanted and columns:
                seen = or_all([pl.col(c) for c in columns])
                found = found | ((seen & pl.lit(wanted, MASK)) != 0)
        return found

    def rules_where(tests: list[ContextTest], always: int, prefix: str) -> list[pl.Expr]:
        out = []
        for word, name in enumerate(mask_names(prefix, matcher.rule_words)):
            terms = [pl.lit(words_of(always, matcher.rule_words)[word], MASK)]
            for test in tests:
                rules = words_of(test.rules, matcher.rule_words)[word]
                if rules:
                    terms.append(
                        pl.when(named(test)).then(pl.lit(rules, MASK)).otherwise(pl.lit(0, MASK))
                    )
            out.append(or_all(terms).alias(name))
        return out

    return [
        *rules_where(matcher.requirements, matcher.unconditional, "r"),
        *rules_where(matcher.exclusions, 0, "b"),
    ]


def or_all(columns: list[pl.Expr]) -> pl.Expr:
    """The bitwise OR of some mask columns."""
    return pl.reduce(lambda a, b: a | b, columns) if len(columns) > 1 else columns[0]


def _field_rows(
    values: FieldValues, hits: FieldHits, passed: pl.DataFrame, texts: Texts, matcher: Matcher
) -> FieldRows:
    """Each row's key in a field, and per distinct key the hits that count."""
    words = matcher.rule_words
    frame = pl.DataFrame({"code": values.codes}).with_columns(
        (pl.lit(values.values.get_column(h)).gather(pl.col("code")) & passed.get_column(p)).alias(k)
        for h, p, k in zip(
            mask_names("h", words), mask_names("p", words), mask_names("k", words), strict=True
        )
    )
    keys, first = distinct_ids(frame)
    table = frame.gather(first)
    # Many keys (a long field of free text): their hits are worked out in slices side by side,
    # small enough that the one-row-per-hit frames stay small.
    slices = [table.slice(start, KEY_SLICE) for start in range(0, max(table.height, 1), KEY_SLICE)]
    counted = in_threads(lambda part: _counted(part, values, hits, texts, matcher), slices)
    return FieldRows(keys, pl.concat(counted))


def _counted(
    keys: pl.DataFrame, values: FieldValues, hits: FieldHits, texts: Texts, matcher: Matcher
) -> pl.DataFrame:
    """Per key: the key, the explanation segment, piece ids and rules fired (``FieldRows``).

    A hit counts when its rule's bit is in the key (the rule passed) and none of the
    competing rules whose longer phrase contains it is. The rules fired are those with a hit
    that counts, plus the pattern rules of the key.
    """
    words = matcher.rule_words
    k, b, o, f = (mask_names(prefix, words) for prefix in ("k", "b", "o", "f"))
    table = keys.with_columns(
        pl.lit(values.values.get_column(c)).gather(pl.col("code")).alias(c)
        for c in ("first", "count")
    )
    hits = hits.hits
    # One row per hit of each key's value, sorted by key.
    per_hit = (
        table.select(
            pl.int_range(pl.len(), dtype=ID).alias("key"),
            pl.int_ranges("first", pl.col("first") + pl.col("count"), dtype=ID).alias("hit"),
        )
        .explode("hit")
        .drop_nulls("hit")
        .with_columns(
            *[pl.lit(hits.get_column(c)).gather(pl.col("hit")) for c in ("piece", *b, *o)],
            *[pl.lit(table.get_column(c)).gather(pl.col("key")) for c in k],
        )
    )
    passes = pl.any_horizontal([(pl.col(x) & pl.col(y)) != 0 for x, y in zip(k, b, strict=True)])
    inside = pl.any_horizontal([(pl.col(x) & pl.col(y)) != 0 for x, y in zip(k, o, strict=True)])
    per_key = (
        per_hit.filter(passes & ~inside)
        .select(
            "key",
            "piece",
            pl.lit(texts.pieces).gather(pl.col("piece")).alias("segment"),
            *[pl.col(x).alias(y) for x, y in zip(b, f, strict=True)],
        )
        .set_sorted("key")
        .group_by("key")
        .agg("piece", "segment", *[pl.col(y).bitwise_or() for y in f])
        .with_columns(pl.col("segment").list.join("; "))
    )
    pattern_rules = [
        pl.lit(values.values.get_column(t)).gather(pl.col("code")) & pl.col(x)
        for t, x in zip(mask_names("t", words), k, strict=True)
    ]
    return (
        table.select(pl.int_range(pl.len(), dtype=ID).alias("key"), "code", *k)
        .join(per_key, on="key", how="left", maintain_order="left")
        .select(
            "code",
            *k,
            "segment",
            pl.col("piece").fill_null(pl.lit([], dtype=pl.List(ID))).alias("pieces"),
            *[(pl.col(y).fill_null(0) | pattern_rules[w]).alias(y) for w, y in enumerate(f)],
        )
    )


def _has_bit(position: pl.Expr, mask: list[str]) -> pl.Expr:
    """Is the bit at ``position`` set in the mask held in columns ``mask``?"""
    bit = pl.lit(BITS).gather(position % 64)
    return pl.any_horizontal(
        [(position // 64 == word) & ((pl.col(name) & bit) != 0) for word, name in enumerate(mask)]
    )


def _pattern_rows(
    evidence: Evidence, texts: Texts, passed: pl.DataFrame, matcher: Matcher
) -> pl.DataFrame:
    """row, segment, pieces: the pattern hits that count in each row, in taxonomy order."""
    schema = {"row": ROW, "segment": pl.String, "pieces": pl.List(ID)}
    parts = []
    for field, found in texts.hits.items():
        if found.pattern_hits.is_empty():
            continue
        rows = pl.DataFrame({"code": evidence.codes(field)}).with_row_index("row")
        parts.append(
            rows.join(found.pattern_hits, left_on="code", right_on="value").select(
                "row",
                "loop",
                "match",
                "position",
                (pl.col("pair") * FIELD_COUNT + FIELD_ID[field]).alias("piece"),
            )
        )
    if not parts:
        return pl.DataFrame(schema=schema)
    p = mask_names("p", matcher.rule_words)
    hits = (
        pl.concat(parts)
        .with_columns(pl.lit(passed.get_column(c)).gather(pl.col("row")).alias(c) for c in p)
        .filter(_has_bit(pl.col("position"), p))
        .sort("row", "loop", "match")
        .with_columns(pl.lit(texts.pieces).gather(pl.col("piece")).alias("segment"))
    )
    return (
        hits.group_by("row", maintain_order=True)
        .agg("segment", pl.col("piece").alias("pieces"))
        .with_columns(pl.col("segment").list.join("; "))
        .cast(schema)
    )


# --- One row per hit, for explain -------------------------------------------------------------


@dataclass
class HitDetail:
    """Every hit as a row of its own, with its verdicts: what ``explain`` shows."""

    #: hit, row, field, vid, pair, rule, field_weight, requires_ok, blocked: every phrase or
    #: pattern hit of a rule in a field it looks at (phrase hits by row, then pattern hits).
    hits: pl.DataFrame
    #: The hits that count: requires met, no unless, not nested. Same columns.
    fired: pl.DataFrame
    #: hit, outer_vid: hits inside a longer phrase of a competing rule that passed.
    nested: pl.DataFrame
    #: row, field, vid, ctx: the context phrases named.
    contexts: pl.DataFrame
    #: Padded phrase text per vid.
    phrase_text: pl.Series


def hit_detail(texts: Texts, evidence: Evidence, matcher: Matcher) -> HitDetail:
    """The long form of ``row_evidence``: meant for a few rows (``explain`` shows one)."""
    phrases, patterns, contexts, nesting = [], [], [], []
    for field, found in texts.hits.items():
        rows = (
            pl.DataFrame({"value": evidence.codes(field)})
            .with_row_index("row")
            .with_columns(pl.lit(FIELD_ID[field], pl.UInt8).alias("field"))
        )

        def joined(frame: pl.DataFrame, rows=rows) -> pl.DataFrame:
            return rows.join(frame, on="value", maintain_order="left_right")

        phrases.append(joined(found.hits.select("value", "vid", "pair", "rule", "position")))
        patterns.append(joined(found.pattern_hits))
        contexts.append(
            joined(found.found)
            .select(
                "row",
                "field",
                "vid",
                pl.lit(matcher.contexts_of_vid).gather(pl.col("vid")).alias("ctx"),
            )
            .explode("ctx")
            .drop_nulls("ctx")
        )
        nesting.append(joined(found.nesting).drop("value", "hit"))
    columns = ["row", "field", "vid", "pair", "rule", "position"]
    hits = pl.concat(
        [
            pl.concat(phrases).sort("row", maintain_order=True).select(columns),
            pl.concat(patterns).sort("loop", "row", "match").select(columns),
        ]
    ).with_row_index("hit")
    words = matcher.rule_words
    masks = pl.concat(
        [evidence.rule_masks("r"), evidence.rule_masks("b"), evidence.rule_masks("p")],
        how="horizontal",
    )
    hits = hits.with_columns(
        pl.lit(masks.get_column(c)).gather(pl.col("row")).alias(c)
        for c in mask_names("r", words) + mask_names("b", words)
    ).select(
        *["hit", *columns[:-1]],
        pl.lit(matcher.rule_field_weight)
        .gather(pl.col("rule") * FIELD_COUNT + pl.col("field"))
        .alias("field_weight"),
        _has_bit(pl.col("position"), mask_names("r", words)).alias("requires_ok"),
        _has_bit(pl.col("position"), mask_names("b", words)).alias("blocked"),
    )
    candidates = hits.filter(pl.col("requires_ok") & ~pl.col("blocked"))
    nested = (
        candidates.join(
            pl.concat(nesting), on=["row", "field", "vid", "rule"], maintain_order="left_right"
        )
        .with_columns(
            pl.lit(masks.get_column(c)).gather(pl.col("row")).alias(c)
            for c in mask_names("p", words)
        )
        .filter(_has_bit(_positions(matcher).gather(pl.col("outer_rule")), mask_names("p", words)))
        .unique("hit", keep="first", maintain_order=True)
        .select("hit", "outer_vid")
    )
    fired = candidates.join(nested, on="hit", how="anti", maintain_order="left")
    return HitDetail(hits, fired, nested, pl.concat(contexts), texts.phrase_text)
