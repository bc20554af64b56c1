"""Typed verdict objects: a check's fired rule carries its template id and figures, the
sentence is written from them, and the release decides from them what may travel."""

from __future__ import annotations

from tabsynth.evaluation.verdict import Check, Figure, FiredRule, classify, verdict
from tabsynth.release import WITHHELD_REASON, release_report, render_release_html


def _attack(value: float, ci: list[float], name: str = "linkability") -> Check:
    check = Check("attack", name, value, ci, 0.0, 0.2, 0.5, "attack")
    return classify(check, "attack", {
        "attack": Figure(name, "text"), "risk": Figure(value, "score"),
        "low": Figure(ci[0], "score"), "high": Figure(ci[1], "score"),
        "n": Figure(12345, "count")})


def test_a_fired_rule_is_a_template_id_with_figures_written_when_shown() -> None:
    check = _attack(0.61234, [0.55, 0.67])
    assert check.band == "high" and check.fired.template == "attack"
    assert check.fired.figures["threshold"] == Figure(0.5, "score")
    # scores at the two decimals every surface writes (the release's own)
    assert check.reason == ("linkability risk 0.61 (95 % CI 0.55 to 0.67, 12,345 attacks) "
                            "reaches the high threshold of 0.50")
    stored = check.to_dict()
    assert stored["template"] == "attack" and stored["reason"] == check.reason
    assert stored["figures"]["n"] == {"value": 12345, "kind": "count"}
    assert FiredRule.of_check(stored) == check.fired  # report.json round trip
    assert FiredRule.of_check({**stored, "template": "unknown"}) is None
    assert FiredRule.of_check({**stored, "band": "low"}) is None
    assert FiredRule.of_check({**stored, "template": ["attack"]}) is None
    figures = {**stored["figures"], "risk": {"value": 0.6, "kind": "other"}}
    assert FiredRule.of_check({**stored, "figures": figures}) is None
    low = _attack(0.01, [0.0, 0.05])
    assert low.band == "low" and low.fired is None and low.to_dict()["template"] is None


def test_power_and_failure_are_fired_rules_too() -> None:
    weak = classify(Check("dcr_share", "DCR share", 0.52, [0.45, 0.6], 0.5, 0.55, 0.65,
                          "overfitting", percent=True), "dcr_share",
                    {"share": Figure(0.52, "percent")})
    assert weak.band == "inconclusive" and weak.fired.template == "power"
    assert weak.reason == ("DCR share: 52.0 % with a 95 % CI up to 60.0 %: too little power to "
                           "rule out the medium threshold of 55.0 % (inconclusive)")
    failed = classify(Check("attack", "inference", None, None, 0.0, 0.2, 0.5, "attack",
                            error="ValueError"))
    assert failed.reason == "inference could not run (ValueError): inconclusive"
    band, reasons = verdict([weak, failed, _attack(0.3, [0.25, 0.35])])
    assert band == "medium" and reasons[0].startswith("linkability risk 0.30 ")


def test_release_rewrites_reasons_from_the_objects() -> None:
    checks = [_attack(0.61234, [0.55, 0.67]), _attack(0.7, [0.6, 0.8], "stolen-value")]
    privacy = {"singling_out": {}, "linkability": {"name": "linkability", "risk": 0.61,
                                                   "ci": [0.55, 0.67]},
               "verdict": "high", "checks": [c.to_dict() for c in checks],
               "verdict_reasons": [c.reason for c in checks] + ["made up"]}
    shipped = release_report({"privacy": privacy})["privacy"]["verdict_reasons"]
    # no count (the number of attacks is min(10,000, training rows): the exact train size on a
    # small table); scores at two decimals; an unknown name or sentence is withheld
    assert shipped == ["linkability risk 0.61 (95 % CI 0.55 to 0.67) reaches "
                       "the high threshold of 0.50", WITHHELD_REASON, WITHHELD_REASON]
    near = classify(Check("near_copy_01", "near copies (1 % level)", 0.2, [0.18, 0.22], 0.0,
                          0.03, 0.15, "overfitting", percent=True), "near_copy",
                    {"count": Figure(2345, "count"), "rate": Figure(0.21, "percent"),
                     "keep": Figure(0.99, "percent"), "expected": Figure(0.01, "percent"),
                     "excess": Figure(0.2, "percent")})
    assert near.reason.startswith("2,345 synthetic rows (21.0 %) are closer")
    shipped = release_report({"privacy": {"singling_out": {}, "checks": [near.to_dict()],
                                          "verdict_reasons": [near.reason]}})
    # the release's wording: no count, no rate (its fields carry them, rounded), no figure of
    # the holdout's own
    (reason,) = shipped["privacy"]["verdict_reasons"]
    assert reason == ("synthetic rows lie closer to real training rows than real holdout rows "
                      "do, more often than expected; the excess reaches the high threshold of "
                      "15.0 %")


def test_a_dp_release_carries_no_real_against_real_figure_and_no_fine_rate() -> None:
    """A DP run's release: no holdout-against-train fidelity, no TRTR, no holdout copy rates
    (real rows against real rows, not DP); no release reason quotes a count, a fine rate or a
    holdout figure."""
    exact = classify(Check("exact_copy", "exact-match rate above the holdout's", 0.00437,
                           [0.003, 0.006], 0.0, 0.001, 0.05, "overfitting", percent=True),
                     "exact_copy", {"count": Figure(17, "count"),
                                    "rate": Figure(0.00537, "percent"),
                                    "reference": Figure(0.0007, "percent"),
                                    "excess": Figure(0.00467, "percent")})
    assert exact.band == "medium"
    report = {
        "fidelity": {"score": 0.9731, "holdout_reference": 0.95, "tvd1": 0.02,
                     "holdout_tvd1": 0.01, "tvd2": 0.05, "holdout_tvd2": 0.03,
                     "sdmetrics_quality": 0.9, "holdout_sdmetrics_quality": 0.97},
        "utility": {"target": "y", "task": "classification", "tstr": {"auc": 0.8},
                    "trtr": {"auc": 0.85}},
        "privacy": {"singling_out": {}, "checks": [exact.to_dict()],
                    "verdict_reasons": [exact.reason], "verdict": "medium",
                    "exact_match_rate": 0.00537, "holdout_exact_match_rate": 0.001,
                    "near_copies": [{"level": 0.05, "rate": 0.04, "holdout_rate": 0.05}],
                    "dp": {"epsilon": 1.0, "delta": 1e-6}}}
    plain = release_report({**report, "privacy": {**report["privacy"], "dp": None}})
    private = release_report(report)
    assert plain["fidelity"]["holdout_reference"] == 0.95 and "trtr" in plain["utility"]
    assert not {"holdout_reference", "holdout_tvd1", "holdout_tvd2",
                "holdout_sdmetrics_quality"} & set(private["fidelity"])
    assert "trtr" not in private["utility"]
    assert "holdout_exact_match_rate" not in private["privacy"]
    assert all("holdout_rate" not in n for n in private["privacy"]["near_copies"])
    (reason,) = private["privacy"]["verdict_reasons"]
    assert reason == plain["privacy"]["verdict_reasons"][0] == (
        "synthetic rows are exact copies of real training rows more often than real holdout "
        "rows are; the excess reaches the medium threshold of 0.10 %")
    released = {f"{100 * v:.1f} %" for v in (0.00537, 0.0007, 0.00467)} | {"17"}
    assert not any(figure in reason for figure in released)
    html = render_release_html(private)
    assert "holdout (reference)" not in html and "train real" not in html
    assert "holdout (reference)" in render_release_html(plain)
