"""Typed verdict objects: a check's fired rule carries its template id and figures, the
sentence is written from them, and the release decides from them what may travel."""

from __future__ import annotations

import html

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


# ---------------------------------------------------------------- what a verdict says

ROLES = {"quasi_identifiers": ["age", "sex"], "secrets": ["diagnosis"],
         "quasi_identifiers_origin": "chosen by you", "secrets_origin": "chosen by you"}


def _check(rule: str, label: str, band: str, **extra) -> dict:
    return {"rule": rule, "label": label, "band": band, "value": 0.01, "ci": [0.0, 0.05],
            **extra}


def _privacy(verdict: str, *checks: dict, dp: dict | None = None) -> dict:
    low = _check("dcr_share", "DCR share", "low")
    return {"verdict": verdict, "checks": [low, *checks], "roles": ROLES, "dp": dp,
            "singling_out": {}}


def test_an_inconclusive_verdict_names_the_checks_that_lacked_power_and_the_remedy() -> None:
    from tabsynth.evaluation.guidance import summarise

    privacy = _privacy("inconclusive",
                       _check("near_copy_05", "near copies (5 % level)", "inconclusive"),
                       _check("near_copy_01", "near copies (1 % level)", "inconclusive"),
                       _check("mia_auc", "membership inference AUC", "inconclusive"),
                       _check("mia_tpr", "membership inference at 1 % false positives",
                              "inconclusive"))
    summary = summarise(privacy, holdout_fraction=0.2)
    assert summary.verdict == "inconclusive"
    assert summary.meaning == ("No check reached its medium threshold, but near copies and "
                               "membership inference had too little data to rule it out.")
    assert summary.next_step == (
        "To settle it, give the checks more data: a larger holdout share (now 20.0 % of the "
        "rows), more rows, or a run with differential privacy, whose guarantee does not rest "
        "on these checks.")
    # a DP run is not told to run with DP; a check that failed is named as such
    failed = _check("attack", "inference of diagnosis", "inconclusive", value=None, ci=None,
                    error="ValueError")
    private = summarise({**privacy, "dp": {"epsilon": 1.0}, "checks": [*privacy["checks"],
                                                                       failed]})
    assert private.meaning.endswith("had too little data to rule it out, and inference of "
                                    "diagnosis could not run.")
    assert "differential-privacy guarantee holds either way" in private.next_step
    assert "a run with differential privacy" not in private.next_step
    assert "run again for the checks that could not run" in private.next_step


def test_medium_and_high_name_the_rules_and_columns_that_drove_them() -> None:
    from tabsynth.evaluation.guidance import summarise

    medium = summarise(_privacy(
        "medium", _check("exact_copy", "exact copies", "medium"),
        _check("attack", "inference of diagnosis", "medium"),
        _check("attack", "linkability", "inconclusive")))
    assert medium.meaning == (
        "Exact copies and inference of diagnosis from age and sex reached the medium "
        "threshold: people in the training data may be recognised or exposed through the "
        "synthetic rows.")
    assert medium.next_step == (
        "Before releasing, make the model memorise less (fewer epochs, or a run with "
        "differential privacy) and coarsen or leave out diagnosis, age and sex (bands, fewer "
        "categories), then run again; to release it as it is, say why when you sign off.")
    high = summarise(_privacy("high", _check("attack", "linkability", "high"),
                              _check("attack", "singling out (univariate)", "high"),
                              _check("mia_auc", "membership inference AUC", "medium")))
    assert high.meaning.startswith("Linkability through age and sex and singling out reached "
                                   "the high threshold: people in the training data can be")
    assert high.next_step.startswith("Do not release this table: coarsen or leave out age and "
                                     "sex (bands, fewer categories) and group rare categories")
    assert "membership" not in high.text  # the medium check did not make it high
    low = summarise(_privacy("low"))
    assert "You may sign off" in low.next_step and "not a finding that the data is anonymous" \
        in low.next_step
    skipped = summarise({"dp": None, "evaluated": False})
    assert skipped.verdict is None and "not evaluated" in skipped.meaning


def test_the_release_carries_the_summary_naming_only_what_may_travel() -> None:
    leak = _check("attack", "LEAK-SENTINEL", "medium")
    report = {"run": {"holdout_fraction": 0.3},
              "privacy": {**_privacy("medium", leak, _check("mia_auc",
                                                            "membership inference AUC",
                                                            "medium")),
                          "linkability": {"name": "linkability", "risk": 0.1,
                                          "ci": [0.0, 0.3]}}}
    shipped = release_report(report)["privacy"]["verdict_summary"]
    assert shipped["meaning"].startswith("Membership inference and another check reached the "
                                         "medium threshold")
    assert "LEAK-SENTINEL" not in str(shipped)
    page = render_release_html(release_report(report))
    assert shipped["meaning"] in page and "What to do next:" in page


def test_exact_copies_read_the_same_on_the_page_in_the_review_and_in_the_verdict() -> None:
    """One function writes exact copies (synthetic vs holdout, and the excess the verdict
    judges); the page, the review and the verdict's sentence show its string, the release its
    string at the release's rounding, and a DP release the synthetic rate only, saying why."""
    from tabsynth import formatting
    from tabsynth.report import render_html
    from tabsynth.ui_support import check_rows, privacy_lines

    rate, reference = 0.0961, 0.0947
    exact = classify(Check("exact_copy", "exact copies", rate - reference, [0.0001, 0.003],
                           0.0, 0.001, 0.05, "overfitting", percent=True), "exact_copy",
                     {"count": Figure(384, "count"), "rate": Figure(rate, "percent"),
                      "reference": Figure(reference, "percent"),
                      "excess": Figure(rate - reference, "percent")})
    assert exact.band == "medium"
    written = formatting.exact_copies(rate, reference, rate - reference)
    assert written == "synthetic 9.6 % vs holdout 9.5 % (excess 0.14 %)"
    privacy = {"verdict": "medium", "verdict_reasons": [exact.reason],
               "checks": [exact.to_dict()], "singling_out": {"risk": None}, "roles": ROLES,
               "exact_match_rate": rate, "holdout_exact_match_rate": reference,
               "distances": {"exact_copies": {"count": 384, "rate": rate, "ci": [0.09, 0.1],
                                              "holdout_rate": reference,
                                              "holdout_ci": [0.08, 0.11],
                                              "excess": rate - reference,
                                              "excess_ci": [0.0001, 0.003]}}}
    report = {"run": {"method": "test"}, "privacy": privacy}
    assert written in exact.reason  # the verdict's sentence
    assert any(written in line for line in privacy_lines(privacy))  # the page's privacy tab
    assert written in " ".join(check_rows(privacy)["why"])  # the page's checks
    assert written in render_html(report)  # the review
    plain = render_release_html(release_report(report))
    assert formatting.exact_copies(0.1, 0.09, 0.0, figure=formatting.rounded_percent) \
        == "synthetic 10 % vs holdout 9 % (excess 0 %)" and \
        "synthetic 10 % vs holdout 9 % (excess 0 %)" in plain
    private = release_report({**report, "privacy": {**privacy, "dp": {"epsilon": 1.0,
                                                                       "delta": 1e-6}}})
    assert "exact_copy_excess" not in private["privacy"]
    page = html.unescape(render_release_html(private))
    assert "synthetic 10 % (the holdout's own rate and the excess are left out" in page
    assert "vs holdout" not in page


def test_one_row_is_written_in_the_singular() -> None:
    from tabsynth.evaluation.verdict import _one_row

    assert _one_row("1 synthetic rows (0.03 %) are closer") == "1 synthetic row (0.03 %) is closer"
    assert _one_row("1 synthetic rows are exact copies of a real training row") == \
        "1 synthetic row is an exact copy of a real training row"
    for plural in ("11 synthetic rows are", "of 1,001 synthetic rows are", "2 training rows"):
        assert _one_row(plural) == plural
