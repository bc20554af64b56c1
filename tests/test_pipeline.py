"""The one path: `synthesize` reads, runs and writes for the CLI, the page's worker and the API;
its own steps (the holdout split)."""

from __future__ import annotations

import hashlib
import json
import queue
import re
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_pii_table

import tabsynth.pipeline as pipeline
from tabsynth import cli, jobs
from tabsynth.errors import ConfigError
from tabsynth.pipeline import OutputSettings, RunConfig, synthesize
from tabsynth.ui_support import run_summary

OUTPUTS = {"synthetic.csv", "synthetic.parquet", "release.json", "release.html", "report.json",
           "report.html"}


@pytest.fixture()
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Every call to `synthesize`, whichever front end made it."""
    seen: list[dict] = []
    real = pipeline.synthesize

    def spy(*args, **kwargs):
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "synthesize", spy)
    return seen


def test_api_reads_runs_and_writes(tmp_path: Path) -> None:
    data = make_pii_table(rows=200).to_csv(index=False).encode()
    result = synthesize(data, RunConfig(method="faker", seed=1, evaluate=False),
                        filename="people.csv", out_dir=tmp_path / "out",
                        output=OutputSettings(pdf=False))
    assert {p.name for p in result.paths.values() if p} == OUTPUTS
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["input"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert report["input"]["filename"] == "people.csv"
    assert report["run"]["libraries"]["pandas"]
    assert not (tmp_path / "out" / "report.pdf").exists()


def test_parquet_holds_the_rows_of_the_csv_typed(tmp_path: Path) -> None:
    data = make_pii_table(rows=200).to_csv(index=False).encode()
    synthesize(data, RunConfig(method="faker", seed=1, evaluate=False), filename="people.csv",
               out_dir=tmp_path, output=OutputSettings(pdf=False))
    table = pd.read_parquet(tmp_path / "synthetic.parquet")
    text = pd.read_csv(tmp_path / "synthetic.csv", dtype=str, keep_default_na=False)
    assert list(table.columns) == list(text.columns) and len(table) == len(text)
    assert str(table["visits"].dtype) in ("int64", "Int64") and table["active"].dtype == bool
    assert pd.api.types.is_datetime64_any_dtype(table["joined"])
    assert (table["joined"].dt.strftime("%Y-%m-%d") == text["joined"]).all()
    assert (table["visits"].astype(str) == text["visits"]).all()


def test_trained_epochs_are_what_the_reports_and_the_page_say(tmp_path: Path) -> None:
    """Early stopping ends training before the most epochs allowed: the run line, the review
    and the release state the epochs trained, beside that most."""
    data = make_pii_table(rows=300).to_csv(index=False).encode()
    events = []
    result = synthesize(data, RunConfig(method="autoregressive", epochs=60, evaluate=False,
                                        device="cpu"),
                        filename="people.csv", out_dir=tmp_path, output=OutputSettings(pdf=False),
                        progress=events.append)
    trained = result.synthesizer.fit_info["epochs"]
    assert trained < 60, "this table should stop early"
    # early stopping says so, in the last training event and in the review
    said = (f"stopped at epoch {trained}: no improvement for 3 epochs, so the model of epoch "
            f"{trained - 3} is kept")
    assert [e.message for e in events if e.stage == "train"][-1] == said
    review = json.loads((tmp_path / "report.json").read_text())
    release = json.loads((tmp_path / "release.json").read_text())
    assert review["run"]["epochs"] == release["run"]["epochs"] == trained
    assert review["run"]["max_epochs"] == release["run"]["max_epochs"] == 60
    assert review["run"]["stopping"] == said and "stopping" not in release["run"]
    assert f"{trained} epochs ({said}; at most 60)" in run_summary(review)
    assert said in (tmp_path / "report.html").read_text()
    for name in ("report.html", "release.html"):
        page = (tmp_path / name).read_text()
        assert re.search(rf">epochs</t[dh]><td>{trained}</td>", page), name
        assert re.search(r">max epochs</t[dh]><td>60</td>", page), name


def test_a_run_reports_every_stage_in_order(tmp_path: Path) -> None:
    """The page's stages and time left follow these events: reading, the schema, the split,
    fitting, sampling, each part of the evaluation, writing."""
    data = make_pii_table(rows=200).to_csv(index=False).encode()
    events = []
    synthesize(data, RunConfig(method="faker", seed=1), filename="people.csv",
               out_dir=tmp_path, output=OutputSettings(pdf=False), progress=events.append)
    stages = [e.stage for e in events]
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == [
        "read", "schema", "split", "fit", "sample", "evaluate", "write"]
    evaluating = [e for e in events if e.stage == "evaluate"]
    assert [e.message.split(":")[0] for e in evaluating[:3]] == ["fidelity", "utility",
                                                                 "privacy"]
    assert [e.fraction for e in evaluating] == sorted(e.fraction for e in evaluating)
    assert events[-1].stage == "write" and events[-1].fraction == 1.0


def test_without_a_folder_nothing_is_written(tmp_path: Path) -> None:
    data = make_pii_table(rows=200).to_csv(index=False).encode()
    result = synthesize(data, RunConfig(method="faker", evaluate=False), filename="p.csv")
    assert result.paths == {} and len(result.synthetic) == len(result.train)


def test_cli_and_worker_take_the_one_path(calls: list[dict], pii_csv: Path,
                                          tmp_path: Path) -> None:
    code = cli.main(["synthesize", str(pii_csv), "--method", "faker", "--out",
                     str(tmp_path / "cli"), "--no-pdf", "--no-evaluate", "--quiet"])
    assert code == 0 and len(calls) == 1
    assert calls[0]["output"].pdf is False
    spec = jobs.JobSpec(data=pii_csv.read_bytes(), filename=pii_csv.name,
                        config={"method": "faker", "evaluate": False})
    events: queue.Queue = queue.Queue()
    (tmp_path / "job").mkdir()
    jobs._worker(spec, str(tmp_path / "job"), events, threading.Event())
    kinds = [events.get_nowait()["type"] for _ in range(events.qsize())]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"progress"}
    assert len(calls) == 2
    assert {p.name for p in (tmp_path / "job").iterdir()} >= OUTPUTS
    assert {p.name for p in (tmp_path / "cli").iterdir()} >= OUTPUTS


def test_target_stratifies_the_split(census_path: Path, tmp_path: Path) -> None:
    from tabsynth.io import read_table
    from tabsynth.split import split_holdout

    frame = read_table(census_path)
    train, holdout = split_holdout(frame, 0.2, seed=3, target="income")
    share = frame["income"].value_counts(normalize=True)
    assert len(holdout) == round(len(frame) * 0.2)
    for label, expected in share.items():
        assert abs((holdout["income"] == label).mean() - expected) < 0.002
        assert abs((train["income"] == label).mean() - expected) < 0.002


def test_a_train_split_beyond_the_limit_is_fitted_on_a_uniform_sample() -> None:
    """Without DP, more training rows than the limit: the model sees a uniform sample of the
    limit's size and the report says so; a DP run trains on every row."""
    from tabsynth.pipeline import training_rows

    train = pd.DataFrame({"x": np.arange(5000)})
    rows, note = training_rows(train, RunConfig(method="gaussian-copula", max_train_rows=2000))
    assert len(rows) == 2000 and rows["x"].is_unique and "2,000 of the 5,000" in note
    assert rows["x"].min() < 500 and rows["x"].max() > 4500  # spread over the whole split
    same, none = training_rows(train, RunConfig(method="dp-gan", epsilon=1.0,
                                                max_train_rows=2000))
    assert len(same) == 5000 and none is None
    with pytest.raises(ConfigError, match="max-train-rows"):
        RunConfig(max_train_rows=10).validate()
    source = make_pii_table(rows=1500).to_csv(index=False).encode()
    result = synthesize(source, RunConfig(method="faker", max_train_rows=1000, evaluate=False),
                        filename="t.csv")
    assert "uniform sample of 1,000 of the 1,200" in result.report["run"]["training_sample"]
