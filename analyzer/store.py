"""The DuckDB portfolio store: the one module that talks to DuckDB for writing.

Each ingest is one transaction: a failure leaves the database as it was. A file whose exact
bytes are already loaded is skipped (re-ingest is a no-op) unless ``replace`` is set.
"""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from pathlib import Path

import duckdb
import polars as pl

from .errors import AlreadyLoadedError, StoreError
from .schema import (
    ALLOCATIONS_SCHEMA,
    CLASSIFICATION_SCHEMA,
    GRANTS_SCHEMA,
    MATCHES_SCHEMA,
    REJECTS_SCHEMA,
    Classification,
    IngestResult,
    SheetReport,
)

DEFAULT_DB = "portfolio.duckdb"


def read_sql(name: str) -> str:
    """The text of a query file shipped in ``analyzer/sql``."""
    return resources.files("analyzer.sql").joinpath(name).read_text(encoding="utf-8")


def connect(db: str | Path | None = None, *, must_exist: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (or create) a store; ``None`` gives a private in-memory store."""
    if db is None:
        con = duckdb.connect()
    else:
        path = Path(db)
        if must_exist and not path.exists():
            raise StoreError(
                f"no database at {path}",
                hint="load files first with `analyzer ingest FILE --db " + str(path) + "`",
            )
        con = duckdb.connect(str(path))
    con.execute(read_sql("schema.sql"))
    return con


def save_ingest(
    con: duckdb.DuckDBPyConnection, result: IngestResult, *, replace: bool = False
) -> IngestResult:
    """Store an ingest in one transaction. Marks reports of already-loaded sheets as such.

    Raises AlreadyLoadedError (and stores nothing) when a file of the same name but different
    content is already loaded and ``replace`` is not set.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        for report in result.reports:
            if report.skipped:
                continue
            _store_sheet(con, result, report, replace=replace)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


def _store_sheet(
    con: duckdb.DuckDBPyConnection, result: IngestResult, report: SheetReport, *, replace: bool
) -> None:
    previous = con.execute(
        "SELECT source_id, sha256 FROM sources"
        " WHERE file_name = ? AND sheet IS NOT DISTINCT FROM ?",
        [report.file_name, report.sheet],
    ).fetchall()
    if previous and not replace:
        if all(sha == report.sha256 for _, sha in previous):
            report.already_loaded = True
            return
        raise AlreadyLoadedError(
            f"a different version of {report.file_name}"
            + (f" (sheet {report.sheet!r})" if report.sheet else "")
            + " is already loaded",
            hint="pass --replace to replace it, or rename the file to keep both",
        )
    for source_id, _ in previous:
        _delete_source(con, source_id)

    source_id = con.execute("SELECT coalesce(max(source_id), 0) + 1 FROM sources").fetchone()[0]
    con.execute(
        "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            source_id,
            report.path,
            report.file_name,
            report.sha256,
            report.sheet,
            report.format,
            report.encoding,
            report.header_row,
            report.preset,
            json.dumps(report.mapping),
            json.dumps(report.notes),
            datetime.now(),
            report.rows_seen,
            report.rows_loaded,
            report.rows_excluded,
            report.rows_rejected,
        ],
    )
    _insert(con, "grants", _rows_of(result.grants, report), GRANTS_SCHEMA, source_id)
    _insert(con, "rejects", _rows_of(result.rejects, report), REJECTS_SCHEMA, source_id)


def _rows_of(frame: pl.DataFrame, report: SheetReport) -> pl.DataFrame:
    sheet = (
        pl.col("source_sheet").is_null()
        if report.sheet is None
        else (pl.col("source_sheet") == report.sheet)
    )
    return frame.filter((pl.col("source_file") == report.file_name) & sheet)


def _insert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame,
    schema: dict[str, pl.DataType],
    source_id: int,
) -> None:
    if frame.is_empty():
        return
    columns = ", ".join(f'"{name}"' for name in schema)
    staged = frame.select(list(schema))  # noqa: F841 - read by DuckDB's replacement scan
    con.execute(
        f"INSERT INTO {table} (source_id, {columns}) SELECT ?, {columns} FROM staged", [source_id]
    )


def _delete_source(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Remove a source with its rows and any classification of them."""
    stale = "SELECT record_id FROM grants WHERE source_id = ?"
    for table in ("classifications", "matches", "allocations"):
        con.execute(f"DELETE FROM {table} WHERE record_id IN ({stale})", [source_id])
    for table in ("grants", "rejects", "sources"):
        con.execute(f"DELETE FROM {table} WHERE source_id = ?", [source_id])


def load_grants(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """All loaded grants, in load order, with the GRANTS_SCHEMA columns."""
    columns = ", ".join(f'"{name}"' for name in GRANTS_SCHEMA)
    frame = con.sql(f"SELECT {columns} FROM grants ORDER BY source_id, source_row").pl()
    return frame.cast(GRANTS_SCHEMA)


def load_rejects(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    columns = ", ".join(f'"{name}"' for name in REJECTS_SCHEMA)
    frame = con.sql(f"SELECT {columns} FROM rejects ORDER BY source_id, source_row").pl()
    return frame.cast(REJECTS_SCHEMA)


def load_sources(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return con.sql("SELECT * FROM sources ORDER BY source_id").pl()


def decode_notes(value: str | list | None) -> list[str]:
    """The notes of one ``sources`` row as a list: the store keeps them as a JSON list (a
    value that is not JSON counts as one note)."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value else []
        except ValueError:
            value = [value]
    return [str(note) for note in value or []]


def save_classification(con: duckdb.DuckDBPyConnection, classification: Classification) -> None:
    """Replace the store's current classification, in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ("classifications", "matches", "allocations", "classification_runs"):
            con.execute(f"DELETE FROM {table}")
        for table, frame, schema in (
            ("classifications", classification.table, CLASSIFICATION_SCHEMA),
            ("matches", classification.matches, MATCHES_SCHEMA),
            ("allocations", classification.allocations, ALLOCATIONS_SCHEMA),
        ):
            staged = frame.select(list(schema))  # noqa: F841 - read by DuckDB
            columns = ", ".join(f'"{name}"' for name in schema)
            con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM staged")
        run = classification.run
        con.execute(
            "INSERT INTO classification_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run.get("taxonomy_name"),
                run.get("taxonomy_version"),
                run.get("taxonomy_sha256"),
                run.get("taxonomy_path"),
                run.get("rule_count"),
                run.get("overrides_path"),
                run.get("override_count", 0),
                datetime.now(),
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
