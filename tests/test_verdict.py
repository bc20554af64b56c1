"""Typed verdict objects: a check's fired rule carries its template id and figures, the
sentence is written from them, and the release decides from them what may travel."""

from __future__ import annotations

from tabsynth.evaluation.verdict import Check, Figure, FiredRule, classify, verdict
from tabsynth.release import WITHHELD_REASON, release_report


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
    assert check.reason == ("linkability risk 0.612 (95 % CI 0.550 to 0.670, 12,345 attacks) "
                            "reaches the high threshold of 0.500")
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
    assert band == "medium" and reasons[0].startswith("linkability risk 0.300")


def test_release_rewrites_reasons_from_the_objects() -> None:
    checks = [_attack(0.61234, [0.55, 0.67]), _attack(0.7, [0.6, 0.8], "stolen-value")]
    privacy = {"singling_out": {}, "linkability": {"name": "linkability", "risk": 0.61,
                                                   "ci": [0.55, 0.67]},
               "verdict": "high", "checks": [c.to_dict() for c in checks],
               "verdict_reasons": [c.reason for c in checks] + ["made up"]}
    shipped = release_report({"privacy": privacy})["privacy"]["verdict_reasons"]
    # counts stay (they count attacks, not rows); scores at two decimals; an unknown name or
    # sentence is withheld
    assert shipped == ["linkability risk 0.61 (95 % CI 0.55 to 0.67, 12,345 attacks) reaches "
                       "the high threshold of 0.50", WITHHELD_REASON, WITHHELD_REASON]
    near = classify(Check("near_copy_01", "near copies (1 % level)", 0.2, [0.18, 0.22], 0.0,
                          0.03, 0.15, "overfitting", percent=True), "near_copy",
                    {"count": Figure(2345, "count"), "rate": Figure(0.21, "percent"),
                     "keep": Figure(0.99, "percent"), "expected": Figure(0.01, "percent"),
                     "excess": Figure(0.2, "percent")})
    assert near.reason.startswith("2,345 synthetic rows (21.0 %) are closer")
    shipped = release_report({"privacy": {"singling_out": {}, "checks": [near.to_dict()],
                                          "verdict_reasons": [near.reason]}})
    assert shipped["privacy"]["verdict_reasons"] == [near.fired.sentence(omit=("count",))]
    assert shipped["privacy"]["verdict_reasons"][0].startswith("synthetic rows (21.0 %) are")
