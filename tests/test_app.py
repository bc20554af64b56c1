"""The Streamlit page through AppTest (the job registry: test_jobs.py; the export bundle:
test_export.py)."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import PII_COLUMNS, ROOT, make_pii_table, wait_until
from streamlit.testing.v1 import AppTest

from tabsynth.errors import TabsynthError
from tabsynth.schema import infer_schema
from tabsynth.ui_support import (
    chosen_roles,
    public_domain_example,
    schema_from_rows,
    schema_rows,
    suggested_roles,
    weak_utility,
)

APP = str(ROOT / "app.py")



def _page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    return at


def test_upload_shows_preview_and_flags_pii() -> None:
    at = _page()
    csv = make_pii_table(rows=120).to_csv(index=False).encode()
    at.file_uploader[0].set_value(("people.csv", csv, "text/csv")).run()
    assert not at.exception
    assert any("120 rows" in m.value for m in at.markdown)
    warning = at.warning[0].value
    for column in PII_COLUMNS:
        assert f"**{column}**" in warning


@pytest.mark.parametrize(("payload", "message"), [
    (b"", "empty"), (b"a,b\n", "no data rows"), (b"a,a\n" + b"1,2\n" * 20, "duplicate column"),
])
def test_broken_upload_shows_a_message_not_a_traceback(payload: bytes, message: str) -> None:
    at = _page()
    at.file_uploader[0].set_value(("bad.csv", payload, "text/csv")).run()
    assert not at.exception
    assert any(message in e.value for e in at.error)


def test_a_file_without_header_is_explained_then_read_with_generic_names() -> None:
    at = _page()
    body = make_pii_table(rows=120).to_csv(index=False, header=False).encode()
    at.file_uploader[0].set_value(("noheader.csv", body, "text/csv")).run()
    assert not at.exception
    assert any("first row looks like data" in e.value for e in at.error)
    assert not at.dataframe  # no schema step for a table read wrongly
    box = next(c for c in at.checkbox if c.label.startswith("The first row is data"))
    box.check().run()
    assert not at.exception and not at.error
    assert any("120 rows" in m.value for m in at.markdown)
    assert "column_1" in at.dataframe[0].value.columns


def test_export_is_locked_until_sign_off() -> None:
    at = _page()
    at.button[0].click().run()  # use the sample data
    at.radio[0].set_value("faker").run()
    next(b for b in at.button if b.label == "Train").click().run()
    assert "job" in at.query_params
    wait_until(lambda: any("Finished" in s.value for s in at.success), poll=at.run)
    assert not at.exception
    assert any("Downloads are locked" in i.value for i in at.info)
    assert any("Pairs of columns whose relation differs most" in m.value for m in at.markdown)
    assert len(at.get("download_button")) == 0
    at.checkbox[0].check().run()
    assert len(at.get("download_button")) == 0  # name and role still missing
    at.text_input[0].input("Ada Lovelace").run()
    at.text_input[1].input("Data protection officer").run()
    buttons = at.get("download_button")
    labels = [b.label for b in buttons]
    assert len(labels) == 4 and "release.html" in labels
    assert {"synthetic.csv", "synthetic.parquet"} <= set(labels)  # the rows in CSV and Parquet
    assert not any("report.html" in label for label in labels)
    assert "Saved as patients-faker-seed0-" in buttons[0].proto.help
    assert any("contains statistics of the real data" in w.value for w in at.warning)
    next(c for c in at.checkbox if c.label.startswith("Also include the internal review")) \
        .check().run()
    labels = [b.label for b in at.get("download_button")]
    assert len(labels) == 5 and any(label.startswith("report.html") for label in labels)
    assert not at.exception


def test_schema_edits_apply_and_are_validated() -> None:
    schema = infer_schema(make_pii_table(rows=120))
    rows = schema_rows(schema)
    assert set(rows.columns) == {"column", "kind", "pii", "include", "missing codes",
                                 "treat as missing", "reason"}
    rows.loc[rows["column"] == "visits", "include"] = False
    rows.loc[rows["column"] == "segment", "pii"] = "username"
    edited = schema_from_rows(schema, rows)
    assert not edited["visits"].include and edited["segment"].pii == "username"
    assert schema["visits"].include, "the original schema is left untouched"
    rows.loc[rows["column"] == "spend", "kind"] = "weird"
    with pytest.raises(TabsynthError, match="spend"):
        schema_from_rows(schema, rows)
    rows["include"] = False
    rows["kind"] = "numeric"
    with pytest.raises(TabsynthError, match="every column is excluded"):
        schema_from_rows(schema, rows)


def test_streamlit_config_is_hardened() -> None:
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"]["enableXsrfProtection"] is True
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] == "none"


def test_dp_gan_settings_validate_the_public_domain() -> None:
    at = _page()
    at.button[0].click().run()  # sample data
    at.radio[0].set_value("dp-gan").run()
    assert any("ε" in n.label for n in at.number_input)
    at.text_area[0].input('{"sex": {"categories": ').run()
    assert any("not valid JSON" in e.value for e in at.error)
    assert not any(b.label == "Train" for b in at.button)
    at.text_area[0].input('{"sex": {"categories": ["F", "M"]}}').run()
    assert not at.error and any(b.label == "Train" for b in at.button)


def test_attacker_columns_are_chosen_on_the_page_with_defaults_filled() -> None:
    at = _page()
    at.button[0].click().run()  # sample data
    known, wanted = at.multiselect[0], at.multiselect[1]
    assert known.label.startswith("Quasi-identifiers") and wanted.label.startswith("Secrets")
    frame = pd.read_csv(ROOT / "sample_data" / "patients.csv")
    roles = suggested_roles(infer_schema(frame), frame)
    assert known.value == roles.quasi_identifiers and {"age", "sex"} <= set(known.value)
    assert wanted.value == roles.secrets and "diagnosis" in wanted.value
    assert "date_of_birth" not in known.options  # PII: regenerated, never attacked
    assert any("Suggested quasi-identifiers" in c.value for c in at.caption)
    wanted.set_value(["diagnosis"]).run()
    assert not at.exception and not at.error and any(b.label == "Train" for b in at.button)
    assert chosen_roles(["diagnosis"], roles.secrets) == ["diagnosis"]
    assert chosen_roles(roles.secrets, roles.secrets) is None  # untouched: "suggested"


def test_ctgan_is_refused_on_the_page_before_training() -> None:
    at = _page()
    codes = [f"c{i}" for i in range(1_200)] * 2
    frame = pd.DataFrame({"code": codes, "n": range(len(codes))})
    at.file_uploader[0].set_value(("wide.csv", frame.to_csv(index=False).encode(),
                                   "text/csv")).run()
    at.radio[0].set_value("ctgan").run()
    assert not at.exception
    assert any("CTGAN refused before fitting" in e.value and "'code'" in e.value
               for e in at.error)
    assert not any(b.label == "Train" for b in at.button)
    at.radio[0].set_value("gaussian-copula").run()
    assert any(b.label == "Train" for b in at.button)


def test_reading_notes_are_shown_after_upload() -> None:
    at = _page()
    csv = ("city,price\n" + "".join(f"Malmö,\"€{1000 + i:,}\"\n" for i in range(30)))
    at.file_uploader[0].set_value(("c.csv", csv.encode("latin-1", errors="replace"),
                                   "text/csv")).run()
    assert not at.exception
    notes = " ".join(w.value for w in at.warning)
    assert "not valid UTF-8" in notes


def test_batch_size_is_validated_on_the_page() -> None:
    at = _page()
    at.button[0].click().run()  # sample data
    at.radio[0].set_value("dp-gan").run()
    batch = next(n for n in at.number_input if n.label.startswith("Batch size"))
    batch.set_value(15).run()
    assert any("multiple of 10" in e.value and "15" in e.value for e in at.error)
    assert not any(b.label == "Train" for b in at.button)
    next(n for n in at.number_input if n.label.startswith("Batch size")).set_value(200).run()
    assert not at.error and any(b.label == "Train" for b in at.button)


def test_non_private_dp_gan_runs_from_the_page_and_says_so() -> None:
    at = _page()
    at.button[0].click().run()  # sample data
    at.radio[0].set_value("dp-gan").run()
    next(c for c in at.checkbox if c.label.startswith("No DP")).check().run()
    assert next(n for n in at.number_input if n.label.startswith("ε")).disabled
    next(n for n in at.number_input if n.label == "Epochs").set_value(1).run()
    next(n for n in at.number_input if n.label.startswith("Batch size")).set_value(500).run()
    next(b for b in at.button if b.label == "Train").click().run()
    wait_until(lambda: any("Finished" in s.value for s in at.success), poll=at.run)
    assert not at.exception
    summary = " ".join(c.value for c in at.caption)
    assert "method dp-gan" in summary and "batch 500" in summary and "1 epoch," in summary
    assert "no DP (ε = ∞)" in summary
    assert any("Differential privacy: none" in m.value for m in at.markdown)


def test_the_running_panel_says_what_runs_how_long_and_what_is_left() -> None:
    at = _page()
    at.button[0].click().run()  # sample data
    at.radio[0].set_value("ctgan").run()
    next(n for n in at.number_input if n.label == "Epochs").set_value(3000).run()
    next(b for b in at.button if b.label == "Train").click().run()

    def headline() -> str:
        return next((m.value for m in at.markdown if m.value.startswith("**Training ·")), "")

    wait_until(lambda: "left" in headline(), poll=at.run)
    assert not at.exception
    assert re.match(r"\*\*Training · \d+ (s|min \d\d s) elapsed · (about .+|a few seconds) "
                    r"left\*\*$", headline())
    captions = [c.value for c in at.caption]
    assert "Running patients.csv · ctgan · 3,000 epochs · batch 500 rows" in captions
    assert any(c.startswith("reading ✓ · learning the schema ✓ · preprocessing ✓ · "
                            "**training**") for c in captions)
    next(b for b in at.button if b.label == "Cancel").click().run()
    assert any("cancelled" in w.value for w in at.warning)


def test_autoregressive_is_the_default_with_dp_off_until_ticked() -> None:
    at = _page()
    at.button[0].click().run()  # sample data
    assert at.radio[0].value == "autoregressive"
    assert not at.exception and not at.error

    def estimate() -> str:
        return next(c.value for c in at.caption if c.value.startswith("Estimated time"))

    def warns_of_rare_values() -> bool:
        return any(w.value.startswith("Without differential privacy, rare real values")
                   for w in at.warning)

    without_dp = estimate()
    assert "evaluation" in without_dp and "early stopping usually ends training" in without_dp
    assert warns_of_rare_values()
    epsilon = next(n for n in at.number_input if n.label.startswith("ε"))
    assert epsilon.disabled
    epochs = next(n for n in at.number_input if n.label.startswith("Epochs"))
    assert epochs.value is None  # the model's own default for its mode
    next(c for c in at.checkbox if c.label == "Differential privacy").check().run()
    assert not next(n for n in at.number_input if n.label.startswith("ε")).disabled
    assert not at.error and any(b.label == "Train" for b in at.button)
    assert not warns_of_rare_values()
    assert estimate() != without_dp  # DP-SGD runs a fixed, slower schedule


def test_a_private_run_learns_the_schema_under_epsilon_unless_declared_public() -> None:
    """With DP ticked the page offers to learn kinds and formats within ε (on by default) and
    says what stays the user's own declaration; off, it says the table is declared public."""
    at = _page()
    at.button[0].click().run()  # sample data
    assert any("only proposals" in c.value for c in at.caption)  # the schema step says so
    assert not any(c.label.startswith("Learn column kinds") for c in at.checkbox)
    next(c for c in at.checkbox if c.label == "Differential privacy").check().run()
    learn = next(c for c in at.checkbox if c.label.startswith("Learn column kinds"))
    assert learn.value
    assert any(c.value.startswith("Kinds and formats are learned within ε") for c in at.caption)
    learn.uncheck().run()
    assert any("declared public" in c.value for c in at.caption)
    assert not at.exception and not at.error


def test_the_public_domain_box_needs_dp_and_its_example_uses_the_tables_columns() -> None:
    at = _page()
    at.button[0].click().run()  # sample data: autoregressive, DP off

    def public_box():
        return next((t for t in at.text_area if t.label.startswith("Public domain")), None)

    assert public_box() is None  # nothing to declare public without a guarantee
    next(c for c in at.checkbox if c.label == "Differential privacy").check().run()
    box = public_box()
    assert box is not None and not at.exception
    assert box.placeholder.startswith('{"sex": {"categories": [')
    assert '"age": {"bounds"' in box.placeholder
    assert "F" not in box.placeholder  # column names only, never a value of the data
    other = public_domain_example(infer_schema(make_pii_table(rows=120)))
    assert other.startswith('{"segment": {"categories": [') and '"spend": {"bounds"' in other
    assert "retail" not in other
    next(c for c in at.checkbox if c.label == "Differential privacy").uncheck().run()
    assert public_box() is None
    at.radio[0].set_value("dp-gan").run()  # DP unless "No DP" is ticked
    assert public_box() is not None
    next(c for c in at.checkbox if c.label.startswith("No DP")).check().run()
    assert public_box() is None and not at.exception


def test_the_target_selector_says_what_a_good_target_is_and_warns_of_a_weak_one() -> None:
    at = _page()
    at.button[0].click().run()  # sample data
    target = next(s for s in at.selectbox if s.label.startswith("Target column"))
    assert "A good target" in target.help

    def captions() -> str:
        return " ".join(c.value for c in at.caption)

    def weak() -> list[str]:
        return [w.value for w in at.warning if "predicts" in w.value]

    assert "tabsynth will predict **readmitted**" in captions()
    assert "a quick model predicts it with AUC" in captions() and not weak()
    target.set_value("sex").run()  # sex is hardly predictable from the other columns
    assert weak() and "sex poorly (AUC 0.5" in weak()[0]
    assert "tabsynth will predict" not in captions()
    next(s for s in at.selectbox if s.label.startswith("Target column")) \
        .set_value("diagnosis").run()
    assert not weak() and not at.exception


def test_the_review_warns_when_real_rows_predict_the_target_poorly() -> None:
    report = {"utility": {"task": "classification", "target": "sex", "tstr": {"auc": 0.52},
                          "trtr": {"auc": 0.55}}}
    assert "predicts sex poorly (AUC 0.55; 0.5 is chance)" in weak_utility(report)
    report["utility"]["trtr"]["auc"] = 0.8
    assert weak_utility(report) is None
    regression = {"utility": {"task": "regression", "target": "bmi", "tstr": {"r2": 0.0},
                              "trtr": {"r2": 0.04}}}
    assert "R2 0.04" in weak_utility(regression)


def test_a_verdict_that_is_not_low_says_what_to_do_and_needs_a_written_justification() -> None:
    """120 rows leave the checks too little data: the review says which checks and how to get
    more, lists the checks apart, and the downloads stay locked until the reviewer writes why
    the table may be released anyway."""
    at = _page()
    csv = make_pii_table(rows=120).to_csv(index=False).encode()
    at.file_uploader[0].set_value(("people.csv", csv, "text/csv")).run()
    at.radio[0].set_value("faker").run()
    holdout = next(n for n in at.number_input if n.label.startswith("Holdout share"))
    assert holdout.value == 0.2 and "more power" in holdout.help
    holdout.set_value(0.25).run()
    next(b for b in at.button if b.label == "Train").click().run()
    wait_until(lambda: any("Finished" in s.value for s in at.success), poll=at.run)
    assert not at.exception
    summary = next(i.value for i in at.info if "Privacy verdict: inconclusive" in i.value)
    assert "had too little data to rule it out" in summary
    assert "**What to do next:** To settle it, give the checks more data: a larger holdout " \
        "share (now 25.0 % of the rows)" in summary
    assert "more rows, or a run with differential privacy" in summary
    assert any(e.label == "The checks behind the verdict" for e in at.expander)
    checks = next(d.value for d in at.dataframe if "medium risk from" in d.value.columns)
    assert "inconclusive" in set(checks["band"])
    at.checkbox[0].check().run()
    at.text_input[0].input("Ada Lovelace").run()
    at.text_input[1].input("Data protection officer").run()
    box = next(t for t in at.text_area if t.label.startswith("Why may this table be released"))
    assert "inconclusive" in box.label
    assert len(at.get("download_button")) == 0  # no justification yet
    assert any("write why this table may be released" in i.value for i in at.info)
    box.input("fine").run()
    assert len(at.get("download_button")) == 0  # a word is not a justification
    next(t for t in at.text_area if t.label.startswith("Why may this table be released")) \
        .input("Test fixtures for the billing team only; no real customers in it.").run()
    assert len(at.get("download_button")) >= 4 and not at.exception


def _train_and_wait(at: AppTest) -> None:
    next(b for b in at.button if b.label == "Train").click().run()
    wait_until(lambda: any("Finished" in s.value for s in at.success), poll=at.run)
    assert not at.exception


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_runs_are_drawn_from_rerun_compared_and_discarded() -> None:
    """The review step draws more rows in the background (downloads after sign-off), runs
    again with the settings filled in, keeps a history, compares runs and discards one."""
    at = _page()
    csv = make_pii_table(rows=150).to_csv(index=False).encode()
    at.file_uploader[0].set_value(("people.csv", csv, "text/csv")).run()
    at.radio[0].set_value("faker").run()
    next(n for n in at.number_input if n.label == "Seed").set_value(3).run()
    _train_and_wait(at)
    assert any(s.value == "Draw more rows" for s in at.subheader)
    rows = next(n for n in at.number_input if n.label == "Rows to draw")
    assert next(n for n in at.number_input if n.label == "Seed of the draw").value == 4
    rows.set_value(250).run()
    next(r for r in at.radio if r.label == "Format").set_value("parquet").run()
    _button(at, "Draw").click().run()
    wait_until(lambda: any("250 rows, seed 4, Parquet: ready" in c.value for c in at.caption),
               poll=at.run)
    assert len(at.get("download_button")) == 0  # locked until sign-off
    at.checkbox[0].check().run()
    at.text_input[0].input("Ada Lovelace").run()
    at.text_input[1].input("Data protection officer").run()
    box = next(t for t in at.text_area if t.label.startswith("Why may this table be released"))
    box.input("Test fixtures for the billing team only; no real customers in it.").run()
    drawn = [b for b in at.get("download_button") if b.label.startswith("Drawn rows")]
    assert len(drawn) == 1 and "250 rows, seed 4" in drawn[0].label
    history = next(d.value for d in at.dataframe if "privacy verdict" in d.value.columns)
    assert list(history["run"]) == ["Run 1"] and list(history["method"]) == ["faker"]

    _button(at, "Run again with other settings").click().run()
    assert "job" not in at.query_params and not at.exception
    assert any("previous run are filled in" in i.value for i in at.info)
    assert at.radio[0].value == "faker"
    seed = next(n for n in at.number_input if n.label == "Seed")
    assert seed.value == 3
    seed.set_value(8).run()
    at.radio[0].set_value("gaussian-copula").run()
    _train_and_wait(at)
    compared = next(d.value for d in at.dataframe if list(d.value.columns) == ["Run 1", "Run 2"])
    assert compared.loc["settings", "Run 1"].startswith("seed 3")
    assert compared.loc["settings", "Run 2"].startswith("seed 8")
    assert compared.loc["method"].tolist() == ["faker", "gaussian-copula"]
    assert any(n.label == "Rows to draw" for n in at.number_input)  # its model was kept too
    assert not any("could not be kept" in c.value for c in at.caption)

    _button(at, "Discard this run").click().run()
    assert "job" not in at.query_params and not at.exception
    history = next(d.value for d in at.dataframe if "privacy verdict" in d.value.columns)
    assert list(history["state"]) == ["finished, signed off", "discarded"]
    assert next(s for s in at.selectbox
                if s.label == "Open another run of this session").options == ["Run 1"]
    _button(at, "Open").click().run()
    assert any("Finished" in s.value for s in at.success) and not at.exception


def test_rows_drawn_under_conditions_and_rules_from_the_page() -> None:
    """An autoregressive run's draw form reads conditions and rules against the run's schema:
    a bad one is named before anything runs, good ones draw in the background."""
    at = _page()
    csv = make_pii_table(rows=200).to_csv(index=False).encode()
    at.file_uploader[0].set_value(("people.csv", csv, "text/csv")).run()
    assert at.radio[0].value == "autoregressive"
    next(n for n in at.number_input if n.label.startswith("Epochs")).set_value(2).run()
    _train_and_wait(at)
    before = [e.value for e in at.error]  # the verdict box may be one
    where = next(t for t in at.text_input if t.label == "Conditions")
    where.input("segment>=retail").run()
    assert any("holds categories" in e.value for e in at.error)
    assert not any(b.label == "Draw" for b in at.button)
    where = next(t for t in at.text_input if t.label == "Conditions")
    where.input("spend>=50").run()
    next(t for t in at.text_area if t.label == "Rules, one per line").input(
        "visits >= 1").run()
    next(s for s in at.selectbox if s.label.startswith("Balance a column")).set_value(
        "segment").run()
    assert [e.value for e in at.error] == before
    next(n for n in at.number_input if n.label == "Rows to draw").set_value(120).run()
    _button(at, "Draw").click().run()
    wait_until(lambda: any("120 rows" in c.value and "ready" in c.value for c in at.caption),
               poll=at.run)

    # partial rows to complete: read in memory, checked against the run's columns, drawn
    def partial_field():
        return next(u for u in at.file_uploader
                    if u.label.startswith("Partial rows to complete"))

    balance = next(s for s in at.selectbox if s.label.startswith("Balance a column"))
    balance.set_value("(no)").run()
    bad = pd.DataFrame({"segment": ["public"], "nope": [1]}).to_csv(index=False).encode()
    partial_field().set_value(("partial.csv", bad, "text/csv")).run()
    assert any("columns the model does not have (column 2 of 2)" in e.value
               and "nope" not in e.value for e in at.error)
    assert not any(b.label == "Draw" for b in at.button)
    good = pd.DataFrame({"segment": ["public", None, "corporate"],
                         "visits": [None, 4, 2]}).to_csv(index=False).encode()
    partial_field().set_value(("partial.csv", good, "text/csv")).run()
    assert [e.value for e in at.error] == before
    next(s for s in at.selectbox if s.label.startswith("Balance a column")).set_value(
        "segment").run()
    assert any("cannot be balanced too" in e.value for e in at.error)
    next(s for s in at.selectbox if s.label.startswith("Balance a column")).set_value(
        "(no)").run()
    assert [e.value for e in at.error] == before
    assert any(c.value.startswith("3 partial rows with 4 filled cells in 2 columns")
               for c in at.caption)
    assert not any(n.label == "Rows to draw" for n in at.number_input)
    _button(at, "Draw").click().run()
    wait_until(lambda: any("3 partial rows completed" in c.value and "ready" in c.value
                           for c in at.caption), poll=at.run)
    assert not at.exception
