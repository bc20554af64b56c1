"""The autoregressive method (and the DP-GAN beside it) on the shared tables, scored by the referee.

    python benchmarks/bench_autoregressive.py [--tables census,online_shoppers,acs_income]
        [--epsilons inf,1] [--dpgan-epsilons 1] [--seeds K] [--epochs N] [--device auto]
        [--mostly DIR]   # also score MOSTLY AI's tables written by bench_mostlyai.py
        [--workers N]    # autoregressive on N Ray workers (TABSYNTH_RAY_ADDRESS=127.0.0.1:6379)

For each table: the referee's split (shuffle with random_state=0, first 80 % train), one fit per
method / epsilon / seed on train, as many synthetic rows as train, scored with the referee's
SDMetrics quality, 1-/2-way TVD and TSTR AUC beside the holdout / TRTR reference, with fit
seconds, so the figures sit next to ../shared/bench/ANCHORS.md. Cells are mean ± sd over seeds.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
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
sys.path.insert(0, str(ROOT))  # this checkout's tabsynth
TABLES = {
    "census": ("census.csv.gz", "income", ">50K"),
    "online_shoppers": ("online_shoppers.csv.gz", "Revenue", "True"),
    "acs_income": ("acs_income.csv.gz",
                   "Insurance through a current or former employer or union", "Yes"),
}


def _referee():
    spec = importlib.util.spec_from_file_location("referee", SHARED / "bench" / "referee.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fit(method: str, train: pd.DataFrame, target: str, epsilon: float,
        args: argparse.Namespace, seed: int) -> dict:
    from tabsynth.schema import coerce_frame, format_for_export
    from tabsynth.synthesizers import make_synthesizer

    count = getattr(args, "workers", 1)  # bench_shape's arguments have no --workers
    workers = {"workers": count} if method == "autoregressive" and count > 1 else {}
    model = make_synthesizer(method, epsilon=epsilon, epochs=args.epochs, device=args.device,
                             seed=seed, target=target, **workers)
    # as the default flow does: with DP, the schema is learned under the same budget
    schema = model.infer_schema(train, target=target)
    typed = coerce_frame(train, schema, lenient=model.schema_learned_privately)
    started = time.perf_counter()
    model.fit(typed, schema)
    fit_s = time.perf_counter() - started
    # as the CLI writes it (booleans, dates and integers in the input's own tokens: Yes / No)
    # and as the referee reads it back: from CSV (scored in memory, a True / False column of
    # text would be all missing to the referee's numeric features)
    written = format_for_export(model.sample(len(train), seed=seed), schema)
    synthetic = pd.read_csv(io.StringIO(written.to_csv(index=False)))
    claim = model.privacy_claim
    label = f"{method} ε={epsilon:g}" if math.isfinite(epsilon) else f"{method}, no DP"
    if workers:
        label += f", {count} workers (Ray)"
    return {"label": label, "fit_s": fit_s, "epsilon": claim.epsilon if claim else None,
            "epochs": model.fit_info.get("epochs"), "synthetic": synthetic}


def _scores(scorer, synthetic: pd.DataFrame) -> dict:
    """The referee's four scores (its reference part is computed once per table)."""
    one, two = scorer.tvd(synthetic)
    return {"sdmetrics_quality": scorer.quality(synthetic), "tvd1": one, "tvd2": two,
            "tstr_auc": scorer.auc(synthetic)}


def _mostly_runs(folder: Path | None, table: str):
    """(seed, synthetic table, fit seconds) written by bench_mostlyai.py, if any."""
    if folder is None:
        return
    for path in sorted(folder.glob(f"{table}-seed*.csv")):
        seconds = json.loads(path.with_suffix(".json").read_text())["fit_s"]
        yield int(path.stem.rsplit("seed", 1)[1]), pd.read_csv(path), seconds


def _log(table: str, seed: int, row: dict) -> None:
    print(f"done {table} {row['label']} seed {seed}: fit {row['fit_s']:.1f}s, "
          f"{row.get('epochs', '-')} epochs, quality {row['sdmetrics_quality']:.3f}, "
          f"tvd1 {row['tvd1']:.3f}, tvd2 {row['tvd2']:.3f}, tstr {row['tstr_auc']:.3f}",
          file=sys.stderr, flush=True)


def _cell(values: list[float], digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", default="census,online_shoppers,acs_income")
    parser.add_argument("--epsilons", default="inf,1", help="for the autoregressive method")
    parser.add_argument("--dpgan-epsilons", default="1", help="for the DP-GAN ('' for none)")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=1,
                        help="train the autoregressive method on N workers of the Ray cluster "
                             "at TABSYNTH_RAY_ADDRESS")
    parser.add_argument("--mostly", type=Path, default=None,
                        help="folder of bench_mostlyai.py outputs to score in the same table")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    referee = _referee()
    print("| table | system | fit s | ε (accountant) | SDMetrics quality | 1-way TVD | 2-way TVD "
          "| TSTR AUC |")
    print("|" + "---|" * 8)
    for table in args.tables.split(","):
        filename, target, positive = TABLES[table]
        work = Path(tempfile.mkdtemp(prefix=f"tabsynth-ar-{table}-"))
        referee.split(str(SHARED / "datasets" / filename), str(work))
        train = pd.read_csv(work / "train.csv")
        scorer = referee.Scorer(train, pd.read_csv(work / "holdout.csv"), target, positive)
        runs = [("autoregressive", float(e)) for e in args.epsilons.split(",") if e] + \
            [("dp-gan", float(e)) for e in args.dpgan_epsilons.split(",") if e]
        holdout = scorer.holdout
        one, two = scorer.tvd(holdout)
        reference = {"holdout_sdmetrics_quality": scorer.quality(holdout), "holdout_tvd1": one,
                     "holdout_tvd2": two, "trtr_auc": scorer.auc(scorer.train)}
        rows = []
        for seed in range(args.seeds):
            for method, epsilon in runs:
                result = fit(method, train, target, epsilon, args, seed)
                rows.append(result | _scores(scorer, result.pop("synthetic")))
                _log(table, seed, rows[-1])
        for seed, synthetic, fit_s in _mostly_runs(args.mostly, table):
            rows.append({"label": "MOSTLY AI TabularARGN, no DP (same sitting)", "fit_s": fit_s,
                         "epsilon": None} | _scores(scorer, synthetic))
            _log(table, seed, rows[-1])
        print(f"| {table} | reference: holdout vs train / TRTR | — | — | "
              f"{reference['holdout_sdmetrics_quality']:.3f} | {reference['holdout_tvd1']:.3f} | "
              f"{reference['holdout_tvd2']:.3f} | {reference['trtr_auc']:.3f} |")
        for label in dict.fromkeys(row["label"] for row in rows):
            group = [row for row in rows if row["label"] == label]
            epsilons = [row["epsilon"] for row in group if row["epsilon"] is not None]
            cells = [_cell([row["fit_s"] for row in group], 1),
                     f"{max(epsilons):.3f}" if epsilons else "—"]
            cells += [_cell([row[key] for row in group], 3)
                      for key in ("sdmetrics_quality", "tvd1", "tvd2", "tstr_auc")]
            print(f"| {table} | {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
