"""Typed results: the one attack list every renderer reads."""

from __future__ import annotations

from tabsynth.evaluation.results import Attack, attacks
from tabsynth.release import release_report

PRIVACY = {
    "singling_out": {"univariate": {"name": "singling out (univariate)", "risk": 0.01,
                                    "ci": [0.0, 0.02], "n_attacks": 2000},
                     "multivariate": {"name": "singling out (multivariate)", "risk": None,
                                      "ci": None, "no_queries": True}},
    "linkability": {"name": "linkability", "risk": None, "ci": None,
                    "not_applicable": "needs two quasi-identifiers"},
    "inference": [{"name": "inference: income", "risk": 0.3, "ci": [0.2, 0.4],
                   "main_rate": 0.6, "n_attacks": 500}, "not an attack"],
}


def test_attacks_are_typed_in_report_order() -> None:
    found = attacks(PRIVACY)
    assert [a.name for a in found] == ["singling out (univariate)",
                                       "singling out (multivariate)", "linkability",
                                       "inference: income"]
    assert found[0] == Attack("singling out (univariate)", 0.01, [0.0, 0.02], n_attacks=2000)
    assert found[1].no_queries and not found[1].scored
    assert found[2].not_applicable == "needs two quasi-identifiers"
    assert found[3].scored and found[3].main_rate == 0.6
    assert attacks({}) == []


def test_release_lists_the_same_attacks() -> None:
    shipped = release_report({"privacy": {**PRIVACY, "verdict": "low"}})["privacy"]["attacks"]
    assert [a["name"] for a in shipped] == [a.name for a in attacks(PRIVACY)]
    assert shipped[3] == {"name": "inference: income", "risk": 0.3, "ci": [0.2, 0.4]}


def test_privacy_section_is_read_through_one_typed_view() -> None:
    from tabsynth.evaluation.results import Membership, NearCopies, Privacy

    section = {**PRIVACY, "verdict": "medium", "verdict_reasons": ["a reason"], "dp": None,
               "membership_inference": {"auc": 0.52, "ci": [0.5, 0.54],
                                        "tpr_at_fpr_0.01": 0.012},
               "distances": {"near_copies": [{"level": 0.05, "count": 40, "rate": 0.04,
                                              "holdout_rate": 0.05}]},
               "dcr_share": 0.51, "exact_match_rate": 0.0, "holdout_exact_match_rate": 0.001,
               "settings": {"medium_risk": 0.2, "high_risk": 0.5}}
    view = Privacy.from_dict(section)
    assert view.evaluated and view.verdict == "medium" and view.verdict_reasons == ["a reason"]
    assert view.membership == Membership(0.52, [0.5, 0.54], 0.012)
    assert view.near_copies == [NearCopies(0.05, 40, 0.04, 0.05)]
    assert view.bands == {"medium": 0.2, "high": 0.5} and len(view.attacks) == 4
    skipped = Privacy.from_dict({"dp": None})
    assert not skipped.evaluated and skipped.membership is None and skipped.attacks == []


def test_headline_figures_are_read_in_one_place() -> None:
    from tabsynth.evaluation.results import Headline

    report = {"fidelity": {"score": 0.9, "holdout_reference": 0.95},
              "utility": {"task": "regression", "target": "y", "tstr": {"r2": 0.4, "auc": 1.0},
                          "trtr": {"r2": 0.5}},
              "privacy": {"verdict": "low"}}
    assert Headline.from_report(report) == Headline(0.9, 0.95, "r2", 0.4, 0.5, "y", "low")
    empty = Headline.from_report({})
    assert empty.metric == "r2" and empty.fidelity is None and empty.verdict is None


def test_fidelity_and_utility_are_read_through_typed_views() -> None:
    """The views read what evaluate() writes: a real evaluation of a small table."""
    import numpy as np
    import pandas as pd

    from tabsynth.evaluation.results import Fidelity, Utility
    from tabsynth.evaluation.run import evaluate

    rng = np.random.default_rng(0)

    def table(rows: int) -> pd.DataFrame:
        x = rng.normal(size=rows)
        return pd.DataFrame({"x": x, "z": x + rng.normal(scale=0.3, size=rows),
                             "y": np.where(x + rng.normal(size=rows) > 0, "yes", "no")})

    report = evaluate(table(400), table(200), table(400), target="y", seed=0)
    fidelity, utility = Fidelity.from_dict(report["fidelity"]), Utility.from_dict(
        report["utility"])
    assert {c["column"] for c in fidelity.columns} == {"x", "z", "y"}
    assert set(fidelity.distributions) == {"x", "z", "y"}
    assert fidelity.correlation is not None and fidelity.correlation.columns
    worst = fidelity.worst_pairs(2)
    assert len(worst) == 2 and worst[0]["tvd"] >= worst[1]["tvd"]
    assert set(fidelity.tvd_of()) == {"x", "z", "y"}
    assert utility.models and all("auc" in m.tstr and "auc" in m.trtr for m in utility.models)
    assert Fidelity.from_dict(None).correlation is None and Utility.from_dict(None).models == []


def _fidelity(columns: list[tuple[str, float, float]]):
    from tabsynth.evaluation.results import Fidelity

    share = {"labels": ["a", "b"], "real": [0.5, 0.5], "synthetic": [0.4, 0.6]}
    return Fidelity([{"column": n, "tvd": t, "holdout_tvd": h} for n, t, h in columns],
                    {n: share for n, _, _ in columns if n != "not charted"}, [], None)


def test_weakest_columns_rank_by_distance_beyond_the_holdout() -> None:
    """A column far from the training rows but no farther than a fresh real sample ranks
    below one the holdout follows closely and the synthetic rows do not."""
    fidelity = _fidelity([("noisy", 0.30, 0.29), ("off", 0.12, 0.01), ("fine", 0.02, 0.03),
                          ("not charted", 0.9, 0.0)])
    assert [c["column"] for c in fidelity.weakest_columns(6)] == ["off", "noisy", "fine"]
    assert [c["column"] for c in fidelity.weakest_columns(1)] == ["off"]


def test_weakest_caption_says_whether_any_column_departs_beyond_sampling() -> None:
    from tabsynth.ui_support import weakest_caption

    within = _fidelity([("a", 0.02, 0.03)]).weakest_columns(6)
    beyond = _fidelity([("a", 0.12, 0.01), ("b", 0.02, 0.03)]).weakest_columns(6)
    assert "size sampling alone makes" in weakest_caption(within)
    assert "1 of these depart more than the holdout" in weakest_caption(beyond)


def test_the_pages_weakest_pairs_come_by_their_excess_over_the_holdout() -> None:
    from tabsynth.ui_support import weakest_pairs

    pairs = [{"columns": ["a", "b"], "metric": "correlation", "real": 0.7, "synthetic": 0.4,
              "holdout": 0.69, "tvd": 0.30, "holdout_tvd": 0.29},
             {"columns": ["c", "d"], "metric": "cramers_v", "real": 0.9, "synthetic": 0.5,
              "holdout": 0.88, "tvd": 0.20, "holdout_tvd": 0.05}]
    table = weakest_pairs(pairs)
    assert list(table["columns"]) == ["c × d", "a × b"]  # 0.15 beyond the holdout, then 0.01
    assert list(table["measured as"]) == ["Cramér's V", "rank correlation"]
    assert table.iloc[0]["synthetic"] == "0.500"
