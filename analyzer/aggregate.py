"""Where the money goes: the summary tables, computed in DuckDB from the store.

``summarize(con, taxonomy)`` runs the queries in ``analyzer/sql/summary_*.sql`` against a store
holding grants, a classification and its allocations, and returns a :class:`Summary` of named
polars DataFrames. Money comes from the ``allocations`` table under one allocation policy, so
every grouping adds back to the portfolio total exactly. Money is per currency, always: every
money table has a ``currency`` column and nothing is ever summed across currencies.

Nothing here knows the CSEC codebook: categories, labels, their order and their sides
(symptoms / causes) come from the taxonomy (:class:`Scale`), so a user's own taxonomy works,
and measures that need sides are ``None`` when the taxonomy has none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb
import polars as pl

from .errors import StoreError
from .schema import MONEY, check_policy
from .store import read_sql

UNCLASSIFIED = "unclassified"
SIDES = ("symptoms", "causes")
SIDE_LABELS = {"symptoms": "Symptoms", "causes": "Causes"}

#: Money columns of the headline tables (exact decimals).
HEADLINE_MONEY = (
    "total",
    "in_scope",
    "classified",
    "out_of_scope",
    "unclassified",
    "symptoms",
    "causes",
    "structural",
)
#: Ratio columns of the headline tables (floats in 0..1, or None when undefined).
MEASURES = ("coverage", "prevention_share", "symptoms_to_causes", "structural_share")
HEADLINE_COLUMNS = (
    "grants",
    *HEADLINE_MONEY,
    "unclassified_grants",
    "out_of_scope_grants",
    "ambiguous_grants",
    *MEASURES,
)

#: The tables of a Summary, with the grouping columns each adds before its values.
#: Headline tables hold HEADLINE_COLUMNS; mix tables hold category, label, side, order,
#: grants, amount and share_of_classified.
HEADLINE_TABLES: dict[str, tuple[str, ...]] = {
    "portfolio": (),
    "by_funder": ("funder",),
    "by_year": ("year",),
    "by_funder_year": ("funder", "year"),
    "by_state": ("state",),
    "by_provider_type": ("provider_type",),
}
MIX_TABLES: dict[str, tuple[str, ...]] = {
    "approach": (),
    "approach_by_funder": ("funder",),
    "approach_by_year": ("year",),
    "approach_by_funder_year": ("funder", "year"),
    "approach_by_state": ("state",),
    "approach_by_state_year": ("state", "year"),
    "approach_by_provider_type": ("provider_type",),
}
LABEL_TABLES: dict[str, str] = {
    "approach_by_right": "right",
    "approach_by_risk_factor": "risk_factor",
}


# --- The scale: the taxonomy's primary dimension as the summary needs it ---------------------


@dataclass(frozen=True)
class ScaleCategory:
    """One category of the primary dimension, as charts and tables show it."""

    id: str
    label: str
    order: int
    #: "symptoms", "causes" or None.
    side: str | None
    #: "classified", "out-of-scope" or "unclassified".
    kind: str
    definition: str = ""


@dataclass(frozen=True)
class Scale:
    """The categories of the taxonomy's primary dimension in scale order, plus the labels of
    the other dimensions (rights, risk factors, provider types) for display."""

    name: str
    categories: tuple[ScaleCategory, ...]
    description: str = ""
    #: dimension id -> {category id: label}, for the multi and single dimensions.
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    #: dimension id -> label of the dimension (e.g. "risk_factors" -> "Risk factors").
    dimension_labels: dict[str, str] = field(default_factory=dict)

    @property
    def classified(self) -> tuple[ScaleCategory, ...]:
        """The categories money can be classified into, symptoms end first."""
        return tuple(c for c in self.categories if c.kind == "classified")

    @property
    def has_sides(self) -> bool:
        sides = {c.side for c in self.classified}
        return "symptoms" in sides and "causes" in sides

    @property
    def symptoms_first(self) -> bool:
        """Whether the taxonomy orders its scale from the symptoms side to the causes side
        (the CSEC codebook does; a prevention-levels taxonomy may list primary prevention,
        a causes-side category, first)."""
        symptoms = [c.order for c in self.side_categories("symptoms")]
        causes = [c.order for c in self.side_categories("causes")]
        if not symptoms or not causes:
            return True
        return sum(symptoms) / len(symptoms) <= sum(causes) / len(causes)

    def from_middle(self, side: str) -> tuple[ScaleCategory, ...]:
        """The categories of one side, from the middle of the scale out to its far end."""
        members = sorted(self.side_categories(side), key=lambda c: c.order)
        towards_end = (side == "causes") == self.symptoms_first
        return tuple(members if towards_end else reversed(members))

    @property
    def structural(self) -> ScaleCategory | None:
        """The far causes end of the scale: the paper's real target (structural prevention)."""
        causes = self.from_middle("causes")
        return causes[-1] if causes else None

    @property
    def out_of_scope(self) -> ScaleCategory | None:
        return next((c for c in self.categories if c.kind == "out-of-scope"), None)

    def category(self, category_id: str) -> ScaleCategory:
        for category in self.categories:
            if category.id == category_id:
                return category
        return ScaleCategory(category_id, category_id, 1000, None, "classified")

    def label(self, category_id: str) -> str:
        return self.category(category_id).label

    def side_categories(self, side: str) -> tuple[ScaleCategory, ...]:
        return tuple(c for c in self.classified if c.side == side)

    def frame(self) -> pl.DataFrame:
        """The categories as a frame (registered in DuckDB as ``summary_categories``)."""
        return pl.DataFrame(
            {
                "category": [c.id for c in self.categories],
                "label": [c.label for c in self.categories],
                "sort_order": [c.order for c in self.categories],
                "side": [c.side for c in self.categories],
                "kind": [c.kind for c in self.categories],
            },
            schema={
                "category": pl.String,
                "label": pl.String,
                "sort_order": pl.Int64,
                "side": pl.String,
                "kind": pl.String,
            },
        )

    @classmethod
    def from_taxonomy(cls, taxonomy: Any) -> Scale:
        """Read the scale from a loaded taxonomy (``analyzer.taxonomy.Taxonomy``): its primary
        dimension's categories in scale order, and the labels of its other dimensions."""
        primary = taxonomy.primary
        ids = sorted(primary.categories, key=primary.sort_key)
        scope = getattr(taxonomy, "scope", None)
        out_of_scope = scope.out_of_scope_category if scope is not None else None
        if out_of_scope is None and "out-of-scope" in primary.categories:
            out_of_scope = "out-of-scope"
        categories = [primary.categories[i] for i in ids]
        return cls.from_info(
            {
                "name": taxonomy.name,
                "description": taxonomy.description,
                "primary": {
                    "out_of_scope": out_of_scope,
                    "categories": [
                        {
                            "id": c.id,
                            "label": c.label,
                            "order": position,
                            "side": c.side,
                            "definition": c.definition,
                        }
                        for position, c in enumerate(categories, start=1)
                    ],
                },
                "dimensions": {
                    dim.id: {
                        "label": dim.label or dim.id.replace("_", " ").capitalize(),
                        "categories": {c.id: c.label for c in dim.categories.values()},
                    }
                    for dim in taxonomy.dimensions.values()
                    if dim.kind != "primary"
                },
            }
        )

    @classmethod
    def from_info(cls, info: dict) -> Scale:
        """Build from a plain description, the form taxonomy.scale_info returns::

        {"name": ..., "primary": {"categories": [{id, label, order, side, definition}],
         "out_of_scope": "out-of-scope"},
         "dimensions": {"rights": {"label": "Rights", "categories": {id: label}}, ...}}
        """
        primary = info["primary"]
        out_id = primary.get("out_of_scope")
        categories = []
        for item in sorted(primary["categories"], key=lambda c: (c.get("order", 0), c["id"])):
            if item["id"] == UNCLASSIFIED:
                continue
            kind = "out-of-scope" if item["id"] == out_id else "classified"
            side = item.get("side") if kind == "classified" else None
            categories.append(
                ScaleCategory(
                    id=item["id"],
                    label=item.get("label") or item["id"],
                    order=int(item.get("order", 0)),
                    side=side,
                    kind=kind,
                    definition=item.get("definition") or "",
                )
            )
        last = max((c.order for c in categories), default=0)
        categories.append(
            ScaleCategory(
                UNCLASSIFIED,
                "Unclassified",
                last + 1,
                None,
                "unclassified",
                "The text does not say enough to decide; sent to review.",
            )
        )
        dims = info.get("dimensions", {})
        return cls(
            name=info.get("name", ""),
            categories=tuple(categories),
            description=info.get("description") or "",
            labels={dim: dict(d.get("categories", {})) for dim, d in dims.items()},
            dimension_labels={dim: d.get("label") or dim for dim, d in dims.items()},
        )


# --- The summary --------------------------------------------------------------------------


@dataclass
class Summary:
    """Named summary tables (polars DataFrames) of one classified portfolio.

    Tables (every money table has a ``currency`` column; money is ``Decimal(38, 2)``):

    * headline tables, one row per currency and group, columns HEADLINE_COLUMNS:
      ``portfolio``; ``by_funder``; ``by_year``; ``by_funder_year``; ``by_state``;
      ``by_provider_type``. Money: total, in_scope, classified, out_of_scope, unclassified,
      symptoms, causes, structural. Measures (float or None): coverage, prevention_share,
      symptoms_to_causes, structural_share.
    * mix tables, money per approach category: ``approach``, ``approach_by_funder``,
      ``approach_by_year``, ``approach_by_funder_year``, ``approach_by_state``,
      ``approach_by_state_year``, ``approach_by_provider_type`` (columns: currency, the
      grouping columns, category, label, side, order, grants, amount, share_of_classified);
      ``approach_by_right`` and ``approach_by_risk_factor`` (multi-label: a grant counts
      under each of its labels, so these do not add up to the total; '(none)' for grants
      without one); ``by_side`` (currency, side, label, grants, amount, share_of_classified).
    * ``year_over_year``: per currency and year, total and classified money with their
      change since the previous year with money, and the change of the measures in points.
    * ``top_recipients`` (currency, rank, recipient, grants, funders, total, share_of_total,
      classified, prevention_share) and ``concentration`` (currency, entity = recipient or
      funder, entities, total, top10_share, largest_share, hhi).
    * data quality: ``sources`` (per file and sheet: rows seen, loaded, excluded, rejected,
      notes), ``rejects`` (per file, disposition and reason: rows, first_row), ``currencies``
      (grants, total, negative and zero amounts per currency; most money first).
    """

    policy: str
    scale: Scale
    #: Currencies in the portfolio, the one with the most money first.
    currencies: list[str]
    tables: dict[str, pl.DataFrame]
    #: The classification run that produced the allocations (taxonomy name, version, sha256,
    #: rule_count, overrides_path, override_count), from the store.
    run: dict = field(default_factory=dict)

    @property
    def main_currency(self) -> str | None:
        """The currency headline sentences and charts use: the one with the most money."""
        return self.currencies[0] if self.currencies else None

    def __getitem__(self, name: str) -> pl.DataFrame:
        return self.tables[name]

    def headline(self, currency: str | None = None) -> dict[str, Any]:
        """The portfolio row of one currency (default: the main one) as a dict."""
        currency = currency or self.main_currency
        rows = self.tables["portfolio"].filter(pl.col("currency") == currency).to_dicts()
        return rows[0] if rows else {}

    def to_json(self) -> dict[str, Any]:
        """The summary.json contract: per portfolio, funder, year and funder-year, per
        currency: total, in-scope, classified, out-of-scope and unclassified money (exact
        decimal strings), money per approach category under the policy, grant counts, the
        three headline measures and coverage."""
        return {
            "policy": self.policy,
            "taxonomy": {
                key: self.run.get(key)
                for key in ("taxonomy_name", "taxonomy_version", "taxonomy_sha256", "rule_count")
            },
            "currencies": self.currencies,
            "main_currency": self.main_currency,
            "categories": [
                {
                    "id": c.id,
                    "label": c.label,
                    "order": c.order,
                    "side": c.side,
                    "kind": c.kind,
                }
                for c in self.scale.categories
            ],
            "portfolio": self._json_entries("portfolio", "approach", ())[0]
            if not self.tables["portfolio"].is_empty()
            else {"currencies": {}},
            "funders": self._json_entries("by_funder", "approach_by_funder", ("funder",)),
            "years": self._json_entries("by_year", "approach_by_year", ("year",)),
            "funder_years": self._json_entries(
                "by_funder_year", "approach_by_funder_year", ("funder", "year")
            ),
        }

    def _json_entries(self, headline: str, mix: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
        """One JSON entry per group: its keys and ``currencies: {code: figures}``."""
        approach: dict[tuple, dict[str, str]] = {}
        for row in self.tables[mix].iter_rows(named=True):
            group = (*(row[k] for k in keys), row["currency"])
            approach.setdefault(group, {})[row["category"]] = _money(row["amount"])
        entries: dict[tuple, dict[str, Any]] = {}
        for row in self.tables[headline].iter_rows(named=True):
            key = tuple(row[k] for k in keys)
            entry = entries.setdefault(key, {**{k: row[k] for k in keys}, "currencies": {}})
            money = approach.get((*key, row["currency"]), {})
            entry["currencies"][row["currency"]] = {
                "grants": row["grants"],
                **{name: _money(row[name]) for name in HEADLINE_MONEY},
                "approach": {c.id: money.get(c.id, "0.00") for c in self.scale.categories}
                | {cat: amount for cat, amount in money.items()},
                "unclassified_grants": row["unclassified_grants"],
                "out_of_scope_grants": row["out_of_scope_grants"],
                "ambiguous_grants": row["ambiguous_grants"],
                **{name: _ratio(row[name]) for name in MEASURES},
            }
        return list(entries.values())


def _money(value: Decimal | None) -> str:
    """An exact decimal string with cents ("1234.50"); None is 0."""
    return str((value if value is not None else Decimal(0)).quantize(Decimal("0.01")))


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


# --- Computing it --------------------------------------------------------------------------


def summarize(
    con: duckdb.DuckDBPyConnection,
    taxonomy: Any,
    *,
    policy: str = "primary",
    top_n: int = 20,
) -> Summary:
    """Compute every summary table in DuckDB from the store behind ``con``.

    ``taxonomy`` is a loaded taxonomy or a :class:`Scale`. The store must hold a
    classification (``allocations``); raises StoreError if it does not.
    """
    check_policy(policy)
    scale = taxonomy if isinstance(taxonomy, Scale) else Scale.from_taxonomy(taxonomy)
    _require_classification(con, policy)
    _prepare(con, scale, policy=policy, top_n=top_n)

    tables: dict[str, pl.DataFrame] = {}
    headline = con.sql("SELECT * FROM summary_headline").pl()
    for name, keys in HEADLINE_TABLES.items():
        tables[name] = _headline_table(headline, _grouping(name, "by_"), keys)
    mix = con.sql(read_sql("summary_mix.sql")).pl()
    for name, keys in MIX_TABLES.items():
        tables[name] = _mix_table(mix, _grouping(name, "approach_by_"), keys, scale)
    tables["by_side"] = _side_table(con.sql(read_sql("summary_sides.sql")).pl())
    labels = con.sql(read_sql("summary_labels.sql")).pl()
    for name, dimension in LABEL_TABLES.items():
        tables[name] = _label_table(labels, dimension, scale)
    tables["year_over_year"] = _cast_money(con.sql(read_sql("summary_year_over_year.sql")).pl())
    tables["top_recipients"] = _cast_money(con.sql(read_sql("summary_recipients.sql")).pl())
    tables["concentration"] = _cast_money(con.sql(read_sql("summary_concentration.sql")).pl())
    for name, query in _named_queries("summary_quality.sql").items():
        tables[name] = _cast_money(con.sql(query).pl())

    currencies = tables["currencies"]["currency"].to_list()
    return Summary(
        policy=policy,
        scale=scale,
        currencies=currencies,
        tables={name: _main_currency_first(frame, currencies) for name, frame in tables.items()},
        run=_classification_run(con),
    )


def _require_classification(con: duckdb.DuckDBPyConnection, policy: str) -> None:
    grants = con.execute("SELECT count(*) FROM grants").fetchall()[0][0]
    allocated = con.execute(
        "SELECT count(DISTINCT record_id) FROM allocations WHERE policy = ?", [policy]
    ).fetchall()[0][0]
    if grants and allocated < grants:
        raise StoreError(
            f"{grants - allocated} of {grants} grants in the store have no '{policy}' allocation",
            hint="classify the store first: `analyzer classify --db DB -o classified.csv`",
        )


def _prepare(con: duckdb.DuckDBPyConnection, scale: Scale, *, policy: str, top_n: int) -> None:
    """Register the scale and the query variables, then build the facts view and headline."""
    categories = scale.frame()  # noqa: F841 - read by DuckDB's replacement scan
    con.execute("CREATE OR REPLACE TEMP TABLE summary_categories AS SELECT * FROM categories")
    structural = scale.structural
    con.execute("SET VARIABLE policy = ?", [policy])
    con.execute("SET VARIABLE has_sides = ?", [scale.has_sides])
    con.execute("SET VARIABLE structural_category = ?", [structural.id if structural else None])
    con.execute("SET VARIABLE top_n = ?", [top_n])
    con.execute(read_sql("summary_facts.sql"))
    con.execute(read_sql("summary_headline.sql"))


def _grouping(table: str, prefix: str) -> str:
    return table.removeprefix(prefix) if table.startswith(prefix) else "portfolio"


def _headline_table(headline: pl.DataFrame, grouping: str, keys: tuple[str, ...]) -> pl.DataFrame:
    rows = headline.filter(pl.col("grouping") == grouping)
    if "year" in keys:  # chronological
        rows = rows.sort(["currency", *keys], nulls_last=True)
    else:  # most money first
        rows = rows.sort(
            ["currency", "total", *keys], descending=[False, True, *[False] * len(keys)]
        )
    return _cast_money(rows.select("currency", *keys, *HEADLINE_COLUMNS))


def _mix_table(
    mix: pl.DataFrame, grouping: str, keys: tuple[str, ...], scale: Scale
) -> pl.DataFrame:
    rows = _with_categories(mix.filter(pl.col("grouping") == grouping), scale)
    group = ["currency", *keys]
    classified = pl.col("amount").filter(pl.col("kind") == "classified").sum().over(group)
    rows = rows.with_columns(
        pl.when(pl.col("kind") == "classified")
        .then(pl.col("amount").cast(pl.Float64) / classified.cast(pl.Float64))
        .otherwise(None)
        .alias("share_of_classified")
    )
    rows = rows.sort([*group, "order"], nulls_last=True)
    return _cast_money(
        rows.select(
            *group, "category", "label", "side", "order", "grants", "amount", "share_of_classified"
        )
    )


def _with_categories(frame: pl.DataFrame, scale: Scale) -> pl.DataFrame:
    """Add label, side, order and kind of each category from the scale."""
    known = {c.id for c in scale.categories}
    extra = [c for c in frame["category"].unique().to_list() if c not in known]
    categories = scale.frame().rename({"sort_order": "order"})
    if extra:
        categories = pl.concat(
            [
                categories,
                pl.DataFrame(
                    {
                        "category": extra,
                        "label": extra,
                        "order": [1000] * len(extra),
                        "side": [None] * len(extra),
                        "kind": ["classified"] * len(extra),
                    },
                    schema=categories.schema,
                ),
            ]
        )
    return frame.join(categories, on="category", how="left")


def _side_table(sides: pl.DataFrame) -> pl.DataFrame:
    """Money per side of the scale (symptoms, causes) per currency; empty without sides."""
    classified = pl.col("amount").sum().over("currency").cast(pl.Float64)
    return _cast_money(
        sides.with_columns(
            pl.col("side").replace_strict(SIDE_LABELS).alias("label"),
            (pl.col("amount").cast(pl.Float64) / classified).alias("share_of_classified"),
            pl.col("side").replace_strict({"symptoms": 0, "causes": 1}).alias("_order"),
        )
        .sort("currency", "_order")
        .select("currency", "side", "label", "grants", "amount", "share_of_classified")
    )


def _label_table(labels: pl.DataFrame, dimension: str, scale: Scale) -> pl.DataFrame:
    rows = _with_categories(labels.filter(pl.col("dimension") == dimension), scale)
    return _cast_money(
        rows.rename({"label": dimension, "label_right": "category_label"})
        .sort("currency", dimension, "order")
        .select(
            "currency", dimension, "category", "category_label", "side", "order", "grants", "amount"
        )
    )


def _main_currency_first(frame: pl.DataFrame, currencies: list[str]) -> pl.DataFrame:
    """Order rows by currency, the one with the most money first (stable within one)."""
    if "currency" not in frame.columns or len(currencies) < 2:
        return frame
    rank = {currency: i for i, currency in enumerate(currencies)}
    order = pl.col("currency").replace_strict(rank, default=len(rank), return_dtype=pl.Int64)
    return frame.sort(order, maintain_order=True)


def _named_queries(name: str) -> dict[str, str]:
    """Split a query file on its "-- name: <query>" marker lines."""
    queries: dict[str, str] = {}
    current: str | None = None
    for line in read_sql(name).splitlines():
        if line.startswith("-- name:"):
            current = line.removeprefix("-- name:").strip()
            queries[current] = ""
        elif current is not None:
            queries[current] += line + "\n"
    return queries


def _cast_money(frame: pl.DataFrame) -> pl.DataFrame:
    """Decimals from DuckDB (sums, coalesces) back to the one money type."""
    return frame.with_columns(
        pl.col(name).cast(MONEY) for name, dtype in frame.schema.items() if dtype == pl.Decimal
    )


def _classification_run(con: duckdb.DuckDBPyConnection) -> dict:
    frame = con.sql("SELECT * FROM classification_runs ORDER BY classified_at DESC LIMIT 1").pl()
    return frame.to_dicts()[0] if not frame.is_empty() else {}
