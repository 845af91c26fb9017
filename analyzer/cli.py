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


if __name__ == "__main__":
    app()
