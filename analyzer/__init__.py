"""Grant and program portfolio analyzer.

The Python API mirrors the command line, verb for verb::

    import analyzer
    result = analyzer.ingest(["grants.xlsx"], db="portfolio.duckdb")
    classified = analyzer.classify(["grants.xlsx"], taxonomy="csec")   # a polars DataFrame
    analysis = analyzer.analyze(["grants.xlsx"], out="reports/mine")     # tables and charts

Names are imported on first use, so ``import analyzer`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

#: public name -> module that defines it
_API = {
    # ingest
    "ingest": "ingest",
    "read_files": "ingest",
    "inspect": "ingest",
    "export": "ingest",
    "summary": "ingest",
    # classify
    "load_taxonomy": "taxonomy",
    "check_taxonomy": "taxonomy",
    "test_taxonomy": "taxonomy",
    "classify": "classify",
    "classify_grants": "classify",
    "explain": "explain",
    "load_overrides": "overrides",
    "evaluate": "evaluate",
    # report
    "analyze": "analyze",
    "apply_review": "review",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'analyzer' has no attribute {name!r}")
