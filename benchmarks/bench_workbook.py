"""Workbook write time at the Grants sheet's truncation threshold.

    python benchmarks/bench_workbook.py                 # 1M classified grants, limit 100,000
    python benchmarks/bench_workbook.py --rows 200000 --limit 50000

Builds a synthetic classified portfolio (vectorised, seeded), computes its summary in DuckDB
(``aggregate.summarize``), then times ``write_workbook`` alone: the Grants sheet holds the
``--limit`` largest grants, the other sheets hold the summary tables. Also times openpyxl's own
write-only mode on the same Grants rows for reference (``--reference``; slow).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from analyzer import store
from analyzer.aggregate import Scale, summarize
from analyzer.analyze import Analysis
from analyzer.schema import CLASSIFICATION_SCHEMA, GRANTS_SCHEMA, MONEY
from analyzer.workbook import GRANT_COLUMNS, GRANTS_ROW_LIMIT, _grants_frame, write_workbook

SCALE = {
    "name": "csec",
    "primary": {
        "categories": [
            {
                "id": "response",
                "label": "Responding to exploitation",
                "order": 1,
                "side": "symptoms",
            },
            {"id": "intervention", "label": "Serving victims", "order": 2, "side": "symptoms"},
            {
                "id": "resilience-building",
                "label": "Building resilience",
                "order": 3,
                "side": "causes",
            },
            {
                "id": "structural-prevention",
                "label": "Structural prevention",
                "order": 4,
                "side": "causes",
            },
            {"id": "out-of-scope", "label": "Out of scope", "order": 90},
        ],
        "out_of_scope": "out-of-scope",
    },
}
APPROACHES = [
    "response",
    "intervention",
    "resilience-building",
    "structural-prevention",
    "out-of-scope",
    "unclassified",
]
DESCRIPTION = (
    "Provides case management, mentoring and safe housing for youth at risk of exploitation "
    "in the county, with training for staff and partners"
)


def classified_frame(n: int) -> pl.DataFrame:
    """n classified grants with realistic widths of text, all columns the workbook shows."""
    frame = pl.select(pl.int_range(0, n).alias("i")).with_columns(
        pl.format("bench.csv:{}", pl.col("i") + 2).alias("record_id"),
        pl.format("G-{}", pl.col("i")).alias("grant_id"),
        pl.format("Funder {}", pl.col("i") % 40).alias("funder"),
        pl.format("Organization {} Inc", pl.col("i") % 20011).alias("recipient"),
        pl.format("Youth program {}", pl.col("i") % 997).alias("title"),
        pl.format("{} (grant {})", pl.lit(DESCRIPTION), pl.col("i")).alias("description"),
        pl.lit("Youth Justice").alias("program"),
        ((pl.col("i") * 7919 % 5_000_000) + 100).cast(MONEY).alias("amount"),
        pl.lit("USD").alias("currency"),
        (2015 + pl.col("i") % 10).cast(pl.Int32).alias("year"),
        pl.lit(["NY", "CA", "TX", "MN", "IL"]).list.get(pl.col("i") % 5).alias("state"),
        pl.date(2020, 1, 1).alias("start_date"),
        pl.lit(None, pl.Date).alias("end_date"),
        pl.lit("bench.csv").alias("source_file"),
        pl.lit(None, pl.String).alias("source_sheet"),
        (pl.col("i") + 2).cast(pl.Int64).alias("source_row"),
        pl.lit(None, pl.String).alias("flags"),
        pl.lit("{}").alias("original"),
        pl.lit(APPROACHES).list.get(pl.col("i") % 6).alias("approach"),
        (pl.col("i") % 11 == 0).alias("ambiguous"),
        pl.lit("health;housing").alias("rights"),
        pl.lit("poverty").alias("risk_factors"),
        pl.lit("nonprofit").alias("provider_type"),
        pl.lit("mentoring;safe-housing").alias("matched_rules"),
        pl.lit(
            "mentoring: 'mentoring' in description; safe-housing: 'safe housing' in description"
        ).alias("explanation"),
        pl.lit("rules").alias("decided_by"),
    )
    frame = frame.with_columns(pl.format("{}:1", pl.col("approach")).alias("approach_shares"))
    schema = GRANTS_SCHEMA | CLASSIFICATION_SCHEMA
    return frame.select(list(schema)).cast(schema)


def analysis_of(classified: pl.DataFrame) -> Analysis:
    con = store.connect()
    con.execute(
        "INSERT INTO sources (source_id, file_name, rows_seen, rows_loaded, rows_excluded, "
        "rows_rejected, notes) VALUES (1, 'bench.csv', ?, ?, 0, 0, '[]')",
        [classified.height, classified.height],
    )
    staged_grants = classified.select(list(GRANTS_SCHEMA))  # noqa: F841 - read by DuckDB
    con.execute("INSERT INTO grants BY NAME SELECT 1 AS source_id, * FROM staged_grants")
    staged_classes = classified.select(list(CLASSIFICATION_SCHEMA))  # noqa: F841
    con.execute("INSERT INTO classifications SELECT * FROM staged_classes")
    con.execute(
        "INSERT INTO allocations SELECT record_id, 'primary', approach, 1, amount "
        "FROM staged_grants JOIN staged_classes USING (record_id)"
    )
    summary = summarize(con, Scale.from_info(SCALE))
    return Analysis(
        summary=summary,
        classified=classified,
        rejects=pl.DataFrame(),
        sources=store.load_sources(con),
        taxonomy=None,
        run={},
    )


def openpyxl_reference(classified: pl.DataFrame, limit: int, path: Path) -> float:
    """openpyxl write_only mode writing the same Grants rows, cell by cell."""
    from openpyxl import Workbook

    rows = _grants_frame(classified, Scale.from_info(SCALE), limit)
    started = time.perf_counter()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Grants")
    ws.append([c.header for c in GRANT_COLUMNS])
    for row in rows.iter_rows():
        ws.append(row)
    wb.save(path)
    return time.perf_counter() - started


def _reset_peak_rss() -> float | None:
    """Current RSS in MB after resetting the kernel's peak mark (Linux), else None."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    return _status_mb("VmRSS")


def _peak_rss() -> float:
    return _status_mb("VmHWM")


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--limit", type=int, default=GRANTS_ROW_LIMIT)
    parser.add_argument("--reference", action="store_true", help="also time openpyxl write_only")
    args = parser.parse_args()

    started = time.perf_counter()
    classified = classified_frame(args.rows)
    analysis = analysis_of(classified)
    print(
        f"setup: {args.rows:,} classified grants and summary in "
        f"{time.perf_counter() - started:.1f} s"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "workbook.xlsx"
        before = _reset_peak_rss()
        started = time.perf_counter()
        write_workbook(path, analysis, grants_row_limit=args.limit)
        seconds = time.perf_counter() - started
        shown = min(args.rows, args.limit)
        print(
            f"write_workbook: {seconds:.2f} s for a Grants sheet of {shown:,} rows x "
            f"{len(GRANT_COLUMNS)} columns ({path.stat().st_size / 1e6:.1f} MB)"
        )
        if before is not None:
            print(f"memory added by write_workbook: {_peak_rss() - before:,.0f} MB")
        if args.reference:
            reference = openpyxl_reference(classified, args.limit, Path(folder) / "ref.xlsx")
            print(f"openpyxl write_only, Grants rows only: {reference:.2f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the process: {peak:,.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
