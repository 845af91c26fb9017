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

DbOption = Annotated[Path, typer.Option("--db", help="DuckDB portfolio store.", dir_okay=False)]
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
    typer.Option(
        "--overrides", help="Ledger of manual decisions (csv or xlsx) that win over rules."
    ),
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
    list[str] | None,
    typer.Option("--sheet", help="Only this sheet (repeatable). Default: every sheet."),
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
FunderOption = Annotated[
    str | None,
    typer.Option("--funder", help="Funder of every grant in a file that has no funder column."),
]
YearsInColumnsOption = Annotated[
    bool,
    typer.Option(
        "--years-in-columns",
        help="Read a table with one amount column per year (FY2022, FY2023, ...) as one grant "
        "per row and year.",
    ),
]


def ingest_options(
    sheet: list[str] | None,
    map_options: list[str] | None,
    mapping_file: Path | None,
    currency: str | None,
    fiscal_year_start: int | None,
    year: int | None,
    funder: str | None,
    years_in_columns: bool = False,
) -> dict[str, Any]:
    """The shared input options as ``analyzer.read_files`` takes them."""
    from .columns import parse_map_options

    return {
        "sheets": sheet,
        "mapping": parse_map_options(map_options),
        "mapping_file": mapping_file,
        "currency": currency,
        "fiscal_year_start": fiscal_year_start,
        "year": year,
        "funder": funder,
        "years_in_columns": years_in_columns,
    }


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


def say(text: str, *, stderr: bool = False) -> None:
    """Plain text for people: no rich markup or highlighting applied to data from the input."""
    (err if stderr else out).print(text, markup=False, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """JSON on stdout, nothing else, so scripts can parse it."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


# --- Ingest: ingest, inspect, summary, export -------------------------------------------------

INPUTS_HELP = (
    "Spreadsheets (xlsx, xlsm, csv, tsv, parquet), or a manifest (.yaml) listing files with "
    "options of their own (see docs/manifest.md)."
)

FilesArgument = Annotated[
    list[Path],
    typer.Argument(help=INPUTS_HELP, show_default=False),
]


@app.command("ingest")
@reports_errors
def ingest_command(
    files: FilesArgument,
    db: DbOption = Path("portfolio.duckdb"),
    sheet: SheetOption = None,
    map_options: MapOption = None,
    mapping_file: MappingFileOption = None,
    currency: CurrencyOption = None,
    fiscal_year_start: FiscalYearStartOption = None,
    year: YearOption = None,
    funder: FunderOption = None,
    years_in_columns: YearsInColumnsOption = False,
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
    from .ingest import ingest

    options = ingest_options(
        sheet,
        map_options,
        mapping_file,
        currency,
        fiscal_year_start,
        year,
        funder,
        years_in_columns,
    )
    with err.status("reading", spinner="dots") as status:
        result = ingest(files, db=db, replace=replace, progress=status.update, **options)
    if json_output:
        print_json([report.to_dict() for report in result.reports])
        return
    _print_reports(result.reports)
    say(f"stored in {db}")


def _totals_text(totals: dict) -> str:
    """One line per currency: "USD 1,234.50" (currencies are never added together)."""
    return "\n".join(f"{currency} {amount:,.2f}" for currency, amount in totals.items())


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
            totals = _totals_text(report.totals)
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
                    say(f"  {where}{kind}: {count:,} {reason}")
            for note in report.notes:
                if not note.startswith("sheet skipped"):
                    say(f"  {where}note: {note}")
        out.print("")


@app.command("inspect")
@reports_errors
def inspect_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="The spreadsheet to look at, or a manifest (each file with its options).",
            show_default=False,
        ),
    ],
    sheet: SheetOption = None,
    map_options: MapOption = None,
    mapping_file: MappingFileOption = None,
    currency: CurrencyOption = None,
    fiscal_year_start: FiscalYearStartOption = None,
    year: YearOption = None,
    funder: FunderOption = None,
    years_in_columns: YearsInColumnsOption = False,
    json_output: JsonOption = False,
) -> None:
    """Show, per sheet, the detected header row, the column mapping, what is ambiguous or
    missing, and a preview of the first rows as they would load. Changes nothing."""
    from rich.table import Table

    from .ingest import inspect

    found = inspect(
        file,
        **ingest_options(
            sheet,
            map_options,
            mapping_file,
            currency,
            fiscal_year_start,
            year,
            funder,
            years_in_columns,
        ),
    )
    if json_output:
        print_json([sheet_found.to_dict() for sheet_found in found])
        return
    for item in found:
        title = item.file + (f" [{item.sheet}]" if item.sheet else "")
        out.print(f"[bold]{escape_markup(title)}[/]")
        say(f"  header row: {item.header_row}   preset: {item.preset or '-'}")
        if item.problem:
            say(f"  would not load: {item.problem}")
        mapping = Table(show_edge=False, box=None, padding=(0, 2))
        mapping.add_column("field")
        mapping.add_column("column")
        for field_name, header in item.mapping.items():
            mapping.add_row(field_name, header)
        out.print(mapping)
        if item.missing:
            say("  not found: " + ", ".join(item.missing))
        for text in item.ambiguous:
            say(f"  ambiguous: {text}")
        for note in item.notes:
            say(f"  note: {note}")
        if item.preview:
            # One line per field, rows across: readable however many columns the file has.
            rows = item.preview[:3]
            preview = Table(title="preview", title_justify="left", show_edge=False)
            preview.add_column("field", style="bold")
            for row in rows:
                preview.add_column(f"row {row['source_row']}")
            for name in rows[0]:
                if name != "source_row" and any(row[name] for row in rows):
                    preview.add_row(name, *[_cell_preview(row[name]) for row in rows])
            out.print(preview)
        out.print("")


def escape_markup(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@app.command("summary")
@reports_errors
def summary_command(
    db: DbOption = Path("portfolio.duckdb"), json_output: JsonOption = False
) -> None:
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
            _totals_text(source["totals"]),
        )
    out.print(table)
    say(f"{data['grants']:,} grants")
    for currency_code, amount in data["totals"].items():
        say(f"total {currency_code} {amount:,.2f}")


@app.command("export")
@reports_errors
def export_command(
    output: Annotated[Path, typer.Option("--out", "-o", help="CSV file to write.", dir_okay=False)],
    db: DbOption = Path("portfolio.duckdb"),
) -> None:
    """Write one row per grant (canonical and provenance columns, plus the classification
    once there is one) to a CSV that is safe to open in a spreadsheet program."""
    from .ingest import export

    rows = export(db, output)
    say(f"wrote {rows:,} grants to {output}")


def _cell_preview(text: str | None, width: int = 24) -> str:
    """One short line of a cell: whitespace collapsed, cut with an ellipsis, markup escaped."""
    flat = " ".join((text or "").split())
    return escape_markup(flat if len(flat) <= width else flat[: width - 1] + "…")


# --- Classify: classify, explain, taxonomy check/test, evaluate -------------------------------

InputsArgument = Annotated[
    list[Path] | None,
    typer.Argument(help=INPUTS_HELP, show_default=False),
]
TaxonomyFileArgument = Annotated[
    str, typer.Argument(help="Taxonomy YAML file, or the name of a bundled taxonomy.")
]


@app.command("classify")
@reports_errors
def classify_command(
    inputs: InputsArgument = None,
    output: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="CSV to write, one row per grant.", dir_okay=False),
    ] = None,
    db: OptionalDbOption = None,
    taxonomy: TaxonomyOption = "csec",
    overrides: OverridesOption = None,
    policy: PolicyOption = "primary",
    sheet: SheetOption = None,
    map_options: MapOption = None,
    mapping_file: MappingFileOption = None,
    currency: CurrencyOption = None,
    fiscal_year_start: FiscalYearStartOption = None,
    year: YearOption = None,
    funder: FunderOption = None,
    years_in_columns: YearsInColumnsOption = False,
) -> None:
    """Classify every grant: spreadsheets (INPUT...), the store (--db), or both (the files are
    loaded into the store first). Writes one row per grant with approach, approach_shares,
    ambiguous, rights, risk_factors, provider_type, matched_rules and decided_by; with --db
    the classification is stored for `analyzer analyze` and `analyzer explain`."""
    from .classify import classify

    if not inputs and db is None:
        raise AnalyzerError("nothing to classify", hint="give spreadsheet files and/or --db DB")
    if output is None and db is None:
        raise AnalyzerError("nowhere to put the result", hint="add -o OUT.csv and/or --db DB")
    frame = classify(
        inputs,
        db=db,
        taxonomy=taxonomy,
        overrides=overrides,
        policy=policy,
        out=output,
        **ingest_options(
            sheet,
            map_options,
            mapping_file,
            currency,
            fiscal_year_start,
            year,
            funder,
            years_in_columns,
        ),
    )
    counts = frame.group_by("approach").len().sort("len", descending=True)
    where = " and ".join(str(p) for p in (output, db) if p is not None)
    say(f"classified {frame.height:,} grants into {where}")
    for approach, count in counts.iter_rows():
        say(f"  {approach:<24}{count:>10,}")
    decided = frame.get_column("decided_by").value_counts(sort=True)
    say("decided by " + ", ".join(f"{name} {n:,}" for name, n in decided.iter_rows()))
    if overrides is not None:
        from .overrides import load_overrides, unmatched_keys

        unmatched = unmatched_keys(load_overrides(overrides, taxonomy=taxonomy), frame)
        if unmatched:
            shown = ", ".join(unmatched[:10]) + (" ..." if len(unmatched) > 10 else "")
            say(
                f"warning: {len(unmatched)} override(s) in {overrides} name no grant: {shown}",
                stderr=True,
            )


@app.command("explain")
@reports_errors
def explain_command(
    grant_id: Annotated[
        str | None, typer.Argument(help="grant_id or record_id of a grant in the store.")
    ] = None,
    text: Annotated[
        str | None, typer.Option("--text", help="Explain this description instead.")
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="With --text: its title.")] = None,
    program: Annotated[
        str | None, typer.Option("--program", help="With --text: its programme (e.g. 16.320).")
    ] = None,
    recipient: Annotated[
        str | None, typer.Option("--recipient", help="With --text: who receives the grant.")
    ] = None,
    funder: Annotated[
        str | None, typer.Option("--funder", help="With --text: who gives the grant.")
    ] = None,
    db: OptionalDbOption = None,
    taxonomy: TaxonomyOption = "csec",
    overrides: OverridesOption = None,
    as_json: JsonOption = False,
) -> None:
    """Why a grant landed where it did: the decision, the scores, every rule that fired with
    its phrase and field (highlighted in the text), and the near misses."""
    from .explain import explain

    given = {"title": title, "program": program, "recipient": recipient, "funder": funder}
    fields = {name: value for name, value in given.items() if value is not None}
    explanation = explain(
        grant_id, text=text, fields=fields, db=db, taxonomy=taxonomy, overrides=overrides
    )
    if as_json:
        print_json(explanation.to_dict())
        return
    _print_explanation(explanation)


def _print_explanation(explanation) -> None:
    from rich.table import Table
    from rich.text import Text

    decision = explanation.decision
    title = Text(f"{explanation.record_id}", style="bold")
    if explanation.grant_id:
        title.append(f"  (grant {explanation.grant_id})")
    title.append(f"  taxonomy {explanation.taxonomy}")
    out.print(title)
    if source := explanation.source:
        where = f"{source['source_file']}" + (
            f", sheet {source['source_sheet']!r}" if source["source_sheet"] else ""
        )
        facts = [
            f"{source['currency'] or ''} {source['amount'] or 'no amount'}".strip(),
            f"year {source['year']}" if source["year"] is not None else "no year",
            f"{where}, row {source['source_row']}",
        ]
        if source["flags"]:
            facts.append(f"flags: {source['flags']}")
        say("   " + " · ".join(facts))
    for field_name, original in explanation.texts.items():
        line = Text(f"{field_name:>12}: ", style="dim")
        body = Text(original)
        for span in explanation.spans:
            if span.field == field_name:
                body.stylize("bold green" if span.counted else "yellow", span.start, span.end)
        out.print(line + body)
    verdict = Text("\napproach: ")
    verdict.append(decision["approach"], style="bold")
    verdict.append(f"  ({decision['approach_shares']}; decided by {decision['decided_by']}")
    verdict.append("; ambiguous)" if decision["ambiguous"] else ")")
    out.print(verdict)
    for name, value in decision.items():
        if name not in ("approach", "approach_shares", "ambiguous", "decided_by"):
            out.print(Text(f"{name}: {value or '-'}"))
    if explanation.override:
        entry = explanation.override
        reviewer = entry.get("reviewer") or "?"
        out.print(Text(f"override {entry['key']} by {reviewer}: {entry['reason']}"))
    if explanation.scores:
        scores = Table(title="scores", title_justify="left", show_edge=False)
        for name in ("dimension", "category", "score"):
            scores.add_column(name, justify="right" if name == "score" else "left")
        for dimension, values in explanation.scores.items():
            for category, score in values.items():
                scores.add_row(Text(dimension), Text(category), f"{score:g}")
        out.print(scores)
    if explanation.hits:
        hits = Table(title="rules that fired", title_justify="left", show_edge=False)
        for name in ("rule", "category", "phrase", "field", "adds"):
            hits.add_column(name)
        for hit in explanation.hits:
            hits.add_row(
                Text(hit.rule_id),
                Text(hit.category),
                Text(hit.phrase, style="bold green"),
                Text(hit.field),
                f"{hit.weight:g} x {hit.field_weight:g}",
            )
        out.print(hits)
    else:
        out.print(Text("no rule fired"))
    if explanation.near_misses:
        misses = Table(title="near misses", title_justify="left", show_edge=False)
        for name in ("rule", "category", "phrase", "why not"):
            misses.add_column(name)
        for miss in explanation.near_misses:
            misses.add_row(
                Text(miss.rule_id or "-"),
                Text(miss.category),
                Text(miss.phrase or "-", style="yellow"),
                Text(miss.reason),
            )
        out.print(misses)
    if explanation.other_records:
        others = ", ".join(explanation.other_records[:5])
        more = len(explanation.other_records) - 5
        suffix = f" and {more} more" if more > 0 else ""
        out.print(Text(f"same grant id: {others}{suffix}", style="dim"))


@taxonomy_app.command("check")
@reports_errors
def taxonomy_check_command(
    file: TaxonomyFileArgument,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also list every rule with its note.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Validate a taxonomy (every error with its line; exit 2) and warn about likely
    mistakes: phrases in two categories, phrases shadowed by a longer one, patterns without
    word boundaries, rules that fire on no example, categories without examples."""
    from .taxonomy_check import check_taxonomy

    report = check_taxonomy(file)
    if as_json:
        print_json(report.to_dict())
        return
    tax = report.taxonomy
    say(
        f"{tax.source}: taxonomy {tax.name} {tax.version} is valid ({len(tax.rules)} rules, "
        f"{len(tax.examples)} examples, {len(report.findings)} warnings)"
    )
    for finding in report.findings:
        say(f"  - warning: {finding}")
    if verbose:
        for rule in tax.rules:
            note = f" - {rule.note}" if rule.note else ""
            say(f"  {rule.id} -> {rule.dimension}.{rule.category} (line {rule.line}){note}")


@taxonomy_app.command("test")
@reports_errors
def taxonomy_test_command(file: TaxonomyFileArgument, as_json: JsonOption = False) -> None:
    """Run the taxonomy's examples; exit 1 if any gives another result than it expects."""
    from .taxonomy_check import test_taxonomy

    report = test_taxonomy(file)
    if as_json:
        print_json(report.to_dict())
    else:
        for result in report.failures:
            where = f"{result.example.file}, line {result.example.line}"
            say(f"FAIL {where}: {result.example.label()}")
            for key, want in result.expected.items():
                got = result.got.get(key)
                say(f"     {key}: expected {want}, got {got}")
            say(f"     because: {result.explanation or 'no rule fired'}")
        passed = len(report.results) - len(report.failures)
        say(f"{report.taxonomy.name}: {passed} of {len(report.results)} examples pass")
    if not report.passed:
        raise typer.Exit(1)


@taxonomy_app.command("list")
@reports_errors
def taxonomy_list_command(as_json: JsonOption = False) -> None:
    """The taxonomies that ship with the analyzer (use their name with --taxonomy)."""
    from .taxonomy import bundled_taxonomies, load_taxonomy

    items = []
    for name in bundled_taxonomies():
        tax = load_taxonomy(name)
        items.append(
            {
                "name": name,
                "version": tax.version,
                "rules": len(tax.rules),
                "examples": len(tax.examples),
                "categories": tax.categories(tax.primary.id),
                "description": tax.description,
            }
        )
    if as_json:
        print_json(items)
        return
    for item in items:
        say(
            f"{item['name']} {item['version']} ({item['rules']} rules, "
            f"{item['examples']} examples): " + ", ".join(item["categories"])
        )


@app.command("evaluate")
@reports_errors
def evaluate_command(
    gold: Annotated[
        Path,
        typer.Option(
            "--gold",
            help="Hand-labelled CSV: text columns (or record_id) and approach.",
            dir_okay=False,
        ),
    ],
    inputs: InputsArgument = None,
    db: OptionalDbOption = None,
    taxonomy: TaxonomyOption = "csec",
    as_json: JsonOption = False,
) -> None:
    """Accuracy, coverage, per-category precision, recall and F1, and the confusion table of
    a taxonomy against a hand-labelled file. Unclassified counts against accuracy and recall,
    never against a category's precision."""
    from rich.table import Table

    from .evaluate import evaluate

    result = evaluate(gold, taxonomy=taxonomy, inputs=inputs, db=db)
    if as_json:
        print_json(result.to_dict())
        return

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    say(
        f"{result.gold} ({result.rows} labelled rows) with taxonomy {result.taxonomy}\n"
        f"accuracy {result.accuracy:.3f}   coverage {result.coverage:.3f}   "
        f"precision when classified {pct(result.precision_when_classified)}"
    )
    table = Table(show_edge=False)
    for name in ("category", "gold", "predicted", "correct", "precision", "recall", "F1"):
        table.add_column(name, justify="left" if name == "category" else "right")
    for c in result.categories:
        table.add_row(
            c.category, str(c.support), str(c.predicted), str(c.correct),
            pct(c.precision), pct(c.recall), pct(c.f1),
        )  # fmt: skip
    out.print(table)
    confusion = Table(title="confusion (rows: gold, columns: predicted)", title_justify="left",
                      show_edge=False)  # fmt: skip
    labels = list(result.confusion)
    confusion.add_column("")
    for label in labels:
        confusion.add_column(label[:12], justify="right")
    for gold_label, row in result.confusion.items():
        confusion.add_row(gold_label, *[str(row[p]) if row[p] else "." for p in labels])
    out.print(confusion)


# --- Report: analyze, review apply ------------------------------------------------------------


@app.command("analyze")
@reports_errors
def analyze_command(
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(
            help=INPUTS_HELP + " None: the grants already in --db, or the bundled sample data.",
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
    funder: FunderOption = None,
    years_in_columns: YearsInColumnsOption = False,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="With --db: replace files of the same name already loaded."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Run the whole job: read, classify, aggregate, chart; write brief.html, workbook.xlsx,
    summary.json, classified.csv and charts/ into the output folder."""
    from .analyze import analyze

    analysis = analyze(
        inputs or None,
        taxonomy=taxonomy,
        out=out_dir,
        db=db,
        policy=policy,
        overrides=overrides,
        progress=not quiet,
        replace=replace,
        **ingest_options(
            sheet,
            map_options,
            mapping_file,
            currency,
            fiscal_year_start,
            year,
            funder,
            years_in_columns,
        ),
    )
    for sentence in analysis.headline():
        say(f"- {sentence}")
    out.print("")
    for kind in ("brief", "workbook", "summary", "classified", "charts"):
        if kind in analysis.files:
            say(f"{kind:<11} {analysis.files[kind]}")


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
        say(
            f"No decisions in the Review sheet of {workbook.name}: pick a category (or write "
            "shares) and give a reason on the rows you decide, save, and run this again."
        )
        return
    say(
        f"{decisions.height} decision(s) from {workbook.name} are in {ledger}. Apply them with "
        f"--overrides {ledger} (analyzer analyze or analyzer classify)."
    )


if __name__ == "__main__":
    app()
