"""brief.html: one self-contained, offline, printable page that answers "where does the money go?"

It opens with the headline findings in plain sentences generated from the summary, then the
charts (interactive: tooltips and funder/year dropdowns), tables by funder, year and state, the
grants worth review, data quality and a methodology appendix.

Reading: a wide table scrolls inside its own container (on paper it shrinks to the page); a
long table shows its first rows and the rest on demand; the review lists show the largest
grants of each group with their descriptions cut (full text behind <details>) and the reason
each is listed, with the evidence per category in the taxonomy's labels, not rule ids. The
workbook's Review sheet and classified.csv have every grant.

Safety: the template is rendered with autoescaping on, so every text from the input is
HTML-escaped. Chart specs carry input text as JSON inside ``<script type="application/json">``;
``<``, ``>`` and ``&`` in that JSON are written as ``\\u003c`` etc., so no grant description can
close the script element. The Vega libraries are inlined (vl-convert's bundle): the page makes
no network request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
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

#: Rows of a long table (per currency) written into the brief; the workbook has them all.
TABLE_ROWS = 60  # every US state and territory fits
#: Rows of a long table shown at first; the rest of TABLE_ROWS sit behind a "show more".
SHOWN_ROWS = 20
#: Grants listed per review group (largest by absolute amount); the workbook's Review sheet
#: and classified.csv have them all.
REVIEW_ROWS = 25
#: A review row's description is cut to about this many characters (the full text is one
#: click away, in a <details> element).
DESCRIPTION_CHARS = 250
#: Matched phrases shown per category in a review row's evidence.
EVIDENCE_PHRASES = 6

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


def _coverage(head: dict, money: Callable[[object], str]) -> str:
    """ "97% of in-scope money"; when de-obligations make the in-scope total net to nothing or
    less, or push the share outside 0-100%, the share would mislead: the totals are said."""
    coverage = head["coverage"]
    if coverage is not None and 0 <= coverage <= 1 and head["in_scope"] > 0:
        return f"{format_share(coverage)} of in-scope money"
    return f"in-scope money nets to {money(head['in_scope'])} after de-obligations"


def _ratio_sentence(ratio: float | None) -> str:
    """How the two sides compare; a side with nothing (or, after de-obligations, less than
    nothing) is said so rather than divided by."""
    if ratio is None:
        return "No classified money goes to the causes side."
    if ratio <= 0:
        net = "" if ratio == 0 else " (its de-obligations exceed its awards)"
        return f"No classified money goes to the symptoms side{net}."
    more, less, times = (
        ("symptoms", "causes", ratio) if ratio >= 1 else ("causes", "symptoms", 1 / ratio)
    )
    return (
        f"The {more} side receives {times:.1f} times as much as the {less} side "
        f"(symptoms-to-causes ratio {format_ratio(ratio)})."
    )


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
        sentences.append(f"Of {money(head['classified'])} classified ({_coverage(head, money)}), "
                         f"{sides[0]}; {sides[1]}.")  # fmt: skip
        structural = scale.structural
        if structural is not None:
            sentences.append(
                f"{format_share(head['structural_share'])} of classified money (the structural "
                f"share) goes to the far causes end of the scale: {structural.label}."
            )
        sentences.append(_ratio_sentence(head["symptoms_to_causes"]))
    else:
        parts = ", ".join(
            f"{format_share(shares.get(c.id) or 0.0)} to {c.label}" for c in scale.classified
        )
        sentences.append(f"Of {money(head['classified'])} classified ({_coverage(head, money)}), "
                         f"{parts}.")  # fmt: skip
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
    reader = EvidenceReader.of(analysis.taxonomy, scale)
    notes = _source_notes(summary["sources"]) + _skipped_sheets(analysis.reports)
    return {
        "title": "Where the money goes",
        "generated": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip(),
        "currency": currency,
        "currencies": summary.currencies,
        "multi_currency": len(summary.currencies) > 1,
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
        "shown_rows": SHOWN_ROWS,
        "funders": _table(summary["by_funder"], TABLE_ROWS),
        "funder_count": summary["by_funder"].height,
        "years": summary["year_over_year"].to_dicts(),
        "year_rows": summary["by_year"].to_dicts(),
        "year_notes": [n for n in notes if n["note"].startswith("year is ")],
        "states": _table(summary["by_state"], TABLE_ROWS),
        "state_count": summary["by_state"].height,
        "providers": summary["by_provider_type"].to_dicts(),
        "recipients": _table(summary["top_recipients"], SHOWN_ROWS),
        "concentration": summary["concentration"].to_dicts(),
        "provider_labels": scale.labels.get("provider_type", {}),
        "has_sides": scale.has_sides,
        "scale": scale,
        "structural": scale.structural,
        "unclassified": review_group(
            analysis.classified, pl.col("approach") == "unclassified", reader
        ),
        "ambiguous": review_group(
            analysis.classified, pl.col("ambiguous").fill_null(False), reader
        ),
        "review_sheet_rows": _review_sheet_rows(),
        "sources": summary["sources"].to_dicts(),
        "notes": _notes_by_sheet(notes),
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


def _review_sheet_rows() -> int:
    """How many grants the workbook's Review sheet lists at most."""
    from .workbook import REVIEW_ROW_LIMIT

    return REVIEW_ROW_LIMIT


def _rules_per_dimension(taxonomy: Any, scale: Any) -> list[tuple[str, int]]:
    """(dimension label, rule count) for each dimension of the taxonomy that has rules."""
    counts: dict[str, int] = {}
    for rule in getattr(taxonomy, "rules", []):
        counts[rule.dimension] = counts.get(rule.dimension, 0) + 1
    primary = getattr(getattr(taxonomy, "primary", None), "id", None)
    labels = {**scale.dimension_labels, **({primary: "Approach"} if primary else {})}
    return [(labels.get(dim, dim), count) for dim, count in counts.items()]


# --- Grants worth review ---------------------------------------------------------------------

#: One piece of an explanation: 'rule-id: "phrase" in field'.
_EXPLANATION_PIECE = re.compile(r'^(?P<rule>[^:"]+): "(?P<phrase>.*)" in (?P<field>[a-z_]+)$')


@dataclass(frozen=True)
class CategoryEvidence:
    """What one category's rules found in a grant, as a reader takes it in."""

    category: str
    label: str
    #: The matched phrases, each once, in the order the explanation lists them.
    phrases: tuple[str, ...]
    #: The fields they were found in, each once.
    fields: tuple[str, ...]
    #: Its score as the engine counts it: each rule once, weight x its best field's weight.
    weight: float

    @property
    def shown_phrases(self) -> tuple[str, ...]:
        return self.phrases[:EVIDENCE_PHRASES]

    @property
    def more_phrases(self) -> int:
        return max(0, len(self.phrases) - EVIDENCE_PHRASES)


@dataclass(frozen=True)
class EvidenceReader:
    """Turns an explanation ('res-life-skills: "life skills" in description; ...') into the
    approach evidence per category, with the taxonomy's labels instead of rule ids.

    Only the approach (primary dimension) rules count: rights or provider-type hits say
    nothing about why a grant could not be placed on the scale."""

    #: rule id -> (category id, rule weight), for the primary dimension's rules.
    rules: dict[str, tuple[str, float]]
    field_weights: dict[str, float]
    labels: dict[str, str]
    order: dict[str, int]

    @classmethod
    def of(cls, taxonomy: Any, scale: Any) -> EvidenceReader:
        labels = {c.id: c.label for c in scale.categories}
        order = {c.id: c.order for c in scale.categories}
        try:
            primary = taxonomy.primary.id
            rules = {
                r.id: (r.category, float(r.weight))
                for r in taxonomy.rules
                if r.dimension == primary
            }
            weights = dict(taxonomy.settings.field_weights)
        except AttributeError:  # no taxonomy at hand: nothing can be read as approach evidence
            rules, weights = {}, {}
        return cls(rules, weights, labels, order)

    def read(self, explanation: str) -> tuple[list[CategoryEvidence], list[str]]:
        """(approach evidence per category, strongest first; notes such as an override)."""
        found: dict[str, dict[str, Any]] = {}
        notes: list[str] = []
        for piece in filter(None, (p.strip() for p in explanation.split("; "))):
            match = _EXPLANATION_PIECE.match(piece)
            if match is None:
                if piece.startswith("override"):
                    notes.append(piece)
                continue
            rule = self.rules.get(match["rule"])
            if rule is None:
                continue
            category, weight = rule
            entry = found.setdefault(category, {"phrases": {}, "fields": {}, "rules": {}})
            entry["phrases"][match["phrase"]] = None
            entry["fields"][match["field"]] = None
            field_weight = self.field_weights.get(match["field"], 1.0)
            best = entry["rules"].get(match["rule"], 0.0)
            entry["rules"][match["rule"]] = max(best, weight * field_weight)
        evidence = [
            CategoryEvidence(
                category=category,
                label=self.labels.get(category, category),
                phrases=tuple(entry["phrases"]),
                fields=tuple(entry["fields"]),
                weight=sum(entry["rules"].values()),
            )
            for category, entry in found.items()
        ]
        # Strongest first; a tie goes to the scale order, as in the engine.
        evidence.sort(key=lambda e: (-e.weight, self.order.get(e.category, 1000), e.category))
        return evidence, notes


def review_group(classified: pl.DataFrame, condition: pl.Expr, reader: EvidenceReader) -> dict:
    """The grants matching ``condition`` that a person should look at (not those an override
    already decided): their count and money per currency, and the largest ``REVIEW_ROWS`` by
    absolute amount, each with the reason it is listed and its approach evidence."""
    if classified.is_empty():
        return {"count": 0, "totals": [], "rows": [], "more": 0}
    if "decided_by" in classified.columns:
        condition = condition & (pl.col("decided_by").fill_null("") != "override")
    matching = classified.filter(condition)
    totals = (
        matching.group_by("currency")
        .agg(pl.len().alias("grants"), pl.col("amount").sum().alias("total"))
        .sort(["grants", "currency"], descending=[True, False])
        .to_dicts()
    )
    largest = matching.sort(
        [pl.col("amount").abs(), "record_id"], descending=[True, False], nulls_last=True
    ).head(REVIEW_ROWS)
    rows = [_review_row(grant, reader) for grant in largest.to_dicts()]
    return {
        "count": matching.height,
        "totals": totals,
        "rows": rows,
        "more": matching.height - len(rows),
    }


def _review_row(grant: dict[str, Any], reader: EvidenceReader) -> dict[str, Any]:
    evidence, notes = reader.read(grant.get("explanation") or "")
    description = grant.get("description") or ""
    short = shorten(description, DESCRIPTION_CHARS)
    return {
        **grant,
        "source": _source_text(grant),
        "description_short": short,
        "description_cut": short != description,
        "reason": review_reason(grant, evidence, reader.labels),
        "evidence": _evidence_for_reader(grant, evidence),
        "notes": notes,
    }


def review_reason(
    grant: dict[str, Any], evidence: list[CategoryEvidence], labels: dict[str, str]
) -> str:
    """Why a grant is listed for review, in a sentence (``evidence``: strongest first)."""
    if grant.get("approach") == "unclassified":
        if not evidence:
            return "Too little evidence: no words about the approach were found."
        return "Too little evidence: what was found falls short of what a decision needs."
    chosen = grant.get("approach") or ""
    label = labels.get(chosen, chosen)
    runner = next((e for e in evidence if e.category != chosen), None)
    if runner is None:
        return f"Close call: another category's evidence came close to that for {label} (chosen)."
    return f"Close call between {label} (chosen) and {runner.label}."


def _evidence_for_reader(grant: dict[str, Any], evidence: list[CategoryEvidence]) -> list:
    """The chosen category first (for an ambiguous grant), then the strongest others."""
    chosen = grant.get("approach")
    return sorted(evidence, key=lambda e: e.category != chosen)


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most about ``limit`` characters, with "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–") + "…"


def _source_text(grant: dict[str, Any]) -> str:
    """Where a grant comes from: "file.xlsx, sheet FY2023, row 7"."""
    parts = [str(grant.get("source_file") or "")]
    if grant.get("source_sheet"):
        parts.append(f"sheet {grant['source_sheet']}")
    if grant.get("source_row") is not None:
        parts.append(f"row {grant['source_row']}")
    return ", ".join(p for p in parts if p)


# --- Data quality ----------------------------------------------------------------------------


def _source_notes(sources: pl.DataFrame) -> list[dict[str, str]]:
    """Every note recorded at ingest (assumed currency, ambiguous column, ...), per file."""
    from .store import decode_notes

    return [
        {"file": row["file"], "sheet": row.get("sheet"), "note": note}
        for row in sources.to_dicts()
        for note in decode_notes(row.get("notes"))
    ]


def _notes_by_sheet(notes: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The notes grouped per file and sheet, in the order read: one sentence list each."""
    grouped: dict[tuple[str, str | None], list[str]] = {}
    for note in notes:
        grouped.setdefault((note["file"], note["sheet"]), []).append(note["note"].rstrip(". "))
    return [
        {"file": file, "sheet": sheet, "text": "; ".join(items) + "."}
        for (file, sheet), items in grouped.items()
    ]


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
