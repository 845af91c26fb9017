"""Grant and program portfolio analyzer.

The Python API mirrors the command line, verb for verb::

    import analyzer
    result = analyzer.ingest(["grants.xlsx"], db="portfolio.duckdb")
    classified = analyzer.classify(["grants.xlsx"], taxonomy="csec")   # a polars DataFrame
    analysis = analyzer.analyze(["grants.xlsx"], out="reports/mine")     # tables and charts

The functions are imported here, eagerly: a module that shares its function's name
(``analyzer.analyze``) would otherwise replace the function on the package once imported.
Heavy libraries (Altair, openpyxl, vl-convert) are imported inside the functions that use them.
"""

from __future__ import annotations

from .analyze import analyze
from .classify import classify, classify_grants
from .evaluate import evaluate
from .explain import explain
from .ingest import export, ingest, inspect, read_files, summary
from .overrides import load_overrides
from .review import apply_review
from .taxonomy import load_taxonomy
from .taxonomy_check import check_taxonomy, test_taxonomy

__version__ = "0.1.0"

__all__ = [
    "analyze",
    "apply_review",
    "check_taxonomy",
    "classify",
    "classify_grants",
    "evaluate",
    "explain",
    "export",
    "ingest",
    "inspect",
    "load_overrides",
    "load_taxonomy",
    "read_files",
    "summary",
    "test_taxonomy",
]
