"""The demo warehouse's study reports as a person sees them (slow: the demo_build fixture): each page rendered in
headless Chromium (Debian's `chromium`, installed with apt-get when missing), a screenshot taken, and on a test-only
copy with a probe script appended (the page itself has none) every image decoded, every table with rows, no empty
cell."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from assets.report.assets import report_path
from assets.report.pages import STUDIES

PROBE = """<script>
window.addEventListener("load", () => {
  const probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({
    images: [...document.images].map(image => [image.alt, image.complete ? image.naturalWidth : 0]),
    tables: [...document.querySelectorAll("table")].map(table => table.querySelectorAll("tbody tr").length),
    empty_cells: [...document.querySelectorAll("td")].filter(cell => !cell.textContent.trim()).length,
    cells: document.querySelectorAll("td").length,
  });
  document.body.appendChild(probe);
});
</script>"""


@pytest.fixture(scope="module")
def chromium() -> str:
    """The chromium binary, installed from Debian's package when missing."""
    found = shutil.which("chromium")
    if not found:
        # A fresh machine may have no package lists yet: read them first.
        for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
            subprocess.run(command, check=True, capture_output=True, timeout=900,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = shutil.which("chromium")
    assert found, "chromium is not installed and apt-get could not install it"
    return found


def headless(chromium: str, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--window-size=1200,2400", *arguments], capture_output=True, text=True, timeout=180,
                          check=True)


@pytest.mark.parametrize("study", STUDIES)
def test_the_page_renders_in_a_browser_with_every_image_table_and_number(demo_build, chromium, tmp_path, study):
    page = report_path(demo_build.path, study)
    assert page.is_file(), f"the demo run wrote no {page}"
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html

    screenshot = tmp_path / f"{study}.png"
    headless(chromium, f"--screenshot={screenshot}", page.as_uri())
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 10_000

    probed = tmp_path / f"{study}_probed.html"
    probed.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = headless(chromium, "--virtual-time-budget=20000", "--dump-dom", probed.as_uri()).stdout
    match = re.search(r'<pre id="probe">(.*?)</pre>', dom, flags=re.S)
    assert match, "the probe did not run: the page did not load"
    facts = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                       .replace("&gt;", ">"))
    embedded = html.count("<img ")
    assert len(facts["images"]) == embedded >= (20 if study == "multicenter" else 2)
    assert [alt for alt, width in facts["images"] if width <= 0] == []  # every image decoded
    assert facts["tables"] and min(facts["tables"]) > 0  # every table has rows
    assert facts["cells"] > 100 and facts["empty_cells"] == 0  # no cell, number or text, is empty
    assert "Not available:" not in html, re.findall(r"Not available: [^<]*</strong>\s*<p>[^<]*", html)
