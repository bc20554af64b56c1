"""Synthesis jobs in worker processes: start, watch progress, cancel, survive a crashed worker.

Each job owns a private temporary folder (mode 0700) holding, when done, synthetic.csv,
release.json / release.html and the review report.json / report.html. The folder is removed when
the job is discarded, when it ended more than JOB_LIFETIME_HOURS ago, and at the next start of a
server when the server that made it is gone (a crash leaves no folder behind for long). The
worker is a separate process (spawned), so a long fit never blocks the UI, a cancel can stop it
for sure, and its memory (GPU included) is freed when it ends. A job given a Ray address runs
as a task on that cluster instead (backends/ray_cluster.py): the same events, cancel and folder.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabsynth.backends import local

STATUSES = ("running", "done", "failed", "cancelled")
_GRACE_SECONDS = 5.0
JOB_LIFETIME_HOURS = 24  # a finished job's folder (outputs included) is deleted after this
FOLDER_PREFIX = "tabsynth-job-"
SWEEP_EVERY_SECONDS = 60.0
_SERVER_FILE = ".server-pid"  # which server process made the folder


@dataclass
class JobSpec:
    """What the worker needs: the upload and the run settings (plain data, picklable)."""

    data: bytes
    filename: str
    config: dict[str, Any]  # RunConfig fields
    schema_json: str | None = None
    owner: str = ""
    sheet: str | None = None  # the Excel sheet to read
    header: bool = True  # the first row holds the column names
    estimate: dict[str, Any] | None = None  # estimate.Estimate.to_dict(): for the ETA
    ray_address: str | None = None  # run on this Ray cluster (None: a local worker process)


@dataclass
class Job:
    id: str
    owner: str
    folder: Path
    status: str = "running"
    message: str = ""
    ended_at: float | None = None  # time.time() when the job finished
    progress: dict[str, Any] = field(default_factory=dict)
    # what the page shows while it runs: when it started (time.time()), when each stage's
    # first event came, the file and settings, the estimate made before it started
    started_at: float = field(default_factory=time.time)
    stage_started: dict[str, float] = field(default_factory=dict)
    stage_ended: dict[str, str] = field(default_factory=dict)  # a stage's last message
    filename: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    estimate: dict[str, Any] | None = None
    process: Any = None
    events: Any = None
    stop: Any = None

    @property
    def finished(self) -> bool:
        return self.status != "running"

    def output(self, name: str) -> Path:
        return self.folder / name


def _worker(spec: JobSpec, folder: str, events: Any, stop: Any) -> None:
    """Runs in the child process: the whole pipeline, reporting progress through `events`."""
    import warnings

    from tabsynth.device import compute_threads

    os.environ.setdefault("OMP_NUM_THREADS", str(compute_threads()))  # before torch loads
    warnings.filterwarnings("ignore")
    from tabsynth.errors import TabsynthError
    from tabsynth.pipeline import ReadSettings, RunConfig, synthesize
    from tabsynth.progress import Cancelled
    from tabsynth.schema import Schema

    def report(event: Any) -> None:
        events.put({"type": "progress", "stage": event.stage, "fraction": event.fraction,
                    "message": event.message, "metrics": event.metrics, "time": time.time()})

    try:
        config = RunConfig(**spec.config)
        schema = Schema.from_json(spec.schema_json) if spec.schema_json else None
        synthesize(spec.data, config, filename=spec.filename, schema=schema,
                   read=ReadSettings(sheet=spec.sheet, header=spec.header), out_dir=folder,
                   progress=report, should_stop=stop.is_set)
        events.put({"type": "done", "time": time.time()})
    except Cancelled:
        events.put({"type": "cancelled"})
    except TabsynthError as exc:
        events.put({"type": "failed", "message": str(exc)})
    except MemoryError:
        events.put({"type": "failed", "message": "out of memory: use fewer rows or columns"})
    except Exception as exc:  # never a traceback in the UI; the type says where to look
        events.put({"type": "failed", "message": f"internal error ({type(exc).__name__})"})


def _on_cluster(spec: JobSpec, folder: Path) -> Any:
    """The job as a task on the spec's Ray cluster, writing its files into `folder`."""
    from tabsynth.backends.ray_cluster import ClusterJob
    from tabsynth.backends.tasks import SynthesisPayload, synthesize_task

    payload = SynthesisPayload(data=spec.data, filename=spec.filename, config=spec.config,
                               schema_json=spec.schema_json, sheet=spec.sheet,
                               header=spec.header)
    return ClusterJob(str(spec.ray_address), synthesize_task, payload, folder,
                      workers=int(spec.config.get("workers") or 1))


class JobRegistry:
    """All jobs of this server process; each is visible only to the session that owns it."""

    def __init__(self, root: str | Path | None = None) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._root = Path(root) if root else None
        self.lifetime_seconds = JOB_LIFETIME_HOURS * 3600.0
        self._swept_at = 0.0
        atexit.register(self.close)
        self.sweep()

    def sweep(self) -> list[Path]:
        """Delete the folders of jobs that ended more than the lifetime ago, and job folders
        left by a server that is gone (or, when that cannot be told, older than the lifetime).
        Returns the folders deleted."""
        now = self._swept_at = time.time()
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:  # a job nobody watches still ends (its tab may be closed)
            if not job.finished:
                self.refresh(job)
        expired = [job for job in jobs if job.ended_at is not None
                   and now - job.ended_at > self.lifetime_seconds]
        for job in expired:
            self.discard(job)
        removed = [job.folder for job in expired]
        with self._lock:
            ours = {job.folder for job in self._jobs.values()}
        root = self._root or Path(tempfile.gettempdir())
        for folder in root.glob(FOLDER_PREFIX + "*"):
            if folder in ours or not folder.is_dir() or folder.is_symlink():
                continue
            if _left_behind(folder, now, self.lifetime_seconds):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        return removed

    def close(self) -> None:
        """Stop every job and delete every job folder (at server exit)."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            self.discard(job)

    def start(self, spec: JobSpec) -> Job:
        self.sweep()
        folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX, dir=self._root))
        folder.chmod(0o700)
        (folder / _SERVER_FILE).write_text(str(os.getpid()))
        job = Job(id=uuid.uuid4().hex, owner=spec.owner, folder=folder,
                  filename=spec.filename, config=dict(spec.config), estimate=spec.estimate)
        if spec.ray_address:
            job.process = _on_cluster(spec, folder)
            job.events, job.stop = job.process.events, job.process.stop
        else:
            job.process, job.events, job.stop = local.start(_worker, spec, str(folder))
        with self._lock:
            self._jobs[job.id] = job
        return job

    def get(self, job_id: str | None, owner: str) -> Job | None:
        """The job, if it exists and belongs to this owner (session); refreshed. Expired jobs
        are swept first (at most once a minute)."""
        if time.time() - self._swept_at > SWEEP_EVERY_SECONDS:
            self.sweep()
        with self._lock:
            job = self._jobs.get(job_id or "")
        if job is None or job.owner != owner:
            return None
        self.refresh(job)
        return job

    def refresh(self, job: Job) -> None:
        """Drain the worker's events; notice a worker that died without a word."""
        while True:
            try:
                event = job.events.get_nowait()
            except (queue.Empty, OSError, ValueError):
                break
            kind = event["type"]
            if kind == "progress":
                job.progress = event
                job.stage_started.setdefault(event["stage"], event.get("time", time.time()))
                if event.get("fraction", 0.0) >= 1.0:
                    job.stage_ended[event["stage"]] = event.get("message", "")
            elif job.status == "running":
                job.status = kind
                job.message = event.get("message", "")
                job.ended_at = event.get("time", time.time())
        if job.status == "running" and job.process is not None and not job.process.is_alive():
            job.process.join(timeout=0)
            try:  # a final event may still sit in the pipe
                event = job.events.get(timeout=0.5)
                if event["type"] != "progress":
                    job.status, job.message = event["type"], event.get("message", "")
                    job.ended_at = time.time()
                    return
            except (queue.Empty, OSError, ValueError):
                pass
            job.status = "failed"
            job.message = (f"the worker process stopped unexpectedly (exit code "
                           f"{job.process.exitcode}); nothing was written, try again")
            job.ended_at = time.time()

    def cancel(self, job: Job) -> None:
        """Ask the worker to stop between steps; kill it if it does not within a few seconds."""
        if job.finished:
            return
        job.stop.set()
        job.process.join(timeout=_GRACE_SECONDS)
        if job.process.is_alive():
            job.process.terminate()
            job.process.join(timeout=_GRACE_SECONDS)
        self.refresh(job)
        if job.status in ("running", "failed"):
            job.status, job.message = "cancelled", "cancelled by the user"
            job.ended_at = job.ended_at or time.time()

    def discard(self, job: Job) -> None:
        """Stop the job if needed and delete its folder (uploaded bytes and outputs)."""
        self.cancel(job)
        with self._lock:
            self._jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def report(self, job: Job) -> dict[str, Any]:
        return json.loads(job.output("report.json").read_text(encoding="utf-8"))


def _left_behind(folder: Path, now: float, lifetime_seconds: float) -> bool:
    """A job folder whose server process is gone, or (unknown server) older than the lifetime."""
    try:
        pid = int((folder / _SERVER_FILE).read_text())
    except (OSError, ValueError):
        pid = None
    if pid is not None and pid != os.getpid():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # a live process of another user
            return False
        return False
    if pid == os.getpid():
        return False  # this server's own (a job discarded from the registry is removed there)
    try:
        return now - folder.stat().st_mtime > lifetime_seconds
    except OSError:
        return False
