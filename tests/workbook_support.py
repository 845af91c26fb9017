"""Build a small, real ``Analysis`` for the workbook and review tests without the engine:
grants and their classification written by hand, allocations computed exactly, the summary
computed by ``aggregate.summarize`` on an in-memory store."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import openpyxl
import polars as pl

from analyzer import store
from analyzer.aggregate import Scale, summarize
from analyzer.analyze import Analysis
from analyzer.schema import (
    ALLOCATIONS_SCHEMA,
    CLASSIFICATION_SCHEMA,
    GRANTS_SCHEMA,
    REJECTS_SCHEMA,
)

SCALE_INFO = {
    "name": "csec",
    "primary": {
        "categories": [
            {
                "id": "response",
                "label": "Responding to exploitation",
                "order": 1,
                "side": "symptoms",
                "definition": "Finds victims, punishes exploiters.",
            },
            {
                "id": "intervention",
                "label": "Serving victims",
                "order": 2,
                "side": "symptoms",
                "definition": "Serves identified victims.",
            },
            {
                "id": "resilience-building",
                "label": "Building resilience",
                "order": 3,
                "side": "causes",
                "definition": "Helps at-risk children resist.",
            },
            {
                "id": "structural-prevention",
                "label": "Structural prevention",
                "order": 4,
                "side": "causes",
                "definition": "Changes the conditions.",
            },
            {
                "id": "out-of-scope",
                "label": "Out of scope",
                "order": 90,
                "definition": "Not about children.",
            },
        ],
        "out_of_scope": "out-of-scope",
    },
    "dimensions": {
        "rights": {"label": "Rights", "categories": {"health": "Health", "housing": "Housing"}},
    },
}

RUN = {
    "taxonomy_name": "csec",
    "taxonomy_version": "1.0",
    "taxonomy_sha256": "abc123",
    "taxonomy_path": "taxonomies/csec.yaml",
    "rule_count": 2,
    "overrides_path": None,
    "override_count": 0,
}


class Rule:
    """A rule as the Taxonomy sheet reads it (attributes, like the engine's objects)."""

    def __init__(self, **fields: Any):
        self.__dict__.update(fields)


class FakeTaxonomy:
    rules: ClassVar[list[Rule]] = [
        Rule(
            id="task-force",
            category="response",
            dimension="approach",
            phrases=["task force", "ICAC"],
            patterns=[],
            fields=["title", "description"],
            requires=["youth"],
            unless=[],
            weight=2.0,
        ),
        Rule(
            id="safe-home",
            category="intervention",
            dimension="approach",
            phrases=["safe home"],
            patterns=None,
            fields=None,
            requires=None,
            unless=None,
            weight=1.0,
        ),
    ]


def grant(
    n: int,
    *,
    approach: str = "response",
    amount: str = "1000.00",
    currency: str = "USD",
    shares: str | None = None,
    ambiguous: bool = False,
    decided_by: str = "rules",
    description: str | None = None,
    funder: str = "State Agency",
    year: int | None = 2020,
    state: str | None = "CA",
    grant_id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """One classified grant row (GRANTS_SCHEMA + CLASSIFICATION_SCHEMA columns); ``fields``
    override any column."""
    row = {
        "record_id": f"grants.csv:{n + 1}",
        "grant_id": grant_id if grant_id is not None else f"G-{n}",
        "funder": funder,
        "recipient": f"Recipient {n}",
        "title": f"Grant {n}",
        "description": description if description is not None else f"Program number {n}",
        "program": "Program",
        "amount": Decimal(amount),
        "currency": currency,
        "year": year,
        "state": state,
        "start_date": date(2020, 1, 15),
        "end_date": None,
        "source_file": "grants.csv",
        "source_sheet": None,
        "source_row": n + 1,
        "flags": None,
        "original": json.dumps({"Amount": amount}),
        "approach": approach,
        "approach_shares": shares or f"{approach}:1",
        "ambiguous": ambiguous,
        "rights": "health",
        "risk_factors": None,
        "provider_type": "nonprofit",
        "matched_rules": "task-force" if decided_by == "rules" else None,
        "explanation": "task-force: 'task force' in title" if decided_by == "rules" else None,
        "decided_by": decided_by,
    }
    return row | fields


def default_grants() -> list[dict[str, Any]]:
    return [
        grant(0, approach="response", amount="5000.00", year=2019),
        grant(
            1,
            approach="intervention",
            amount="3000.50",
            year=2020,
            state="NY",
            funder="Federal Agency",
        ),
        grant(
            2,
            approach="structural-prevention",
            amount="2000.00",
            year=2020,
            shares="structural-prevention:0.6;resilience-building:0.4",
            ambiguous=True,
        ),
        grant(3, approach="unclassified", amount="750.25", decided_by="none", year=2021),
        grant(4, approach="out-of-scope", amount="400.00", decided_by="scope", year=2021),
        grant(5, approach="resilience-building", amount="-100.00", year=2021),
        grant(6, approach="response", amount="900.00", currency="GBP", year=2021, state=None),
    ]


def make_analysis(
    rows: list[dict[str, Any]] | None = None,
    rejects: list[dict] | None = None,
    taxonomy: Any = None,
) -> Analysis:
    """An Analysis of the given classified rows, its summary computed in DuckDB."""
    rows = default_grants() if rows is None else rows
    schema = {
        **GRANTS_SCHEMA,
        **{k: v for k, v in CLASSIFICATION_SCHEMA.items() if k != "record_id"},
    }
    classified = pl.DataFrame(rows, schema=schema)
    rejects_frame = pl.DataFrame(
        rejects
        if rejects is not None
        else [
            {
                "source_file": "grants.csv",
                "source_sheet": None,
                "source_row": 9,
                "disposition": "excluded",
                "reason": "total row",
                "column": None,
                "value": None,
                "original": "{}",
            },
            {
                "source_file": "grants.csv",
                "source_sheet": None,
                "source_row": 10,
                "disposition": "rejected",
                "reason": "amount is not a number",
                "column": "Amount",
                "value": "=1+1",
                "original": "{}",
            },
        ],
        schema=REJECTS_SCHEMA,
    )
    con = store.connect()
    con.execute(
        "INSERT INTO sources VALUES (1, '/tmp/grants.csv', 'grants.csv', 'sha', NULL, 'csv', "
        "'utf-8', 1, NULL, '{}', '[\"assumed currency USD\"]', now(), ?, ?, 1, 1)",
        [len(rows) + 2, len(rows)],
    )
    staged_grants = classified.select(list(GRANTS_SCHEMA))  # noqa: F841 - read by DuckDB
    columns = ", ".join(f'"{c}"' for c in GRANTS_SCHEMA)
    con.execute(f"INSERT INTO grants (source_id, {columns}) SELECT 1, {columns} FROM staged_grants")
    staged_rejects = rejects_frame  # noqa: F841 - read by DuckDB
    columns = ", ".join(f'"{c}"' for c in REJECTS_SCHEMA)
    con.execute(
        f"INSERT INTO rejects (source_id, {columns}) SELECT 1, {columns} FROM staged_rejects"
    )
    staged_classes = classified.select(list(CLASSIFICATION_SCHEMA))  # noqa: F841
    con.execute("INSERT INTO classifications SELECT * FROM staged_classes")
    staged_allocations = _allocations(rows)  # noqa: F841
    con.execute("INSERT INTO allocations SELECT * FROM staged_allocations")
    con.execute(
        "INSERT INTO classification_runs VALUES ('csec', '1.0', 'abc123', 'x', 2, NULL, 0, now())"
    )
    scale = Scale.from_info(SCALE_INFO)
    summary = summarize(con, scale)
    return Analysis(
        summary=summary,
        classified=classified,
        rejects=rejects_frame,
        sources=store.load_sources(con),
        taxonomy=taxonomy if taxonomy is not None else FakeTaxonomy(),
        run=dict(RUN),
    )


def _allocations(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Money per grant and category under both policies, adding back exactly."""
    out = []
    for row in rows:
        out.append((row["record_id"], "primary", row["approach"], Decimal(1), row["amount"]))
        shares = [item.split(":") for item in row["approach_shares"].split(";")]
        remaining = row["amount"]
        for index, (category, share) in enumerate(shares):
            amount = (
                remaining
                if index == len(shares) - 1
                else (row["amount"] * Decimal(share)).quantize(Decimal("0.01"))
            )
            remaining -= amount
            out.append((row["record_id"], "split", category, Decimal(share), amount))
    return pl.DataFrame(out, schema=ALLOCATIONS_SCHEMA, orient="row")


def fill(path: Path, choices: dict[str, dict[str, object]]) -> None:
    """Fill in the Review sheet as a reviewer would in Excel, by record id."""
    book = openpyxl.load_workbook(path)
    ws = book["Review"]
    headers = {c.value: c.column for c in ws[2] if c.value}
    for row in ws.iter_rows(min_row=3):
        record = row[0].value
        for header, value in choices.get(record, {}).items():
            ws.cell(row=row[0].row, column=headers[header], value=value)
    book.save(path)
