"""The Python API: every CLI verb has a twin function on the package."""

from __future__ import annotations

import importlib
import subprocess
import sys

import analyzer


def test_api_names_stay_functions_after_their_modules_are_imported() -> None:
    for module in ("analyze", "classify", "ingest", "explain", "evaluate", "review"):
        importlib.import_module(f"analyzer.{module}")
    for name in analyzer.__all__:
        assert callable(getattr(analyzer, name)), name


def test_importing_the_package_leaves_heavy_libraries_unloaded() -> None:
    heavy = "{'altair', 'openpyxl', 'vl_convert'}"
    code = f"import sys, analyzer; print(sorted({heavy} & set(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
