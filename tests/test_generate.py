"""Drawing rows from a saved model in shards: the plan, determinism whatever the order of the
shards, unique keys across shards, CSV and Parquet, formula escaping, and `tabsynth generate`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabsynth import cli
from tabsynth.errors import ConfigError
from tabsynth.generate import draw_shard, draw_to_file, plan_shards
from tabsynth.schema import coerce_frame, infer_schema
from tabsynth.synthesizers import Synthesizer, make_synthesizer

FORMULA = "=HYPERLINK(\"http://x\")"


def _table(rows: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return pd.DataFrame({
        "customer": [f"C{i:05d}" for i in range(rows)],
        "segment": rng.choice(["retail", "corporate", FORMULA], rows),
        "spend": np.round(rng.gamma(2.0, 40.0, rows), 2),
        "visits": rng.integers(0, 9, rows),
        "active": rng.choice(["yes", "no"], rows)})


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    raw = _table()
    schema = infer_schema(raw)
    assert schema["customer"].kind == "identifier"
    model = make_synthesizer("faker").fit(coerce_frame(raw, schema), schema)
    return model.save(tmp_path_factory.mktemp("model") / "model.safetensors")


@pytest.fixture(scope="module")
def model(model_path) -> Synthesizer:
    return Synthesizer.load(model_path)


def test_the_plan_depends_on_the_seed_and_shard_size_only() -> None:
    plan = plan_shards(2_500, seed=7, shard_rows=1_000)
    assert [(s.start, s.rows) for s in plan] == [(0, 1000), (1000, 1000), (2000, 500)]
    assert len({s.seed for s in plan}) == 3
    longer = plan_shards(9_000, seed=7, shard_rows=1_000)
    assert [s.seed for s in longer[:3]] == [s.seed for s in plan]  # shard i: same seed
    assert [s.seed for s in plan_shards(2_500, seed=8, shard_rows=1_000)] != \
        [s.seed for s in plan]
    for rows, seed in ((0, 1), (10, -1)):
        with pytest.raises(ConfigError):
            plan_shards(rows, seed)


def test_shards_drawn_in_any_order_give_the_same_rows(model) -> None:
    plan = plan_shards(250, seed=3, shard_rows=100)
    forward = pd.concat([draw_shard(model, s) for s in plan])
    backward = pd.concat([draw_shard(model, s) for s in reversed(plan)]).sort_index()
    pd.testing.assert_frame_equal(forward, backward)
    assert list(forward.index) == list(range(250))
    assert forward["customer"].is_unique  # each shard draws keys from its own range
    assert not forward.iloc[:100].reset_index(drop=True).equals(
        forward.iloc[100:200].reset_index(drop=True))


def test_csv_and_parquet_hold_the_same_rows_and_the_same_seed_the_same_file(
        model, tmp_path) -> None:
    first = draw_to_file(model, 250, 3, tmp_path / "a", "csv", shard_rows=100)
    again = draw_to_file(model, 250, 3, tmp_path / "b", "csv", shard_rows=100)
    other = draw_to_file(model, 250, 4, tmp_path / "c", "csv", shard_rows=100)
    parquet = draw_to_file(model, 250, 3, tmp_path / "d", "parquet", shard_rows=100)
    assert first.path.read_bytes() == again.path.read_bytes()
    assert first.path.read_bytes() != other.path.read_bytes()
    text = pd.read_csv(first.path, keep_default_na=False)
    table = pd.read_parquet(parquet.path)
    assert len(text) == len(table) == 250 and first.shards == 3
    assert list(text["customer"]) == list(table["customer"])
    assert table["active"].dtype == bool or str(table["active"].dtype) == "boolean"
    import pyarrow.parquet as pq

    assert pq.ParquetFile(parquet.path).metadata.num_row_groups == 3
    # the CSV escapes formulas as synthesize does; Parquet keeps the value itself
    assert FORMULA in set(table["segment"]) and FORMULA not in set(text["segment"])
    assert "'" + FORMULA in set(text["segment"])
    record = json.loads(first.manifest.read_text())
    assert record["rows"] == 250 and record["seed"] == 3 and record["shards"] == 3
    assert record["differential_privacy"] is None
    assert record["made_up_columns"]["columns"] == ["customer"]
    # no temporary file left behind
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["generation.json",
                                                                  "synthetic.csv"]


def test_the_generate_command(model_path, tmp_path, capsys) -> None:
    out = tmp_path / "more"
    code = cli.main(["generate", str(model_path), "--rows", "230", "--out", str(out),
                     "--seed", "5", "--shard-rows", "100", "--quiet", "--format", "parquet"])
    assert code == 0
    said = capsys.readouterr().err
    assert "230 rows from the saved faker model in 3 shards" in said
    assert "differential privacy: none" in said
    assert len(pd.read_parquet(out / "synthetic.parquet")) == 230
    assert cli.main(["generate", str(tmp_path / "none.safetensors"), "--rows", "5",
                     "--out", str(out)]) == cli.EXIT_BAD_INPUT
    assert "model file not found" in capsys.readouterr().err
    assert cli.main(["generate", str(model_path), "--rows", "5", "--seed", "-2",
                     "--out", str(out)]) == cli.EXIT_BAD_INPUT
    assert "--seed must be 0 or more" in capsys.readouterr().err


def test_synthesize_saves_the_model_where_it_can_be_written(tmp_path, capsys) -> None:
    source = tmp_path / "t.csv"
    _table().to_csv(source, index=False)
    code = cli.main(["synthesize", str(source), "--method", "gaussian-copula", "--out",
                     str(tmp_path / "run"), "--save-model", str(tmp_path)])
    assert code == cli.EXIT_BAD_INPUT
    assert "is a folder; give a file name such as model.safetensors" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # refused before any fitting
    code = cli.main(["synthesize", str(source), "--method", "gaussian-copula", "--out",
                     str(tmp_path / "run"), "--no-evaluate", "--no-pdf", "--quiet",
                     "--save-model", str(tmp_path / "m.safetensors")])
    assert code == 0
    assert "model saved to" in capsys.readouterr().err
    out = tmp_path / "more"
    assert cli.main(["generate", str(tmp_path / "m.safetensors"), "--rows", "40", "--out",
                     str(out)]) == 0
    drawn = pd.read_csv(out / "synthetic.csv")
    assert len(drawn) == 40 and list(drawn.columns) == list(_table().columns)


def test_drawn_rows_leave_with_a_sign_off_record_of_their_own(model, tmp_path) -> None:
    """The page's download of drawn rows: the rows, how they were drawn, the run's release
    report and a sign-off record that hashes these rows (not the run's own)."""
    import hashlib

    from tabsynth.export import SignOff, drawn_export_files

    source = tmp_path / "t.csv"
    _table().to_csv(source, index=False)
    run = tmp_path / "run"
    assert cli.main(["synthesize", str(source), "--method", "faker", "--out", str(run),
                     "--no-evaluate", "--no-pdf", "--quiet"]) == 0
    drawn = draw_to_file(model, 120, 9, run / "drawn" / "a", "csv", shard_rows=50)
    unsigned = SignOff("Ada", "DPO", reviewed_privacy_report=False)
    with pytest.raises(ConfigError, match="confirm that you reviewed"):
        drawn_export_files(run, drawn.path.parent, unsigned)
    signoff = SignOff("Ada", "DPO", True, justification="Test rows for the billing team only.")
    files = drawn_export_files(run, drawn.path.parent, signoff)
    assert set(files) == {"synthetic.csv", "generation.json", "release.json", "release.html",
                          "signoff.json"}
    record = json.loads(files["signoff.json"])
    assert record["synthetic_sha256"] == hashlib.sha256(drawn.path.read_bytes()).hexdigest()
    assert record["drawn"]["rows"] == 120 and record["drawn"]["seed"] == 9
    assert "measured the run's own synthetic rows" in record["drawn"]["note"]
    released = json.loads(files["release.json"])["signoff"]  # the release's allow-listed keys
    assert released["synthetic_sha256"] == record["synthetic_sha256"]
    assert released["name"] == "Ada" and "drawn" not in released


@pytest.fixture(scope="module")
def conditional_model_path(tmp_path_factory) -> Path:
    raw = _table(600)
    schema = infer_schema(raw)
    model = make_synthesizer("autoregressive", epochs=5, seed=0)
    model.fit(coerce_frame(raw, schema), schema)
    return model.save(tmp_path_factory.mktemp("model") / "conditional.safetensors")


def test_generate_with_conditions_rules_and_shares(conditional_model_path, tmp_path,
                                                   capsys) -> None:
    """--where, --rules and --shares / --balance on the command line: every row meets the
    conditions and rules, the shares are met exactly, and generation.json names them."""
    rules = tmp_path / "rules.txt"
    rules.write_text("# spend is money\nspend >= 20\nif active = yes then visits >= 2\n",
                     encoding="utf-8")
    out = tmp_path / "drawn"
    code = cli.main(["generate", str(conditional_model_path), "--rows", "400", "--out", str(out),
                     "--seed", "1", "--quiet", "--where", "visits<=6", "--rules", str(rules),
                     "--shares", "segment: retail=0.75, corporate=0.25", "--shard-rows", "150"])
    assert code == 0
    rows = pd.read_csv(out / "synthetic.csv")
    assert len(rows) == 400 and (rows["visits"] <= 6).all() and (rows["spend"] >= 20).all()
    assert ((rows["active"] != "yes") | (rows["visits"] >= 2)).all()
    counts = rows["segment"].value_counts()
    assert counts["retail"] == 300 and counts["corporate"] == 100  # 113+37, 112+38, 75+25
    record = json.loads((out / "generation.json").read_text())
    assert record["constraints"]["rules"] == ["spend ≥ 20",
                                              "if active: one value then visits ≥ 2"]
    balanced = tmp_path / "balanced"
    assert cli.main(["generate", str(conditional_model_path), "--rows", "300", "--out",
                     str(balanced), "--quiet", "--balance", "active"]) == 0
    assert pd.read_csv(balanced / "synthetic.csv")["active"].value_counts().tolist() == [150, 150]


def test_generate_refuses_conditions_a_model_cannot_meet(conditional_model_path, model_path,
                                                         tmp_path, capsys) -> None:
    for model, extra, expected in (
            (model_path, ["--where", "visits>=2"], "need an autoregressive model"),
            (conditional_model_path, ["--where", "spend>=1e9"], "outside every value"),
            (conditional_model_path, ["--shares", "segment: retail=0.5"], "add up to 1"),
            (conditional_model_path, ["--balance", "spend"], "not a column of categories")):
        code = cli.main(["generate", str(model), "--rows", "10", "--out", str(tmp_path / "x"),
                         "--quiet", *extra])
        assert code == 2
        assert expected in capsys.readouterr().err


def test_generate_completes_partial_rows(conditional_model_path, tmp_path, capsys) -> None:
    """--partial-rows: one row per row of the file, in its order, shards and all; filled cells
    as given, fresh keys unique; generation.json says how many rows and which columns, never a
    value; --rows that disagrees with the file is refused."""
    partial = pd.DataFrame({"segment": ["corporate", None, "retail"] * 40,
                            "visits": [None, 3, 7] * 40})
    path = tmp_path / "partial.csv"
    partial.to_csv(path, index=False)
    out = tmp_path / "completed"
    assert cli.main(["generate", str(conditional_model_path), "--partial-rows", str(path),
                     "--out", str(out), "--quiet", "--shard-rows", "50", "--rules",
                     str(_rules_file(tmp_path))]) == 0
    rows = pd.read_csv(out / "synthetic.csv")
    assert len(rows) == 120 and rows["customer"].is_unique
    given = partial["segment"].notna()
    assert (rows.loc[given, "segment"] == partial.loc[given, "segment"]).all()
    counted = partial["visits"].notna()
    assert (rows.loc[counted, "visits"] == partial.loc[counted, "visits"]).all()
    assert (rows["spend"] >= 20).all()  # the rules hold on completed rows too
    record = json.loads((out / "generation.json").read_text())
    assert record["constraints"]["partial_rows"] == {"rows": 120,
                                                     "columns": ["segment", "visits"]}
    assert "corporate" not in json.dumps(record)
    code = cli.main(["generate", str(conditional_model_path), "--partial-rows", str(path),
                     "--rows", "5", "--out", str(tmp_path / "x"), "--quiet"])
    assert code == 2 and "differs from the 120 partial rows" in capsys.readouterr().err
    bad = partial.copy()
    bad["visits"] = bad["visits"].astype(object)
    bad.loc[7, "visits"] = "Zanzibar-771"  # the file's 8th row, in the second shard of 5
    bad.to_csv(path, index=False)
    code = cli.main(["generate", str(conditional_model_path), "--partial-rows", str(path),
                     "--out", str(tmp_path / "y"), "--quiet", "--shard-rows", "5"])
    err = capsys.readouterr().err
    assert code == 2 and "partial row 8: " in err and "Zanzibar" not in err
    path.write_text("3,7\n4,8\n5,9\n", encoding="utf-8")  # no header row
    code = cli.main(["generate", str(conditional_model_path), "--partial-rows", str(path),
                     "--out", str(tmp_path / "h"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "first row must name the model's columns" in err and "tick" not in err
    partial.head(2).to_csv(path, index=False)  # a few rows are enough: nothing is trained
    assert cli.main(["generate", str(conditional_model_path), "--partial-rows", str(path),
                     "--out", str(tmp_path / "z"), "--quiet"]) == 0
    assert len(pd.read_csv(tmp_path / "z" / "synthetic.csv")) == 2


def _rules_file(folder: Path) -> Path:
    rules = folder / "rules.txt"
    rules.write_text("spend >= 20\n", encoding="utf-8")
    return rules


def test_the_draw_form_checks_conditions_against_the_model(conditional_model_path) -> None:
    """The page's draw form reads conditions against the run's model before anything runs: a
    category the model never draws or a range outside its values is named at once (it used
    to pass the form and fail in the background), never echoing what was typed."""
    from tabsynth.synthesizers import Synthesizer
    from tabsynth.ui_support import draw_constraint_error

    schema_json = Synthesizer.load(conditional_model_path).schema.to_json()
    secret = "Zanzibar-771"
    for where, rules, expected in ((f"segment={secret}", "", "matches the condition"),
                                   ("spend>=1e9", "", "outside every value"),
                                   ("", "visits >= 500", "outside every value"),
                                   (f"customer={secret}", "", "made up afresh")):
        problem = draw_constraint_error(schema_json, where, rules, conditional_model_path)
        assert problem is not None and expected in problem and secret not in problem
    assert draw_constraint_error(schema_json, "segment=retail, visits>=2", "spend >= 20",
                                 conditional_model_path) is None
    # the page process loads no model library to check them
    import subprocess
    import sys

    check = ("import sys, json; from tabsynth.ui_support import draw_constraint_error; "
             "p = draw_constraint_error(json.loads(sys.argv[1]), 'spend>=1e9', '', "
             "__import__('pathlib').Path(sys.argv[2])); "
             "assert p and 'outside' in p, p; assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", check, json.dumps(schema_json),
                    str(conditional_model_path)], check=True)


def test_a_model_rebuilt_from_its_bytes_draws_as_from_its_file(conditional_model_path) -> None:
    """What a cluster's worker receives: the model file's bytes, rebuilt without a file; a
    damaged copy is refused in one line."""
    from tabsynth.synthesizers import Synthesizer

    data = conditional_model_path.read_bytes()
    from_file = Synthesizer.load(conditional_model_path).sample(200, seed=3)
    from_bytes = Synthesizer.load_bytes(data).sample(200, seed=3)
    learned = ["segment", "spend", "visits", "active"]
    pd.testing.assert_frame_equal(from_file[learned], from_bytes[learned])
    with pytest.raises(ConfigError, match="not a tabsynth model file"):
        Synthesizer.load_bytes(data[:100])
