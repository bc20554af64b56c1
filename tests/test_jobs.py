"""The job registry: each run in its own process, private to its owner, cancellable."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from conftest import job_spec as _spec
from conftest import wait_until

from tabsynth.jobs import JobRegistry

pytestmark = pytest.mark.usefixtures("spawn_safe_main")  # workers are spawned


def test_jobs_are_private_cancellable_and_report_crashes(tmp_path: Path) -> None:
    registry = JobRegistry(root=tmp_path)
    job = registry.start(_spec("dp-gan", "alice", epochs=500, batch_size=100,
                               evaluate=False))
    assert oct(job.folder.stat().st_mode & 0o777) == "0o700"
    assert registry.get(job.id, "mallory") is None
    wait_until(lambda: registry.get(job.id, "alice").progress.get("stage") == "train")
    registry.cancel(job)
    assert job.status == "cancelled" and not job.process.is_alive()
    assert not (job.folder / "synthetic.csv").exists()

    crashed = registry.start(_spec("dp-gan", "alice", epochs=500, batch_size=100))
    wait_until(lambda: registry.get(crashed.id, "alice").progress.get("stage") == "train")
    os.kill(crashed.process.pid, signal.SIGKILL)
    wait_until(lambda: registry.get(crashed.id, "alice").finished)
    assert crashed.status == "failed" and "stopped unexpectedly" in crashed.message

    registry.discard(job)
    assert not job.folder.exists()


def test_job_folders_expire_and_leftovers_are_swept_at_start(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    from tabsynth.jobs import FOLDER_PREFIX, JOB_LIFETIME_HOURS, Job

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    old = time.time() - (JOB_LIFETIME_HOURS + 1) * 3600
    folders = {}
    for name, pid, mtime in [("crashed", gone.stdout.strip(), None),
                             ("other_live_server", str(os.getppid()), old),
                             ("unknown_old", None, old), ("unknown_recent", None, None)]:
        folder = tmp_path / f"{FOLDER_PREFIX}{name}"
        folder.mkdir()
        if pid is not None:
            (folder / ".server-pid").write_text(pid)
        if mtime is not None:
            os.utime(folder, (mtime, mtime))
        folders[name] = folder
    registry = JobRegistry(root=tmp_path)
    assert {n for n, f in folders.items() if f.exists()} == {"other_live_server",
                                                             "unknown_recent"}
    finished = tmp_path / f"{FOLDER_PREFIX}finished"
    finished.mkdir()
    job = Job(id="j", owner="alice", folder=finished, status="done", ended_at=time.time())
    registry._jobs[job.id] = job
    assert registry.sweep() == [] and finished.exists()  # ended just now: kept
    job.ended_at = old
    assert registry.sweep() == [finished]
    assert not finished.exists() and registry.get("j", "alice") is None


def test_a_job_nobody_watches_still_expires(tmp_path: Path) -> None:
    """A finished job whose page was closed (nobody calls get) ends at the next sweep, which
    any page's get runs once a minute, and its folder goes once the lifetime has passed."""
    import queue

    from tabsynth.jobs import FOLDER_PREFIX, SWEEP_EVERY_SECONDS, Job

    registry = JobRegistry(root=tmp_path)
    folder = tmp_path / f"{FOLDER_PREFIX}unwatched"
    folder.mkdir()
    events: queue.Queue = queue.Queue()
    events.put({"type": "done"})
    job = Job(id="u", owner="alice", folder=folder, events=events)
    registry._jobs[job.id] = job
    registry._swept_at -= SWEEP_EVERY_SECONDS + 1  # a minute has passed
    assert registry.get("nothing", "bob") is None  # another page's rerun sweeps
    assert job.status == "done" and job.ended_at is not None and folder.exists()
    registry.lifetime_seconds = 0.0
    assert registry.sweep() == [folder] and not folder.exists()


def test_a_draw_completes_partial_rows_in_memory(tmp_path: Path) -> None:
    """The page's draw of partial rows: one drawn row per partial row, its filled cells kept,
    the others drawn; generation.json names the columns, never a value."""
    import json

    import pandas as pd

    from tabsynth.jobs import DrawConstraints

    registry = JobRegistry(root=tmp_path)
    job = registry.start(_spec("autoregressive", "alice", epochs=2, evaluate=False))
    wait_until(lambda: registry.get(job.id, "alice").finished)
    assert job.status == "done", job.message
    partial = pd.DataFrame({"segment": ["public", None, "corporate", "public"],
                            "visits": [None, 7, 2, None]})
    draw = registry.draw(job, 10_000, 5, "csv", DrawConstraints(partial=partial))
    assert draw.rows == 4 and draw.partial
    wait_until(lambda: registry.refresh_draw(draw) or draw.finished)
    assert draw.status == "done", draw.message
    drawn = pd.read_csv(draw.path)
    assert len(drawn) == 4
    assert drawn.loc[[0, 2, 3], "segment"].tolist() == ["public", "corporate", "public"]
    assert drawn.loc[[1, 2], "visits"].tolist() == [7, 2]
    assert drawn[["segment", "visits", "spend"]].notna().all().all()
    record = json.loads((draw.folder / "generation.json").read_text())
    assert record["constraints"]["partial_rows"] == {"rows": 4,
                                                     "columns": ["segment", "visits"]}
    assert "corporate" not in json.dumps(record)
