"""The job registry: each run in its own process, private to its owner, cancellable."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from conftest import job_spec as _spec
from conftest import wait_until

from tabsynth.jobs import JobRegistry


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
