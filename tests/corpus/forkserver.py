"""Run `tabsynth` CLI invocations in forked children of a warm interpreter.

Starting Python and importing torch, SDV and scikit-learn costs about 3 s per CLI run; with
~200 corpus runs that is most of the matrix's time. A server process imports them once, then
forks one child per request; the child runs `tabsynth.cli.main(argv)` with stdout discarded and
stderr in a file, exactly what `python -m tabsynth.cli ARGV` runs after start-up. The server
kills a child that outlives its time limit (SIGALRM) and reports its exit code and peak
resident memory (wait4). Nothing that starts threads or registers fork hooks (polars, via
anonymeter) is imported before forking.

Protocol: one JSON line per request on stdin ({"argv", "stderr", "timeout"}), one JSON line per
answer on stdout ({"exit", "seconds", "peak_mb"}).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

PRELOAD = ("torch", "opacus", "sdv.single_table", "sklearn.ensemble", "sklearn.linear_model",
           "tabsynth.cli", "tabsynth.pipeline", "tabsynth.synthesizers.ctgan",
           "tabsynth.synthesizers.dp_gan", "tabsynth.synthesizers.gaussian_copula",
           "tabsynth.synthesizers.faker_only", "tabsynth.synthesizers.autoregressive")
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                 "NUMBA_NUM_THREADS": "1"}


def serve() -> None:
    import importlib
    import warnings

    warnings.filterwarnings("ignore")
    for name in PRELOAD:
        importlib.import_module(name)
    if "polars" in sys.modules or threading.active_count() > 1:
        raise SystemExit("fork server: a preloaded module started threads or imported polars")
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    for line in sys.stdin:
        request = json.loads(line)
        answers.write(json.dumps(_run(request["argv"], request["stderr"],
                                      request["timeout"])) + "\n")
        answers.flush()


def _run(argv: list[str], stderr_path: str, timeout: int) -> dict[str, Any]:
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: become `python -m tabsynth.cli ARGV`
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            err = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(devnull, 1)
            os.dup2(err, 2)
            sys.argv = ["tabsynth", *argv]
            from tabsynth.cli import main

            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
    signal.alarm(timeout)
    _, status, usage = os.wait4(pid, 0)
    signal.alarm(0)
    return {"exit": os.waitstatus_to_exitcode(status), "seconds": time.monotonic() - started,
            "peak_mb": usage.ru_maxrss / 1024}


class ForkServer:
    """The parent side: start the server, send requests one at a time (thread-safe)."""

    def __init__(self, cwd: Path) -> None:
        env = dict(os.environ, PYTHONWARNINGS="ignore", **SINGLE_THREAD)
        self._process = subprocess.Popen(
            [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            cwd=cwd, env=env, text=True)
        self._lock = threading.Lock()

    def run(self, argv: list[str], stderr_path: Path, timeout: int) -> dict[str, Any]:
        with self._lock:
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(json.dumps({"argv": argv, "stderr": str(stderr_path),
                                                  "timeout": timeout}) + "\n")
            self._process.stdin.flush()
            answer = self._process.stdout.readline()
        if not answer:
            raise RuntimeError("the fork server died")
        return json.loads(answer)

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        self._process.wait(timeout=30)


if __name__ == "__main__":
    serve()
