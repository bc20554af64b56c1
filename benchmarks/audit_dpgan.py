"""One-run privacy audit of the DP-GAN on census: at ε = 1, ε = 3 and without DP.

    python benchmarks/audit_dpgan.py [--rows 15000] [--canaries 1000] [--epochs 5]
                                     [--batch-size 1000] [--epsilons 1,3,inf] [--seed 0]
                                     [--threads N]

Reads ../shared/datasets/census.csv.gz, keeps a random subsample of --rows rows, and for each
mode runs tabsynth.audit.run_audit: --canaries canary rows (each an unusual combination of
common values with a marker value of its own in native_country), each included with
probability 1/2, ONE fit, as many synthetic rows as the training table, guesses from the
marker's reappearance and the nearest synthetic row, and the Steinke–Nasr–Jagielski (2023)
lower bound on ε at 95 % (at the fit's claimed δ; without DP at the δ a DP fit would use).
A DP row whose lower bound exceeds its claimed ε contradicts the claim and is flagged.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))  # this checkout's tabsynth, not another installed copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=15_000)
    parser.add_argument("--canaries", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--epsilons", default="1,3,inf")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (1 is faster when other jobs share the cores)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import torch

    from tabsynth.audit import run_audit
    from tabsynth.schema import coerce_frame, infer_schema
    from tabsynth.synthesizers.dp_gan import DpGan

    if args.threads:
        torch.set_num_threads(args.threads)
    census = pd.read_csv(SHARED / "datasets" / "census.csv.gz")
    frame = census.sample(args.rows, random_state=args.seed).reset_index(drop=True)
    schema = infer_schema(frame)
    frame = coerce_frame(frame, schema)
    results = []
    for text in args.epsilons.split(","):
        epsilon = float(text)

        def make_model(epsilon: float = epsilon) -> DpGan:
            return DpGan(epsilon=epsilon, epochs=args.epochs, batch_size=args.batch_size,
                         device="cpu", seed=args.seed)

        started = time.perf_counter()
        result = run_audit(frame, schema, make_model, canaries=args.canaries, seed=args.seed,
                           marker_column="native_country")
        results.append((epsilon, result))
        print(f"done ε={epsilon:g}: {time.perf_counter() - started:.1f}s", file=sys.stderr)
    print_table(results, args)


def print_table(results: list, args: argparse.Namespace) -> None:
    print(f"census subsample {args.rows} rows + canaries (each in with probability 1/2); "
          f"{args.epochs} epochs, batch {args.batch_size}, seed {args.seed}; synthetic rows = "
          "training rows; 95 % confidence, Bonferroni over 4 pre-declared (k+, k-)")
    print("| mode | claimed ε | δ | m canaries | included | markers back | guesses (k+, k-) "
          "| correct | ε lower bound (95 %) | ε lb, nearest row only | fit s |")
    print("|" + "---|" * 11)
    flagged = []
    for epsilon, result in results:
        mode = f"ε={epsilon:g}" if math.isfinite(epsilon) else "non-private (ε=inf)"
        claimed = f"{result.claimed_epsilon:.3f}" if result.claimed_epsilon is not None \
            else "—"
        bound, rows_only = result.bound, result.bound_rows_only
        print(f"| {mode} | {claimed} | {result.delta:.2g} | {result.canaries} | "
              f"{result.included} | {result.marker_hits} | {bound.guesses} ({bound.k_plus}, "
              f"{bound.k_minus}) | {bound.correct} | {bound.epsilon_lower_bound:.3f} | "
              f"{rows_only.epsilon_lower_bound:.3f} | {result.fit_seconds:.1f} |")
        if result.contradicts_claim:
            flagged.append(f"{mode} (audit bound {bound.epsilon_lower_bound:.3f})")
        if result.claimed_epsilon is not None and \
                rows_only.epsilon_lower_bound > result.claimed_epsilon:
            flagged.append(f"{mode} (nearest-row bound {rows_only.epsilon_lower_bound:.3f})")
    if flagged:
        print(f"\n**PRIVACY CLAIM CONTRADICTED** for {'; '.join(flagged)}: a 95 % lower "
              "bound on ε exceeds the ε the fit claims.")


if __name__ == "__main__":
    main()
