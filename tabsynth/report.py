"""report.html and report.pdf, the internal review, rendered from report.json.

One Jinja2 template (tabsynth/templates/report.html.j2, autoescaped; the privacy section in its
own partial) and the charts of tabsynth.charts as static SVG (vl-convert): no script, no external
resource. Only learned (non-PII) columns appear in charts; PII columns are listed by name only.
The PDF is the same page laid out by WeasyPrint.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree

import altair as alt
from markupsafe import Markup

from tabsynth import charts, formatting
from tabsynth.evaluation import results
from tabsynth.evaluation.common import MIN_LABEL_ROWS
from tabsynth.evaluation.guidance import summarise
from tabsynth.evaluation.results import Attack, Fidelity, Headline, Privacy, Utility
from tabsynth.evaluation.utility import chance_note, weak_target_note
from tabsynth.evaluation.verdict import FiredRule
from tabsynth.templating import environment

VERDICT_COLOURS = {"low": "#1b7f3b", "medium": "#b26a00", "high": "#b3261e"}
REVIEW_NOTICE = ("contains statistics of the real data; not covered by any DP guarantee; "
                 "do not share outside the review")
# what a fired rule's measure says, in plain words, keyed by its template id
PLAIN_REASONS = {
    "mia_auc": "Someone holding the synthetic data can tell, better than by chance, whether a "
               "given person's record was used for training.",
    "dcr_share": "Synthetic rows lie closer to training rows than to real rows the synthesizer "
                 "never saw, more often than chance: a sign of copied or nearly copied rows.",
    "exact_copy": "More synthetic rows are exact copies of training rows than of real rows the "
                  "synthesizer never saw.",
}
ATTACK_REASON = ("The attack '{name}' succeeds on people in the training data clearly more often "
                 "than on people who were not in it.")
# the font vl-convert measures the charts' text with, and WeasyPrint draws it with (Debian's
# fonts-dejavu-core); a viewer without it falls back to a narrower font
MAX_DISTRIBUTION_CHARTS = 30
# how a pair of columns is compared, in the words of the glossary
PAIR_MEASURES = {"correlation": "Spearman correlation", "cramers_v": "Cramér's V"}
CHART_FONT = "DejaVu Sans, Verdana, sans-serif"


def render_html(report: dict[str, Any]) -> str:
    """The internal review as one self-contained HTML page, headed by the review notice."""
    return environment().get_template("report.html.j2").render(**_view(report))


def render_pdf(report: dict[str, Any]) -> bytes:
    """The same page as a PDF (WeasyPrint; needs Pango on the system)."""
    return html_to_pdf(render_html(report))


# A text token this long (a 5,000-character column name) is clipped in the PDF: breaking it
# anywhere, as the PDF's tables must to stay on the page, costs WeasyPrint minutes
LONG_TOKEN_CHARS = 200
_TEXT_NODE = re.compile(r">([^<]+)<")
_LONG_TOKEN = re.compile(r"\S{" + str(LONG_TOKEN_CHARS) + ",}")


def html_to_pdf(page: str) -> bytes:
    """A page of render_html laid out as a PDF, for callers that rendered it already."""
    from weasyprint import HTML

    return HTML(string=_clip_long_tokens(page)).write_pdf()


def _clip_long_tokens(page: str) -> str:
    """Text tokens of LONG_TOKEN_CHARS or more shortened to their start and an ellipsis (text
    between tags only: attributes, such as a chart's path data, are left whole)."""
    def clip_text(match: re.Match[str]) -> str:
        text = _LONG_TOKEN.sub(lambda token: token.group(0)[:60] + "…", match.group(1))
        return f">{text}<"

    return _TEXT_NODE.sub(clip_text, page)


# ---------------------------------------------------------------- what the template gets

def _view(report: dict[str, Any]) -> dict[str, Any]:
    fidelity = report.get("fidelity") or {}
    utility = report.get("utility") or {}
    typed_fidelity, typed_utility = Fidelity.from_dict(fidelity), Utility.from_dict(utility)
    privacy = report.get("privacy") or {}
    verdict = privacy.get("verdict") or "not evaluated"
    attacks = results.attacks(privacy)
    head = Headline.from_report(report)
    return {
        "notice": REVIEW_NOTICE, "report": report, "run": report.get("run") or {},
        "fidelity": fidelity, "utility": utility, "privacy": privacy,
        "verdict": verdict, "verdict_colour": VERDICT_COLOURS.get(verdict, "#444"),
        "reasons": _reasons(privacy),
        "summary": summarise(privacy, (report.get("run") or {}).get("holdout_fraction")),
        "exact_copies": _exact_copies(privacy),
        "metric": head.metric,
        "weak_target": weak_target_note(head.target, head.metric, head.utility_real),
        "at_chance": chance_note(head.target, head.metric, head.utility, head.utility_real),
        "worst_pairs": typed_fidelity.worst_pairs(), "pair_measures": PAIR_MEASURES,
        "diversity_rows": diversity_rows(fidelity.get("diversity")),
        "rebalance_rows": rebalance_rows(utility),
        "rule_rows": rule_rows(report.get("rules")),
        "model_rows": [(m.model, metric, m.tstr[metric], m.trtr.get(metric))
                       for m in typed_utility.models for metric in m.tstr],
        "attacks": attacks,
        "audit": _audit_rows(report),
        "charts": _charts(typed_fidelity, privacy, attacks),
    }


def _reasons(privacy: dict[str, Any]) -> list[dict[str, str]]:
    """Each verdict reason: what its measure says in plain words, beside the fired rule's
    sentence (the measurement); a reason with no plain words is shown as it stands."""
    plain = {}
    for check in privacy.get("checks") or []:
        rule = FiredRule.of_check(check)
        words = None if rule is None else PLAIN_REASONS.get(rule.template)
        if rule is not None and rule.template == "attack":
            words = ATTACK_REASON.format(name=rule.figures["attack"].value)
        if words is not None:
            plain[rule.sentence()] = words
    return [{"sentence": plain[reason], "measured": reason} if reason in plain
            else {"sentence": reason, "measured": ""}
            for reason in privacy.get("verdict_reasons") or []]


def _exact_copies(privacy: dict[str, Any]) -> str:
    """Exact copies as every surface writes them: synthetic vs holdout, and the excess."""
    view = Privacy.from_dict(privacy)
    return formatting.exact_copies(view.exact_match_rate, view.holdout_exact_match_rate,
                                   view.exact_copy_excess)


def _audit_rows(report: dict[str, Any]) -> list[tuple[str, Any]]:
    run, source = report.get("run") or {}, report.get("input") or {}
    inputs = {"input": source} if "sha256" in source else source
    rows: list[tuple[str, Any]] = []
    for name, entry in inputs.items():
        rows += [(f"{name} file", entry.get("filename")), (f"{name} SHA-256", entry.get("sha256")),
                 (f"{name} rows", entry.get("rows"))]
    for key in ("method", "device", "device_name", "seed", "epochs", "max_epochs", "stopping",
                "batch_size", "epsilon_target", "holdout_fraction", "target", "train_rows",
                "holdout_rows", "synthetic_rows", "fit_seconds", "sample_seconds"):
        if key in run:
            rows.append((key, run[key]))
    rows += [(f"evaluation: {name} seconds", seconds)
             for name, seconds in (report.get("evaluation_seconds") or {}).items()]
    rows += [(f"library {name}", version) for name, version in (run.get("libraries") or {}).items()]
    rows += [(f"sign-off {key}", value) for key, value in (report.get("signoff") or {}).items()]
    rows.append(("report created", report.get("created_at")))
    return rows


DIVERSITY_MEASURES = (
    ("precision", "precision: synthetic rows that look like real ones"),
    ("recall", "recall: real rows the synthetic ones reach (falls when a model collapses)"),
    ("density", "density: how crowded real neighbourhoods are with synthetic rows"),
    ("coverage", "coverage: real rows with a synthetic row nearby"),
)


def diversity_rows(diversity: dict[str, Any] | None) -> list[dict[str, str]]:
    """The diversity table of page and report: each measure for the synthetic rows beside a
    fresh real sample's (the holdout), written once here."""
    if not diversity or "synthetic" not in diversity:
        return []
    fake, fresh = diversity["synthetic"], diversity.get("holdout") or {}
    rows = [{"measure": words, "synthetic": formatting.value(fake.get(key)),
             "holdout": formatting.value(fresh.get(key))} for key, words in DIVERSITY_MEASURES]
    rows.append({"measure": f"categories held by {MIN_LABEL_ROWS} or more real rows that "
                            "appear at all",
                 "synthetic": formatting.percent(fake.get("rare_category_coverage")),
                 "holdout": formatting.percent(fresh.get("rare_category_coverage"))})
    tails, own = fake.get("tail_share"), fresh.get("tail_share")
    if tails:
        rows.append({"measure": "holdout rows outside the synthetic range of a number column "
                                f"(mean; worst: {tails['worst_column']} "
                                f"{formatting.percent(tails['worst'])})",
                     "synthetic": formatting.percent(tails["mean"]),
                     "holdout": formatting.percent(own["mean"]) if own else formatting.MISSING})
    return rows


def rebalance_rows(utility: dict[str, Any] | None) -> list[dict[str, str]]:
    """What equal shares of the target's classes do to a model trained on synthetic rows and
    tested on the real holdout, beside the rows as drawn (page and report)."""
    check = (utility or {}).get("rebalanced")
    if not check:
        return []
    natural, balanced = check["natural"], check["balanced"]
    return [
        {"measure": "rarest class's share of the training rows",
         "as drawn": formatting.percent(natural.get("rarest_share")),
         "equal shares": formatting.percent(balanced.get("rarest_share"))},
        {"measure": "AUC on the real holdout", "as drawn": formatting.aggregate(natural["auc"]),
         "equal shares": formatting.aggregate(balanced["auc"])},
        {"measure": "macro F1 on the real holdout (every class counts alike)",
         "as drawn": formatting.aggregate(natural["f1"]),
         "equal shares": formatting.aggregate(balanced["f1"])}]


def rule_rows(rules: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """The business rules of a run (page and report): each with the share of real rows that
    break it and of synthetic rows that do."""
    return [{"rule": r["rule"], "real rows breaking it": formatting.percent(
                 r.get("real_rows_breaking")),
             "synthetic rows breaking it": formatting.percent(r.get("synthetic_rows_breaking"))}
            for r in rules or []]


def _charted_columns(fidelity: Fidelity, names: list[str]) -> list[str]:
    """The columns to draw, least faithful first, at most MAX_DISTRIBUTION_CHARTS: a wide
    table would otherwise make a page of hundreds of charts (and a very slow PDF)."""
    order = [c["column"] for c in fidelity.weakest_columns(len(names)) if c["column"] in names]
    return (order + [n for n in names if n not in order])[:MAX_DISTRIBUTION_CHARTS]


def _charts(fidelity: Fidelity, privacy: dict[str, Any],
            attacks: list[Attack]) -> dict[str, Any]:
    distributions = fidelity.distributions
    shown = _charted_columns(fidelity, list(distributions))
    out: dict[str, Any] = {
        "distributions": [_svg(charts.distribution(name, distributions[name]))
                          for name in shown],
        "distributions_omitted": len(distributions) - len(shown)}
    correlation = fidelity.correlation
    if correlation is not None:
        out["heatmaps"] = [_svg(charts.correlation_heatmap(correlation.columns, matrix, title))
                           for matrix, title in ((correlation.real, "real (train)"),
                                                 (correlation.synthetic, "synthetic"))]
    if any(a.scored for a in attacks):
        out["risk"] = _svg(charts.risk_bars(attacks, Privacy.from_dict(privacy).bands))
    dcr = charts.distance_histogram(privacy.get("distances") or {})
    if dcr is not None:
        out["dcr"] = _svg(dcr)
    return out


def _svg(chart: alt.TopLevelMixin) -> Markup:
    """A chart as inline SVG; its ids made unique so that several can share one page."""
    import vl_convert

    spec = chart.to_dict()
    spec.setdefault("config", {})["font"] = CHART_FONT  # measured and drawn with one font
    svg = vl_convert.vegalite_to_svg(spec)
    if "xlink:" not in svg:  # declared, never used
        svg = svg.replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    _check_static(svg)
    prefix = f"c{next(_CHART_IDS)}-"
    for name in set(re.findall(r'\sid="([^"]+)"', svg)):
        svg = (svg.replace(f'id="{name}"', f'id="{prefix}{name}"')
               .replace(f"url(#{name})", f"url(#{prefix}{name})")
               .replace(f'href="#{name}"', f'href="#{prefix}{name}"'))
    return Markup(svg)  # vl-convert escapes every text it writes


_CHART_IDS = iter(range(1, 1 << 62))


def _check_static(svg: str) -> None:
    """Refuse an SVG with a script, foreign HTML, an event handler or a link off the page."""
    for element in ElementTree.fromstring(svg).iter():
        tag = element.tag.rsplit("}", 1)[-1].lower()
        links = [v for k, v in element.attrib.items() if k.rsplit("}", 1)[-1] == "href"]
        if (tag in ("script", "foreignobject")
                or any(k.rsplit("}", 1)[-1].lower().startswith("on") for k in element.attrib)
                or any(not v.startswith("#") for v in links)):
            raise ValueError(f"a chart's SVG holds a <{tag}> with a script or a link")
