"""Altair charts of where the money goes, readable by someone who never saw the taxonomy.

Every chart is in one currency (the portfolio's main one) and says in its subtitle which
currency and what share of the in-scope money it covers. Categories are shown with their
labels, in scale order, with a diverging palette: warm colours for the symptoms side, cool
colours for the causes side, darker towards each end of the scale. Long lists (funders) are
cut to the largest ones plus an "Other" group. The state map's boundaries are bundled
(``data/states-10m.json``) and embedded in the chart, never loaded from a URL: a map whose data
cannot load renders blank without any error.

Interactive filters (funder, year) are Vega-Lite parameters bound to dropdowns, so they work in
the HTML brief and in a notebook alike; PNG and SVG exports show everything.
"""

from __future__ import annotations

import csv
import json
import textwrap
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import altair as alt
import polars as pl

from .aggregate import Scale, Summary
from .formatting import format_money, format_share, plural

#: Vega-Lite version vl-convert renders with; the same as Altair's schema.
VL_VERSION = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
WIDTH = 560
SUBTITLE_CHARS = 115
TOP_FUNDERS = 15

#: Diverging palette (ColorBrewer RdBu): symptoms side warm, causes side cool; each pair runs
#: from next to the middle of the scale (light) to the far end (dark).
SYMPTOMS_COLORS = ("#f4a582", "#b2182b")
CAUSES_COLORS = ("#92c5de", "#2166ac")
#: For a taxonomy whose categories have no sides: an ordered sequential palette.
ORDERED_COLORS = ("#c6dbef", "#08306b")
KIND_COLORS = {"classified": "#4d4d4d", "unclassified": "#e0e0e0", "out-of-scope": "#a6a6a6"}
KIND_LABELS = {
    "classified": "Classified",
    "unclassified": "Unclassified (needs review)",
    "out-of-scope": "Out of scope",
}


# --- What every chart shares ---------------------------------------------------------------


class ChartContext:
    """The summary seen in one currency: data, colours and the coverage note of each chart."""

    def __init__(self, summary: Summary, currency: str | None = None, top_n: int = TOP_FUNDERS):
        self.summary = summary
        self.scale: Scale = summary.scale
        self.currency = currency or summary.main_currency or ""
        self.top_n = top_n
        self.colors = category_colors(self.scale)
        self.headline = summary.headline(self.currency)
        #: Inline values of the chart being built, by dataset name (see ``data``).
        self.datasets: dict[str, Any] = {}

    def data(self, frame: pl.DataFrame) -> alt.NamedData:
        """Chart data embedded in the spec as a named top-level dataset (money as floats, for
        display only). Named, not inline on the chart: Altair copies inline values at every
        chained transform, which is slow for thousands of rows."""
        name = f"table_{len(self.datasets) + 1}"
        frame = frame.with_columns(
            pl.col(c).cast(pl.Float64) for c, dtype in frame.schema.items() if dtype == pl.Decimal
        )
        self.datasets[name] = frame.to_dicts()
        return alt.NamedData(name=name)

    def table(self, name: str) -> pl.DataFrame:
        frame = self.summary[name]
        return frame.filter(pl.col("currency") == self.currency)

    def money(self, value: Any) -> str:
        return format_money(value, self.currency)

    def coverage_note(self) -> str:
        """What share of the money a chart of classified money covers, and what it leaves out."""
        head = self.headline
        if not head:
            return "No money in this portfolio."
        parts = [
            f"Covers {format_share(head['coverage'])} of in-scope money "
            f"({self.money(head['classified'])} classified of {self.money(head['in_scope'])})."
        ]
        left_out = []
        if head["unclassified"]:
            left_out.append(
                f"{self.money(head['unclassified'])} unclassified "
                f"({plural(head['unclassified_grants'], 'grant')})"
            )
        if head["out_of_scope"]:
            left_out.append(f"{self.money(head['out_of_scope'])} out of scope")
        if left_out:
            parts.append("Not shown: " + " and ".join(left_out) + ".")
        return " ".join(parts)

    def currency_note(self) -> str:
        others = [c for c in self.summary.currencies if c != self.currency]
        note = f"Money in {self.currency}."
        if others:
            note += f" Not shown: money in {', '.join(others)} (never added to {self.currency})."
        return note

    def subtitle(self, *lines: str) -> list[str]:
        return [*lines, self.coverage_note(), self.currency_note()]

    def color_scale(self, kinds: tuple[str, ...] = ("classified",)) -> alt.Scale:
        """Category labels in scale order mapped to their colours."""
        categories = [c for c in self.scale.categories if c.kind in kinds]
        return alt.Scale(
            domain=[c.label for c in categories], range=[self.colors[c.id] for c in categories]
        )

    def category_order(self) -> list[str]:
        return [c.label for c in self.scale.classified]

    def category_color(self, field: str) -> alt.Color:
        """Colour by category label (``field``), with the legend every stacked chart shares."""
        return alt.Color(
            field,
            scale=self.color_scale(),
            sort=self.category_order(),
            title="Category",
            legend=alt.Legend(orient="bottom", columns=2, labelLimit=320),
        )

    def kind(self) -> pl.Expr:
        """Each row's category kind (classified, unclassified, out-of-scope) as ``kind``."""
        kinds = {c.id: c.kind for c in self.scale.categories}
        return pl.col("category").replace_strict(kinds, default="classified").alias("kind")


def category_colors(scale: Scale) -> dict[str, str]:
    """A colour per category: the symptoms-to-causes scale as a diverging palette."""
    colors = {c.id: KIND_COLORS[c.kind] for c in scale.categories if c.kind != "classified"}
    if scale.has_sides:
        # Lightest next to the middle of the scale, darkest at each far end.
        for side, (light, dark) in (("symptoms", SYMPTOMS_COLORS), ("causes", CAUSES_COLORS)):
            members = scale.from_middle(side)
            ramp = _ramp(light, dark, len(members))
            colors |= dict(zip([c.id for c in members], ramp, strict=True))
        neutral = [c for c in scale.classified if c.id not in colors]
        colors |= {c.id: "#f7f7f7" for c in neutral}
    else:
        ordered = scale.classified
        colors |= dict(
            zip([c.id for c in ordered], _ramp(*ORDERED_COLORS, len(ordered)), strict=True)
        )
    return colors


def _ramp(start: str, end: str, count: int) -> list[str]:
    """``count`` colours evenly spaced from ``start`` to ``end`` (just one: ``end``)."""
    if count <= 0:
        return []
    if count == 1:
        return [end]
    a, b = _rgb(start), _rgb(end)
    return [
        "#" + "".join(f"{round(a[k] + (b[k] - a[k]) * i / (count - 1)):02x}" for k in range(3))
        for i in range(count)
    ]


def _rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _title(text: str, subtitle: list[str]) -> alt.TitleParams:
    """Title and subtitle lines, wrapped to the chart's width (Vega does not wrap text)."""
    lines = [part for line in subtitle for part in textwrap.wrap(line, SUBTITLE_CHARS)]
    return alt.TitleParams(text=text, subtitle=lines, anchor="start", subtitleColor="#444")


def top_with_other(
    frame: pl.DataFrame, key: str, ranking: pl.DataFrame, n: int, what: str
) -> pl.DataFrame:
    """Replace every ``key`` outside the ``n`` largest (by ``ranking``'s total) with
    "Other (k <what>)"; sums stay exact because rows are only relabelled, then re-summed."""
    ranked = ranking.sort("total", descending=True)[key].to_list()
    if len(ranked) <= n + 1:
        return frame
    top = set(ranked[:n])
    other = f"Other ({len(ranked) - n} {what})"
    return frame.with_columns(
        pl.when(pl.col(key).is_in(list(top))).then(pl.col(key)).otherwise(pl.lit(other)).alias(key)
    )


def _funder_years(ctx: ChartContext) -> pl.DataFrame:
    """Money per (top) funder, year and category, with each category's kind and side."""
    frame = ctx.table("approach_by_funder_year")
    frame = top_with_other(frame, "funder", ctx.table("by_funder"), ctx.top_n, "funders")
    return (
        frame.group_by("funder", "year", "category", "label", "side", "order")
        .agg(pl.col("amount").sum())
        .with_columns(ctx.kind())
        .sort("funder", "year", "order", nulls_last=True)
    )


def _funder_param(frame: pl.DataFrame) -> alt.Parameter:
    totals = frame.group_by("funder").agg(pl.col("amount").sum()).sort("amount", descending=True)
    funders = totals["funder"].to_list()
    return alt.param(
        name="funder_filter",
        value=None,
        bind=alt.binding_select(
            options=[None, *funders], labels=["All funders", *funders], name="Funder "
        ),
    )


def _year_param(frame: pl.DataFrame) -> alt.Parameter:
    years = sorted(y for y in frame["year"].unique().to_list() if y is not None)
    return alt.param(
        name="year_filter",
        value=None,
        bind=alt.binding_select(
            options=[None, *years], labels=["All years", *map(str, years)], name="Year "
        ),
    )


FUNDER_FILTER = "funder_filter == null || datum.funder == funder_filter"
YEAR_FILTER = "year_filter == null || datum.year == year_filter"
#: Per-row money by kind, so coverage can be recomputed for whatever a filter selects.
KIND_AMOUNTS = {
    "classified_amount": "datum.kind == 'classified' ? datum.amount : 0",
    "in_scope_amount": "datum.kind != 'out-of-scope' ? datum.amount : 0",
    "causes_amount": "datum.side == 'causes' ? datum.amount : 0",
}


# --- The charts ------------------------------------------------------------------------------


def approach_mix(ctx: ChartContext) -> alt.TopLevelMixin:
    """Classified money per category, ordered from the symptoms end to the causes end."""
    data = _funder_years(ctx)
    funder, year = _funder_param(data), _year_param(data)
    filtered = (
        alt.Chart(ctx.data(data))
        .transform_filter(FUNDER_FILTER)
        .transform_filter(YEAR_FILTER)
        .transform_calculate(**KIND_AMOUNTS)
        .transform_joinaggregate(
            classified_total="sum(classified_amount)", in_scope_total="sum(in_scope_amount)"
        )
    )
    per_category = (
        filtered.transform_filter("datum.kind == 'classified'")
        .transform_aggregate(
            amount="sum(amount)",
            groupby=["label", "order", "classified_total", "in_scope_total"],
        )
        .transform_calculate(
            share="datum.classified_total ? datum.amount / datum.classified_total : 0"
        )
    )
    y = alt.Y("label:N", sort=ctx.category_order(), title=None, axis=alt.Axis(labelLimit=340))
    bars = per_category.mark_bar().encode(
        y=y,
        x=alt.X("share:Q", title="Share of classified money", axis=alt.Axis(format="%")),
        color=alt.Color("label:N", scale=ctx.color_scale(), legend=None),
        tooltip=[
            alt.Tooltip("label:N", title="Category"),
            alt.Tooltip("amount:Q", title=f"Money ({ctx.currency})", format=",.0f"),
            alt.Tooltip("share:Q", title="Share of classified", format=".1%"),
        ],
    )
    labels = per_category.mark_text(align="left", dx=4, color="#222").encode(
        y=y, x="share:Q", text=alt.Text("share:Q", format=".0%")
    )
    caption = (
        filtered.transform_aggregate(
            classified="max(classified_total)", in_scope="max(in_scope_total)"
        )
        .transform_calculate(
            text="'This selection: ' + format(datum.classified, ',.0f') + ' "
            + ctx.currency
            + " classified, ' + (datum.in_scope ? format(datum.classified / datum.in_scope, '.0%') "
            "+ ' of its in-scope money.' : 'no in-scope money.')"
        )
        .mark_text(align="left", x=0, y=8, color="#444", fontStyle="italic")
        .encode(text="text:N")
        .properties(width=WIDTH, height=16)
    )
    chart = alt.layer(bars, labels).properties(
        width=WIDTH, height=max(120, 34 * len(ctx.scale.classified))
    )
    return (
        alt.vconcat(chart, caption, spacing=4)
        .add_params(funder, year)
        .properties(
            title=_title(
                "Where the classified money goes",
                ctx.subtitle(
                    "Warm colours: the symptoms side; cool colours: the causes side; darker "
                    "towards each far end of the scale. Categories in the taxonomy's order."
                    if ctx.scale.has_sides
                    else "Categories in the taxonomy's order."
                ),
            )
        )
    )


def mix_over_years(ctx: ChartContext) -> alt.TopLevelMixin | None:
    """The approach mix per year as 100% stacked bars, with each year's coverage on top."""
    data = _funder_years(ctx).filter(pl.col("year").is_not_null())
    if data.is_empty():
        return None
    funder = _funder_param(data)
    base = alt.Chart(ctx.data(data)).transform_filter(FUNDER_FILTER)
    bars = (
        base.transform_filter("datum.kind == 'classified'")
        .transform_aggregate(amount="sum(amount)", groupby=["year", "label", "order"])
        .transform_joinaggregate(year_total="sum(amount)", groupby=["year"])
        .transform_calculate(share="datum.year_total ? datum.amount / datum.year_total : 0")
        .mark_bar()
        .encode(
            x=alt.X("year:O", title="Year"),
            y=alt.Y(
                "sum(amount):Q",
                stack="normalize",
                title="Share of the year's classified money",
                axis=alt.Axis(format="%"),
            ),
            color=ctx.category_color("label:N"),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("year:O", title="Year"),
                alt.Tooltip("label:N", title="Category"),
                alt.Tooltip("amount:Q", title=f"Money ({ctx.currency})", format=",.0f"),
                alt.Tooltip("share:Q", title="Share of the year", format=".1%"),
            ],
        )
    )
    coverage = (
        base.transform_calculate(**KIND_AMOUNTS)
        .transform_aggregate(
            classified="sum(classified_amount)", in_scope="sum(in_scope_amount)", groupby=["year"]
        )
        .transform_calculate(
            coverage="datum.in_scope ? datum.classified / datum.in_scope : 0", top="1"
        )
        .mark_text(dy=-8, fontSize=10, color="#444")
        .encode(
            x="year:O",
            y=alt.Y("top:Q"),
            text=alt.Text("coverage:Q", format=".0%"),
            tooltip=[
                alt.Tooltip("year:O", title="Year"),
                alt.Tooltip("coverage:Q", title="Coverage", format=".1%"),
            ],
        )
    )
    return (
        alt.layer(bars, coverage)
        .add_params(funder)
        .properties(
            width=WIDTH,
            height=280,
            title=_title(
                "The mix over the years",
                ctx.subtitle(
                    "Numbers above the bars: the share of each year's in-scope money "
                    "that is classified (coverage)."
                ),
            ),
        )
    )


def _hundred_percent_bars(
    ctx: ChartContext,
    data: pl.DataFrame,
    key: str,
    key_title: str,
    title: str,
    lines: list[str],
    params: list[alt.Parameter],
    filters: list[str],
) -> alt.TopLevelMixin:
    """One 100% bar per ``key`` value, sorted by prevention share (or by money without sides),
    with each bar's coverage written at its right end."""
    base = alt.Chart(ctx.data(data))
    for expression in filters:
        base = base.transform_filter(expression)
    base = (
        base.transform_calculate(**KIND_AMOUNTS)
        .transform_joinaggregate(
            key_classified="sum(classified_amount)",
            key_in_scope="sum(in_scope_amount)",
            key_causes="sum(causes_amount)",
            groupby=[key],
        )
        .transform_calculate(
            prevention_share="datum.key_classified ? datum.key_causes / datum.key_classified : 0",
            coverage="datum.key_in_scope ? datum.key_classified / datum.key_in_scope : 0",
        )
    )
    sort_field = "prevention_share" if ctx.scale.has_sides else "key_classified"
    y = alt.Y(
        f"{key}:N",
        title=None,
        sort=alt.EncodingSortField(field=sort_field, op="max", order="descending"),
        axis=alt.Axis(labelLimit=320),
    )
    bars = (
        base.transform_filter("datum.kind == 'classified'")
        .mark_bar()
        .encode(
            y=y,
            x=alt.X(
                "sum(amount):Q",
                stack="normalize",
                title="Share of classified money",
                axis=alt.Axis(format="%"),
            ),
            color=ctx.category_color("label:N"),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip(f"{key}:N", title=key_title),
                alt.Tooltip("label:N", title="Category"),
                alt.Tooltip("sum(amount):Q", title=f"Money ({ctx.currency})", format=",.0f"),
                alt.Tooltip("max(prevention_share):Q", title="Prevention share", format=".0%"),
                alt.Tooltip("max(coverage):Q", title="Coverage", format=".0%"),
            ],
        )
    )
    coverage_text = "format(datum.coverage, '.0%') + ' covered'"
    if ctx.scale.has_sides:
        coverage_text = "format(datum.prevention_share, '.0%') + ' prevention, ' + " + coverage_text
    coverage = (
        base.transform_aggregate(
            coverage="max(coverage)",
            prevention_share="max(prevention_share)",
            key_classified="max(key_classified)",
            groupby=[key],
        )
        .transform_calculate(right="1", text=coverage_text)
        .mark_text(align="left", dx=4, fontSize=10, color="#444")
        .encode(y=y, x=alt.X("right:Q"), text="text:N")
    )
    count = data[key].n_unique()
    chart = alt.layer(bars, coverage).properties(
        width=WIDTH - 80, height=max(60, 22 * count), title=_title(title, ctx.subtitle(*lines))
    )
    return chart.add_params(*params) if params else chart


def funders(ctx: ChartContext) -> alt.TopLevelMixin | None:
    """Funders as 100% bars, sorted by prevention share; largest funders plus "Other"."""
    data = _funder_years(ctx)
    if data.is_empty():
        return None
    year = _year_param(data)
    funder_count = ctx.table("by_funder").height
    lines = [
        "Each bar is one funder's classified money split by category, sorted by prevention "
        "share (the causes side)."
        if ctx.scale.has_sides
        else "Each bar is one funder's classified money split by category."
    ]
    if funder_count > ctx.top_n + 1:
        lines.append(
            f"The {ctx.top_n} funders with the most money; the other "
            f"{funder_count - ctx.top_n} are grouped as Other."
        )
    return _hundred_percent_bars(
        ctx, data, "funder", "Funder", "Funders compared", lines, [year], [YEAR_FILTER]
    )


def provider_types(ctx: ChartContext) -> alt.TopLevelMixin | None:
    """Who carries the work: 100% bars per provider type (government, nonprofit, ...)."""
    data = ctx.table("approach_by_provider_type")
    if data.is_empty():
        return None
    labels = ctx.scale.labels.get("provider_type", {})
    data = data.with_columns(
        pl.col("provider_type").replace(labels).alias("provider"), ctx.kind()
    ).select("provider", "category", "label", "side", "order", "kind", "amount")
    return _hundred_percent_bars(
        ctx,
        data,
        "provider",
        "Provider type",
        "Who receives the money",
        ["Classified money by the type of organisation receiving it."],
        [],
        [],
    )


def state_map(ctx: ChartContext) -> alt.TopLevelMixin | None:
    """A US choropleth of prevention share (or classified money without sides) per state."""
    states = us_states()
    frame = ctx.table("approach_by_state_year")
    if frame.is_empty():
        return None
    frame = frame.with_columns(ctx.kind())
    in_us = frame.filter(pl.col("state").is_in(list(states)))
    if in_us.is_empty():
        return None
    data = (
        in_us.group_by("state", "year")
        .agg(
            pl.col("amount").filter(pl.col("kind") == "classified").sum().alias("classified"),
            pl.col("amount").filter(pl.col("kind") != "out-of-scope").sum().alias("in_scope"),
            pl.col("amount").filter(pl.col("side") == "causes").sum().alias("causes"),
        )
        .with_columns(
            pl.col("state").replace_strict({k: v[0] for k, v in states.items()}).alias("id"),
            pl.col("state").replace_strict({k: v[1] for k, v in states.items()}).alias("name"),
        )
        .sort("state", "year", nulls_last=True)
    )
    outside = frame.filter(~pl.col("state").is_in(list(states)) & (pl.col("kind") == "classified"))
    year = _year_param(data)
    ctx.datasets["us_states"] = states_topojson()
    geo = alt.NamedData(name="us_states", format=alt.DataFormat(type="topojson", feature="states"))
    background = alt.Chart(geo).mark_geoshape(fill="#eeeeee", stroke="white", strokeWidth=0.5)
    if ctx.scale.has_sides:
        measure = "prevention_share"
        color = alt.Color(
            "prevention_share:Q",
            title="Prevention share",
            scale=alt.Scale(scheme="redblue", domain=[0, 1], domainMid=0.5),
            legend=alt.Legend(format="%"),
        )
        what = (
            "Colour: the share of each state's classified money that goes to the causes "
            "side (prevention share); red leans to symptoms, blue to causes."
        )
    else:
        measure = "classified"
        color = alt.Color(
            "classified:Q", title=f"Classified ({ctx.currency})", scale=alt.Scale(scheme="blues")
        )
        what = "Colour: each state's classified money."
    shaded = (
        alt.Chart(ctx.data(data))
        .transform_filter(YEAR_FILTER)
        .transform_aggregate(
            classified="sum(classified)",
            in_scope="sum(in_scope)",
            causes="sum(causes)",
            groupby=["id", "state", "name"],
        )
        .transform_calculate(
            prevention_share="datum.classified ? datum.causes / datum.classified : null",
            coverage="datum.in_scope ? datum.classified / datum.in_scope : null",
        )
        .transform_filter(f"isValid(datum.{measure})")
        .transform_lookup(
            lookup="id",
            from_=alt.LookupData(data=geo, key="id", fields=["type", "geometry", "properties"]),
        )
        .mark_geoshape(stroke="white", strokeWidth=0.5)
        .encode(
            color=color,
            tooltip=[
                alt.Tooltip("name:N", title="State"),
                alt.Tooltip("prevention_share:Q", title="Prevention share", format=".0%"),
                alt.Tooltip("classified:Q", title=f"Classified ({ctx.currency})", format=",.0f"),
                alt.Tooltip("coverage:Q", title="Coverage", format=".0%"),
            ],
        )
    )
    lines = [what, "Grey: no classified money."]
    if not outside.is_empty():
        lines.append(
            f"Not on the map: {ctx.money(outside['amount'].sum())} classified with no US state."
        )
    return (
        alt.layer(background, shaded)
        .add_params(year)
        .project(type="albersUsa")
        .properties(
            width=WIDTH,
            height=340,
            title=_title("Where the money goes, by state", ctx.subtitle(*lines)),
        )
    )


def _labels_by_approach(
    ctx: ChartContext, table: str, key: str, title: str, noun: str
) -> alt.TopLevelMixin | None:
    """Classified money addressing each right / risk factor, split by category."""
    data = ctx.table(table).filter(
        (pl.col(key) != "(none)") & pl.col("category").is_in([c.id for c in ctx.scale.classified])
    )
    if data.is_empty():
        return None
    labels = ctx.scale.labels.get(_dimension_of(key), {})
    data = data.with_columns(pl.col(key).replace(labels).alias("name")).select(
        "name", "category_label", "order", "grants", "amount"
    )
    addressed = (
        ctx.table(table)
        .filter(
            (pl.col(key) == "(none)")
            & pl.col("category").is_in([c.id for c in ctx.scale.classified])
        )["amount"]
        .sum()
    )
    classified = ctx.headline.get("classified") or 0
    share = 1 - float(addressed) / float(classified) if classified else None
    lines = [
        f"A grant counts under every {noun} it addresses, so bars overlap. "
        f"{format_share(share)} of classified money addresses at least one {noun}."
    ]
    return (
        alt.Chart(ctx.data(data))
        .mark_bar()
        .encode(
            y=alt.Y("name:N", title=None, sort="-x", axis=alt.Axis(labelLimit=240)),
            x=alt.X(
                "sum(amount):Q",
                title=f"Classified money ({ctx.currency})",
                axis=alt.Axis(format="~s"),
            ),
            color=ctx.category_color("category_label:N"),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("name:N", title=noun.capitalize()),
                alt.Tooltip("category_label:N", title="Category"),
                alt.Tooltip("sum(amount):Q", title=f"Money ({ctx.currency})", format=",.0f"),
                alt.Tooltip("sum(grants):Q", title="Grants"),
            ],
        )
        .properties(
            width=WIDTH - 80,
            height=max(60, 24 * data["name"].n_unique()),
            title=_title(title, ctx.subtitle(*lines)),
        )
    )


def _dimension_of(key: str) -> str:
    return {"right": "rights", "risk_factor": "risk_factors"}.get(key, key)


def rights(ctx: ChartContext) -> alt.TopLevelMixin | None:
    return _labels_by_approach(ctx, "approach_by_right", "right", "Rights addressed", "right")


def risk_factors(ctx: ChartContext) -> alt.TopLevelMixin | None:
    return _labels_by_approach(
        ctx, "approach_by_risk_factor", "risk_factor", "Risk factors addressed", "risk factor"
    )


def coverage(ctx: ChartContext) -> alt.TopLevelMixin | None:
    """How much of each year's money is classified, unclassified or out of scope."""
    data = _funder_years(ctx)
    if data.is_empty():
        return None
    data = data.with_columns(
        pl.col("kind").replace_strict(KIND_LABELS).alias("status"),
        pl.col("year").cast(pl.String).fill_null("no year").alias("year_label"),
    )
    funder = _funder_param(data)
    order = list(KIND_LABELS.values())
    base = alt.Chart(ctx.data(data)).transform_filter(FUNDER_FILTER)
    x = alt.X("year_label:O", title="Year")
    bars = (
        base.transform_calculate(status_order=f"indexof({json.dumps(order)}, datum.status)")
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("sum(amount):Q", title=f"Money ({ctx.currency})", axis=alt.Axis(format="~s")),
            color=alt.Color(
                "status:N",
                title=None,
                scale=alt.Scale(domain=order, range=[KIND_COLORS[k] for k in KIND_LABELS]),
                legend=alt.Legend(orient="bottom"),
            ),
            order=alt.Order("status_order:Q"),
            tooltip=[
                alt.Tooltip("year_label:O", title="Year"),
                alt.Tooltip("status:N", title="Status"),
                alt.Tooltip("sum(amount):Q", title=f"Money ({ctx.currency})", format=",.0f"),
            ],
        )
    )
    labels = (
        base.transform_calculate(**KIND_AMOUNTS)
        .transform_aggregate(
            classified="sum(classified_amount)",
            in_scope="sum(in_scope_amount)",
            total="sum(amount)",
            groupby=["year_label"],
        )
        .transform_calculate(coverage="datum.in_scope ? datum.classified / datum.in_scope : 0")
        .mark_text(dy=-8, fontSize=10, color="#444")
        .encode(x=x, y=alt.Y("total:Q"), text=alt.Text("coverage:Q", format=".0%"))
    )
    out_of_scope = ctx.scale.out_of_scope
    lines = ["Numbers above the bars: coverage, the share of the year's in-scope money classified."]
    if out_of_scope is not None and out_of_scope.definition:
        lines.append(f"{out_of_scope.label}: {out_of_scope.definition.strip()}")
    lines.append("Unclassified: the text says too little to decide; listed for review.")
    return (
        alt.layer(bars, labels)
        .add_params(funder)
        .properties(
            width=WIDTH,
            height=260,
            title=_title("How much of the money is classified", [*lines, *ctx.subtitle()[-2:]]),
        )
    )


#: Chart name -> builder, in the order the brief shows them.
CHARTS: dict[str, Callable[[ChartContext], alt.TopLevelMixin | None]] = {
    "approach_mix": approach_mix,
    "mix_over_years": mix_over_years,
    "funders": funders,
    "state_map": state_map,
    "provider_types": provider_types,
    "rights": rights,
    "risk_factors": risk_factors,
    "coverage": coverage,
}


def build_charts(summary: Summary, *, top_n: int = TOP_FUNDERS) -> dict[str, alt.TopLevelMixin]:
    """Every chart that has data, in the main currency, by name (see CHARTS)."""
    if not summary.main_currency:
        return {}
    ctx = ChartContext(summary, top_n=top_n)
    charts = {}
    for name, build in CHARTS.items():
        ctx.datasets = {}
        chart = build(ctx)
        if chart is not None:
            charts[name] = _with_datasets(chart, ctx.datasets)
    return charts


def _with_datasets(chart: alt.TopLevelMixin, datasets: dict[str, Any]) -> alt.TopLevelMixin:
    """Attach the chart's named datasets at its top level (once, after it is built)."""
    chart.datasets = dict(datasets)  # set as an attribute: .properties() would copy it all
    return chart


def chart_specs(charts: dict[str, alt.TopLevelMixin]) -> dict[str, dict]:
    """Each chart's Vega-Lite spec, computed once for the PNG/SVG export and the brief
    (tests validate the specs against the schema; here that would only cost time)."""
    return {name: chart.to_dict(validate=False) for name, chart in charts.items()}


def export_charts(charts: dict[str, alt.TopLevelMixin], folder: Path) -> list[Path]:
    """Write each chart as PNG and SVG (vl-convert, offline) into ``folder``."""
    return export_specs(chart_specs(charts), folder)


def export_specs(specs: dict[str, dict], folder: Path) -> list[Path]:
    """Write each Vega-Lite spec as SVG and PNG (the PNG rasterised from the same SVG)."""
    import vl_convert as vlc

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, spec in specs.items():
        svg_text = vlc.vegalite_to_svg(spec, vl_version=VL_VERSION)
        svg = folder / f"{name}.svg"
        svg.write_text(svg_text, encoding="utf-8")
        png = folder / f"{name}.png"
        png.write_bytes(vlc.svg_to_png(svg_text, scale=2))
        written += [png, svg]
    return written


# --- Bundled map data ---------------------------------------------------------------------------


@cache
def states_topojson() -> dict:
    """US state boundaries (us-atlas states-10m, bundled), as a TopoJSON object."""
    text = resources.files("analyzer.data").joinpath("states-10m.json").read_text("utf-8")
    return json.loads(text)


@cache
def us_states() -> dict[str, tuple[str, str]]:
    """USPS code -> (FIPS id used by the map, state name)."""
    text = resources.files("analyzer.data").joinpath("us-states.csv").read_text("utf-8")
    return {row["usps"]: (row["fips"], row["name"]) for row in csv.DictReader(text.splitlines())}
