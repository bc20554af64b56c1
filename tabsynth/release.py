"""The release report: what may travel with synthetic.csv.

The review report (report.json / report.html) compares the synthetic table with real rows, so it
holds statistics of the real data. The release report is built from it through an allow-list:
run settings, the differential-privacy claim, the names of the PII columns, the privacy verdict
and aggregate scores. Nothing is copied by default, so a key added to the review later never
reaches the release unless it is named here. The sign-off, added at export (export.py), is the
one part in the reviewer's own words: their name, role and, when the verdict is not low, their
justification (the page asks them to quote no value or figure of the real data).
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any

from tabsynth import formatting
from tabsynth.evaluation.guidance import summarise
from tabsynth.evaluation.privacy import LABELS
from tabsynth.evaluation.results import Headline, Privacy
from tabsynth.evaluation.roles import CHOSEN
from tabsynth.evaluation.run import NOTHING_LEARNED
from tabsynth.evaluation.verdict import BANDS, Figure, FiredRule, fields
from tabsynth.templating import environment

SCORE_DIGITS = 2
RELEASE_ABOUT = ("Release report: the run settings, the differential-privacy claim, the names of "
                 "the PII columns and aggregate scores rounded to two decimals. It holds no real "
                 "value, category label, bin edge, per-column statistic or input hash (and, for "
                 "a DP run, no exact row count: the default output size is the noisy count; "
                 "its claim names, per column, the rounded shares of a range that the privacy "
                 "noise coarsened or cut, read from noisy counts only). "
                 "The aggregate scores compare the synthetic rows with real ones and are not "
                 "covered by any DP guarantee. The internal review report (report.json / "
                 "report.html) holds the detail and stays with the review.")
PII_HANDLING = ("never learned; regenerated with Faker (PII) or fresh unique keys, and redrawn "
                "when a made-up value equals a real one")
RUN_KEYS = ("method", "device", "seed", "epochs", "max_epochs", "batch_size", "epsilon_target",
            "holdout_fraction", "synthetic_rows")
RUN_TEXT_KEYS = ("method", "device")
# what compares real rows with real rows (the holdout with the training rows): not DP output, so a
# DP run's release leaves it out (the internal review keeps it)
REAL_VS_REAL_FIDELITY = ("holdout_reference", "holdout_tvd1", "holdout_tvd2",
                         "holdout_sdmetrics_quality")
FIDELITY_KEYS = ("score", "holdout_reference", "tvd1", "tvd2", "holdout_tvd1", "holdout_tvd2",
                 "sdmetrics_quality", "holdout_sdmetrics_quality", "sdmetrics_columns")
UTILITY_METRICS = ("auc", "f1", "r2", "mae")
TASKS = ("classification", "regression")
VERDICTS = BANDS
# the sign-off record: the reviewer, the verdict signed off and their justification (their own
# words, required when the verdict is not low; the page asks them to quote no real figure)
SIGNOFF_KEYS = ("name", "role", "reviewed_privacy_report", "included_review_report",
                "verdict", "justification", "signed_at", "synthetic_sha256")
# a verdict reason travels as its check's fired rule rewritten: the template's own words, no
# exact row count, scores at two decimals, and as names only check, attack and error names
# the release's wording of rules whose figures include fine rates or the holdout's own rates
RELEASE_WORDING = {"near_copy": "near_copy_release", "exact_copy": "exact_copy_release",
                   "mia_tpr": "mia_tpr_release"}
SETTINGS_FIGURES = ("threshold", "fpr")  # the rules' settings, not figures of the data
_ERROR_NAME = re.compile(r"[A-Z][A-Za-z]*(?:Error|Exception|Interrupt)")
SUGGESTED = "suggested by tabsynth from the column names"
WITHHELD_REASON = "another check raised the risk; it is stated in the internal review only"


# ---------------------------------------------------------------- the allow-list

def release_report(report: dict[str, Any]) -> dict[str, Any]:
    """The release part of a review report, built key by key from an allow-list."""
    privacy = report.get("privacy") or {}
    release = {
        "kind": "release",
        "about": RELEASE_ABOUT,
        "tabsynth_version": _text(report.get("tabsynth_version")),
        "created_at": _text(report.get("created_at")),
        "run": _run(report.get("run") or {}),
        "pii": _pii(report.get("pii") or {}),
        "fidelity": _fidelity(report.get("fidelity")),
        "utility": _utility(report.get("utility")),
        "privacy": _privacy(privacy, (report.get("run") or {}).get("holdout_fraction")),
    }
    rules = [_text(r.get("rule")) for r in report.get("rules") or [] if isinstance(r, dict)]
    if rules:  # the rules' words only: how many real rows break them stays in the review
        release["rules"] = rules
    if release["privacy"].get("dp"):
        _drop_real_vs_real(release)
    return release


def _drop_real_vs_real(release: dict[str, Any]) -> None:
    """A DP run's release keeps only figures that involve the synthetic rows or DP output: the
    holdout-against-train references (fidelity, TRTR, the holdout's own copy rates) are not DP
    and would invite differencing across runs."""
    fidelity, utility, privacy = release.get("fidelity"), release.get("utility"), \
        release["privacy"]
    for key in REAL_VS_REAL_FIDELITY:
        (fidelity or {}).pop(key, None)
    (utility or {}).pop("trtr", None)
    privacy.pop("holdout_exact_match_rate", None)
    privacy.pop("exact_copy_excess", None)  # the synthetic rate minus the holdout's
    for near in privacy.get("near_copies") or []:
        near.pop("holdout_rate", None)


def with_signoff(release: dict[str, Any], signoff: dict[str, Any]) -> dict[str, Any]:
    """A copy of the release whose audit part carries the (allow-listed) sign-off record."""
    signed = copy.deepcopy(release)
    signed["signoff"] = {k: _scalar(signoff.get(k)) for k in SIGNOFF_KEYS if k in signoff}
    return signed


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | int | None:
    """Numbers only: anything else (text, lists, NaN, inf) becomes None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if math.isfinite(value) else None


def _score(value: Any) -> float | None:
    """An evaluation score, rounded to two decimals: it compares synthetic rows with real ones
    and is not DP output, so no exact figure (a rate times the row count) may travel."""
    number = _number(value)
    return None if number is None else round(float(number), SCORE_DIGITS)


def _scalar(value: Any) -> str | float | int | bool | None:
    return value if isinstance(value, bool | str) else _number(value)


def _interval(value: Any) -> list[float | int | None] | None:
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None
    return [_score(v) for v in value]


def _run(run: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: (_text if k in RUN_TEXT_KEYS else _number)(run.get(k))
                           for k in RUN_KEYS}
    libraries = run.get("libraries") or {}
    out["libraries"] = {str(k): v for k, v in libraries.items() if isinstance(v, str)}
    return out


def _pii(pii: dict[str, Any]) -> dict[str, Any]:
    details = [{"column": _text(d.get("column")), "kind": _text(d.get("kind")),
                "faker_provider": _text(d.get("faker_provider"))}
               for d in pii.get("details") or [] if isinstance(d, dict)]
    return {"columns": [c for c in pii.get("columns") or [] if isinstance(c, str)],
            "identifiers": [c for c in pii.get("identifiers") or [] if isinstance(c, str)],
            "details": details, "handling": PII_HANDLING}


def _fidelity(fidelity: dict[str, Any] | None) -> dict[str, Any] | None:
    if not fidelity:
        return None
    if fidelity.get("not_applicable"):
        return {"not_applicable": NOTHING_LEARNED}
    return {k: _score(fidelity.get(k)) for k in FIDELITY_KEYS}


def _metrics(scores: Any) -> dict[str, float | int | None]:
    scores = scores if isinstance(scores, dict) else {}
    return {k: _score(scores[k]) for k in UTILITY_METRICS if k in scores}


def _utility(utility: dict[str, Any] | None) -> dict[str, Any] | None:
    if not utility:
        return None
    task = utility.get("task")
    return {"target": _text(utility.get("target")), "task": task if task in TASKS else None,
            "tstr": _metrics(utility.get("tstr")), "trtr": _metrics(utility.get("trtr"))}


def _may_travel(rule: FiredRule, names: set[str]) -> bool:
    """Numbers that are numbers, and names only of checks, attacks, errors and bands."""
    for name, figure in rule.figures.items():
        if figure.kind in ("count", "percent", "score"):
            ok = _number(figure.value) is not None
        elif figure.kind == "text" and isinstance(figure.value, str):
            ok = (figure.value in names if name in ("check", "attack")
                  else figure.value in BANDS if name == "band"
                  else name == "error" and _ERROR_NAME.fullmatch(figure.value) is not None)
        else:
            ok = False
        if not ok:
            return False
    return True


def _coarse(rule: FiredRule) -> str:
    """The sentence that travels: no count of rows or attacks, and figures no finer than the
    release's fields (with the number of synthetic rows a count or a fine rate gives exact
    figures back). The copy and membership rules are worded without their rates and without
    the holdout's own figures (real rows against real rows); the fields carry the rates."""
    template = RELEASE_WORDING.get(rule.template, rule.template)
    figures, counts = {}, []
    for name in fields(template):
        figure = rule.figures[name]
        if figure.kind == "count":
            counts.append(name)
        elif figure.kind in ("score", "percent") and name not in SETTINGS_FIGURES:
            figure = Figure(_score(figure.value), figure.kind)
        figures[name] = figure
    return FiredRule(template, figures).sentence(omit=tuple(counts),
                                                 score_digits=SCORE_DIGITS)


def _reasons(privacy: dict[str, Any], attacks: list[dict[str, Any]]) -> list[str]:
    """Each verdict reason that is the sentence of a fired rule whose figures may travel,
    rewritten from that rule; any other reason is withheld."""
    names = {*LABELS.values(), *(a["name"] for a in attacks if a["name"])}
    rules = [FiredRule.of_check(c) for c in privacy.get("checks") or []]
    travels = {rule.sentence(): _coarse(rule) for rule in rules
               if rule is not None and _may_travel(rule, names)}
    reasons = privacy.get("verdict_reasons")
    return [reason if reason == NOTHING_LEARNED
            else travels.get(reason, WITHHELD_REASON) if isinstance(reason, str)
            else WITHHELD_REASON
            for reason in (reasons if isinstance(reasons, list) else [])]


def _roles(roles: Any) -> dict[str, Any] | None:
    """Which columns the attacks assumed known and secret: names, and who chose them."""
    if not isinstance(roles, dict):
        return None
    out: dict[str, Any] = {}
    for key in ("quasi_identifiers", "secrets"):
        out[key] = [c for c in roles.get(key) or [] if isinstance(c, str)]
        out[f"{key}_origin"] = CHOSEN if roles.get(f"{key}_origin") == CHOSEN else SUGGESTED
    return out


def _privacy(privacy: dict[str, Any], holdout_fraction: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"dp": copy.deepcopy(privacy.get("dp")) or None}
    if privacy.get("not_applicable"):
        out["not_applicable"] = NOTHING_LEARNED
    elif "singling_out" not in privacy:
        out["evaluated"] = False
        return out
    view = Privacy.from_dict(privacy)
    attacks = [{"name": _text(a.name), "risk": _score(a.risk), "ci": _interval(a.ci)}
               for a in view.attacks]
    mia = view.membership
    out.update({
        "evaluated": True,
        "verdict": view.verdict if view.verdict in VERDICTS else None,
        "verdict_reasons": _reasons(privacy, attacks),
        # what the verdict means and what to do next: names of checks, attacks and the
        # attacker's columns only (those that travel), no figure
        "verdict_summary": summarise(
            privacy, _number(holdout_fraction),
            names={*LABELS.values(), *(a["name"] for a in attacks if a["name"])}).to_dict(),
        "attacks": attacks,
        "membership_inference": {"auc": _score(mia.auc), "ci": _interval(mia.ci),
                                 "tpr_at_fpr_0.01": _score(mia.tpr_at_fpr_01)}
        if mia else None,
        "roles": _roles(view.roles),
        "near_copies": [{"level": _number(n.level), "rate": _score(n.rate),
                         "holdout_rate": _score(n.holdout_rate)} for n in view.near_copies],
        "dcr_share": _score(view.dcr_share),
        "exact_match_rate": _score(view.exact_match_rate),
        "holdout_exact_match_rate": _score(view.holdout_exact_match_rate),
        "exact_copy_excess": _score(view.exact_copy_excess),
    })
    return out


# ---------------------------------------------------------------- HTML

def render_release_html(release: dict[str, Any]) -> str:
    """One self-contained page (inline CSS, no script, no external resource), all escaped:
    tabsynth/templates/release.html.j2 in the review report's environment."""
    return environment().get_template("release.html.j2").render(**_view(release))


def released(value: Any) -> str:
    """An evaluation score as the release holds it and every surface writes it: two decimals,
    so no digit is shown that the release rounded away (0.97, not 0.970)."""
    return formatting.aggregate(value)


def _released_interval(bounds: Any) -> str:
    return formatting.aggregate_interval(bounds)


def _view(release: dict[str, Any]) -> dict[str, Any]:
    """What the template gets: the release's sections, and its tables as rows of values
    (evaluation scores already written at the release's two decimals)."""
    privacy = release["privacy"]
    dp = privacy.get("dp")
    fidelity, utility = release.get("fidelity"), release.get("utility")
    roles = privacy.get("roles") or {}
    return {
        "release": release, "run": release["run"], "privacy": privacy, "dp": dp,
        "signoff": release.get("signoff") or {},
        "fidelity": fidelity, "utility": utility, "pii": release["pii"],
        "fidelity_rows": _fidelity_rows(fidelity, with_reference=not dp),
        "cards": _cards(release),
        "dp_plain": dp_in_plain_words(dp) if dp else None,
        "dp_rows": [(k, v) for k, v in dp.items() if k != "plain"] if dp else [],
        "attack_rows": [[a["name"], released(a["risk"]), _released_interval(a["ci"])]
                        for a in privacy.get("attacks") or []],
        "check_rows": _check_rows(privacy),
        "role_rows": [
            ("quasi-identifiers (known to the attacker)",
             f"{', '.join(roles['quasi_identifiers']) or 'none'} "
             f"({roles['quasi_identifiers_origin']})"),
            ("secrets (inferred by the attacker)",
             f"{', '.join(roles['secrets']) or 'none'} ({roles['secrets_origin']})")]
        if roles else [],
        "utility_rows": _utility_rows(utility),
        "pii_rows": _pii_rows(release["pii"]),
        "audit_rows": _audit_rows(release),
    }


def _cards(release: dict[str, Any]) -> list[tuple[str, str, str]]:
    head = Headline.from_report(release)
    dp = release["privacy"].get("dp")
    dp_line = (f"ε = {formatting.score(dp.get('epsilon'))}, "
               f"δ = {formatting.small(dp.get('delta'))}" if dp else "no formal guarantee")
    fidelity_note = ("synthetic rows against the training rows" if dp else
                     f"a fresh real sample scores {released(head.fidelity_holdout)}")
    utility_note = (f"{head.metric.upper()} of a model trained on synthetic rows, tested on real "
                    "ones" if dp else f"{head.metric.upper()} trained on synthetic; on real: "
                    f"{released(head.utility_real)}")
    return [
        ("Fidelity", released(head.fidelity), fidelity_note),
        ("Utility", released(head.utility), utility_note),
        ("Privacy verdict", formatting.value(head.verdict or "not evaluated"),
         f"differential privacy: {dp_line}"),
    ]


def _utility_rows(utility: dict[str, Any] | None) -> list[list[Any]]:
    """metric, trained on synthetic, trained on real (the latter absent from a DP release)."""
    if not utility or not utility.get("task"):
        return []
    tstr, trtr = utility["tstr"], utility.get("trtr")
    metrics = sorted(set(tstr) | set(trtr or {}))
    return [[m, released(tstr.get(m))] + ([] if trtr is None else [released(trtr.get(m))])
            for m in metrics]


def _fidelity_rows(fidelity: dict[str, Any] | None, with_reference: bool) -> list[list[str]]:
    """measure, synthetic (and, outside a DP release, the holdout's reference)."""
    if not fidelity or fidelity.get("not_applicable"):
        return []
    measures = [("score (1 is perfect)", "score", "holdout_reference"),
                ("mean 1-way TVD", "tvd1", "holdout_tvd1"),
                ("mean 2-way TVD", "tvd2", "holdout_tvd2"),
                ("SDMetrics quality", "sdmetrics_quality", "holdout_sdmetrics_quality")]
    return [[label, released(fidelity.get(key))]
            + ([released(fidelity.get(reference))] if with_reference else [])
            for label, key, reference in measures]


EXACT_COPIES_ROUNDED = ("each rounded to a whole percent, so the excess need not equal their "
                        "difference")
EXACT_COPIES_DP = ("the holdout's own rate and the excess are left out of a differentially "
                   "private release: they compare real rows with real rows")


def exact_copies_row(privacy: dict[str, Any]) -> tuple[str, str]:
    """Exact copies as every surface writes them (synthetic vs holdout, and the excess), from
    the release's rounded fields; a DP release has the synthetic rate only, and says so."""
    label = "exact copies (synthetic and holdout rows equal to a training row)"
    if "holdout_exact_match_rate" not in privacy:
        return label, (formatting.exact_copies(privacy.get("exact_match_rate"),
                                               figure=formatting.rounded_percent)
                       + f" ({EXACT_COPIES_DP})")
    return label, (formatting.exact_copies(privacy.get("exact_match_rate"),
                                           privacy.get("holdout_exact_match_rate"),
                                           privacy.get("exact_copy_excess"),
                                           figure=formatting.rounded_percent)
                   + f" ({EXACT_COPIES_ROUNDED})")


def _check_rows(privacy: dict[str, Any]) -> list[tuple[str, Any]]:
    mia = privacy.get("membership_inference") or {}
    rate = formatting.rounded_percent
    near = [(f"synthetic rows closer to a training row than {100 * (1 - n['level']):.0f} % "
             "of holdout rows" + (" (holdout rows themselves beside)" if "holdout_rate" in n
                                  else ""),
             rate(n["rate"]) + (f" (holdout {rate(n['holdout_rate'])})"
                                if "holdout_rate" in n else ""))
            for n in privacy.get("near_copies") or [] if n.get("level") is not None]
    return [
        ("membership inference AUC (0.5: members and non-members look alike)",
         released(mia.get("auc"))),
        ("membership inference AUC 95 % CI", _released_interval(mia.get("ci"))),
        ("membership inference: training rows flagged at 1 % false positives",
         rate(mia.get("tpr_at_fpr_0.01"))),
        *near,
        ("DCR share closer to train (0.5: no memorisation signal)",
         released(privacy.get("dcr_share"))),
        exact_copies_row(privacy),
    ]


def _pii_rows(pii: dict[str, Any]) -> list[list[Any]]:
    rows = [[d["column"], d["kind"], d["faker_provider"]] for d in pii["details"]]
    return rows + [[name, "identifier", "fresh unique keys"] for name in pii["identifiers"]
                   if name not in pii["columns"]]


def _audit_rows(release: dict[str, Any]) -> list[tuple[str, Any]]:
    run = release["run"]
    rows: list[tuple[str, Any]] = [(k, run.get(k)) for k in RUN_KEYS]
    rows += [(f"library {k}", v) for k, v in run["libraries"].items()]
    rows += [("tabsynth version", release.get("tabsynth_version")),
             ("report created", release.get("created_at"))]
    return rows + [(f"sign-off {k}", v) for k, v in (release.get("signoff") or {}).items()]


def dp_in_plain_words(dp: dict[str, Any]) -> str:
    """What an (ε, δ) claim promises: the claim's own paragraph, or one built from ε and δ."""
    if _text(dp.get("plain")):
        return dp["plain"]
    epsilon, delta = _number(dp.get("epsilon")), _number(dp.get("delta"))
    if epsilon is None:
        return "ε is not finite: this run makes no formal privacy claim."
    factor = f"{math.exp(epsilon):.3g}" if epsilon < 50 else "more than 10^21"
    return (f"The claim protects against adding or removing one row of the training split: "
            f"that changes the probability of any synthetic table this run could produce by at "
            f"most a factor e^ε ≈ {factor}, apart from a probability "
            f"δ = {formatting.small(delta)}; the smaller ε, the stronger the protection. It "
            "covers only what the claim below says.")
