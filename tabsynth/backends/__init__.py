"""Where a job runs: local processes (the default; Ray is never imported) or a Ray cluster.

Both give the caller the same handle: a process-like object (is_alive, join, terminate,
exitcode), an `events` queue (progress dicts, then one of done / failed / cancelled) and a
`stop` flag to set for a cancel. `local.start` spawns a worker process on this machine;
`ray_cluster.ClusterJob` runs the job as one Ray task and writes the files it returns into the
job's folder here.

A command runs on a cluster when its work is a *task*: a module-level function
``task(payload, progress, should_stop) -> (summary, files)`` that reads nothing from this
machine's disk and returns its output files as bytes by name (`tasks.synthesize_task`,
`tasks.evaluate_task`). ``ray_cluster.run_on_cluster(address, task, payload, out_dir, progress)``
runs one and waits; a new command (such as generating rows from a saved model) adds its task
to `tasks.py` and calls that.
"""
