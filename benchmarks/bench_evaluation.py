"""Time the full evaluation (fidelity, utility, privacy) on census and print a table.

    python benchmarks/bench_evaluation.py [--synthetic gaussian-copula|resample]

Uses the referee's split (39,073 train / 9,769 holdout rows) and a synthetic table as large as
train: by default tabsynth's Gaussian copula output, or (`resample`) a bootstrap of
train. Prints the seconds of each part and the attack sample sizes behind the risk CIs.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synthetic", choices=("gaussian-copula", "resample"),
                        default="gaussian-copula")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    spec = importlib.util.spec_from_file_location("referee", SHARED / "bench" / "referee.py")
    referee = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(referee)
    work = Path(tempfile.mkdtemp(prefix="tabsynth-evalbench-"))
    referee.split(str(SHARED / "datasets" / "census.csv.gz"), str(work))
    train, holdout = pd.read_csv(work / "train.csv"), pd.read_csv(work / "holdout.csv")

    from tabsynth.report import evaluate
    from tabsynth.schema import coerce_frame, infer_schema
    from tabsynth.synthesizers import make_synthesizer

    if args.synthetic == "resample":
        synthetic = train.sample(len(train), replace=True, random_state=0)
    else:
        schema = infer_schema(train)
        model = make_synthesizer("gaussian-copula").fit(coerce_frame(train, schema), schema)
        synthetic = model.sample(len(train), seed=0)
    started = time.perf_counter()
    report = evaluate(train, holdout, synthetic, target="income")
    total = time.perf_counter() - started
    settings = report["privacy"]["settings"]
    print("| part | seconds |")
    print("|---|---:|")
    for part, seconds in report["evaluation_seconds"].items():
        print(f"| {part} | {seconds:.1f} |")
    print(f"| **total** | **{total:.1f}** |")
    print(f"\nrows: train {len(train):,}, holdout {len(holdout):,}, synthetic "
          f"{len(synthetic):,}; attacks on {settings['attack_rows']:,}-row samples, "
          f"{settings['n_attacks']} attacks ({settings['n_attacks_multivariate']} multivariate); "
          f"distances on {settings['distance_rows']:,}-row samples")
    print(f"verdict {report['privacy']['verdict']}; fidelity {report['fidelity']['score']:.3f} "
          f"(holdout {report['fidelity']['holdout_reference']:.3f}); TSTR AUC "
          f"{report['utility']['tstr'].get('auc', float('nan')):.3f} (TRTR "
          f"{report['utility']['trtr'].get('auc', float('nan')):.3f})")


if __name__ == "__main__":
    main()
