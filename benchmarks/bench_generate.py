"""Drawing rows from a saved model at scale: wall time and peak RSS of `tabsynth generate`.

    python benchmarks/bench_generate.py [--rows 1000000,10000000] [--format csv] [--epochs 1]

Fits the autoregressive model (no DP, `--epochs` epochs) on census with `synthesize
--save-model`, then runs `tabsynth generate` for each row count under `/usr/bin/time -v` and
prints rows, shards, seconds, rows per second, peak RSS and the output's size. The goal (issue
#22): 10M rows of census shape with peak RSS at most 2 GiB.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CENSUS = ROOT.parent / "shared" / "datasets" / "census.csv.gz"


def tabsynth(*args: str) -> list[str]:
    return [sys.executable, "-m", "tabsynth.cli", *args]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="1000000,10000000")
    parser.add_argument("--format", default="csv", choices=("csv", "parquet"))
    parser.add_argument("--epochs", default="1")
    args = parser.parse_args()
    env = {"PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore", "PATH": "/usr/bin:/bin"}
    with tempfile.TemporaryDirectory() as work:
        model = Path(work) / "census.safetensors"
        subprocess.run(tabsynth("synthesize", str(CENSUS), "--method", "autoregressive",
                                "--epochs", args.epochs, "--out", f"{work}/fit", "--no-evaluate",
                                "--no-pdf", "--quiet", "--save-model", str(model)),
                       check=True, cwd=ROOT, env=env)
        print(f"model file: {model.stat().st_size / 2**20:.1f} MiB")
        print("| rows | shards | seconds | rows/s | peak RSS MiB | output MiB |")
        print("|---|---|---|---|---|---|")
        for rows in (int(r) for r in args.rows.split(",")):
            out = Path(work) / f"out-{rows}"
            done = subprocess.run(["/usr/bin/time", "-v", *tabsynth(
                "generate", str(model), "--rows", str(rows), "--out", str(out), "--format",
                args.format, "--quiet")], cwd=ROOT, env=env, capture_output=True, text=True)
            if done.returncode:
                sys.exit(done.stderr[-2000:])
            peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                                 done.stderr).group(1)) / 1024
            clock = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)",
                              done.stderr)
            hours, minutes, secs = clock.groups()
            seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(secs)
            size = (out / f"synthetic.{args.format}").stat().st_size / 2**20
            shards = -(-rows // 100_000)
            print(f"| {rows:,} | {shards} | {seconds:.0f} | {rows / seconds:,.0f} | "
                  f"{peak:,.0f} | {size:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
