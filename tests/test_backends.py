"""Choosing where a job runs, without a cluster: the default never imports Ray, and a cluster
that cannot be used is refused at once in one line (what is wrong and what to do). Work on a
real cluster is in test_ray.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, make_pii_table

from tabsynth import cluster
from tabsynth.cli import main
from tabsynth.errors import ConfigError
from tabsynth.parallel import agreed_stop, any_rank, rank_and_world, shard_rows, summed
from tabsynth.settings import RunConfig


@pytest.fixture()
def table(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    make_pii_table(rows=200).to_csv(path, index=False)
    return path


def run(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err.strip()


def test_workers_are_for_methods_that_train_on_several() -> None:
    RunConfig(method="autoregressive", workers=4).validate()
    with pytest.raises(ConfigError, match="gaussian-copula trains on one worker; only "
                                          "autoregressive"):
        RunConfig(method="gaussian-copula", workers=2).validate()
    with pytest.raises(ConfigError, match="--workers must be between 1 and"):
        RunConfig(method="autoregressive", workers=0).validate()


def test_a_cluster_that_cannot_be_used_is_refused_in_one_line(
        table: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cluster.ADDRESS_ENV, raising=False)
    base = ["synthesize", str(table), "--method", "autoregressive", "--out",
            str(tmp_path / "out"), "--quiet"]
    code, err = run(capsys, *base, "--workers", "2")
    assert code == 2 and err == ("tabsynth: error: --workers 2 trains on a Ray cluster: give "
                                 f"--ray-address (or set {cluster.ADDRESS_ENV})")
    monkeypatch.setattr(cluster, "ray_installed", lambda: True)
    code, err = run(capsys, *base, "--ray-address", "127.0.0.1:1")
    assert code == 2 and err == ("tabsynth: error: no Ray cluster answers at 127.0.0.1:1: "
                                 "start a Ray head there or check the address")
    monkeypatch.setenv(cluster.ADDRESS_ENV, "127.0.0.1:1")  # the variable chooses it too
    code, err = run(capsys, "evaluate", "--train", str(table), "--holdout", str(table),
                    "--synthetic", str(table), "--out", str(tmp_path / "review"))
    assert code == 2 and "no Ray cluster answers at 127.0.0.1:1" in err
    code, err = run(capsys, *base, "--ray-address", "ray://head:10001")
    assert code == 2 and "give the head's host:port" in err and "\n" not in err
    monkeypatch.setattr(cluster, "ray_installed", lambda: False)
    code, err = run(capsys, *base, "--ray-address", "10.0.0.5:6379")
    assert code == 2 and err.endswith("needs Ray: pip install 'tabsynth[ray]'")
    assert not (tmp_path / "out").exists() and not (tmp_path / "review").exists()


def test_a_local_run_never_imports_ray(table: Path, tmp_path: Path) -> None:
    """The default path (no address) from the command line, reports included."""
    script = ("import sys; from tabsynth.cli import main; "
              f"code = main(['synthesize', {str(table)!r}, '--method', 'autoregressive', "
              f"'--epochs', '2', '--out', {str(tmp_path / 'out')!r}, '--no-pdf', '--quiet']); "
              "assert code == 0, code; assert 'ray' not in sys.modules, 'Ray was imported'")
    env = {key: value for key, value in os.environ.items() if key != cluster.ADDRESS_ENV}
    env.update(PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "synthetic.csv").is_file()


def test_outside_a_cluster_work_stays_in_one_piece() -> None:
    with cluster.sharing(8):
        assert cluster.query_shards() == 1  # not connected: nothing to shard onto
    assert not cluster.connected()
    assert rank_and_world() == (0, 1)
    assert summed([1.5, 2.0]) == [1.5, 2.0] and any_rank(True) and not any_rank(False)
    asked = []
    assert agreed_stop(lambda: asked.append(1) or True)() and asked == [1]
    rows = list(range(10))
    shards = [rows[shard_rows(10, rank, 3, equal=True)] for rank in range(3)]
    assert sorted(r for s in shards for r in s) == rows[:9] and {len(s) for s in shards} == {3}
    every = [r for rank in range(3) for r in rows[shard_rows(10, rank, 3)]]
    assert sorted(every) == rows  # unequal shards: every row exactly once
