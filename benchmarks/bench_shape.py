"""Does the synthetic table keep the real columns' shape? Per shared table and method, with and
without DP: tail coverage, decimal agreement and missing-value-code handling.

    python benchmarks/bench_shape.py [--tables census,online_shoppers,acs_income]
        [--methods autoregressive,autoregressive@1,dp-gan@1] [--seeds K] [--epochs N]
        [--scores] [--detail]

`method@eps` runs the method with DP at that ε (the schema then learned under the same budget,
as the default flow does). For each table: the referee's split (../shared/bench/referee.py),
one fit per method and seed on train, as many synthetic rows as train, written as the CLI
writes them. Per numeric column of the real table:

* tail coverage: the share of real holdout rows outside the synthetic column's [min, max]
  (a column with no synthetic value counts 100 %); the table cell is the mean over columns and
  the worst column (target of issue #21 at ε = 1: every column at most 1 %);
* decimals: whether the synthetic column is written with the real column's number of decimals
  (the fewest that write every value; whole numbers: 0);
* overshoot: how far the synthetic column reaches past the real one (train and holdout), as
  a share of the real range (min to max), below or above; the table cell is the worst column
  (noise read as values far out: census ages of 376 from an age range 17 to 90 is 4.0), and
  the share of synthetic rows past the real range;
* codes: for columns whose proposed schema reads a missing-value code (-1, 999, ...), the share
  of holdout rows holding the code against the synthetic share ("none" when no column has one).

`--scores` adds the referee's SDMetrics quality and TSTR AUC; `--detail` prints every column.
Cells are means over seeds (worst column over all seeds).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # the sibling benchmark's fit and referee loader
from bench_autoregressive import SHARED, TABLES, _referee, fit  # noqa: E402

from tabsynth.schema import decimals_of, infer_schema  # noqa: E402


def outside_share(real: pd.Series, synthetic: pd.Series) -> float:
    """Share of real values outside the synthetic column's [min, max] (1 with no value)."""
    made = pd.to_numeric(synthetic, errors="coerce").dropna()
    values = pd.to_numeric(real, errors="coerce").dropna()
    if values.empty:
        return 0.0
    if made.empty:
        return 1.0
    return float(((values < made.min()) | (values > made.max())).mean())


def overshoot(real: pd.Series, synthetic: pd.Series) -> float:
    """How far the synthetic values reach past the real range, as a share of that range."""
    made = pd.to_numeric(synthetic, errors="coerce").dropna()
    values = pd.to_numeric(real, errors="coerce").dropna()
    if made.empty or values.empty:
        return 0.0
    span = max(float(values.max() - values.min()), 1e-12)
    return max(float(values.min() - made.min()), float(made.max() - values.max()), 0.0) / span


def past_share(real: pd.Series, synthetic: pd.Series) -> float:
    """Share of the synthetic values outside the real range (values the column never had)."""
    made = pd.to_numeric(synthetic, errors="coerce").dropna()
    values = pd.to_numeric(real, errors="coerce").dropna()
    if made.empty or values.empty:
        return 0.0
    return float(((made < values.min()) | (made > values.max())).mean())


def same_decimals(real: pd.Series, synthetic: pd.Series) -> bool:
    made = pd.to_numeric(synthetic, errors="coerce").dropna()
    values = pd.to_numeric(real, errors="coerce").dropna()
    return made.empty or decimals_of(made) == decimals_of(values)


def code_shares(holdout: pd.DataFrame, synthetic: pd.DataFrame,
                codes: dict[str, list[float]]) -> dict[str, tuple[float, float]]:
    """Per coded column: (holdout share, synthetic share) of rows holding one of its codes."""
    shares = {}
    for name, values in codes.items():
        real = pd.to_numeric(holdout[name], errors="coerce")
        made = pd.to_numeric(synthetic[name], errors="coerce")
        shares[name] = (float(real.isin(values).mean()), float(made.isin(values).mean()))
    return shares


def measure(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
            codes: dict[str, list[float]]) -> dict:
    numeric = [c for c in train.columns if pd.api.types.is_numeric_dtype(train[c])
               and not pd.api.types.is_bool_dtype(train[c])]
    tails = {c: outside_share(holdout[c], synthetic[c]) for c in numeric}
    decimals = {c: same_decimals(train[c], synthetic[c]) for c in numeric}
    beyond = {c: overshoot(pd.concat([train[c], holdout[c]]), synthetic[c]) for c in numeric}
    past = {c: past_share(pd.concat([train[c], holdout[c]]), synthetic[c]) for c in numeric}
    return {"tails": tails, "decimals": decimals, "overshoot": beyond, "past": past,
            "codes": code_shares(holdout, synthetic, codes)}


def _parse_run(text: str) -> tuple[str, float]:
    method, _, epsilon = text.partition("@")
    return method, float(epsilon) if epsilon else math.inf


def _label(method: str, epsilon: float) -> str:
    return f"{method} ε={epsilon:g}" if math.isfinite(epsilon) else f"{method}, no DP"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", default="census,online_shoppers,acs_income")
    parser.add_argument("--methods", default="autoregressive,autoregressive@1,dp-gan@1")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--scores", action="store_true", help="add quality and TSTR AUC")
    parser.add_argument("--detail", action="store_true", help="print every column")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    referee = _referee()
    header = ["table", "system", "holdout outside range: mean / worst column",
              "overshoot: worst column", "decimals agree", "codes (holdout → synthetic)"]
    if args.scores:
        header += ["SDMetrics quality", "TSTR AUC"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for table in args.tables.split(","):
        filename, target, positive = TABLES[table]
        work = Path(tempfile.mkdtemp(prefix=f"tabsynth-shape-{table}-"))
        referee.split(str(SHARED / "datasets" / filename), str(work))
        train = pd.read_csv(work / "train.csv")
        holdout = pd.read_csv(work / "holdout.csv")
        codes = {s.name: list(s.missing_codes) for s in infer_schema(train).columns
                 if s.missing_codes}
        scorer = referee.Scorer(train, holdout, target, positive) if args.scores else None
        for run in args.methods.split(","):
            method, epsilon = _parse_run(run)
            results = []
            for seed in range(args.seeds):
                synthetic = fit(method, train, target, epsilon, args, seed)["synthetic"]
                found = measure(train, holdout, synthetic, codes)
                if scorer is not None:
                    found["quality"] = scorer.quality(synthetic)
                    found["tstr"] = scorer.auc(synthetic)
                results.append(found)
                print(f"done {table} {_label(method, epsilon)} seed {seed}: "
                      + _row(table, _label(method, epsilon), [found], args.scores),
                      file=sys.stderr, flush=True)  # each seed's figures, as they come
            print(_row(table, _label(method, epsilon), results, args.scores), flush=True)
            if args.detail:
                _detail(results)


def _row(table: str, label: str, results: list[dict], scores: bool) -> str:
    columns = list(results[0]["tails"])
    means = [statistics.mean(r["tails"][c] for r in results) for c in columns]
    worst = max(columns, key=lambda c: max(r["tails"][c] for r in results)) if columns else None
    tail = (f"{100 * statistics.mean(means):.2f} % / {worst} "
            f"{100 * max(r['tails'][worst] for r in results):.1f} %") if worst else "—"
    far = max(columns, key=lambda c: max(r["overshoot"][c] for r in results)) if columns \
        else None
    reach = (f"{far} {max(r['overshoot'][far] for r in results):.2f} "
             f"({100 * max(r['past'][far] for r in results):.2f} % of rows past)") if far else "—"
    agree = [statistics.mean(float(r["decimals"][c]) for r in results) for c in columns]
    decimals = f"{sum(a == 1.0 for a in agree)}/{len(columns)}"
    coded = results[0]["codes"]
    codes = "; ".join(
        f"{name} {100 * statistics.mean(r['codes'][name][0] for r in results):.1f} % → "
        f"{100 * statistics.mean(r['codes'][name][1] for r in results):.1f} %"
        for name in coded) or "none"
    cells = [table, label, tail, reach, decimals, codes]
    if scores:
        cells += [f"{statistics.mean(r['quality'] for r in results):.3f}",
                  f"{statistics.mean(r['tstr'] for r in results):.3f}"]
    return "| " + " | ".join(cells) + " |"


def _detail(results: list[dict]) -> None:
    for column in results[0]["tails"]:
        shares = [100 * r["tails"][column] for r in results]
        agree = all(r["decimals"][column] for r in results)
        reach = max(r["overshoot"][column] for r in results)
        past = 100 * max(r["past"][column] for r in results)
        print(f"    {column}: holdout outside {np.mean(shares):.2f} % (worst seed "
              f"{max(shares):.2f} %), overshoot {reach:.2f} ({past:.2f} % of rows past the "
              f"real range; worst seed), decimals "
              f"{'agree' if agree else 'differ'}")


if __name__ == "__main__":
    main()
