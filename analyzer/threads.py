"""Work side by side on the machine's cores.

polars, calamine, DuckDB and zlib release the GIL, and many of their functions run on one
core: threads put the other cores to work without copying data between processes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import polars as pl

Item = TypeVar("Item")
Result = TypeVar("Result")


def in_threads(work: Callable[[Item], Result], items: list[Item]) -> list[Result]:
    """``work`` on each item side by side, results in the items' order. An error is raised
    as the item that caused it comes up, so the first failing item (in order) is reported."""
    if len(items) < 2:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=pl.thread_pool_size()) as pool:
        return list(pool.map(work, items))
