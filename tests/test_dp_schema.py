"""A DP run without a declared schema learns it under the accountant: one row cannot reshape the
output (the D / D' experiment), the releases are the ones the plan charged, and the claim says
whether the schema was learned or declared."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from conftest import TEST_DATA

from tabsynth.dp.claim import SCHEMA_DECLARED, SCHEMA_LEARNED
from tabsynth.dp.noise import SecretNoise
from tabsynth.dp.schema_release import (
    DETAILS,
    FAMILY_CELLS,
    MECHANISMS_PER_COLUMN,
    _decide_text,
    _Released,
    learn_schema,
)
from tabsynth.dp.start import Budget, learn_private_schema
from tabsynth.pipeline import LoadedTable, RunConfig, run
from tabsynth.schema import ColumnSpec, coerce_frame, infer_schema, schema_choices

ODD_KEY = "R-1234567"


def with_keys(rows: int = 2000) -> pd.DataFrame:
    """D: census rows with a key column R-00000, R-00001, ... (five digits each)."""
    frame = pd.read_csv(TEST_DATA / "census.csv.gz").head(rows).reset_index(drop=True)
    frame.insert(0, "record_key", [f"R-{i:05d}" for i in range(len(frame))])
    return frame


def plus_one_row(frame: pd.DataFrame) -> pd.DataFrame:
    """D': D and one row whose key has seven digits and whose hours are fractional."""
    extra = frame.iloc[[0]].copy()
    extra["record_key"], extra["hours_per_week"] = ODD_KEY, 40.5
    return pd.concat([frame, extra], ignore_index=True)


def dp_config(**options) -> RunConfig:
    settings = {"method": "autoregressive", "epsilon": 1.0, "epochs": 1, "batch_size": 200,
                "device": "cpu", "evaluate": False}
    settings.update(options)
    return RunConfig(**settings)


def test_one_row_does_not_reshape_the_default_dp_output() -> None:
    """Without DP the schema follows the one odd row (7-digit keys, decimal hours): a DP run's
    keys keep the majority's width and its hours stay whole numbers."""
    neighbour = plus_one_row(with_keys())
    plain = infer_schema(neighbour)
    assert plain["record_key"].id_width == 7 and plain["hours_per_week"].kind == "numeric"
    result = run(LoadedTable(neighbour, "0" * 64, "d-prime.csv"), dp_config())
    keys = result.synthetic["record_key"].dropna().astype(str)
    assert keys.str.fullmatch(r"\d{5}").all(), keys.str.len().value_counts().to_dict()
    hours = result.synthetic["hours_per_week"].dropna().astype(float)
    assert (hours % 1 == 0).all()
    claim = result.synthesizer.privacy_claim
    assert claim.schema_learned and claim.epsilon_schema > 0
    assert claim.epsilon <= 1.0 + 1e-9
    assert SCHEMA_LEARNED in claim.not_covered and SCHEMA_DECLARED not in claim.not_covered


def test_schema_decisions_of_neighbours_agree_whatever_the_noise() -> None:
    """Twenty fresh noise draws each for D and D' at the pipeline's noise: both give the
    majority's decisions (a noisy decision may flip, rarely, for either table alike)."""
    table = with_keys()
    budget = Budget(1.0, None, "rdp", 0.5)
    for frame in (table, plus_one_row(table)):
        agreeing = 0
        for _ in range(20):
            schema, _ = learn_private_schema(frame, budget, None)
            key, hours = schema["record_key"], schema["hours_per_week"]
            agreeing += ((key.kind, key.id_prefix, key.id_width) == ("identifier", "", 5)
                         and hours.kind == "integer" and schema["income"].kind == "categorical")
        assert agreeing >= 18, agreeing


def test_schema_release_is_the_one_the_plan_charged() -> None:
    table = with_keys(600)
    result = run(LoadedTable(table, "0" * 64, "d.csv"), dp_config())
    synthesizer = result.synthesizer
    columns = len(table.columns)
    releases = synthesizer.fit_info["noisy_releases"]
    assert sum(v for k, v in releases.items() if k.startswith("schema:")) == \
        MECHANISMS_PER_COLUMN * columns
    assert synthesizer.plan.schema_mechanisms == MECHANISMS_PER_COLUMN * columns
    assert synthesizer.plan.preprocessing_history[0] == (
        synthesizer.plan.sigma_schema, 1.0, MECHANISMS_PER_COLUMN * columns)


def test_a_declared_schema_is_named_public_and_spends_nothing() -> None:
    table = with_keys(600)
    result = run(LoadedTable(table, "0" * 64, "d.csv"), dp_config(), schema=infer_schema(table))
    claim = result.synthesizer.privacy_claim
    assert not claim.schema_learned and claim.epsilon_schema == 0
    assert SCHEMA_DECLARED in claim.not_covered
    assert "declared" in claim.plain_words()
    assert result.synthesizer.plan.schema_mechanisms == 0


def test_learned_kinds_and_formats_match_the_plain_inference_on_clear_columns() -> None:
    rng = np.random.default_rng(5)
    rows = 3000
    frame = pd.DataFrame({
        "visit_date": pd.date_range("2020-01-01", periods=rows, freq="D").strftime("%d/%m/%Y"),
        "smoker": rng.choice(["Yes", "No"], rows),
        "weight": np.round(rng.normal(70, 12, rows), 1),
        "count": rng.integers(0, 9, rows),
        "ward": rng.choice(["north wing", "south wing", "annex"], rows),
        "order_no": [f"ORD-{i:06d}" for i in range(rows)],
        "email": [f"person{i}@example.org" for i in range(rows)],
    })
    frame.loc[rng.random(rows) < 0.1, "weight"] = np.nan
    learned = learn_schema(frame, SecretNoise(), sigma=40.0)
    plain = infer_schema(frame)
    for name in ("visit_date", "smoker", "weight", "count", "ward"):
        a, b = learned[name], plain[name]
        assert (a.kind, a.datetime_format, a.bool_tokens, a.decimals) == \
            (b.kind, b.datetime_format, b.bool_tokens, b.decimals), name
    assert learned["order_no"].kind == "identifier" and learned["order_no"].id_width == 6
    assert learned["order_no"].id_prefix == ""  # a prefix would be a released value
    assert learned["email"].pii == "email"
    for spec in learned.columns:
        assert "ORD-" not in spec.reason and "@" not in spec.reason


def test_each_cell_is_read_alone_so_one_odd_cell_moves_nothing_else() -> None:
    """Amounts written 1,234.50 / €12: the reader turns the whole column into numbers or leaves
    it text depending on every cell; the DP schema reads each cell alone, so one added "abc"
    moves one count, not the column."""
    rng = np.random.default_rng(4)
    amounts = [f"€{v:,.2f}" for v in rng.gamma(2, 900, 2000)]
    base = pd.DataFrame({"amount": amounts})
    odd = pd.DataFrame({"amount": [*amounts, "abc"]})
    for frame in (base, odd):
        learned = learn_schema(frame, SecretNoise(), sigma=100.0)
        assert (learned["amount"].kind, learned["amount"].decimals) == ("numeric", 2)
    typed = coerce_frame(odd, learned, lenient=True)
    assert typed["amount"].iloc[:-1].notna().all() and pd.isna(typed["amount"].iloc[-1])


def test_a_small_label_column_is_not_made_up_for_being_small() -> None:
    rng = np.random.default_rng(6)
    frame = pd.DataFrame({"country": rng.choice([f"land {i}" for i in range(12)], 300),
                          "code": rng.choice(["AB", "CD", "EF"], 300)})
    for _ in range(10):  # the family may be misread at this noise; never made up, though
        learned = learn_schema(frame, SecretNoise(), sigma=92.0)
        assert not learned["country"].regenerated and not learned["code"].regenerated


def _text_released(details: dict[str, float], distinct: float, present: float,
                   sigma: float = 92.0) -> _Released:
    """Noisy releases of a column of words, as the DP schema reads them (given, no noise)."""
    cells = dict.fromkeys(FAMILY_CELLS, 0.0) | {"text": present}
    return _Released(cells, "text", dict.fromkeys(DETAILS["text"], 0.0) | details, distinct,
                     sigma)


def test_a_name_cell_standing_out_of_the_noise_only_a_little_makes_nothing_up() -> None:
    """Twelve labels of 300 rows under sigma 92: their own cell (two short words) falls under
    the noise while a noisy single-name cell clears 3 widths, and the distinct count reads 40.
    The labels used to be read as first names and made up (about once in 3,000 reads); a
    name column now needs the evidence every made-up kind needs (4.5 widths). A real column
    of names still is one."""
    labels = ColumnSpec("country", "categorical", "object")
    _decide_text(labels, _text_released({"words:2:short": 150.0, "single_name": 290.0},
                                        distinct=40.0, present=300.0))
    assert labels.pii is None and not labels.regenerated
    names = ColumnSpec("given", "categorical", "object")
    _decide_text(names, _text_released({"words:1:short": 100.0, "single_name": 2900.0},
                                       distinct=600.0, present=3000.0))
    assert names.pii == "first_name" and names.regenerated


@pytest.mark.parametrize("lenient", [False, True])
def test_values_that_do_not_fit_a_learned_kind_become_missing(lenient: bool) -> None:
    from tabsynth.errors import TableError
    from tabsynth.schema import ColumnSpec, Schema

    frame = pd.DataFrame({"n": ["1", "2", "oops"], "b": ["yes", "no", "maybe"]})
    schema = Schema([ColumnSpec("n", "integer", "int64"),
                     ColumnSpec("b", "boolean", "object", bool_tokens=["yes", "no"])])
    if not lenient:
        with pytest.raises(TableError, match="row 4") as caught:
            coerce_frame(frame, schema)
        assert "oops" not in str(caught.value)
        return
    typed = coerce_frame(frame, schema, lenient=True)
    assert typed["n"].isna().tolist() == [False, False, True]
    assert typed["b"].tolist() == [True, False, None]


def test_numbers_come_out_with_the_real_columns_decimals() -> None:
    from tabsynth.synthesizers import make_synthesizer

    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"weight": np.round(rng.normal(70, 12, 400), 1),
                          "group": rng.choice(["a", "b"], 400)})
    schema = infer_schema(frame)
    assert schema["weight"].decimals == 1
    model = make_synthesizer("gaussian-copula", seed=1).fit(frame, schema)
    weights = model.sample(300, seed=1)["weight"].dropna()
    assert np.array_equal(weights.round(1), weights)
    assert not np.array_equal(weights.round(0), weights)


def test_only_the_users_own_edits_survive_a_schema_learned_under_dp() -> None:
    """The page proposes a schema read from every row; with "learn kinds and formats under ε"
    only what the user changed in it is applied to the learned schema, and the claim names
    those columns as the user's own declaration."""
    neighbour = plus_one_row(with_keys(800))
    neighbour.insert(1, "serial", np.arange(len(neighbour)))
    proposed = infer_schema(neighbour)
    assert proposed["record_key"].id_width == 7  # what every row proposes
    assert proposed["serial"].kind == "identifier"  # a 1..n sequence: read from every value
    edited = copy.deepcopy(proposed)
    edited["fnlwgt"].include = False
    edited["native_country"].pii = "address"
    edited.target = "income"
    choices = schema_choices(proposed, edited)
    assert choices == {"fnlwgt": {"include": False}, "native_country": {"pii": "address"}}
    result = run(LoadedTable(neighbour, "0" * 64, "d.csv"),
                 dp_config(learn_schema=True, schema_choices=choices), schema=edited)
    schema = result.schema
    assert schema["record_key"].id_width == 5 and schema["hours_per_week"].kind == "integer"
    assert schema["serial"].kind == "integer"  # the unedited proposal was not used
    assert not schema["fnlwgt"].include and "fnlwgt" not in result.synthetic.columns
    assert schema["native_country"].pii == "address" and schema.target == "income"
    claim = result.synthesizer.privacy_claim
    assert claim.schema_learned
    mine = [item for item in claim.not_covered if item.startswith("your own edits")]
    assert len(mine) == 1 and "fnlwgt" in mine[0] and "native_country" in mine[0]


def test_a_column_declared_public_takes_its_declared_kind(monkeypatch) -> None:
    """On a small table the noise can read a label column as text (made up) or numbers; a
    declared public domain settles its kind, at no cost, before the user's own edits."""
    from tabsynth.dp.public import PublicColumn
    from tabsynth.synthesizers import dp_base, make_synthesizer

    frame = pd.DataFrame({"segment": ["retail", "corporate", "public"] * 40,
                          "spend": np.linspace(1, 500, 120), "visits": np.arange(120) % 7})
    noisy = infer_schema(frame)
    noisy["segment"].kind, noisy["segment"].pii = "text", "name"  # as a noisy release may read
    noisy["spend"].kind, noisy["spend"].dtype = "categorical", "object"
    monkeypatch.setattr(dp_base, "learn_private_schema", lambda *_: (copy.deepcopy(noisy), None))
    public = {"segment": PublicColumn(categories=["retail", "corporate", "public"]),
              "spend": PublicColumn(bounds=(0.0, 600.0))}
    model = make_synthesizer("autoregressive", epsilon=1.0, public=public)
    schema = model.infer_schema(frame)
    assert (schema["segment"].kind, schema["segment"].pii) == ("categorical", None)
    assert not schema["segment"].regenerated
    assert schema["spend"].kind == "numeric"
    assert schema["visits"].kind == noisy["visits"].kind  # not declared: as learned
    edited = model.infer_schema(frame, choices={"segment": {"include": False}})
    assert not edited["segment"].include and edited["segment"].kind == "categorical"
