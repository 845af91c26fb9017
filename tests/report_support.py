"""Helpers shared by the report-stage tests (aggregate, charts, report, analyze, browser).

The figures the tests expect are computed here from the files the analysis wrote (csv module +
Decimal), independently of DuckDB and polars, so a wrong query cannot agree with itself.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "report_portfolio.csv"

#: A payload the brief must never run, placed in the fixture's texts.
SCRIPT_PAYLOADS = (
    "<script>alert(1)</script>",
    "</script><script>alert(2)</script>",
    "</script><script>alert(3)</script>",
)


def run_analysis(out_dir: Path, **options):
    from analyzer.analyze import analyze

    return analyze([FIXTURE], out=out_dir, progress=False, **options)


def read_classified(path: Path) -> list[dict[str, str]]:
    """classified.csv as written (UTF-8 with BOM), one dict per grant."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def amount(row: dict[str, str]) -> Decimal:
    return Decimal(row["amount"])


def allocated(row: dict[str, str]) -> dict[str, Decimal]:
    """The ``allocated`` column ("category:amount;...") as a dict."""
    out: dict[str, Decimal] = {}
    for part in filter(None, row["allocated"].split(";")):
        category, value = part.rsplit(":", 1)
        out[category] = out.get(category, Decimal(0)) + Decimal(value)
    return out


def expected_figures(rows: list[dict[str, str]], categories: list[dict], *, split: bool):
    """Per currency: total, in_scope, classified, out_of_scope, unclassified, money per
    category and the headline measures, from classified.csv alone."""
    kinds = {c["id"]: c["kind"] for c in categories}
    sides = {c["id"]: c["side"] for c in categories}
    structural = max(
        (c for c in categories if c["side"] == "causes"), key=lambda c: c["order"], default=None
    )
    money: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        parts = allocated(row) if split else {row["approach"]: amount(row)}
        for category, value in parts.items():
            money[row["currency"]][category] += value
    figures = {}
    for currency, per_category in money.items():
        total = sum(per_category.values(), Decimal(0))
        out_of_scope = sum(
            (v for c, v in per_category.items() if kinds.get(c) == "out-of-scope"), Decimal(0)
        )
        unclassified = per_category.get("unclassified", Decimal(0))
        in_scope = total - out_of_scope
        classified = in_scope - unclassified
        causes = sum((v for c, v in per_category.items() if sides.get(c) == "causes"), Decimal(0))
        symptoms = sum(
            (v for c, v in per_category.items() if sides.get(c) == "symptoms"), Decimal(0)
        )
        figures[currency] = {
            "total": total,
            "in_scope": in_scope,
            "classified": classified,
            "out_of_scope": out_of_scope,
            "unclassified": unclassified,
            "approach": dict(per_category),
            "coverage": float(classified / in_scope) if in_scope else None,
            "prevention_share": float(causes / classified) if classified else None,
            "symptoms_to_causes": float(symptoms / causes) if causes else None,
            "structural_share": float(per_category.get(structural["id"], 0) / classified)
            if structural and classified
            else None,
        }
    return figures


def load_summary_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# --- A hand-built classified store, for exact figures without the classifier ---------------

CSEC_LIKE = {
    "name": "test-scale",
    "primary": {
        "out_of_scope": "out-of-scope",
        "categories": [
            {"id": "response", "label": "Responding", "order": 1, "side": "symptoms"},
            {"id": "intervention", "label": "Serving victims", "order": 2, "side": "symptoms"},
            {"id": "resilience-building", "label": "Resilience", "order": 3, "side": "causes"},
            {"id": "structural-prevention", "label": "Structural", "order": 4, "side": "causes"},
            {
                "id": "out-of-scope",
                "label": "Out of scope",
                "order": 5,
                "definition": "Not about children.",
            },
        ],
    },
    "dimensions": {
        "rights": {"label": "Rights", "categories": {"health": "Health", "housing": "Housing"}},
        "provider_type": {"label": "Provider", "categories": {"nonprofit": "Nonprofit"}},
    },
}

NO_SIDES = {
    "name": "levels",
    "primary": {
        "out_of_scope": None,
        "categories": [
            {"id": "primary", "label": "Primary prevention", "order": 1},
            {"id": "secondary", "label": "Secondary prevention", "order": 2},
            {"id": "tertiary", "label": "Tertiary prevention", "order": 3},
        ],
    },
}


def hand_store(rows: list[dict], split: dict[str, dict[str, str]] | None = None):
    """A DuckDB store holding ``rows`` (record_id, funder, recipient, amount, currency, year,
    state, approach, rights) classified as given. ``split`` maps a record_id to
    {category: amount} for its 'split' allocation (default: same as primary)."""
    import polars as pl

    from analyzer import store
    from analyzer.schema import (
        ALLOCATIONS_SCHEMA,
        CLASSIFICATION_SCHEMA,
        GRANTS_SCHEMA,
        MATCHES_SCHEMA,
        Classification,
        empty_frame,
    )

    grants = pl.DataFrame(
        [
            {
                "record_id": r["record_id"],
                "funder": r.get("funder"),
                "recipient": r.get("recipient"),
                "amount": Decimal(r["amount"]),
                "currency": r.get("currency", "USD"),
                "year": r.get("year"),
                "state": r.get("state"),
                "source_file": "hand.csv",
                "source_row": i + 2,
            }
            for i, r in enumerate(rows)
        ]
    )
    grants = (
        grants.with_columns(pl.lit(None).alias(c) for c in GRANTS_SCHEMA if c not in grants.columns)
        .select(list(GRANTS_SCHEMA))
        .cast(GRANTS_SCHEMA)
    )
    table = pl.DataFrame(
        [
            {
                "record_id": r["record_id"],
                "approach": r["approach"],
                "approach_shares": f"{r['approach']}:1",
                "ambiguous": bool(r.get("ambiguous", False)),
                "rights": r.get("rights"),
                "risk_factors": r.get("risk_factors"),
                "provider_type": r.get("provider_type", "nonprofit"),
                "matched_rules": "",
                "explanation": "",
                "decided_by": "rules",
            }
            for r in rows
        ],
        schema=CLASSIFICATION_SCHEMA,
    )
    allocations = []
    for r in rows:
        allocations.append(("primary", r["record_id"], r["approach"], r["amount"]))
        for category, value in (
            (split or {}).get(r["record_id"], {r["approach"]: r["amount"]}).items()
        ):
            allocations.append(("split", r["record_id"], category, value))
    frame = pl.DataFrame(
        {
            "record_id": [a[1] for a in allocations],
            "policy": [a[0] for a in allocations],
            "category": [a[2] for a in allocations],
            "share": [Decimal(1)] * len(allocations),
            "amount": [Decimal(a[3]) for a in allocations],
        }
    ).cast(ALLOCATIONS_SCHEMA)
    con = store.connect()
    staged = grants  # noqa: F841 - read by DuckDB
    columns = ", ".join(GRANTS_SCHEMA)
    con.execute(f"INSERT INTO grants (source_id, {columns}) SELECT 1, {columns} FROM staged")
    store.save_classification(
        con,
        Classification(
            table,
            empty_frame(MATCHES_SCHEMA),
            frame,
            {"taxonomy_name": "test-scale", "taxonomy_version": "1", "rule_count": 3},
        ),
    )
    return con
