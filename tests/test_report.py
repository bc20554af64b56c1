"""report.html / report.pdf: verdict first, glossary, charts as static SVG, hostile text escaped,
the privacy section drawn from whatever keys it has."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zlib
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from tabsynth.evaluation.privacy import PrivacySettings
from tabsynth.evaluation.run import evaluate
from tabsynth.evaluation.verdict import FiredRule
from tabsynth.report import REVIEW_NOTICE, render_html, render_pdf

TINY = PrivacySettings(n_attacks=40, min_attacks=20, singling_out_queries=40,
                       singling_out_rows=300, distance_queries=300, membership_rows=300)
SCRIPT = "<script>alert(1)</script>"
QUOTES = "say \"hi\" it's"
IMG = "<img src=x onerror=alert(2)>"
RTL = "abc\u202egpj.exe"
HOSTILE_COLUMN = f"{SCRIPT} {RTL}"


class _Page(HTMLParser):
    """Tags, attributes and text of a page as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        self.attributes += attrs

    handle_startendtag = handle_starttag

    def handle_data(self, data) -> None:
        self.text.append(data)


def _hostile_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(4)

    def table(rows: int) -> pd.DataFrame:
        return pd.DataFrame({
            HOSTILE_COLUMN: rng.choice([SCRIPT, QUOTES, RTL, IMG, "plain"], rows),
            QUOTES: rng.normal(50, 10, rows).round(1),
            "age": rng.integers(18, 90, rows),
            "label": rng.choice(["yes", "no"], rows),
        })

    return table(400), table(200), table(400)


@pytest.fixture(scope="module")
def hostile_report() -> dict:
    train, holdout, synthetic = _hostile_tables()
    report = evaluate(train, holdout, synthetic, target="label", settings=TINY)
    assert "dp" not in report["privacy"]  # the claim is the pipeline's, not the evaluation's
    report["run"] = {"method": "test", "train_rows": 400, "holdout_rows": 200,
                     "synthetic_rows": 400, "seed": 0}
    report["pii"] = {"columns": [SCRIPT]}
    return report


def _inflate(stream: bytes) -> bytes:
    try:
        return zlib.decompress(stream)
    except zlib.error:  # not every stream is deflated (fonts, images)
        return b""


def _svgs(page: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", page, flags=re.DOTALL)


def test_hostile_names_and_values_are_escaped_in_html_and_svg(hostile_report) -> None:
    page = render_html(hostile_report)
    parsed = _Page()
    parsed.feed(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert not [name for name, _ in parsed.attributes if name.startswith("on")]
    assert "\u202e" not in page  # the override is written out, visibly
    text = "".join(parsed.text)
    assert SCRIPT in text and QUOTES in text and IMG in text  # shown as text, exactly
    assert "abc[U+202E]gpj.exe" in text
    assert "&lt;script&gt;" in page and "&#34;hi&#34;" in page
    svgs = _svgs(page)
    assert len(svgs) >= len(hostile_report["fidelity"]["distributions"]) + 2
    shown = []
    for svg in svgs:
        root = ET.fromstring(svg)  # well-formed XML: every text escaped
        assert not [e for e in root.iter() if e.tag.endswith(("script", "foreignObject"))]
        assert not [k for e in root.iter() for k in e.attrib if k.startswith("on")]
        shown += ["".join(e.itertext()) for e in root.iter() if e.tag.endswith("text")]
    assert any(SCRIPT in t for t in shown) and any(QUOTES in t for t in shown)
    assert any("<img src=x onerror=" in t for t in shown)  # an axis label may be cut after
    assert any("[U+202E]" in t for t in shown) and not any("\u202e" in t for t in shown)


@pytest.mark.parametrize("inside", ["<script>alert(1)</script>", "<foreignObject/>",
                                    '<rect onclick="alert(1)"/>', '<a href="https://x.org"/>'])
def test_a_chart_with_a_script_or_a_link_is_refused(inside: str) -> None:
    from tabsynth.report import _check_static

    _check_static('<svg xmlns="http://www.w3.org/2000/svg"><text>onload=x</text></svg>')
    with pytest.raises(ValueError):
        _check_static(f'<svg xmlns="http://www.w3.org/2000/svg">{inside}</svg>')


def test_report_opens_with_the_verdict_explains_it_and_draws_every_chart(hostile_report) -> None:
    page = render_html(hostile_report)
    assert page.index(REVIEW_NOTICE) < page.index("<h1>") < page.index("Privacy verdict:")
    assert page.index("Privacy verdict:") < page.index("<h2>Fidelity")
    assert "not anonymity" in page and "GDPR" in page
    for term in ("TVD", "KS complement", "TSTR", "singling out", "linkability", "inference",
                 "membership inference AUC", "DCR", "NNDR", "95 % CI"):
        assert f"<dt>{term}" in page, term
    svgs = _svgs(page)
    titles = [s for s in svgs if "Attack risks" in s]
    bands = hostile_report["privacy"]["settings"]
    assert len(titles) == 1 and f"medium ≥ {bands['medium_risk']:g}" in titles[0]
    assert f"high ≥ {bands['high_risk']:g}" in titles[0]
    dcr = [s for s in svgs if "Distance to the closest record" in s]
    assert len(dcr) == 1 and "synthetic → train" in dcr[0] and "holdout → train" in dcr[0]
    assert "synthetic → holdout" not in dcr[0]  # whole-table distances are to train only
    assert "holdout&#39;s 5 % quantile" in dcr[0] or "holdout's 5 % quantile" in dcr[0]
    for name in ("real", "synthetic", "holdout"):
        assert sum(f">{name}<" in s for s in svgs) >= 3, name  # legends of the distributions
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # several charts, one page


def test_verdict_reasons_are_sentences_beside_their_measurement(hostile_report) -> None:
    report = copy.deepcopy(hostile_report)
    report["privacy"]["verdict"] = "high"
    dcr = next(c for c in report["privacy"]["checks"] if c["rule"] == "dcr_share")
    dcr.update(band="high", template="dcr_share", figures={
        "share": {"value": 0.7, "kind": "percent"}, "band": {"value": "high", "kind": "text"},
        "threshold": {"value": 0.65, "kind": "percent"}})
    report["privacy"]["verdict_reasons"] = [FiredRule.of_check(dcr).sentence(),
                                            "a reason of a new kind"]
    page = render_html(report)
    assert "more often than chance: a sign of copied or nearly copied rows" in page
    assert ("(70.0 % of synthetic rows are closer to the training rows than to as many holdout "
            "rows (expected 50 %); this reaches the high threshold of 65.0 %)") in page
    assert "a reason of a new kind" in page


def test_privacy_section_skips_blocks_whose_keys_are_missing(hostile_report) -> None:
    report = copy.deepcopy(hostile_report)
    for key in ("membership_inference", "distances", "rules", "threat_model",
                "linkability", "inference", "settings"):
        report["privacy"].pop(key)
    page = render_html(report)
    assert "<h2>Re-identification risk" in page and "Membership inference" not in page
    assert not [svg for svg in _svgs(page) if "closest record" in svg]
    assert "<h3>Verdict rules</h3>" not in page
    assert "median NNDR" not in page and "singling out (univariate)" in page
    report["privacy"]["distances"] = {
        "histogram": {"edges": [0.0, 0.5, 1.0], "synthetic": [3, 1], "holdout": [1, 3]},
        "near_copies": [{"level": 0.05, "threshold": 0.1}]}
    svg = [s for s in _svgs(render_html(report)) if "closest record" in s]
    assert svg and "holdout → train" in svg[0] and "5 % quantile" in svg[0]


def test_pdf_is_the_same_report(hostile_report) -> None:
    pdf = render_pdf(hostile_report)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    streams = re.findall(rb"(?<!end)stream\r?\n(.*?)\r?\nendstream", pdf, flags=re.DOTALL)
    objects = b"".join([pdf, *(_inflate(s) for s in streams)])
    assert len(re.findall(rb"/Type\s*/Page\b", objects)) >= 4  # verdict, sections, charts
    assert b"/JavaScript" not in objects and b"/URI" not in objects


LONG = ("household_disposable_income_after_taxes_and_transfers_in_local_currency",
        "primary_diagnosis_code_at_first_hospital_admission_as_recorded_by_the_clinic")


def _wide_report() -> dict:
    """A review whose widest tables hold long column names (no evaluation run: hand-made)."""
    first, second = LONG
    attack = {"risk": 0.44, "ci": [0.23, 0.65], "main_rate": 0.568, "baseline_rate": 0.203,
              "control_rate": 0.226, "n_attacks": 12_345, "n_control_attacks": 12_345,
              "note": "7 queries single out one synthetic row in 11 tried, fewer than the 20 "
                      "wanted: the interval is wider"}
    check = {"label": f"inference of {second}", "value": 0.442, "ci": [0.234, 0.651],
             "null": 0.0, "medium": 0.2, "high": 0.5, "band": "inconclusive"}
    return {
        "run": {"method": "autoregressive", "train_rows": 40_000, "holdout_rows": 10_000,
                "synthetic_rows": 40_000, "seed": 0, "epochs": 29},
        "pii": {"columns": []},
        "fidelity": {
            "score": 0.929, "holdout_reference": 0.886, "tvd1": 0.044, "tvd2": 0.098,
            "columns": [{"column": name, "kind": "categorical", "tvd": 0.043,
                         "holdout_tvd": 0.08, "ks_complement": None} for name in LONG],
            "pairs": [{"columns": [first, second], "metric": "cramers_v", "real": -0.0021,
                       "synthetic": 0.123, "holdout": 0.154, "tvd": 0.098,
                       "holdout_tvd": 0.162}]},
        "utility": {"task": "classification", "target": second, "target_chosen_by": "user",
                    "tstr": {"auc": 0.7}, "trtr": {"auc": 0.8},
                    "models": [{"model": "gradient_boosting", "tstr": {"auc": 0.7},
                                "trtr": {"auc": 0.8}}]},
        "privacy": {
            "verdict": "inconclusive", "verdict_reasons": [], "settings": {},
            "roles": {"quasi_identifiers": list(LONG), "secrets": [second],
                      "quasi_identifiers_origin": "chosen by you",
                      "secrets_origin": "chosen by you"},
            "checks": [check, dict(check, label=f"linkability of {first} and {second}")],
            "singling_out": {"univariate": {"name": "singling out (univariate)", **attack}},
            "linkability": {"name": f"linkability of {first} and {second}", **attack},
            "inference": [{"name": f"inference of {second}", **attack}],
            "distances": {"near_copies": [{"level": 0.05, "count": 12_345, "rate": 0.0123,
                                           "ci": [0.0101, 0.0145], "holdout_rate": 0.05,
                                           "holdout_ci": [0.041, 0.062]}]},
            "dp": {"epsilon": 1.0, "delta": 1e-6, "accountant": "rdp", "schema_learned": True,
                   "epsilon_schema": 0.05, "epsilon_preprocessing": 0.2,
                   "epsilon_marginals": 0.1, "epsilon_training": 0.65, "plain": "",
                   "unit": "one row", "group_privacy": "",
                   "not_covered": [f"made-up columns ({first}, {second})"]}},
    }


def _words_off_the_page(pdf: bytes, tmp_path) -> list[str]:
    """Words whose box reaches past a page's right edge, from pdftotext's boxes."""
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    boxes = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True,
                           text=True, check=True).stdout
    off = []
    for page in re.findall(r"<page (.*?)</page>", boxes, flags=re.DOTALL):
        width = float(re.search(r'width="([\d.]+)"', page).group(1))
        for x_max, word in re.findall(r'<word xMin="[\d.-]+" yMin="[\d.-]+" xMax="([\d.-]+)"'
                                      r' yMax="[\d.-]+">(.*?)</word>', page):
            if float(x_max) > width - 1:
                off.append(word)
    return off


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler's pdftotext")
def test_pdf_tables_wrap_long_column_names_within_the_page(tmp_path) -> None:
    report = _wide_report()
    pdf = render_pdf(report)
    off = _words_off_the_page(pdf, tmp_path)
    assert not off, off[:20]
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()
    assert "12,345 / 12,345" in text and "Cramér's V" in text  # the wide tables are there


def test_a_pathologically_long_token_is_clipped_in_the_pdf_text_only() -> None:
    """A 5,000-character column name would take WeasyPrint minutes to break anywhere: the PDF
    shows its start and an ellipsis; attributes (a chart's path data) stay whole."""
    from tabsynth.report import LONG_TOKEN_CHARS, _clip_long_tokens

    name, path = "g" * 5000, "M0,0" + "L1,1" * 400
    page = f'<td>{name}</td><svg><path d="{path}"/></svg><td>short words</td>'
    clipped = _clip_long_tokens(page)
    assert name not in clipped and "g" * 60 + "…" in clipped
    assert f'd="{path}"' in clipped and "<td>short words</td>" in clipped
    assert _clip_long_tokens("<p>" + "x" * (LONG_TOKEN_CHARS - 1) + "</p>").count("x") == \
        LONG_TOKEN_CHARS - 1


def test_a_synthetic_table_whose_models_guess_says_so() -> None:
    """Models trained on the synthetic rows at chance while real rows predict well: a warning
    that names the target and both figures; none when the synthetic rows predict, or when even
    the real rows cannot."""
    from tabsynth.evaluation.utility import chance_note

    note = chance_note("readmitted", "auc", 0.43, 0.69)
    assert note is not None and "no better than chance" in note and "AUC 0.43" in note
    assert "0.69" in note
    assert chance_note("readmitted", "auc", 0.66, 0.69) is None
    assert chance_note("readmitted", "auc", 0.5, 0.52) is None  # the weak-target note's case
    assert chance_note("price", "r2", -0.2, 0.4) is not None
