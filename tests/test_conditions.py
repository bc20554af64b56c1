"""Conditional generation: `--where` conditions read against the schema, and the autoregressive
model drawing rows that meet them from its distribution given them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tabsynth.constraints.conditions import Condition, parse_conditions
from tabsynth.constraints.rules import broken_share, parse_rules, rule_holds
from tabsynth.errors import ConfigError
from tabsynth.schema import coerce_frame, infer_schema
from tabsynth.synthesizers import make_synthesizer

SECRET = "Zanzibar-771"


def _table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """group first in the model's order, then a number that depends on it, then a label that
    depends on both: conditioning on a later column must move the earlier ones."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["A", "B"], n, p=[0.7, 0.3])
    level = np.where(group == "A", rng.normal(30, 6, n), rng.normal(60, 6, n)).round()
    label = np.where(level + rng.normal(0, 5, n) > 45, "high", "low")
    return pd.DataFrame({"group": group, "level": level.astype(int), "label": label,
                         "email": [f"p{i}@example.org" for i in range(n)]})


@pytest.fixture(scope="module")
def fitted():
    frame = _table()
    schema = infer_schema(frame)
    schema["level"].kind = "integer"  # a number, not a code (60-odd distinct values)
    model = make_synthesizer("autoregressive", epochs=25, seed=0)
    model.fit(coerce_frame(frame, schema), schema)
    return frame, schema, model


def test_a_date_with_a_time_zone_is_refused_in_words() -> None:
    frame = pd.DataFrame({"when": pd.date_range("2020-01-01", periods=40, freq="D"),
                          "n": range(40)})
    schema = infer_schema(frame)
    with pytest.raises(ConfigError, match="has a time zone"):
        parse_conditions("when>=2020-01-05T00:00+05:00", schema)


def test_conditions_are_read_against_the_schema() -> None:
    schema = infer_schema(_table(200))
    parsed = parse_conditions("level>=40, group=B, level<55", schema)
    assert Condition("group", values=("B",)) in parsed
    level = next(c for c in parsed if c.column == "level")
    assert (level.low, level.high, level.low_inclusive, level.high_inclusive) == \
        (40, 55, True, False)
    between = parse_conditions("40<=level<55", schema)[0]
    assert (between.low, between.high, between.high_inclusive) == (40, 55, False)
    assert parse_conditions("group in A|B", schema)[0].values == ("A", "B")


@pytest.mark.parametrize(("text", "expected"), [
    (f"nope={SECRET}", "does not have"),
    (f"email={SECRET}", "made up afresh"),
    (f"group>={SECRET}", "holds categories"),
    (f"level={SECRET}", "is not a number"),
    (f"level>=50, level<{10}", "empty range"),
    (f"group={SECRET}, group=B", "allow no value"),
    (f"{SECRET}", "cannot read"),
    ("", "no condition"),
])
def test_bad_conditions_say_what_is_wrong_without_echoing_a_value(text: str,
                                                                  expected: str) -> None:
    schema = infer_schema(_table(200))
    with pytest.raises(ConfigError) as caught:
        parse_conditions(text, schema)
    assert expected in str(caught.value)
    assert SECRET not in str(caught.value)


def test_rows_meet_every_condition_and_earlier_columns_follow_them(fitted) -> None:
    """Conditioning on `level`, drawn after `group`: the share of group B among the rows must
    be the real data's share given the condition (about 1 in a plain draw: masking the level
    step alone would leave group at its unconditioned 30 %)."""
    frame, schema, model = fitted
    rows = model.sample(2000, seed=3, conditions=parse_conditions("level>=50", schema))
    assert len(rows) == 2000 and (rows["level"] >= 50).all()
    real = frame[frame["level"] >= 50]
    assert abs((rows["group"] == "B").mean() - (real["group"] == "B").mean()) < 0.05
    assert abs((rows["label"] == "high").mean() - (real["label"] == "high").mean()) < 0.05
    plain = model.sample(2000, seed=3)
    assert (plain["level"] < 50).mean() > 0.5  # the conditions did the work


def test_particles_keep_rows_under_a_rare_late_condition_diverse() -> None:
    """A condition on the last column that few beginnings make likely: carrying several rows
    per row wanted up to that step leaves many more distinct beginnings than resampling the
    wanted rows alone (which repeats the few likely ones)."""
    import torch

    from tabsynth.autoregressive.constrain import step_allowed, token_masks

    rng = np.random.default_rng(2)
    x = rng.uniform(0, 100, 3000).round(1)
    rare = (x > 80) & (rng.uniform(size=3000) < 0.25)  # 5 % of the rows, all with x > 80
    frame = pd.DataFrame({"x": x, "g": rng.choice(list("abcde"), 3000),
                          "flag": np.where(rare, "rare", "common")})
    schema = infer_schema(frame)
    model = make_synthesizer("autoregressive", epochs=15, seed=0)
    model.fit(coerce_frame(frame, schema), schema)
    codec = model.codec
    names = [c.name for c in codec.domain.columns]
    assert names[codec.steps[-1].column] == "flag"  # drawn last
    conditions = parse_conditions("flag=rare", schema)
    allowed = [torch.from_numpy(m) if isinstance(m, np.ndarray) else m
               for m in step_allowed(codec, token_masks(codec, conditions), [])]

    def distinct_beginnings(particles: int) -> int:
        tokens = model.network.sample(600, torch.Generator().manual_seed(5), allowed=allowed,
                                      particles=particles).numpy()
        assert len(tokens) == 600
        return len({tuple(row) for row in tokens[:, :-1]})

    assert distinct_beginnings(8) > 1.5 * distinct_beginnings(1)  # 296 against 155 here
    rows = model.sample(300, seed=5, conditions=conditions)
    assert len(rows) == 300 and (rows["flag"] == "rare").all()


def test_a_category_and_a_strict_range_hold_exactly(fitted) -> None:
    frame, schema, model = fitted
    rows = model.sample(1500, seed=4, conditions=parse_conditions("group=B, 55<level<=65",
                                                                  schema))
    assert (rows["group"] == "B").all()
    assert ((rows["level"] > 55) & (rows["level"] <= 65)).all()
    assert rows["level"].nunique() >= 5  # a spread, not values piled on a bound
    real = frame[(frame["group"] == "B") & (frame["level"] > 55) & (frame["level"] <= 65)]
    assert abs((rows["label"] == "high").mean() - (real["label"] == "high").mean()) < 0.06
    assert rows["email"].notna().all()  # made-up columns still made up


def test_conditions_outside_the_model_or_methods_without_them_are_refused(fitted) -> None:
    frame, schema, model = fitted
    with pytest.raises(ConfigError, match="outside every value"):
        model.sample(10, seed=0, conditions=parse_conditions("level>=10000", schema))
    with pytest.raises(ConfigError, match="matches the condition"):
        model.sample(10, seed=0, conditions=parse_conditions(f"group={SECRET}", schema))
    copula = make_synthesizer("gaussian-copula").fit(coerce_frame(frame, schema), schema)
    with pytest.raises(ConfigError, match="cannot draw rows under conditions"):
        copula.sample(10, seed=0, conditions=parse_conditions("group=B", schema))


def test_same_seed_same_conditioned_rows(fitted) -> None:
    _, schema, model = fitted
    where = parse_conditions("group=A, level<25", schema)
    learned = ["group", "level", "label"]
    pd.testing.assert_frame_equal(model.sample(300, seed=9, conditions=where)[learned],
                                  model.sample(300, seed=9, conditions=where)[learned])


def test_a_dp_model_draws_conditioned_rows() -> None:
    """Conditioning reads only the fitted model: a DP model conditions like any other."""
    frame = _table(1500, seed=1)
    schema = infer_schema(frame)
    schema["level"].kind = "integer"
    model = make_synthesizer("autoregressive", epsilon=4.0, epochs=2)
    model.fit(coerce_frame(frame, schema), schema)
    rows = model.sample(400, seed=0, conditions=parse_conditions("group=B", schema))
    assert (rows["group"] == "B").all()
    assert model.privacy_claim is not None


PATIENTS = Path(__file__).resolve().parent.parent / "sample_data" / "patients.csv"


@pytest.fixture(scope="module")
def patients():
    from tabsynth.io import read_table

    frame = read_table(PATIENTS).iloc[:2500]
    schema = infer_schema(frame)
    typed = coerce_frame(frame, schema)
    model = make_synthesizer("autoregressive", epochs=8, seed=0).fit(typed, schema)
    return typed, schema, model


def test_rules_are_read_and_their_real_breaks_counted(patients) -> None:
    typed, schema, _ = patients
    rules = parse_rules("date_of_birth < admitted_at; if diagnosis = influenza then symptom "
                        "in fever|cough\n# a comment\nage >= 18", schema)
    assert [r.describe() for r in rules] == [
        "date_of_birth < admitted_at",
        "if diagnosis: one value then symptom: one of 2 values", "age ≥ 18"]
    broken = broken_share(typed, rules)
    assert broken["date_of_birth < admitted_at"] == 0.0
    assert 0 < broken["age ≥ 18"] < 0.5  # the real table has children
    for text, expected in ((f"age < {SECRET}", "rule 1: "), ("sex < age", "numbers or dates"),
                           (f"if sex = {SECRET} then sex = F", "different columns")):
        with pytest.raises(ConfigError, match=expected) as caught:
            parse_rules(text, schema)
        assert SECRET not in str(caught.value)


def test_every_row_meets_every_rule(patients) -> None:
    """An order between two learned columns, one between a made-up and a learned one, a fixed
    combination and a range: all hold on every synthetic row, and the rest of the table still
    looks like the real one (rules cut, they do not reshape)."""
    typed, schema, model = patients
    rules = parse_rules("date_of_birth < admitted_at; age >= 18; if diagnosis = influenza "
                        "then symptom in fever|cough; bmi <= systolic_bp", schema)
    rows = model.sample(2000, seed=5, rules=rules)
    assert len(rows) == 2000
    for rule in rules:
        assert rule_holds(rows, rule).all(), rule.describe()
    flu = rows[rows["diagnosis"] == "influenza"]
    assert len(flu) > 20
    adults = typed[typed["age"] >= 18]
    assert abs(rows["sex"].eq("F").mean() - adults["sex"].eq("F").mean()) < 0.06
    plain = model.sample(2000, seed=5)
    assert not rule_holds(plain, rules[1]).all()  # without the rules some rows break them


def test_rules_and_a_range_on_the_same_column_hold_together(patients) -> None:
    """An order whose later column also has a range: both hold on every row."""
    _, schema, model = patients
    rules = parse_rules("length_of_stay_days <= age; age <= 40", schema)
    rows = model.sample(1500, seed=8, rules=rules)
    assert (rows["length_of_stay_days"] <= rows["age"]).all() and (rows["age"] <= 40).all()


def test_the_rebalanced_rows_are_no_more_than_a_model_trains_on(
        fitted, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large run's check draws the rows the downstream model trains on, not the run's size
    again (a million rows took five minutes to give 20,000)."""
    from tabsynth import pipeline

    frame, schema, model = fitted
    typed = coerce_frame(frame, schema)
    drawn: list[int] = []
    sample = model.sample
    monkeypatch.setattr(model, "sample", lambda n, **kw: drawn.append(n) or sample(n, **kw))
    monkeypatch.setattr(pipeline, "UTILITY_TRAIN_ROWS", 600)
    check = pipeline.rebalancing_check(model, typed.iloc[:2400], typed.iloc[2400:],
                                       model.sample(2400, seed=1), schema, 50_000, 0,
                                       {"target": "label", "task": "classification"})
    assert check is not None and sum(drawn[1:]) == 600  # the first draw: the natural rows


def test_a_rebalanced_target_is_measured_beside_the_natural_rows(fitted) -> None:
    """An imbalanced target: as many rows again with equal class shares, and a model trained
    on each set scored on real rows."""
    from tabsynth.pipeline import rebalancing_check

    frame, schema, model = fitted
    typed = coerce_frame(frame, schema)
    train, holdout = typed.iloc[:2400], typed.iloc[2400:]
    natural = model.sample(2400, seed=1)
    utility = {"target": "label", "task": "classification"}
    check = rebalancing_check(model, train, holdout, natural, schema, 2400, 0, utility)
    assert check is not None and check["target"] == "label"
    assert check["natural"]["rarest_share"] < 0.35
    assert check["balanced"]["rarest_share"] == pytest.approx(0.5, abs=0.01)
    assert 0.5 < check["balanced"]["auc"] <= 1 and 0 < check["balanced"]["f1"] <= 1
    assert rebalancing_check(model, train, holdout, natural, schema, 2400, 0,
                             {"target": "group", "task": "classification"}) is not None
    assert rebalancing_check(model, train, holdout, natural, schema, 2400, 0,
                             {"target": "level", "task": "regression"}) is None


def _partial(frame: pd.DataFrame) -> pd.DataFrame:
    """300 rows with only `level` filled (high levels, drawn after `group` in the model's
    order), 150 with only `group` = A, 150 with nothing filled, shuffled together."""
    high = frame.loc[frame["level"] >= 55, ["level"]].sample(300, replace=True, random_state=1)
    only_group = pd.DataFrame({"group": ["A"] * 150})
    empty = pd.DataFrame({"label": [None] * 150})
    partial = pd.concat([high, only_group, empty], ignore_index=True)[["group", "level",
                                                                      "label"]]
    return partial.sample(frac=1, random_state=2).reset_index(drop=True)


def test_partial_rows_keep_their_cells_and_the_rest_follows_them(fitted) -> None:
    """One row per partial row, in order: filled cells as given; an empty `group` beside a
    filled high `level` follows the real share of B at those levels (a later column moves an
    earlier one); made-up columns are made up."""
    frame, _, model = fitted
    partial = _partial(frame)
    rows = model.complete(partial, seed=4)
    assert len(rows) == len(partial) and list(rows.columns) == list(frame.columns)
    by_level = partial["level"].notna().to_numpy()
    by_group = partial["group"].notna().to_numpy()
    assert (rows.loc[by_level, "level"].to_numpy() == partial.loc[by_level, "level"]).all()
    assert (rows.loc[by_group, "group"] == "A").all()
    share_b = frame.groupby("level")["group"].apply(lambda g: (g == "B").mean())
    expected = share_b.loc[partial.loc[by_level, "level"].astype(int)].mean()
    assert expected > 0.9 and abs((rows.loc[by_level, "group"] == "B").mean() - expected) < 0.06
    free = ~by_level & ~by_group
    assert (rows.loc[free, "level"] < 55).mean() > 0.5  # the empty rows are drawn freely
    assert rows["email"].notna().all()
    pd.testing.assert_frame_equal(model.complete(partial, seed=4)[["group", "level", "label"]],
                                  rows[["group", "level", "label"]])


def test_partial_rows_that_cannot_be_completed_are_named_by_row(fitted) -> None:
    frame, schema, model = fitted
    for partial, expected in (
            (pd.DataFrame({"group": ["A"], SECRET: [1]}),  # a value read as a name
             r"columns the model does not have \(column 2 of 2\)"),
            (pd.DataFrame({"group": ["A", "B", SECRET]}), "partial row 3: "),
            (pd.DataFrame({"level": ["40", SECRET]}), "partial row 2: "),
            (pd.DataFrame({"level": [], "group": []}), "hold no row")):
        with pytest.raises(ConfigError, match=expected) as caught:
            model.complete(partial, seed=0)
        assert SECRET not in str(caught.value)
    copula = make_synthesizer("gaussian-copula").fit(coerce_frame(frame, schema), schema)
    with pytest.raises(ConfigError, match="cannot complete partial rows"):
        copula.complete(pd.DataFrame({"group": ["A"]}), seed=0)


def test_a_run_with_rules_checks_them_on_the_real_rows_and_releases_only_their_words(
        tmp_path, capsys) -> None:
    """synthesize --rules: every synthetic row meets them; the review report has the share
    of real rows breaking each (the user's own check), the release only the rules' words; a
    method that cannot enforce them is refused before anything runs."""
    import json

    from tabsynth import cli

    source = tmp_path / "patients.csv"
    pd.read_csv(PATIENTS).iloc[:1200].to_csv(source, index=False)
    rules = tmp_path / "rules.txt"
    rules.write_text("date_of_birth < admitted_at\nage >= 18\n", encoding="utf-8")
    out = tmp_path / "run"
    model = tmp_path / "model.safetensors"
    assert cli.main(["synthesize", str(source), "--method", "autoregressive", "--epochs", "3",
                     "--out", str(out), "--rules", str(rules), "--no-evaluate", "--no-pdf",
                     "--quiet", "--save-model", str(model)]) == 0
    rows = pd.read_csv(out / "synthetic.csv")
    assert (rows["age"] >= 18).all()
    assert (pd.to_datetime(rows["date_of_birth"]) < pd.to_datetime(rows["admitted_at"])).all()
    report = json.loads((out / "report.json").read_text())
    real = pd.read_csv(source)
    by_rule = {r["rule"]: r for r in report["rules"]}
    assert by_rule["age ≥ 18"]["real_rows_breaking"] == pytest.approx((real["age"] < 18).mean())
    assert by_rule["age ≥ 18"]["synthetic_rows_breaking"] == 0
    assert "real rows breaking it" in (out / "report.html").read_text()
    release = json.loads((out / "release.json").read_text())
    assert release["rules"] == ["date_of_birth < admitted_at", "age ≥ 18"]
    assert "real_rows_breaking" not in json.dumps(release)
    assert "Business rules" in (out / "release.html").read_text()
    # rows drawn later from the saved model meet the run's rules too, and their release says
    # what was asked of them
    from tabsynth.export import SignOff, drawn_export_files

    drawn = out / "drawn"
    assert cli.main(["generate", str(model), "--rows", "600", "--out", str(drawn), "--quiet",
                     "--where", "sex=F"]) == 0
    later = pd.read_csv(drawn / "synthetic.csv")
    assert (later["age"] >= 18).all() and (later["sex"] == "F").all()
    assert (pd.to_datetime(later["date_of_birth"]) < pd.to_datetime(later["admitted_at"])).all()
    files = drawn_export_files(out, drawn, SignOff(
        name="Ada", role="DPO", reviewed_privacy_report=True,
        justification="a test of what the release says about drawn rows"))
    asked = json.loads(files["release.json"])["drawn"]["asked"]
    assert asked == ["only rows where sex: one value",
                     "every row meets date_of_birth < admitted_at; age ≥ 18"]
    assert "drawn later from the run" in files["release.html"].decode()
    code = cli.main(["synthesize", str(source), "--method", "gaussian-copula", "--out",
                     str(tmp_path / "refused"), "--rules", str(rules), "--quiet"])
    assert code == 2 and "autoregressive" in capsys.readouterr().err


def test_a_made_up_date_of_birth_is_tied_to_the_learned_age(patients) -> None:
    """'age = years from date_of_birth to admitted_at': the made-up date of birth of every row
    gives its learned age at its admission (and the ages still follow the real ones); to a
    fixed date as well; with the date of birth learned, the age is computed from the dates."""
    from tabsynth.constraints.rules import whole_years
    from tabsynth.synthesizers.base import settle_made_up

    typed, schema, model = patients
    assert schema["date_of_birth"].regenerated and not schema["age"].regenerated
    rules = parse_rules("age = years from date_of_birth to admitted_at\n"
                        "date_of_birth < admitted_at", schema)
    rows = model.sample(1500, seed=6, rules=rules)
    for rule in rules:
        assert rule_holds(rows, rule).all(), rule.describe()
    born_days = (pd.to_datetime(rows["admitted_at"]) - rows["date_of_birth"]).dt.days
    assert (born_days >= rows["age"] * 365).all()  # within its year of age, not at one day
    assert born_days.nunique() > 500
    real_births = set(typed["date_of_birth"].dropna().dt.strftime("%Y-%m-%d"))
    made = set(rows["date_of_birth"].dropna().dt.strftime("%Y-%m-%d"))
    assert not made & real_births  # as every made-up value, never a real one
    assert abs(rows["age"].mean() - typed["age"].mean()) < 3
    plain = model.sample(1500, seed=6)
    assert not rule_holds(plain, rules[0]).all()  # drawn apart, they disagree
    fixed = parse_rules("age = years from date_of_birth to 2025-06-30", schema)
    assert fixed[0].describe() == "age = whole years from date_of_birth to 2025-06-30"
    assert rule_holds(model.sample(300, seed=2, rules=fixed), fixed[0]).all()
    frame = pd.DataFrame({"age": [40, 41], "date_of_birth": pd.to_datetime(
        ["1980-03-01", "2000-02-29"]), "admitted_at": pd.to_datetime(["2024-02-29",
                                                                        "2024-02-28"])})
    original = schema["date_of_birth"].pii
    try:
        schema["date_of_birth"].pii = None  # a learned date of birth: the age follows it
        settled = settle_made_up(frame.copy(), rules[:1], schema, np.random.default_rng(0))
    finally:
        schema["date_of_birth"].pii = original
    assert settled["age"].tolist() == whole_years(frame["date_of_birth"],
                                                  frame["admitted_at"]).tolist() == [43, 23]
    for text, expected in (("age = years from sex to admitted_at", "does not hold dates"),
                           (f"age = years from date_of_birth to {SECRET}", "YYYY-MM-DD")):
        with pytest.raises(ConfigError, match=expected) as caught:
            parse_rules(text, schema)
        assert SECRET not in str(caught.value)


def test_a_rare_range_rule_is_held_while_sampling_and_keeps_missing_values(patients) -> None:
    """A range rule few rows meet (age ≥ 95) is held by the masks, not by drawing again and
    again; a range rule on a column with missing values keeps them (a missing cell meets a
    rule) at about the real share."""
    typed, schema, model = patients
    assert (typed["age"] >= 95).mean() < 0.1  # five draws again would not reach 800
    old = parse_rules("age >= 95", schema)
    rows = model.sample(800, seed=3, rules=old)
    assert len(rows) == 800 and (rows["age"] >= 95).all()
    assert typed["cholesterol"].isna().mean() > 0.02
    high = parse_rules("cholesterol >= 150", schema)
    rows = model.sample(2000, seed=3, rules=high)
    present = rows["cholesterol"].dropna()
    assert (present >= 150).all()
    assert abs(rows["cholesterol"].isna().mean() - typed["cholesterol"].isna().mean()) < 0.03


def test_keys_stay_unique_when_rules_draw_again(monkeypatch) -> None:
    """Rows kept from several rounds of drawing (here the first round's check keeps every
    other row) still get unique fresh keys, in a part of a larger draw too."""
    import tabsynth.synthesizers.base as base
    from tabsynth.regenerate import KeyBlock

    rng = np.random.default_rng(0)
    rows = 400
    frame = pd.DataFrame({"id": np.arange(1000, 1000 + rows),
                          "level": rng.integers(0, 100, rows),
                          "group": rng.choice(["A", "B"], rows)})
    schema = infer_schema(frame)
    assert schema["id"].kind == "identifier"
    model = make_synthesizer("autoregressive", epochs=2, seed=0).fit(frame, schema)
    rules = parse_rules("if group = A then level >= 40", schema)
    checked = base.rule_holds
    for keys in (None, KeyBlock(1, 3, 3 * rows)):
        calls = []

        def first_round_keeps_half(drawn, rule, calls=calls):
            calls.append(len(drawn))
            held = checked(drawn, rule)
            return held & (np.arange(len(drawn)) % 2 == 0) if len(calls) == 1 else held

        monkeypatch.setattr(base, "rule_holds", first_round_keeps_half)
        drawn = model.sample(rows, seed=1, rules=rules, keys=keys)
        assert len(calls) >= 2  # drawn again
        assert len(drawn) == rows and drawn["id"].is_unique
        assert checked(drawn, rules[0]).all()


def test_a_run_without_the_rule_its_table_calls_for_gets_a_hint(patients) -> None:
    import argparse

    from tabsynth.cli import _rule_hints

    _, schema, _ = patients
    report = {"schema": schema.to_dict()}
    hints = _rule_hints(report, argparse.Namespace(rules=None, method="autoregressive"))
    assert len(hints) == 1 and "'age = years from date_of_birth to admitted_at'" in hints[0]
    assert _rule_hints(report, argparse.Namespace(rules="r.txt", method="autoregressive")) == []
    assert _rule_hints(report, argparse.Namespace(rules=None, method="gaussian-copula")) == []


@pytest.mark.parametrize(("shares", "expected"), [
    ({"yes": 30, "no": 70}, True), ({"yes": 40, "no": 60}, False),
    ({"a": 20, "b": 40, "c": 40}, True), ({"a": 30, "b": 35, "c": 35}, False),
    ({letter: 12 + (letter == "a") for letter in "abcdefgh"}, False)])
def test_imbalance_is_measured_against_an_equal_share(shares: dict[str, int],
                                                      expected: bool) -> None:
    """Eight equal classes are balanced though each holds an eighth of the rows."""
    from tabsynth.evaluation.utility import imbalanced

    values = pd.Series([label for label, n in shares.items() for _ in range(n)])
    assert imbalanced(values) is expected
