"""Charts: inline map data with the states, a coverage note on every chart, top funders plus
"Other", the diverging palette, and offline PNG/SVG export."""

from __future__ import annotations

import json
from decimal import Decimal

import polars as pl
import pytest
from report_support import CSEC_LIKE, NO_SIDES, hand_store, run_analysis

from analyzer.aggregate import Scale, summarize
from analyzer.charts import (
    CHARTS,
    build_charts,
    category_colors,
    export_charts,
    top_with_other,
    us_states,
)


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    return run_analysis(tmp_path_factory.mktemp("charts"))


def _subtitle(spec: dict) -> str:
    title = spec.get("title") or {}
    subtitle = title.get("subtitle", []) if isinstance(title, dict) else []
    return " ".join(subtitle if isinstance(subtitle, list) else [subtitle])


def _urls(node) -> list[str]:
    """Every "url" key anywhere in a spec."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "url":
                found.append(value)
            found += _urls(value)
    elif isinstance(node, list):
        for item in node:
            found += _urls(item)
    return found


def test_every_chart_is_built_for_the_fixture(analysis):
    assert set(analysis.charts) == set(CHARTS)


def test_every_chart_says_what_share_of_the_money_it_covers(analysis):
    coverage = analysis.summary.headline()["coverage"]
    percent = f"{coverage * 100:.0f}%"
    for name, chart in analysis.charts.items():
        subtitle = _subtitle(chart.to_dict())
        assert "of in-scope money" in subtitle, name
        assert percent in subtitle, name
        assert "Money in USD" in subtitle and "CAD" in subtitle, name


def test_map_boundaries_are_inline_and_hold_the_states(analysis):
    spec = analysis.charts["state_map"].to_dict()
    assert _urls(spec) == []
    topology = spec["datasets"]["us_states"]
    geometries = topology["objects"]["states"]["geometries"]
    names = {g["properties"]["name"] for g in geometries}
    assert len(geometries) >= 50 and {"New York", "California", "Texas"} <= names
    # the state data joined to the shapes carries the FIPS ids the boundaries use
    values = [d for d in _datasets(spec) if isinstance(d, list) and d and "id" in d[0]]
    assert values and {row["state"] for row in values[0]} <= set(us_states())
    assert {row["id"] for row in values[0]} <= {g["id"] for g in geometries}


def _datasets(spec: dict) -> list:
    """The inline datasets of a spec (Altair moves inline values to top-level datasets)."""
    return list(spec.get("datasets", {}).values())


def test_no_chart_loads_data_from_a_url(analysis):
    for name, chart in analysis.charts.items():
        assert _urls(chart.to_dict()) == [], name


def test_categories_are_in_scale_order_with_a_diverging_palette():
    scale = Scale.from_info(CSEC_LIKE)
    colors = category_colors(scale)
    red = lambda c: int(colors[c][1:3], 16)  # noqa: E731
    blue = lambda c: int(colors[c][5:7], 16)  # noqa: E731
    for category in ("response", "intervention"):
        assert red(category) > blue(category), category
    for category in ("resilience-building", "structural-prevention"):
        assert blue(category) > red(category), category
    # darker towards each end of the scale
    lightness = lambda c: sum(int(colors[c][i : i + 2], 16) for i in (1, 3, 5))  # noqa: E731
    assert lightness("response") < lightness("intervention")
    assert lightness("structural-prevention") < lightness("resilience-building")


def test_many_funders_become_the_largest_plus_other():
    rows = [
        {
            "record_id": f"r{i}",
            "funder": f"Funder {i:02d}",
            "amount": f"{(i + 1) * 100}.00",
            "year": 2020 + i % 3,
            "state": "NY",
            "approach": "response",
        }
        for i in range(30)
    ]
    summary = summarize(hand_store(rows), Scale.from_info(CSEC_LIKE))
    charts = build_charts(summary, top_n=5)
    spec = json.dumps(charts["funders"].to_dict())
    assert "Other (25 funders)" in spec
    assert "Funder 29" in spec and "Funder 03" not in spec
    frame = summary["approach_by_funder"]
    grouped = top_with_other(frame, "funder", summary["by_funder"], 5, "funders")
    assert grouped["amount"].sum() == frame["amount"].sum()
    assert grouped["funder"].n_unique() == 6


def test_a_taxonomy_without_sides_still_charts():
    rows = [
        {
            "record_id": "a",
            "funder": "F",
            "amount": "10.00",
            "year": 2020,
            "state": "NY",
            "approach": "primary",
        },
        {
            "record_id": "b",
            "funder": "G",
            "amount": "30.00",
            "year": 2021,
            "state": "CA",
            "approach": "tertiary",
        },
    ]
    summary = summarize(hand_store(rows), Scale.from_info(NO_SIDES))
    charts = build_charts(summary)
    assert {"approach_mix", "funders", "state_map", "coverage"} <= set(charts)
    assert "prevention_share" not in json.dumps(
        charts["state_map"].to_dict()["layer"][1]["encoding"]["color"]
    )


def test_export_writes_png_and_svg_with_drawn_marks(analysis, tmp_path):
    written = export_charts(
        {
            "state_map": analysis.charts["state_map"],
            "approach_mix": analysis.charts["approach_mix"],
        },
        tmp_path,
    )
    assert sorted(p.name for p in written) == [
        "approach_mix.png",
        "approach_mix.svg",
        "state_map.png",
        "state_map.svg",
    ]
    assert (tmp_path / "state_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (tmp_path / "state_map.svg").read_text()
    assert svg.count("<path") >= 48
    assert (tmp_path / "approach_mix.svg").read_text().count("<path") >= 4


def test_charts_use_the_main_currency_only():
    rows = [
        {
            "record_id": "a",
            "funder": "F",
            "amount": "10.00",
            "currency": "USD",
            "approach": "response",
            "year": 2020,
            "state": "NY",
        },
        {
            "record_id": "b",
            "funder": "F",
            "amount": "9.00",
            "currency": "EUR",
            "approach": "response",
            "year": 2020,
            "state": "NY",
        },
        {
            "record_id": "c",
            "funder": "F",
            "amount": "20.00",
            "currency": "USD",
            "approach": "structural-prevention",
            "year": 2020,
            "state": "NY",
        },
    ]
    summary = summarize(hand_store(rows), Scale.from_info(CSEC_LIKE))
    assert summary.main_currency == "USD"
    spec = build_charts(summary)["approach_mix"].to_dict()
    values = next(d for d in _datasets(spec) if isinstance(d, list))
    assert sum(Decimal(str(v["amount"])) for v in values) == Decimal("30")
    assert "EUR" in _subtitle(spec)
    assert pl.Series([v["funder"] for v in values]).unique().to_list() == ["F"]


def test_a_scale_listing_the_causes_side_first_keeps_its_far_ends():
    levels = Scale.from_info(
        {
            "name": "levels",
            "primary": {
                "categories": [
                    {"id": "primary", "label": "Primary", "order": 1, "side": "causes"},
                    {"id": "secondary", "label": "Secondary", "order": 2, "side": "symptoms"},
                    {"id": "tertiary", "label": "Tertiary", "order": 3, "side": "symptoms"},
                ]
            },
        }
    )
    assert not levels.symptoms_first
    assert levels.structural.id == "primary"
    colors = category_colors(levels)
    lightness = lambda c: sum(int(colors[c][i : i + 2], 16) for i in (1, 3, 5))  # noqa: E731
    assert lightness("tertiary") < lightness("secondary")  # the far symptoms end is darkest
    assert int(colors["primary"][5:7], 16) > int(colors["primary"][1:3], 16)  # causes: blue
