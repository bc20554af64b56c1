"""Work on a Ray cluster: a local head on 127.0.0.1 (make test starts one when Ray is installed;
skipped when none answers). Tiny tables and few steps: Ray Train's start-up dominates.

DP-SGD on 2 workers spends exactly the ε of 1 worker and of one process for the same σ, rate
and steps; a CLI run on the cluster writes the same files here and its claim names the workers;
the page's job on the cluster cancels; `evaluate` on the cluster gives the local report; a
sharded neighbour search gives the serial answer; and after each, this driver holds no
reference into the object store (so the cluster frees the rows).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import job_spec, make_pii_table, run_cli, wait_until

from tabsynth import cluster

ADDRESS = "127.0.0.1:6379"
pytestmark = [
    pytest.mark.ray,
    pytest.mark.skipif(not cluster.ray_installed(),
                       reason="Ray is not installed (pip install 'tabsynth[ray]')"),
    pytest.mark.skipif(cluster.ray_installed() and not cluster.reachable(ADDRESS, 1.0),
                       reason=f"no Ray head answers at {ADDRESS} (make test starts one)"),
]


@pytest.fixture(scope="module")
def on_cluster() -> None:
    """This process connected to the local cluster, which must run this checkout."""
    import tabsynth

    cluster.connect(ADDRESS)
    import ray

    def package_folder() -> str:  # defined here: sent by value, not by this module's name
        import tabsynth

        return str(Path(tabsynth.__file__).parent)

    theirs = ray.get(ray.remote(num_cpus=0)(package_folder).remote())
    assert theirs == str(Path(tabsynth.__file__).parent), (
        f"the Ray head at {ADDRESS} imports tabsynth from {theirs}: restart it from this "
        "checkout's environment")


def held_references() -> dict:
    """Objects this driver still references (an entry at zero is on its way out). A task's
    hold on an argument ends when its reply is processed, which can follow ray.get by a moment,
    so tests wait for this to empty rather than read it once."""
    import ray

    counts = ray._private.worker.global_worker.core_worker.get_all_reference_counts()
    return {key: count for key, count in counts.items()
            if count.get("local") or count.get("submitted")}


def wait_for_release() -> None:
    """Wait until this driver holds no object (fails if one is still held after 30 s)."""
    wait_until(lambda: held_references() == {}, seconds=30)


def private_settings(accountant: str = "prv"):
    from tabsynth.autoregressive.private import PrivateSettings
    from tabsynth.dp.accounting import ACCOUNTANTS

    return PrivateSettings(steps=16, epochs=2, sample_rate=0.125, expected_batch=50,
                           noise_multiplier=1.1, max_grad_norm=1.0, learning_rate=1e-2,
                           accountant=ACCOUNTANTS[accountant](), delta=1e-5, device="cpu")


def test_dp_sgd_on_two_workers_spends_the_epsilon_of_one(on_cluster: None) -> None:
    import torch

    from tabsynth.autoregressive.network import Made
    from tabsynth.autoregressive.private import train_private
    from tabsynth.dp.accounting import spent_epsilon
    from tabsynth.synthesizers.autoregressive import _network_spec, train_private_rank
    from tabsynth.synthesizers.workers import run_on_workers

    tokens = np.random.default_rng(0).integers(0, 4, size=(400, 3))
    alone = private_settings()
    train_private(Made([4, 4, 4], 16, 1), torch.from_numpy(tokens), alone,
                  lambda _event: None, lambda: False)
    expected = spent_epsilon(alone.accountant, alone.delta)
    network = _network_spec(Made([4, 4, 4], 16, 1))
    figures = {}
    for workers in (1, 2):
        events = []
        results = run_on_workers(train_private_rank, {"tokens": tokens},
                                 {"network": network, "settings": private_settings()},
                                 workers, events.append, lambda: False)
        assert [r["rank"] for r in results] == list(range(workers))
        assert all(r["history"] == [(1.1, 0.125, 16)] for r in results)  # every step counted
        figures[workers] = [r["epsilon"] for r in results]
        assert events and events[-1].fraction == 1.0  # rank 0's progress came back
        assert "network" in results[0]  # the trained weights come from rank 0 only
        assert all("network" not in r for r in results[1:])
    assert figures[1] == pytest.approx([expected])
    assert figures[2] == pytest.approx([expected, expected])  # both ranks, the same ε
    wait_for_release()


def test_plain_training_on_two_workers_keeps_one_model(on_cluster: None) -> None:
    from tabsynth.autoregressive.network import Made
    from tabsynth.autoregressive.plain import PlainSettings
    from tabsynth.synthesizers.autoregressive import _network_spec, train_plain_rank
    from tabsynth.synthesizers.workers import run_on_workers

    rng = np.random.default_rng(2)
    first = rng.integers(0, 3, 600)
    tokens = np.column_stack([first, (first + rng.integers(0, 2, 600)) % 3])  # learnable
    start = Made([3, 3], 16, 1)
    events = []
    results = run_on_workers(train_plain_rank, {"tokens": tokens},
                             {"network": _network_spec(start),
                              "settings": PlainSettings(4, 60, 1e-2, 0, "cpu")},
                             2, events.append, lambda: False)
    assert results[0]["fingerprint"] == results[1]["fingerprint"]  # one model, two copies
    assert results[0]["fingerprint"] != pytest.approx(_fingerprint(start))  # and it learned
    scores = [e.metrics["validation_nll"] for e in events if "validation_nll" in e.metrics]
    assert len(scores) == results[0]["info"]["epochs"] and scores[-1] < scores[0]
    wait_for_release()


def _fingerprint(network) -> float:
    return float(sum(p.detach().double().abs().sum() for p in network.parameters()))


def test_cli_run_on_the_cluster_with_two_dp_workers(on_cluster: None, tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    make_pii_table(rows=400).to_csv(source, index=False)
    out, model = tmp_path / "out", tmp_path / "kept" / "model.safetensors"
    done = run_cli("synthesize", str(source), "--method", "autoregressive", "--epsilon", "3",
                   "--epochs", "2", "--workers", "2", "--ray-address", ADDRESS, "--no-pdf",
                   "--out", str(out), "--quiet", "--save-model", str(model),
                   "--sample-rate", "0.5")  # read here as a sample: only the sample travels
    assert done.returncode == 0, done.stderr[-2000:]
    from tabsynth.synthesizers import Synthesizer

    assert len(Synthesizer.load(model).sample(25, seed=0)) == 25  # the model came back too
    assert sorted(p.name for p in out.iterdir()) == [
        "release.html", "release.json", "report.html", "report.json", "synthetic.csv",
        "synthetic.parquet"]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    claim = report["privacy"]["dp"]
    assert claim["epsilon"] <= 3.0 + 1e-9
    assert "trained on 2 workers" in claim["notes"]
    assert "kept with probability 0.5 by a secret coin flip" in claim["unit"]
    assert report["input"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert "secret coin flip" in report["input"]["notes"][0]
    assert report["run"]["training"]["workers"] == 2
    release = json.loads((out / "release.json").read_text(encoding="utf-8"))
    assert "trained on 2 workers" in json.dumps(release)
    assert "differential privacy: ε = " in done.stderr


def test_a_page_job_on_the_cluster_cancels(on_cluster: None, tmp_path: Path) -> None:
    from tabsynth.jobs import JobRegistry

    registry = JobRegistry(root=tmp_path)
    spec = job_spec("dp-gan", "alice", epochs=500, batch_size=100, evaluate=False)
    spec.ray_address = ADDRESS
    job = registry.start(spec)
    wait_until(lambda: registry.get(job.id, "alice").progress.get("stage") == "train",
               seconds=120)
    registry.cancel(job)
    assert job.status == "cancelled", job.message
    assert not job.process.is_alive()
    assert not (job.folder / "synthetic.csv").exists()
    registry.discard(job)
    assert not job.folder.exists()
    wait_for_release()


def test_evaluate_on_the_cluster_gives_the_local_report(on_cluster: None,
                                                        tmp_path: Path) -> None:
    from tabsynth.backends.ray_cluster import run_on_cluster
    from tabsynth.backends.tasks import EvaluationPayload, evaluate_task
    from tabsynth.external import evaluate_files

    table = make_pii_table(rows=300)[["segment", "spend", "visits", "active"]]
    paths = {}
    for name, part in (("train", table[:150]), ("holdout", table[150:220]),
                       ("synthetic", table[220:])):
        paths[name] = tmp_path / f"{name}.csv"
        part.to_csv(paths[name], index=False)
    local = evaluate_files(paths["train"], paths["holdout"], paths["synthetic"],
                           tmp_path / "local", target="active", pdf=False)
    payload = EvaluationPayload(tables={n: (p.read_bytes(), p.name) for n, p in paths.items()},
                                target="active", pdf=False)
    remote, written = run_on_cluster(ADDRESS, evaluate_task, payload, tmp_path / "remote",
                                     lambda _event: None)
    assert sorted(written) == ["report.html", "report.json"]
    assert remote["fidelity"]["score"] == local["fidelity"]["score"]
    assert remote["privacy"]["verdict"] == local["privacy"]["verdict"]
    wait_for_release()


def test_a_sharded_neighbour_search_gives_the_serial_answer(on_cluster: None,
                                                            monkeypatch) -> None:
    from tabsynth.evaluation import neighbors

    rng = np.random.default_rng(1)
    reference, queries = neighbors.encode_tables(
        ["a", "b", "x"], frame := _mixed(rng, 3000),
        [frame, _mixed(rng, 2000)])
    index = neighbors.MixedIndex(reference, seed=0)
    serial = index.query(queries, k=3)
    monkeypatch.setattr(neighbors, "SHARD_ROWS", 500)
    parts = []
    on_cluster_search = neighbors.MixedIndex._query_on_cluster

    def counted(self, *args):
        parts.append(args[-1])
        return on_cluster_search(self, *args)

    monkeypatch.setattr(neighbors.MixedIndex, "_query_on_cluster", counted)
    with cluster.sharing(4):
        sharded = index.query(queries, k=3)
    assert parts == [4]  # cut into 4 parts, searched by the cluster
    np.testing.assert_array_equal(sharded[0], serial[0])
    np.testing.assert_array_equal(sharded[1], serial[1])
    wait_for_release()


def test_singling_out_folds_counted_on_the_cluster_give_the_serial_counts(
        on_cluster: None, monkeypatch) -> None:
    import ray

    from tabsynth.evaluation import attacks

    rng = np.random.default_rng(3)
    codes = rng.integers(0, 40, (4000, 3)).astype(np.int32)
    folds = [attacks.Coded.of(codes[i::4]) for i in range(4)]
    rows = codes[rng.choice(4000, 300, replace=False)]  # queries: a row's three values
    queries = (np.tile([0, 1, 2], (300, 1)), np.zeros((300, 3), np.int64), rows)
    serial = attacks.fold_counts(folds, queries)
    monkeypatch.setattr(attacks, "CLUSTER_FOLD_ROWS", 1000)
    put = []
    original = ray.put
    monkeypatch.setattr(ray, "put", lambda value, **kw: put.append(1) or original(value, **kw))
    with cluster.sharing(4):
        sharded = attacks.fold_counts(folds, queries)
    assert put == [1]  # the queries went to the object store: the cluster counted the folds
    for mine, theirs in zip(serial, sharded, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert any((counts == 1).any() for counts in serial)  # some queries single a row out
    wait_for_release()


def _mixed(rng: np.random.Generator, rows: int):
    import pandas as pd

    return pd.DataFrame({"a": rng.choice(list("pqrs"), rows), "b": rng.choice(list("uv"), rows),
                         "x": rng.normal(size=rows).round(2)})


def test_generate_on_the_cluster_writes_the_local_file(on_cluster: None, tmp_path: Path) -> None:
    """`generate --ray-address`: the shards drawn by the cluster's workers, written here in
    order, make the very file a local draw with the same seed and shard size makes; with
    conditions too; and the driver holds no reference afterwards."""
    import hashlib

    from tabsynth.generate import Constraints, draw_to_file
    from tabsynth.schema import coerce_frame, infer_schema
    from tabsynth.synthesizers import Synthesizer, make_synthesizer

    table = make_pii_table(rows=400)[["segment", "spend", "visits", "active"]]
    schema = infer_schema(table)
    model = make_synthesizer("autoregressive", epochs=2, seed=0)
    path = model.fit(coerce_frame(table, schema), schema).save(tmp_path / "m.safetensors")
    local = run_cli("generate", str(path), "--rows", "2500", "--shard-rows", "400", "--seed",
                    "7", "--out", str(tmp_path / "local"), "--quiet")
    remote = run_cli("generate", str(path), "--rows", "2500", "--shard-rows", "400", "--seed",
                     "7", "--out", str(tmp_path / "remote"), "--quiet", "--ray-address",
                     ADDRESS)
    assert local.returncode == 0 and remote.returncode == 0, remote.stderr

    def digest(folder: str) -> str:
        return hashlib.sha256((tmp_path / folder / "synthetic.csv").read_bytes()).hexdigest()

    assert digest("local") == digest("remote")
    from functools import partial as partial_draw

    import pandas as pd

    from tabsynth.backends.ray_draw import shards_on_cluster
    from tabsynth.constraints.conditions import parse_conditions

    loaded = Synthesizer.load(path)
    where = Constraints(tuple(parse_conditions("visits>=3", loaded.schema)))
    here = draw_to_file(loaded, 900, 3, tmp_path / "here", shard_rows=300, constraints=where)
    there = draw_to_file(loaded, 900, 3, tmp_path / "there", shard_rows=300, constraints=where,
                         shards=partial_draw(shards_on_cluster, path.read_bytes()))
    assert here.path.read_bytes() == there.path.read_bytes()
    partial = Constraints(partial=pd.DataFrame({"segment": ["retail", None, "corporate"] * 100,
                                                "visits": [None, 4, None] * 100}))
    here = draw_to_file(loaded, 300, 5, tmp_path / "p-here", shard_rows=70, constraints=partial)
    there = draw_to_file(loaded, 300, 5, tmp_path / "p-there", shard_rows=70,
                         constraints=partial,
                         shards=partial_draw(shards_on_cluster, path.read_bytes()))
    assert here.path.read_bytes() == there.path.read_bytes()  # each task got its shard's rows
    wait_for_release()
