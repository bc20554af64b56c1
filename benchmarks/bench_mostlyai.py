"""MOSTLY AI's TabularARGN on the shared tables, for the autoregressive method's comparison.

Run it with a separate environment (the SDK pins its own packages):

    python3.11 -m venv /tmp/mostly
    /tmp/mostly/bin/pip install torch==2.13.0 'mostlyai[local]'
    /tmp/mostly/bin/pip uninstall -y torchvision   # breaks with torch 2.13
    /tmp/mostly/bin/python benchmarks/bench_mostlyai.py --tables census --out /tmp/mostly-out

For each table: the referee's split, one local training run with defaults (10-minute cap,
model report off) and every column's encoding declared (its type guessing takes "day" / "month"
columns for dates), as many synthetic rows as train, written to OUT/TABLE-seedK.csv with the fit
seconds in OUT/TABLE-seedK.json. Score them with the referee in tabsynth's environment:

    python ../shared/bench/referee.py score --train OUT/TABLE/train.csv \\
        --holdout OUT/TABLE/holdout.csv --synthetic OUT/TABLE-seedK.csv --target T --positive P
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TABLES = ("census.csv.gz", "online_shoppers.csv.gz", "acs_income.csv.gz")


def _referee():
    spec = importlib.util.spec_from_file_location("referee", SHARED / "bench" / "referee.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def encodings(frame: pd.DataFrame) -> list[dict[str, str]]:
    """Numbers as TABULAR_NUMERIC_AUTO, everything else as TABULAR_CATEGORICAL."""
    return [{"name": str(c), "model_encoding_type":
             "TABULAR_NUMERIC_AUTO" if pd.api.types.is_numeric_dtype(frame[c])
             and not pd.api.types.is_bool_dtype(frame[c]) else "TABULAR_CATEGORICAL"}
            for c in frame.columns]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", default="census,online_shoppers,acs_income")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=10.0, help="training time cap")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    from mostlyai.sdk import MostlyAI

    referee = _referee()
    mostly = MostlyAI(local=True, quiet=True)
    for name in args.tables.split(","):
        folder = args.out / name
        referee.split(str(SHARED / "datasets" / f"{name}.csv.gz"), str(folder))
        train = pd.read_csv(folder / "train.csv")
        train.columns = [str(c) for c in train.columns]
        for seed in range(args.seeds):
            config = {"name": f"{name}-{seed}", "tables": [{
                "name": "data", "data": train, "columns": encodings(train),
                "tabular_model_configuration": {"max_training_time": args.minutes,
                                                "enable_model_report": False}}]}
            started = time.perf_counter()
            generator = mostly.train(config=config, progress_bar=False)
            fit_s = time.perf_counter() - started
            synthetic = mostly.generate(generator, size=len(train), progress_bar=False).data()
            stem = args.out / f"{name}-seed{seed}"
            synthetic.to_csv(stem.with_suffix(".csv"), index=False)
            stem.with_suffix(".json").write_text(json.dumps({"fit_s": fit_s}))
            print(json.dumps({"table": name, "seed": seed, "fit_s": round(fit_s, 1)}), flush=True)


if __name__ == "__main__":
    main()
