"""brief.html: input text is escaped (also inside the embedded chart JSON), the page loads
nothing from the network, its headline sentences say what the data says, and it reads well:
tables scroll inside their own containers, the review list is capped with its descriptions cut
and its evidence in the taxonomy's words."""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from types import SimpleNamespace

import polars as pl
import pytest
from report_support import (
    SCRIPT_PAYLOADS,
    expected_figures,
    load_summary_json,
    read_classified,
    run_analysis,
)

from analyzer.formatting import format_money, format_share
from analyzer.report import (
    DESCRIPTION_CHARS,
    REVIEW_ROWS,
    RISK_FACTOR_CAVEAT,
    EvidenceReader,
    headline_sentences,
    render_brief,
    review_group,
    script_json,
    shorten,
)


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

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "wbr", "col", "source"})

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        #: The open elements, and the element each <table> sits directly in.
        self.open: list[tuple[str, dict]] = []
        self.table_parents: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._in_script: dict | None = None
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "table":
            self.table_parents.append(self.open[-1] if self.open else ("", {}))
        if tag not in self.VOID:
            self.open.append((tag, attributes))
        if tag == "script":
            self._in_script = attributes
            self.scripts.append((attributes, ""))
        if tag == "style":
            self._in_style = True

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()[0] == tag:
                break
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
    assert 0 < len(unclassified) <= REVIEW_ROWS
    review = _section(html, "review")
    for row in unclassified:
        assert f"{row['source_file']}, row {row['source_row']}" in review
    assert "Too little evidence: no words about the approach were found." in review
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


def test_coverage_is_not_shown_when_de_obligations_make_it_meaningless() -> None:
    from report_support import CSEC_LIKE, hand_store

    from analyzer.aggregate import Scale, summarize

    rows = [
        {"record_id": "a", "funder": "F", "amount": "100.00", "year": 2020, "approach": "response"},
        {"record_id": "b", "funder": "F", "amount": "-300.00", "year": 2020,
         "approach": "unclassified"},
    ]  # fmt: skip
    first = headline_sentences(summarize(hand_store(rows), Scale.from_info(CSEC_LIKE)))[0]
    assert first.startswith(
        "Of $100 classified (in-scope money nets to -$200 after de-obligations)"
    )


@pytest.mark.parametrize(
    ("amounts", "said"),
    [
        # Only the causes side has money: the ratio is 0, never divided by.
        ({"structural-prevention": "300.00"}, "No classified money goes to the symptoms side."),
        (
            {"response": "-100.00", "structural-prevention": "300.00"},
            "No classified money goes to the symptoms side (its de-obligations exceed its awards).",
        ),
        ({"response": "300.00"}, "No classified money goes to the causes side."),
    ],
)
def test_a_side_without_money_is_said_not_divided_by(amounts: dict, said: str) -> None:
    from report_support import CSEC_LIKE, hand_store

    from analyzer.aggregate import Scale, summarize

    rows = [
        {"record_id": str(i), "funder": "F", "amount": amount, "year": 2020, "approach": approach}
        for i, (approach, amount) in enumerate(amounts.items())
    ]
    assert said in headline_sentences(summarize(hand_store(rows), Scale.from_info(CSEC_LIKE)))


# --- Reading: tables, the review list ----------------------------------------------------------


def _section(html: str, name: str) -> str:
    """The HTML of one <section id=...> of the brief."""
    start = html.index(f'<section id="{name}">')
    return html[start : html.index("</section>", start)]


def test_every_table_sits_in_a_scroll_container_and_words_never_break(brief):
    _, html, _, _ = brief
    page = _parse(html)
    assert len(page.table_parents) >= 10
    for tag, attributes in page.table_parents:
        assert tag == "div" and "table-wrap" in attributes.get("class", "").split()
    css = "".join(page.styles)
    assert re.search(r"\.table-wrap\s*\{[^}]*overflow-x:\s*auto", css)
    assert "anywhere" not in css and "break-all" not in css  # no word split letter by letter
    assert re.search(r"td\.num[^{]*\{[^}]*white-space:\s*nowrap", css)
    assert re.search(r"td\.name[^{]*\{[^}]*min-width", css)
    # names sit in name cells, numbers in right-aligned number cells
    assert '<td class="name">State Office of Victim Services</td>' in html
    print_css = css[css.index("@media print") :]
    assert re.search(r"\.table-wrap\s*\{[^}]*overflow:\s*visible", print_css)


def test_a_single_currency_table_has_no_currency_column(brief):
    """The fixture has USD and CAD, so the tables name the currency of each row."""
    _, html, _, _ = brief
    tables = _section(html, "tables")
    assert "<th>Currency</th>" in tables and '<td class="key">CAD</td>' in tables


def test_an_ambiguous_grant_says_between_which_categories_in_their_labels(brief):
    analysis, html, _, _ = brief
    review = _section(html, "review")
    grant = analysis.classified.filter(pl.col("ambiguous")).row(0, named=True)
    chosen = analysis.summary.scale.label(grant["approach"])
    assert f"Close call between {chosen} (chosen) and " in review
    # the evidence names categories by label, lists phrases once and the fields they were in
    assert (
        f"<strong>{chosen}</strong>: therapy, trauma focused therapy, survivors of child sex "
        "trafficking"
    ).replace("'", "&#39;") in review
    assert "(title, description)" in review
    for rule in analysis.taxonomy.rules:  # no rule id is shown to the reader
        assert f"{rule.id}:" not in review, rule.id
    assert "right-health" not in review  # evidence about other dimensions is left out


def test_the_brief_is_the_same_for_the_same_data(brief):
    analysis, _, _, _ = brief
    first, second = render_brief(analysis), render_brief(analysis)
    stamp = re.compile(r"Generated [^.<]+\.")
    assert stamp.sub("", first) == stamp.sub("", second)


@pytest.fixture(scope="module")
def many_unclassified(tmp_path_factory):
    """A brief of 30 grants that no rule can place, with long ALL-CAPS descriptions; one has
    a large negative amount (a de-obligation)."""
    from analyzer.analyze import analyze

    folder = tmp_path_factory.mktemp("many")
    path = folder / "many.csv"
    words = "THE PROJECT WILL CONTINUE ITS WORK WITH YOUTH IN THE REGION AND REPORT EACH QUARTER "
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Grant ID", "Funder", "Recipient", "Title", "Description", "Amount"])
        for i in range(30):
            amount = -90_000 if i == 3 else 1_000 * (i + 1)
            description = f"GRANT {i:02d} <b>BOLD</b> " + words * 5 + "THE END."
            writer.writerow([f"G-{i}", "Fund", f"Grantee {i}", f"Project {i}", description, amount])
    analysis = analyze([path], out=folder / "out", progress=False)
    html = (folder / "out" / "brief.html").read_text(encoding="utf-8")
    return analysis, html


def test_the_review_list_is_capped_at_the_largest_and_says_how_many_more(many_unclassified):
    analysis, html = many_unclassified
    assert (analysis.classified["approach"] == "unclassified").all()  # the premise
    review = _section(html, "review")
    listed = re.findall(r"many\.csv, row (\d+)", review)
    assert len(listed) == REVIEW_ROWS == 25
    # largest by absolute amount: the -90,000 de-obligation (row 5) first, then 30,000 down
    assert listed[0] == "5"
    assert listed[1:4] == ["31", "30", "29"]
    assert "The 25 largest by amount are listed below; 5 more are not shown here." in review
    assert "All 30 are in the workbook's Review sheet and in classified.csv" in review
    assert "No grant is ambiguous." in review


def test_review_descriptions_are_cut_with_the_full_text_in_details(many_unclassified):
    _, html = many_unclassified
    review = _section(html, "review")
    assert review.count('<details class="full-text">') == REVIEW_ROWS
    full = "GRANT 03 &lt;b&gt;BOLD&lt;/b&gt; THE PROJECT"
    shown = re.search(r"<p>(GRANT 03 [^<]*)</p>", review).group(1)
    assert shown.endswith("…") and len(shown) <= DESCRIPTION_CHARS + 30  # escaped "<" count 4
    assert "THE END." not in shown
    details = re.search(
        r'<details class="full-text"><summary>[^<]*</summary><p>(GRANT 03 [^<]*)</p>', review
    )
    assert details.group(1).startswith(full) and details.group(1).endswith("THE END.")
    assert "<b>BOLD</b>" not in html  # escaped everywhere


def test_shorten_cuts_at_a_word_boundary():
    assert shorten("short text", 250) == "short text"
    text = "word " * 100
    cut = shorten(text, 52)
    assert cut.endswith("word…") and len(cut) <= 53
    assert shorten("x" * 300, 100) == "x" * 100 + "…"  # one long word: cut inside it


def _fake_taxonomy():
    rules = [
        SimpleNamespace(id="resp-police", category="response", dimension="approach", weight=1.0),
        SimpleNamespace(id="resp-court", category="response", dimension="approach", weight=1.0),
        SimpleNamespace(id="int-shelter", category="intervention", dimension="approach", weight=2),
        SimpleNamespace(id="right-health", category="health", dimension="rights", weight=1.0),
    ]
    return SimpleNamespace(
        primary=SimpleNamespace(id="approach"),
        rules=rules,
        settings=SimpleNamespace(field_weights={"title": 1.0, "description": 1.0, "funder": 0.25}),
    )


def test_the_evidence_reader_groups_phrases_per_category_with_labels():
    from report_support import CSEC_LIKE

    from analyzer.aggregate import Scale

    scale = Scale.from_info(CSEC_LIKE)
    reader = EvidenceReader.of(_fake_taxonomy(), scale)
    evidence, notes = reader.read(
        'resp-police: "police" in description; right-health: "clinic" in description; '
        'resp-police: "police" in title; resp-court: "court" in funder; '
        'int-shelter: "shelter" in funder; override by Ann: checked by hand'
    )
    assert notes == ["override by Ann: checked by hand"]
    assert [(e.label, e.phrases, e.fields) for e in evidence] == [
        ("Responding", ("police", "court"), ("description", "title", "funder")),
        ("Serving victims", ("shelter",), ("funder",)),
    ]
    # as the engine counts: each rule once with its best field (1 + 0.25; 2 x 0.25)
    assert [e.weight for e in evidence] == [1.25, 0.5]
    assert reader.read("")[0] == []


def _classified(rows: list[dict]) -> pl.DataFrame:
    base = {
        "approach": "unclassified",
        "ambiguous": False,
        "currency": "USD",
        "decided_by": "none",
        "explanation": "",
        "description": "",
        "title": "T",
        "funder": "F",
        "recipient": "R",
        "year": 2020,
        "source_file": "hand.csv",
        "source_sheet": None,
    }
    return pl.DataFrame(
        [
            {**base, "record_id": f"hand.csv:{i + 2}", "source_row": i + 2, **r}
            for i, r in enumerate(rows)
        ]
    ).with_columns(pl.col("amount").cast(pl.Decimal(38, 2)))


def test_review_group_totals_reasons_and_overrides():
    from report_support import CSEC_LIKE

    from analyzer.aggregate import Scale

    reader = EvidenceReader.of(_fake_taxonomy(), Scale.from_info(CSEC_LIKE))
    classified = _classified(
        [
            {"amount": Decimal("10.00")},
            {"amount": Decimal("-30.00"), "explanation": 'resp-court: "court" in funder'},
            {"amount": Decimal("5.00"), "currency": "CAD"},
            {"amount": Decimal("99.00"), "decided_by": "override"},  # already decided
            {
                "amount": Decimal("20.00"),
                "approach": "intervention",
                "ambiguous": True,
                "decided_by": "rules",
                "explanation": 'int-shelter: "shelter" in title; resp-police: "police" in title',
            },
        ]
    )
    group = review_group(classified, pl.col("approach") == "unclassified", reader)
    assert group["count"] == 3 and group["more"] == 0
    assert [(t["currency"], t["grants"], t["total"]) for t in group["totals"]] == [
        ("USD", 2, Decimal("-20.00")),
        ("CAD", 1, Decimal("5.00")),
    ]
    rows = group["rows"]
    assert [r["amount"] for r in rows] == [Decimal("-30.00"), Decimal("10.00"), Decimal("5.00")]
    assert rows[0]["reason"].startswith("Too little evidence: what was found falls short")
    assert rows[1]["reason"] == "Too little evidence: no words about the approach were found."
    ambiguous = review_group(classified, pl.col("ambiguous"), reader)["rows"][0]
    assert ambiguous["reason"] == "Close call between Serving victims (chosen) and Responding."
    assert [e.label for e in ambiguous["evidence"]] == ["Serving victims", "Responding"]
