"""Pick the real-data records that were hand-labelled in ``realdata_labels.csv``.

Why: the labelled sample must be reproducible and must not be cherry-picked, yet it has to
oversample the few rows that touch children, youth and trafficking (a whole-portfolio file is
mostly out of scope). This script prints record ids only; it never writes source text anywhere,
because the real files must not be copied into the repository.

Usage: ``python tests/data/sample_realdata.py [REALDATA_DIR]`` (default ``../shared/realdata``
beside the checkout). Record ids follow the analyzer's convention: ``<file>:<record>`` for CSV
(header record = 1, first data record = 2; a quoted multi-line field is one record) and
``<file>:<sheet>:<excel row>`` for xlsx.
"""

from __future__ import annotations

import csv
import io
import random
import re
import sys
from pathlib import Path

SEED = 20240617

USASPENDING = "usaspending_doj_ovc_anti_trafficking_awards_subset.csv"
PWF = "public_welfare_foundation_grants_2013-2019.csv"
NYC = "nyc_council_discretionary_funding_FY2015.csv"
GIVING = "360giving_ab_charitable_trust_2013-2021.xlsx"

TRAFFICKING = re.compile(r"traffick|exploit|prostitut|sex work|commercial sex|ECPAT", re.IGNORECASE)
STRONG_RISK = re.compile(
    r"runaway|homeless|foster|domestic violence|child abuse|abuse|exploit", re.IGNORECASE
)
YOUTH = re.compile(
    r"youth|young (?:people|person|women|men)|juvenile|teen|adolescen|girls|child|school",
    re.IGNORECASE,
)


def csv_records(path: Path, encoding: str, normalise_newlines: bool = False) -> list[list[str]]:
    """All CSV records, header included; list index + 1 is the record number."""
    text = path.read_bytes().decode(encoding)
    if normalise_newlines:  # the NYC file uses classic-Mac CR-only line endings
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return list(csv.reader(io.StringIO(text, newline="")))


def xlsx_rows(path: Path) -> tuple[str, list[tuple[int, str]]]:
    """(sheet name, [(excel row number, joined row text)]) for the first sheet's data rows."""
    import openpyxl

    sheet = openpyxl.load_workbook(path).worksheets[0]
    rows = []
    for row in sheet.iter_rows(min_row=2):
        text = " ".join(str(cell.value) for cell in row if cell.value is not None)
        if text.strip():
            rows.append((row[0].row, text))
    return sheet.title, rows


def pick(rng: random.Random, pool: list, k: int) -> list:
    """k items from pool without replacement (all of them if the pool is smaller), in pool order."""
    chosen = set(rng.sample(range(len(pool)), min(k, len(pool))))
    return [item for i, item in enumerate(pool) if i in chosen]


def sample_usaspending(folder: Path) -> list[str]:
    records = csv_records(folder / USASPENDING, "utf-8")
    return [f"{USASPENDING}:{n}" for n in range(2, len(records) + 1)]


def sample_pwf(rng: random.Random, folder: Path) -> list[str]:
    records = csv_records(folder / PWF, "utf-8")
    header = records[0]
    program = header.index("program")
    youth, other = [], []
    for number, record in enumerate(records[1:], start=2):
        text = " ".join(record)
        is_youth = record[program] == "Youth Justice" or YOUTH.search(text)
        (youth if is_youth else other).append(number)
    chosen = pick(rng, youth, 35) + pick(rng, other, 25)
    return [f"{PWF}:{n}" for n in sorted(chosen)]


def sample_nyc(rng: random.Random, folder: Path) -> list[str]:
    records = csv_records(folder / NYC, "cp1252", normalise_newlines=True)
    header = records[0]
    fields = [
        header.index(name)
        for name in ("Source", "Legal Name of Organization", "Program Name", "Purpose of Funds")
    ]
    trafficking, strong, youth, other = [], [], [], []
    for number, record in enumerate(records[1:], start=2):
        text = " ".join(record[i] for i in fields)
        if TRAFFICKING.search(text):
            trafficking.append(number)
        elif STRONG_RISK.search(text):
            strong.append(number)
        elif YOUTH.search(text):
            youth.append(number)
        else:
            other.append(number)
    chosen = trafficking + pick(rng, strong, 25) + pick(rng, youth, 25) + pick(rng, other, 27)
    return [f"{NYC}:{n}" for n in sorted(chosen)]


def sample_360giving(rng: random.Random, folder: Path) -> list[str]:
    sheet, rows = xlsx_rows(folder / GIVING)
    trafficking = [n for n, text in rows if TRAFFICKING.search(text)]
    youth = [n for n, text in rows if n not in trafficking and YOUTH.search(text)]
    rest = [n for n, _ in rows if n not in trafficking and n not in youth]
    chosen = trafficking + pick(rng, youth, max(0, 35 - len(trafficking))) + pick(rng, rest, 20)
    return [f"{GIVING}:{sheet}:{n}" for n in sorted(chosen)]


def sample(folder: Path) -> list[str]:
    """The full, deterministic list of sampled record ids."""
    rng = random.Random(SEED)
    return (
        sample_usaspending(folder)
        + sample_pwf(rng, folder)
        + sample_nyc(rng, folder)
        + sample_360giving(rng, folder)
    )


def main() -> None:
    default = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    for record_id in sample(folder):
        print(record_id)


if __name__ == "__main__":
    main()
