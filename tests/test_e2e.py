"""End to end in real headless Chromium: upload, train, review, sign off, download; the review's
charts are readable at two window widths; cancel a CTGAN job; two browser contexts stay apart.
Screenshots go to test-artifacts/e2e/."""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, make_pii_table

ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
LONG = 180_000  # ms


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
         str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONWARNINGS="ignore"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read().strip() == b"ok":
                    break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("streamlit did not become healthy within 60 s")
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing: .ci/run installs it with apt-get")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _open(browser, url: str):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url)
    page.get_by_text("Upload a file or use the sample data to begin.").wait_for(timeout=60_000)
    return context, page


def _upload(page, tmp_path: Path, rows: int = 300) -> None:
    path = tmp_path / "people.csv"
    make_pii_table(rows=rows).to_csv(path, index=False)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    page.get_by_text(f"{rows} rows").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Train").wait_for(timeout=60_000)


def test_upload_train_review_sign_off_download(server: str, browser, tmp_path: Path) -> None:
    context, page = _open(browser, server)
    _upload(page, tmp_path)
    page.get_by_text("Never learned, regenerated instead").wait_for(timeout=60_000)
    page.get_by_role("button", name="Train").wait_for(timeout=60_000)
    _shot(page, "1-uploaded")
    page.get_by_test_id("stRadioGroup").get_by_text("gaussian-copula", exact=True).click()
    page.get_by_role("button", name="Train").click()
    page.get_by_text("Finished. Review the reports below").wait_for(timeout=LONG)
    page.get_by_text("Downloads are locked").wait_for(timeout=60_000)
    _shot(page, "2-reports-locked")
    assert page.get_by_role("button", name="Download ZIP").count() == 0
    page.get_by_text("I reviewed the privacy report above").click()
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Your name").press("Enter")
    page.get_by_label("Your role").fill("Data protection officer")
    page.get_by_label("Your role").press("Enter")
    # 300 rows leave the checks short of power: a verdict that is not low needs a reason
    why = page.get_by_role("textbox", name=re.compile("Why may this table be released"))
    low = page.get_by_text("Privacy verdict: low.", exact=True).count() > 0
    assert why.count() == (0 if low else 1)
    if not low:
        assert page.get_by_role("button", name="Download ZIP").count() == 0
        why.fill("Made-up people for the browser test; nobody real is in it.")
        why.press("Control+Enter")
    button = page.get_by_role("button", name="Download ZIP")
    button.wait_for(timeout=60_000)
    _shot(page, "3-unlocked")
    with page.expect_download(timeout=60_000) as download:
        button.click()
    assert re.fullmatch(r"people-gaussian-copula-seed0-\d{8}-\d{6}\.zip",
                        download.value.suggested_filename), download.value.suggested_filename
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert set(archive.namelist()) == {"synthetic.csv", "release.json", "release.html",
                                       "signoff.json"}
    assert b"Ada Lovelace" in archive.read("release.json")
    assert b"Ada Lovelace" in archive.read("signoff.json")
    context.close()


# Geometry of each chart shown on the page (Vega draws these small charts as SVG): the chart's
# box, how far it reaches past its column or the page's block, the plot's box, the y axis'
# labels (how many, how many Vega hid to avoid overlaps, how many pairs still overlap), and
# the thinnest bar or cell drawn (height, among marks with an area).
MEASURE_CHARTS = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
  .filter(chart => chart.getBoundingClientRect().width > 0).map(chart => {
    const box = chart.getBoundingClientRect();
    const svg = chart.querySelector("svg");
    if (!svg) return {title: null, renderer: "canvas"};
    const drawn = svg.getBoundingClientRect();
    const holder = chart.closest('[data-testid="stColumn"]')
      || chart.parentElement.closest('[data-testid="stVerticalBlock"]');
    const title = [...svg.querySelectorAll("g.role-title-text text")].pop();  // a grid's: last
    const plot = svg.querySelector("g.role-frame > g > path.background");
    const yAxis = [...svg.querySelectorAll("g.role-axis")]
      .find(axis => (axis.getAttribute("aria-label") || "").startsWith("Y"));
    const texts = yAxis ? [...yAxis.querySelectorAll("g.role-axis-label text")] : [];
    const shown = texts.filter(t => t.getAttribute("opacity") !== "0")
      .map(t => t.getBoundingClientRect());
    let overlaps = 0;
    shown.forEach((a, i) => shown.slice(i + 1).forEach(b => {
      if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1
          && b.top < a.bottom - 1) overlaps++;
    }));
    const marks = [...svg.querySelectorAll("g.mark-rect.role-mark path")]
      .map(m => m.getBoundingClientRect()).filter(m => m.width > 0 && m.height > 0);
    return {
      title: title ? title.textContent : null, renderer: "svg",
      left: box.left, top: box.top, width: box.width, height: box.height,
      drawn: [drawn.width, drawn.height],
      past_container: drawn.right - holder.getBoundingClientRect().right,
      plot: plot ? [plot.getBoundingClientRect().width, plot.getBoundingClientRect().height]
                 : [0, 0],
      y_labels: texts.length, y_hidden: texts.length - shown.length, y_overlaps: overlaps,
      thinnest: marks.length ? Math.min(...marks.map(m => m.height)) : null,
    };
  })"""
CHARTS_SHOWN = """titles => {
  const shown = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
    .filter(chart => chart.getBoundingClientRect().width > 0);
  const drawn = shown.map(chart => [...chart.querySelectorAll("svg g.role-title-text text")].pop())
    .map(title => title ? title.textContent : null);
  return JSON.stringify(drawn) === JSON.stringify(titles)
    && shown.every(chart => chart.querySelector("svg g.role-axis"));
}"""
# The small multiples of the least faithful columns: per panel, its y labels (how many, hidden,
# overlapping pairs) and the thinnest bar; the whole grid's reach past its block.
MEASURE_GRID = """() => {
  const chart = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
    .filter(c => c.getBoundingClientRect().width > 0)[0];
  const svg = chart.querySelector("svg");
  const holder = chart.parentElement.closest('[data-testid="stVerticalBlock"]');
  const panels = [...svg.querySelectorAll("g.role-axis")]
    .filter(axis => (axis.getAttribute("aria-label") || "").startsWith("Y"))
    .map(axis => {
      const shown = [...axis.querySelectorAll("g.role-axis-label text")]
        .filter(t => t.getAttribute("opacity") !== "0").map(t => t.getBoundingClientRect());
      let overlaps = 0;
      shown.forEach((a, i) => shown.slice(i + 1).forEach(b => {
        if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1
            && b.top < a.bottom - 1) overlaps++;
      }));
      return {labels: axis.querySelectorAll("g.role-axis-label text").length,
              shown: shown.length, overlaps: overlaps};
    });
  const marks = [...svg.querySelectorAll("g.mark-rect.role-mark path")]
    .map(m => m.getBoundingClientRect()).filter(m => m.width > 0 && m.height > 0);
  const titles = [...svg.querySelectorAll("g.role-title-text text")].map(t => t.textContent);
  const subtitles = [...svg.querySelectorAll("g.role-title-subtitle text")]
    .map(t => t.textContent);
  return {panels: panels, titles: titles, subtitles: subtitles,
          past_container: svg.getBoundingClientRect().right
            - holder.getBoundingClientRect().right,
          thinnest: marks.length ? Math.min(...marks.map(m => m.height)) : null};
}"""
GRID_TITLE = "Least faithful columns"


def _charts(page, titles: list[str]) -> dict[str, dict]:
    """Once the script has finished and Vega has drawn exactly these charts, their geometry."""
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        timeout=60_000)
    page.wait_for_function(CHARTS_SHOWN, arg=titles, timeout=60_000)
    return {chart["title"]: chart for chart in page.evaluate(MEASURE_CHARTS)}


def _readable(chart: dict, rows: int) -> None:
    """Drawn at its own size within its column, every y label shown and apart."""
    assert chart["renderer"] == "svg", chart
    assert chart["drawn"][0] <= chart["width"] + 1, chart  # nothing cut off
    assert chart["drawn"][1] <= chart["height"] + 1, chart
    assert chart["past_container"] <= 1, chart  # nor spilling over its neighbour
    assert chart["y_labels"] == rows, chart
    assert chart["y_hidden"] == 0 and chart["y_overlaps"] == 0, chart


def _check_grid(grid: dict) -> None:
    """Every small multiple titled and readable, the grid within the page's block."""
    assert grid["titles"] and grid["titles"][-1] == GRID_TITLE, grid
    assert 1 <= len(grid["panels"]) <= 4, grid
    assert len(grid["titles"]) == 1 + len(grid["panels"]), grid  # the grid's, a name each
    assert len(grid["subtitles"]) == len(grid["panels"]), grid
    assert all(re.fullmatch(r"TVD [\d.]+ \(holdout [\d.]+\)", t) for t in grid["subtitles"]), grid
    for panel in grid["panels"]:
        assert panel["labels"] >= 2 and panel["shown"] == panel["labels"], grid
        assert panel["overlaps"] == 0, grid
    assert grid["past_container"] <= 1, grid
    assert grid["thinnest"] >= 3.5, grid  # bars, not hairlines


def _check_review_charts(page, width: int) -> None:
    """What a person sees on the review step: each chart tall enough for its rows, every
    label readable, bars and cells visible. Distribution rows: table's 3 series × values."""
    heatmaps = ["real (train)", "synthetic"]
    grid = [GRID_TITLE]
    _charts(page, [*grid, "segment", *heatmaps])  # the selector's first column
    _shot(page, f"9-review-weakest-{width}")
    _check_grid(page.evaluate(MEASURE_GRID))
    for column, values in (("segment", 3), ("spend", None)):
        page.get_by_test_id("stSelectbox").click()
        page.get_by_role("option", name=column, exact=True).click()
        charts = _charts(page, [*grid, column, *heatmaps])
        chart = charts[column]
        values = values or chart["y_labels"]
        _readable(chart, values)
        assert values >= 2, chart
        assert chart["plot"][1] >= 18 * values, chart  # 3 bars of 6 px per value, at least
        assert chart["height"] >= 8 * 3 * values, chart
        assert chart["thinnest"] >= 4, chart  # bars, not hairlines
    _shot(page, f"9-review-fidelity-{width}")
    real, synthetic = charts["real (train)"], charts["synthetic"]
    for heatmap in (real, synthetic):
        rows = heatmap["y_labels"]
        _readable(heatmap, rows)
        assert rows >= 2, heatmap
        assert heatmap["height"] >= max(0.6 * heatmap["width"], 20 * rows), heatmap
        assert heatmap["plot"][1] >= 20 * rows, heatmap  # all rows, square-ish cells
        assert heatmap["plot"][1] >= 0.8 * heatmap["plot"][0], heatmap
        assert heatmap["thinnest"] >= 15, heatmap
    apart = (real["left"] + real["width"] <= synthetic["left"] + 1
             or real["top"] + real["height"] <= synthetic["top"] + 1)
    assert apart, (real, synthetic)
    page.get_by_role("tab", name="Privacy").click()
    risk_title, dcr_title = ("Attack risks with 95 % intervals",
                             "Distance to the closest record (DCR)")
    charts = _charts(page, [risk_title, dcr_title])
    _shot(page, f"10-review-privacy-{width}")
    risk = charts[risk_title]
    attacks = risk["y_labels"]
    _readable(risk, attacks)
    assert attacks >= 3, risk
    assert risk["plot"][1] >= 20 * attacks, risk
    assert risk["thinnest"] is None or risk["thinnest"] >= 10, risk  # None: every risk 0
    dcr = charts[dcr_title]
    _readable(dcr, dcr["y_labels"])
    assert dcr["height"] >= 150 and dcr["plot"][1] >= 120, dcr
    assert dcr["plot"][0] >= 300, dcr


def test_review_charts_are_readable_at_two_widths(server: str, browser,
                                                  tmp_path: Path) -> None:
    context, page = _open(browser, server)
    page.set_viewport_size({"width": 1300, "height": 3200})  # tall: whole charts in shots
    _upload(page, tmp_path, rows=300)
    page.get_by_test_id("stRadioGroup").get_by_text("gaussian-copula", exact=True).click()
    page.get_by_role("button", name="Train").click()
    page.get_by_text("Finished. Review the reports below").wait_for(timeout=LONG)
    _check_review_charts(page, 1300)
    narrow = context.new_page()  # the same owner (token in the URL), a narrower window
    narrow.set_viewport_size({"width": 900, "height": 3200})
    narrow.goto(page.url)
    narrow.get_by_text("Finished. Review the reports below").wait_for(timeout=60_000)
    _check_review_charts(narrow, 900)
    context.close()


def test_cancel_ctgan_mid_training_keeps_page_usable(server: str, browser,
                                                     tmp_path: Path) -> None:
    context, page = _open(browser, server)
    _upload(page, tmp_path, rows=400)
    page.get_by_test_id("stRadioGroup").get_by_text("ctgan", exact=True).click()
    epochs = page.get_by_role("spinbutton", name="Epochs", exact=True)  # ctgan's, not "(at most)"
    epochs.fill("3000")
    epochs.press("Enter")
    page.get_by_role("button", name="Train").click()
    page.get_by_role("button", name="Cancel").wait_for(timeout=LONG)
    page.get_by_text(re.compile(r"epoch \d+/\d+")).first.wait_for(timeout=LONG)  # live progress
    _shot(page, "4-ctgan-training")
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("Training was cancelled").wait_for(timeout=60_000)
    _shot(page, "5-cancelled")
    page.get_by_role("button", name="Start over").click()
    page.get_by_role("button", name="Train").wait_for(timeout=60_000)  # usable again
    _shot(page, "6-start-over")
    context.close()


def test_two_browser_contexts_do_not_share_uploads(server: str, browser,
                                                   tmp_path: Path) -> None:
    first, page_a = _open(browser, server)
    _upload(page_a, tmp_path, rows=250)
    second, page_b = _open(browser, server)
    _shot(page_b, "7-second-context")
    assert page_b.get_by_text("250 rows").count() == 0
    assert page_b.get_by_text("Upload a file or use the sample data to begin.").is_visible()
    first.close()
    second.close()


def test_another_browser_with_the_job_url_sees_no_trace_of_it(server: str, browser,
                                                               tmp_path: Path) -> None:
    owner, page = _open(browser, server)
    _upload(page, tmp_path, rows=260)
    page.get_by_test_id("stRadioGroup").get_by_text("gaussian-copula", exact=True).click()
    page.get_by_role("button", name="Train").click()
    page.get_by_text("Finished. Review the reports below").wait_for(timeout=LONG)
    query = dict(part.split("=", 1) for part in page.url.split("?", 1)[1].split("&"))
    job, token = query["job"], query["t"]
    for suffix in (f"?job={job}", f"?job={job}&t={'0' * len(token)}", f"?t=x&job={job}"):
        stranger, other = _open(browser, server + "/" + suffix)
        _shot(other, "8-stranger")
        text = other.locator("body").inner_text()
        for trace in ("Finished", "260 rows", "Review", "Training", "no longer exists", job):
            assert trace not in text, (suffix, trace)
        stranger.close()
    page.reload()  # the owner, with its token, still finds the job
    page.get_by_text("Finished. Review the reports below").wait_for(timeout=60_000)
    owner.close()
