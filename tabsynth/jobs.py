"""Synthesis jobs in worker processes: start, watch progress, cancel, survive a crashed worker.

Each job owns a private temporary folder (mode 0700) holding, when done, synthetic.csv,
release.json / release.html, the review report.json / report.html and, for the methods that can
be saved, the fitted model (model.safetensors) from which more rows can be drawn later (each draw
in a worker process of its own, into drawn/<draw>/). The folder is removed when
the job is discarded, when it ended more than JOB_LIFETIME_HOURS ago, and at the next start of a
server when the server that made it is gone (a crash leaves no folder behind for long). The
worker is a separate process (spawned), so a long fit never blocks the UI, a cancel can stop it
for sure, and its memory (GPU included) is freed when it ends. A job given a Ray address runs
as a task on that cluster instead (backends/ray_cluster.py): the same events, cancel and folder.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import multiprocessing
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
MODEL_FILE = "model.safetensors"  # the fitted model, kept in the job's folder (methods that can)
DRAWN_FOLDER = "drawn"  # rows drawn later from that model, one subfolder per draw
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
    draws: list[Draw] = field(default_factory=list)  # more rows drawn from its model
    schema_json: str = ""  # the schema the run used (the draw form reads conditions with it)

    @property
    def finished(self) -> bool:
        return self.status != "running"

    def output(self, name: str) -> Path:
        return self.folder / name

    @property
    def model_path(self) -> Path | None:
        """The fitted model's file, when the run kept one."""
        path = self.folder / MODEL_FILE
        return path if path.is_file() else None


@dataclass(frozen=True)
class DrawConstraints:
    """What the page's draw form asked for, as typed: conditions, rules, a column to balance,
    and partial rows to complete (the user's own table, held in memory only)."""

    where: str = ""
    rules: str = ""
    balance: str = ""
    partial: Any = field(default=None, compare=False)  # a DataFrame, or None

    def read(self, model: Any) -> Any:
        """The constraints read against the model (ConfigError on a bad one)."""
        from tabsynth.generate import read_constraints

        return read_constraints(model, self.where, self.rules, None, self.balance,
                                self.partial)


@dataclass
class Draw:
    """More rows drawn from a finished job's model, in a worker process of its own."""

    id: str
    rows: int
    seed: int
    format: str
    folder: Path
    status: str = "running"
    message: str = ""
    fraction: float = 0.0
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    process: Any = None
    events: Any = None
    stop: Any = None
    partial: bool = False  # one row per partial row of the user's table

    @property
    def finished(self) -> bool:
        return self.status != "running"

    @property
    def path(self) -> Path:
        return self.folder / f"synthetic.{self.format}"


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
        result = synthesize(spec.data, config, filename=spec.filename, schema=schema,
                            read=ReadSettings(sheet=spec.sheet, header=spec.header),
                            out_dir=folder, progress=report, should_stop=stop.is_set)
        # kept for drawing more rows (the folder is private); a model that cannot be written
        # leaves the run as it is, and the page says the model was not kept
        with contextlib.suppress(TabsynthError):
            result.synthesizer.save(Path(folder) / MODEL_FILE)
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
                               header=spec.header, keep_model_as=MODEL_FILE)
    return ClusterJob(str(spec.ray_address), synthesize_task, payload, folder,
                      workers=int(spec.config.get("workers") or 1))


def _draw_worker(model_path: str, folder: str, rows: int, seed: int, fmt: str,
                 events: Any, stop: Any, wanted: DrawConstraints | None = None) -> None:
    """Runs in the child process: load the job's model and draw `rows` rows in shards."""
    import warnings

    from tabsynth.device import compute_threads

    os.environ.setdefault("OMP_NUM_THREADS", str(compute_threads()))
    warnings.filterwarnings("ignore")
    from tabsynth.errors import TabsynthError
    from tabsynth.generate import draw_to_file
    from tabsynth.progress import Cancelled
    from tabsynth.synthesizers import Synthesizer

    def report(event: Any) -> None:
        events.put({"type": "progress", "fraction": event.fraction})

    try:
        model = Synthesizer.load(model_path)
        constraints = (wanted or DrawConstraints()).read(model)  # the run's rules hold too
        draw_to_file(model, rows, seed, folder, fmt, progress=report, should_stop=stop.is_set,
                     source={"file": MODEL_FILE}, constraints=constraints)
        events.put({"type": "done"})
    except Cancelled:
        events.put({"type": "cancelled"})
    except TabsynthError as exc:
        events.put({"type": "failed", "message": str(exc)})
    except MemoryError:
        events.put({"type": "failed", "message": "out of memory: draw fewer rows"})
    except Exception as exc:  # never a traceback in the UI
        events.put({"type": "failed", "message": f"internal error ({type(exc).__name__})"})


class JobRegistry:
    """All jobs of this server process; each is visible only to the session that owns it."""

    def __init__(self, root: str | Path | None = None) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._root = Path(root) if root else None
        self._context = multiprocessing.get_context("spawn")  # draws: local processes
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
                  filename=spec.filename, config=dict(spec.config), estimate=spec.estimate,
                  schema_json=spec.schema_json or "")
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

    def draw(self, job: Job, rows: int, seed: int, fmt: str,
             wanted: DrawConstraints | None = None) -> Draw:
        """Start drawing `rows` more rows from a finished job's model (ConfigError when the
        job kept no model)."""
        from tabsynth.errors import ConfigError

        model = job.model_path
        if job.status != "done" or model is None:
            raise ConfigError("this run kept no model to draw more rows from")
        partial = wanted is not None and wanted.partial is not None
        if partial:
            rows = len(wanted.partial)
        draw = Draw(id=uuid.uuid4().hex[:12], rows=rows, seed=seed, format=fmt,
                    folder=job.folder / DRAWN_FOLDER / uuid.uuid4().hex[:12], partial=partial)
        draw.events, draw.stop = self._context.Queue(), self._context.Event()
        draw.process = self._context.Process(
            target=_draw_worker, args=(str(model), str(draw.folder), rows, seed, fmt,
                                       draw.events, draw.stop, wanted), daemon=True)
        draw.process.start()
        job.draws.append(draw)
        return draw

    @staticmethod
    def refresh_draw(draw: Draw) -> None:
        """Drain a draw's events; notice a draw worker that died without a word."""
        while True:
            try:
                event = draw.events.get_nowait()
            except (queue.Empty, OSError, ValueError):
                break
            if event["type"] == "progress":
                draw.fraction = float(event.get("fraction", 0.0))
            elif draw.status == "running":
                draw.status, draw.message = event["type"], event.get("message", "")
                draw.ended_at = time.time()
        if draw.status == "running" and draw.process is not None \
                and not draw.process.is_alive():
            draw.process.join(timeout=0)
            draw.status = "failed"
            draw.message = (f"the drawing process stopped unexpectedly (exit code "
                            f"{draw.process.exitcode}); try again")
            draw.ended_at = time.time()

    def discard(self, job: Job) -> None:
        """Stop the job and its draws if needed and delete its folder (uploaded bytes,
        outputs, model, drawn rows)."""
        for draw in job.draws:
            if not draw.finished and draw.process is not None:
                draw.stop.set()
                draw.process.join(timeout=_GRACE_SECONDS)
                if draw.process.is_alive():
                    draw.process.terminate()
                    draw.process.join(timeout=_GRACE_SECONDS)
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
