"""How good is a taxonomy? Accuracy, coverage, precision, recall, F1 and confusion against a
hand-labelled file.

The gold file is a CSV with an ``approach`` column (the expected primary category) and either

* the grant's text: any of ``title``, ``description`` (or ``text``), ``program``,
  ``recipient``, ``funder``, plus an optional ``id``; or
* a ``record_id`` whose text is looked up in the given spreadsheets or store.

A prediction of ``unclassified`` is the engine declining to guess: it counts against accuracy
and against the recall of the gold category, but never against any category's precision, so
a taxonomy that leaves a hard grant unclassified scores better than one that guesses wrong.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from .classify import classify_grants
from .errors import AnalyzerError, InputFileError, Location
from .schema import TEXT_FIELDS
from .taxonomy import UNCLASSIFIED, Taxonomy, load_taxonomy


@dataclass
class CategoryScore:
    category: str
    support: int  # gold rows of this category
    predicted: int  # rows predicted as this category
    correct: int
    precision: float | None  # None when nothing was predicted as this category
    recall: float | None  # None when no gold row has this category
    f1: float | None


@dataclass
class Evaluation:
    gold: str
    taxonomy: str
    rows: int
    correct: int
    classified: int  # predictions other than unclassified
    categories: list[CategoryScore]
    #: gold category -> predicted category -> count, in scale order.
    confusion: dict[str, dict[str, int]]
    #: Rows where prediction and gold differ: id, gold, predicted, explanation.
    errors: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0  # gold rows without a label

    @property
    def accuracy(self) -> float:
        return self.correct / self.rows if self.rows else 0.0

    @property
    def coverage(self) -> float:
        """Share of rows the taxonomy decided (anything but unclassified)."""
        return self.classified / self.rows if self.rows else 0.0

    @property
    def precision_when_classified(self) -> float | None:
        """Accuracy on the rows it did classify: how often a decision is right."""
        return self.correct_classified / self.classified if self.classified else None

    @property
    def correct_classified(self) -> int:
        return sum(c.correct for c in self.categories if c.category != UNCLASSIFIED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "gold": self.gold,
            "taxonomy": self.taxonomy,
            "rows": self.rows,
            "skipped": self.skipped,
            "accuracy": self.accuracy,
            "coverage": self.coverage,
            "precision_when_classified": self.precision_when_classified,
            "categories": [vars(c) for c in self.categories],
            "confusion": self.confusion,
            "errors": self.errors,
        }


def evaluate(
    gold: str | Path,
    *,
    taxonomy: str | Path | Taxonomy = "csec",
    inputs: Iterable[str | Path] | None = None,
    db: str | Path | None = None,
) -> Evaluation:
    """Classify the gold rows with ``taxonomy`` and compare with their labels."""
    gold = Path(gold)
    tax = load_taxonomy(taxonomy)
    labels = tax.categories(tax.primary.id)
    frame = _read_gold(gold)
    label_column = _label_column(frame, gold, tax.primary.id)
    labelled = frame.with_row_index("line", offset=2).filter(
        pl.col(label_column).str.strip_chars().fill_null("") != ""
    )
    _check_labels(labelled, label_column, labels, gold)
    grants = _gold_grants(labelled, gold, inputs=inputs, db=db)
    table = classify_grants(grants, tax).table
    pairs = pl.DataFrame(
        {
            "id": grants.get_column("record_id"),
            "gold": labelled.get_column(label_column).str.strip_chars(),
            "predicted": table.get_column("approach"),
            "explanation": table.get_column("explanation"),
        }
    )
    return _score(pairs, labels, gold, tax, skipped=frame.height - labelled.height)


def _read_gold(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise InputFileError(f"gold file not found: {path}", location=Location(path.name))
    try:
        return pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except pl.exceptions.PolarsError as error:
        raise InputFileError(
            f"cannot read gold file {path.name}: {error}",
            location=Location(path.name),
            hint="save it as a UTF-8 CSV with a header row",
        ) from error


def _label_column(frame: pl.DataFrame, path: Path, dimension: str) -> str:
    for name in (dimension, "approach", "gold", "label"):
        if name in frame.columns:
            return name
    raise InputFileError(
        f"gold file {path.name} has no {dimension!r} column with the expected categories",
        location=Location(path.name, row=1),
        hint=f"columns found: {', '.join(frame.columns)}",
    )


def _check_labels(frame: pl.DataFrame, column: str, labels: list[str], path: Path) -> None:
    unknown = frame.filter(~pl.col(column).str.strip_chars().is_in(labels))
    if unknown.height:
        line, value = unknown.select("line", column).row(0)
        raise AnalyzerError(
            f"unknown category {value!r} in the gold file ({unknown.height} row(s))",
            location=Location(path.name, row=line, column=column),
            hint=f"categories of this taxonomy: {', '.join(labels)}",
        )


def _gold_grants(frame: pl.DataFrame, path: Path, *, inputs, db) -> pl.DataFrame:
    """The gold rows as a grants frame: from their own text, or looked up by record_id."""
    if any(c in frame.columns for c in (*TEXT_FIELDS, "text")):
        line_id = pl.format("{}:{}", pl.lit(path.name), pl.col("line"))
        ids = pl.col("id").fill_null(line_id) if "id" in frame.columns else line_id
        texts = {
            f: pl.col(f) if f in frame.columns else pl.lit(None, pl.String) for f in TEXT_FIELDS
        }
        if "text" in frame.columns:
            texts["description"] = pl.coalesce(texts["description"], pl.col("text"))
        return frame.select(ids.alias("record_id"), *[e.alias(f) for f, e in texts.items()])
    if "record_id" not in frame.columns:
        raise InputFileError(
            f"gold file {path.name} has neither text columns nor a record_id column",
            location=Location(path.name, row=1),
            hint=f"give any of {', '.join(TEXT_FIELDS)}, or record_id with INPUT files or --db",
        )
    grants = _load_grants(inputs, db)
    missing = frame.join(grants, on="record_id", how="anti")
    if missing.height:
        line, record_id = missing.select("line", "record_id").row(0)
        raise AnalyzerError(
            f"record_id {record_id!r} is not among the loaded grants ({missing.height} row(s))",
            location=Location(path.name, row=line, column="record_id"),
            hint="give the spreadsheets the gold file was labelled from, or the store with --db",
        )
    return frame.select("record_id").join(grants, on="record_id", how="left", maintain_order="left")


def _load_grants(inputs, db) -> pl.DataFrame:
    if inputs:
        from .ingest import read_files

        return read_files([Path(p) for p in inputs]).grants
    if db is not None:
        from . import store

        con = store.connect(db, must_exist=True)
        try:
            return store.load_grants(con)
        finally:
            con.close()
    raise AnalyzerError(
        "the gold file names grants by record_id, so their text must come from somewhere",
        hint="give the spreadsheets (INPUT...) or the store (--db DB)",
    )


def _score(
    pairs: pl.DataFrame, labels: list[str], gold: Path, tax: Taxonomy, *, skipped: int
) -> Evaluation:
    counts = {(g, p): n for g, p, n in pairs.group_by("gold", "predicted").len().iter_rows()}
    present = [c for c in labels if any(c in key for key in counts)]
    categories = []
    for category in present:
        support = sum(n for (g, _), n in counts.items() if g == category)
        predicted = sum(n for (_, p), n in counts.items() if p == category)
        correct = counts.get((category, category), 0)
        precision = correct / predicted if predicted else None
        recall = correct / support if support else None
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision is not None and recall is not None and precision + recall > 0
            else (0.0 if precision is not None and recall is not None else None)
        )
        categories.append(
            CategoryScore(category, support, predicted, correct, precision, recall, f1)
        )
    confusion = {g: {p: counts.get((g, p), 0) for p in present} for g in present}
    errors = pairs.filter(pl.col("gold") != pl.col("predicted")).to_dicts()
    return Evaluation(
        gold=str(gold),
        taxonomy=f"{tax.name} {tax.version}",
        rows=pairs.height,
        correct=int((pairs.get_column("gold") == pairs.get_column("predicted")).sum()),
        classified=int((pairs.get_column("predicted") != UNCLASSIFIED).sum()),
        categories=categories,
        confusion=confusion,
        errors=errors,
        skipped=skipped,
    )
