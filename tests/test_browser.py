"""brief.html in a real browser (Debian's headless Chromium) with the network blocked: every
chart draws, the map shows the states, the filters work, nothing runs that the input
smuggled in, no console error, and no request leaves the machine.

Needs /usr/bin/chromium (installed by .ci/run) and the playwright package; playwright never
downloads a browser here, it drives the Debian one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from report_support import run_analysis

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


@pytest.fixture(scope="module")
def page_report(tmp_path_factory):
    """The fixture's brief opened in Chromium: (page, analysis, events)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found (Debian package 'chromium'; .ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    out = tmp_path_factory.mktemp("browser")
    analysis = run_analysis(out)
    profile = tmp_path_factory.mktemp("chromium-profile")
    events = {"requests": [], "blocked": [], "console": [], "page_errors": [], "dialogs": []}

    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=FLAGS,
            headless=True,
            viewport={"width": 1100, "height": 900},
        )
        try:
            page = context.new_page()

            def route(route):
                url = route.request.url
                events["requests"].append(url)
                if url.startswith(LOCAL_SCHEMES):
                    route.continue_()
                else:
                    events["blocked"].append(url)
                    route.abort()

            context.route("**/*", route)
            page.on("console", lambda m: events["console"].append((m.type, m.text)))
            page.on("pageerror", lambda e: events["page_errors"].append(str(e)))
            page.on("dialog", lambda d: (events["dialogs"].append(d.message), d.dismiss()))
            page.goto((out / "brief.html").as_uri())
            page.wait_for_function(
                "document.querySelectorAll('div.vega-chart').length > 0 && "
                "document.querySelectorAll('div.vega-chart:not([data-rendered])').length == 0",
                timeout=60_000,
            )
            yield page, analysis, events
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


def _drawn_paths(page, selector: str) -> int:
    """Paths of data marks (not axes) with a drawn outline under ``selector``."""
    return page.eval_on_selector_all(
        f"{selector} g.role-mark path",
        "nodes => nodes.filter(n => (n.getAttribute('d') || '').length > 4).length",
    )


def test_every_chart_renders_with_marks(page_report):
    page, analysis, _ = page_report
    states = page.eval_on_selector_all(
        "div.vega-chart", "nodes => nodes.map(n => [n.dataset.chart, n.dataset.rendered])"
    )
    assert dict(states) == {name: "true" for name in analysis.charts}
    for name in analysis.charts:
        assert _drawn_paths(page, f'div[data-chart="{name}"]') > 0, name


def test_the_map_shows_the_states(page_report):
    page, _, _ = page_report
    shapes = page.eval_on_selector_all(
        'div[data-chart="state_map"] g.mark-shape path',
        "nodes => nodes.filter(n => (n.getAttribute('d') || '').length > 20).length",
    )
    assert shapes >= 48


def test_no_request_left_the_machine_and_nothing_ran(page_report):
    _, _, events = page_report
    assert events["blocked"] == []
    assert all(url.startswith(LOCAL_SCHEMES) for url in events["requests"])
    assert events["dialogs"] == []  # no alert() from the input ran
    assert events["page_errors"] == []
    assert [m for m in events["console"] if m[0] in ("error", "warning")] == []


def test_the_year_filter_redraws_the_chart(page_report):
    page, _analysis, _ = page_report
    chart = 'div[data-chart="approach_mix"]'
    caption = f"{chart} g.mark-text text"
    before = page.eval_on_selector_all(caption, "ns => ns.map(n => n.textContent).join('|')")
    select = page.locator(f"{chart} .vega-bindings select").nth(1)  # funder, then year
    years = [o for o in select.locator("option").all_inner_texts() if o != "All years"]
    assert years
    select.select_option(label=years[0])
    page.wait_for_timeout(300)
    after = page.eval_on_selector_all(caption, "ns => ns.map(n => n.textContent).join('|')")
    assert after != before
    assert _drawn_paths(page, chart) > 0
    select.select_option(label="All years")


def test_hovering_a_bar_shows_a_tooltip(page_report):
    page, _, _ = page_report
    bar = page.locator('div[data-chart="approach_mix"] g.mark-rect path').first
    bar.scroll_into_view_if_needed()
    bar.hover()
    tooltip = page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible", timeout=5_000)
    assert "Share of classified" in tooltip.inner_text()


def test_tables_scroll_in_their_containers_and_the_page_never_sideways(page_report):
    page, _, _ = page_report
    styles = page.evaluate(
        """() => {
        const style = (selector, name) => Array.from(document.querySelectorAll(selector))
            .map(n => getComputedStyle(n)[name]);
        return {
            wraps: style('.table-wrap', 'overflowX'),
            tables: document.querySelectorAll('main table').length,  // not the tooltip's
            tablesInWraps: document.querySelectorAll('.table-wrap > table').length,
            nameBreaks: style('td.name', 'overflowWrap').concat(style('td.name', 'wordBreak')),
            numbersWrap: style('td.num', 'whiteSpace'),
            numbersAlign: style('td.num', 'textAlign'),
        };
    }"""
    )
    assert styles["tables"] == styles["tablesInWraps"] > 0
    assert set(styles["wraps"]) == {"auto"}
    assert set(styles["nameBreaks"]) <= {"normal"}  # a name wraps between words only
    assert set(styles["numbersWrap"]) == {"nowrap"} and set(styles["numbersAlign"]) == {"right"}
    try:
        for width in (1100, 640):  # a laptop, a narrow window
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(300)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, width
    finally:
        page.set_viewport_size({"width": 1100, "height": 900})
