"""The whole pipeline: ingest -> classify -> store -> aggregate -> charts -> report -> workbook.

``analyze()`` is what ``analyzer analyze`` runs. It returns an :class:`Analysis` that a notebook
shows as the headline (``_repr_html_``), with the summary tables as polars DataFrames and the
Altair charts (``analysis.charts["approach_mix"]`` displays inline).

Aggregation always happens in DuckDB: in the ``--db`` store when one is given (the analysis
then covers every grant in it, including files loaded earlier), otherwise in a private
in-memory store that lives for the run.
"""

from __future__ import annotations

import html
import json
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
from rich.markup import escape

from . import store
from .aggregate import Summary, summarize
from .classify import classified_frame, grants_with_classification
from .errors import InputFileError
from .schema import (
    MATCHES_SCHEMA,
    Classification,
    IngestResult,
    SheetReport,
    check_policy,
    empty_frame,
)

DEFAULT_OUT = Path("reports") / "latest"
SAMPLE_SUFFIXES = (".csv", ".xlsx")


@dataclass
class Analysis:
    """Everything one run of the pipeline produced. Stable fields, read by the report and the
    workbook (``analyzer.workbook.write_workbook(path, analysis)``):

    * ``summary``: the :class:`analyzer.aggregate.Summary` (named polars tables, the scale of
      categories with labels and sides, currencies with the main one first, the policy).
    * ``classified``: every grant, one row each: the GRANTS_SCHEMA columns (canonical fields,
      provenance, flags, original) followed by the CLASSIFICATION_SCHEMA columns (approach,
      approach_shares, ambiguous, rights, risk_factors, provider_type, matched_rules,
      explanation, decided_by).
    * ``rejects``: every input row not loaded (REJECTS_SCHEMA: excluded and rejected rows with
      their reasons).
    * ``sources``: one row per file and sheet read (the store's ``sources`` table: file_name,
      sheet, format, encoding, header_row, preset, mapping, notes, rows_seen, rows_loaded,
      rows_excluded, rows_rejected, ...).
    * ``taxonomy``: the loaded taxonomy object (``analyzer.taxonomy.load_taxonomy``).
    * ``run``: taxonomy_name, taxonomy_version, taxonomy_sha256, taxonomy_path, rule_count,
      overrides_path, override_count, policy.
    * ``charts``: chart name -> Altair chart (names: see ``analyzer.charts.CHARTS``).
    * ``out_dir``: the folder the files were written to, or None when nothing was written.
    * ``files``: what was written, by kind ("brief", "workbook", "summary", "classified",
      "charts") -> path (for "charts", the folder).
    * ``reports``: the ingest report of every file and sheet read in this run (including
      sheets skipped as having no grants), empty when the run analysed a store as it was.
    * ``timings``: seconds per stage (read, store, classify, aggregate, charts, ...).
    """

    summary: Summary
    classified: pl.DataFrame
    rejects: pl.DataFrame
    sources: pl.DataFrame
    taxonomy: Any
    run: dict
    charts: dict[str, Any] = field(default_factory=dict)
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)
    reports: list[SheetReport] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def headline(self) -> list[str]:
        """The findings in plain sentences (the brief's opening)."""
        from .report import headline_sentences

        return headline_sentences(self.summary)

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(s)}</li>" for s in self.headline())
        files = "".join(
            f"<li>{html.escape(kind)}: <code>{html.escape(str(path))}</code></li>"
            for kind, path in self.files.items()
        )
        charts = ", ".join(f"<code>{html.escape(name)}</code>" for name in self.charts)
        return (
            f"<div><strong>Where the money goes</strong> "
            f"({self.classified.height:,} grants, policy {html.escape(self.summary.policy)})"
            f"<ul>{items}</ul>"
            + (
                f"<p>Charts: {charts} (e.g. <code>analysis.charts['approach_mix']</code>)</p>"
                if charts
                else ""
            )
            + (f"<p>Files:</p><ul>{files}</ul>" if files else "")
            + "</div>"
        )


def sample_data_files() -> list[Path]:
    """The bundled synthetic portfolio: every .csv and .xlsx in ``analyzer.sample_data``."""
    folder = resources.files("analyzer.sample_data")
    files = sorted(
        Path(str(item))
        for item in folder.iterdir()
        if item.is_file() and item.name.lower().endswith(SAMPLE_SUFFIXES)
    )
    if not files:
        raise InputFileError(
            "no bundled sample data found",
            hint="give the spreadsheets to analyze, e.g. `analyzer analyze grants.xlsx`",
        )
    return files


def analyze(
    inputs: list[str | Path] | None = None,
    *,
    taxonomy: Any = "csec",
    out: str | Path | None = None,
    db: str | Path | None = None,
    policy: str = "primary",
    overrides: str | Path | None = None,
    progress: bool = True,
    write: bool = True,
    replace: bool = False,
    **ingest_options: Any,
) -> Analysis:
    """Read, classify, aggregate, chart and report a portfolio; write the outputs.

    ``inputs``: spreadsheets (xlsx, csv, tsv, parquet). Without inputs, the grants already in
    ``db`` are analysed, or, with no store either, the bundled sample data. ``taxonomy``: a
    bundled name, a path or a loaded taxonomy. ``policy``: "primary" or "split" allocation of
    each grant's money. ``overrides``: a ledger of manual decisions that win over the rules.
    ``out``: the output folder (default ``reports/latest``, overwritten each run); with
    ``write=False`` nothing is written. ``ingest_options`` (``sheets``, ``mapping``,
    ``mapping_file``, ``currency``, ``fiscal_year_start``, ``year``, ``funder``) go to
    :func:`analyzer.ingest.read_files`; ``replace`` lets a file replace a different version of
    the same name already in ``db``.

    Writes brief.html, workbook.xlsx, summary.json, classified.csv and charts/*.png|svg.
    """
    from .ingest import read_files
    from .taxonomy import load_taxonomy

    check_policy(policy)
    stages = _Stages(progress)
    tax = load_taxonomy(taxonomy)
    con = store.connect(db)
    try:
        reports: list[SheetReport] = []
        fresh_store = db is None
        paths = [Path(p) for p in inputs or []]
        if not paths and (fresh_store or _grant_count(con) == 0):
            paths = sample_data_files()
        result = None
        if paths:
            with stages.stage("read") as stage:
                result = read_files(paths, progress=stage.update, **ingest_options)
                reports = result.reports
                skipped = sum(1 for report in reports if report.skipped)
                files = len({report.file_name for report in reports})  # a manifest names several
                stage.done(
                    f"{result.grants.height:,} grants from {files} file(s), "
                    f"{result.rejects.height:,} rows not loaded"
                    + (f", {skipped} sheet(s) without a table skipped" if skipped else "")
                )
            grants = result.grants
        if not fresh_store:
            # The analysis covers the whole store: what was loaded before and what was read now.
            with stages.stage("store grants") as stage:
                if result is not None:
                    store.save_ingest(con, result, replace=replace)
                grants = store.load_grants(con)
                stage.done(f"{grants.height:,} grants in {db}")

        with stages.stage("classify") as stage:
            stage.update(f"{grants.height:,} grants with {tax.name}")
            classification = _classify(grants, tax, overrides, keep_matches=not fresh_store)
            stage.done(f"{grants.height:,} grants with {tax.name} {tax.version}")

        with stages.stage("store results") as stage:
            if fresh_store:
                store.save_ingest(con, _without_originals(result))
                store.save_classification(con, _without_evidence(classification))
            else:
                store.save_classification(con, classification)
            table, allocations = classification.table, classification.allocations
            run = {**classification.run, "policy": policy}
            del classification  # the rule hits are kept in a --db store only
            stage.done("in memory" if fresh_store else str(db))

        with stages.stage("aggregate") as stage:
            summary = summarize(con, tax, policy=policy)
            stage.done(f"{len(summary.tables)} tables, currencies: {', '.join(summary.currencies)}")
        classified = grants_with_classification(grants, table)
        analysis = Analysis(
            summary=summary,
            classified=classified,
            rejects=store.load_rejects(con),
            sources=store.load_sources(con),
            taxonomy=tax,
            run=run,
            reports=reports,
        )
        with stages.stage("charts") as stage:
            from .charts import build_charts

            analysis.charts = build_charts(summary)
            stage.done(f"{len(analysis.charts)} charts")
        if write:
            _write_outputs(
                analysis, Path(out) if out is not None else DEFAULT_OUT, allocations, stages
            )
    finally:
        con.close()
    analysis.timings = stages.timings
    return analysis


def _classify(
    grants: pl.DataFrame, taxonomy: Any, overrides: Any, *, keep_matches: bool
) -> Classification:
    """Rule hits (one row per hit, ~12 a grant) are kept only when a --db store will hold
    them for ``analyzer explain``: on a large portfolio they are most of the engine's memory."""
    from .classify import classify_grants

    return classify_grants(grants, taxonomy, overrides=overrides, with_matches=keep_matches)


def _without_originals(result: IngestResult) -> IngestResult:
    """What the private in-memory store needs of an ingest: the grants without the JSON of
    their original cells (kept in the Analysis; only memory in the store)."""
    grants = result.grants.with_columns(pl.lit(None, pl.String).alias("original"))
    return IngestResult(grants=grants, rejects=result.rejects, reports=result.reports)


def _without_evidence(classification: Classification) -> Classification:
    """What the private store needs of a classification for the summary: decisions and
    allocations, not the rule hits or explanation texts (the Analysis keeps explanations)."""
    table = classification.table.with_columns(
        pl.lit(None, pl.String).alias("explanation"), pl.lit(None, pl.String).alias("matched_rules")
    )
    return Classification(
        table=table,
        matches=empty_frame(MATCHES_SCHEMA),
        allocations=classification.allocations,
        run=classification.run,
    )


def _grant_count(con) -> int:
    return con.execute("SELECT count(*) FROM grants").fetchall()[0][0]


def _write_outputs(
    analysis: Analysis, out_dir: Path, allocations: pl.DataFrame, stages: _Stages
) -> None:
    """brief.html, workbook.xlsx, summary.json, classified.csv, charts/ into ``out_dir``."""
    from .charts import chart_specs, export_specs
    from .report import write_brief
    from .safe import write_safe_csv
    from .workbook import write_workbook

    out_dir.mkdir(parents=True, exist_ok=True)
    analysis.out_dir = out_dir
    files = analysis.files
    with stages.stage("summary.json") as stage:
        files["summary"] = out_dir / "summary.json"
        data = {**analysis.summary.to_json(), "run": _jsonable(analysis.run)}
        files["summary"].write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")
        stage.done(str(files["summary"]))
    with stages.stage("classified.csv") as stage:
        files["classified"] = out_dir / "classified.csv"
        write_safe_csv(
            classified_frame(analysis.classified, allocations, analysis.summary.policy),
            files["classified"],
        )
        stage.done(f"{analysis.classified.height:,} rows")
    with stages.stage("chart files") as stage:
        files["charts"] = out_dir / "charts"
        specs = chart_specs(analysis.charts)
        written = export_specs(specs, files["charts"])
        stage.done(f"{len(written)} files in {files['charts']}")
    with stages.stage("brief.html") as stage:
        files["brief"] = write_brief(out_dir / "brief.html", analysis, specs)
        stage.done(str(files["brief"]))
    with stages.stage("workbook.xlsx") as stage:
        files["workbook"] = out_dir / "workbook.xlsx"
        write_workbook(files["workbook"], analysis)
        stage.done(str(files["workbook"]))


def _jsonable(run: dict) -> dict:
    return {
        key: (value if isinstance(value, (str, int, float, bool, list, type(None))) else str(value))
        for key, value in run.items()
    }


# --- Progress ----------------------------------------------------------------------------------


class _Stage:
    def __init__(self, name: str, status: Any):
        self.name = name
        self.status = status
        self.detail = ""

    def update(self, message: str) -> None:
        if self.status is not None:
            self.status.update(f"[bold]{self.name}[/]: {escape(message)}")

    def done(self, detail: str) -> None:
        self.detail = detail


class _Stages:
    """Stage by stage progress on stderr (rich): a spinner while a stage runs, then one line
    with what it did and how long it took. Also keeps the timings."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.timings: dict[str, float] = {}
        self.console = None
        if enabled:
            from rich.console import Console

            self.console = Console(stderr=True, highlight=False, soft_wrap=True)

    @contextmanager
    def stage(self, name: str) -> Iterator[_Stage]:
        start = time.perf_counter()
        if self.console is None:
            stage = _Stage(name, None)
            yield stage
        else:
            with self.console.status(f"[bold]{name}[/] ...") as status:
                stage = _Stage(name, status)
                yield stage
        seconds = time.perf_counter() - start
        self.timings[name] = seconds
        if self.console is not None:
            peak = _peak_memory_gb()
            self.console.print(
                f"[green]✓[/] {name:<15} {seconds:6.1f} s  peak {peak:4.1f} GB  "
                f"{escape(stage.detail)}",
                markup=True,
            )


def _peak_memory_gb() -> float:
    """Peak resident memory of this process so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024**3 if sys.platform == "darwin" else 1024**2)
