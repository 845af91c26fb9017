"""The whole pipeline: ingest -> classify -> store -> aggregate -> charts -> report -> workbook.

``analyze()`` is what ``analyzer analyze`` runs. It returns an :class:`Analysis` that a notebook
shows as the headline (``_repr_html_``), with the summary tables as polars DataFrames and the
Altair charts (``analysis.charts["approach_mix"]`` displays inline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from .aggregate import Summary


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
