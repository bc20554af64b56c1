"""Assemble the three evaluations into report.json and one self-contained report.html.

The HTML has no external resource: styles are inline and every chart is inline SVG. Only
learned (non-PII) columns appear in charts; PII columns are listed by name only.
"""

from __future__ import annotations

import html
import time
from typing import Any

import pandas as pd

from tabsynth.evaluation.fidelity import evaluate_fidelity
from tabsynth.evaluation.privacy import PrivacySettings, evaluate_privacy, privacy_roles
from tabsynth.evaluation.utility import evaluate_utility

VERDICT_COLOURS = {"low": "#1b7f3b", "inconclusive": "#5a4fcf", "medium": "#b26a00",
                   "high": "#b3261e"}
REVIEW_NOTICE = ("contains statistics of the real data; not covered by any DP guarantee; "
                 "do not share outside the review")


def evaluate(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
             target: str | None = None, exclude: list[str] | None = None,
             dp: dict[str, Any] | None = None, settings: PrivacySettings | None = None,
             seed: int = 0, quasi_identifiers: list[str] | None = None,
             secrets: list[str] | None = None) -> dict[str, Any]:
    """fidelity / utility / privacy sections of report.json, with the seconds each took.

    quasi_identifiers / secrets: the attacker's known columns and targets (None: tabsynth
    suggests them; the utility target is a secret); a bad name is a ConfigError, raised first.
    """
    skip = set(exclude or [])
    if not [c for c in train.columns if c in synthetic.columns and c not in skip]:
        return nothing_learned(dp)
    privacy_roles(train, synthetic, exclude, target, quasi_identifiers, secrets)  # names first
    timings = {}
    started = time.perf_counter()
    fidelity = evaluate_fidelity(train, holdout, synthetic, exclude, seed=seed).to_dict()
    timings["fidelity"] = time.perf_counter() - started
    started = time.perf_counter()
    utility = evaluate_utility(train, holdout, synthetic, target, exclude, seed).to_dict()
    timings["utility"] = time.perf_counter() - started
    started = time.perf_counter()
    privacy = evaluate_privacy(train, holdout, synthetic, exclude, target=utility["target"],
                               quasi_identifiers=quasi_identifiers, secrets=secrets, dp=dp,
                               settings=settings, seed=seed).to_dict()
    timings["privacy"] = time.perf_counter() - started
    return {"fidelity": fidelity, "utility": utility, "privacy": privacy,
            "evaluation_seconds": {k: round(v, 2) for k, v in timings.items()}}


NOTHING_LEARNED = ("no column was learned: every column is PII, a key or free text and was made "
                   "up from scratch, so no synthetic value derives from a real one")


def nothing_learned(dp: dict[str, Any] | None = None) -> dict[str, Any]:
    """The three sections when there is nothing to compare: all columns were regenerated."""
    return {"fidelity": {"not_applicable": NOTHING_LEARNED},
            "utility": {"task": None, "target": None, "note": NOTHING_LEARNED},
            "privacy": {"not_applicable": NOTHING_LEARNED, "dp": dp, "verdict": "low",
                        "verdict_reasons": [NOTHING_LEARNED]},
            "evaluation_seconds": {}}


# ---------------------------------------------------------------- HTML

def render_html(report: dict[str, Any]) -> str:
    """The internal review as one HTML page: a banner saying so, then summary, fidelity,
    utility, privacy, method and audit record."""
    sections = [_banner(), _summary(report), _fidelity(report.get("fidelity")),
                _utility(report.get("utility")), _privacy(report.get("privacy")),
                _method(report), _audit(report)]
    style = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;"
             "color:#222;line-height:1.45}table{border-collapse:collapse;margin:.5em 0}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
             "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
             ".cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ccc;"
             "border-radius:8px;padding:.8em 1.2em;min-width:220px}.big{font-size:1.6em;"
             "font-weight:600}.muted{color:#666;font-size:.9em}.warn{color:#b3261e}"
             ".charts{display:flex;flex-wrap:wrap;gap:1em}.notice{border:3px solid #b3261e;"
             "background:#fdecea;color:#7a1a14;padding:.8em 1.2em;font-size:1.15em;"
             "border-radius:6px}")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>tabsynth internal review report</title><style>" + style
            + "</style></head><body>"
            + "".join(sections) + "</body></html>")


def _e(value: Any) -> str:
    return html.escape(str(value))


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return _e(value)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_num(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _banner() -> str:
    return (f"<div class=notice role=alert><b>Internal review report</b>: {_e(REVIEW_NOTICE)}. "
            "What may travel with synthetic data is the release report (release.html / "
            "release.json).</div>")


def _summary(report: dict[str, Any]) -> str:
    run, fidelity = report.get("run", {}), report.get("fidelity") or {}
    utility, privacy = report.get("utility") or {}, report.get("privacy") or {}
    verdict = privacy.get("verdict", "not evaluated")
    colour = VERDICT_COLOURS.get(verdict, "#444")
    metric = "auc" if utility.get("task") == "classification" else "r2"
    dp = privacy.get("dp")
    dp_line = (f"ε = {dp['epsilon']:.3f}, δ = {dp['delta']:.2g} ({_e(dp['accountant'])})"
               if dp else "no formal guarantee")
    cards = [
        ("Fidelity", _num(fidelity.get("score")),
         f"a fresh real sample (holdout) scores {_num(fidelity.get('holdout_reference'))}"),
        ("Utility", _num((utility.get("tstr") or {}).get(metric)),
         f"{metric.upper()} trained on synthetic; on real: "
         f"{_num((utility.get('trtr') or {}).get(metric))} (target {_e(utility.get('target'))})"),
        ("Privacy verdict", f"<span style=\"color:{colour}\">{_e(verdict)}</span>",
         f"differential privacy: {dp_line}"),
    ]
    html_cards = "".join(f"<div class=card><div class=muted>{t}</div><div class=big>{v}</div>"
                         f"<div class=muted>{d}</div></div>" for t, v, d in cards)
    reasons = "".join(f"<li>{_e(r)}</li>" for r in privacy.get("verdict_reasons", []))
    what = (f"Method <b>{_e(run.get('method'))}</b> fitted on {run.get('train_rows', '?')} "
            f"training rows; {run.get('holdout_rows', '?')} holdout rows were cut off before "
            f"fitting and never seen by the synthesizer; {run.get('synthetic_rows', '?')} "
            f"synthetic rows generated (seed {run.get('seed', '?')}).")
    notes = (report.get("input") or {}).get("notes") or []
    pii = report.get("pii", {}).get("columns", [])
    pii_line = (f"<p>PII columns never learned, regenerated: {_e(', '.join(pii))}</p>"
                if pii else "<p>No PII columns were found.</p>")
    warnings = (run.get("training") or {}).get("domain_warnings") or {}
    warning_html = "".join(f"<li class=warn>{_e(column)}: {_e(text)}</li>"
                           for column, text in warnings.items())
    notes_html = ("<p>Reading notes (what tabsynth guessed or changed while reading the input):"
                  "</p><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"
                  if notes else "")
    return (f"<h1>tabsynth synthetic data report</h1><p>{what}</p><div class=cards>{html_cards}"
            f"</div>{'<ul>' + reasons + '</ul>' if reasons else ''}{pii_line}{notes_html}"
            f"{'<ul>' + warning_html + '</ul>' if warning_html else ''}")


def _fidelity(fidelity: dict[str, Any] | None) -> str:
    if not fidelity:
        return ""
    if fidelity.get("not_applicable"):
        return f"<h2>Fidelity</h2><p>Not applicable: {_e(fidelity['not_applicable'])}.</p>"
    rows = [[c["column"], c["kind"], c["tvd"], c["holdout_tvd"], c.get("ks_complement"),
             c.get("holdout_ks_complement")] for c in fidelity["columns"]]
    table = _table(["column", "kind", "TVD (synthetic)", "TVD (holdout)", "KS compl. (synthetic)",
                    "KS compl. (holdout)"], rows)
    overall = _table(["measure", "synthetic vs train", "holdout vs train"], [
        ["score = 1 − mean(1-way, 2-way TVD)", fidelity["score"], fidelity["holdout_reference"]],
        ["mean 1-way TVD", fidelity["tvd1"], fidelity["holdout_tvd1"]],
        ["mean 2-way TVD", fidelity["tvd2"], fidelity["holdout_tvd2"]],
        [f"SDMetrics quality ({fidelity.get('sdmetrics_columns', '?')} columns)",
         fidelity.get("sdmetrics_quality"),
         fidelity.get("holdout_sdmetrics_quality")]])
    worst = sorted(fidelity["pairs"], key=lambda p: -p["tvd"])[:10]
    pairs = _table(["pair", "measure", "real", "synthetic", "holdout", "2-way TVD",
                    "holdout 2-way TVD"],
                   [[" × ".join(p["columns"]), p["metric"], p["real"], p["synthetic"],
                     p["holdout"], p["tvd"], p["holdout_tvd"]] for p in worst])
    charts = "".join(_bars(name, d["labels"], {"real": d["real"], "synthetic": d["synthetic"]})
                     for name, d in fidelity.get("distributions", {}).items())
    heatmaps = ""
    correlation = fidelity.get("correlation") or {}
    if correlation:
        heatmaps = ("<h3>Rank correlations of numeric columns</h3><div class=charts>"
                    + _heatmap("real (train)", correlation["columns"], correlation["real"])
                    + _heatmap("synthetic", correlation["columns"], correlation["synthetic"])
                    + "</div>")
    return ("<h2>Fidelity</h2><p>How close the synthetic table is to the training data, beside "
            "the same measure for the holdout: a fresh real sample shows what 'as good as real' "
            f"looks like.</p>{overall}<h3>Columns</h3>{table}<h3>Least faithful pairs</h3>"
            f"{pairs}<h3>Distributions (share of rows)</h3><div class=charts>{charts}</div>"
            f"{heatmaps}")


def _utility(utility: dict[str, Any] | None) -> str:
    if not utility:
        return ""
    if not utility.get("task"):
        return f"<h2>Utility</h2><p>Not computed: {_e(utility.get('note'))}</p>"
    rows = []
    for model in utility["models"]:
        for metric in model["tstr"]:
            rows.append([model["model"], metric, model["tstr"][metric],
                         model["trtr"].get(metric)])
    chosen = ("chosen by you" if utility["target_chosen_by"] == "user"
              else "chosen by tabsynth (pass --target to choose)")
    return (f"<h2>Utility</h2><p>Models trained on synthetic data (TSTR) and on real training "
            f"data (TRTR), both tested on the real holdout. Target <b>{_e(utility['target'])}"
            f"</b> ({_e(utility['task'])}, {chosen}).</p>"
            + _table(["model", "metric", "train synthetic → test real",
                      "train real → test real"], rows)
            + f"<p>Agreement of feature importances (Spearman): "
              f"{_num(utility.get('importance_agreement'))}</p>")


def _dp(dp: dict[str, Any] | None) -> str:
    if not dp:
        return "<p>No differential-privacy guarantee for this method.</p>"
    figures = _table(["ε (accountant)", "δ", "accountant", "ε preprocessing", "ε 2-way tables",
                      "ε training"],
                     [[dp["epsilon"], f"{dp['delta']:.3g}", dp["accountant"],
                       dp["epsilon_preprocessing"], dp.get("epsilon_marginals", 0.0),
                       dp["epsilon_training"]]])
    return (f"<p><b>{_e(dp.get('plain', ''))}</b></p>{figures}"
            + _dp_scope(dp) + f"<p class=muted>{_e(dp['notes'])}</p>")


def _dp_scope(dp: dict[str, Any]) -> str:
    """Unit, group privacy, what the claim leaves out, residual risks, randomness."""
    def items(values: list[str]) -> str:
        return "<ul>" + "".join(f"<li>{_e(v)}</li>" for v in values) + "</ul>"

    return (f"<p><b>Protected unit:</b> {_e(dp.get('unit', ''))}; "
            f"{_e(dp.get('group_privacy', ''))}.</p>"
            + (f"<p><b>Not covered by the guarantee:</b></p>{items(dp['not_covered'])}"
               if dp.get("not_covered") else "")
            + (f"<p><b>Residual risks:</b></p>{items(dp['residual_risks'])}"
               if dp.get("residual_risks") else "")
            + (f"<p><b>Randomness:</b> {_e(dp['randomness'])}.</p>"
               if dp.get("randomness") else ""))


def _privacy(privacy: dict[str, Any] | None) -> str:
    if not privacy:
        return ""
    if privacy.get("not_applicable"):
        return (f"<h2>Re-identification risk</h2><p>Not applicable: "
                f"{_e(privacy['not_applicable'])}.</p><h3>Differential privacy</h3>"
                + _dp(privacy.get("dp")))
    if "singling_out" not in privacy:  # the run skipped the evaluation
        return ("<h2>Re-identification risk</h2><p class=warn>Not evaluated: this run skipped "
                "the fidelity, utility and re-identification reports (--no-evaluate). Do not "
                "release the data on this report alone.</p><h3>Differential privacy</h3>"
                + _dp(privacy.get("dp")))
    roles, distances = privacy["roles"], privacy["distances"]
    rules = "".join(f"<li>{_e(r)}</li>" for r in privacy["rules"])
    return ("<h2>Re-identification risk</h2>"
            f"<p><b>Threat model.</b> {_e(privacy['threat_model'])}</p>"
            f"<p><b>Quasi-identifiers</b> (known to the attacker): "
            f"{_e(', '.join(roles['quasi_identifiers']) or 'none')} "
            f"<span class=muted>({_e(roles['quasi_identifiers_origin'])})</span><br>"
            f"<b>Secrets</b> (inferred by the attacker): {_e(', '.join(roles['secrets']))} "
            f"<span class=muted>({_e(roles['secrets_origin'])})</span></p>"
            + "<h3>Checks behind the verdict</h3>"
            + _table(["check", "statistic", "95 % CI", "no risk", "medium from", "high from",
                      "band"],
                     [[c["label"], c["value"], _ci_text(c["ci"]), c["null"], c["medium"],
                       c["high"], c["band"]] for c in privacy["checks"]])
            + _distance_html(distances) + _membership_html(privacy["membership_inference"])
            + _attacks_html(privacy)
            + "<h3>Differential privacy</h3>" + _dp(privacy.get("dp"))
            + f"<h3>Verdict rules</h3><ul>{rules}</ul>")


def _ci_text(ci: list[float] | None) -> str:
    return "—" if not ci else f"{ci[0]:.3f} to {ci[1]:.3f}"


def _rate(value: float | None, ci: list[float] | None = None) -> str:
    if value is None:
        return "—"
    text = f"{100 * value:.2f} %"
    return text + (f" ({100 * ci[0]:.2f}–{100 * ci[1]:.2f})" if ci else "")


def _distance_html(d: dict[str, Any]) -> str:
    """Near copies, exact copies, DCR share and NNDR against the whole training split."""
    rows = [[f"near copies: closer than the holdout's {100 * n['level']:.0f} % quantile "
             f"({n['threshold']:.3g}, at most the horizon)",
             f"{n['count']:,} = " + _rate(n["rate"], n["ci"]),
             _rate(n["holdout_rate"], n["holdout_ci"]), "the holdout's share"]
            for n in d["near_copies"]]
    exact, dcr, nndr = d["exact_copies"], d["dcr_share"], d["nndr"]
    rows += [["exact copies of a training row", f"{exact['count']:,} = "
              + _rate(exact["rate"], exact["ci"]), _rate(exact["holdout_rate"],
                                                          exact["holdout_ci"]),
              "the holdout's share"],
             ["DCR share: closer to train than to as many holdout rows",
              _rate(dcr["value"], dcr["ci"]), "—", "50 %"],
             ["median NNDR (nearest / second-nearest training row)",
              f"{_num(nndr['synthetic']['median'])} ({_ci_text(nndr['synthetic']['ci'])})",
              f"{_num(nndr['holdout']['median'])} ({_ci_text(nndr['holdout']['ci'])})",
              "the holdout's"],
             ["rows with a training row within the horizon",
              _rate(d["dcr"]["synthetic_within_horizon"]),
              _rate(d["dcr"]["holdout_within_horizon"]), "the holdout's share"]]
    histogram = d["histogram"]
    labels = [f"{e:.2g}" for e in histogram["edges"][:-1]] + [f"≥ {d['horizon']:g}"]
    chart = _bars("distance to the closest training row", labels,
                  {"synthetic": _shares(histogram["synthetic"]),
                   "holdout": _shares(histogram["holdout"])})
    return ("<h3>Distances to the whole training split</h3><p>"
            f"{d['synthetic_queries']:,} of {d['synthetic_rows']:,} synthetic rows and "
            f"{d['holdout_queries']:,} of {d['holdout_rows']:,} holdout rows, each compared "
            f"with all {d['reference_rows']:,} training rows (numbers in training IQR units, "
            f"one per differing category; exact below {d['horizon']:g}, i.e. among rows "
            "that share every category). These detect copying; passing them is not proof of "
            "privacy (Stadler et al. 2022).</p>"
            + _table(["measure", "synthetic (95 % CI)", "holdout (95 % CI)", "no risk"], rows)
            + chart)


def _membership_html(mia: dict[str, Any]) -> str:
    return (f"<h3>Membership inference</h3><p>Attack: {_e(mia['attack'])}. AUC "
            f"{_num(mia['auc'])} (95 % CI {_ci_text(mia['ci'])}; 0.5: members and "
            f"non-members look alike); at a false-positive rate of "
            f"{_rate(mia['fpr_realised'])} it flags {mia['flagged_members']:,} of "
            f"{mia['members']:,} training rows: TPR {_rate(mia['tpr_at_fpr_0.01'], mia['tpr_ci'])}"
            f"; TPR at 10 % false positives {_num(mia['tpr_at_fpr_0.1'])}.</p>")


def _attacks_html(privacy: dict[str, Any]) -> str:
    attacks = [privacy["singling_out"]["univariate"], privacy["singling_out"]["multivariate"],
               privacy["linkability"], *privacy["inference"]]
    rows, bars, notes = [], [], []
    for attack in attacks:
        if attack.get("risk") is None:
            why = (attack.get("not_applicable") or attack.get("error")
                   or ("no query singles out one synthetic row" if attack.get("no_queries")
                       else ""))
            rows.append([attack["name"], "not computed", why, "", "", "", "", ""])
            continue
        warning = "baseline ≥ attack" if attack["baseline_beats_attack"] else ""
        control = attack.get("n_control_attacks", attack["n_attacks"])
        rows.append([attack["name"], attack["risk"], _ci_text(attack["ci"]),
                     attack["main_rate"], attack["baseline_rate"], attack["control_rate"],
                     f"{attack['n_attacks']:,} / {control:,}", warning])
        bars.append((attack["name"], attack["risk"], attack["ci"]))
        if attack.get("note"):
            notes.append(f"{attack['name']}: {attack['note']}")
    link = privacy["linkability"]
    if link.get("aux_columns"):
        notes.append("linkability parties: " + " | ".join(", ".join(h) for h in
                                                          link["aux_columns"])
                     + (f" ({link['split']})" if link.get("split") else ""))
    notes += [f"{a['name']}: known columns {', '.join(a['aux_columns'])}"
              for a in privacy["inference"] if a.get("aux_columns")]
    return ("<h3>anonymeter attacks on the whole synthetic table</h3>"
            + (f"<p class=muted>{_e(privacy['engine'])}</p>" if privacy.get("engine") else "")
            + _table(["attack", "risk", "95 % CI", "main rate", "baseline rate",
                      "control rate", "attacks (main / control)", "note"], rows)
            + _risk_bars(bars)
            + "".join(f"<p class=muted>{_e(n)}</p>" for n in notes))


def _method(report: dict[str, Any]) -> str:
    run = report.get("run", {})
    return ("<h2>Method and limitations</h2>"
            f"<p>{_e(run.get('discloses', ''))}</p><ul>"
            "<li>The holdout was split off before fitting; it is the reference for fidelity, "
            "the test set for utility and the control set for the attacks.</li>"
            "<li>Attack results are estimates on samples, with the confidence intervals shown; "
            "they cover the attacks run, not every conceivable attack.</li>"
            "<li>PII columns were regenerated, so they are left out of every measure.</li></ul>")


def _audit(report: dict[str, Any]) -> str:
    run, source = report.get("run", {}), report.get("input", {})
    inputs = {"input": source} if "sha256" in source else source
    rows = []
    for name, entry in inputs.items():
        rows += [[f"{name} file", entry.get("filename")], [f"{name} SHA-256", entry.get("sha256")],
                 [f"{name} rows", entry.get("rows")]]
    for key in ("method", "device", "device_name", "seed", "epochs", "batch_size",
                "epsilon_target", "holdout_fraction", "target", "train_rows", "holdout_rows",
                "synthetic_rows", "fit_seconds", "sample_seconds"):
        if key in run:
            rows.append([key, run[key]])
    for name, seconds in (report.get("evaluation_seconds") or {}).items():
        rows.append([f"evaluation: {name} seconds", seconds])
    for name, version in (run.get("libraries") or {}).items():
        rows.append([f"library {name}", version])
    if report.get("signoff"):
        for key, value in report["signoff"].items():
            rows.append([f"sign-off {key}", value])
    rows.append(["report created", report.get("created_at")])
    return "<h2>Audit record</h2>" + _table(["field", "value"], rows)


# ---------------------------------------------------------------- inline SVG charts

def _shares(counts: list[float]) -> list[float]:
    total = sum(counts) or 1
    return [c / total for c in counts]


def _bars(title: str, labels: list[str], series: dict[str, list[float]]) -> str:
    colours = ["#4c78a8", "#f58518", "#54a24b"]
    width, row = 360, 16
    height = 24 + row * len(labels) + 20
    top = max([max(v) for v in series.values() if v] + [1e-9])
    parts = [f"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" "
             f"role=\"img\"><title>{_e(title)}</title><text x=\"0\" y=\"14\" "
             f"font-size=\"12\" font-weight=\"600\">{_e(title)}</text>"]
    bar = (row - 4) / max(1, len(series))
    for i, label in enumerate(labels):
        y = 22 + i * row
        parts.append(f"<text x=\"0\" y=\"{y + row - 5}\" font-size=\"10\">"
                     f"{_e(str(label)[:22])}</text>")
        for j, (name, values) in enumerate(series.items()):
            length = 200 * values[i] / top if i < len(values) else 0
            parts.append(f"<rect x=\"140\" y=\"{y + j * bar:.1f}\" width=\"{length:.1f}\" "
                         f"height=\"{bar:.1f}\" fill=\"{colours[j % 3]}\"><title>{_e(name)}: "
                         f"{values[i]:.3f}</title></rect>")
    legend_y = height - 6
    for j, name in enumerate(series):
        parts.append(f"<rect x=\"{140 + j * 90}\" y=\"{legend_y - 8}\" width=\"8\" height=\"8\" "
                     f"fill=\"{colours[j % 3]}\"/><text x=\"{152 + j * 90}\" y=\"{legend_y}\" "
                     f"font-size=\"10\">{_e(name)}</text>")
    return "".join(parts) + "</svg>"


def _heatmap(title: str, labels: list[str], matrix: list[list[float]]) -> str:
    cell, offset = 22, 110
    size = offset + cell * len(labels)
    parts = [f"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size + 20}\">"
             f"<text x=\"0\" y=\"14\" font-size=\"12\" font-weight=\"600\">{_e(title)}</text>"]
    for i, label in enumerate(labels):
        parts.append(f"<text x=\"0\" y=\"{offset + i * cell + 15}\" font-size=\"10\">"
                     f"{_e(label[:16])}</text>")
        for j, value in enumerate(matrix[i]):
            red = int(255 - 160 * max(value, 0))
            blue = int(255 - 160 * max(-value, 0))
            colour = f"rgb({min(red, blue) if value < 0 else 255},{min(red, blue)},"\
                     f"{255 if value < 0 else min(red, blue)})"
            parts.append(f"<rect x=\"{offset + j * cell}\" y=\"{offset + i * cell}\" "
                         f"width=\"{cell - 1}\" height=\"{cell - 1}\" fill=\"{colour}\">"
                         f"<title>{_e(labels[i])} × {_e(labels[j])}: {value:.2f}</title></rect>")
    return "".join(parts) + "</svg>"


def _risk_bars(items: list[tuple[str, float, list[float]]]) -> str:
    if not items:
        return ""
    width, row, scale = 560, 22, 300
    height = 20 + row * len(items)
    parts = [f"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\">"]
    for i, (name, risk, ci) in enumerate(items):
        y = 10 + i * row
        parts.append(f"<text x=\"0\" y=\"{y + 12}\" font-size=\"10\">{_e(name[:38])}</text>")
        parts.append(f"<rect x=\"240\" y=\"{y}\" width=\"{scale * max(risk, 0):.1f}\" "
                     f"height=\"14\" fill=\"#b3261e\" opacity=\"0.7\"/>")
        parts.append(f"<line x1=\"{240 + scale * max(ci[0], 0):.1f}\" x2=\""
                     f"{240 + scale * min(ci[1], 1):.1f}\" y1=\"{y + 7}\" y2=\"{y + 7}\" "
                     "stroke=\"#222\" stroke-width=\"2\"/>")
    return "".join(parts) + "</svg>"
