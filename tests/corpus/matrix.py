"""Run every corpus case through the CLI with each method it declares; check and tabulate
the outcomes.

`python tests/corpus/matrix.py [DIR [CASE,CASE...]] [--fresh]` builds the corpus in DIR, runs
the whole matrix (two runs at a time) and prints the case x method table. Each run is a CLI
process of its own (a forked child of a warm interpreter, see forkserver.py; with --fresh a new
`python -m tabsynth.cli`), killed after TIME_LIMIT_S; its peak resident memory comes from the
kernel (wait4).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forkserver import SINGLE_THREAD, ForkServer
from make_corpus import CASES, METHODS, Case, build

ROOT = Path(__file__).resolve().parents[2]
TIME_LIMIT_S = 240  # a run taking longer counts as a hang
MEMORY_CAP_MB = 3072  # peak resident memory allowed for one CLI run
# one epoch: what a hostile file breaks shows in the first (the 500-column table's 500 steps a
# row took the autoregressive model 56 s to its stopping rule, 34 s in one epoch)
TRAINING_EPOCHS = "1"
_LIVE_FORMULA = re.compile(r"^[=+@\t\r]|^-(?![\d.])")


@dataclass
class Outcome:
    case: str
    method: str
    expected: str
    exit_code: int
    seconds: float
    peak_mb: float
    stderr: str
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def label(self) -> str:
        if self.exit_code == 0:
            return "ok"
        if self.exit_code == 2:
            return "exit 2"
        return f"exit {self.exit_code}"


def run_one(case: Case, path: Path, method: str, out_dir: Path,
            server: ForkServer | None = None) -> Outcome:
    """One CLI run: `synthesize` the case with one method; check what it left behind.

    With a fork server the run is a forked child of a warm interpreter; without, a fresh
    `python -m tabsynth.cli` process. Both run one thread each (two runs share two cores).
    """
    argv = ["synthesize", str(path), "--method", method, "--out", str(out_dir), "--quiet",
            *case.args]
    if method in ("ctgan", "dp-gan", "autoregressive"):
        argv += ["--epochs", TRAINING_EPOCHS]
    if not case.pdf:
        argv.append("--no-pdf")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    err_path = out_dir.parent / f"{out_dir.name}.stderr"
    if server is not None:
        answer = server.run(argv, err_path, TIME_LIMIT_S)
    else:
        answer = _run_fresh(argv, err_path)
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    expected, phrase = case.expected(method)
    outcome = Outcome(case.name, method, expected, answer["exit"], answer["seconds"],
                      answer["peak_mb"], stderr)
    outcome.problems = check(outcome, phrase, out_dir, case.pdf)
    return outcome


def _run_fresh(argv: list[str], err_path: Path) -> dict[str, float]:
    env = dict(os.environ, PYTHONWARNINGS="ignore", **SINGLE_THREAD)
    started = time.monotonic()
    with err_path.open("wb") as err:
        process = subprocess.Popen([sys.executable, "-m", "tabsynth.cli", *argv],
                                   stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT, env=env)
        timer = threading.Timer(TIME_LIMIT_S, process.kill)
        timer.start()
        _, status, usage = os.wait4(process.pid, 0)
        timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
    return {"exit": process.returncode, "seconds": time.monotonic() - started,
            "peak_mb": usage.ru_maxrss / 1024}


def check(outcome: Outcome, phrase: str, out_dir: Path, pdf: bool = False) -> list[str]:
    problems = []
    if "Traceback" in outcome.stderr:
        problems.append("traceback on stderr")
    if outcome.seconds >= TIME_LIMIT_S:
        problems.append(f"killed after {TIME_LIMIT_S} s (hang)")
    if outcome.peak_mb > MEMORY_CAP_MB:
        problems.append(f"peak memory {outcome.peak_mb:.0f} MB over {MEMORY_CAP_MB} MB")
    if outcome.expected == "reject":
        lines = outcome.stderr.strip().splitlines()
        if outcome.exit_code != 2:
            problems.append(f"expected exit 2, got {outcome.exit_code}: {outcome.stderr[-300:]}")
        elif len(lines) != 1 or not lines[0].startswith("tabsynth: error: "):
            problems.append(f"expected one error line, got {len(lines)}")
        elif phrase.lower() not in lines[0].lower():
            problems.append(f"message lacks {phrase!r}: {lines[0]}")
        if (out_dir / "synthetic.csv").exists():
            problems.append("a rejected input still wrote synthetic.csv")
        return problems
    if outcome.exit_code != 0:
        return [*problems, f"expected success, got exit {outcome.exit_code}: "
                           f"{outcome.stderr.strip()[-300:]}"]
    return problems + check_outputs(out_dir, pdf)


def check_outputs(out_dir: Path, pdf: bool = False) -> list[str]:
    """synthetic.csv parses and matches report.json; the report is complete (report.pdf exactly
    when asked for); no live formula."""
    problems = []
    written = (out_dir / "report.pdf").is_file()
    if written != pdf:
        problems.append("report.pdf " + ("missing" if pdf else "written despite --no-pdf"))
    elif pdf and not (out_dir / "report.pdf").read_bytes().startswith(b"%PDF-"):
        problems.append("report.pdf is not a PDF")
    try:
        report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
        html = (out_dir / "report.html").read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        return [f"report missing or unreadable ({exc})"]
    for section in ("fidelity", "utility", "privacy"):
        if not isinstance(report.get(section), dict):
            problems.append(f"report.json has no {section} section")
    if "</html>" not in html:
        problems.append("report.html is incomplete")
    csv.field_size_limit(1 << 30)
    with (out_dir / "synthetic.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    names = [c["name"] for c in report["schema"]["columns"] if c["include"]]
    if [_unescape(h) for h in header] != names:
        problems.append("synthetic.csv header differs from the schema's columns")
    if len(body) != report["run"]["synthetic_rows"]:
        problems.append(f"synthetic.csv has {len(body)} rows, the report says "
                        f"{report['run']['synthetic_rows']}")
    if any(len(row) != len(header) for row in body):
        problems.append("synthetic.csv has ragged rows")
    live = [cell for row in rows for cell in row if _LIVE_FORMULA.match(cell)]
    if live:
        problems.append(f"{len(live)} live formula cell(s) in synthetic.csv")
    return problems


def _unescape(header: str) -> str:
    return header[1:] if header.startswith("'") else header


def run_matrix(work: Path, names: list[str] | None = None, methods: tuple[str, ...] = METHODS,
               parallel: int = 2, fork: bool = True) -> list[Outcome]:
    """Every (case, method) run, `parallel` at a time, each through its own fork server."""
    corpus = build(work / "corpus", names)
    jobs = [(case, path, method) for case, path in corpus for method in methods
            if method in case.methods]
    servers = [ForkServer(ROOT) if fork else None for _ in range(parallel)]
    local = threading.local()
    counter = iter(range(parallel))
    lock = threading.Lock()

    def run(case: Case, path: Path, method: str) -> Outcome:
        if not hasattr(local, "server"):
            with lock:
                local.server = servers[next(counter)]
        return run_one(case, path, method, work / "out" / f"{case.name}-{method}", local.server)

    try:
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            futures = [pool.submit(run, *job) for job in jobs]
            return [future.result() for future in futures]
    finally:
        for server in servers:
            if server is not None:
                server.close()


def markdown(outcomes: list[Outcome]) -> str:
    """case x method table: outcome, seconds and peak MB per cell, failures flagged."""
    by_case: dict[str, dict[str, Outcome]] = {}
    for outcome in outcomes:
        by_case.setdefault(outcome.case, {})[outcome.method] = outcome
    summaries = {case.name: case.summary for case in CASES}
    methods = [m for m in METHODS if any(m in row for row in by_case.values())]
    lines = ["| case | what | " + " | ".join(methods) + " |",
             "|---|---|" + "---|" * len(methods)]
    for name, row in by_case.items():
        cells = []
        for method in methods:
            outcome = row.get(method)
            if outcome is None:
                cells.append("—")
                continue
            mark = "" if outcome.passed else " **FAIL**"
            cells.append(f"{outcome.label()}{mark} ({outcome.seconds:.0f} s, "
                         f"{outcome.peak_mb:.0f} MB)")
        lines.append(f"| {name} | {summaries.get(name, '')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def messages(outcomes: list[Outcome]) -> str:
    """The one-line message of each rejected case (first method only)."""
    seen, lines = set(), []
    for outcome in outcomes:
        if outcome.exit_code == 2 and outcome.case not in seen:
            seen.add(outcome.case)
            lines.append(f"- `{outcome.case}`: {outcome.stderr.strip()}")
    return "\n".join(lines)


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--fresh"]
    work = Path(arguments[0] if arguments else "test-artifacts/corpus")
    chosen = arguments[1].split(",") if len(arguments) > 1 else None
    started = time.monotonic()
    results = run_matrix(work, chosen, fork="--fresh" not in sys.argv)
    print(markdown(results))
    print()
    print(messages(results))
    failures = [o for o in results if not o.passed]
    for outcome in failures:
        print(f"FAIL {outcome.case} / {outcome.method}: {'; '.join(outcome.problems)}")
    print(f"{len(results)} runs, {len(failures)} failures, {time.monotonic() - started:.0f} s")
    sys.exit(1 if failures else 0)
