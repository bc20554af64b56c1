"""Time the re-identification risk evaluation part by part, and show how its verdict calibrates.

    python benchmarks/bench_privacy.py timing        # census, then census x10 (~490k rows)
    python benchmarks/bench_privacy.py calibration   # known leaks on the whole census table

Reads tests/data/census.csv.gz only. timing: tabsynth's split (80/20), a Gaussian-copula table
as large as train (for the ~490k table: census repeated 10 times, every number moved by -1, 0 or
+1, the copula fitted on census and sampled as large as that train). calibration: 60 % train,
20 % holdout, 20 % independent real rows; near copies replace a share of the copula table by
training rows with every number times 1 +- up to 1 % (categories kept).
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
sys.path.insert(0, str(ROOT))  # this checkout's tabsynth, not an installed one

from tabsynth.evaluation.privacy import evaluate_privacy  # noqa: E402
from tabsynth.io import read_table  # noqa: E402
from tabsynth.pipeline import split_holdout  # noqa: E402
from tabsynth.schema import coerce_frame, infer_schema  # noqa: E402
from tabsynth.synthesizers import make_synthesizer  # noqa: E402

CENSUS = ROOT / "tests" / "data" / "census.csv.gz"
PARTS = ("encoding", "distances", "membership", "singling_out", "linkability", "inference")


def census() -> pd.DataFrame:
    frame = read_table(CENSUS)
    return coerce_frame(frame, infer_schema(frame, target="income"))


def copula(train: pd.DataFrame, rows: int, seed: int = 0) -> pd.DataFrame:
    schema = infer_schema(train, target="income")
    return make_synthesizer("gaussian-copula").fit(train, schema).sample(rows, seed=seed)


def repeated(frame: pd.DataFrame, times: int = 10, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(times):
        part = frame.copy()
        for column in part.columns:
            if pd.api.types.is_numeric_dtype(part[column]):
                part[column] = part[column] + rng.integers(-1, 2, len(part))
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def timing() -> None:
    frame = census()
    tables = {}
    train, holdout = split_holdout(frame, 0.2, 0, "income")
    tables["census"] = (train, holdout, copula(train, len(train)))
    big = repeated(frame)
    big_train, big_holdout = split_holdout(big, 0.2, 0, "income")
    model_rows = copula(train, len(big_train), seed=1)
    tables[f"census x10 ({len(big):,} rows)"] = (big_train, big_holdout, model_rows)
    print("| table | train | holdout | synthetic | " + " | ".join(PARTS) + " | total | verdict |")
    print("|---|---:|---:|---:|" + "---:|" * len(PARTS) + "---:|---|")
    for name, (train, holdout, synthetic) in tables.items():
        started = time.perf_counter()
        result = evaluate_privacy(train, holdout, synthetic, target="income")
        total = time.perf_counter() - started
        parts = " | ".join(f"{result.seconds[p]:.1f}" for p in PARTS)
        print(f"| {name} | {len(train):,} | {len(holdout):,} | {len(synthetic):,} | {parts} | "
              f"{total:.1f} | {result.verdict} |")


def copies(train: pd.DataFrame, base: pd.DataFrame, share: float, noise: float,
           seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    count = round(share * len(base))
    copied = train.sample(count, random_state=seed).reset_index(drop=True)
    if noise:
        for column in copied.columns:
            if pd.api.types.is_numeric_dtype(copied[column]):
                copied[column] = copied[column] * (1 + rng.uniform(-noise, noise, count))
    kept = base.sample(len(base) - count, random_state=seed + 1)
    return pd.concat([kept, copied], ignore_index=True).sample(frac=1, random_state=seed + 2)


def calibration() -> None:
    frame = census().sample(frac=1, random_state=0).reset_index(drop=True)
    cut = [int(len(frame) * 0.6), int(len(frame) * 0.8)]
    train, holdout, independent = np.split(frame, cut)
    base = copula(train, len(train))
    cases = {"Gaussian copula": base, "independent real rows": independent,
             "near copies 10 %": copies(train, base, 0.10, 0.01, 1),
             "near copies 30 %": copies(train, base, 0.30, 0.01, 2),
             "exact copies 1 %": copies(train, base, 0.01, 0.0, 3)}
    print(f"train {len(train):,}, holdout {len(holdout):,}, synthetic as large as train "
          f"(independent: {len(independent):,})\n")
    print("| case | verdict | near copies (1 % level): synthetic / holdout | exact copies | "
          "MIA AUC (95 % CI) | TPR at 1 % FPR | fired rules |")
    print("|---|---|---|---|---|---|---|")
    for name, synthetic in cases.items():
        result = evaluate_privacy(train.reset_index(drop=True), holdout.reset_index(drop=True),
                                  synthetic.reset_index(drop=True))
        near, mia = result.distances["near_copies"][1], result.membership_inference
        fired = "; ".join(f"{c['label']}: {c['band']}" for c in result.checks
                          if c["band"] != "low") or "none"
        print(f"| {name} | {result.verdict} | {near['rate']:.2%} / {near['holdout_rate']:.2%} | "
              f"{result.exact_match_rate:.2%} | {mia['auc']:.3f} ({mia['ci'][0]:.3f}–"
              f"{mia['ci'][1]:.3f}) | {mia['tpr_at_fpr_0.01']:.1%} | {fired} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("timing", "calibration"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    timing() if args.what == "timing" else calibration()


if __name__ == "__main__":
    main()
