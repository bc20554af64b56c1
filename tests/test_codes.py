"""Missing-value codes (-1 for "not measured") and codes as categories (a sex -1/0/1, an ICU
type 1-4): proposed by the schema step, with and without DP, modelled as missing or as
categories, written back as the table wrote them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tabsynth.dp.noise import SecretNoise
from tabsynth.dp.schema_release import DETAILS, learn_schema
from tabsynth.evaluation.fidelity import evaluate_fidelity
from tabsynth.io import csv_bytes
from tabsynth.schema import (
    FEW_VALUES_REASON,
    Schema,
    coerce_frame,
    format_for_export,
    infer_schema,
    schema_choices,
    with_choices,
)
from tabsynth.ui_support import TREAT_AS_MISSING, schema_from_rows, schema_rows


def patients(rows: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Height -1 in 48 % of rows, Weight (one decimal) -1 in 8 %, Gender -1/0/1, ICUType 1-4."""
    rng = np.random.default_rng(seed)
    height = np.round(rng.normal(170, 10, rows)).clip(140, 200)
    height[rng.random(rows) < 0.48] = -1
    weight = np.round(rng.normal(80, 15, rows), 1).clip(40, 150)
    weight[rng.random(rows) < 0.08] = -1
    return pd.DataFrame({
        "Age": rng.integers(18, 91, rows),
        "Gender": rng.choice([-1, 0, 1], rows, p=[0.03, 0.47, 0.5]),
        "Height": height.astype(int),
        "ICUType": rng.integers(1, 5, rows),
        "Weight": weight,
    })


def test_codes_standing_apart_are_proposed_as_missing() -> None:
    schema = infer_schema(patients())
    assert schema["Height"].missing_codes == [-1] and schema["Height"].kind == "integer"
    assert schema["Weight"].missing_codes == [-1] and schema["Weight"].kind == "numeric"
    assert "-1: likely missing-value code" in schema["Height"].reason
    assert schema["Age"].missing_codes is None and schema["Age"].kind == "integer"


def test_whole_numbers_with_few_values_are_categories_with_the_reason() -> None:
    schema = infer_schema(patients())
    for name in ("Gender", "ICUType"):
        assert schema[name].kind == "categorical", name
        assert schema[name].reason == FEW_VALUES_REASON
        assert schema[name].missing_codes is None  # a code among categories is a category


def test_real_values_near_a_candidate_are_not_codes() -> None:
    """99 among hours 1..98 and the zeros of a capital gain are values, not codes."""
    rng = np.random.default_rng(1)
    hours = rng.integers(1, 100, 2000)  # 99 included, next to 98
    gains = np.where(rng.random(2000) < 0.9, 0, rng.integers(100, 99_999, 2000))
    schema = infer_schema(pd.DataFrame({"hours": hours, "gain": gains}))
    assert schema["hours"].missing_codes is None and schema["gain"].missing_codes is None


def test_a_code_where_other_columns_are_missing_is_proposed() -> None:
    """99 inside the range of a rate, on exactly the rows whose other readings are empty."""
    rng = np.random.default_rng(2)
    rate = rng.integers(0, 200, 2000).astype(float)
    rate[rate == 99] = 98
    absent = rng.random(2000) < 0.05
    rate[absent] = 99
    other = np.where(absent, np.nan, rng.normal(5, 1, 2000))
    schema = infer_schema(pd.DataFrame({"rate": rate, "other": other}))
    assert schema["rate"].missing_codes == [99]
    assert "where other columns are missing" in schema["rate"].reason


def test_codes_are_modelled_as_missing_and_written_back() -> None:
    frame = patients(400)
    schema = infer_schema(frame)
    typed = coerce_frame(frame, schema)
    assert typed["Height"].isna().sum() == (frame["Height"] == -1).sum() > 0
    assert (typed["Height"].dropna() >= 140).all() and (typed["Weight"].dropna() >= 40).all()
    assert typed["Gender"].dtype == object and {type(v) for v in typed["Gender"]} == {int}
    text = csv_bytes(format_for_export(typed, schema)).decode()
    back = pd.read_csv(pd.io.common.StringIO(text))
    assert (back["Height"] == frame["Height"]).all() and (back["Weight"] == frame["Weight"]).all()
    rows = text.splitlines()
    assert any(r.split(",")[4] == "-1" for r in rows[1:]), "the code keeps its look (-1)"
    assert not any(".0" in r.split(",")[1] or ".0" in r.split(",")[3] for r in rows[1:])


def test_categories_of_whole_numbers_are_written_as_integers() -> None:
    """A model may hand back 1.0 for the category 1: it is written 1."""
    schema = infer_schema(patients(200))
    synthetic = pd.DataFrame({"Age": [30.0, np.nan], "Gender": [1.0, -1.0],
                              "Height": [np.nan, 171.0], "ICUType": [2.0, np.nan],
                              "Weight": [np.nan, 80.5]})
    written = csv_bytes(format_for_export(synthetic, schema)).decode().splitlines()
    assert written[1:] == ["30,1,-1,2,-1", ",-1,171,,80.5"]


def test_the_page_shows_codes_and_unticking_keeps_them_as_numbers() -> None:
    schema = infer_schema(patients(300))
    rows = schema_rows(schema)
    height = rows[rows["column"] == "Height"].iloc[0]
    assert height["missing codes"] == "-1" and height[TREAT_AS_MISSING]
    rows.loc[rows["column"] == "Height", TREAT_AS_MISSING] = False
    rows.loc[rows["column"] == "Gender", "kind"] = "integer"  # switched back
    edited = schema_from_rows(schema, rows)
    assert edited["Height"].missing_codes is None and edited["Weight"].missing_codes == [-1]
    assert edited["Gender"].kind == "integer"
    choices = schema_choices(schema, edited)
    assert choices == {"Height": {"missing_codes": None}, "Gender": {"kind": "integer"}}
    applied = with_choices(infer_schema(patients(300)), choices)
    assert applied["Height"].missing_codes is None and applied["Gender"].kind == "integer"
    assert coerce_frame(patients(300), applied)["Height"].min() == -1


def test_old_schema_files_without_codes_still_load() -> None:
    data = infer_schema(patients(100)).to_dict()
    for column in data["columns"]:
        column.pop("missing_codes")
    assert all(c.missing_codes is None for c in Schema.from_dict(data).columns)
    assert Schema.from_json(infer_schema(patients(100)).to_json())["Height"].missing_codes == [-1]


def test_dp_learned_schema_makes_the_same_decisions() -> None:
    """Under DP only fixed cells are read: code:-1 is a cell of the number family, and one-digit
    whole numbers are categories. At sigma 30, Weight's 8 % (240 rows) is eight noise widths.
    Each cell that holds nothing still clears its margin about once in 700 draws, and a draw
    makes dozens of such decisions: most draws, not every one, must agree."""
    assert "code:-1" in DETAILS["number"] and "code:0" not in DETAILS["number"]
    frame = patients()
    agreeing = []
    for _ in range(5):
        learned = learn_schema(frame, SecretNoise(), sigma=30.0)
        decided = {c.name: (c.kind, c.missing_codes) for c in learned.columns}
        if decided == {"Age": ("integer", None), "Gender": ("categorical", None),
                       "Height": ("integer", [-1]), "ICUType": ("categorical", None),
                       "Weight": ("numeric", [-1])} and learned["Weight"].decimals == 1:
            agreeing.append(learned)
    assert len(agreeing) >= 3
    learned = agreeing[0]  # a draw whose noise made the expected decisions
    assert learned["Gender"].reason.endswith(FEW_VALUES_REASON)
    typed = coerce_frame(frame, learned, lenient=True)
    assert typed["Height"].isna().mean() == pytest.approx((frame["Height"] == -1).mean())


def test_dp_codes_need_the_rest_to_stand_clear_of_them() -> None:
    """-1 among temperatures that are often negative is a value; -1 on a column of counts is a
    code only when its cell clears the noise; the noise alone rarely makes up a code."""
    rng = np.random.default_rng(3)
    temperature = np.round(rng.normal(5, 8, 3000))
    temperature[temperature == -1] = -2
    temperature[:300] = -1  # 10 % of the rows, among a quarter of other negative values
    rare = rng.integers(0, 500, 3000)
    rare[:10] = -1  # 10 rows: lost in the noise at sigma 40
    frame = pd.DataFrame({"temperature": temperature, "visits": rare})
    made_up = integers = 0
    for _ in range(20):
        learned = learn_schema(frame, SecretNoise(), sigma=40.0)
        made_up += any(learned[name].missing_codes for name in frame.columns)
        integers += all(learned[name].kind == "integer" for name in frame.columns)
    assert made_up <= 1 and integers >= 18


def test_fidelity_shows_the_kind_the_model_used() -> None:
    frame = patients(600)
    schema = infer_schema(frame)
    typed = coerce_frame(frame, schema)
    kinds = {c.name: c.kind for c in schema.columns}
    result = evaluate_fidelity(typed.iloc[:300], typed.iloc[300:], typed.iloc[300:],
                               sdmetrics=False, kinds=kinds)
    shown = {c.column: (c.model_kind, c.kind) for c in result.columns}
    assert shown["Gender"] == ("categorical", "categorical")
    assert shown["ICUType"] == ("categorical", "categorical")
    assert shown["Height"] == ("integer", "numeric")
    assert "Gender" not in result.correlation["columns"]
