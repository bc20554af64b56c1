"""Fit each tabsynth method and SDV called directly on census, in one run; print one table.

    python benchmarks/bench_synthesizers.py [--ctgan-epochs 5] [--repeats 2] [--rows N]

Split and scoring come from ../shared/bench/referee.py (the protocol behind ANCHORS.md): fit on
its 39,073-row train split, sample as many rows, score SDMetrics quality, 1-/2-way TVD and
TSTR AUC against the holdout. Each fit runs in its own subprocess so that peak memory (max RSS)
belongs to that fit alone. Times are wall-clock seconds on this machine; compare them only
within one run. `overhead` is ours / SDV-direct for the same model (fit + sample, best of
--repeats).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CENSUS = SHARED / "datasets" / "census.csv.gz"
REFEREE = SHARED / "bench" / "referee.py"


def _referee():
    spec = importlib.util.spec_from_file_location("referee", REFEREE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fit_one(system: str, method: str, train_path: str, out_path: str, epochs: int) -> dict:
    """Runs inside a child process: fit + sample, return timings and peak RSS."""
    warnings.filterwarnings("ignore")
    train = pd.read_csv(train_path)
    n = len(train)
    # imports stay outside the timed region on both sides
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer

    from tabsynth.schema import coerce_frame, infer_schema
    from tabsynth.synthesizers import make_synthesizer

    started = time.perf_counter()
    if system == "tabsynth":
        schema = infer_schema(train)
        typed = coerce_frame(train, schema)
        model = make_synthesizer(method, epochs=epochs, device="cpu").fit(typed, schema)
        fit_s = time.perf_counter() - started
        started = time.perf_counter()
        synthetic = model.sample(n, seed=0)
    else:
        metadata = Metadata.detect_from_dataframes({"t": train})
        if method == "gaussian-copula":
            model = GaussianCopulaSynthesizer(metadata)
        else:
            model = CTGANSynthesizer(metadata, epochs=epochs, enable_gpu=False)
        model.fit({"t": train})
        fit_s = time.perf_counter() - started
        started = time.perf_counter()
        synthetic = model.sample(n)
        synthetic = synthetic["t"] if isinstance(synthetic, dict) else synthetic
    sample_s = time.perf_counter() - started
    synthetic.to_csv(out_path, index=False)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"fit_s": fit_s, "sample_s": sample_s, "peak_mb": peak_mb}


def run_child(system: str, method: str, train: Path, out: Path, epochs: int) -> dict:
    command = [sys.executable, __file__, "--child", system, method, str(train), str(out),
               str(epochs)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{system}/{method} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ctgan-epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per system (best kept)")
    parser.add_argument("--methods", default="faker,gaussian-copula,ctgan")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        system, method, train, out, epochs = args.child
        print(json.dumps(fit_one(system, method, train, out, int(epochs))))
        return

    referee = _referee()
    work = Path(tempfile.mkdtemp(prefix="tabsynth-bench-"))
    referee.split(str(CENSUS), str(work))
    train_path, holdout_path = work / "train.csv", work / "holdout.csv"
    scorer = referee.Scorer(pd.read_csv(train_path), pd.read_csv(holdout_path), "income", ">50K")
    methods = args.methods.split(",")
    plan = [("tabsynth", m) for m in methods]
    plan += [("sdv", m) for m in methods if m in ("gaussian-copula", "ctgan")]
    timings: dict[tuple[str, str], list[dict]] = {key: [] for key in plan}
    for method in methods:
        repeats = 1 if method == "ctgan" else args.repeats
        for _ in range(repeats):  # interleaved, so load on the machine hits both sides alike
            for system in ("tabsynth", "sdv"):
                if (system, method) in timings:
                    out = work / f"{system}-{method}.csv"
                    timing = run_child(system, method, train_path, out, args.ctgan_epochs)
                    timings[(system, method)].append(timing)
                    print(f"{system} {method}: {timing}", file=sys.stderr)
    rows = []
    for system, method in plan:
        best = min(timings[(system, method)], key=lambda t: t["fit_s"] + t["sample_s"])
        scores = scorer.score(pd.read_csv(work / f"{system}-{method}.csv"))
        rows.append({"system": system, "method": method, **best, **scores})
    reference = rows[0]["reference"]
    print_table(rows, reference, args.ctgan_epochs)


def print_table(rows: list[dict], reference: dict, epochs: int) -> None:
    by_key = {(r["system"], r["method"]): r for r in rows}
    header = ("| system | method | fit s | sample s | peak MB | overhead vs SDV "
              "| SDMetrics quality | 1-way TVD | 2-way TVD | TSTR AUC |")
    print(header)
    print("|" + "---|" * 10)
    print(f"| reference | holdout vs train | — | — | — | — | "
          f"{reference['holdout_sdmetrics_quality']:.3f} | {reference['holdout_tvd1']:.3f} | "
          f"{reference['holdout_tvd2']:.3f} | {reference['trtr_auc']:.3f} (TRTR) |")
    for row in rows:
        label = f"{row['method']} ({epochs} epochs)" if row["method"] == "ctgan" else row["method"]
        overhead = "—"
        sdv = by_key.get(("sdv", row["method"]))
        if row["system"] == "tabsynth" and sdv:
            ratio = (row["fit_s"] + row["sample_s"]) / (sdv["fit_s"] + sdv["sample_s"])
            overhead = f"{ratio:.2f}×"
        print(f"| {row['system']} | {label} | {row['fit_s']:.1f} | {row['sample_s']:.1f} | "
              f"{row['peak_mb']:.0f} | {overhead} | {row['sdmetrics_quality']:.3f} | "
              f"{row['tvd1']:.3f} | {row['tvd2']:.3f} | {row['tstr_auc']:.3f} |")


if __name__ == "__main__":
    main()
