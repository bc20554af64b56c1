"""The DP-GAN at several epsilons, its non-private mode and SDV's CTGAN, scored by the referee.

    python benchmarks/bench_dpgan.py [--epochs 20] [--batch-size 1000] [--epsilons 1,3,10,inf]
                                     [--device auto] [--ctgan-epochs N] [--no-ctgan] [--seeds K]

Fits on the referee's census train split (39,073 rows), samples as many rows, and prints fit
seconds, epochs per second, the epsilon the accountant reports, SDMetrics quality, 1-/2-way TVD
and TSTR AUC, beside the holdout / TRTR reference, so the numbers sit next to
../shared/bench/ANCHORS.md. SDV's CTGAN runs with the same number of epochs in the same run.
With --seeds K every system is fitted K times (seeds 0..K-1) and each cell is mean ± sd.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import statistics
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


def fit_dpgan(train: pd.DataFrame, epsilon: float, args: argparse.Namespace, seed: int) -> dict:
    from tabsynth.schema import coerce_frame, infer_schema
    from tabsynth.synthesizers.dp_gan import DpGan

    schema = infer_schema(train)
    typed = coerce_frame(train, schema)
    model = DpGan(epsilon=epsilon, epochs=args.epochs, batch_size=args.batch_size,
                  device=args.device, seed=seed)
    started = time.perf_counter()
    model.fit(typed, schema)
    fit_s = time.perf_counter() - started
    synthetic = model.sample(len(train), seed=seed)
    claim = model.privacy_claim
    return {"label": f"tabsynth dp-gan ε={epsilon:g}" if math.isfinite(epsilon)
            else "tabsynth dp-gan, no DP (ε=inf)", "fit_s": fit_s, "epochs": args.epochs,
            "epsilon": claim.epsilon if claim else None, "device": model.device,
            "synthetic": synthetic}


def fit_sdv_ctgan(train: pd.DataFrame, epochs: int, device: str, seed: int) -> dict:
    import numpy as np
    import torch
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer

    np.random.seed(seed)
    torch.manual_seed(seed)
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
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--epsilons", default="1,3,10,inf")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--ctgan-epochs", type=int, default=None,
                        help="epochs for SDV's CTGAN (default: same as --epochs)")
    parser.add_argument("--no-ctgan", action="store_true")
    parser.add_argument("--seeds", type=int, default=1, help="fit every system this many times")
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
    for seed in range(args.seeds):
        for text in args.epsilons.split(","):
            result = fit_dpgan(train, float(text), args, seed)
            rows.append(result | scorer.score(result.pop("synthetic")))
            print(f"done {rows[-1]['label']} seed {seed}: {rows[-1]['fit_s']:.1f}s",
                  file=sys.stderr)
        if not args.no_ctgan:
            result = fit_sdv_ctgan(train, args.ctgan_epochs or args.epochs, args.device, seed)
            rows.append(result | scorer.score(result.pop("synthetic")))
            print(f"done SDV CTGAN seed {seed}: {rows[-1]['fit_s']:.1f}s", file=sys.stderr)
    print_table(rows, args)


def _cell(values: list[float], digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def print_table(rows: list[dict], args: argparse.Namespace) -> None:
    """One line per system; with several seeds each cell is mean ± sd over the seeds."""
    reference = rows[0]["reference"]
    print(f"seeds: {args.seeds}; dp-gan batch {args.batch_size}; SDV CTGAN batch 500 (its "
          "default)")
    print("| system | device | epochs | fit s | epochs/s | ε (accountant) | SDMetrics quality "
          "| 1-way TVD | 2-way TVD | TSTR AUC |")
    print("|" + "---|" * 10)
    print(f"| reference: holdout vs train / TRTR | — | — | — | — | — | "
          f"{reference['holdout_sdmetrics_quality']:.3f} | {reference['holdout_tvd1']:.3f} | "
          f"{reference['holdout_tvd2']:.3f} | {reference['trtr_auc']:.3f} |")
    labels = list(dict.fromkeys(row["label"] for row in rows))
    for label in labels:
        group = [row for row in rows if row["label"] == label]
        first = group[0]
        epsilons = [row["epsilon"] for row in group if row["epsilon"] is not None]
        epsilon = f"{max(epsilons):.3f}" if epsilons else "—"
        cells = [_cell([row["fit_s"] for row in group], 1),
                 _cell([row["epochs"] / row["fit_s"] for row in group], 3), epsilon]
        cells += [_cell([row[key] for row in group], 3)
                  for key in ("sdmetrics_quality", "tvd1", "tvd2", "tstr_auc")]
        print(f"| {label} | {first['device']} | {first['epochs']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
