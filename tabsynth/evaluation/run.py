"""Run the three evaluations (fidelity, utility, privacy) into the sections of report.json."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from tabsynth.evaluation.diversity import evaluate_diversity
from tabsynth.evaluation.fidelity import evaluate_fidelity
from tabsynth.evaluation.privacy import PrivacySettings, evaluate_privacy, privacy_roles
from tabsynth.evaluation.utility import evaluate_utility, utility_target
from tabsynth.progress import ProgressCallback, ProgressEvent, ignore_progress

# where each part starts within the evaluation, by its share of the time on census
# (benchmarks/README.md, bench_evaluation.py: fidelity 5.1 s, utility 4.5 s, privacy 3.6 s)
PARTS = {"fidelity": (0.0, "fidelity: comparing the columns and pairs of columns"),
         "utility": (0.4, "utility: training models on synthetic rows, testing them on real"),
         "privacy": (0.75, "privacy: nearest rows and re-identification attacks")}
NOTHING_LEARNED = ("no column was learned: every column is PII, a key or free text and was made "
                   "up from scratch, so no synthetic value derives from a real one")


def evaluate(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
             target: str | None = None, exclude: list[str] | None = None,
             settings: PrivacySettings | None = None,
             seed: int = 0, quasi_identifiers: list[str] | None = None,
             secrets: list[str] | None = None,
             kinds: dict[str, str] | None = None,
             progress: ProgressCallback | None = None) -> dict[str, Any]:
    """fidelity / utility / privacy sections of report.json, with the seconds each took.

    quasi_identifiers / secrets: the attacker's known columns and targets (None: tabsynth
    suggests them; the utility target is a secret); a bad name is a ConfigError, raised first.
    The privacy section holds no DP claim: the caller adds its own (privacy.dp). `kinds`: the
    schema's kind of each column, shown in the fidelity table as the kind the model used.
    `progress` hears an "evaluate" event as each part starts.
    """
    emit = progress or ignore_progress
    emit(ProgressEvent("evaluate", *PARTS["fidelity"]))
    skip = set(exclude or [])
    if not [c for c in train.columns if c in synthetic.columns and c not in skip]:
        return nothing_learned()
    # the attacker's columns, resolved once and first: a bad name costs no evaluation
    roles = privacy_roles(train, synthetic, exclude,
                          utility_target(train, synthetic, target, exclude),
                          quasi_identifiers, secrets)
    timings = {}
    started = time.perf_counter()
    fidelity = evaluate_fidelity(train, holdout, synthetic, exclude, seed=seed,
                                 kinds=kinds).to_dict()
    fidelity["diversity"] = evaluate_diversity(
        train, holdout, synthetic, [c["column"] for c in fidelity["columns"]], seed)
    timings["fidelity"] = time.perf_counter() - started
    started = time.perf_counter()
    emit(ProgressEvent("evaluate", *PARTS["utility"]))
    from threadpoolctl import threadpool_limits

    from tabsynth.device import compute_threads

    # one OpenMP thread for the gradient-boosted models: after a torch fit in the same worker
    # their threads and torch's fought over the 2 cores (census, 2,000 rows, 1 epoch of the
    # autoregressive model: utility 35.6 s, 1.3 s with one thread; a busy machine)
    with threadpool_limits(compute_threads()):
        utility = evaluate_utility(train, holdout, synthetic, target, exclude, seed).to_dict()
    timings["utility"] = time.perf_counter() - started
    started = time.perf_counter()
    emit(ProgressEvent("evaluate", *PARTS["privacy"]))
    privacy = evaluate_privacy(train, holdout, synthetic, exclude, target=utility["target"],
                               settings=settings, seed=seed, roles=roles).to_dict()
    timings["privacy"] = time.perf_counter() - started
    return {"fidelity": fidelity, "utility": utility, "privacy": privacy,
            "evaluation_seconds": {k: round(v, 2) for k, v in timings.items()}}


def nothing_learned() -> dict[str, Any]:
    """The three sections when there is nothing to compare: all columns were regenerated."""
    return {"fidelity": {"not_applicable": NOTHING_LEARNED},
            "utility": {"task": None, "target": None, "note": NOTHING_LEARNED},
            "privacy": {"not_applicable": NOTHING_LEARNED, "verdict": "low",
                        "verdict_reasons": [NOTHING_LEARNED]},
            "evaluation_seconds": {}}
