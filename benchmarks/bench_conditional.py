"""Rows drawn under conditions, and rebalancing, on the shared tables, scored as the referee does.

    python benchmarks/bench_conditional.py [--tables census,online_shoppers,acs_income]
        [--seed 0] [--epochs N]

For each table: the referee's split, one autoregressive fit on train (no DP), then

* **conditions**: for each of the table's conditions, rows drawn under it, compared with the
  real holdout rows that meet it (mean 1- and 2-way TVD over the other columns, the referee's
  bins). Beside it: the model's unconditioned rows (as many as train) that happen to meet the
  condition (what rejection sampling keeps, with how many rows it needs per kept row; the
  conditioned draw has as many rows, as TVD depends on the number of rows), the real
  train rows that meet it (the floor: sampling noise between two real samples) and the whole
  holdout (what ignoring the condition would cost);
* **rebalancing**: the synthetic target drawn with equal shares of each class beside the
  natural draw (as many rows as train), each used to train a model tested on the real holdout:
  the referee's TSTR AUC and the page's macro F1 and rarest-class share.
"""

from __future__ import annotations

import argparse
import io
import itertools
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

CONDITIONS = {
    "census": ["income in >50K", "age >= 60", "sex = Female, education in Masters|Doctorate"],
    "online_shoppers": ["Revenue = True", "PageValues >= 20",
                        "VisitorType = New_Visitor, Weekend = True"],
    "acs_income": ["Insurance through a current or former employer or union = No",
                   "Age >= 65", "Gender = Female, Income >= 100000"],
}


def meets(frame: pd.DataFrame, conditions) -> np.ndarray:
    """Which rows of a table as the referee reads it (from CSV) meet every condition."""
    keep = np.ones(len(frame), dtype=bool)
    for condition in conditions:
        column = frame[condition.column]
        if condition.is_range:
            x = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
            keep &= np.array([condition.holds_number(v) for v in x])
        else:
            keep &= column.astype(str).isin(condition.values).to_numpy()
    return keep


def tvd_other(scorer, real: pd.DataFrame, other: pd.DataFrame,
              skip: set[str]) -> tuple[float, float]:
    """Mean 1- and 2-way TVD between two tables over the columns not conditioned on."""
    columns = [c for c in scorer.cols if c not in skip]
    r, s = scorer.discretize(real), scorer.discretize(other)
    one = [scorer._tvd(r[c], s[c]) for c in columns]
    two = [scorer._tvd(r[a] + "\x1f" + r[b], s[a] + "\x1f" + s[b])
           for a, b in itertools.combinations(columns, 2)]
    return float(np.mean(one)), float(np.mean(two))


def as_written(frame: pd.DataFrame, schema) -> pd.DataFrame:
    """A synthetic table as the CLI writes it and the referee reads it back."""
    from tabsynth.schema import format_for_export

    written = format_for_export(frame, schema)
    return pd.read_csv(io.StringIO(written.to_csv(index=False)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", default="census,online_shoppers,acs_income")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from bench_autoregressive import TABLES, _referee

    from tabsynth.constraints.conditions import Condition, parse_conditions
    from tabsynth.evaluation.utility import rebalanced_utility
    from tabsynth.schema import coerce_frame
    from tabsynth.synthesizers import make_synthesizer

    referee = _referee()
    conditioned, rebalanced = [], []
    for table in args.tables.split(","):
        filename, target, positive = TABLES[table]
        work = Path(tempfile.mkdtemp(prefix=f"tabsynth-cond-{table}-"))
        referee.split(str(SHARED / "datasets" / filename), str(work))
        train, holdout = pd.read_csv(work / "train.csv"), pd.read_csv(work / "holdout.csv")
        scorer = referee.Scorer(train, holdout, target, positive)
        model = make_synthesizer("autoregressive", epochs=args.epochs, seed=args.seed,
                                 target=target)
        schema = model.infer_schema(train, target=target)
        started = time.perf_counter()
        model.fit(coerce_frame(train, schema), schema)
        print(f"{table}: fitted in {time.perf_counter() - started:.0f} s", file=sys.stderr,
              flush=True)
        natural = as_written(model.sample(len(train), seed=args.seed), schema)
        for text in CONDITIONS[table]:
            conditions = parse_conditions(text, schema)
            skip = {c.column for c in conditions}
            real = holdout[meets(holdout, conditions)]
            kept = natural[meets(natural, conditions)]
            started = time.perf_counter()
            drawn = as_written(model.sample(len(kept), seed=args.seed + 1,
                                            conditions=conditions), schema)
            seconds = time.perf_counter() - started
            row = {"table": table, "condition": text, "holdout_rows": len(real), "rows": len(kept),
                   "met": float(meets(drawn, conditions).mean()), "seconds": seconds,
                   "drawn": tvd_other(scorer, real, drawn, skip),
                   "rejection": tvd_other(scorer, real, kept, skip),
                   "rejection_cost": len(natural) / max(len(kept), 1),
                   "train": tvd_other(scorer, real, train[meets(train, conditions)], skip),
                   "ignored": tvd_other(scorer, real, holdout, skip)}
            conditioned.append(row)
            print(row, file=sys.stderr, flush=True)
        classes = model.categories_of(target)
        share = 1 / len(classes)
        parts = [model.sample(n, seed=args.seed + 10 + i,
                              conditions=[Condition(target, values=(value,))])
                 for i, (value, n) in enumerate(
                     (value, len(train) // len(classes)) for value in classes)]
        balanced = as_written(pd.concat(parts, ignore_index=True), schema)
        page = rebalanced_utility(coerce_frame(train, schema), coerce_frame(holdout, schema),
                                  coerce_frame(natural, schema), coerce_frame(balanced, schema),
                                  target, seed=args.seed)
        rebalanced.append({"table": table, "target": target, "share": share,
                           "real_rarest": float(train[target].astype(str)
                                                .value_counts(normalize=True).min()),
                           "natural_auc": scorer.auc(natural),
                           "balanced_auc": scorer.auc(balanced),
                           "trtr_auc": scorer.auc(train), **page})
        print(rebalanced[-1], file=sys.stderr, flush=True)
    print_tables(conditioned, rebalanced)


def print_tables(conditioned: list[dict], rebalanced: list[dict]) -> None:
    """The two markdown tables of benchmarks/README.md."""
    print("| table | condition | real holdout rows | rows drawn | meeting it | drawn under it "
          "(1-way / 2-way TVD) | unconditioned rows kept (rows per kept row) | real train rows "
          "(floor) | whole holdout (condition ignored) |")
    print("|" + "---|" * 9)
    for row in conditioned:
        pair = "{:.3f} / {:.3f}".format
        print(f"| {row['table']} | `{row['condition']}` | {row['holdout_rows']:,} | "
              f"{row['rows']:,} | {row['met']:.1%} | {pair(*row['drawn'])} | "
              f"{pair(*row['rejection'])} ({row['rejection_cost']:.1f}) | {pair(*row['train'])} | "
              f"{pair(*row['ignored'])} |")
    print()
    print("| table | target | rarest class, real train | rows | TSTR AUC (referee) | macro F1 "
          "| rarest class share | TRTR AUC |")
    print("|" + "---|" * 8)
    for row in rebalanced:
        for name in ("natural", "balanced"):
            print(f"| {row['table']} | {row['target']} | {row['real_rarest']:.1%} | {name} | "
                  f"{row[name + '_auc']:.3f} | {row[name]['f1']:.3f} | "
                  f"{row[name]['rarest_share']:.1%} | {row['trtr_auc']:.3f} |")


if __name__ == "__main__":
    main()
