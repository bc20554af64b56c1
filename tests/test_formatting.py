"""One number formatting: the rule itself, and the same figure on every surface."""

from __future__ import annotations

import math
import re
from pathlib import Path

from tabsynth import formatting
from tabsynth.cli import summary_lines
from tabsynth.release import SCORE_DIGITS as RELEASE_DIGITS
from tabsynth.release import release_report, render_release_html
from tabsynth.report import render_html
from tabsynth.ui_support import summary_cards


def test_scores_rates_counts_and_intervals_follow_one_rule() -> None:
    assert formatting.score(0.97) == "0.970" and formatting.score(0.9734) == "0.973"
    assert formatting.score(None) == formatting.score(math.nan) == "—"
    assert formatting.percent(0.053) == "5.3 %" and formatting.percent(0.0025) == "0.25 %"
    assert formatting.percent(0.0) == "0.0 %" and formatting.percent(None) == "—"
    assert formatting.count(12345) == "12,345" and formatting.seconds(3.14159) == "3.1 s"
    assert formatting.interval([0.1, 0.25]) == "0.100–0.250"
    assert formatting.percent_interval([0.01, 0.2]) == "1.0 %–20.0 %"
    assert formatting.interval(None) == formatting.interval([1.0]) == "—"
    assert formatting.small(1e-6) == "1e-06"
    assert formatting.value(True) == "yes" and formatting.value(7) == "7"
    assert formatting.value(0.0004) == "0.0004" and formatting.value(0.5) == "0.500"
    assert formatting.aggregate(0.973) == "0.97" and formatting.aggregate(None) == "—"
    assert formatting.aggregate_interval([0.234, 0.651]) == "0.23–0.65"


def _report(fidelity: float, auc: float) -> dict:
    return {"run": {"method": "test", "seed": 1, "synthetic_rows": 1234},
            "fidelity": {"score": fidelity, "holdout_reference": 0.99},
            "utility": {"task": "classification", "target": "y", "tstr": {"auc": auc},
                        "trtr": {"auc": 0.9}},
            "privacy": {"dp": None, "verdict": "low", "verdict_reasons": []}}


def _card_figures(page: str) -> list[str]:
    return re.findall(r'class="?big"?[^>]*>([^<]*)<', page)


def test_the_same_score_reads_the_same_in_both_reports_on_the_page_and_the_command_line(
        ) -> None:
    """One truth: an aggregate score is written at the release's two decimals everywhere, so
    the page never shows 0.973 where the release shows 0.97."""
    report = _report(0.973, 0.8149)
    review = _card_figures(render_html(report))
    release = _card_figures(render_release_html(release_report(report)))
    page = [figure for _, figure, _ in summary_cards(report)]
    assert review[:2] == page[:2] == release[:2] == ["0.97", "0.81"]
    assert formatting.AGGREGATE_DIGITS == RELEASE_DIGITS  # no surface finer than the release
    captions = " ".join(caption for _, _, caption in summary_cards(report))
    assert "0.99" in captions and "0.90" in captions  # the holdout and the real-data model
    lines = summary_lines(report, {"synthetic": Path("out/synthetic.csv")})
    assert "fidelity: 0.97 (a fresh real sample scores 0.99" in lines[1]
    assert "AUC 0.81" in lines[2] and "0.90 on the real ones" in lines[2]
    for figure in ("0.973", "0.815", "0.970", "0.990", "0.900"):
        assert figure not in " ".join([*review, *page, captions, *lines])
