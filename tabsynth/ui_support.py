"""Plain helpers behind the Streamlit page: schema <-> editable rows, method notes, estimates."""

from __future__ import annotations

import copy

import pandas as pd

from tabsynth.device import cuda_available, device_name
from tabsynth.errors import TableError
from tabsynth.evaluation.results import Headline
from tabsynth.evaluation.roles import Roles, suggest_roles
from tabsynth.evaluation.utility import choose_target
from tabsynth.formatting import count, score, seconds
from tabsynth.schema import Schema

METHOD_GUIDE = (
    "**Which method?** For the most faithful table, **autoregressive**: on the three public "
    "tables we measured (people's incomes, online-shop sessions, a household survey) it came "
    "as close to the real data as a fresh real sample, in one to two minutes. It gives no "
    "formal guarantee, so read the risk report. When the data may only leave under a formal "
    "guarantee, tick *Differential privacy* on **autoregressive**: at ε = 1 it was ahead of "
    "**dp-gan** on the table of 49,000 people's incomes (quality 0.92 against 0.91; a model "
    "trained on its rows reached AUC 0.89 against 0.88) and on the 12,000 online-shop "
    "sessions (AUC 0.68 against 0.47). "
    "Under differential privacy small tables lose much: a few thousand rows at ε = 1 leave "
    "little of most columns. **dp-gan** is a differentially private GAN, kept for comparison. "
    "**gaussian-copula** is the fastest learned model (seconds) and keeps marginals and linear "
    "correlations only; **ctgan** is SDV's GAN, for comparison; **faker** learns nothing "
    "about relationships: a table with the right columns and formats, for trying things out.")
# seconds per (row x epoch) on the 2-core CPU, from benchmarks/README.md (census, 39k rows)
_SECONDS_PER_ROW_EPOCH = {"ctgan": 3.0 / 39_073, "dp-gan": 2.9 / 39_073}
_CTGAN_TRANSFORM_PER_ROW = 23.0 / 39_073
_AR_PER_ROW_EPOCH = 31.5 / (39_073 * 16)  # census: 31.5 s for 16 epochs
_AR_TYPICAL_EPOCHS = 20  # census: early stopping near 20 epochs with the halving rate
_AR_PRIVATE_PER_ROW_EPOCH = 96.3 / (39_073 * 15)  # census at ε = 1: 15 epochs of DP-SGD
_AR_PRIVATE_EPOCHS = 15


def schema_rows(schema: Schema) -> pd.DataFrame:
    """One editable row per column: kind, PII kind, include, and why it was flagged."""
    return pd.DataFrame([{"column": c.name, "kind": c.kind, "pii": c.pii or "",
                          "include": c.include, "reason": c.reason} for c in schema.columns])


def schema_from_rows(schema: Schema, rows: pd.DataFrame) -> Schema:
    """Apply the user's edits; validate kinds and PII kinds (TableError names the column)."""
    edited = copy.deepcopy(schema)
    by_name = {row["column"]: row for row in rows.to_dict("records")}
    for spec in edited.columns:
        row = by_name.get(spec.name)
        if row is None:
            continue
        spec.kind = str(row["kind"])
        spec.pii = str(row["pii"]) if row["pii"] else None
        spec.include = bool(row["include"])
        spec.validate()
    if not edited.included:
        raise TableError("every column is excluded: include at least one column")
    return edited


def device_choices() -> dict[str, str]:
    choices = {"auto": "automatic", "cpu": "CPU"}
    if cuda_available():
        choices["auto"] = f"automatic (GPU: {device_name('cuda')})"
        choices["cuda"] = f"GPU: {device_name('cuda')}"
    return choices


def estimate_seconds(method: str, rows: int, columns: int, epochs: int | None,
                     private: bool = False) -> float | None:
    """Rough CPU training time, scaled from the census benchmark; None where unknown."""
    if method == "autoregressive":
        per_row_epoch = _AR_PRIVATE_PER_ROW_EPOCH if private else _AR_PER_ROW_EPOCH
        # without DP, early stopping usually ends training near _AR_TYPICAL_EPOCHS
        run = epochs or (_AR_PRIVATE_EPOCHS if private else _AR_TYPICAL_EPOCHS)
        if not private:
            run = min(run, _AR_TYPICAL_EPOCHS)
        return per_row_epoch * rows * run * max(1.0, columns / 15)
    if method in _SECONDS_PER_ROW_EPOCH and epochs:
        scale = max(1.0, columns / 15)
        seconds = _SECONDS_PER_ROW_EPOCH[method] * rows * epochs * scale
        if method == "ctgan":
            seconds += _CTGAN_TRANSFORM_PER_ROW * rows * scale
        return seconds
    if method == "gaussian-copula":
        return 5.5 * rows / 39_073 * max(1.0, columns / 15)
    return None


def run_summary(report: dict) -> str:
    """One line naming how the run was made: method, sizes, training settings, DP or not."""
    run = report.get("run") or {}
    parts = [f"method {run.get('method')}", f"seed {run.get('seed')}",
             f"{count(run.get('train_rows', 0))} training rows",
             f"{count(run.get('synthetic_rows', 0))} synthetic rows"]
    if run.get("epochs") is not None:
        parts.append(f"{run['epochs']} epoch" + ("" if run["epochs"] == 1 else "s"))
    if run.get("batch_size") is not None:
        parts.append(f"batch {run['batch_size']}")
    if run.get("device"):
        parts.append(f"on {run.get('device_name') or run['device']}")
    if run.get("method") in ("dp-gan", "autoregressive"):
        dp = (report.get("privacy") or {}).get("dp")
        parts.append(f"ε = {score(dp['epsilon'])} spent (target {run.get('epsilon_target')})"
                     if dp else "no DP (ε = ∞)")
    if run.get("fit_seconds") is not None:
        parts.append(f"fitted in {seconds(run['fit_seconds'])}")
    return "Run: " + ", ".join(parts)


def summary_cards(report: dict) -> list[tuple[str, str, str]]:
    """The page's three summary cards: (title, figure, caption) for fidelity, utility and the
    privacy verdict."""
    head = Headline.from_report(report)
    return [
        ("Fidelity", score(head.fidelity),
         f"a fresh real sample scores {score(head.fidelity_holdout)}"),
        (f"Utility ({head.metric.upper()}, train synthetic)", score(head.utility),
         f"train real: {score(head.utility_real)}; target {head.target}"),
        ("Privacy verdict", str(head.verdict),
         "; ".join((report.get("privacy") or {}).get("verdict_reasons") or [])
         or "no rule triggered"),
    ]


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
