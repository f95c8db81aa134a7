"""The study report's HTML from a small hand-made warehouse (fast tier): its structure in the paper's order, no
external request, a missing or empty mart shown as a box while the rest renders, and the atomic write."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from assets.marts import plot_style
from assets.report import render
from assets.report.assets import report_path, write_report

SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A warehouse with the provenance tables, a quarantined row, the cohort marts (Table 1 with a published
    P), an empty response mart, no risk-factor mart at all, and one figure."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        for schema in ("raw", "audit", "marts", "quarantine"):
            con.execute(f"CREATE SCHEMA {schema}")
        con.execute("CREATE TABLE raw.center_settings AS SELECT * FROM (VALUES ('sch', 'multicenter'),"
                    " ('szch', 'case_series')) t(center_id, study)")
        con.execute("CREATE TABLE raw.current_files AS SELECT * FROM (VALUES ('sch', 'patients.csv', "
                    "'abcdef0123456789abcdef'), ('szch', 'cases.csv', '99999999999999')) t(center_id, source_file,"
                    " file_sha256)")
        con.execute("CREATE TABLE audit.row_accounting AS SELECT * FROM (VALUES ('sch', 'patients.csv', 40, 39, 1))"
                    " t(center_id, source_file, delivered, passed, quarantined)")
        con.execute("CREATE TABLE audit.check_outcomes AS SELECT * FROM (VALUES ('marts/cohort_counts:sane', false,"
                    " 'WARN', now()::TIMESTAMP)) t(asset_check, passed, severity, evaluated_at)")
        con.execute("CREATE TABLE quarantine.patients AS SELECT 'sch' AS center_id, 'range' AS check_name,"
                    " 'age' AS column_name, 'age -1 is below 0' AS reason")
        con.execute("CREATE TABLE marts.data_queries AS SELECT * FROM (VALUES ('open', 'sch', 'patients',"
                    " 'patients.csv', 7, 'range', 'age', '-1', 'age -1 is below 0'), ('open', 'sch', 'events',"
                    " 'events.csv', 3, 'too_long', 'detail', 'seen by Dr Jane Doe', 'detail seen by Dr Jane Doe is"
                    " too long')) t(status, center_id, table_name, source_file, source_row, check_name, column_name,"
                    " delivered_value, finding)")
        con.execute("CREATE TABLE marts.cohort_counts AS SELECT 'cohort.patients' AS measure, NULL::VARCHAR AS"
                    " \"group\", 'n' AS statistic, 39.0 AS value")
        con.execute("CREATE TABLE marts.cohort_characteristics AS SELECT * FROM (VALUES ('sex', 'male', 'all', 20,"
                    " 0.0123, 'cohort.sex'), ('age', NULL, 'all', 39, NULL, NULL)) t(factor, level, \"group\", n,"
                    " p_value, test_id)")
        con.execute("CREATE TABLE marts.response_rates (measure VARCHAR, k INTEGER, n INTEGER)")
        con.execute("CREATE TABLE marts.paper_reproduction AS SELECT * FROM (VALUES ('cohort.sex', 'multicenter',"
                    " NULL, 'p_value', '0.012', 'p3', 0.0123, true, 'cohort_characteristics', NULL)) t(id, study,"
                    " \"group\", statistic, published_value, match, computed_value, passed, mart, note)")
    figures = tmp_path / "figures"
    figures.mkdir()
    (figures / "km_efs_rr_vs_not.svg").write_bytes(SVG)
    return path


class Page(HTMLParser):
    """The tags, attributes and text of a page."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        if data.strip():
            self.text.append(data.strip())

    def all(self, tag: str) -> list[dict]:
        return [attrs for name, attrs in self.tags if name == tag]


def page_of(warehouse: Path, study: str = "multicenter") -> tuple[str, Page]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        path, _ = write_report(con, warehouse, study, "run-1234")
    html = path.read_text(encoding="utf-8")
    return html, Page(html)


def test_sections_come_in_the_papers_order_after_the_provenance(warehouse):
    html, page = page_of(warehouse)
    anchors = [attrs["id"] for attrs in page.all("section")]
    assert anchors == ["provenance", "reproduction", "cohort", "response", "risk-factors", "cox", "survival",
                       "immune", "cytokines", "safety", "data-quality"]
    assert len(page.all("h1")) == 1 and html.startswith("<!DOCTYPE html>")
    text = " ".join(page.text)
    # Provenance: the run, the code version, each current file of the study's centers with its hash prefix.
    assert "run-1234" in text and "patients.csv" in text and "abcdef012345" in text and "abcdef0123456" not in text
    assert "cases.csv" not in text  # the case series' center is on its own page
    # The contents link to the sections inside the page, and only there.
    assert [attrs["href"] for attrs in page.all("a")] == [f"#{anchor}" for anchor in anchors[1:]]


def test_the_page_makes_no_external_request(warehouse):
    html, page = page_of(warehouse)
    assert not page.all("script") and not page.all("link") and not page.all("iframe")
    for tag, attrs in page.tags:
        for name in ("src", "href", "srcset", "poster", "data"):
            value = attrs.get(name)
            assert value is None or value.startswith(("data:", "#")), (tag, name, value[:60])
    # CSS: no @import, no url() but data URIs. The SVGs sit in data URIs, which the browser never fetches.
    for style in re.findall(r"<style[^>]*>(.*?)</style>", html, flags=re.S):
        assert "@import" not in style
        assert all(url.strip("'\" ").startswith("data:") for url in re.findall(r"url\(([^)]*)\)", style))
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)


def test_figures_are_embedded_svg_and_a_missing_one_is_a_box(warehouse):
    html, page = page_of(warehouse)
    images = page.all("img")
    assert [image["alt"] for image in images] == ["Figure 4A. EFS"]
    assert images[0]["src"].startswith("data:image/svg+xml;base64,")
    assert "figures/km_os_rr_vs_not.svg is missing" in html


def test_a_missing_or_empty_mart_is_a_box_with_its_reason_and_the_rest_renders(warehouse):
    html, page = page_of(warehouse)
    text = " ".join(page.text)
    assert "marts.risk_factors is missing" in text  # never built
    assert "marts.response_rates has no rows" in text  # built, empty
    assert "check sane failed (WARN)" in text  # the table still shows, under its failed check
    assert text.count("Not available:") >= 10  # every absent mart of the hand-made warehouse
    # Table 1 still renders, its P in the one format beside the paper's, with the match mark.
    assert re.search(r">P = 0\.012</td>\s*<td[^>]*>0\.012</td>\s*<td[^>]*>✓ reproduces</td>", html)
    assert plot_style.format_p(0.0123) == "P = 0.012" and ">0.0123<" not in html  # decimals as a reader reads them
    # Data quality: the quarantined row counted by center, table and reason; the open query listed.
    assert "age -1 is below 0" in text and "range" in text  # the open query; the counts by check and column
    # A free-text field's words never leave the warehouse (docs/privacy.md): the query names its check only.
    assert "too_long" in text and "Jane Doe" not in html


def test_no_number_cell_is_empty(warehouse):
    html, _ = page_of(warehouse)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", html, flags=re.S)
    assert cells and all(re.sub(r"<[^>]+>", "", cell).strip() for cell in cells)


def test_the_case_series_page_names_what_it_lacks(warehouse):
    html, page = page_of(warehouse, "case_series")
    assert [attrs["id"] for attrs in page.all("section")][2:5] == ["cases", "trajectories", "treatment"]
    assert "marts.case_series_patients is missing" in html and "cases.csv" in html


def test_the_page_is_replaced_whole_or_not_at_all(warehouse, monkeypatch):
    html, _ = page_of(warehouse)
    path = report_path(warehouse, "multicenter")

    def broken(*args, **kwargs):
        raise RuntimeError("rendering failed")

    monkeypatch.setattr(render, "render_page", broken)
    with pytest.raises(RuntimeError), duckdb.connect(str(warehouse), read_only=True) as con:
        write_report(con, warehouse, "multicenter", "run-5678")
    assert path.read_text(encoding="utf-8") == html
    # A failure while writing leaves no temporary file and the old page.
    monkeypatch.setattr(Path, "write_text", lambda self, *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        render.write_atomically(path, "<html>half")
    assert path.read_text(encoding="utf-8") == html
    assert sorted(p.name for p in path.parent.iterdir()) == ["multicenter.html"]


def test_a_mart_whose_step_failed_in_the_last_run_is_a_box_with_its_error_not_its_old_rows(warehouse):
    failed = "marts.cohort_characteristics failed in run abcd1234 of 2026-12-03 02:00 UTC: ValueError: bad cell"
    stale = "marts.paper_reproduction was not rebuilt in run abcd1234 of 2026-12-03 02:00 UTC"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        path, facts = write_report(con, warehouse, "multicenter", "run-1234", not_built={
            "marts.cohort_characteristics": (failed, True), "marts.paper_reproduction": (stale, False),
            "marts.survival_curves": ("marts.survival_curves failed in run abcd1234: MemoryError", True)})
    html = path.read_text(encoding="utf-8")
    text = " ".join(Page(html).text)
    assert failed in text and "Table 1. Characteristics of the patients: " + failed in facts["unavailable"]
    assert ">P = 0.012</td>" not in html  # Table 1's old row is not among today's numbers
    assert "Warning: " + stale in text  # the reproduction summary shows, flagged
    assert not Page(html).all("img")  # Figure 4A came from the failed survival step: a box
    assert "Cohort counts" in text  # the rest of the page renders
