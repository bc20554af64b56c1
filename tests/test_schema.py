"""Schema inference: kinds and PII from values (not only headers), and the JSON round trip."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import PII_COLUMNS

from tabsynth.io import read_table
from tabsynth.schema import Schema, coerce_frame, format_for_export, infer_schema


def test_pii_under_neutral_headers_is_found_from_values(pii_table: pd.DataFrame) -> None:
    schema = infer_schema(pii_table)
    found = {c.name: c.pii for c in schema.columns if c.pii}
    assert found == PII_COLUMNS
    for name in PII_COLUMNS:
        assert schema[name].reason, "every flag carries a reason"
        assert schema[name].faker_provider


def test_card_numbers_as_plain_integers_are_found() -> None:
    import numpy as np
    from conftest import luhn_complete

    rng = np.random.default_rng(0)
    cards = [int(luhn_complete("4", rng, 13)) for _ in range(100)]
    spec = infer_schema(pd.DataFrame({"x3": cards, "v": range(100)}))["x3"]
    assert spec.pii == "credit_card"


def test_plain_columns_are_not_flagged(pii_table: pd.DataFrame) -> None:
    schema = infer_schema(pii_table)
    kinds = {c.name: c.kind for c in schema.columns if not c.pii}
    assert kinds == {"segment": "categorical", "spend": "numeric", "visits": "integer",
                     "active": "boolean", "joined": "datetime"}
    assert schema["joined"].datetime_format == "%Y-%m-%d"


def test_census_has_no_pii(census_path) -> None:
    frame = read_table(census_path)
    schema = infer_schema(frame, target="income")
    assert schema.pii_columns == []
    assert {c.kind for c in schema.columns} == {"integer", "categorical"}


@pytest.mark.parametrize("header", ["dob", "birth_date", "DateOfBirth"])
def test_date_of_birth_by_header(header: str) -> None:
    dates = pd.Series(pd.date_range("2020-01-01", periods=60, freq="D").strftime("%d/%m/%Y"))
    assert infer_schema(pd.DataFrame({header: dates}))[header].pii == "date_of_birth"


def test_birth_dates_by_values_but_not_recent_event_dates() -> None:
    births = pd.date_range("1940-01-01", "2005-12-31", periods=200).strftime("%Y-%m-%d")
    events = pd.date_range("2023-01-01", "2024-12-31", periods=200).strftime("%Y-%m-%d")
    schema = infer_schema(pd.DataFrame({"d1": births, "d2": events}))
    assert schema["d1"].pii == "date_of_birth"
    assert schema["d2"].pii is None and schema["d2"].kind == "datetime"


def test_identifiers_and_free_text() -> None:
    n = 120
    frame = pd.DataFrame({
        "order_id": range(1000, 1000 + n),
        "ref": [f"ORD-{i:05d}" for i in range(n)],
        "notes": [f"customer called about parcel {i} and asked for a refund" for i in range(n)],
    })
    schema = infer_schema(frame)
    assert schema["order_id"].kind == "identifier"
    assert schema["ref"].kind == "identifier"
    assert schema["notes"].kind == "text" and schema["notes"].regenerated


def test_long_labels_that_repeat_are_categories_and_long_prose_is_text() -> None:
    """Survey answers like ACS's class of worker are long but few: learned, not regenerated."""
    labels = [f"Employee of a {kind} organization, for wages, salary or commissions, "
              "as reported in the survey year by the respondent" for kind in ("private", "public")]
    prose = [f"Long free-text complaint number {i}: " + "the parcel arrived late and damaged " * 3
             for i in range(200)]
    frame = pd.DataFrame({"class_of_worker": [labels[i % 2] for i in range(200)], "notes": prose})
    assert min(len(v) for v in labels + prose) > 100
    schema = infer_schema(frame)
    assert schema["class_of_worker"].kind == "categorical"
    assert not schema["class_of_worker"].regenerated
    assert schema["notes"].kind == "text" and schema["notes"].pii == "free_text"


def test_json_round_trip_holds_no_values(pii_table: pd.DataFrame) -> None:
    schema = infer_schema(pii_table, target="segment")
    text = schema.to_json()
    again = Schema.from_json(text)
    assert again.to_dict() == schema.to_dict()
    for value in pii_table["who"].head(50):
        assert value not in text


@pytest.mark.parametrize(("text", "message"), [
    ("not json", "not valid JSON"),
    ('{"columns": [{"name": "a"}]}', "malformed"),
    ('{"columns": [{"name": "a", "kind": "weird", "dtype": "int64"}]}', "unknown kind"),
    ('{"columns": [{"name": "a", "kind": "numeric", "dtype": "int64", "pii": "x"}]}',
     "unknown PII kind"),
])
def test_bad_schema_files_are_explained(text: str, message: str) -> None:
    from tabsynth.errors import TableError

    with pytest.raises(TableError, match=message):
        Schema.from_json(text)


def test_coerce_and_format_restore_input_spelling(pii_table: pd.DataFrame) -> None:
    schema = infer_schema(pii_table)
    typed = coerce_frame(pii_table, schema)
    assert pd.api.types.is_datetime64_any_dtype(typed["joined"])
    assert set(typed["active"].unique()) == {True, False}
    back = format_for_export(typed, schema)
    assert back["joined"].tolist() == pii_table["joined"].tolist()
    assert back["active"].tolist() == pii_table["active"].tolist()
