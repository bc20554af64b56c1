"""One number formatting: the rule itself, and the same figure on every surface."""

from __future__ import annotations

import math
import re

from tabsynth import formatting
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


def _report(fidelity: float, auc: float) -> dict:
    return {"run": {"method": "test", "seed": 1, "synthetic_rows": 1234},
            "fidelity": {"score": fidelity, "holdout_reference": 0.99},
            "utility": {"task": "classification", "target": "y", "tstr": {"auc": auc},
                        "trtr": {"auc": 0.9}},
            "privacy": {"dp": None, "verdict": "low", "verdict_reasons": []}}


def _card_figures(page: str) -> list[str]:
    return re.findall(r'class="?big"?[^>]*>([^<]*)<', page)


def test_the_same_score_reads_the_same_in_both_reports_and_on_the_page() -> None:
    report = _report(0.973, 0.81)
    review = _card_figures(render_html(report))
    release = _card_figures(render_release_html(release_report(report)))
    page = [figure for _, figure, _ in summary_cards(report)]
    assert review[:2] == page[:2] == ["0.973", "0.810"]
    # the release holds scores rounded to two decimals (privacy) and writes them so: the same
    # figure, with no digit shown that was rounded away (0.97, never 0.970 beside 0.973)
    assert release[:2] == ["0.97", "0.81"]
    assert release[0] == formatting.score(round(0.973, 2), 2)
