"""brief.html: one self-contained, offline, printable page that answers "where does the money go?"

It opens with the headline findings in plain sentences generated from the summary, then the
charts (interactive: tooltips and funder/year dropdowns), tables by funder, year and state, the
grants worth review, data quality and a methodology appendix.

Safety: the template is rendered with autoescaping on, so every text from the input is
HTML-escaped. Chart specs carry input text as JSON inside ``<script type="application/json">``;
``<``, ``>`` and ``&`` in that JSON are written as ``\\u003c`` etc., so no grant description can
close the script element. The Vega libraries are inlined (vl-convert's bundle): the page makes
no network request.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import polars as pl

from .aggregate import Summary
from .formatting import format_exact, format_money, format_ratio, format_share, plural

if TYPE_CHECKING:
    from .analyze import Analysis

#: Rows shown in the brief's long tables; the workbook and classified.csv have them all.
TOP_ROWS = 25
STATE_ROWS = 60  # every US state and territory fits
REVIEW_ROWS = 50
DESCRIPTION_CHARS = 400

CHART_CAPTIONS = {
    "approach_mix": "Where the classified money goes, from the symptoms end to the causes end.",
    "mix_over_years": "The mix over the years.",
    "funders": "Funders compared.",
    "state_map": "By state.",
    "provider_types": "Who receives the money.",
    "rights": "Rights addressed.",
    "risk_factors": "Risk factors addressed.",
    "coverage": "Coverage: how much of the money is classified.",
}

RISK_FACTOR_CAVEAT = (
    "Risk factors are correlations, not causes: they describe circumstances that are more "
    "common among exploited children, not what causes exploitation. A grant that addresses a "
    "risk factor is not, by that fact, evidence that it prevents exploitation."
)


# --- Headline sentences ----------------------------------------------------------------------


def headline_sentences(summary: Summary) -> list[str]:
    """The findings in plain sentences, generated from the data (main currency)."""
    currency = summary.main_currency
    head = summary.headline(currency)
    if not head:
        return ["No grants were loaded, so there is nothing to summarise."]
    money = lambda value: format_money(value, currency)  # noqa: E731 - local shorthand
    scale = summary.scale
    sentences: list[str] = []
    approach = summary["approach"].filter(pl.col("currency") == currency)
    shares = {row["category"]: row["share_of_classified"] for row in approach.to_dicts()}

    if not head["classified"]:
        sentences.append(
            f"None of the {money(head['in_scope'])} of in-scope money could be classified: "
            "see the grants listed for review."
        )
    elif scale.has_sides:
        sides = []
        for side, word in (("symptoms", "the symptoms side"), ("causes", "the causes side")):
            members = scale.side_categories(side)
            total = sum(shares.get(c.id) or 0.0 for c in members)
            parts = ", ".join(f"{c.label} {format_share(shares.get(c.id) or 0.0)}" for c in members)
            sides.append(f"{format_share(total)} goes to {word} ({parts})")
        sentences.append(
            f"Of {money(head['classified'])} classified ({format_share(head['coverage'])} of "
            f"in-scope money), {sides[0]}; {sides[1]}."
        )
        structural = scale.structural
        if structural is not None:
            sentences.append(
                f"{format_share(head['structural_share'])} of classified money (the structural "
                f"share) goes to the far causes end of the scale: {structural.label}."
            )
        ratio = head["symptoms_to_causes"]
        if ratio is not None:
            more, less, times = (
                ("symptoms", "causes", ratio) if ratio >= 1 else ("causes", "symptoms", 1 / ratio)
            )
            sentences.append(
                f"The {more} side receives {times:.1f} times as much as the {less} side "
                f"(symptoms-to-causes ratio {format_ratio(ratio)})."
            )
        else:
            sentences.append("No classified money goes to the causes side.")
    else:
        parts = ", ".join(
            f"{format_share(shares.get(c.id) or 0.0)} to {c.label}" for c in scale.classified
        )
        sentences.append(
            f"Of {money(head['classified'])} classified ({format_share(head['coverage'])} of "
            f"in-scope money), {parts}."
        )
        sentences.append(
            "Prevention share, the symptoms-to-causes ratio and the structural share are n/a: "
            "this taxonomy's categories have no symptoms/causes sides."
        )

    left_out = []
    if head["out_of_scope"]:
        share = float(head["out_of_scope"]) / float(head["total"]) if head["total"] else None
        left_out.append(
            f"{money(head['out_of_scope'])} ({format_share(share)} of all money, "
            f"{plural(head['out_of_scope_grants'], 'grant')}) is out of scope and left out of "
            "these figures"
        )
    if head["unclassified_grants"]:
        they = "it is" if head["unclassified_grants"] == 1 else "they are"
        left_out.append(
            f"{plural(head['unclassified_grants'], 'grant')} worth {money(head['unclassified'])} "
            f"could not be classified ({they} listed for review)"
        )
    if left_out:
        sentences.append(_capitalize("; ".join(left_out)) + ".")

    sentences += _funder_sentence(summary, currency)
    sentences += _trend_sentence(summary, currency)
    sentences += _concentration_sentence(summary, currency)
    others = [c for c in summary.currencies if c != currency]
    if others:
        rows = summary["currencies"].filter(pl.col("currency").is_in(others)).to_dicts()
        listed = ", ".join(
            f"{plural(r['grants'], 'grant')} in {r['currency']} "
            f"({format_money(r['total'], r['currency'])})"
            for r in rows
        )
        sentences.append(
            f"All figures are in {currency}; {listed} are reported separately in the tables and "
            f"never added to {currency}."
        )
    return sentences


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _funder_sentence(summary: Summary, currency: str | None) -> list[str]:
    if not summary.scale.has_sides:
        return []
    funders = (
        summary["by_funder"]
        .filter((pl.col("currency") == currency) & (pl.col("classified") > 0))
        .sort("classified", descending=True)
        .head(5)
        .filter(pl.col("prevention_share").is_not_null())
    )
    if funders.height < 2:
        return []
    low = funders.sort("prevention_share").row(0, named=True)
    high = funders.sort("prevention_share").row(-1, named=True)
    return [
        f"Among the {funders.height} funders with the most classified money, prevention share "
        f"ranges from {format_share(low['prevention_share'])} ({low['funder']}) to "
        f"{format_share(high['prevention_share'])} ({high['funder']})."
    ]


def _trend_sentence(summary: Summary, currency: str | None) -> list[str]:
    years = summary["by_year"].filter(
        (pl.col("currency") == currency) & pl.col("year").is_not_null() & (pl.col("classified") > 0)
    )
    measure = "prevention_share" if summary.scale.has_sides else "coverage"
    years = years.filter(pl.col(measure).is_not_null()).sort("year")
    if years.height < 2:
        return []
    first, last = years.row(0, named=True), years.row(-1, named=True)
    # In whole points of the rounded shares, so that the sentence's own numbers add up.
    change = round(last[measure] * 100) - round(first[measure] * 100)
    name = "the prevention share" if measure == "prevention_share" else "coverage"
    # The money of each end year is named so that a reader can tell a trend from a small year.
    ends = (
        f"From {first['year']} ({format_money(first['classified'], currency)} classified) to "
        f"{last['year']} ({format_money(last['classified'], currency)})"
    )
    if change == 0:
        return [f"{ends}, {name} stayed at about {format_share(last[measure])}."]
    direction = "rose" if change > 0 else "fell"
    return [
        f"{ends}, {name} {direction} from {format_share(first[measure])} to "
        f"{format_share(last[measure])} ({change:+d} points)."
    ]


def _concentration_sentence(summary: Summary, currency: str | None) -> list[str]:
    rows = summary["concentration"].filter(
        (pl.col("currency") == currency) & (pl.col("entity") == "recipient")
    )
    if rows.is_empty():
        return []
    row = rows.row(0, named=True)
    if row["entities"] <= 10:
        return []
    return [
        f"The 10 largest of {row['entities']:,} recipients receive "
        f"{format_share(row['top10_share'])} of the money."
    ]


# --- The page ------------------------------------------------------------------------------------


def render_brief(analysis: Analysis, specs: dict[str, dict] | None = None) -> str:
    """The brief as one HTML string (self-contained: inline styles, data and Vega JS).
    ``specs``: the charts' Vega-Lite specs when already computed (``charts.chart_specs``)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("analyzer", "data"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = format_money
    env.filters["exact"] = lambda value: format_exact(value) if value is not None else ""
    env.filters["share"] = format_share
    env.filters["ratio"] = format_ratio
    template = env.get_template("brief.html.j2")
    if specs is None:
        from .charts import chart_specs

        specs = chart_specs(analysis.charts)
    return template.render(**_context(analysis, specs), vega_js=vega_bundle())


def write_brief(path: str | Path, analysis: Analysis, specs: dict[str, dict] | None = None) -> Path:
    path = Path(path)
    path.write_text(render_brief(analysis, specs), encoding="utf-8")
    return path


def _context(analysis: Analysis, specs: dict[str, dict]) -> dict[str, Any]:
    summary = analysis.summary
    currency = summary.main_currency
    run = analysis.run
    scale = summary.scale
    head = summary.headline(currency)
    approach_rules = _approach_rule_ids(analysis.taxonomy)
    return {
        "title": "Where the money goes",
        "generated": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "currency": currency,
        "currencies": summary.currencies,
        "head": head,
        "sentences": headline_sentences(summary),
        "files": analysis.sources["file_name"].unique(maintain_order=True).to_list()
        if "file_name" in analysis.sources.columns
        else [],
        "grant_count": analysis.classified.height,
        "charts": [
            {"name": name, "caption": CHART_CAPTIONS.get(name, name), "spec": script_json(spec)}
            for name, spec in specs.items()
        ],
        "funders": _table(summary["by_funder"], TOP_ROWS),
        "funder_count": summary["by_funder"].height,
        "years": summary["year_over_year"].to_dicts(),
        "year_rows": summary["by_year"].to_dicts(),
        "states": _table(summary["by_state"], STATE_ROWS),
        "state_count": summary["by_state"].height,
        "providers": summary["by_provider_type"].to_dicts(),
        "recipients": _table(summary["top_recipients"], TOP_ROWS),
        "concentration": summary["concentration"].to_dicts(),
        "provider_labels": scale.labels.get("provider_type", {}),
        "has_sides": scale.has_sides,
        "scale": scale,
        "structural": scale.structural,
        "unclassified": _review(
            analysis.classified, pl.col("approach") == "unclassified", approach_rules
        ),
        "ambiguous": _review(
            analysis.classified, pl.col("ambiguous").fill_null(False), approach_rules
        ),
        "sources": summary["sources"].to_dicts(),
        "notes": _source_notes(summary["sources"]) + _skipped_sheets(analysis.reports),
        "rejects": summary["rejects"].to_dicts(),
        "currency_rows": summary["currencies"].to_dicts(),
        "run": run,
        "policy": summary.policy,
        "rule_count": run.get("rule_count"),
        "rules_per_dimension": _rules_per_dimension(analysis.taxonomy, scale),
        "has_risk_factors": "risk_factors" in scale.labels,
        "risk_factor_caveat": RISK_FACTOR_CAVEAT,
    }


def _table(frame: pl.DataFrame, rows: int) -> list[dict]:
    """The first ``rows`` rows of each currency (tables are sorted most money first)."""
    return frame.group_by("currency", maintain_order=True).head(rows).to_dicts()


def _review(classified: pl.DataFrame, condition: pl.Expr, approach_rules: set[str]) -> dict:
    """The largest grants matching ``condition``, with their count and money per currency.
    Each row's ``why`` keeps only the evidence about the approach (not rights or provider)."""
    if classified.is_empty():
        return {"count": 0, "totals": [], "rows": []}
    matching = classified.filter(condition)
    totals = (
        matching.group_by("currency")
        .agg(pl.len().alias("grants"), pl.col("amount").sum().alias("total"))
        .sort("total", descending=True)
        .to_dicts()
    )
    rows = (
        matching.sort("amount", descending=True, nulls_last=True)
        .head(REVIEW_ROWS)
        .with_columns(
            pl.when(pl.col("description").str.len_chars() > DESCRIPTION_CHARS)
            .then(pl.col("description").str.slice(0, DESCRIPTION_CHARS) + "…")
            .otherwise(pl.col("description"))
            .alias("description")
        )
        .to_dicts()
    )
    for row in rows:
        row["why"] = _approach_evidence(row.get("explanation") or "", approach_rules)
    return {"count": matching.height, "totals": totals, "rows": rows}


def _rules_per_dimension(taxonomy: Any, scale: Any) -> list[tuple[str, int]]:
    """(dimension label, rule count) for each dimension of the taxonomy that has rules."""
    counts: dict[str, int] = {}
    for rule in getattr(taxonomy, "rules", []):
        counts[rule.dimension] = counts.get(rule.dimension, 0) + 1
    primary = getattr(getattr(taxonomy, "primary", None), "id", None)
    labels = {**scale.dimension_labels, **({primary: "Approach"} if primary else {})}
    return [(labels.get(dim, dim), count) for dim, count in counts.items()]


def _approach_rule_ids(taxonomy: Any) -> set[str]:
    """Ids of the rules of the taxonomy's primary dimension (empty if unknown)."""
    try:
        primary = taxonomy.primary.id
        return {rule.id for rule in taxonomy.rules if rule.dimension == primary}
    except AttributeError:
        return set()


def _approach_evidence(explanation: str, approach_rules: set[str]) -> str:
    """The parts of an explanation ('rule: "phrase" in field; ...') about the approach; an
    override note is kept too. Empty when no approach rule fired."""
    if not approach_rules:
        return explanation
    parts = [p.strip() for p in explanation.split("; ") if p.strip()]
    return "; ".join(
        p for p in parts if p.split(":", 1)[0] in approach_rules or p.startswith("override")
    )


def _source_notes(sources: pl.DataFrame) -> list[dict[str, str]]:
    """Every note recorded at ingest (assumed currency, ambiguous column, ...), per file."""
    notes = []
    for row in sources.to_dicts():
        try:
            items = json.loads(row.get("notes") or "[]")
        except json.JSONDecodeError:
            items = [row["notes"]]
        for note in items or []:
            notes.append({"file": row["file"], "sheet": row.get("sheet"), "note": str(note)})
    return notes


def _skipped_sheets(reports: list) -> list[dict[str, str]]:
    """Sheets read but skipped as holding no grants (a notes sheet, an empty sheet)."""
    return [
        {"file": r.file_name, "sheet": r.sheet, "note": f"skipped: {r.skipped}"}
        for r in reports
        if r.skipped
    ]


def script_json(data: Any) -> str:
    """JSON that is safe inside a <script> element: no "<", ">" or "&" (written as \\u003c,
    \\u003e, \\u0026), and no raw U+2028/U+2029 line separators."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text


@cache
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one inline script (vl-convert's bundle, offline)."""
    import vl_convert as vlc

    from .charts import VL_VERSION

    bundle = vlc.javascript_bundle(vl_version=VL_VERSION)
    # A literal "</script" inside the bundle would end the inline script early.
    return bundle.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")
