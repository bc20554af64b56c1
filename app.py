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
from tabsynth.dp.public import parse_public_schema
from tabsynth.errors import TabsynthError
from tabsynth.evaluation.results import Fidelity, Privacy, Utility
from tabsynth.export import (
    MIN_JUSTIFICATION_WORDS,
    SignOff,
    export_files,
    needs_justification,
    zip_files,
    zip_name,
)
from tabsynth.formatting import aggregate, aggregate_interval, count, percent, score, small
from tabsynth.io import excel_sheets
from tabsynth.jobs import JobRegistry, JobSpec
from tabsynth.pii import PII_KINDS
from tabsynth.pipeline import RunConfig, load_table
from tabsynth.report import REVIEW_NOTICE
from tabsynth.schema import KINDS, Schema, infer_schema, schema_choices
from tabsynth.synthesizers.registry import DEFAULT_METHOD, METHODS
from tabsynth.ui_support import (
    METHOD_GUIDE,
    MISSING_CODES,
    PUBLIC_DOMAIN_HELP,
    TARGET_HELP,
    TREAT_AS_MISSING,
    check_rows,
    chosen_roles,
    device_choices,
    estimate_words,
    fidelity_rows,
    panel_words,
    privacy_lines,
    public_domain_example,
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
)

SAMPLE = Path(__file__).parent / "sample_data" / "patients.csv"
# Up to this many numeric columns the two correlation heatmaps (26 px a cell, labels, legend:
# about 340 px each) fit side by side in a 900 px wide window; above it they stack.
HEATMAPS_SIDE_BY_SIDE = 6
DISTRIBUTION_BAR = 8  # px per bar on the page (a bar per table and value), drawn at full size
RARE_VALUES_WARNING = (
    "Without differential privacy, rare real values can appear unchanged in the synthetic "
    "table: a category held by a single person, an extreme number, a rare combination. Read "
    "the privacy review before sharing, or tick differential privacy where the method offers "
    "it.")
SCHEMA_STEP_NOTE = (
    "For a run with differential privacy (step 3), the kinds, decimals, date formats, yes/no "
    "spellings, key widths and missing-value codes above are only proposals: they are learned "
    "again from noisy counts within ε, keeping only your own edits (included, personal-data, "
    "kind and treat as missing) and the target. You can instead declare this table public "
    "knowledge in step 3.")
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
    methods = list(METHODS)
    method = st.radio("Method", methods, index=methods.index(DEFAULT_METHOD),
                      format_func=lambda m: m, horizontal=True)
    with st.expander("Which method should I choose?"):
        st.markdown(METHOD_GUIDE)
    info = METHODS[method]
    st.caption(info.note)
    cols = st.columns(4)
    rows = cols[0].number_input(
        "Rows to generate", 1, 10_000_000, None, placeholder="as many as the training rows",
        help="Blank: as many as the training split (for a DP run, its noisy count, so the "
             "output size says nothing exact about the real table).")
    seed = cols[1].number_input("Seed", 0, 2**31 - 1, 0)
    config = {"method": method, "rows": None if rows is None else int(rows), "seed": int(seed),
              "target": schema.target}
    if "epochs" in info.options:
        if info.page_epochs is None:  # blank: the model's own default for its mode
            epochs = cols[2].number_input(
                "Epochs (at most)", 1, 10_000, None, placeholder="automatic",
                help="Without DP training stops early once the likelihood of held-back "
                     "training rows stops improving; with DP it runs this many epochs.")
            config["epochs"] = None if epochs is None else int(epochs)
        else:
            config["epochs"] = int(cols[2].number_input("Epochs", 1, 10_000, info.page_epochs))
    if "device" in info.options:
        labels = device_choices()
        chosen = cols[3].selectbox("Device", list(labels), format_func=labels.get)
        config["device"] = chosen
    gan_cols = st.columns(4) if info.options & {"batch_size", "epsilon"} else []
    if "batch_size" in info.options:
        batch = gan_cols[0].number_input(
            "Batch size (rows per step, a multiple of 10)", 10, 100_000,
            info.defaults.get("batch_size"), step=10, placeholder="automatic")
        config["batch_size"] = None if batch is None else int(batch)
    if "epsilon" in info.options:
        if info.dp == "default":
            private = not gan_cols[3].checkbox(
                "No DP (ε = ∞)", help="The same GAN without clipping or noise, for comparison: "
                "it can memorise rows and the report makes no privacy claim.")
        else:
            private = gan_cols[3].checkbox(
                "Differential privacy", help="Train with DP-SGD under an (ε, δ) guarantee for "
                "adding or removing any one row; off: the best fidelity, no formal guarantee.")
        epsilon = gan_cols[1].number_input("ε (privacy budget)", 0.01, 100.0,
                                           info.defaults.get("epsilon", 1.0),
                                           disabled=not private)
        config["epsilon"] = float(epsilon) if private else math.inf
        delta = gan_cols[2].text_input("δ (blank: min(1e-6, 1/(n·√n)))", "",
                                       disabled=not private)
        try:
            config["delta"] = float(delta) if delta.strip() and private else None
        except ValueError:
            st.error("δ must be a number such as 1e-6")
            return
        config["public_schema"] = None
        if private:
            public = st.text_area(
                "Public domain (optional JSON; declared values cost no budget and are not "
                "protected)", placeholder=public_domain_example(schema), help=PUBLIC_DOMAIN_HELP)
            try:
                parse_public_schema(public)
            except TabsynthError as exc:
                st.error(str(exc))
                return
            config["public_schema"] = public or None
            config["learn_schema"] = st.checkbox(
                "Learn column kinds and formats under ε", value=True,
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
    attacker_step(table, schema, config)
    try:
        RunConfig(**config).validate()
        if method == "ctgan":
            check_ctgan(table.frame, schema)
    except TabsynthError as exc:
        st.error(str(exc))
        return
    estimate = time_estimate(method, len(table.frame), schema, config)
    if estimate is not None:
        st.caption(estimate_words(estimate))
    if st.button("Train", type="primary"):
        data, name = st.session_state["upload"]
        job = registry().start(JobSpec(data=data, filename=name, config=config,
                                       schema_json=schema.to_json(), owner=owner,
                                       sheet=st.session_state.get("sheet"),
                                       header=st.session_state.get("header", True),
                                       estimate=estimate.to_dict() if estimate else None,
                                       ray_address=ray_address))
        st.query_params["job"] = job.id
        st.rerun()


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
                "Workers to train on", 1, 256, 1, disabled=not address,
                help="Several workers of the cluster train one model together; with "
                     "differential privacy the guarantee is the same as on one."))
    if not address:
        config["workers"] = 1
        return None
    cluster.split_address(address)
    return address


def attacker_step(table, schema: Schema, config: dict) -> None:
    """What the re-identification attacks assume the attacker knows and wants."""
    roles = suggested_roles(schema, table.frame)
    options = [c.name for c in schema.learned]
    left, right = st.columns(2)
    known = left.multiselect(
        "Quasi-identifiers: what an attacker may know about a person", options,
        default=roles.quasi_identifiers, help="Used by the linkability attack (split between "
        "two parties) and as the known columns of the inference attacks.")
    wanted = right.multiselect(
        "Secrets: what an attacker tries to infer", options, default=roles.secrets,
        help="One inference attack per secret.")
    st.caption(f"Suggested quasi-identifiers — {roles.quasi_identifiers_origin}. Suggested "
               f"secrets — {roles.secrets_origin}.")
    config["quasi_identifiers"] = chosen_roles(known, roles.quasi_identifiers)
    config["secrets"] = chosen_roles(wanted, roles.secrets)
    config["holdout_fraction"] = float(st.number_input(
        "Holdout share (rows kept back for the checks)", 0.05, 0.5, 0.2, step=0.05,
        help=HOLDOUT_HELP))


def show_job(job, owner: str) -> None:
    st.header("4 · Training")
    if job.status == "running":
        running_panel(job.id, owner)
        return
    if job.status == "done":
        st.success("Finished. Review the reports below before exporting.")
    else:
        if job.status == "cancelled":
            st.warning("Training was cancelled; nothing was written.")
        else:
            st.error(job.message)
        if st.button("Start over"):
            registry().discard(job)
            del st.query_params["job"]
            st.rerun()
        return
    report = registry().report(job)
    review_step(report)
    export_step(job)


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
        st.dataframe(fidelity_rows(fidelity.columns), hide_index=True)
        names = list(fidelity.distributions)
        if names:
            column = st.selectbox("Distribution of", names)
            show_chart(st, charts.distribution(column, fidelity.distributions[column],
                                               bar=DISTRIBUTION_BAR))
        correlation = fidelity.correlation
        if correlation is not None:
            places = (st.columns(2) if len(correlation.columns) <= HEATMAPS_SIDE_BY_SIDE
                      else (st.container(), st.container()))
            for place, matrix, title in zip(places, (correlation.real, correlation.synthetic),
                                            ("real (train)", "synthetic"), strict=True):
                show_chart(place, charts.correlation_heatmap(correlation.columns, matrix, title))
    with tabs[1]:
        if utility.models:
            st.dataframe(pd.DataFrame([{"model": m.model.replace("_", " "),
                                        **{f"TSTR {k}": aggregate(v) for k, v in m.tstr.items()},
                                        **{f"TRTR {k}": aggregate(v) for k, v in m.trtr.items()}}
                                       for m in utility.models]), hide_index=True)
        else:
            st.info(utility.note or "not computed")
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
    if st.button("Finish: delete this job's files from the server"):
        registry().discard(job)
        del st.query_params["job"]
        st.rerun()


if __name__ == "__main__":
    main()
