"""Faults: disk full, unwritable output, cancel mid-fit, a killed worker, memory blow-ups."""

from __future__ import annotations

import errno
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, make_pii_table, wait_until
from streamlit.testing.v1 import AppTest

from tabsynth.capacity import CTGAN_MAX_CATEGORIES, check_ctgan, check_dense
from tabsynth.errors import ConfigError, TabsynthError
from tabsynth.io import write_files_atomic
from tabsynth.schema import infer_schema


def _cli(*args: str, **popen) -> subprocess.Popen:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.Popen([sys.executable, "-m", "tabsynth.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            **popen)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_disk_full_leaves_no_half_written_output(pii_csv: Path, tmp_path: Path) -> None:
    """A real write failure: the process may not write files over 1 MiB (RLIMIT_FSIZE)."""
    out = tmp_path / "out"

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))

    process = _cli("synthesize", str(pii_csv), "--method", "faker", "--rows", "50000",
                   "--no-evaluate", "--quiet", "--out", str(out), preexec_fn=limit_file_size)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write to output folder" in lines[0], stderr
    assert "free some space" in lines[0] and "nothing was written" in lines[0]
    assert _leftovers(out) == []  # neither outputs nor temp files


def test_failed_write_keeps_the_previous_outputs(tmp_path: Path, monkeypatch) -> None:
    write_files_atomic(tmp_path, {"a.csv": b"old a", "b.json": b"old b"})
    real_fdopen, calls = os.fdopen, []

    def failing_fdopen(handle: int, *args, **kwargs):
        calls.append(handle)
        if len(calls) == 2:
            os.close(handle)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fdopen(handle, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", failing_fdopen)
    with pytest.raises(OSError, match="No space"):
        write_files_atomic(tmp_path, {"a.csv": b"new a", "b.json": b"new b"})
    assert (tmp_path / "a.csv").read_bytes() == b"old a"
    assert (tmp_path / "b.json").read_bytes() == b"old b"
    assert _leftovers(tmp_path) == ["a.csv", "b.json"]


def test_output_folder_below_a_file_is_a_clear_error(pii_csv: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    process = _cli("synthesize", str(pii_csv), "--method", "faker", "--quiet",
                   "--no-evaluate", "--out", str(blocker / "sub"))
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 2
    assert "cannot write to output folder" in stderr and "Traceback" not in stderr


def test_interrupt_mid_fit_exits_130_and_writes_nothing(pii_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    process = _cli("synthesize", str(pii_csv), "--method", "ctgan", "--epochs", "300",
                   "--out", str(out))
    seen = []
    for line in process.stderr:  # progress lines: wait until training has really begun
        seen.append(line)
        if line.startswith("train"):
            break
    assert process.poll() is None, "".join(seen)
    process.send_signal(signal.SIGINT)
    rest = process.stderr.read()
    assert process.wait(timeout=60) == 130
    assert rest.strip().splitlines()[-1] == "tabsynth: error: interrupted"
    assert "Traceback" not in rest
    assert not (out / "synthetic.csv").exists()



def test_page_reports_a_killed_worker_and_recovers() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    csv = make_pii_table(rows=400).to_csv(index=False).encode()
    at.file_uploader[0].set_value(("people.csv", csv, "text/csv")).run()
    at.radio[0].set_value("dp-gan").run()
    at.number_input[2].set_value(500).run()  # epochs: long enough to be killed mid-way
    next(b for b in at.button if b.label == "Train").click().run()
    workers = [p for p in multiprocessing.active_children() if p.is_alive()]
    assert workers, "no worker process started"
    os.kill(workers[-1].pid, signal.SIGKILL)
    wait_until(lambda: any("stopped unexpectedly" in e.value for e in at.error), poll=at.run)
    assert not at.exception
    next(b for b in at.button if b.label == "Start over").click().run()
    assert not at.exception and "job" not in at.query_params
    assert any(h.value == "1 · Data" for h in at.header)


def _categories_table(categories: int, rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"code": [f"c{i % categories}" for i in range(rows)],
                         "x": rng.normal(size=rows)})


def test_ctgan_refuses_a_huge_categorical_expansion_up_front() -> None:
    frame = _categories_table(CTGAN_MAX_CATEGORIES + 500, (CTGAN_MAX_CATEGORIES + 500) * 2)
    schema = infer_schema(frame)
    assert schema["code"].kind == "categorical"
    with pytest.raises(ConfigError) as caught:
        check_ctgan(frame, schema)
    message = str(caught.value)
    assert "'code'" in message and "1,500 categories" in message
    assert "gaussian-copula" in message and "other" in message  # what to do instead


def test_ctgan_memory_estimate_against_the_budget() -> None:
    frame = _categories_table(50, 2_000)
    schema = infer_schema(frame)
    check_ctgan(frame, schema)  # small: passes with the real budget
    with pytest.raises(ConfigError, match="GiB"):
        check_ctgan(frame, schema, budget=1_000)
    with pytest.raises(TabsynthError, match="dp-gan refused"):
        check_dense(1_000_000, 50_000, "dp-gan", budget=2**30)
    check_dense(1_000, 50, "dp-gan", budget=2**30)
