"""Plain helpers behind the Streamlit page: schema <-> editable rows, method notes, estimates."""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tabsynth.device import cuda_available, device_name
from tabsynth.errors import TableError, TabsynthError
from tabsynth.estimate import (
    EVENT_STAGES,
    STAGE_WORDS,
    STAGES,
    Estimate,
    duration_words,
    estimate_run,
    planned_batch,
    planned_epochs,
    remaining_seconds,
    span_words,
    training_fraction,
)
from tabsynth.evaluation.guidance import VerdictSummary, summarise
from tabsynth.evaluation.results import Headline, Privacy
from tabsynth.evaluation.roles import Roles, suggest_roles
from tabsynth.evaluation.utility import (
    RealPredictability,
    choose_target,
    real_predictability,
    weak_target_note,
)
from tabsynth.evaluation.verdict import FiredRule
from tabsynth.formatting import (
    aggregate,
    aggregate_interval,
    count,
    exact_copies,
    percent,
    percent_interval,
    score,
    seconds,
    small,
    value,
)
from tabsynth.schema import Schema
from tabsynth.synthesizers.registry import METHODS

METHOD_GUIDE = (
    "**Which method?** For the most faithful table, **autoregressive**: on the three public "
    "tables we measured (people's incomes, online-shop sessions, a household survey) it came "
    "as close to the real data as a fresh real sample, in one to two minutes. It gives no "
    "formal guarantee, so read the risk report. When the data may only leave under a formal "
    "guarantee, tick *Differential privacy* on **autoregressive**: at ε = 1 it matched "
    "**dp-gan** on the table of 49,000 people's incomes (quality 0.94 both; a model trained "
    "on its rows reached AUC 0.89 against 0.88) and was ahead on the 12,000 online-shop "
    "sessions (quality 0.88 against 0.86; AUC 0.83 against 0.47). On those sessions AIM, a "
    "differentially private method not offered here that learns from noisy counts of pairs "
    "of columns, trained a better model (AUC 0.86) from rows that matched the real table "
    "less closely (quality 0.79). "
    "Under differential privacy small tables lose much: a few thousand rows at ε = 1 leave "
    "little of most columns. **dp-gan** is a differentially private GAN, kept for comparison. "
    "**gaussian-copula** is the fastest learned model (seconds) and keeps marginals and linear "
    "correlations only; **ctgan** is SDV's GAN, for comparison; **faker** learns nothing "
    "about relationships: a table with the right columns and formats, for trying things out.")
MISSING_CODES = "missing codes"
TREAT_AS_MISSING = "treat as missing"
PAIR_WORDS = {"correlation": "rank correlation", "cramers_v": "Cramér's V"}


def weakest_pairs(pairs: list[dict], count_shown: int = 5) -> pd.DataFrame:
    """The pairs of columns whose relation the synthetic rows follow least closely, by how far
    their 2-way distance exceeds a fresh real sample's (the holdout's): the relation in the
    real, synthetic and holdout rows, and both distances."""
    ranked = sorted(pairs, key=lambda p: -((p.get("tvd") or 0.0)
                                           - (p.get("holdout_tvd") or 0.0)))[:count_shown]
    return pd.DataFrame([{
        "columns": " × ".join(map(str, p.get("columns") or [])),
        "measured as": PAIR_WORDS.get(p.get("metric"), str(p.get("metric"))),
        "real": value(p.get("real")), "synthetic": value(p.get("synthetic")),
        "holdout": value(p.get("holdout")),
        "2-way TVD (synthetic)": value(p.get("tvd")),
        "2-way TVD (holdout)": value(p.get("holdout_tvd"))} for p in ranked])


def weakest_caption(weakest: list[dict]) -> str:
    """What the small multiples of the least faithful columns show, and whether any column
    departs from the real rows more than a fresh real sample (the holdout) does."""
    beyond = [c["column"] for c in weakest
              if float(c.get("tvd") or 0) > float(c.get("holdout_tvd") or 0)]
    lead = ("Real (train), synthetic and holdout shares side by side, the largest departure "
            "first (the synthetic table's distance beyond the holdout's). ")
    if not beyond:
        return lead + ("Every column is as close to the training rows as the holdout, a fresh "
                       "real sample, is: these differences are of the size sampling alone makes.")
    return lead + (f"{count(len(beyond))} of these depart more than the holdout does. Every "
                   "column is in the table below and in the selector under it.")


TARGET_HELP = (
    "The utility report trains models on the synthetic rows to predict this column and tests "
    "them on real rows. A good target is a column you would want to predict from the others: "
    "an outcome such as a diagnosis, a yes/no flag, a category with 2 to 20 values or an "
    "amount. Not a key, a free-text column, or a column the others say nothing about.")
PUBLIC_DOMAIN_HELP = (
    "Values you declare public (the categories a column can take, a number column's range) "
    "are used as given: they cost no privacy budget and the guarantee does not cover them. "
    "Declare only what anyone could know without the data, such as the categories of a "
    "standard code list or the possible range of an age.")


def schema_rows(schema: Schema) -> pd.DataFrame:
    """One editable row per column: kind, PII kind, include, the proposed missing-value codes
    with their "treat as missing" tick, and why it was flagged."""
    return pd.DataFrame([{"column": c.name, "kind": c.kind, "pii": c.pii or "",
                          "include": c.include,
                          MISSING_CODES: ", ".join(_code_text(v) for v in c.missing_codes or []),
                          TREAT_AS_MISSING: bool(c.missing_codes), "reason": c.reason}
                         for c in schema.columns])


def _code_text(code: float) -> str:
    return str(int(code)) if float(code).is_integer() else str(code)


def schema_from_rows(schema: Schema, rows: pd.DataFrame) -> Schema:
    """Apply the user's edits; validate kinds and PII kinds (TableError names the column).
    Unticking "treat as missing" drops a column's proposed missing-value codes."""
    edited = copy.deepcopy(schema)
    by_name = {row["column"]: row for row in rows.to_dict("records")}
    for spec in edited.columns:
        row = by_name.get(spec.name)
        if row is None:
            continue
        spec.kind = str(row["kind"])
        spec.pii = str(row["pii"]) if row["pii"] else None
        spec.include = bool(row["include"])
        if not row.get(TREAT_AS_MISSING, True):  # unticked: the codes stay numbers
            spec.missing_codes = None  # (ticking a column without proposed codes does nothing)
        spec.validate()
    if not edited.included:
        raise TableError("every column is excluded: include at least one column")
    return edited


def fidelity_rows(columns: list[dict]) -> pd.DataFrame:
    """The page's per-column fidelity table: the kind the model used (the schema's; the measure's
    kind for reports written before it was recorded), how it was measured, and the scores."""
    return pd.DataFrame([{
        "column": c.get("column"), "kind (as modelled)": c.get("model_kind") or c.get("kind"),
        "measured as": c.get("kind"), "TVD (synthetic)": value(c.get("tvd")),
        "TVD (holdout)": value(c.get("holdout_tvd")),
        "KS compl. (synthetic)": value(c.get("ks_complement")),
        "KS compl. (holdout)": value(c.get("holdout_ks_complement"))} for c in columns])


def device_choices() -> dict[str, str]:
    choices = {"auto": "automatic", "cpu": "CPU"}
    if cuda_available():
        choices["auto"] = f"automatic (GPU: {device_name('cuda')})"
        choices["cuda"] = f"GPU: {device_name('cuda')}"
    return choices


def time_estimate(method: str, rows: int, schema: Schema, config: dict) -> Estimate | None:
    """The page's estimate of a run from its settings (RunConfig fields as the page holds
    them); None for a method without constants."""
    info = METHODS.get(method)
    private = bool(info and info.private(config.get("epsilon")))
    return estimate_run(method, rows, len(schema.learned), epochs=config.get("epochs"),
                        private=private, synthetic_rows=config.get("rows"),
                        made_up=sum(1 for c in schema.included if c.regenerated),
                        evaluate=config.get("evaluate", True),
                        holdout_fraction=config.get("holdout_fraction", 0.2),
                        batch_size=config.get("batch_size"),
                        categorical=categorical_columns(schema))


def categorical_columns(schema: Schema) -> int:
    """The learned columns of categories or yes / no (what the evaluation's time grows with)."""
    return sum(1 for c in schema.learned if c.kind in ("categorical", "boolean"))


def estimate_words(estimate: Estimate) -> str:
    """The page's line under the settings: the whole run as a range, then its largest parts."""
    stages = estimate.stages
    low, high = estimate.low / estimate.total, estimate.high / estimate.total
    training = stages["preprocessing"] + stages["training"]
    parts = [f"training {span_words(training * low, training * high)}"]
    evaluating = stages["evaluating"]
    if evaluating:
        parts.append(f"evaluation {span_words(evaluating * low, evaluating * high)}")
    rest = estimate.total - training - evaluating
    parts.append(f"reading, sampling and writing {span_words(rest * low, rest * high)}")
    words = (f"Estimated time on this machine's CPU: {estimate.words()} in all ("
             + ", ".join(parts) + ")")
    if estimate.early_stopping and estimate.epochs:
        words += (f"; early stopping usually ends training near epoch "
                  f"{round(estimate.epochs)} of at most {estimate.max_epochs}")
    return words + "."


# a model's progress figures, in words: (name, what it means)
METRIC_WORDS = {
    "validation_nll": ("validation loss", "how unlikely training rows held back from fitting "
                       "look to the model, per row; lower is better"),
    "epsilon": ("privacy spent so far: ε", None),
    "generator_loss": ("generator loss", None),
    "discriminator_loss": ("discriminator loss", None),
}
GAN_LOSSES_NOTE = ("the GAN's two losses pull against each other: they swing rather than fall, "
                   "and neither says how good the rows are")


def metric_words(metrics: dict[str, float], epsilon_target: float | None = None) -> str:
    """A model's progress figures as people read them: 'validation loss 35.2 (…; lower is
    better)'; the epoch (already in the message) is left out."""
    parts = []
    for name, figure in metrics.items():
        if name == "epoch" or not isinstance(figure, int | float):
            continue
        label, meaning = METRIC_WORDS.get(name, (name.replace("_", " "), None))
        if name == "epsilon":
            text = f"{label} = {figure:.2f}"
            if epsilon_target is not None:
                text += f" of {epsilon_target:g}"
        else:
            text = f"{label} {figure:.3g}"
        parts.append(text + (f" ({meaning})" if meaning else ""))
    if {"generator_loss", "discriminator_loss"} & set(metrics):
        parts.append(GAN_LOSSES_NOTE)
    return "; ".join(parts)


def settings_words(filename: str, config: dict) -> str:
    """What a job runs, in one line: file, method, DP and ε, epochs and batch."""
    method = config.get("method", "")
    info = METHODS.get(method)
    epsilon = config.get("epsilon")
    private = bool(info and info.private(epsilon))
    if info is None or info.dp == "never":
        kind = method
    elif private:
        shown = epsilon if epsilon is not None else info.defaults.get("epsilon")
        kind = f"{method} with differential privacy (ε = {shown:g})"
    else:
        kind = f"{method}, no differential privacy"
    parts = [filename or "upload", kind]
    most, early = planned_epochs(method, private, config.get("epochs"))
    if most is not None:
        parts.append(f"at most {count(most)} epochs, stopping early when the validation loss "
                     "stops improving" if early else
                     f"{count(most)} epoch" + ("" if most == 1 else "s"))
    batch = planned_batch(method, private, config.get("batch_size"))
    if batch is not None and info is not None and "batch_size" in info.options:
        parts.append(f"{'expected batch' if private else 'batch'} {count(batch)} rows")
    return " · ".join(parts)


@dataclass(frozen=True)
class RunningPanel:
    """What the page shows while a job runs (panel_words)."""

    headline: str  # 'Training · 4 min 05 s elapsed · about 2 min left'
    fraction: float  # of the whole run, by time (elapsed / (elapsed + left))
    bar: str  # the current stage and the model's own message
    running: str  # file, method, settings
    metrics: str  # the model's figures in words ('' when none)
    stages: str  # every stage, the finished ones ticked
    ended: str  # how training ended ('' until it has)


def panel_words(job: Any, now: float) -> RunningPanel:
    """The live panel's text from a running job (jobs.Job: progress, started_at,
    stage_started, stage_ended, filename, config, estimate) at time `now` (time.time())."""
    event = job.progress or {}
    stage = EVENT_STAGES.get(event.get("stage", ""), "reading")
    message = event.get("message") or ("starting the worker" if not event else "")
    raw_fraction = float(event.get("fraction", 0.0))
    started: dict[str, float] = {}
    for raw, at in (job.stage_started or {}).items():
        plain = EVENT_STAGES.get(raw)
        if plain is not None:
            started[plain] = min(at, started.get(plain, at))
    estimate = Estimate.from_dict(job.estimate) if job.estimate else None
    elapsed = max(0.0, now - job.started_at)
    fraction = raw_fraction
    if stage == "training" and estimate is not None:
        fraction = training_fraction(estimate, raw_fraction)
    if estimate is not None:
        left = remaining_seconds(estimate, stage, fraction, started, job.started_at, now)
    else:
        in_stage = max(0.0, now - started.get(stage, job.started_at))
        left = in_stage * (1 - fraction) / fraction if fraction >= 0.02 else None
    headline = f"{STAGE_WORDS[stage].capitalize()} · {duration_words(elapsed)} elapsed"
    headline += f" · {left_words(left)}" if left is not None else ""
    overall = elapsed / (elapsed + left) if left is not None and elapsed + left > 0 else 0.0
    bar = f"{STAGE_WORDS[stage]}: {message}" if message else STAGE_WORDS[stage]
    if (stage == "training" and estimate is not None and estimate.early_stopping
            and raw_fraction < 1.0 and estimate.epochs):
        bar += f" (early stopping usually ends it near epoch {round(estimate.epochs)})"
    current = STAGES.index(stage)
    marks = [f"{STAGE_WORDS[s]} ✓" if i < current else
             f"**{STAGE_WORDS[s]}**" if i == current else STAGE_WORDS[s]
             for i, s in enumerate(STAGES)
             if estimate is None or s != "evaluating" or estimate.stages.get(s)]
    ended = (getattr(job, "stage_ended", None) or {}).get("train", "")
    epsilon = job.config.get("epsilon")
    target = epsilon if isinstance(epsilon, int | float) and epsilon != float("inf") else None
    return RunningPanel(headline, min(max(overall, 0.0), 1.0), bar,
                        "Running " + settings_words(job.filename, job.config),
                        metric_words(event.get("metrics") or {}, target),
                        " · ".join(marks), f"Training: {ended}" if ended else "")


def left_words(seconds: float) -> str:
    """The time left, rounded as much as it deserves: 'about 45 s left', 'about 3 min left'."""
    if seconds < 10:
        return "a few seconds left"
    if seconds < 90:
        return f"about {max(10, round(seconds / 5) * 5)} s left"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min left"
    return f"about {duration_words(seconds)} left"


def run_summary(report: dict) -> str:
    """One line naming how the run was made: method, sizes, training settings, DP or not."""
    run = report.get("run") or {}
    parts = [f"method {run.get('method')}", f"seed {run.get('seed')}",
             f"{count(run.get('train_rows', 0))} training rows",
             f"{count(run.get('synthetic_rows', 0))} synthetic rows"]
    if run.get("epochs") is not None:
        parts.append(epochs_words(run["epochs"], run.get("max_epochs"), run.get("stopping")))
    if run.get("batch_size") is not None:
        parts.append(f"batch {run['batch_size']}")
    if run.get("device"):
        parts.append(f"on {run.get('device_name') or run['device']}")
    if run.get("method") in ("dp-gan", "autoregressive"):
        dp = (report.get("privacy") or {}).get("dp")
        parts.append(f"ε = {score(dp['epsilon'])} spent (target {score(run.get('epsilon_target'))})"
                     if dp else "no DP (ε = ∞)")
    if run.get("fit_seconds") is not None:
        parts.append(f"training took {seconds(run['fit_seconds'])} of the run")
    return "Run: " + ", ".join(parts)


def epochs_words(trained: int, most: int | None = None, stopping: str | None = None) -> str:
    """The epochs a fit ran, and the most it was allowed when it stopped early (with why,
    when the run recorded it: 'stopped at epoch 29: no improvement for 3 epochs …')."""
    words = f"{count(trained)} epoch" + ("" if trained == 1 else "s")
    if isinstance(most, int) and most > trained:
        why = stopping if stopping and stopping.startswith("stopped") else "stopped early"
        words += f" ({why}; at most {count(most)})"
    return words


def summary_cards(report: dict) -> list[tuple[str, str, str]]:
    """The page's three summary cards: (title, figure, caption) for fidelity, utility and the
    privacy verdict (its meaning and what to do next stand below the cards:
    verdict_summary)."""
    head = Headline.from_report(report)
    dp = (report.get("privacy") or {}).get("dp")
    return [
        ("Fidelity", aggregate(head.fidelity),
         f"a fresh real sample scores {aggregate(head.fidelity_holdout)}"),
        (f"Utility ({head.metric.upper()}, train synthetic)", aggregate(head.utility),
         f"train real: {aggregate(head.utility_real)}; target {head.target}"),
        ("Privacy verdict", value(head.verdict or "not evaluated"),
         f"differential privacy: ε = {score(dp.get('epsilon'))}, δ = {small(dp.get('delta'))}"
         if dp else "differential privacy: none (no formal guarantee)"),
    ]


def verdict_summary(report: dict) -> VerdictSummary:
    """What the privacy verdict means and what to do next (one sentence each)."""
    run = report.get("run") or {}
    return summarise(report.get("privacy") or {}, run.get("holdout_fraction"))


POWER_WHY = "too little data to rule out the medium threshold"


def check_rows(privacy: dict) -> pd.DataFrame:
    """The checks behind the verdict, one row each, the worst first: the check, its band, its
    statistic with the 95 % interval and the medium threshold, and why it is not low (the
    fired rule's sentence; empty when low)."""
    order = ("high", "medium", "inconclusive", "low")
    checks = sorted((c for c in privacy.get("checks") or [] if isinstance(c, dict)),
                    key=lambda c: order.index(c.get("band")) if c.get("band") in order else 4)
    rows = []
    for check in checks:
        figure, interval = ((percent, percent_interval) if check.get("percent")
                            else (aggregate, aggregate_interval))
        rule = FiredRule.of_check(check)
        rows.append({"check": check.get("label"), "band": check.get("band"),
                     "statistic": figure(check.get("value")),
                     "95 % CI": interval(check.get("ci")),
                     "medium risk from": figure(check.get("medium")),
                     "why": POWER_WHY if rule is not None and rule.template == "power"
                     else rule.sentence() if rule is not None
                     else "" if check.get("band") == "low" else check.get("reason") or ""})
    columns = ["check", "band", "statistic", "95 % CI", "medium risk from", "why"]
    if not any(row["why"] for row in rows):  # every check low: an empty column says nothing
        columns.remove("why")
    return pd.DataFrame(rows, columns=columns)


def privacy_lines(privacy: dict) -> list[str]:
    """The page's privacy figures beside the attack table: membership inference, exact copies
    (synthetic vs holdout and the excess, as every surface writes them) and the DCR share."""
    view = Privacy.from_dict(privacy)
    mia = view.membership
    lines = []
    if mia is not None:
        lines.append(f"Membership inference AUC {aggregate(mia.auc)} (95 % CI "
                     f"{aggregate_interval(mia.ci)}; 0.5 is chance).")
    lines.append("Exact copies of a training row: " + exact_copies(
        view.exact_match_rate, view.holdout_exact_match_rate, view.exact_copy_excess) + ".")
    lines.append(f"DCR share {aggregate(view.dcr_share)} (0.5 is ideal).")
    return lines


def target_check(frame: pd.DataFrame, schema: Schema
                 ) -> tuple[str | None, RealPredictability | None]:
    """The target the utility report will use (the schema's, else tabsynth's choice) and how
    well the other learned columns predict it on the real rows (None: no quick check fits)."""
    learned = [c.name for c in schema.learned]
    target = schema.target if schema.target in learned else choose_target(frame, learned)
    if target is None:
        return None, None
    return target, real_predictability(frame, target, learned)


def target_words(target: str | None, check: RealPredictability | None,
                 chosen: bool) -> tuple[str, str | None]:
    """What the page says under the target selector: which column and how predictable it is
    on real rows (a caption), and a warning when real rows predict it poorly."""
    if target is None:
        return ("No column suits the utility report: it needs a category with 2 to 20 values "
                "or a number among the learned columns.", None)
    who = "" if chosen else f"tabsynth will predict **{target}**. "
    if check is None:
        return (who + "A quick check on the real rows could not be made for this column.",
                None)
    scale = "0.5 is chance" if check.metric == "auc" else "0 is no better than the mean"
    caption = (f"{who}On the real rows, a quick model predicts it with "
               f"{check.metric.upper()} {aggregate(check.value)} ({scale}).")
    return caption, weak_target_note(target, check.metric, check.value)


def weak_utility(report: dict) -> str | None:
    """The review's warning when even the models trained on real rows predicted the target
    poorly."""
    head = Headline.from_report(report)
    return weak_target_note(head.target, head.metric, head.utility_real)


def public_domain_example(schema: Schema) -> str:
    """An example of the public-domain JSON written with the table's own column names (no
    value of the data: the categories and bounds are placeholders)."""
    example: dict[str, str] = {}
    category = next((c.name for c in schema.learned if c.kind in ("categorical", "boolean")),
                    None)
    number = next((c.name for c in schema.learned if c.kind in ("numeric", "integer")), None)
    if category is not None:
        example[category] = '{"categories": ["first value", "second value"]}'
    if number is not None:
        example[number] = '{"bounds": [0, 100]}'
    if not example:
        example["column name"] = '{"categories": ["first value", "second value"]}'
    return "{" + ", ".join(f"{json.dumps(name)}: {spec}" for name, spec in example.items()) + "}"


def suggested_roles(schema: Schema, frame: pd.DataFrame) -> Roles:
    """The quasi-identifiers and secrets tabsynth would use for this schema: the page's
    defaults (the target is the one the utility report will use)."""
    learned = [c.name for c in schema.learned]
    target = schema.target if schema.target in learned else choose_target(frame, learned)
    dates = {c.name for c in schema.learned if c.kind == "datetime"}
    return suggest_roles(learned, target, dates=dates)


def chosen_roles(selected: list[str], suggested: list[str]) -> list[str] | None:
    """The user's selection, or None when it is tabsynth's suggestion as it stands (so the
    report says "suggested" rather than "chosen by you")."""
    return None if list(selected) == list(suggested) else list(selected)


# ---------------------------------------------------------------- run history and comparison
HISTORY_FIELDS = ("file", "method", "settings", "ε", "whole run", "fidelity", "utility",
                  "privacy verdict", "state")
STATE_WORDS = {"running": "running", "done": "finished", "signed off": "finished, signed off",
               "failed": "failed", "cancelled": "cancelled", "discarded": "discarded"}
PAGE_DRAW_ROWS = 1_000_000  # the page's largest draw (the download is held in memory)


def history_row(label: str, job: Any, report: dict | None, state: str | None = None) -> dict:
    """One run of the session as the history shows it (jobs.Job: filename, config,
    started_at, ended_at, status; `report` once it finished): every value a short text."""
    config = job.config or {}
    method = config.get("method", "")
    info = METHODS.get(method)
    private = bool(info and info.private(config.get("epsilon")))
    dp = ((report or {}).get("privacy") or {}).get("dp")
    if dp:
        epsilon = f"{score(dp.get('epsilon'))} spent"
    elif private:
        shown = config.get("epsilon") or (info.defaults.get("epsilon") if info else None)
        epsilon = f"{shown:g} planned" if isinstance(shown, int | float) else "planned"
    else:
        epsilon = "none (no DP)"
    head = Headline.from_report(report) if report else None
    ended = job.ended_at if job.ended_at is not None else None
    return {"run": label, "file": job.filename or "upload", "method": method,
            "settings": settings_text(config),
            "ε": epsilon,
            "whole run": duration_words(ended - job.started_at) if ended else "running",
            "fidelity": aggregate(head.fidelity) if head and head.fidelity is not None else "–",
            "utility": (f"{head.metric.upper()} {aggregate(head.utility)}"
                        if head and head.utility is not None else "–"),
            "privacy verdict": (head.verdict or "not evaluated") if head else "–",
            "state": STATE_WORDS.get(state or job.status, state or job.status)}


def settings_text(config: dict) -> str:
    """A run's settings in a few words: seed, rows, epochs, batch, holdout share."""
    parts = [f"seed {config.get('seed', 0)}"]
    if config.get("rows"):
        parts.append(f"{count(config['rows'])} rows")
    if config.get("epochs"):
        parts.append(f"{count(config['epochs'])} epochs")
    if config.get("batch_size"):
        parts.append(f"batch {count(config['batch_size'])}")
    if config.get("holdout_fraction") is not None:
        parts.append(f"holdout {percent(config['holdout_fraction'])}")
    if config.get("target"):
        parts.append(f"target {config['target']}")
    return ", ".join(parts)


def compare_table(rows: list[dict]) -> pd.DataFrame:
    """Runs side by side: one column per run (its label), one row per quantity."""
    return pd.DataFrame({row["run"]: [row.get(name, "–") for name in HISTORY_FIELDS]
                         for row in rows}, index=list(HISTORY_FIELDS))


def rerun_settings(config: dict) -> dict:
    """What the method step fills in to run again: the previous run's settings (RunConfig
    fields as the page holds them)."""
    keep = ("method", "rows", "seed", "epochs", "batch_size", "device", "epsilon", "delta",
            "public_schema", "learn_schema", "holdout_fraction", "quasi_identifiers",
            "secrets")
    return {k: config[k] for k in keep if k in config}


def draw_words(draw: Any) -> str:
    """A draw of more rows in one line: rows, seed, format and where it stands."""
    rows = f"{count(draw.rows)} partial rows completed" if getattr(draw, "partial", False) \
        else f"{count(draw.rows)} rows"
    what = f"{rows}, seed {draw.seed}, " + \
        {"csv": "CSV", "parquet": "Parquet"}.get(draw.format, draw.format)
    if draw.status == "running":
        return f"{what}: drawing ({percent(draw.fraction)})"
    if draw.status == "done":
        return f"{what}: ready"
    return f"{what}: {draw.message or draw.status}"


def draw_constraint_error(schema_json: str, where: str, rules: str,
                          model_path: Path | None = None) -> str | None:
    """What is wrong with the draw form's conditions or rules, read against the run's schema
    and, with the run's model file, against what the model draws (a category it never draws,
    a range outside its values); None when they read well, or when there is no schema. The
    model's tokens are read from its file's description: the page loads no model library."""
    from tabsynth.autoregressive.constrain import token_masks
    from tabsynth.constraints.conditions import merge_conditions, parse_conditions
    from tabsynth.constraints.rules import Holds, parse_rules

    if not schema_json or not (where.strip() or rules.strip()):
        return None
    drawn = _tokens_of(model_path) if model_path is not None else None
    schema = drawn[0] if drawn is not None else Schema.from_json(schema_json)
    try:
        conditions = parse_conditions(where, schema) if where.strip() else []
        parsed = parse_rules(rules, schema) if rules.strip() else []
        held = [*conditions, *(r.condition for r in parsed if isinstance(r, Holds))]
        if drawn is not None and held:
            token_masks(drawn[1], merge_conditions(held))
    except TabsynthError as exc:
        return str(exc).replace("--where ", "")
    return None


def partial_rows_error(schema_json: str, partial: pd.DataFrame, balance: str = "",
                       limit: int | None = None) -> str | None:
    """What is wrong with a table of partial rows for a draw from the run's model: columns the
    model lacks, a filled cell that does not read as its column's kind (named by its row, never
    quoted), more rows than the page draws, or a column to balance beside them; None when
    they read well."""
    from tabsynth.synthesizers.completion import check_partial_rows, row_groups

    if balance:
        return ("partial rows say which values each row holds, so a column cannot be "
                "balanced too: choose (no) under Balance a column, or fill that column in the "
                "partial rows with the shares wanted")
    if limit is not None and len(partial) > limit:
        return (f"the partial rows are {count(len(partial))} rows; the page completes at "
                f"most {count(limit)} at a time: split the table, or use the command line "
                "(tabsynth generate --partial-rows)")
    schema = Schema.from_json(schema_json)
    try:
        check_partial_rows(partial, schema)
        row_groups(partial, schema)
    except TabsynthError as exc:
        return str(exc)
    return None


@functools.lru_cache(maxsize=4)
def _read_tokens(path: str, _changed: int) -> Any:
    from tabsynth.autoregressive.tokens import TokenCodec
    from tabsynth.model_file import read_model_file
    from tabsynth.synthesizers.saved import domain_from_dict

    description, _ = read_model_file(path)
    learned = description.get("learned") or {}
    if "domain" not in learned or "order" not in learned:
        return None  # a model without tokens: nothing more to check here
    return (Schema.from_dict(description["schema"]),
            TokenCodec(domain_from_dict(learned["domain"]), [int(k) for k in learned["order"]]))


def _tokens_of(path: Path) -> Any:
    """(schema, token codec) of a run's model file, read once per file; None when it has none
    or cannot be read (the draw itself then says why)."""
    try:
        return _read_tokens(str(path), path.stat().st_mtime_ns)
    except (OSError, TabsynthError, KeyError, TypeError, ValueError):
        return None


def balance_choices(schema_json: str) -> list[str]:
    """The learned columns of categories a draw can rebalance."""
    if not schema_json:
        return []
    return [c.name for c in Schema.from_json(schema_json).learned
            if c.kind in ("categorical", "boolean")]
