"""The `analyzer` command: a thin layer over the Python API.

Each command parses its options, calls one function of the API, and renders the result. Library
errors (``AnalyzerError``) become a clean message on stderr and exit code 2; a failing check
(``taxonomy test``) exits 1.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from .errors import AnalyzerError

app = typer.Typer(
    name="analyzer",
    help=(
        "Read funding spreadsheets faithfully, classify every grant with an explainable "
        "taxonomy, and show where the money goes."
    ),
    no_args_is_help=True,
    add_completion=False,
)
taxonomy_app = typer.Typer(help="Check and test taxonomy files.", no_args_is_help=True)
review_app = typer.Typer(help="Bring reviewers' decisions back as overrides.", no_args_is_help=True)
app.add_typer(taxonomy_app, name="taxonomy")
app.add_typer(review_app, name="review")

out = Console()
err = Console(stderr=True)

# --- Shared options: defined once so they read the same in every command ----------------------

DbOption = Annotated[
    Path, typer.Option("--db", help="DuckDB portfolio store.", dir_okay=False)
]
OptionalDbOption = Annotated[
    Path | None, typer.Option("--db", help="DuckDB portfolio store.", dir_okay=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
TaxonomyOption = Annotated[
    str,
    typer.Option(
        "--taxonomy",
        "-t",
        help="Bundled taxonomy name (csec, prevention-levels) or path to a YAML file.",
    ),
]
OverridesOption = Annotated[
    Path | None,
    typer.Option("--overrides", help="Ledger of manual decisions (csv or xlsx) that win over rules."),
]
PolicyOption = Annotated[
    str,
    typer.Option(
        "--policy",
        help="Allocation of each grant's money: 'primary' (all to the primary category) or "
        "'split' (by evidence-based shares).",
    ),
]
SheetOption = Annotated[
    list[str] | None, typer.Option("--sheet", help="Only this sheet (repeatable). Default: every sheet.")
]
MapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        help='Override the column mapping, e.g. --map amount="Award ($)" (repeatable).',
    ),
]
MappingFileOption = Annotated[
    Path | None,
    typer.Option("--mapping", help="YAML or JSON file of {canonical field: original header}."),
]
CurrencyOption = Annotated[
    str | None,
    typer.Option("--currency", help="ISO currency of amounts with no currency column or symbol."),
]
FiscalYearStartOption = Annotated[
    int | None,
    typer.Option(
        "--fiscal-year-start",
        min=1,
        max=12,
        help="Month the fiscal year starts (e.g. 7 for July-June); default calendar year "
        "(USAspending files: federal October-September).",
    ),
]
YearOption = Annotated[
    int | None,
    typer.Option("--year", help="Year of every grant in a file that has no year or date column."),
]


def reports_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into a message and exit code 2 instead of a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AnalyzerError as error:
            err.print(f"[bold red]error:[/] {error.describe()}", markup=True, highlight=False)
            raise typer.Exit(2) from None

    return wrapper


def print_json(data: Any) -> None:
    """JSON on stdout, nothing else, so scripts can parse it."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


# --- Ingest: ingest, inspect, summary, export -------------------------------------------------

FilesArgument = Annotated[
    list[Path],
    typer.Argument(help="Spreadsheets (xlsx, xlsm, csv, tsv, parquet).", show_default=False),
]
StoreOption = Annotated[
    Path, typer.Option("--db", help="DuckDB portfolio store.", dir_okay=False)
]  # fmt: skip


@app.command("ingest")
@reports_errors
def ingest_command(
    files: FilesArgument,
    db: StoreOption = Path("portfolio.duckdb"),
    sheet: SheetOption = None,
    map_options: MapOption = None,
    mapping_file: MappingFileOption = None,
    currency: CurrencyOption = None,
    fiscal_year_start: FiscalYearStartOption = None,
    year: YearOption = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace files of the same name already loaded.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Load spreadsheets into the store. Prints, per file and sheet, rows seen, loaded,
    excluded and rejected (seen = loaded + excluded + rejected) and the total per currency.

    --json prints a list with one object per file and sheet: file, path, sheet, format,
    encoding, header_row, preset, mapping, rows_seen, rows_loaded, rows_excluded,
    rows_rejected, excluded_reasons, rejected_reasons, totals (currency -> exact amount as
    text), notes, skipped, already_loaded.
    """
    from .columns import parse_map_options
    from .ingest import ingest

    with err.status("reading", spinner="dots") as status:
        result = ingest(
            files,
            db=db,
            replace=replace,
            sheets=sheet,
            mapping=parse_map_options(map_options),
            mapping_file=mapping_file,
            currency=currency,
            fiscal_year_start=fiscal_year_start,
            year=year,
            progress=lambda message: status.update(message),
        )
    if json_output:
        print_json([report.to_dict() for report in result.reports])
        return
    _print_reports(result.reports)
    out.print(f"stored in {db}", markup=False, highlight=False)


def _print_reports(reports: list) -> None:
    from rich.table import Table

    by_file: dict[str, list] = {}
    for report in reports:
        by_file.setdefault(report.file_name, []).append(report)
    for file_name, sheets in by_file.items():
        table = Table(title=file_name, title_justify="left", show_edge=False)
        for name in ("sheet", "seen", "loaded", "excluded", "rejected", "total"):
            table.add_column(name, justify="left" if name in ("sheet", "total") else "right")
        for report in sheets:
            totals = "\n".join(f"{cur} {amount:,.2f}" for cur, amount in report.totals.items())
            if report.skipped:
                totals = f"skipped: {report.skipped}"
            elif report.already_loaded:
                totals += " (already loaded: unchanged)"
            table.add_row(
                report.sheet or "-",
                f"{report.rows_seen:,}",
                f"{report.rows_loaded:,}",
                f"{report.rows_excluded:,}",
                f"{report.rows_rejected:,}",
                totals,
            )
        out.print(table)
        for report in sheets:
            where = f"[{report.sheet}] " if report.sheet and len(sheets) > 1 else ""
            for kind, reasons in (("excluded", report.excluded_reasons),
                                  ("rejected", report.rejected_reasons)):  # fmt: skip
                for reason, count in reasons.items():
                    out.print(f"  {where}{kind}: {count:,} {reason}", markup=False, highlight=False)
            for note in report.notes:
                if not note.startswith("sheet skipped"):
                    out.print(f"  {where}note: {note}", markup=False, highlight=False)
        out.print("")


@app.command("inspect")
@reports_errors
def inspect_command(
    file: Annotated[Path, typer.Argument(help="The spreadsheet to look at.", show_default=False)],
    sheet: SheetOption = None,
    map_options: MapOption = None,
    mapping_file: MappingFileOption = None,
    currency: CurrencyOption = None,
    fiscal_year_start: FiscalYearStartOption = None,
    year: YearOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show, per sheet, the detected header row, the column mapping, what is ambiguous or
    missing, and a preview of the first rows as they would load. Changes nothing."""
    from rich.table import Table

    from .columns import parse_map_options
    from .ingest import inspect

    found = inspect(
        file,
        sheets=sheet,
        mapping=parse_map_options(map_options),
        mapping_file=mapping_file,
        currency=currency,
        fiscal_year_start=fiscal_year_start,
        year=year,
    )
    if json_output:
        print_json([sheet_found.to_dict() for sheet_found in found])
        return
    for item in found:
        title = item.file + (f" [{item.sheet}]" if item.sheet else "")
        out.print(f"[bold]{escape_markup(title)}[/]")
        out.print(
            f"  header row: {item.header_row}   preset: {item.preset or '-'}",
            markup=False,
            highlight=False,
        )
        if item.problem:
            out.print(f"  would not load: {item.problem}", markup=False, highlight=False)
        mapping = Table(show_edge=False, box=None, padding=(0, 2))
        mapping.add_column("field")
        mapping.add_column("column")
        for field_name, header in item.mapping.items():
            mapping.add_row(field_name, header)
        out.print(mapping)
        if item.missing:
            out.print("  not found: " + ", ".join(item.missing), markup=False, highlight=False)
        for text in item.ambiguous:
            out.print(f"  ambiguous: {text}", markup=False, highlight=False)
        for note in item.notes:
            out.print(f"  note: {note}", markup=False, highlight=False)
        if item.preview:
            preview = Table(title="preview", title_justify="left", show_edge=False)
            columns = [k for k in item.preview[0] if any(row[k] for row in item.preview)]
            for name in columns:
                preview.add_column(name, overflow="ellipsis", max_width=28)
            for row in item.preview:
                preview.add_row(*[escape_markup(row[k] or "") for k in columns])
            out.print(preview)
        out.print("")


def escape_markup(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@app.command("summary")
@reports_errors
def summary_command(db: StoreOption = Path("portfolio.duckdb"), json_output: JsonOption = False):
    """What the store holds: per file and sheet the counts and the total per currency, and
    the totals per currency (never added across currencies).

    --json prints {"sources": [{file, sheet, format, preset, loaded_at, rows_seen,
    rows_loaded, rows_excluded, rows_rejected, totals}], "grants": N, "totals": {currency:
    amount}} with amounts as exact text.
    """
    from rich.table import Table

    from .ingest import summary

    data = summary(db)
    if json_output:
        print_json(data)
        return
    table = Table(title=f"{db}", title_justify="left", show_edge=False)
    for name in ("file", "sheet", "seen", "loaded", "excluded", "rejected", "total"):
        table.add_column(name, justify="right" if name in ("seen", "loaded", "excluded",
                                                            "rejected") else "left")  # fmt: skip
    for source in data["sources"]:
        table.add_row(
            source["file"],
            source["sheet"] or "-",
            f"{source['rows_seen']:,}",
            f"{source['rows_loaded']:,}",
            f"{source['rows_excluded']:,}",
            f"{source['rows_rejected']:,}",
            "\n".join(f"{cur} {amount:,.2f}" for cur, amount in source["totals"].items()),
        )
    out.print(table)
    out.print(f"{data['grants']:,} grants", markup=False, highlight=False)
    for currency_code, amount in data["totals"].items():
        out.print(f"total {currency_code} {amount:,.2f}", markup=False, highlight=False)


@app.command("export")
@reports_errors
def export_command(
    output: Annotated[
        Path, typer.Option("--out", "-o", help="CSV file to write.", dir_okay=False)
    ],
    db: StoreOption = Path("portfolio.duckdb"),
) -> None:
    """Write one row per grant (canonical and provenance columns, plus the classification
    once there is one) to a CSV that is safe to open in a spreadsheet program."""
    from .ingest import export

    rows = export(db, output)
    out.print(f"wrote {rows:,} grants to {output}", markup=False, highlight=False)


# --- Classify: classify, explain, taxonomy check/test, evaluate -------------------------------


# --- Report: analyze, review apply ------------------------------------------------------------


@app.command("analyze")
@reports_errors
def analyze_command(
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Spreadsheets to analyze (xlsx, csv, tsv, parquet). None: the grants already "
            "in --db, or the bundled sample data.",
            show_default=False,
        ),
    ] = None,
    taxonomy: TaxonomyOption = "csec",
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder. Default: reports/latest (overwritten)."),
    ] = None,
    db: OptionalDbOption = None,
    policy: PolicyOption = "primary",
    overrides: OverridesOption = None,
    sheet: SheetOption = None,
    map_options: MapOption = None,
    mapping_file: MappingFileOption = None,
    currency: CurrencyOption = None,
    fiscal_year_start: FiscalYearStartOption = None,
    year: YearOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Run the whole job: read, classify, aggregate, chart; write brief.html, workbook.xlsx,
    summary.json, classified.csv and charts/ into the output folder."""
    from .analyze import analyze
    from .columns import parse_map_options

    analysis = analyze(
        inputs or None,
        taxonomy=taxonomy,
        out=out_dir,
        db=db,
        policy=policy,
        overrides=overrides,
        progress=not quiet,
        sheets=sheet,
        mapping=parse_map_options(map_options),
        mapping_file=mapping_file,
        currency=currency,
        fiscal_year_start=fiscal_year_start,
        year=year,
    )
    for sentence in analysis.headline():
        out.print(f"- {sentence}", markup=False, highlight=False, soft_wrap=True)
    out.print("")
    for kind in ("brief", "workbook", "summary", "classified", "charts"):
        if kind in analysis.files:
            out.print(
                f"{kind:<11} {analysis.files[kind]}", markup=False, highlight=False, soft_wrap=True
            )


@review_app.command("apply")
@reports_errors
def review_apply_command(
    workbook: Annotated[
        Path,
        typer.Argument(
            help="workbook.xlsx whose Review sheet reviewers filled in.", dir_okay=False
        ),
    ],
    ledger: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Overrides ledger (csv) to create or add to.", dir_okay=False
        ),
    ] = Path("overrides.csv"),
    as_json: JsonOption = False,
) -> None:
    """Read the decisions filled in on the workbook's Review sheet into an overrides ledger
    (then: analyzer analyze ... --overrides overrides.csv)."""
    from .review import apply_review

    decisions = apply_review(workbook, out=ledger)
    if as_json:
        print_json(
            {"ledger": str(ledger) if decisions.height else None, "decisions": decisions.to_dicts()}
        )
        return
    if not decisions.height:
        out.print(
            f"No decisions in the Review sheet of {workbook.name}: pick a category (or write "
            "shares) and give a reason on the rows you decide, save, and run this again.",
            markup=False,
            highlight=False,
        )
        return
    out.print(
        f"{decisions.height} decision(s) from {workbook.name} are in {ledger}. Apply them with "
        f"--overrides {ledger} (analyzer analyze or analyzer classify).",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


if __name__ == "__main__":
    app()
