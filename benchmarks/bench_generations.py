"""Model collapse across generations: fit -> sample -> fit again on the sample, per method.

    python benchmarks/bench_generations.py [--table census] [--rows 5000] [--generations 5]
        [--methods autoregressive,gaussian-copula] [--mix 0,0.1] [--epochs N] [--seed 0]

Generation 0 fits on a sample of the real table's train split (the referee's split); each later
generation fits on the previous generation's synthetic rows, optionally with a share (`--mix`)
of them replaced by fresh real training rows. Every generation's rows are scored against the
real train split (the holdout as reference): fidelity score (1 - mean of 1- and 2-way TVD),
precision / recall / coverage (Naeem et al. 2020), rare-category coverage and the share of
holdout rows outside the synthetic range. Collapse shows as recall, coverage, rare categories
and tails falling generation after generation while precision holds.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", default="census")
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--generations", type=int, default=5)
    parser.add_argument("--methods", default="autoregressive,gaussian-copula")
    parser.add_argument("--mix", default="0,0.1")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from bench_autoregressive import TABLES

    from tabsynth.evaluation.diversity import evaluate_diversity
    from tabsynth.evaluation.fidelity import evaluate_fidelity
    from tabsynth.schema import coerce_frame, infer_schema
    from tabsynth.synthesizers import make_synthesizer

    file = TABLES[args.table][0] if args.table in TABLES else f"{args.table}.csv"
    frame = pd.read_csv(SHARED / "datasets" / file).sample(frac=1.0, random_state=0)
    cut = int(0.8 * len(frame))
    train_all, holdout = frame.iloc[:cut], frame.iloc[cut:]
    schema = infer_schema(train_all)
    train_all = coerce_frame(train_all, schema)
    holdout = coerce_frame(holdout, schema)
    rng = np.random.default_rng(args.seed)
    train = train_all.iloc[rng.choice(len(train_all), min(args.rows, len(train_all)),
                                      replace=False)]
    columns = [c.name for c in schema.learned]
    print("| method | real mixed in | generation | fit s | fidelity | precision | recall | "
          "coverage | rare categories | holdout outside range |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    reference = evaluate_diversity(train, holdout, holdout, columns, args.seed)["holdout"]
    print(f"| holdout (reference) | — | — | — | — | {reference['precision']:.3f} | "
          f"{reference['recall']:.3f} | {reference['coverage']:.3f} | "
          f"{reference['rare_category_coverage']:.3f} | "
          f"{reference['tail_share']['mean']:.4f} |", flush=True)
    for method in args.methods.split(","):
        for mix in (float(m) for m in args.mix.split(",")):
            fit_on = train
            for generation in range(args.generations):
                options = {"epochs": args.epochs} if args.epochs else {}
                model = make_synthesizer(method, seed=args.seed, **options) \
                    if method == "autoregressive" else make_synthesizer(method, **options)
                started = time.perf_counter()
                model.fit(fit_on[columns], schema_of(schema, columns))
                fit_s = time.perf_counter() - started
                synthetic = model.sample(len(train), seed=args.seed + generation)
                fidelity = evaluate_fidelity(train[columns], holdout[columns],
                                             synthetic[columns], sdmetrics=False)
                diversity = evaluate_diversity(train, holdout, synthetic, columns,
                                               args.seed)["synthetic"]
                print(f"| {method} | {mix:.0%} | {generation} | {fit_s:.0f} | "
                      f"{fidelity.score:.3f} | {diversity['precision']:.3f} | "
                      f"{diversity['recall']:.3f} | {diversity['coverage']:.3f} | "
                      f"{diversity['rare_category_coverage']:.3f} | "
                      f"{diversity['tail_share']['mean']:.4f} |", flush=True)
                fit_on = synthetic
                if mix:
                    fresh = train_all.iloc[rng.choice(len(train_all), int(mix * len(train)),
                                                      replace=False)]
                    keep = synthetic.iloc[:len(train) - len(fresh)]
                    fit_on = pd.concat([keep, fresh[synthetic.columns]], ignore_index=True)


def schema_of(schema, columns):
    """The schema of the learned columns only (the sample has no made-up columns)."""
    from tabsynth.schema import Schema

    return Schema([schema[c] for c in columns], target=None)


if __name__ == "__main__":
    main()
