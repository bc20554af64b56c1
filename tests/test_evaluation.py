"""Reports with known answers: a copy of train, an independent real sample, shuffled columns."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from tabsynth.evaluation.fidelity import evaluate_fidelity
from tabsynth.evaluation.privacy import PrivacySettings, evaluate_privacy
from tabsynth.evaluation.run import evaluate
from tabsynth.evaluation.utility import evaluate_utility
from tabsynth.io import read_table
from tabsynth.report import render_html

FAST = PrivacySettings(singling_out_queries=1000, max_query_attempts=50_000)


@pytest.fixture(scope="module")
def census_parts(census_path) -> dict[str, pd.DataFrame]:
    frame = read_table(census_path).sample(12_000, random_state=0).reset_index(drop=True)
    return {"train": frame.iloc[:4000].reset_index(drop=True),
            "holdout": frame.iloc[4000:8000].reset_index(drop=True),
            "independent": frame.iloc[8000:12_000].reset_index(drop=True)}


def test_copy_of_train_is_high_risk(census_parts) -> None:
    train, holdout = census_parts["train"], census_parts["holdout"]
    result = evaluate_privacy(train, holdout, train.copy(), settings=FAST)
    assert result.exact_match_rate > 0.99
    assert result.exact_match_rate > result.holdout_exact_match_rate + 0.9
    assert result.membership_inference["auc"] > 0.8
    assert result.dcr_share > 0.7
    assert result.verdict == "high"


def test_independent_real_sample_is_low_risk(census_parts) -> None:
    train, holdout = census_parts["train"], census_parts["holdout"]
    result = evaluate_privacy(train, holdout, census_parts["independent"], settings=FAST)
    auc = result.membership_inference["auc"]
    assert abs(auc - 0.5) < 0.04
    assert result.membership_inference["ci"][0] < 0.5 < result.membership_inference["ci"][1]
    assert abs(result.dcr_share - 0.5) < 0.05
    assert abs(result.exact_match_rate - result.holdout_exact_match_rate) < 0.01
    assert result.verdict == "low", result.verdict_reasons


def test_shuffled_columns_keep_marginals_but_lose_pairs(census_parts) -> None:
    train, holdout = census_parts["train"], census_parts["holdout"]
    rng = np.random.default_rng(0)
    shuffled = pd.DataFrame({c: rng.permutation(train[c].to_numpy()) for c in train.columns})
    intact = evaluate_fidelity(train, holdout, census_parts["independent"], sdmetrics=False)
    broken = evaluate_fidelity(train, holdout, shuffled, sdmetrics=False)
    assert broken.tvd1 < 1e-9  # a permutation keeps every column's distribution
    assert broken.tvd2 > 1.5 * intact.tvd2
    assert broken.score < intact.score
    assert intact.holdout_reference == pytest.approx(broken.holdout_reference)
    by_name = {p.columns: p for p in broken.pairs}
    pair = by_name[("education", "education_num")]
    assert pair.real > 0.9 and pair.synthetic < 0.2


def test_utility_on_real_vs_shuffled(census_parts) -> None:
    train, holdout = census_parts["train"], census_parts["holdout"]
    real_like = evaluate_utility(train, holdout, census_parts["independent"], target="income")
    rng = np.random.default_rng(1)
    noise = train.copy()
    noise["income"] = rng.permutation(noise["income"].to_numpy())
    useless = evaluate_utility(train, holdout, noise, target="income")
    assert real_like.task == "classification" and real_like.target_chosen_by == "user"
    assert real_like.tstr["auc"] > 0.85 and abs(real_like.tstr["auc"]
                                                 - real_like.trtr["auc"]) < 0.03
    assert abs(useless.tstr["auc"] - 0.5) < 0.06
    assert {m.model for m in real_like.models} == {"gradient_boosting", "linear"}
    assert real_like.importance_agreement is not None and real_like.importance_agreement > 0.5


def test_target_is_chosen_and_said_when_not_given(census_parts) -> None:
    train, holdout = census_parts["train"], census_parts["holdout"]
    result = evaluate_utility(train, holdout, census_parts["independent"])
    assert result.target == "income" and result.target_chosen_by == "tabsynth"


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.urls: list[str] = []

    VOID = frozenset({"meta", "br", "img", "link", "input", "hr", "rect", "line"})

    def handle_starttag(self, tag, attrs) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]

    def handle_endtag(self, tag) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}>")
        else:
            self.stack.pop()


def test_report_html_is_self_contained(census_parts) -> None:
    train, holdout = census_parts["train"], census_parts["holdout"]
    report = evaluate(train, holdout, census_parts["independent"], target="income",
                      settings=FAST)
    report["run"] = {"method": "test", "train_rows": len(train), "holdout_rows": len(holdout)}
    page = render_html(report)
    parser = _Collector()
    parser.feed(page)
    assert page.startswith("<!DOCTYPE html>")
    assert not parser.errors and parser.stack == [], parser.errors[:5]
    assert not parser.urls
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", page)
    for section in ("Fidelity", "Utility", "Re-identification risk", "Audit record"):
        assert f"<h2>{section}" in page


def test_date_columns_are_binned_with_dates_as_labels() -> None:
    """A reviewer reads bins of a date column as dates, not as day numbers."""
    rng = np.random.default_rng(0)

    def table(n: int) -> pd.DataFrame:
        days = rng.integers(0, 900, n)
        return pd.DataFrame({"joined": pd.Timestamp("2021-01-01") + pd.to_timedelta(days, "D"),
                             "spend": rng.normal(50, 10, n)})

    result = evaluate_fidelity(table(400), table(100), table(400), sdmetrics=False)
    labels = result.distributions["joined"]["labels"]
    assert len(labels) >= 5
    date = r"\d{4}-\d{2}-\d{2}"
    assert all(re.fullmatch(rf"(min|{date})–({date}|max)", label) for label in labels), labels


def test_diversity_sees_a_collapsed_table_that_fidelity_per_column_would_miss() -> None:
    """Rows resampled from the commonest ones keep precision but lose recall, coverage, rare
    categories and the tails; a fresh sample of the same table keeps them all."""
    from tabsynth.evaluation.diversity import evaluate_diversity

    rng = np.random.default_rng(4)

    def table(n: int) -> pd.DataFrame:
        kind = rng.choice([f"k{i}" for i in range(30)], n, p=np.r_[[0.5], [0.5 / 29] * 29])
        return pd.DataFrame({"kind": kind, "amount": rng.lognormal(3, 1, n)})

    train, holdout = table(3000), table(1000)
    fresh = evaluate_diversity(train, holdout, table(3000), ["kind", "amount"])["synthetic"]
    common = train[(train["kind"] == "k0") & (train["amount"] < train["amount"].quantile(0.8))]
    collapsed = evaluate_diversity(train, holdout, common.sample(3000, replace=True,
                                                                 random_state=1),
                                   ["kind", "amount"])["synthetic"]
    assert collapsed["precision"] > 0.9 and fresh["precision"] > 0.9
    assert collapsed["recall"] < fresh["recall"] - 0.3
    assert collapsed["coverage"] < fresh["coverage"] - 0.3
    assert collapsed["rare_category_coverage"] < 0.1 < 0.9 < fresh["rare_category_coverage"]
    assert collapsed["tail_share"]["mean"] > 0.1 > fresh["tail_share"]["mean"]
