"""The whole job on a large portfolio: `analyzer analyze` on a generated 1M-row CSV.

    python benchmarks/bench_analyze.py                # 1,000,000 rows
    python benchmarks/bench_analyze.py --rows 100000  # quicker

Generates the CSV under benchmarks/out/ (kept between runs: grant texts written the way grant
lists word them, across the codebook's categories, out-of-scope and vague grants; 60 funders,
every state, fiscal years 2015-2025, a few CAD grants), then runs `analyzer analyze` on it in a
fresh subprocess and prints the wall time of each stage (from the command's own progress
lines), the total, and the child's peak memory (ru_maxrss, which sees polars' and DuckDB's
native allocations).

Targets on a 2-core machine: under 60 s and under 4 GB for 1M rows.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).parent / "out"
TARGET_SECONDS = 60
TARGET_BYTES = 4 * 1024**3

#: (title, description) templates per kind of grant; {place} and {group} are filled in.
TEMPLATES = {
    "response": [
        (
            "Human Trafficking Task Force",
            "Overtime and equipment for the {place} human "
            "trafficking task force to investigate and prosecute the sex trafficking of minors.",
        ),
        (
            "ICAC Task Force Program",
            "Internet Crimes Against Children task force "
            "investigations, forensic examinations and training for officers in {place}.",
        ),
        (
            "Victim identification training",
            "Training for hotel staff, school nurses and "
            "emergency room clinicians to recognize and report signs of child sex trafficking.",
        ),
        (
            "Prevalence study",
            "Research to estimate the number of commercially sexually "
            "exploited children in {place} and build a data system to count victims.",
        ),
    ],
    "intervention": [
        (
            "Safe home for survivors",
            "Emergency shelter beds, case management and trauma-"
            "focused therapy for girls who are survivors of commercial sexual exploitation.",
        ),
        (
            "Specialized victim services",
            "Comprehensive services for youth identified as "
            "victims of sex trafficking, including legal advocacy and vacatur of convictions.",
        ),
        (
            "Survivor mentoring",
            "Survivor mentors and a drop-in center for exploited youth in {place}.",
        ),
    ],
    "resilience": [
        (
            "Prevention education",
            "A healthy relationships and grooming awareness curriculum "
            "for middle school students in {place}.",
        ),
        (
            "Youth empowerment groups",
            "Mentoring, life skills and self-esteem groups for at-risk {group} in foster care.",
        ),
    ],
    "structural": [
        (
            "Family housing stability",
            "Rental assistance and homelessness prevention for "
            "low-income families with children in {place}.",
        ),
        (
            "Early childhood education",
            "Early childhood education and school readiness for "
            "children in low-income neighborhoods of {place}.",
        ),
        (
            "Youth shelter and transitional living",
            "Street outreach, emergency shelter and a "
            "transitional living program for runaway and homeless youth.",
        ),
        (
            "Family income supports",
            "Cash transfers and income support for families with "
            "young children, with job training for parents.",
        ),
    ],
    "out_of_scope": [
        (
            "Senior nutrition",
            "Home-delivered meals and transportation to medical "
            "appointments for senior citizens living alone in {place}.",
        ),
        (
            "Public library renovation",
            "Renovation of the main branch of the {place} public "
            "library, including a new roof and accessible entrances.",
        ),
        (
            "Adult workforce training",
            "Job training and certification for unemployed adult "
            "workers in the manufacturing sector.",
        ),
    ],
    "vague": [
        ("General operating support", "General operating support."),
        ("Prevention", ""),
        ("Capacity building", "Capacity-building support for the organization's mission."),
    ],
}
KIND_WEIGHTS = {"response": 24, "intervention": 22, "resilience": 12, "structural": 14,
                "out_of_scope": 20, "vague": 8}  # fmt: skip
STATES = [
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "DE",
    "DC",
    "FL",
    "GA",
    "HI",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "ME",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "MT",
    "NE",
    "NV",
    "NH",
    "NJ",
    "NM",
    "NY",
    "NC",
    "ND",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VT",
    "VA",
    "WA",
    "WV",
    "WI",
    "WY",
    "PR",
]
GROUPS = ["girls", "youth", "teens", "students", "young people"]
FUNDER_KINDS = ["Department of Justice", "Department of Health and Human Services",
                "State Office of Victim Services", "State Department of Education",
                "Community Foundation", "Family Foundation", "Children's Trust"]  # fmt: skip
HEADER = ["Grant ID", "Funder", "Recipient", "Title", "Description", "Program", "Amount",
          "Currency", "Fiscal Year", "State"]  # fmt: skip


def make_csv(path: Path, rows: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    funders = [f"{rng.choice(FUNDER_KINDS)} {i:02d}" for i in range(60)]
    kinds = list(KIND_WEIGHTS)
    weights = list(KIND_WEIGHTS.values())
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(rows):
            kind = rng.choices(kinds, weights)[0]
            title, description = rng.choice(TEMPLATES[kind])
            state = rng.choice(STATES)
            text = description.format(
                place=f"County {rng.randint(1, 300)}, {state}", group=rng.choice(GROUPS)
            )
            currency = "CAD" if rng.random() < 0.01 else "USD"
            amount = rng.randint(5_000, 2_000_000) + rng.randint(0, 99) / 100
            writer.writerow([
                f"B-{i:07d}", rng.choice(funders), f"Organization {rng.randint(1, 50_000)} Inc",
                title, text, rng.choice(["Victims of Crime", "Youth", "Families", ""]),
                f"{amount:.2f}", currency, rng.randint(2015, 2025), state,
            ])  # fmt: skip


STAGE_LINE = re.compile(
    r"✓\s+(?P<stage>.+?)\s+(?P<seconds>[\d.]+) s\s+peak\s+(?P<peak>[\d.]+) GB\s+(?P<detail>.*)$"
)


def run_analyze(csv_path: Path, out: Path) -> tuple[float, int, list[tuple[str, float, str]]]:
    """Run `analyzer analyze` in a fresh process: wall seconds, peak RSS bytes, stage lines.

    The child is this script's only subprocess, so the children's ru_maxrss is its peak."""
    command = [sys.executable, "-m", "analyzer", "analyze", str(csv_path), "--out", str(out)]
    start = time.perf_counter()
    child = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if child.returncode != 0:
        sys.exit(f"analyzer analyze failed ({child.returncode}):\n{child.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    stages = []
    for line in child.stderr.splitlines():
        match = STAGE_LINE.search(line)
        if match:
            detail = f"peak so far {match['peak']} GB  {match['detail']}"
            stages.append((match["stage"], float(match["seconds"]), detail))
    print(child.stdout.strip())
    return seconds, peak, stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    csv_path = OUT / f"analyze_{args.rows}.csv"
    if not csv_path.exists():
        start = time.perf_counter()
        make_csv(csv_path, args.rows)
        print(
            f"generated {csv_path} ({csv_path.stat().st_size / 1e6:.0f} MB) "
            f"in {time.perf_counter() - start:.0f} s"
        )
    seconds, peak, stages = run_analyze(csv_path, OUT / f"analyze_{args.rows}_report")
    print(f"\n`analyzer analyze` on {args.rows:,} rows ({os.cpu_count()} cores)")
    for stage, stage_seconds, detail in stages:
        print(f"  {stage:<15} {stage_seconds:6.1f} s  {detail}")
    print(
        f"  {'total (wall)':<15} {seconds:6.1f} s  (target < {TARGET_SECONDS} s: "
        f"{'met' if seconds < TARGET_SECONDS else 'MISSED'})"
    )
    print(
        f"  {'peak memory':<15} {peak / 1024**3:6.2f} GB (target < {TARGET_BYTES / 1024**3:.0f} "
        f"GB: {'met' if peak < TARGET_BYTES else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
