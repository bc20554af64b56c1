"""The page's time estimate against real runs of the page's own path (a worker process).

    python benchmarks/bench_estimates.py [--tables census,online_shoppers,acs_income]
        [--modes nodp,dp] [--method autoregressive] [--epsilon 1] [--rows N] [--epochs N]
        [--device auto] [--threads N] [--json PATH]

For each table and mode: the schema the page proposes (the table's usual target), the estimate
the page shows (tabsynth.estimate.estimate_run, as app.py calls it), then a job started as the
Train button starts it (JobRegistry: spawned worker, read, schema, split, fit, sample, evaluate,
write with the PDF) and timed from the start to the end of the worker's "done", each stage from
its first progress event. Prints per run the estimate and the actual seconds of each stage, the
total, the ratio actual / estimate (the goal: within 1.5×, either way), then the constants the
runs imply (seconds per row · column (· epoch)) to set in tabsynth/estimate.py.

Run it on an idle machine: other jobs on the 2 cores slow every stage. `--rows 2000 --epochs 1`
is a quick check that the script works (and measures mostly fixed costs).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))  # this checkout's tabsynth
TABLES = {  # file under ../shared/datasets/, target
    "census": ("census.csv.gz", "income"),
    "online_shoppers": ("online_shoppers.csv.gz", "Revenue"),
    "acs_income": ("acs_income.csv.gz",
                   "Insurance through a current or former employer or union"),
}
GOAL = 1.5  # the estimate within this factor of the actual wall time, either way


def _table(name: str, rows: int | None) -> tuple[str, bytes, str | None]:
    """(file name, the bytes a user would upload, target); `name` a shared table or a path."""
    if name in TABLES:
        path, target = SHARED / "datasets" / TABLES[name][0], TABLES[name][1]
    else:
        path, target = Path(name), None
    data = path.read_bytes()
    if rows is None:
        return path.name, data, target
    frame = pd.read_csv(path)
    frame = frame.sample(min(rows, len(frame)), random_state=0).reset_index(drop=True)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return path.name.removesuffix(".gz"), buffer.getvalue().encode(), target


def _stage_seconds(stage_started: dict[str, float], started_at: float,
                   ended_at: float) -> dict[str, float]:
    """Each stage's seconds: from its first event to the next stage's (reading: from the
    job's start, so it holds the worker's start and imports)."""
    from tabsynth.estimate import EVENT_STAGES, STAGES

    begun: dict[str, float] = {"reading": started_at}
    for event_stage, at in stage_started.items():
        stage = EVENT_STAGES.get(event_stage)
        if stage is not None and stage != "reading":
            begun[stage] = min(at, begun.get(stage, math.inf))
    order = sorted((at, stage) for stage, at in begun.items())
    ends = [at for at, _ in order[1:]] + [ended_at]
    seconds = {stage: end - at for (at, stage), end in zip(order, ends, strict=True)}
    return {stage: seconds.get(stage, 0.0) for stage in STAGES}


def run_one(name: str, private: bool, args: argparse.Namespace) -> dict:
    from tabsynth.estimate import estimate_run
    from tabsynth.jobs import JobRegistry, JobSpec
    from tabsynth.pipeline import load_table
    from tabsynth.schema import infer_schema
    from tabsynth.ui_support import categorical_columns

    filename, data, target = _table(name, args.rows)
    table = load_table(data, filename=filename)
    schema = infer_schema(table.frame)  # what the page proposes
    if target is not None:
        schema.target = target
    learned = len(schema.learned)
    made_up = sum(1 for c in schema.included if c.regenerated)
    estimate = estimate_run(args.method, len(table.frame), learned, epochs=args.epochs,
                            private=private, made_up=made_up,
                            categorical=categorical_columns(schema))
    config = {"method": args.method, "seed": 0, "target": schema.target,
              "epochs": args.epochs, "device": args.device}
    if private:
        config.update(epsilon=args.epsilon, learn_schema=True)
    registry = JobRegistry()
    job = registry.start(JobSpec(data=data, filename=filename, config=config,
                                 schema_json=schema.to_json(),
                                 estimate=estimate.to_dict() if estimate else None))
    while not job.finished:
        time.sleep(0.25)
        registry.refresh(job)
    if job.status != "done":
        registry.discard(job)
        raise SystemExit(f"{name}: the job {job.status}: {job.message}")
    report = registry.report(job)
    actual = _stage_seconds(job.stage_started, job.started_at, job.ended_at)
    registry.discard(job)
    run = report["run"]
    return {"table": name, "mode": f"ε={args.epsilon:g}" if private else "no DP",
            "rows": len(table.frame), "train_rows": run["train_rows"], "columns": learned,
            "categorical": categorical_columns(schema),
            "made_up": made_up, "epochs_expected": estimate.epochs if estimate else None,
            "epochs": run.get("epochs"), "max_epochs": run.get("max_epochs"),
            "stopping": run.get("stopping"),
            "estimate": estimate.stages if estimate else None,
            "estimate_range": [estimate.low, estimate.high] if estimate else None,
            "actual": actual, "fit_seconds": run.get("fit_seconds"),
            "sample_seconds": run.get("sample_seconds"),
            "evaluation_seconds": report.get("evaluation_seconds")}


def implied(result: dict) -> dict[str, float]:
    """The constants this run implies (tabsynth/estimate.py's units)."""
    from tabsynth.estimate import EVALUATE_FIXED, EVALUATE_ROWS, THROUGHPUT

    actual, cols = result["actual"], result["columns"]
    train, rows = result["train_rows"], result["rows"]
    epochs = result["epochs"] or 1
    out = {"train s/(row·col·epoch)": actual["training"] / (train * cols * epochs),
           "sample s/(row·col)": actual["sampling"] / (train * cols),
           "evaluate s/(row·col·categories²), fixed part off":
               (actual["evaluating"] - EVALUATE_FIXED) / (min(rows, EVALUATE_ROWS) * cols
                                                          * max(result["categorical"], 1) ** 2),
           "write s": actual["writing"], "read+start s": actual["reading"]}
    if result["mode"] != "no DP":
        factor = THROUGHPUT["autoregressive"].dp_factor
        out["train s/(row·col·epoch) ÷ dp_factor"] = out["train s/(row·col·epoch)"] / factor
    return out


def show(results: list[dict]) -> None:
    from tabsynth.estimate import STAGES, span_words

    for r in results:
        est, act = r["estimate"], r["actual"]
        total_est, total_act = sum(est.values()), sum(act.values())
        ratio = total_act / total_est
        verdict = "within" if 1 / GOAL <= ratio <= GOAL else "OUTSIDE"
        print(f"\n{r['table']} ({r['rows']:,} rows, {r['columns']} learned + {r['made_up']} "
              f"made-up columns), {r['mode']}: epochs expected {r['epochs_expected']:.0f}, "
              f"trained {r['epochs']} of {r['max_epochs']}"
              + (f" ({r['stopping']})" if r.get("stopping") else ""))
        print(f"  {'stage':<14}{'estimate s':>11}{'actual s':>10}{'ratio':>7}")
        for stage in STAGES:
            e, a = est.get(stage, 0.0), act.get(stage, 0.0)
            print(f"  {stage:<14}{e:>11.1f}{a:>10.1f}{(a / e if e else math.nan):>7.2f}")
        low, high = r["estimate_range"]
        print(f"  {'total':<14}{total_est:>11.1f}{total_act:>10.1f}{ratio:>7.2f}  "
              f"(page: about {span_words(low, high)}; {verdict} {GOAL}×)")
        print("  implied: " + ", ".join(f"{k} {v:.3g}" for k, v in implied(r).items()))
    print("\n| table | mode | rows | epochs (expected / trained) | estimate s | actual s | "
          "actual / estimate |")
    print("|---|---|---:|---|---:|---:|---:|")
    for r in results:
        total_est, total_act = sum(r["estimate"].values()), sum(r["actual"].values())
        print(f"| {r['table']} | {r['mode']} | {r['rows']:,} | {r['epochs_expected']:.0f} / "
              f"{r['epochs']} | {total_est:.1f} | {total_act:.1f} | "
              f"{total_act / total_est:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", default="census,online_shoppers,acs_income",
                        help="shared table names or CSV paths, comma-separated")
    parser.add_argument("--modes", default="nodp,dp", help="nodp, dp or both")
    parser.add_argument("--method", default="autoregressive")
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--rows", type=int, default=None, help="a random sample of N rows")
    parser.add_argument("--epochs", type=int, default=None, help="default: the method's")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None,
                        help="OMP / torch threads of the worker")
    parser.add_argument("--json", type=Path, default=None, help="also write the results")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
        os.environ["MKL_NUM_THREADS"] = str(args.threads)
    results = []
    for name in filter(None, args.tables.split(",")):
        for mode in filter(None, args.modes.split(",")):
            results.append(run_one(name, mode == "dp", args))
            print(f"done: {name} {mode}", file=sys.stderr, flush=True)
    show(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
