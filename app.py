"""tabsynth's Streamlit page: a thin UI over the library.

upload -> schema review -> method -> training in a worker process -> internal review -> sign-off
-> export. All statistics live in `tabsynth`; this file only lays out widgets.
"""

from __future__ import annotations

import math
import os
import time
import uuid
from pathlib import Path

import pandas as pd
import streamlit as st

from tabsynth import charts, cluster
from tabsynth.capacity import check_ctgan
from tabsynth.constraints.rules import suggested_rules
from tabsynth.dp.public import parse_public_schema
from tabsynth.errors import TabsynthError
from tabsynth.evaluation.results import Fidelity, Headline, Privacy, Utility
from tabsynth.evaluation.utility import chance_note
from tabsynth.export import (
    MIN_JUSTIFICATION_WORDS,
    SignOff,
    drawn_export_files,
    export_files,
    needs_justification,
    zip_files,
    zip_name,
)
from tabsynth.formatting import aggregate, aggregate_interval, count, percent, score, small
from tabsynth.io import excel_sheets, read_partial_rows
from tabsynth.jobs import DrawConstraints, JobRegistry, JobSpec
from tabsynth.pii import PII_KINDS
from tabsynth.pipeline import RunConfig, load_table
from tabsynth.report import REVIEW_NOTICE, diversity_rows, rebalance_rows, rule_rows
from tabsynth.schema import KINDS, Schema, infer_schema, schema_choices
from tabsynth.settings import DRAW_FORMATS
from tabsynth.synthesizers.registry import DEFAULT_METHOD, METHODS
from tabsynth.ui_support import (
    METHOD_GUIDE,
    MISSING_CODES,
    PAGE_DRAW_ROWS,
    PUBLIC_DOMAIN_HELP,
    TARGET_HELP,
    TREAT_AS_MISSING,
    balance_choices,
    check_rows,
    chosen_roles,
    compare_table,
    device_choices,
    draw_constraint_error,
    draw_words,
    estimate_words,
    fidelity_rows,
    history_row,
    panel_words,
    partial_rows_error,
    privacy_lines,
    public_domain_example,
    rerun_settings,
    run_summary,
    schema_from_rows,
    schema_rows,
    suggested_roles,
    summary_cards,
    target_check,
    target_words,
    time_estimate,
    verdict_summary,
    weak_utility,
    weakest_caption,
    weakest_pairs,
)

SAMPLE = Path(__file__).parent / "sample_data" / "patients.csv"
# Up to this many numeric columns the two correlation heatmaps (26 px a cell, labels, legend:
# about 340 px each) fit side by side in a 900 px wide window; above it they stack.
HEATMAPS_SIDE_BY_SIDE = 6
WEAKEST_SHOWN = 4  # small multiples of the least faithful columns atop the fidelity tab
PAIRS_CAPTION = ("How two columns go together in the real (training), synthetic and holdout "
                 "rows: a single column can look right while its relation to another is lost. "
                 "Ranked by how far the synthetic rows' 2-way distance exceeds the holdout's.")
DISTRIBUTION_BAR = 8  # px per bar on the page (a bar per table and value), drawn at full size
DISTRIBUTION_WIDTH = 440  # px of plot: with 260 px of labels it fits a 900 px wide window
RARE_VALUES_WARNING = (
    "Without differential privacy, rare real values can appear unchanged in the synthetic "
    "table: a category held by a single person, an extreme number, a rare combination. Read "
    "the privacy review before sharing, or tick differential privacy where the method offers "
    "it.")
SCHEMA_STEP_NOTE = (
    "For a run with differential privacy (step 3), the kinds, decimals, date formats and "
    "granularity, yes/no spellings, key widths and missing-value codes above are only "
    "proposals: they are learned again from noisy counts within ε, keeping only your own "
    "edits (included, personal-data, kind and treat as missing) and the target. You can "
    "instead declare this table public knowledge in step 3.")
MISSING_CODES_NOTE = (
    "Likely missing-value codes: these values stand apart from the rest of their column (or sit "
    "where other columns are empty), so they are read as missing: they stay out of the model's "
    "numbers, correlations and fidelity, and come back as the code in synthetic.csv (every "
    "missing value of such a column is written as its first code). Untick **treat as missing** "
    "to keep them as numbers.")
SCHEMA_UNDER_DP_HELP = (
    "On: each column's kind, decimals, date format, yes/no spelling and key width come from "
    "noisy counts charged to ε, so no single row can shape them. Off: the schema above is "
    "used as you confirmed it and counts as public knowledge, outside the guarantee.")
SCHEMA_LEARNED_NOTE = (
    "Kinds and formats are learned within ε (a small part of it); your own edits to the schema "
    "table (included, personal-data, kind and treat as missing) are kept and named in the "
    "claim as yours. "
    "Made-up keys then have no prefix.")
HOLDOUT_HELP = (
    "Rows kept back before training: the control for the privacy checks and the test set for "
    "utility. A larger share gives the checks more power (narrower intervals, so an "
    "inconclusive verdict can settle) and leaves fewer rows to learn from.")
JUSTIFICATION_HELP = (
    "Say why this table may be released although the verdict is not low: what it is for, who "
    "receives it, what else protects the people in it. Your words are recorded in "
    "signoff.json and travel with the data in release.json and release.html: quote no value "
    "or figure of the real data.")
VERDICT_BOX = {"low": "success", "inconclusive": "info", "medium": "warning", "high": "error"}
DRAW_NOTE = (
    "Drawn from this run's fitted model with a seed of your choice, in a background process. "
    "The review above measured the run's own synthetic rows, not these. Made-up columns are "
    "drawn without the check against real values, which is never kept with a model. Downloads "
    "open with the sign-off below, and carry a sign-off record of their own.")
FORMAT_NAMES = {"csv": "CSV", "parquet": "Parquet"}
REBALANCE_CAPTION = (
    "As many rows again, drawn with equal shares of each class of the target, and the same "
    "model trained on each set and tested on the real holdout. More rows with these shares "
    "can be drawn below (Draw more rows, Balance a column).")
DIVERSITY_CAPTION = (
    "Beside a fresh real sample's values (the holdout). A model that collapses onto common "
    "rows keeps its precision and loses recall, coverage and rare categories.")
DRAW_WHERE_HELP = (
    "Only rows with these values or ranges, e.g. age>=65, sex=F or 30<=bmi<40 or "
    "region in north|south, separated by commas. The other columns follow what the model "
    "learned about rows like these, so a condition on one column moves the others as in the "
    "real data. Made-up columns (personal data, keys) cannot be conditioned on.")
DRAW_RULES_HELP = (
    "Rules every row must meet: an order between two columns of numbers or dates "
    "(date_of_birth < admitted_at), a fixed combination (if diagnosis = influenza then symptom "
    "in fever|cough), a range (age >= 0) or an age tied to two dates (age = years from "
    "date_of_birth to admitted_at). A row whose compared cell is empty meets a rule.")
RUN_RULES_NOTE = ("The review shows how many real rows break each rule (for you only: the "
                  "release lists the rules without it).")
PARTIAL_ROWS_HELP = (
    "A table (CSV, Parquet or Excel) whose first row names some of this table's columns, then "
    "one row per row wanted: fill the cells to keep, leave the others empty. Each drawn row "
    "keeps its filled cells and the model draws the rest given them, e.g. a column of ages "
    "and sexes for which the rest of each record is drawn. The table stays in memory; its "
    "filled cells are your own values, copied into the drawn rows as given, outside any "
    "privacy guarantee. Without differential privacy, a partial row that matches a real "
    "person's record can bring back values the model memorised of them.")
PARTIAL_ROWS_STATE = "draw-partial-read"
DRAW_DP_NOTE = ("Differential privacy covers these rows too: drawing from the model is "
                "post-processing, whatever the number of rows.")
DRAW_NO_DP_NOTE = ("Without differential privacy, more rows give rare real rows more chances "
                   "to reappear: read the privacy review with that in mind.")
SCHEMA_PUBLIC_NOTE = (
    "The schema above is used as confirmed and declared public: the guarantee does not cover "
    "it, and the release report says so.")


@st.cache_resource
def registry() -> JobRegistry:
    return JobRegistry()


def owner_token() -> str:
    """A random token per browser tab, kept in the URL so a reload finds its job again."""
    token = st.query_params.get("t")
    if not token:
        token = uuid.uuid4().hex
        st.query_params["t"] = token
    return token


def main() -> None:
    st.set_page_config(page_title="tabsynth", layout="wide")
    st.title("tabsynth")
    st.caption("Privacy-preserving synthetic tables, reviewed before anything leaves.")
    owner = owner_token()
    job = registry().get(st.query_params.get("job"), owner)
    if job is not None:
        show_job(job, owner)
        return
    table = upload_step()
    if table is None:
        return
    schema = schema_step(table)
    if schema is None:
        return
    method_step(table, schema, owner)
    history_section(owner)


def upload_step():
    st.header("1 · Data")
    uploaded = st.file_uploader("Upload a table (CSV, Parquet or Excel)",
                                type=["csv", "tsv", "txt", "gz", "parquet", "xlsx"])
    if st.button("Use the sample data (5,000 made-up patients)"):
        st.session_state["upload"] = (SAMPLE.read_bytes(), SAMPLE.name)
        st.session_state["upload_id"] = "sample"
    if uploaded is not None:
        st.session_state["upload"] = (uploaded.getvalue(), uploaded.name)
        st.session_state["upload_id"] = getattr(uploaded, "file_id", None) or uploaded.name
    if "upload" not in st.session_state:
        st.info("Upload a file or use the sample data to begin.")
        return None
    data, name = st.session_state["upload"]
    sheets = excel_sheets(data)
    sheet = st.selectbox("Sheet", sheets) if len(sheets) > 1 else None
    st.session_state["sheet"] = sheet
    no_header = st.checkbox("The first row is data (the file has no header row)",
                            help="The columns are then named column_1, column_2, …")
    st.session_state["header"] = not no_header
    table = parsed_upload(data, name, sheet, not no_header)
    if isinstance(table, str):
        st.error(f"{name}: {table}")
        return None
    st.write(f"**{name}** — {len(table.frame):,} rows × {table.frame.shape[1]} columns")
    if table.notes:
        st.warning("Reading notes:\n\n" + "\n".join(f"- {note}" for note in table.notes))
    st.dataframe(table.frame.head(10), width="stretch")
    return table


def parsed_upload(data: bytes, name: str, sheet: str | None, header: bool):
    """The upload read once per file and reading choice (not on every rerun): the table, or
    the reason it cannot be read."""
    key = (st.session_state.get("upload_id"), name, len(data), sheet, header)
    cached = st.session_state.get("parsed")
    if cached is None or cached[0] != key:
        try:
            result = load_table(data, filename=name, sheet=sheet, header=header)
        except TabsynthError as exc:
            result = str(exc)
        st.session_state["parsed"] = cached = (key, result)
    return cached[1]


def schema_step(table) -> Schema | None:
    st.header("2 · Schema")
    key = f"schema-{table.sha256}-{hash(tuple(table.frame.columns))}"
    if key not in st.session_state:
        st.session_state[key] = infer_schema(table.frame)
    schema: Schema = st.session_state[key]
    flagged = [c for c in schema.columns if c.pii or c.kind == "identifier"]
    if flagged:
        st.warning("Never learned, regenerated instead:\n\n" + "\n".join(
            f"- **{c.name}** — {c.pii or 'key'}: {c.reason}" for c in flagged))
    coded = [c for c in schema.columns if c.missing_codes]
    if coded:
        st.info(MISSING_CODES_NOTE + "\n\n" + "\n".join(
            f"- **{c.name}**: {c.reason}" for c in coded))
    edited = st.data_editor(
        schema_rows(schema), hide_index=True, width="stretch", key=f"editor-{key}",
        disabled=["column", "reason", MISSING_CODES],
        column_config={
            "kind": st.column_config.SelectboxColumn("kind", options=list(KINDS)),
            "pii": st.column_config.SelectboxColumn("PII kind", options=["", *PII_KINDS]),
            "include": st.column_config.CheckboxColumn("include"),
            TREAT_AS_MISSING: st.column_config.CheckboxColumn(
                TREAT_AS_MISSING, help="Read the column's missing codes as missing values: "
                "modelled as missing, written back as the code. Untick to keep them as numbers."),
        })
    try:
        current = schema_from_rows(schema, edited)
    except TabsynthError as exc:
        st.error(str(exc))
        return None
    st.caption(SCHEMA_STEP_NOTE)
    st.session_state["schema_choices"] = schema_choices(schema, current)
    learned = [c.name for c in current.learned]
    target = st.selectbox("Target column for the utility report (optional)",
                          ["(let tabsynth choose)", *learned], help=TARGET_HELP)
    current.target = None if target.startswith("(") else target
    caption, warning = target_words(*checked_target(table, current),
                                    chosen=current.target is not None)
    st.caption(caption)
    if warning:
        st.warning(warning)
    return current


def checked_target(table, schema: Schema):
    """target_check once per table, learned columns and target (not on every rerun)."""
    key = (table.sha256, tuple(c.name for c in schema.learned), schema.target)
    cached = st.session_state.get("target_check")
    if cached is None or cached[0] != key:
        st.session_state["target_check"] = cached = (key, target_check(table.frame, schema))
    return cached[1]


def method_step(table, schema: Schema, owner: str) -> None:
    st.header("3 · Synthesizer")
    prefill = st.session_state.get("prefill") or {}
    if prefill:
        st.info("The settings of the previous run are filled in: change what you like and "
                "train again.")
    methods = list(METHODS)
    method = st.radio("Method", methods,
                      index=methods.index(prefill.get("method", DEFAULT_METHOD)),
                      format_func=lambda m: m, horizontal=True)
    before = prefill if prefill.get("method") == method else {}
    with st.expander("Which method should I choose?"):
        st.markdown(METHOD_GUIDE)
    info = METHODS[method]
    st.caption(info.note)
    cols = st.columns(4)
    rows = cols[0].number_input(
        "Rows to generate", 1, 10_000_000, prefill.get("rows"),
        placeholder="as many as the training rows",
        help="Blank: as many as the training split (for a DP run, its noisy count, so the "
             "output size says nothing exact about the real table).")
    seed = cols[1].number_input("Seed", 0, 2**31 - 1, int(prefill.get("seed", 0)))
    config = {"method": method, "rows": None if rows is None else int(rows), "seed": int(seed),
              "target": schema.target}
    if "epochs" in info.options:
        if info.page_epochs is None:  # blank: the model's own default for its mode
            epochs = cols[2].number_input(
                "Epochs (at most)", 1, 10_000, before.get("epochs"), placeholder="automatic",
                help="Without DP training stops early once the likelihood of held-back "
                     "training rows stops improving; with DP it runs this many epochs.")
            config["epochs"] = None if epochs is None else int(epochs)
        else:
            config["epochs"] = int(cols[2].number_input(
                "Epochs", 1, 10_000, before.get("epochs") or info.page_epochs))
    if "device" in info.options:
        labels = device_choices()
        chosen = cols[3].selectbox("Device", list(labels), format_func=labels.get)
        config["device"] = chosen
    gan_cols = st.columns(4) if info.options & {"batch_size", "epsilon"} else []
    if "batch_size" in info.options:
        batch = gan_cols[0].number_input(
            "Batch size (rows per step, a multiple of 10)", 10, 100_000,
            before.get("batch_size", info.defaults.get("batch_size")), step=10,
            placeholder="automatic")
        config["batch_size"] = None if batch is None else int(batch)
    if "epsilon" in info.options:
        earlier = before.get("epsilon")
        was_private = None if "epsilon" not in before else info.private(earlier)
        if info.dp == "default":
            private = not gan_cols[3].checkbox(
                "No DP (ε = ∞)", value=was_private is False,
                help="The same GAN without clipping or noise, for comparison: "
                "it can memorise rows and the report makes no privacy claim.")
        else:
            private = gan_cols[3].checkbox(
                "Differential privacy", value=bool(was_private),
                help="Train with DP-SGD under an (ε, δ) guarantee for "
                "adding or removing any one row; off: the best fidelity, no formal guarantee.")
        epsilon = gan_cols[1].number_input(
            "ε (privacy budget)", 0.01, 100.0,
            float(earlier) if was_private else info.defaults.get("epsilon", 1.0),
            disabled=not private)
        config["epsilon"] = float(epsilon) if private else math.inf
        delta = gan_cols[2].text_input(
            "δ (blank: min(1e-6, 1/(n·√n)))",
            "" if before.get("delta") is None else f"{before['delta']:g}", disabled=not private)
        try:
            config["delta"] = float(delta) if delta.strip() and private else None
        except ValueError:
            st.error("δ must be a number such as 1e-6")
            return
        config["public_schema"] = None
        if private:
            public = st.text_area(
                "Public domain (optional JSON; declared values cost no budget and are not "
                "protected)", before.get("public_schema") or "",
                placeholder=public_domain_example(schema), help=PUBLIC_DOMAIN_HELP)
            try:
                parse_public_schema(public)
            except TabsynthError as exc:
                st.error(str(exc))
                return
            config["public_schema"] = public or None
            config["learn_schema"] = st.checkbox(
                "Learn column kinds and formats under ε",
                value=before.get("learn_schema", True),
                help=SCHEMA_UNDER_DP_HELP)
            config["schema_choices"] = st.session_state.get("schema_choices") or None
            st.caption(SCHEMA_LEARNED_NOTE if config["learn_schema"] else SCHEMA_PUBLIC_NOTE)
    if not info.private(config.get("epsilon")):
        st.warning(RARE_VALUES_WARNING)
    try:
        ray_address = cluster_fields(info, config)
    except TabsynthError as exc:
        st.error(str(exc))
        return
    rules_read = rules_field(info, schema, config, before)
    attacker_step(table, schema, config, prefill)
    try:
        RunConfig(**config).validate()
        if method == "ctgan":
            check_ctgan(table.frame, schema)
    except TabsynthError as exc:
        st.error(str(exc))
        return
    estimate = time_estimate(method, len(table.frame), schema, config)
    if estimate is not None:
        st.caption(estimate_words(estimate) + (
            " The job runs on the cluster: its own speed decides the time." if ray_address
            else ""))
    if not rules_read:
        st.caption("Fix the business rules above to train.")
    if st.button("Train", type="primary", disabled=not rules_read):
        data, name = st.session_state["upload"]
        job = registry().start(JobSpec(data=data, filename=name, config=config,
                                       schema_json=schema.to_json(), owner=owner,
                                       sheet=st.session_state.get("sheet"),
                                       header=st.session_state.get("header", True),
                                       estimate=estimate.to_dict() if estimate else None,
                                       ray_address=ray_address))
        st.session_state.pop("prefill", None)
        remember_run(job)
        st.query_params["job"] = job.id
        st.rerun()


def _origin_words(role: str, origin: str) -> str:
    """'Suggested secrets: the utility target ...', or 'Secrets: chosen by you'."""
    if origin.startswith("suggested: "):
        return f"Suggested {role}: {origin.removeprefix('suggested: ')}"
    return f"{role.capitalize()}: {origin}"


def rules_field(info, schema, config: dict, before: dict) -> bool:
    """Business rules every synthetic row of the run meets (methods that enforce them while
    sampling); False when what was typed does not read."""
    config["rules"] = None
    if not info.load().conditional:
        return True
    suggested = suggested_rules(schema)
    # under DP the suggestion (read from the exact schema) is only offered: typed in, a rule is
    # the user's own declaration
    private = info.private(config.get("epsilon"))
    filled = suggested if not private else []
    with st.expander("Business rules every row must meet"
                     + (f" ({len(suggested)} suggested)" if suggested else " (optional)"),
                     expanded=bool(before.get("rules") or suggested)):
        if filled:
            st.caption("Filled in for this table: a made-up column is drawn apart from the "
                       "learned ones unless a rule ties them (a date of birth would not match "
                       "the age). Clear the box to leave them out.")
        elif suggested:
            st.caption("Suggested for this table (a made-up date of birth would not match the "
                       "age): " + "; ".join(suggested) + ". Type it in to use it: with "
                       "differential privacy a rule is your own declaration.")
        text = st.text_area("Rules, one per line",
                            before["rules"] if "rules" in before else "\n".join(filled),
                            key="run-rules", help=DRAW_RULES_HELP + " " + RUN_RULES_NOTE,
                            placeholder="date_of_birth < admitted_at\nage >= 0")
    problem = draw_constraint_error(schema.to_json(), "", text)
    if problem:
        st.error(problem)
        return False
    config["rules"] = text.strip() or None
    return True


def cluster_fields(info, config: dict) -> str | None:
    """Where the job runs: this machine, or a Ray cluster (and on how many workers)."""
    with st.expander("Run on a Ray cluster (optional)"):
        address = st.text_input(
            "Cluster address (host:port; blank: this machine)",
            os.environ.get(cluster.ADDRESS_ENV, ""),
            help="The job runs on the cluster, on a GPU when it has one; the table travels "
                 "to it through the cluster's memory and the files come back here.").strip()
        if "workers" in info.options:
            config["workers"] = int(st.number_input(
                "Workers on the cluster", 1, 256, 1, disabled=not address,
                help="Several workers of the cluster train one model together; with "
                     "differential privacy the guarantee is the same as on one."))
    if not address:
        config["workers"] = 1
        return None
    cluster.split_address(address)
    return address


def attacker_step(table, schema: Schema, config: dict, prefill: dict) -> None:
    """What the re-identification attacks assume the attacker knows and wants (a previous
    run's own choice filled in)."""
    roles = suggested_roles(schema, table.frame)
    options = [c.name for c in schema.learned]

    def earlier(name: str, suggested: list[str]) -> list[str]:
        chosen = prefill.get(name)
        return [c for c in chosen if c in options] if chosen else suggested

    left, right = st.columns(2)
    known = left.multiselect(
        "Quasi-identifiers: what an attacker may know about a person", options,
        default=earlier("quasi_identifiers", roles.quasi_identifiers),
        help="Used by the linkability attack (split between two parties) and as the known "
             "columns of the inference attacks.")
    wanted = right.multiselect(
        "Secrets: what an attacker tries to infer", options,
        default=earlier("secrets", roles.secrets),
        help="One inference attack per secret.")
    st.caption(f"{_origin_words('quasi-identifiers', roles.quasi_identifiers_origin)}. "
               f"{_origin_words('secrets', roles.secrets_origin)}.")
    config["quasi_identifiers"] = chosen_roles(known, roles.quasi_identifiers)
    config["secrets"] = chosen_roles(wanted, roles.secrets)
    config["holdout_fraction"] = float(st.number_input(
        "Holdout share (rows kept back for the checks)", 0.05, 0.5,
        float(prefill.get("holdout_fraction", 0.2)), step=0.05,
        help=HOLDOUT_HELP))


def show_job(job, owner: str) -> None:
    st.header("4 · Training")
    if job.status == "running":
        running_panel(job.id, owner)
        return
    report = registry().report(job) if job.status == "done" else None
    remember_run(job, report)
    if job.status == "done":
        st.success("Finished. Review the reports below before exporting.")
        run_actions(job, "Discard this run")
    else:
        if job.status == "cancelled":
            st.warning("Training was cancelled; nothing was written.")
        else:
            st.error(job.message)
        run_actions(job, "Start over")
        history_section(owner, job.id)
        return
    review_step(report)
    draw_step(job, owner)
    history_section(owner, job.id)
    export_step(job)


def remember_run(job, report: dict | None = None, state: str | None = None) -> None:
    """Keep the run in this session's history (its label stays the order it started in)."""
    history = st.session_state.setdefault("history", {})
    label = history[job.id]["run"] if job.id in history else f"Run {len(history) + 1}"
    if job.id in history and history[job.id].get("state") == "discarded" and state is None:
        return
    if state is None and job.id in st.session_state.get("signed_off", set()):
        state = "signed off"
    history[job.id] = history_row(label, job, report, state)


def run_actions(job, discard_label: str) -> None:
    """Go back to the method step with this run's settings filled in: keeping the run (to
    compare with the next) or discarding it (its files deleted from the server)."""
    again, discard, _ = st.columns([2, 2, 5])
    if again.button("Run again with other settings"):
        st.session_state["prefill"] = rerun_settings(job.config)
        del st.query_params["job"]
        st.rerun()
    if discard.button(discard_label):
        st.session_state["prefill"] = rerun_settings(job.config)
        st.session_state.pop(PARTIAL_ROWS_STATE, None)
        remember_run(job, None, "discarded")
        registry().discard(job)
        del st.query_params["job"]
        st.rerun()


def history_section(owner: str, current: str | None = None) -> None:
    """This session's runs, and two or more of them side by side."""
    history = st.session_state.get("history") or {}
    if not history:
        return
    for job_id, row in history.items():  # refresh runs still on the server
        job = registry().get(job_id, owner)
        if job is not None and row.get("state") != "discarded" and job_id != current:
            done = job.status == "done"
            remember_run(job, registry().report(job) if done else None)
    rows = list(history.values())
    st.subheader("Runs in this session")
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    labels = {row["run"]: job_id for job_id, row in history.items()}
    if len(rows) >= 2:
        chosen = st.multiselect("Compare runs side by side", list(labels),
                                default=list(labels)[-2:])
        if len(chosen) >= 2:
            st.dataframe(compare_table([history[labels[label]] for label in chosen]))
        else:
            st.caption("Choose two or more runs to compare.")
    kept = [label for label, job_id in labels.items()
            if job_id != current and history[job_id].get("state") != "discarded"
            and registry().get(job_id, owner) is not None]
    if kept:
        left, right, _ = st.columns([2, 1, 4])
        which = left.selectbox("Open another run of this session", kept)
        if right.button("Open"):
            st.query_params["job"] = labels[which]
            st.rerun()


def draw_step(job, owner: str) -> None:
    """Draw more rows from the run's model, in the background."""
    st.subheader("Draw more rows")
    method = job.config.get("method", "")
    if job.model_path is None:
        st.caption(f"This run's {method} model could not be kept, so no more rows can be "
                   "drawn from it; run it again to draw rows of another size.")
        return
    dp = (registry().report(job).get("privacy") or {}).get("dp")
    st.caption(DRAW_NOTE + " " + (DRAW_DP_NOTE if dp else DRAW_NO_DP_NOTE))
    cols = st.columns([2, 2, 2, 1])
    seed = cols[1].number_input("Seed of the draw", 0, 2**31 - 1,
                                int(job.config.get("seed", 0)) + 1, key="draw-seed")
    fmt = cols[2].radio("Format", DRAW_FORMATS, horizontal=True, key="draw-format",
                        format_func=FORMAT_NAMES.get)
    wanted = draw_constraints_form(job) if method == "autoregressive" else None
    if wanted is not None and wanted is not False and wanted.partial is not None:
        rows = len(wanted.partial)
        cols[0].text_input("Rows to draw", f"{count(rows)}, one per partial row",
                           disabled=True, key=f"draw-rows-partial-{rows}")
    else:
        rows = cols[0].number_input("Rows to draw", 1, PAGE_DRAW_ROWS, 10_000,
                                    key="draw-rows")
    if wanted is False:
        return
    if cols[3].button("Draw"):
        registry().draw(job, int(rows), int(seed), fmt, wanted or None)
    if job.draws:
        draws_panel(job.id, owner)


def draw_constraints_form(job):
    """Conditions, rules and rebalancing for a draw; False when what was typed does not read."""
    with st.expander("Conditions, rules, balance or partial rows to complete (optional)"):
        where = st.text_input("Conditions", key="draw-where", placeholder="age>=65, sex=F",
                              help=DRAW_WHERE_HELP)
        rules = st.text_area("Rules, one per line", key="draw-rules", help=DRAW_RULES_HELP,
                             placeholder="date_of_birth < admitted_at\n"
                                         "if diagnosis = influenza then symptom in fever|cough")
        choices = balance_choices(job.schema_json)
        balance = st.selectbox("Balance a column (equal shares of its values)",
                               ["(no)", *choices], key="draw-balance")
        balance = "" if balance == "(no)" else balance
        partial = partial_rows_field(job, balance)
    if partial is False:
        return False
    problem = draw_constraint_error(job.schema_json, where, rules, job.model_path)
    if problem:
        st.error(problem)
        return False
    if not (where.strip() or rules.strip() or balance or partial is not None):
        return None
    return DrawConstraints(where.strip(), rules.strip(), balance, partial)


def partial_rows_field(job, balance: str):
    """A table of partial rows to complete: the table, None when none is given, False when it
    cannot be used (the reason is shown). Read in memory, never written."""
    uploaded = st.file_uploader("Partial rows to complete (optional)", key="draw-partial",
                                type=["csv", "tsv", "txt", "gz", "parquet", "xlsx"],
                                help=PARTIAL_ROWS_HELP)
    if uploaded is None:
        return None
    # read and checked once per file, run and balance choice (not on every rerun)
    key = (job.id, getattr(uploaded, "file_id", None) or uploaded.name, uploaded.size, balance)
    cached = st.session_state.get(PARTIAL_ROWS_STATE)
    if cached is None or cached[0] != key:
        try:
            partial = read_partial_rows(uploaded.getvalue(), filename=uploaded.name)
            problem = partial_rows_error(job.schema_json, partial, balance, PAGE_DRAW_ROWS)
        except TabsynthError as exc:
            partial, problem = None, f"{uploaded.name}: {exc}"
        st.session_state[PARTIAL_ROWS_STATE] = cached = (key, partial, problem)
    _, partial, problem = cached
    if problem:
        st.error(problem)
        return False
    filled = int(partial.notna().to_numpy().sum())
    st.caption(f"{count(partial.shape[0])} partial rows with {count(filled)} filled cells "
               f"in {count(partial.shape[1])} columns: each drawn row keeps its partial "
               "row's filled cells and draws the empty ones given them.")
    return partial


@st.fragment(run_every=1.0)
def draws_panel(job_id: str, owner: str) -> None:
    """The draws of this run; while one runs, refreshed every second (the page reruns when the
    last one ends, so its download appears)."""
    job = registry().get(job_id, owner)
    if job is None:
        return
    running = False
    for draw in job.draws:
        registry().refresh_draw(draw)
        running |= draw.status == "running"
        st.caption(f"Drawn rows: {draw_words(draw)}")
    if not running and st.session_state.get("draws-running") == job_id:
        st.session_state.pop("draws-running")
        st.rerun(scope="app")
    if running:
        st.session_state["draws-running"] = job_id


@st.fragment(run_every=1.0)
def running_panel(job_id: str, owner: str) -> None:
    """Live progress; only on the page while the job runs. When the job ends, the whole page is
    rerun (and, should that request be superseded, asked for again at the next tick)."""
    job = registry().get(job_id, owner)
    if job is None:
        st.error("This job no longer exists.")
        return
    if job.status != "running":
        st.rerun(scope="app")
    panel = panel_words(job, time.time())
    st.markdown(f"**{panel.headline}**")
    st.caption(panel.running)
    st.progress(panel.fraction, text=panel.bar)
    if panel.metrics:
        st.caption(panel.metrics)
    if panel.ended:
        st.caption(panel.ended)
    st.caption(panel.stages)
    if st.button("Cancel"):
        registry().cancel(job)
        st.rerun(scope="app")


def review_step(report: dict) -> None:
    st.header("5 · Review")
    st.warning(f"Internal review: {REVIEW_NOTICE}.")
    privacy = report["privacy"]
    fidelity = Fidelity.from_dict(report.get("fidelity"))
    utility = Utility.from_dict(report.get("utility"))
    st.caption(run_summary(report))
    for note in (report.get("input") or {}).get("notes") or []:
        st.caption(f"Reading note: {note}")
    for column, (title, figure, caption) in zip(st.columns(3), summary_cards(report),
                                                strict=True):
        column.metric(title, figure)
        column.caption(caption)
    weak = weak_utility(report)
    if weak:
        st.warning(weak)
    verdict_box(report)
    if privacy.get("not_applicable"):
        st.info(f"Nothing to compare: {privacy['not_applicable']}.")
        return
    tabs = st.tabs(["Fidelity", "Utility", "Privacy"])
    with tabs[0]:
        weakest = fidelity.weakest_columns(WEAKEST_SHOWN)
        if weakest:
            st.subheader("Where the synthetic table differs most")
            st.caption(weakest_caption(weakest))
            show_chart(st, charts.weakest_columns(weakest, fidelity.distributions))
        st.dataframe(fidelity_rows(fidelity.columns), hide_index=True)
        diversity = diversity_rows((report.get("fidelity") or {}).get("diversity"))
        if diversity:
            st.markdown("**Diversity: as varied as the real table?**")
            st.dataframe(pd.DataFrame(diversity), hide_index=True)
            st.caption(DIVERSITY_CAPTION)
        names = list(fidelity.distributions)
        if names:
            column = st.selectbox("Distribution of", names)
            show_chart(st, charts.distribution(column, fidelity.distributions[column],
                                               bar=DISTRIBUTION_BAR,
                                               width=DISTRIBUTION_WIDTH))
        correlation = fidelity.correlation
        if correlation is not None:
            places = (st.columns(2) if len(correlation.columns) <= HEATMAPS_SIDE_BY_SIDE
                      else (st.container(), st.container()))
            for place, matrix, title in zip(places, (correlation.real, correlation.synthetic),
                                            ("real (train)", "synthetic"), strict=True):
                show_chart(place, charts.correlation_heatmap(correlation.columns, matrix, title))
        if fidelity.pairs:
            st.markdown("**Pairs of columns whose relation differs most**")
            st.dataframe(weakest_pairs(fidelity.pairs), hide_index=True)
            st.caption(PAIRS_CAPTION)
    with tabs[1]:
        head = Headline.from_report(report)
        at_chance = chance_note(head.target, head.metric, head.utility, head.utility_real)
        if at_chance:
            st.warning(at_chance)
        if utility.models:
            st.dataframe(pd.DataFrame([{"model": m.model.replace("_", " "),
                                        **{f"TSTR {k}": aggregate(v) for k, v in m.tstr.items()},
                                        **{f"TRTR {k}": aggregate(v) for k, v in m.trtr.items()}}
                                       for m in utility.models]), hide_index=True)
            rebalanced = rebalance_rows(report.get("utility"))
            if rebalanced:
                st.markdown("**Rebalanced target: equal shares of each class**")
                st.dataframe(pd.DataFrame(rebalanced), hide_index=True)
                st.caption(REBALANCE_CAPTION)
        else:
            st.info(utility.note or "not computed")
        rules = rule_rows(report.get("rules"))
        if rules:
            st.markdown("**Business rules, enforced while the rows were drawn**")
            st.dataframe(pd.DataFrame(rules), hide_index=True)
    with tabs[2]:
        view = Privacy.from_dict(privacy)
        rows = [{"attack": a.name, "risk": aggregate(a.risk),
                 "95 % CI": aggregate_interval(a.ci)} for a in view.attacks]
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        if any(a.scored for a in view.attacks):
            show_chart(st, charts.risk_bars(view.attacks, view.bands))
        st.markdown("\n".join(f"- {line}" for line in privacy_lines(privacy)))
        dcr = charts.distance_histogram(privacy.get("distances") or {})
        if dcr is not None:
            show_chart(st, dcr)
        for near in view.near_copies:
            st.write(f"Near copies: {count(near.count)} synthetic rows "
                     f"({percent(near.rate)}) are closer to a training row than "
                     f"{100 * (1 - near.level):.0f} % of holdout rows are; holdout rows "
                     f"themselves: {percent(near.holdout_rate)}.")
        roles = privacy["roles"]
        st.caption(f"Quasi-identifiers: {', '.join(roles['quasi_identifiers'])} "
                   f"({roles['quasi_identifiers_origin']}). Secrets: "
                   f"{', '.join(roles['secrets'])} ({roles['secrets_origin']}).")
        if privacy.get("dp"):
            dp_claim(privacy["dp"])
        else:
            st.write("Differential privacy: none. This synthetic table carries no formal "
                     "guarantee; the attack figures above are the evidence.")
        st.caption(privacy["threat_model"])


def verdict_box(report: dict) -> None:
    """The privacy verdict in two sentences (what it means, what to do next), then the checks
    behind it, each in its own row, folded away."""
    summary = verdict_summary(report)
    verdict = summary.verdict or "not evaluated"
    box = getattr(st, VERDICT_BOX.get(summary.verdict, "warning"))
    box(f"**Privacy verdict: {verdict}.** {summary.meaning}\n\n"
        f"**What to do next:** {summary.next_step}")
    privacy = report.get("privacy") or {}
    if privacy.get("checks"):
        with st.expander("The checks behind the verdict"):
            st.dataframe(check_rows(privacy), hide_index=True)
            st.caption("A check is inconclusive when it stays below its medium threshold but "
                       "its 95 % interval still reaches it: too little data to rule it out.")


def show_chart(place, chart) -> None:
    """A review chart at its own size (charts.py sizes the plot; axes, title and legend come
    around it): stretched to the container, a chart's plot would take the whole width and its
    decorations would be cut off."""
    place.altair_chart(chart, width="content")


def dp_claim(dp: dict) -> None:
    """The DP guarantee in plain words beside ε, and what it leaves out."""
    st.write(f"**Differential privacy: ε = {score(dp['epsilon'])}, δ = {small(dp['delta'])}** "
             f"({dp['accountant']}).")
    st.write(dp.get("plain", ""))
    st.write(f"Protected unit: {dp.get('unit', 'one row')}; {dp.get('group_privacy', '')}.")
    for note in dp.get("range_notes") or []:
        st.warning(note)
    if dp.get("not_covered"):
        st.write("Not covered by the guarantee:\n\n"
                 + "\n".join(f"- {item}" for item in dp["not_covered"]))
    if dp.get("residual_risks"):
        st.caption("Residual risks: " + "; ".join(dp["residual_risks"]) + ".")


def export_step(job) -> None:
    st.header("6 · Sign-off and export")
    reviewed = st.checkbox("I reviewed the privacy report above")
    cols = st.columns(2)
    name = cols[0].text_input("Your name")
    role = cols[1].text_input("Your role")
    review = st.checkbox("Also include the internal review report (contains statistics of the "
                         "real data)")
    verdict = (registry().report(job).get("privacy") or {}).get("verdict")
    justification = ""
    if needs_justification(verdict):
        justification = st.text_area(
            f"Why may this table be released although the privacy verdict is "
            f"{verdict or 'not evaluated'}? (at least {MIN_JUSTIFICATION_WORDS} words)",
            max_chars=2000, help=JUSTIFICATION_HELP)
        st.caption("Recorded in signoff.json and in the release report that travels with the "
                   "data: quote no value or figure of the real data.")
    signoff = SignOff(name=name, role=role, reviewed_privacy_report=reviewed,
                      include_review_report=review, justification=justification)
    try:
        files = export_files(job.folder, signoff)
    except TabsynthError as exc:
        st.info(f"Downloads are locked: {exc}.")
        return
    st.session_state.setdefault("signed_off", set()).add(job.id)
    bundle = zip_name(registry().report(job))
    st.download_button("Download ZIP (" + " + ".join(files) + ")", zip_files(files), bundle,
                       "application/zip", type="primary", help=f"Saved as {bundle}")
    cols = st.columns(4)
    cols[0].download_button("synthetic.csv", files["synthetic.csv"], "synthetic.csv", "text/csv")
    parquet = job.output("synthetic.parquet")
    if parquet.is_file():
        cols[1].download_button("synthetic.parquet", parquet.read_bytes(), "synthetic.parquet",
                                "application/vnd.apache.parquet")
    cols[2].download_button("release.html", files["release.html"], "release.html", "text/html")
    if "report.html" in files:
        cols[3].download_button("report.html (internal review)", files["report.html"],
                                "report.html", "text/html")
    for draw in job.draws:
        if draw.status == "done":
            name = f"{bundle[:-4]}-drawn-{draw.rows}-seed{draw.seed}.zip"
            st.download_button(
                f"Drawn rows: {draw_words(draw)} (ZIP with generation.json and its sign-off "
                "record)",
                lambda d=draw: zip_files(drawn_export_files(job.folder, d.folder, signoff)),
                name, "application/zip", key=f"drawn-{draw.id}")
    if st.button("Finish: delete this job's files from the server"):
        registry().discard(job)
        del st.query_params["job"]
        st.rerun()


if __name__ == "__main__":
    main()
