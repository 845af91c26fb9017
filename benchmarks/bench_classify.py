"""Benchmark: classify 1M generated grant rows with the default taxonomy, explanations included.

    /work/venv/bin/python benchmarks/bench_classify.py            # 1,000,000 rows
    /work/venv/bin/python benchmarks/bench_classify.py --rows 200000 --taxonomy prevention-levels
    /work/venv/bin/python benchmarks/bench_classify.py --without-matches   # as `analyze` needs it
    /work/venv/bin/python benchmarks/bench_classify.py --realdata   # the real files, repeated

Prints rows/s and peak memory of the engine (measured in a fresh subprocess: ru_maxrss, beside
the memory of the input rows alone) and two references run in the same process on the
same rows and the same phrase variants:

* a per-row Python ``re`` loop (one word-bounded alternation per rule, run on a sample and
  scaled): what a straightforward implementation costs;
* one polars ``str.contains_any`` pass over all phrase variants on the lower-cased text of
  the five fields joined (no word boundaries, no rule logic, no explanations): the floor.

The texts are generated from grant-like sentence fragments (openers, activities, people,
places, purposes, budget boilerplate) of mixed length: bare titles, one-line council items,
long federal award descriptions (some in capitals, as USAspending writes them). They carry
about 250 bytes of text a row over the five text fields, like the real files in
../shared/realdata (240 bytes a row on average, from 133 for a foundation's list to 650 for
USAspending), and about 13 rule hits a row with the default taxonomy: denser in rule
vocabulary, and with more distinct long descriptions (30% of rows), than the real files.

With ``--realdata`` the rows are instead the 7,793 real grants of ../shared/realdata, read by
the analyzer and repeated to ``--rows``: real wording, real repetition of funders, programmes
and boilerplate (about 6 rule hits a row).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import polars as pl

OPENERS = [
    "To support",
    "Funding will support",
    "This project will provide",
    "The purpose of this award is to fund",
    "Continuation funding for",
    "The program provides",
    "Grant to expand",
    "To fund",
    "Support for",
    "The grantee will deliver",
    "Funds will be used for",
    "This award supports",
    "To continue",
]
ACTIVITIES = [
    "case management and emergency shelter for survivors of sex trafficking",
    "a prevention education curriculum taught in middle schools",
    "mentoring and life skills groups for at-risk youth",
    "rental assistance and housing navigation for homeless families with children",
    "training for law enforcement officers to identify victims of human trafficking",
    "a multidisciplinary team and forensic interviews at the children's advocacy center",
    "after-school programs, tutoring and summer camp",
    "home-delivered meals and transportation for seniors",
    "uniforms, equipment and gym rental for a youth basketball league",
    "trauma-focused therapy for children exposed to violence",
    "job training and paid internships for young adults",
    "legal advocacy, vacatur and expungement for trafficking survivors",
    "a community arts festival and free concerts in the park",
    "street tree planting and sidewalk repairs",
    "a food pantry and SNAP enrollment assistance",
    "capacity building for community-based organizations",
    "a 24-hour hotline and tip line",
    "data collection on the prevalence of commercial sexual exploitation of children",
    "healthy relationships workshops and online safety lessons for teens",
    "drop-in center services for youth experiencing homelessness",
    "an ICAC task force and undercover operations",
    "family preservation services and kinship care support",
    "early childhood education and home visiting for new parents",
    "substance use treatment for parents in recovery",
    "a safe harbor diversion program for sexually exploited minors",
    "cash assistance and guaranteed income pilots for low-income households",
    "dropout prevention and credit recovery in high schools",
    "mental health services for students in school-based health centers",
    "a survivor-led peer mentoring program for girls leaving the life",
    "museum exhibitions and docent training",
    "workforce development for adults returning from incarceration",
    "broadband expansion in rural areas",
    "general operating support",
    "technical assistance to grantees on evaluation",
    "advocacy for state budget investments in child care and paid family leave",
    "LGBTQ youth support groups and a safe space",
    "foster care recruitment and support for foster youth aging out",
    "a know-the-signs awareness campaign for hotel staff and truck drivers",
    "prosecution of traffickers and buyers by a dedicated prosecutor",
    "residential treatment and aftercare for trafficked youth",
]
PEOPLE = [
    "youth ages 12 to 17",
    "children and families",
    "low-income residents",
    "students and teachers",
    "survivors",
    "older adults",
    "immigrant families",
    "girls of color",
    "first responders",
    "community members",
    "young people in foster care",
    "runaway and homeless youth",
    "victims of crime",
    "parents and caregivers",
    "tribal communities",
    "veterans",
]
PLACES = [
    "in the Bronx",
    "across rural counties",
    "in partnership with the school district",
    "throughout the state",
    "in underserved neighborhoods",
    "at three sites",
    "in Cook County",
    "on the reservation",
    "in the Rio Grande Valley",
    "citywide",
    "in Appalachian Ohio",
]
PURPOSES = [
    "to reduce risk and build protective factors",
    "to improve outcomes",
    "to increase access to services",
    "so that no child is left behind",
    "to strengthen families",
    "to prevent exploitation",
    "to hold offenders accountable",
    "to promote health and safety",
    "to build a stronger community",
    "and evaluate the results",
    "with measurable goals for each quarter",
]
#: What grant texts also say besides the activity: money, time, reporting, partners.
BOILERPLATE = [
    "Funds cover staff salaries, supplies and indirect costs.",
    "The project period is 36 months.",
    "Quarterly progress reports will be submitted to the program officer.",
    "This is a continuation of a prior award.",
    "Matching funds are provided by local partners.",
    "The budget includes travel to the annual grantee meeting.",
    "Activities will be coordinated with existing programs in the area.",
    "The organization has operated since 1987.",
    "A part-time coordinator will manage day-to-day operations.",
    "Outcomes will be tracked in the agency's data system.",
    "Year two of a three-year commitment.",
    "Renewal of support at the same level as last year.",
]
TITLES = [
    "Youth Mentoring Initiative",
    "Safe Harbor Services",
    "FY24 General Operating Support",
    "Anti-Trafficking Task Force",
    "Family Housing Stabilization",
    "Healthy Relationships Project",
    "Senior Meals",
    "Capacity Building",
    "Prevention",
    "Summer Youth Employment",
    "Child Advocacy Center Expansion",
    "Trauma Therapy for Children",
    "Community Arts",
    "Street Repairs",
    "Survivor Legal Services",
    "Early Learning Partnership",
    "Services for Victims of Human Trafficking",
    "School-Based Mental Health",
    "Parks Cleanup",
]
PROGRAMS = [
    "16.320 Services for Victims of Human Trafficking",
    "Youth Services",
    "DYCD",
    "Health",
    "Housing",
    "Education",
    "Arts & Culture",
    "Public Safety",
    "Workforce",
    "VOCA Victim Assistance",
    "Title IV-E",
    "TANF",
    "Community Development",
    "Runaway and Homeless Youth",
    None,
]
ORGS = [
    "Youth Services, Inc.",
    "Community Action Agency",
    "Children's Home Society",
    "Police Department",
    "Family Services",
    "County of Fresno",
    "Boys & Girls Club",
    "Legal Aid Society",
    "University of Michigan",
    "Arts Council",
    "Housing Authority",
    "Public Schools",
    "Coalition Against Trafficking",
    "Health Center",
    "Senior Center",
    "Foundation",
]
PLACE_NAMES = [
    "Bronx",
    "Chicago",
    "Fresno",
    "Tulsa",
    "Atlanta",
    "Metro Detroit",
    "Rural Ohio",
    "Tucson",
]
FUNDERS = [
    "Department of Justice",
    "New York City Council",
    "The Avery Foundation",
    "Texas Office of the Governor",
    "Administration for Children and Families",
    "Kresge Foundation",
    "State of Ohio",
    "United Way",
]


def choices(k: int, rows: int, seed: int) -> pl.Series:
    """`rows` random integers in [0, k), vectorised."""
    return pl.Series(range(k), dtype=pl.UInt32).sample(rows, with_replacement=True, seed=seed)


def sentence_pool(rng: random.Random, size: int) -> list[str]:
    """Grant-like sentences: opener + activity + people/place/purpose in varying order."""
    out = []
    for _ in range(size):
        parts = [rng.choice(OPENERS), rng.choice(ACTIVITIES)]
        if rng.random() < 0.7:
            parts.append("for " + rng.choice(PEOPLE))
        if rng.random() < 0.6:
            parts.append(rng.choice(PLACES))
        if rng.random() < 0.5:
            parts.append(rng.choice(PURPOSES))
        out.append(" ".join(parts) + ".")
    return out


def generate(rows: int, seed: int = 7) -> pl.DataFrame:
    """A GRANTS_SCHEMA-like frame of `rows` generated grants (vectorised: a few seconds)."""
    rng = random.Random(seed)
    pool = pl.Series(sentence_pool(rng, 5000))
    boilerplate = pl.Series(BOILERPLATE)
    # Mixed length: most descriptions one activity sentence, some none (a bare title), a tail
    # of long federal-style ones; most also say something about money, time or reporting.
    lengths = pl.Series([0, 1, 1, 1, 1, 1, 1, 1, 2, 3]).gather(choices(10, rows, seed))
    extra = pl.Series([0, 0, 0, 1, 1, 1]).gather(choices(6, rows, seed + 50))
    slots = [
        pl.when(pl.lit(lengths) > k).then(
            pl.lit(pool).gather(choices(len(pool), rows, seed + 1 + k))
        )
        for k in range(5)
    ] + [
        pl.when((pl.lit(lengths) > 0) & (pl.lit(extra) > k)).then(
            pl.lit(boilerplate).gather(choices(len(boilerplate), rows, seed + 60 + k))
        )
        for k in range(2)
    ]

    def pick(values: list, salt: int) -> pl.Expr:
        return pl.lit(pl.Series(values)).gather(choices(len(values), rows, seed + 100 + salt))

    frame = pl.select(
        pl.when(pl.lit(lengths) > 0)
        .then(pl.concat_str(slots, separator=" ", ignore_nulls=True))
        .alias("description"),
        pick(TITLES, 1).alias("title"),
        pick(PROGRAMS, 2).alias("program"),
        (pick(PLACE_NAMES, 3) + " " + pick(ORGS, 4)).alias("recipient"),
        pick(FUNDERS, 5).alias("funder"),
    )
    upper = pl.lit(choices(100, rows, seed + 6) < 15)  # USAspending writes in capitals
    cents = choices(50_000_000, rows, seed + 7).cast(pl.Int64) - 50_000
    return frame.with_columns(
        pl.when(upper)
        .then(pl.col("description").str.to_uppercase())
        .otherwise(pl.col("description")),
        pl.format("bench.csv:{}", pl.int_range(2, rows + 2)).alias("record_id"),
        pl.format("G-{}", pl.int_range(rows)).alias("grant_id"),
        (pl.lit(cents).cast(pl.Decimal(38, 2)) * pl.lit(Decimal("0.01")))
        .cast(pl.Decimal(38, 2))
        .alias("amount"),
    )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


def realdata(rows: int) -> pl.DataFrame:
    """The real grant files, read as the analyzer reads them, repeated to ``rows`` rows."""
    from analyzer.ingest import read_files

    if not REALDATA.is_dir():
        raise SystemExit(f"--realdata: no folder {REALDATA}")
    files = sorted(p for p in REALDATA.iterdir() if p.suffix in (".csv", ".xlsx"))
    grants = read_files(files).grants
    copies = -(-rows // grants.height)
    return pl.concat([grants] * copies).head(rows)


def grant_rows(rows: int, real: bool) -> pl.DataFrame:
    return realdata(rows) if real else generate(rows)


def run_engine(rows: int, taxonomy: str, with_matches: bool, real: bool) -> dict:
    """In a fresh process: read the rows, classify (explanations, matches, allocations),
    measure."""
    from analyzer.classify import classify_grants
    from analyzer.taxonomy import load_taxonomy

    grants = grant_rows(rows, real)
    tax = load_taxonomy(taxonomy)
    data_mb = current_mb()
    start, cpu = time.perf_counter(), time.process_time()
    result = classify_grants(grants, tax, with_matches=with_matches)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    texts = ["title", "description", "program", "recipient", "funder"]
    return {
        "rows": rows,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mb": peak_mb(),
        "data_mb": data_mb,
        "text_bytes": grants.select(pl.sum_horizontal(pl.col(texts).str.len_bytes()).mean()).item(),
        "matches": result.matches.height,
        "allocations": result.allocations.height,
        "explained": int(result.table.get_column("explanation").str.len_bytes().gt(0).sum()),
        "approach": dict(result.table.group_by("approach").len().sort("approach").iter_rows()),
    }


def phrase_lists(taxonomy: str) -> tuple[list[str], list[tuple[str, re.Pattern]]]:
    """All normalised phrase variants, and one word-bounded regex per rule (the references)."""
    from analyzer.classify import compile_taxonomy
    from analyzer.phrases import phrase_variants
    from analyzer.taxonomy import load_taxonomy

    tax = load_taxonomy(taxonomy)
    matcher = compile_taxonomy(tax)
    variants = [v.strip() for v in matcher.variants]
    per_rule = []
    for rule in tax.rules:
        words = sorted({v for p in rule.phrases for v in phrase_variants(p)}, key=len, reverse=True)
        alternatives = [r"\s+".join(map(re.escape, w.split())) for w in words] + list(rule.patterns)
        if alternatives:
            per_rule.append((rule.id, re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.I)))
    return variants, per_rule


def run_references(rows: int, taxonomy: str, sample: int, real: bool) -> dict:
    grants = grant_rows(rows, real)
    variants, per_rule = phrase_lists(taxonomy)
    fields = ["title", "description", "program", "recipient", "funder"]

    start = time.perf_counter()
    texts = grants.select(
        pl.concat_str(fields, separator=" ", ignore_nulls=True).str.to_lowercase()
    )
    texts.to_series().str.contains_any(variants, ascii_case_insensitive=True)
    floor = time.perf_counter() - start

    rows_sample = grants.head(sample).select(fields).iter_rows()
    start = time.perf_counter()
    for row in rows_sample:
        for text in row:
            if text:
                lowered = text.lower()
                for _rule_id, pattern in per_rule:
                    pattern.findall(lowered)
    python_re = (time.perf_counter() - start) * rows / sample
    return {
        "floor_seconds": floor,
        "re_seconds": python_re,
        "re_sample": sample,
        "variants": len(variants),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--taxonomy", default="csec")
    parser.add_argument(
        "--sample", type=int, default=20_000, help="rows for the Python re reference"
    )
    parser.add_argument(
        "--without-matches",
        action="store_true",
        help="leave out the matches frame (one row per rule hit), as `analyze` without --db does",
    )
    parser.add_argument(
        "--realdata",
        action="store_true",
        help="classify the real files of ../shared/realdata, repeated, instead of generated rows",
    )
    parser.add_argument("--child", choices=["engine"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "engine":
        result = run_engine(args.rows, args.taxonomy, not args.without_matches, args.realdata)
        print(json.dumps(result))
        return

    command = [
        sys.executable,
        __file__,
        "--child",
        "engine",
        "--rows",
        str(args.rows),
        "--taxonomy",
        args.taxonomy,
        *(["--without-matches"] if args.without_matches else []),
        *(["--realdata"] if args.realdata else []),
    ]
    engine = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    refs = run_references(args.rows, args.taxonomy, args.sample, args.realdata)
    rows = args.rows
    rate = rows / engine["seconds"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    if args.without_matches:
        included = "explanations and allocations (no matches frame)"
        hits = "matches left out"
    else:
        included = "explanations, matches and allocations"
        hits = f"{engine['matches']:,} rule hits ({engine['matches'] / rows:.1f} a row)"
    lines = [
        f"classify {rows:,} {'real (repeated)' if args.realdata else 'generated'} rows "
        f"({engine['text_bytes']:.0f} bytes of text a row), "
        f"taxonomy {args.taxonomy} ({refs['variants']:,} phrase variants); "
        f"{pl.thread_pool_size()} polars threads, load average {load}",
        f"  engine, {included} included: {engine['seconds']:.2f} s "
        f"(CPU {engine['cpu_seconds']:.2f} s) = {rate:,.0f} rows/s",
        f"    peak RSS {engine['peak_mb']:,.0f} MB (the input rows alone: "
        f"{engine['data_mb']:,.0f} MB)",
        f"    {hits}, "
        f"{engine['explained']:,} grants explained, {engine['allocations']:,} allocation rows",
        f"    approach: {engine['approach']}",
        f"  floor (one str.contains_any over all phrases): {refs['floor_seconds']:.2f} s = "
        f"{rows / refs['floor_seconds']:,.0f} rows/s; "
        f"engine / floor = {engine['seconds'] / refs['floor_seconds']:.1f}x",
        f"  per-row Python re loop ({refs['re_sample']:,}-row sample, scaled): "
        f"{refs['re_seconds']:.0f} s = {rows / refs['re_seconds']:,.0f} rows/s; "
        f"the engine is {refs['re_seconds'] / engine['seconds']:.0f}x faster",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
