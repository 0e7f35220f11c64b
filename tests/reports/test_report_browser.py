"""The class report as a browser shows it: headless Chromium renders the real page of a real run."""
import html
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

AUTOGRADER = str(Path(sys.executable).parent / "autograder")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")]
WINDOW = (1400, 2400)


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--no-first-run",
                           f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "out"
    done = subprocess.run([AUTOGRADER, "grade", ROOT / "examples" / "class", "--out", out, "--seed", "5",
                           "--timeout", "15"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return out


def test_the_rendered_report_shows_every_student_and_the_heatmap(report, tmp_path, course):
    import json

    results = json.loads((report / "results.json").read_text())["submissions"]
    dom = chromium(tmp_path / "profile", "--dump-dom", (report / "report.html").as_uri())
    assert dom.returncode == 0, dom.stderr
    page = dom.stdout
    table = page[page.index('id="students"'):]
    table = table[: table.index("</table>")]
    rows = re.findall(r"<tr>\s*<td data-value=\"([^\"]*)\">", table)
    assert sorted(html.unescape(r) for r in rows) == sorted(s["student"] for s in results)
    # One heatmap cell per graded submission and layer, coloured by its share of the points.
    cells = re.findall(r'<rect class="cell score" data-row="[^"]*" data-layer="([^"]*)" data-fraction="([^"]*)"', page)
    graded = [s for s in results if s["status"] == "graded"]
    assert len(cells) == sum(len(s["layers"]) for s in graded)
    layers = {layer for a in course.assignments for layer in (e.layer for e in a.layers)}
    assert {layer for layer, _ in cells} <= layers
    assert any(float(f) < 1 for _, f in cells) and any(float(f) == 1 for _, f in cells)
    assert page.count('class="cell ungraded"') >= sum(1 for s in results if s["status"] != "graded")
    assert str(ROOT) not in page and str(report) not in page  # nothing of the grading machine


def test_the_screenshot_has_the_window_size(report, tmp_path):
    shot = tmp_path / "report.png"
    done = chromium(tmp_path / "profile", f"--screenshot={shot}", (report / "report.html").as_uri())
    assert done.returncode == 0, done.stderr
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == WINDOW
    assert len(data) > 50_000  # a blank page compresses to a few kB; the charts and tables do not


def test_sorting_by_a_column_runs_in_the_browser(report, tmp_path):
    import json

    results = json.loads((report / "results.json").read_text())["submissions"]
    dom = chromium(tmp_path / "profile", "--dump-dom", (report / "report.html").as_uri() + "#sort=Percent")
    assert dom.returncode == 0, dom.stderr
    table = dom.stdout[dom.stdout.index('id="students"'):]
    table = table[: table.index("</table>")]
    assert 'aria-sort="ascending"' in table
    shown = [float(v) for v in re.findall(r'<td class="num" data-value="([0-9.]+)">[0-9.]+%', table)]
    assert len(shown) == len(results)
    assert shown == sorted(shown) and shown != [
        round(100 * s["score"] / s["max_score"], 1) for s in sorted(results, key=lambda s: (s["student"], s["assignment"] or ""))]
