"""Local vs Ray with 1 and 2 workers: fit seconds per epoch, rows/s sampled, evaluation
seconds, peak RSS of the driver and of the cluster's workers.

    python benchmarks/bench_scale.py [--address 127.0.0.1:6379] [--tables census1,census10]
        [--generated-rows N] [--modes local,ray1,ray2] [--epochs 3] [--epsilon E] [--json PATH]

Each run is the command line a user types (`tabsynth synthesize ... --method autoregressive
--epochs E --no-pdf`, plus `--ray-address A --workers N` for the Ray modes) in a fresh process,
so the driver's peak RSS is its own. Tables: census ×k (`censusK`: ../shared/datasets/census,
stacked k times) and, with --generated-rows, a generated table of that many rows (6 numbers,
4 categories with dependences; a larger table than 2,000,000 rows is read as a uniform
sample of 2,000,000 while streaming through it). The Ray modes need a
head already running at --address on this machine (the workers' RSS is read from /proc; see
docs/scale.md for starting one); `ray1` runs the job as one task, `ray2` also trains on two
workers (Ray Train). Fit seconds include preprocessing and Ray Train's start (tens of seconds
on 2 cores); training seconds per epoch are the training loop's own (rank 0's for 2 workers).
The local run uses --local-threads torch threads (default: all cores but one, as the page's
worker); a Ray task uses one per CPU it holds (one).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
POLL_SECONDS = 0.25


def census(times: int, folder: Path) -> Path:
    source = SHARED / "census.csv.gz"
    if not source.is_file():
        source = ROOT / "tests" / "data" / "census.csv.gz"
    frame = pd.read_csv(source)
    path = folder / f"census{times}.csv.gz"
    pd.concat([frame] * times, ignore_index=True).to_csv(path, index=False)
    return path


def generated(rows: int, folder: Path, seed: int = 0) -> Path:
    """A table with dependences between its columns, written in 1M-row parts."""
    path = folder / f"generated{rows}.csv.gz"
    rng = np.random.default_rng(seed)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            group = rng.choice(["north", "south", "east", "west"], n, p=[.4, .3, .2, .1])
            age = rng.integers(18, 90, n)
            income = np.round(rng.lognormal(10 + (age > 40) * 0.3, 0.5, n), 2)
            part = pd.DataFrame({
                "group": group, "age": age, "income": income,
                "score": np.round(rng.normal(age / 10, 1, n), 3),
                "visits": rng.poisson(2 + (group == "north") * 3, n),
                "level": np.where(income > 40_000, "high", "low"),
                "tenure": rng.integers(0, 40, n), "rate": np.round(rng.random(n), 4),
                "active": rng.choice(["yes", "no"], n),
                "kind": rng.choice(list("abcdefgh"), n)})
            part.to_csv(out, index=False, header=start == 0)
    return path


class Peaks:
    """Polls /proc: the driver's peak RSS (VmHWM) and the Ray workers' RSS, at its highest."""

    def __init__(self, pid: int) -> None:
        self.pid, self.driver, self.workers, self.worker = pid, 0, 0, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._done.is_set():
            self.driver = max(self.driver, _status_kib(self.pid, "VmHWM"))
            sizes = [_status_kib(pid, "VmRSS") for pid in _ray_workers()]
            self.workers = max(self.workers, sum(sizes))
            self.worker = max([self.worker, *sizes])
            time.sleep(POLL_SECONDS)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _ray_workers() -> list[int]:
    """Ray's worker processes (tasks, actors, Ray Train workers) on this machine."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(b"ray::"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def run(table: Path, mode: str, args: argparse.Namespace, folder: Path) -> dict:
    name = table.name.split(".")[0]
    out = folder / f"{name}-{mode}"
    command = [sys.executable, "-m", "tabsynth.cli", "synthesize", str(table), "--method",
               "autoregressive", "--epochs", str(args.epochs), "--out", str(out), "--no-pdf",
               "--quiet", "--seed", "0"]
    if args.epsilon is not None:
        command += ["--epsilon", str(args.epsilon)]
    if mode != "local":
        command += ["--ray-address", args.address, "--workers", mode.removeprefix("ray")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
    if mode == "local":  # as the page's worker: all cores but one (Ray: one per CPU it holds)
        env["OMP_NUM_THREADS"] = str(args.local_threads)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    peaks = Peaks(process.pid)
    _, err = process.communicate()
    peaks.stop()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        return {"table": name, "mode": mode, "error": err.strip().splitlines()[-1:]}
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    run_info = report["run"]
    epochs = run_info.get("epochs") or args.epochs
    training = (run_info.get("training") or {}).get("seconds") or run_info["fit_seconds"]
    return {"table": name, "mode": mode, "rows": report["input"]["rows"],
            "fit_s": run_info["fit_seconds"], "epochs": epochs,
            "train_s_per_epoch": training / max(epochs, 1),
            "sample_rows_per_s": run_info["synthetic_rows"] / max(run_info["sample_seconds"],
                                                                  1e-9),
            "evaluate_s": sum((report.get("evaluation_seconds") or {}).values()),
            "wall_s": wall, "driver_peak_mib": peaks.driver / 1024,
            "workers_peak_mib": peaks.workers / 1024, "largest_worker_mib": peaks.worker / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1:6379")
    parser.add_argument("--tables", default="census1")
    parser.add_argument("--generated-rows", type=int, default=0)
    parser.add_argument("--modes", default="local,ray1,ray2")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--epsilon", type=float, default=None)
    parser.add_argument("--local-threads", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="tabsynth-bench-scale-") as temp:
        folder = Path(temp)
        tables = [census(int(name.removeprefix("census")), folder)
                  for name in args.tables.split(",") if name]
        if args.generated_rows:
            tables.append(generated(args.generated_rows, folder))
        for table in tables:
            for mode in args.modes.split(","):
                result = run(table, mode, args, folder)
                results.append(result)
                print(json.dumps(result), file=sys.stderr, flush=True)
    print("| table | mode | rows | fit s | epochs | training s/epoch | sample rows/s | evaluate s "
          "| wall s | driver peak MiB | Ray workers peak MiB (sum / largest) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        if "error" in r:
            print(f"| {r['table']} | {r['mode']} | failed: {r['error']} |")
            continue
        print(f"| {r['table']} | {r['mode']} | {r['rows']:,} | {r['fit_s']:.1f} | "
              f"{r['epochs']} | {r['train_s_per_epoch']:.1f} | {r['sample_rows_per_s']:,.0f} | "
              f"{r['evaluate_s']:.1f} | {r['wall_s']:.1f} | {r['driver_peak_mib']:.0f} | "
              f"{r['workers_peak_mib']:.0f} / {r['largest_worker_mib']:.0f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
