"""Time the full evaluation (fidelity, utility, privacy) on census at two sizes, with peak memory.

    python benchmarks/bench_evaluation.py [--synthetic gaussian-copula|resample] [--sizes 1,10]

Size 1 is the referee's split of census (39,073 train / 9,769 holdout rows). Size 10 is census
repeated ten times (488,420 rows), every number of every copy moved by a random -1, 0 or +1,
split the referee's way (shuffle with random_state=0, first 80 % train). The synthetic table is
as large as train: by default drawn from tabsynth's Gaussian copula fitted once on the size-1
train, or (`resample`) a bootstrap of train.

Each size is evaluated in a child process of its own, which reads the three tables from pickles
and runs `tabsynth.evaluation.run.evaluate`; the peak RSS is the child's maximum resident set
size as the kernel reports it at exit (os.wait4), imports and the three tables included; its
CPU seconds (user + system, all threads) come from the same call. On a machine shared with other
jobs the wall-clock seconds grow with their load; the CPU seconds much less.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))  # this checkout's tabsynth, not an installed one


def census_times(copies: int, seed: int = 0) -> pd.DataFrame:
    """Census repeated `copies` times; every copy but the first has its numbers jittered by ±1."""
    census = pd.read_csv(SHARED / "datasets" / "census.csv.gz")
    rng = np.random.default_rng(seed)
    numbers = census.select_dtypes("number").columns
    parts = [census]
    for _ in range(copies - 1):
        part = census.copy()
        for column in numbers:
            part[column] = part[column] + rng.integers(-1, 2, len(part))
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def referee_split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The split of ../shared/bench/referee.py: shuffle with random_state=0, first 80 % train."""
    spec = importlib.util.spec_from_file_location("referee", SHARED / "bench" / "referee.py")
    referee = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(referee)
    with tempfile.TemporaryDirectory() as folder:
        frame.to_csv(Path(folder) / "input.csv", index=False)
        with open(os.devnull, "w") as quiet:
            stdout, sys.stdout = sys.stdout, quiet
            try:
                referee.split(str(Path(folder) / "input.csv"), folder)
            finally:
                sys.stdout = stdout
        return pd.read_csv(Path(folder) / "train.csv"), pd.read_csv(Path(folder) / "holdout.csv")


def prepare(sizes: list[int], synthetic: str, work: Path) -> dict[int, Path]:
    """Write train / holdout / synthetic pickles for each size; returns their folders."""
    from tabsynth.schema import coerce_frame, infer_schema
    from tabsynth.synthesizers import make_synthesizer

    model = None
    folders = {}
    for size in sizes:
        train, holdout = referee_split(census_times(size))
        if synthetic == "resample":
            fake = train.sample(len(train), replace=True, random_state=0)
        else:
            if model is None:
                base, _ = referee_split(census_times(1))
                schema = infer_schema(base)
                model = make_synthesizer("gaussian-copula").fit(coerce_frame(base, schema),
                                                                schema)
            fake = model.sample(len(train), seed=0)
        folder = work / f"size{size}"
        folder.mkdir()
        for name, frame in (("train", train), ("holdout", holdout), ("synthetic", fake)):
            frame.reset_index(drop=True).to_pickle(folder / f"{name}.pkl")
        folders[size] = folder
    return folders


def child(folder: Path) -> None:
    """Evaluate one size (runs in its own process) and write the timings as JSON."""
    warnings.filterwarnings("ignore")
    from tabsynth.evaluation.run import evaluate

    train, holdout, fake = (pd.read_pickle(folder / f"{n}.pkl")
                            for n in ("train", "holdout", "synthetic"))
    started = time.perf_counter()
    report = evaluate(train, holdout, fake, target="income")
    total = time.perf_counter() - started
    settings = report["privacy"]["settings"]
    (folder / "result.json").write_text(json.dumps({
        "parts": report["evaluation_seconds"], "total": total,
        "rows": [len(train), len(holdout), len(fake)],
        "settings": {k: settings[k] for k in ("n_attacks", "singling_out_queries",
                                              "distance_queries", "membership_rows")},
        "verdict": report["privacy"]["verdict"], "fidelity": report["fidelity"]["score"],
        "holdout_reference": report["fidelity"]["holdout_reference"],
        "tstr": report["utility"]["tstr"].get("auc"), "trtr": report["utility"]["trtr"].get("auc"),
    }))


def measure(folder: Path) -> tuple[dict, float]:
    """Run child() in a fresh process; its result (with the CPU seconds it used, imports and
    reading included) and its peak RSS in MiB."""
    process = subprocess.Popen([sys.executable, __file__, "--child", str(folder)])
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"evaluation of {folder.name} failed ({process.returncode})")
    result = json.loads((folder / "result.json").read_text())
    result["cpu"] = usage.ru_utime + usage.ru_stime
    return result, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synthetic", choices=("gaussian-copula", "resample"),
                        default="gaussian-copula")
    parser.add_argument("--sizes", default="1,10", help="census copies, comma-separated")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    warnings.filterwarnings("ignore")
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="tabsynth-evalbench-") as work:
        results = {size: measure(folder) for size, folder in
                   prepare(sizes, args.synthetic, Path(work)).items()}
    header = " | ".join(f"census ×{s} ({r['rows'][0] + r['rows'][1]:,} rows)"
                        for s, (r, _) in results.items())
    print(f"| part | {header} |")
    print("|---|" + "---:|" * len(results))
    for part in ("fidelity", "utility", "privacy"):
        print(f"| {part} s | " + " | ".join(f"{r['parts'][part]:.1f}"
                                           for r, _ in results.values()) + " |")
    print("| **total s** | " + " | ".join(f"**{r['total']:.1f}**" for r, _ in results.values())
          + " |")
    print("| peak RSS MiB | " + " | ".join(f"{rss:,.0f}" for _, rss in results.values()) + " |")
    print("| CPU s of the whole child | " + " | ".join(f"{r['cpu']:.0f}" for r, _ in
                                                    results.values()) + " |")
    for size, (r, _) in results.items():
        s = r["settings"]
        print(f"\ncensus ×{size}: train {r['rows'][0]:,}, holdout {r['rows'][1]:,}, synthetic "
              f"{r['rows'][2]:,} ({args.synthetic}); up to {s['n_attacks']:,} linkability / "
              f"inference targets, {s['singling_out_queries']:,} singling-out queries; "
              f"{s['distance_queries']:,} distance queries against the whole training split, "
              f"{s['membership_rows']:,} membership rows; verdict {r['verdict']}; "
              f"fidelity {r['fidelity']:.4f} (holdout {r['holdout_reference']:.4f}); TSTR AUC "
              f"{r['tstr']:.3f} (TRTR {r['trtr']:.3f})")


if __name__ == "__main__":
    main()
