"""Every chart of the review, as Altair charts built from report.json's sections.

The page shows them with st.altair_chart; report.html and report.pdf embed the same charts as
static SVG. Text from the data (column names, categories) passes through `visible` first, and
enters the charts as data values only, never as field names.

Every size here is the plot's: title, axes and legend come around it (Vega-Lite's "pad"
autosize, stated on each chart because Streamlit otherwise fits the whole chart, decorations
included, into the plot's size, and the plot collapses to a few pixels). Rows of bars take a
fixed height each, so a chart grows with its categories.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from tabsynth import formatting
from tabsynth.evaluation.results import Attack
from tabsynth.visible import visible

SERIES_COLOURS = {"real": "#4c78a8", "synthetic": "#f58518", "holdout": "#54a24b"}
BAND_COLOURS = {"medium": "#b26a00", "high": "#b3261e"}
DCR_SERIES = {"train": "synthetic → train", "holdout": "synthetic → holdout",
              "holdout_to_train": "holdout → train"}
WIDTH = 300
LEGEND_LABEL_LIMIT = 420  # px: a threshold line's name is read whole, not cut to "quantile (1…"
SMALL_WIDTH = 180  # a small multiple's plot
SMALL_BAR = 6  # 18 px a value: every label shown
BAR = 4  # px of height per bar of a distribution (one bar per table and value) in the report
PAD = alt.AutoSizeParams(type="pad")
DASHES = [[5, 3], [1, 2], [8, 3, 2, 3], [2, 4]]  # one dash pattern per labelled line


def distribution(column: str, shares: dict[str, list], bar: int = BAR,
                 width: int = WIDTH) -> alt.Chart:
    """Share of rows per bin or category: real (train), synthetic and holdout side by side,
    `bar` px of height per bar and a plot `width` px wide (report.pdf's grid scales charts
    down; the page asks for more)."""
    labels = [visible(str(label)) for label in shares["labels"]]
    series = [name for name in SERIES_COLOURS if name in shares]
    rows = [{"value": label, "table": name, "share": float(shares[name][i])}
            for name in series for i, label in enumerate(labels)]
    chart = alt.Chart(pd.DataFrame(rows), title=visible(column))
    return chart.mark_bar().encode(
        y=alt.Y("value:N", sort=labels, title=None, axis=alt.Axis(labelLimit=260)),
        yOffset=alt.YOffset("table:N", sort=series),
        x=alt.X("share:Q", title="share of rows", axis=alt.Axis(format="%")),
        color=_colours(series),
        tooltip=["value:N", "table:N", alt.Tooltip("share:Q", format=".1%")],
    ).properties(width=width, height=max(60, bar * len(series) * len(labels)), autosize=PAD)


def weakest_columns(columns: list[dict[str, Any]], distributions: dict[str, Any],
                    per_row: int = 2) -> alt.ConcatChart:
    """Small multiples of the columns fidelity follows least closely (`columns`: Fidelity's
    weakest_columns), each titled with its distance beside the holdout's, `per_row` a row."""
    panels = []
    for column in columns:
        name = column["column"]
        subtitle = (f"TVD {formatting.value(column.get('tvd'))} "
                    f"(holdout {formatting.value(column.get('holdout_tvd'))})")
        panel = distribution(name, distributions[name], bar=SMALL_BAR)
        panel = panel.properties(width=SMALL_WIDTH,
                                 title=alt.TitleParams(visible(str(name)), subtitle=subtitle))
        panel.autosize = alt.Undefined  # the grid's, not each panel's
        panels.append(panel)
    return alt.concat(*panels, columns=per_row, title="Least faithful columns").resolve_scale(
        color="shared").properties(autosize=PAD)


def correlation_heatmap(columns: list[str], matrix: list[list[float]],
                        title: str) -> alt.Chart:
    """Spearman rank correlations of the numeric columns, -1 (blue) to 1 (red)."""
    names = [visible(str(c)) for c in columns]
    cells = [{"row": a, "column": b, "rho": float(matrix[i][j])} for i, a in enumerate(names)
             for j, b in enumerate(names)]
    base = alt.Chart(pd.DataFrame(cells), title=visible(title))
    size = max(120, 26 * len(names))
    encode = {"x": alt.X("column:N", sort=names, title=None),
              "y": alt.Y("row:N", sort=names, title=None)}
    tiles = base.mark_rect().encode(
        **encode, color=alt.Color("rho:Q", title="ρ", scale=alt.Scale(domain=[-1, 1],
                                                                       scheme="redblue",
                                                                       reverse=True)),
        tooltip=["row:N", "column:N", alt.Tooltip("rho:Q", format=".2f")])
    text = base.mark_text(fontSize=9).encode(**encode, text=alt.Text("rho:Q", format=".2f"))
    return (tiles + text).properties(width=size, height=size, autosize=PAD)


def dcr_histogram(histogram: dict[str, list[float]],
                  lines: dict[str, float] | None = None) -> alt.Chart:
    """Distances to the closest record, as shares of rows per distance bin, one series per
    direction (synthetic → train, synthetic → holdout, holdout → train where measured), with
    labelled vertical lines (thresholds, medians)."""
    edges = histogram["edges"]
    rows = []
    for key, counts in histogram.items():
        if key == "edges" or not isinstance(counts, list) or len(counts) != len(edges) - 1:
            continue
        total = sum(counts) or 1
        rows += [{"from": edges[i], "to": edges[i + 1], "share": c / total,
                  "direction": DCR_SERIES.get(key, visible(str(key)))}
                 for i, c in enumerate(counts)]
    directions = list(dict.fromkeys(r["direction"] for r in rows))
    bars = alt.Chart(pd.DataFrame(rows)).mark_bar(opacity=0.55, binSpacing=0).encode(
        x=alt.X("from:Q", title="distance to the closest record"), x2="to:Q",
        y=alt.Y("share:Q", title="share of rows", stack=None, axis=alt.Axis(format="%")),
        y2=alt.datum(0),
        color=alt.Color("direction:N", title=None, sort=directions,
                        legend=alt.Legend(orient="top"),
                        scale=alt.Scale(range=["#f58518", "#54a24b", "#4c78a8"])),
        tooltip=["direction:N", "from:Q", "to:Q", alt.Tooltip("share:Q", format=".1%")])
    chart = bars + _rules(lines or {}, "x")
    return chart.properties(width=2 * WIDTH, height=180, autosize=PAD,
                            title="Distance to the closest record (DCR)")


def distance_histogram(distances: dict[str, Any]) -> alt.Chart | None:
    """The privacy section's whole-table distances (synthetic → train beside holdout → train,
    the last bin holding everything beyond the horizon) with the near-copy thresholds."""
    raw = distances.get("histogram") or {}
    if not raw.get("edges"):
        return None
    # whole-table keys: "synthetic" (synthetic -> train), "holdout" (holdout -> train)
    renamed = {"synthetic": "train", "holdout": "holdout_to_train"}
    histogram = {renamed.get(key, key): value for key, value in raw.items()}
    edges = list(histogram["edges"])
    if len(histogram.get("train") or []) == len(edges) and len(edges) > 1:
        edges.append(edges[-1] + max(edges[-1] - edges[-2], 1e-9))  # the beyond-horizon bin
    histogram["edges"] = edges
    lines = {f"holdout's {100 * n['level']:.0f} % quantile "
             f"({formatting.score(n['threshold'], 2)})": n["threshold"]
             for n in distances.get("near_copies") or []
             if isinstance(n.get("threshold"), int | float)}
    return dcr_histogram(histogram, lines)


def risk_bars(attacks: list[Attack], bands: dict[str, float]) -> alt.Chart:
    """Each attack's risk with its 95 % interval, and the verdict's band lines (medium, high)."""
    rows = [{"attack": visible(str(a.name)), "risk": float(a.risk),
             "low": float(a.ci[0]), "high": float(a.ci[1])}
            for a in attacks if a.scored]
    order = [r["attack"] for r in rows]
    top = max([0.2, *(r["high"] for r in rows), *(1.2 * v for v in bands.values())])
    bottom = min([0.0, *(r["low"] for r in rows)])
    scale = alt.Scale(domain=[bottom, min(1.0, top)])
    base = alt.Chart(pd.DataFrame(rows))
    y = alt.Y("attack:N", sort=order, title=None, axis=alt.Axis(labelLimit=240))
    bars = base.mark_bar(color="#b3261e", opacity=0.6).encode(
        x=alt.X("risk:Q", title="risk (0: no advantage from the synthetic data)", scale=scale),
        y=y, tooltip=["attack:N", alt.Tooltip("risk:Q", format=".3f"),
                      alt.Tooltip("low:Q", format=".3f"), alt.Tooltip("high:Q", format=".3f")])
    whiskers = base.mark_rule(color="#222", strokeWidth=2).encode(x="low:Q", x2="high:Q", y=y)
    lines = {f"{name} ≥ {value:g}": value for name, value in bands.items()}
    return (bars + whiskers + _rules(lines, "x")).properties(
        width=WIDTH, height=max(60, 24 * len(rows)), autosize=PAD,
        title="Attack risks with 95 % intervals")


def _colours(series: list[str]) -> alt.Color:
    return alt.Color("table:N", title=None, sort=series,
                     legend=alt.Legend(orient="top", labelLimit=LEGEND_LABEL_LIMIT),
                     scale=alt.Scale(domain=series, range=[SERIES_COLOURS[s] for s in series]))


def _rules(lines: dict[str, float], channel: str) -> alt.Chart:
    """Dashed lines at the given positions, named in a legend of their own (text beside the
    lines would overlap where two lines meet, or where a line sits on the axis or a bar)."""
    frame = pd.DataFrame([{"line": visible(str(k)), "at": float(v)} for k, v in lines.items()],
                         columns=["line", "at"])
    names = list(frame["line"])
    dash = (alt.StrokeDash("line:N", title=None, sort=names,
                           legend=alt.Legend(orient="top", labelLimit=LEGEND_LABEL_LIMIT),
                           scale=alt.Scale(domain=names, range=DASHES[:len(names)]))
            if names else alt.StrokeDash("line:N", legend=None))
    return alt.Chart(frame).mark_rule(color="#444", strokeWidth=1.5).encode(
        **{channel: alt.X("at:Q") if channel == "x" else alt.Y("at:Q")}, strokeDash=dash,
        tooltip=["line:N"])
