"""AIM (McKenna et al. 2022, smartnoise-synth) at ε = 1 on the shared tables, scored by the referee.

    python benchmarks/bench_aim.py --aim-python VENV/bin/python
        [--tables census,online_shoppers,acs_income] [--seeds K] [--epsilon 1]
        [--rounds 30] [--preprocessor-eps 0.1]

smartnoise-synth pins an old Opacus, so AIM runs in its own environment (`python -m venv VENV;
VENV/bin/pip install 'mbi>=1.1,<2' 'disjoint-set>=0.9,<0.10' Faker smartnoise-sql pandas;
VENV/bin/pip install --no-deps smartnoise-synth==1.0.8`; AIM itself needs neither torch nor
Opacus). This script, run with tabsynth's environment, makes the referee's split, fits AIM in
that environment (this same file in `fit` mode) and scores the result with the referee, so the
figures sit beside bench_autoregressive.py's. Settings as in ../shared/bench/ANCHORS.md: 0.1 of
ε on preprocessing (smartnoise's noisy bounds), 30 rounds, columns with at most 20 distinct
values categorical. AIM draws its noise from its own generator, not from `--seeds`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
SHARED = HERE.parents[2] / "shared"
CATEGORICAL_AT_MOST = 20


def fit_aim(train_csv: str, out_csv: str, epsilon: float, rounds: int,
            preprocessor_eps: float) -> None:
    """Runs under the AIM environment: fit on the train split, write as many rows."""
    import pandas as pd
    from snsynth import Synthesizer

    train = pd.read_csv(train_csv)
    categorical = [c for c in train.columns
                   if not pd.api.types.is_numeric_dtype(train[c])
                   or train[c].nunique() <= CATEGORICAL_AT_MOST]
    continuous = [c for c in train.columns if c not in categorical]
    frame = train.copy()
    for column in categorical:  # AIM's preprocessing wants labels without missing values
        frame[column] = frame[column].astype(str)
    model = Synthesizer.create("aim", epsilon=epsilon, rounds=rounds)
    started = time.perf_counter()
    model.fit(frame, categorical_columns=categorical, continuous_columns=continuous,
              preprocessor_eps=preprocessor_eps, nullable=bool(train.isna().any().any()))
    fit_s = time.perf_counter() - started
    synthetic = model.sample(len(train))
    for column in categorical:
        if pd.api.types.is_bool_dtype(train[column]):
            synthetic[column] = synthetic[column].map({"True": True, "False": False})
        elif pd.api.types.is_numeric_dtype(train[column]):
            synthetic[column] = pd.to_numeric(synthetic[column], errors="coerce")
        else:
            synthetic[column] = synthetic[column].replace("nan", pd.NA)
    synthetic.to_csv(out_csv, index=False)
    print(json.dumps({"fit_s": round(fit_s, 1)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--aim-python", required=True, help="python of the AIM environment")
    parser.add_argument("--tables", default="census,online_shoppers,acs_income")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--preprocessor-eps", type=float, default=0.1)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    from bench_autoregressive import TABLES, _referee

    referee = _referee()
    import pandas as pd

    for name in args.tables.split(","):
        file, target, positive = TABLES[name]
        with tempfile.TemporaryDirectory() as work:
            referee.split(str(SHARED / "datasets" / file), work)
            train = pd.read_csv(Path(work) / "train.csv")
            holdout = pd.read_csv(Path(work) / "holdout.csv")
            scorer = referee.Scorer(train, holdout, target, positive)
            runs = []
            for seed in range(args.seeds):
                out = Path(work) / f"aim-{seed}.csv"
                done = subprocess.run(
                    [args.aim_python, str(HERE), "fit", str(Path(work) / "train.csv"), str(out),
                     str(args.epsilon), str(args.rounds), str(args.preprocessor_eps)],
                    capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    print(f"{name} seed {seed}: AIM failed\n{done.stderr[-2000:]}")
                    continue
                fitted = json.loads(done.stdout.strip().splitlines()[-1])
                scores = scorer.score(pd.read_csv(out))
                scores.pop("reference", None)
                runs.append({**fitted, **scores})
                print(name, seed, json.dumps(runs[-1]), flush=True)
            if runs:
                print(f"| {name} | AIM ε={args.epsilon:g} ({len(runs)} seeds) | "
                      + " | ".join(_cell([r.get(k) for r in runs])
                                   for k in ("fit_s", "sdmetrics_quality", "tvd1", "tvd2",
                                             "tstr_auc")) + " |")


def _cell(values: list) -> str:
    values = [v for v in values if isinstance(v, int | float)]
    if not values:
        return "—"
    mean = statistics.fmean(values)
    return f"{mean:.3f}" if len(values) == 1 else \
        f"{mean:.3f} ± {statistics.stdev(values):.3f}"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "fit":
        fit_aim(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]),
                float(sys.argv[6]))
    else:
        main()
