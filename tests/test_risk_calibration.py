"""The privacy verdict catches leaks of known size on census, and stays low without one.

One 10,000-row census sample: 6,000 training rows, 2,000 holdout rows (the control: enough for
the attacks to rule the medium band out) and 2,000 rows as an independent real sample. The leaky
tables replace a share of a Gaussian-copula synthetic table by training rows: near copies (every
number times 1 ± up to 1 %, categories kept) or exact copies. Before the whole-table checks,
the 10 % near copies and the 1 % exact copies here were both "low".
"""

from __future__ import annotations

import html
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tabsynth.evaluation.privacy import evaluate_privacy
from tabsynth.io import read_table
from tabsynth.report import render_html
from tabsynth.schema import coerce_frame, infer_schema
from tabsynth.synthesizers import make_synthesizer

NOT_LOW = ("medium", "high")


def copies(train: pd.DataFrame, base: pd.DataFrame, share: float, noise: float,
           seed: int) -> pd.DataFrame:
    """base with `share` of its rows replaced by training rows, numbers jittered by noise."""
    rng = np.random.default_rng(seed)
    count = round(share * len(base))
    copied = train.sample(count, random_state=seed).reset_index(drop=True)
    if noise:
        for column in copied.columns:
            if pd.api.types.is_numeric_dtype(copied[column]):
                copied[column] = copied[column] * (1 + rng.uniform(-noise, noise, count))
    kept = base.sample(len(base) - count, random_state=seed + 1)
    mixed = pd.concat([kept, copied], ignore_index=True)
    return mixed.sample(frac=1, random_state=seed + 2).reset_index(drop=True)


@pytest.fixture(scope="module")
def parts(census_path) -> dict[str, pd.DataFrame]:
    frame = read_table(census_path).sample(10_000, random_state=3).reset_index(drop=True)
    train = frame.iloc[:6000].reset_index(drop=True)
    schema = infer_schema(train)
    model = make_synthesizer("gaussian-copula").fit(coerce_frame(train, schema), schema)
    copula = model.sample(len(train), seed=0)
    return {"train": train, "holdout": frame.iloc[6000:8000].reset_index(drop=True),
            "independent": frame.iloc[8000:].reset_index(drop=True), "copula": copula,
            "near copies 10 %": copies(train, copula, 0.10, 0.01, seed=1),
            "near copies 30 %": copies(train, copula, 0.30, 0.01, seed=2),
            "exact copies 1 %": copies(train, copula, 0.01, 0.0, seed=3)}


@pytest.fixture(scope="module")
def results(parts) -> dict[str, Any]:
    cases = ("copula", "independent", "near copies 10 %", "near copies 30 %",
             "exact copies 1 %")
    return {case: evaluate_privacy(parts["train"], parts["holdout"], parts[case])
            for case in cases}


def _fired(result: Any, rule: str) -> list[dict[str, Any]]:
    return [c for c in result.checks if c["rule"] == rule and c["band"] in NOT_LOW]


def test_ten_percent_near_copies_are_at_least_medium(results) -> None:
    result = results["near copies 10 %"]
    assert result.verdict in NOT_LOW, result.verdict_reasons
    assert _fired(result, "near_copy_01") and _fired(result, "mia_tpr")
    near = result.distances["near_copies"][1]
    assert near["rate"] > 5 * near["holdout_rate"]


def test_thirty_percent_near_copies_are_high(results) -> None:
    result = results["near copies 30 %"]
    assert result.verdict == "high", result.verdict_reasons
    assert any(c["band"] == "high" for c in _fired(result, "near_copy_01"))
    assert result.membership_inference["tpr_at_fpr_0.01"] > 0.2


@pytest.mark.parametrize("case", ["copula", "independent"])
def test_no_leak_is_low(results, case: str) -> None:
    result = results[case]
    assert result.verdict == "low", result.verdict_reasons
    assert result.verdict_reasons == []
    assert abs(result.membership_inference["auc"] - 0.5) < 0.03


def test_one_percent_exact_copies_are_not_low(results) -> None:
    result = results["exact copies 1 %"]
    assert result.verdict in NOT_LOW, result.verdict_reasons
    assert _fired(result, "exact_copy")
    assert result.exact_match_rate == pytest.approx(0.01, abs=0.002)


def test_attacks_use_the_whole_tables_and_enough_attacks(results, parts) -> None:
    result = results["copula"]
    distances = result.distances
    assert distances["reference_rows"] == len(parts["train"])
    assert distances["synthetic_queries"] == len(parts["copula"])
    assert distances["holdout_queries"] == len(parts["holdout"])
    attacks = [result.singling_out["univariate"], result.singling_out["multivariate"],
               result.linkability, *result.inference]
    assert all(a["n_attacks"] >= 1000 for a in attacks), [a["n_attacks"] for a in attacks]
    assert result.roles["secrets"] == ["income"]
    assert {"age", "sex", "race"} <= set(result.roles["quasi_identifiers"])
    halves = result.linkability["aux_columns"]
    assert sorted(halves[0] + halves[1]) == sorted(result.roles["quasi_identifiers"])
    assert halves[0] != result.roles["quasi_identifiers"][:len(halves[0])]


def test_fired_rules_are_sentences_with_numbers_only(results, parts) -> None:
    from tabsynth.evaluation.verdict import FiredRule

    train = parts["train"]
    labels = {str(v) for c in train.columns if train[c].dtype == object
              for v in train[c].unique() if len(str(v)) > 2}
    numbers = {f"{v:g}" for c in train.columns if train[c].dtype != object
               for v in train[c].unique() if abs(v) >= 10_000}  # longer than any count here
    reasons = [r for result in results.values() for r in result.verdict_reasons]
    checks = [c for result in results.values() for c in result.checks]
    names = {c["label"] for c in checks}
    fired = {rule.sentence(): rule for rule in map(FiredRule.of_check, checks) if rule}
    assert reasons
    for reason in reasons:
        rule = fired[reason]  # every reason is written from a check's template and figures
        assert all(f.kind != "text" or f.value in names or name in ("band", "error")
                   for name, f in rule.figures.items()), reason
        assert not any(label in reason for label in labels), reason
        assert not set(re.findall(r"\d+", reason.replace(",", ""))) & numbers, reason
    near = results["near copies 30 %"].verdict_reasons
    assert any(re.fullmatch(r"[\d,]+ synthetic rows \([\d.]+ %\) are closer to a real training "
                            r"row than 99\.[\d]+ % of real holdout rows are: expected [\d.]+ %.*",
                            r) for r in near), near


def test_rules_and_checks_are_in_the_report(results) -> None:
    privacy = results["near copies 30 %"].to_dict()
    assert len(privacy["rules"]) >= 5 and any("medium from" in r for r in privacy["rules"])
    assert all({"value", "ci", "medium", "high", "band"} <= set(c) for c in privacy["checks"])
    page = render_html({"privacy": privacy, "run": {"method": "test"}})
    assert "Checks behind the verdict" in page and "Verdict rules" in page
    assert "chosen by you" not in page and "suggested:" in page
    assert privacy["verdict_reasons"]
    assert all(html.escape(reason) in page for reason in privacy["verdict_reasons"])


def test_release_keeps_the_templated_sentences_only(results) -> None:
    from tabsynth.release import WITHHELD_REASON, release_report

    privacy = results["near copies 30 %"].to_dict()
    assert privacy["verdict_reasons"]
    from tabsynth.evaluation.verdict import TEMPLATES, FiredRule
    from tabsynth.release import RELEASE_WORDING

    released = release_report({"privacy": privacy})["privacy"]
    rules = {rule.sentence(): rule for rule in map(FiredRule.of_check, privacy["checks"])
             if rule is not None}
    # the same sentences without row or attack counts, figures at most two decimals; the copy
    # and membership rules in the release's wording (no rate, no figure of the holdout's own)
    assert len(released["verdict_reasons"]) == len(privacy["verdict_reasons"])
    for real, shipped in zip(privacy["verdict_reasons"], released["verdict_reasons"],
                             strict=True):
        template = rules[real].template
        if template in RELEASE_WORDING:
            opening = TEMPLATES[RELEASE_WORDING[template]].split("{")[0]
            assert shipped.startswith(opening) and "%" in shipped.split("threshold")[-1]
        else:
            uncounted = re.sub(r"\d[\d,]* (?=(synthetic|real|training|holdout) rows?)|"
                               r", \d[\d,]* attacks", "", real)
            assert re.sub(r"\d[\d,.]*", "#", uncounted) == re.sub(r"\d[\d,.]*", "#", shipped)
        assert not re.search(r"\d[\d,]* (synthetic|real|training|holdout) rows?", shipped)
        assert not re.search(r"\d[\d,]* attacks", shipped)
        assert not re.search(r"\d\.\d{3}", shipped)
    assert released["verdict"] == "high" and released["near_copies"][1]["level"] == 0.01
    tampered = [privacy["verdict_reasons"][0].replace("synthetic rows", "rows of Husband")]
    leaky = release_report({"privacy": {**privacy, "verdict_reasons": tampered}})
    assert leaky["privacy"]["verdict_reasons"] == [WITHHELD_REASON]
