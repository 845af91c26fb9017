"""brief.html: input text is escaped (also inside the embedded chart JSON), the page loads
nothing from the network, and its headline sentences say what the data says."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from report_support import (
    SCRIPT_PAYLOADS,
    expected_figures,
    load_summary_json,
    read_classified,
    run_analysis,
)

from analyzer.formatting import format_money, format_share
from analyzer.report import RISK_FACTOR_CAVEAT, headline_sentences, script_json


@pytest.fixture(scope="module")
def brief(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    analysis = run_analysis(out)
    html = (out / "brief.html").read_text(encoding="utf-8")
    rows = read_classified(out / "classified.csv")
    summary_json = load_summary_json(out / "summary.json")
    return analysis, html, rows, summary_json


class _Page(HTMLParser):
    """Every start tag with its attributes, and the text of every <script> element."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._in_script: dict | None = None
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "script":
            self._in_script = attributes
            self.scripts.append((attributes, ""))
        if tag == "style":
            self._in_style = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_script is not None:
            attributes, text = self.scripts[-1]
            self.scripts[-1] = (attributes, text + data)
        if self._in_style:
            self.styles.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def test_script_payloads_in_the_input_are_escaped(brief):
    analysis, html, _, _ = brief
    for payload in SCRIPT_PAYLOADS:
        assert payload not in html, payload
    # they are shown, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Org" in html
    assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in html  # the review table
    assert "alert(3)&lt;/script&gt; Fund" in html  # the funder table
    page = _parse(html)
    # exactly our scripts: the Vega bundle, one JSON spec per chart, the embedding code
    assert len(page.scripts) == len(analysis.charts) + 2
    specs = [
        text for attributes, text in page.scripts if attributes.get("type") == "application/json"
    ]
    assert len(specs) == len(analysis.charts)
    for text in specs:
        assert "<" not in text and ">" not in text and "&" not in text
        json.loads(text)  # still valid JSON
    assert any("alert(3)\\u003c/script\\u003e" in text for text in specs)


def test_the_hyperlink_formula_is_only_text(brief):
    _, html, _, _ = brief
    page = _parse(html)
    assert "=HYPERLINK(" in html
    for _, attributes in page.tags:
        for value in attributes.values():
            assert "evil.example" not in (value or "")


def test_the_page_loads_nothing_from_the_network(brief):
    _, html, _, _ = brief
    page = _parse(html)
    for tag, attributes in page.tags:
        assert tag not in {"link", "iframe", "img", "object", "embed", "base"}, tag
        for name in ("src", "href", "data", "action", "poster", "srcset"):
            value = (attributes.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (tag, name, value)
    css = "".join(page.styles).lower()
    assert "@import" not in css and "url(" not in css
    assert "@media print" in css


def test_headline_sentences_say_what_the_data_says(brief):
    analysis, html, rows, summary_json = brief
    figures = expected_figures(rows, summary_json["categories"], split=False)["USD"]
    sentences = headline_sentences(analysis.summary)
    first = sentences[0]
    assert first.startswith(
        f"Of {format_money(figures['classified'], 'USD')} classified "
        f"({format_share(figures['coverage'])} of in-scope money)"
    )
    symptoms = re.search(r"(\d+)% goes to the symptoms side", first)
    causes = re.search(r"(\d+)% goes to the causes side", first)
    assert int(symptoms.group(1)) == round((1 - figures["prevention_share"]) * 100)
    assert int(causes.group(1)) == round(figures["prevention_share"] * 100)
    text = " ".join(sentences)
    assert f"{format_share(figures['structural_share'])} of classified money" in text
    assert f"ratio {figures['symptoms_to_causes']:.1f} to 1" in text
    assert format_money(figures["out_of_scope"], "USD") in text
    unclassified = sum(
        1 for r in rows if r["approach"] == "unclassified" and r["currency"] == "USD"
    )
    assert f"{unclassified} grant" in text
    assert "CAD" in sentences[-1] and "never added to USD" in sentences[-1]
    # the brief opens with them (escaped)
    findings = html.index('id="findings"')
    charts = html.index('id="charts"')
    for sentence in sentences:
        escaped = sentence.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        escaped = escaped.replace("'", "&#39;").replace('"', "&#34;")
        assert findings < html.index(escaped) < charts, sentence


def test_sections_review_quality_and_methodology(brief):
    analysis, html, rows, _ = brief
    run = analysis.run
    unclassified = [r for r in rows if r["approach"] == "unclassified"]
    assert unclassified
    for row in unclassified:
        assert f"row {row['source_row']}</code>" in html
    assert "amount is not a number" in html and "total or subtotal row" in html
    assert run["taxonomy_sha256"] in html
    assert f"{run['rule_count']} rules" in html
    assert "allocation policy <strong>primary</strong>" in html
    assert RISK_FACTOR_CAVEAT.replace("'", "&#39;") in html
    for chart in analysis.charts:
        assert f'data-chart="{chart}"' in html


def test_script_json_cannot_close_a_script_element():
    data = {"text": "</script><script>alert(1)</script><!-- & \u2028"}
    text = script_json(data)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == data


def test_trend_and_ratio_sentences_on_a_hand_built_store():
    from report_support import CSEC_LIKE, hand_store

    from analyzer.aggregate import Scale, summarize

    rows = [
        {"record_id": "a", "funder": "F", "amount": "100.00", "year": 2020, "approach": "response"},
        {"record_id": "b", "funder": "F", "amount": "100.00", "year": 2021, "approach": "response"},
        {
            "record_id": "c",
            "funder": "F",
            "amount": "300.00",
            "year": 2021,
            "approach": "structural-prevention",
        },
    ]
    sentences = headline_sentences(summarize(hand_store(rows), Scale.from_info(CSEC_LIKE)))
    text = " ".join(sentences)
    assert sentences[0].startswith("Of $500 classified (100% of in-scope money), 40% goes to")
    assert "The causes side receives 1.5 times as much as the symptoms side" in text
    assert "ratio 0.7 to 1" in text
    assert (
        "From 2020 ($100 classified) to 2021 ($400), the prevention share rose from 0% to 75% "
        "(+75 points)." in text
    )
