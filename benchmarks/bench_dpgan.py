"""The DP-GAN at several epsilons, its non-private mode and SDV's CTGAN, scored by the referee.

    python benchmarks/bench_dpgan.py [--epochs 10] [--batch-size 1000] [--epsilons 1,3,10,inf]
                                     [--device auto] [--ctgan-epochs N] [--no-ctgan]

Fits on the referee's census train split (39,073 rows), samples as many rows, and prints fit
seconds, epochs per second, the epsilon the accountant reports, SDMetrics quality, 1-/2-way TVD
and TSTR AUC, beside the holdout / TRTR reference, so the numbers sit next to
../shared/bench/ANCHORS.md. SDV's CTGAN runs with the same number of epochs in the same run.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def _referee():
    spec = importlib.util.spec_from_file_location("referee", SHARED / "bench" / "referee.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fit_dpgan(train: pd.DataFrame, epsilon: float, args: argparse.Namespace) -> dict:
    from tabsynth.schema import coerce_frame, infer_schema
    from tabsynth.synthesizers.dp_gan import DpGan

    schema = infer_schema(train)
    typed = coerce_frame(train, schema)
    model = DpGan(epsilon=epsilon, epochs=args.epochs, batch_size=args.batch_size,
                  device=args.device, seed=0)
    started = time.perf_counter()
    model.fit(typed, schema)
    fit_s = time.perf_counter() - started
    synthetic = model.sample(len(train), seed=0)
    claim = model.privacy_claim
    return {"label": f"tabsynth dp-gan ε={epsilon:g}" if math.isfinite(epsilon)
            else "tabsynth dp-gan, no DP (ε=inf)", "fit_s": fit_s, "epochs": args.epochs,
            "epsilon": claim.epsilon if claim else None, "device": model.device,
            "synthetic": synthetic}


def fit_sdv_ctgan(train: pd.DataFrame, epochs: int, device: str) -> dict:
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer

    metadata = Metadata.detect_from_dataframes({"t": train})
    model = CTGANSynthesizer(metadata, epochs=epochs, enable_gpu=device == "cuda")
    started = time.perf_counter()
    model.fit({"t": train})
    fit_s = time.perf_counter() - started
    synthetic = model.sample(len(train))
    synthetic = synthetic["t"] if isinstance(synthetic, dict) else synthetic
    return {"label": "SDV CTGAN", "fit_s": fit_s, "epochs": epochs, "epsilon": None,
            "device": device, "synthetic": synthetic}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--epsilons", default="1,3,10,inf")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--ctgan-epochs", type=int, default=None,
                        help="epochs for SDV's CTGAN (default: same as --epochs)")
    parser.add_argument("--no-ctgan", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from tabsynth.device import resolve_device

    args.device = resolve_device(args.device)
    referee = _referee()
    work = Path(tempfile.mkdtemp(prefix="tabsynth-dpbench-"))
    referee.split(str(SHARED / "datasets" / "census.csv.gz"), str(work))
    train = pd.read_csv(work / "train.csv")
    scorer = referee.Scorer(train, pd.read_csv(work / "holdout.csv"), "income", ">50K")
    rows = []
    for text in args.epsilons.split(","):
        result = fit_dpgan(train, float(text), args)
        rows.append(result | scorer.score(result.pop("synthetic")))
        print(f"done {rows[-1]['label']}: {rows[-1]['fit_s']:.1f}s", file=sys.stderr)
    if not args.no_ctgan:
        result = fit_sdv_ctgan(train, args.ctgan_epochs or args.epochs, args.device)
        rows.append(result | scorer.score(result.pop("synthetic")))
    reference = rows[0]["reference"]
    print("| system | device | epochs | fit s | epochs/s | ε (accountant) | SDMetrics quality "
          "| 1-way TVD | 2-way TVD | TSTR AUC |")
    print("|" + "---|" * 10)
    print(f"| reference: holdout vs train / TRTR | — | — | — | — | — | "
          f"{reference['holdout_sdmetrics_quality']:.3f} | {reference['holdout_tvd1']:.3f} | "
          f"{reference['holdout_tvd2']:.3f} | {reference['trtr_auc']:.3f} |")
    for row in rows:
        epsilon = f"{row['epsilon']:.3f}" if row["epsilon"] is not None else "—"
        print(f"| {row['label']} | {row['device']} | {row['epochs']} | {row['fit_s']:.1f} | "
              f"{row['epochs'] / row['fit_s']:.3f} | {epsilon} | {row['sdmetrics_quality']:.3f} | "
              f"{row['tvd1']:.3f} | {row['tvd2']:.3f} | {row['tstr_auc']:.3f} |")


if __name__ == "__main__":
    main()
