"""Plotly figure builders shared by the Streamlit app and the ``bliss diagnose`` report.

Every function takes plain arrays, lists and dicts and returns a :class:`plotly.graph_objects.Figure`.
No function computes scores: they draw what :mod:`bliss_core.core.diagnostics` and
:mod:`bliss_core.core.live` computed.

Text that a person typed (class labels, dictionary entries, file names) reaches the browser
through plotly hover labels, which render a subset of HTML; every such string is passed
through :func:`html.escape` first.

Colours are consistent across figures: text is one warm family (normal labels red, dictionary
orange), images one cool family (blue / teal), BLISS is purple and baselines are greys/greens.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from ..core.metrics import subsample_curve
from ..core.scorers.checks import METHOD_NAMES
from ..core.text import shorten, strip_control

# -- palette ------------------------------------------------------------------------------
IMAGE_COLOR = "#2563eb"  # images (blue)
LABEL_COLOR = "#dc2626"  # normal-label text (red)
DICT_COLOR = "#f59e0b"  # dictionary text (amber)
NORMAL_COLOR = "#0d9488"  # normal test images
ANOMALY_COLOR = "#7c3aed"  # anomalous test images
FP_COLOR = "#e11d48"
FN_COLOR = "#ea580c"
METHOD_COLORS = {
    "bliss": "#7c3aed",
    "internal": "#64748b",
    "maxsim": "#94a3b8",
    "knn": "#16a34a",
    "mcm": "#0891b2",
    "neglabel": "#db2777",
    "gapshift": "#ca8a04",
}
# Qualitative palette for classes (images): plotly's 24-colour Dark24, whose reds and
# oranges are dropped because they are the texts' colours.
CLASS_PALETTE = [
    "#2E91E5",
    "#1CA71C",
    "#6C4516",
    "#0D2A63",
    "#AF0038",
    "#222A2A",
    "#B68100",
    "#750D86",
    "#EB663B",
    "#511CFB",
    "#00A08B",
    "#FB00D1",
    "#FC0080",
    "#B2828D",
    "#6C7C32",
    "#778AAE",
    "#862A16",
    "#A777F1",
    "#620042",
    "#1616A7",
    "#DA60CA",
    "#6C4516",
    "#0D2A63",
]
TEMPLATE = "plotly_white"


def esc(value) -> str:
    """Escape ``&``, ``<`` and ``>`` for plotly's text (a small HTML subset, so no user tags),
    and drop control and bidi-override characters (they could reverse the text around them).

    Quotes stay as they are: plotly does not decode ``&quot;`` and would show it literally, and
    without ``<`` a quote cannot start or end an attribute.
    """
    return html.escape(strip_control(value), quote=False)


#: Legends go below the axis title, never over the data or the panel title.
_LEGEND_BELOW = dict(orientation="h", x=0, xanchor="left", y=-0.2, yanchor="top", bgcolor="rgba(0,0,0,0)")


def _layout(
    fig: go.Figure, title: str | None = None, height: int = 420, template: str | None = TEMPLATE, **kw
) -> go.Figure:
    """Common layout. ``template=None`` skips expanding the plotly template (costly per figure),
    for the app's live paths where Streamlit's theme styles the chart anyway."""
    if template:
        kw["template"] = template
    fig.update_layout(**_layout_dict(title, height, **kw))
    return fig


# -- embedding space ---------------------------------------------------------------------
def projection_scatter(
    coords: np.ndarray,
    modality: Sequence[str],
    text: Sequence[str],
    ids: Sequence[int],
    class_name: Sequence[str] | None = None,
    color_by: str = "modality",
    title: str | None = None,
    height: int = 620,
    template: str | None = TEMPLATE,
    detail: Sequence[str] | None = None,
) -> go.Figure:
    """Joint 2-D scatter of images and texts.

    ``modality`` per point is one of ``image``, ``label`` (normal-label text), ``class_text``
    (other class names) or ``dict`` (dictionary text). ``text`` is the hover text (an id for
    images, the words for texts); ``ids`` is a global integer id carried in ``customdata``
    so a box/lasso selection can be mapped back to items. ``color_by`` is ``modality`` or
    ``class`` (images coloured by ``class_name``, one legend entry per class; texts keep their
    modality style). ``detail`` is the hover's second line (``class_name`` when not given).
    """
    coords = np.asarray(coords, dtype=float)
    modality = np.asarray(modality)
    ids = np.asarray(ids)
    text = np.asarray([esc(t) for t in text], dtype=object)
    cls = (
        np.asarray(list(class_name), dtype=object)
        if class_name is not None
        else np.full(len(ids), "", object)
    )
    second = np.asarray([esc(d) for d in (detail if detail is not None else cls)], dtype=object)
    fig = go.Figure()

    def add(mask, name, color, symbol, size, opacity=0.8, line=None):
        if not mask.any():
            return
        custom = np.stack([ids[mask].astype(object), text[mask], second[mask]], axis=1)
        fig.add_trace(
            go.Scattergl(
                x=coords[mask, 0],
                y=coords[mask, 1],
                mode="markers",
                name=esc(name),
                marker=dict(
                    color=color, symbol=symbol, size=size, opacity=opacity, line=line or dict(width=0)
                ),
                customdata=custom,
                hovertemplate="%{customdata[1]}<br><i>%{customdata[2]}</i><extra>" + esc(name) + "</extra>",
            )
        )

    if color_by == "class" and class_name is not None:
        img = modality == "image"
        names = list(dict.fromkeys(cls[img].tolist()))
        for i, c in enumerate(names):  # one entry per class, reference and test images alike
            add(
                img & (cls == c),
                f"images: {shorten(c, 40)}",
                CLASS_PALETTE[i % len(CLASS_PALETTE)],
                "circle",
                5,
                0.7,
            )
    else:
        add(modality == "image", "images", IMAGE_COLOR, "circle", 5, 0.55)
    add(modality == "dict", "dictionary text", DICT_COLOR, "diamond", 6, 0.8)
    add(
        modality == "class_text",
        "other class names (text)",
        "#fb7185",
        "star",
        11,
        0.95,
        dict(width=0.5, color="white"),
    )
    add(modality == "label", "normal-label text", LABEL_COLOR, "star", 16, 1.0, dict(width=1, color="white"))
    _layout(fig, title, height=height, dragmode="lasso", template=template)
    # Points can sit anywhere, so the legend goes below the plot area, never over them.
    fig.update_layout(
        legend=dict(orientation="h", x=0, xanchor="left", y=-0.02, yanchor="top", bgcolor="rgba(0,0,0,0)")
    )
    fig.update_xaxes(showticklabels=False, title=None, zeroline=False)
    fig.update_yaxes(showticklabels=False, title=None, zeroline=False, scaleanchor=None)
    return fig


# -- dictionary similarity -----------------------------------------------------------------
def _hist_bars(edges: np.ndarray, heights: np.ndarray, name: str, color: str, hover: str) -> go.Bar:
    """One pre-binned histogram as bars: the browser gets the bins, not every raw value."""
    return go.Bar(
        x=(edges[:-1] + edges[1:]) / 2,
        y=heights,
        width=np.diff(edges),
        name=name,
        marker=dict(color=color, opacity=0.6, line=dict(width=0)),
        hovertemplate=hover + "<extra>" + esc(name) + "</extra>",
    )


def similarity_histograms(
    label_vs_dict: np.ndarray,
    image_vs_dict: np.ndarray,
    title: str | None = "Similarity to the dictionary text",
    nbins: int = 60,
    template: str | None = TEMPLATE,
) -> go.Figure:
    """Two overlaid normalised histograms: normal-label text vs dictionary, images vs dictionary."""
    fig = go.Figure()
    for values, name, color in (
        (label_vs_dict, "normal-label text ↔ dictionary", LABEL_COLOR),
        (image_vs_dict, "images ↔ dictionary", IMAGE_COLOR),
    ):
        v = np.asarray(values, float)
        if v.size == 0:
            continue
        counts, edges = np.histogram(v, bins=nbins)
        dens = counts / max(counts.sum(), 1) / np.diff(edges)
        fig.add_trace(_hist_bars(edges, dens, name, color, "cosine %{x:.3f}<br>density %{y:.2f}"))
    _layout(fig, title, barmode="overlay", bargap=0, template=template)
    fig.update_xaxes(title="cosine similarity")
    fig.update_yaxes(title="density")
    return fig


def avg_dict_similarity_histogram(
    avg_sim: np.ndarray,
    is_anomaly: np.ndarray,
    title: str | None = "Per-image average dictionary similarity",
    nbins: int = 50,
    template: str | None = TEMPLATE,
) -> go.Figure:
    """Distribution of each test image's mean similarity to the dictionary, normal vs anomalous,
    each group as a share of itself (a few hundred normal images beside thousands of anomalies)."""
    avg_sim = np.asarray(avg_sim, float)
    y = np.asarray(is_anomaly, bool)
    edges = np.histogram_bin_edges(avg_sim, bins=nbins)
    fig = go.Figure()
    for mask, name, color in ((~y, "normal test images", NORMAL_COLOR), (y, "anomalies", ANOMALY_COLOR)):
        counts, _ = np.histogram(avg_sim[mask], bins=edges)
        share = counts / max(int(counts.sum()), 1)
        fig.add_trace(
            _hist_bars(
                edges,
                share,
                f"{name} ({int(mask.sum()):,})",
                color,
                "avg sim %{x:.3f}<br>%{y:.1%} of the group",
            )
        )
    _layout(fig, title, barmode="overlay", bargap=0, template=template)
    fig.update_xaxes(title="mean cosine similarity to all dictionary entries")
    fig.update_yaxes(title="share of the group", tickformat=".0%")
    return fig


def error_rate_figure(
    rates: Mapping[str, list],
    title: str | None = "Errors vs average dictionary similarity",
    template: str | None = TEMPLATE,
    y_max: float | None = None,
) -> go.Figure:
    """False-negative and false-positive rates per bin of average dictionary similarity
    (the dict returned by :func:`bliss_core.core.diagnostics.error_rates_by_dict_similarity`).
    ``y_max`` fixes the rate axis, so that panels drawn side by side share one scale."""
    x = np.asarray(rates["bin_center"], float)
    fig = go.Figure()
    for key, name, color, count in (
        ("fn_rate", "missed anomalies (false-negative rate)", FN_COLOR, "n_anomalies"),
        ("fp_rate", "false alarms (false-positive rate)", FP_COLOR, "n_normal"),
    ):
        y = np.array([np.nan if r is None else r for r in rates[key]], float)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines+markers",
                name=name,
                line=dict(color=color, width=3),
                marker=dict(size=8),
                customdata=np.asarray(rates[count]),
                hovertemplate="avg dictionary sim %{x:.3f}<br>rate %{y:.1%}<br>%{customdata} images in bin<extra></extra>",
            )
        )
    _layout(fig, title, template=template, height=440)
    # Rates reach the top at either end and the title sits above: the legend goes below the axis.
    fig.update_layout(
        legend=dict(orientation="h", x=0, xanchor="left", y=-0.22, yanchor="top", bgcolor="rgba(0,0,0,0)"),
        margin=dict(t=50 if title else 20, b=110),
    )
    fig.update_xaxes(title="average dictionary similarity (right = more text-like)")
    if y_max is not None:
        fig.update_yaxes(title="error rate", tickformat=".0%", range=[0, max(float(y_max), 0.01) * 1.08])
    else:
        fig.update_yaxes(title="error rate", tickformat=".0%", rangemode="tozero")
    return fig


# -- scoring -------------------------------------------------------------------------------
def _layout_dict(title: str | None, height: int, **kw) -> dict:
    """The layout every figure starts from (title, size, margins, legend below, font), with ``kw`` on top."""
    layout = dict(
        title=dict(text=esc(title), x=0.01, xanchor="left") if title else None,
        height=height,
        margin=dict(l=50, r=20, t=50 if title else 20, b=45),
        legend=_LEGEND_BELOW,
        font=dict(family="Inter, Segoe UI, Helvetica, Arial, sans-serif", size=13),
    )
    layout.update(kw)
    return layout


def _fast_figure(data: list[dict], layout: dict, template: str | None) -> go.Figure:
    """A figure from plain dicts without plotly's per-property validation, which dominates the
    cost of building these small figures (BENCHMARKS.md). With a ``template`` the figure is
    validated once more so the named template is expanded (for standalone HTML)."""
    fig = go.Figure(dict(data=data, layout=layout), _validate=False)
    return _with_template(fig, template) if template else fig


def _with_template(fig: go.Figure, template: str) -> go.Figure:
    """A validated copy of ``fig`` with the named plotly template expanded into it."""
    fig = go.Figure(fig.to_dict())
    fig.update_layout(template=template)
    return fig


def roc_figure(
    roc: Mapping[str, tuple[np.ndarray, np.ndarray]],
    aurocs: Mapping[str, float] | None = None,
    operating_point: tuple[float, float] | None = None,
    title: str | None = "ROC curves (anomalies = positive)",
    max_points: int = 250,
    height: int = 420,
    template: str | None = TEMPLATE,
) -> go.Figure:
    """ROC curves of several methods, thinned to ``max_points`` each; BLISS drawn on top."""
    data: list[dict] = [
        dict(
            type="scatter",
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            line=dict(color="#cbd5e1", dash="dot", width=1),
            showlegend=False,
            hoverinfo="skip",
        )
    ]
    order = sorted(roc, key=lambda m: m == "bliss")
    for method in order:
        fpr, tpr = subsample_curve(*roc[method], max_points=max_points)
        name = METHOD_NAMES.get(method, method)
        if aurocs and method in aurocs:
            name = f"{name}: {aurocs[method]:.3f}"
        data.append(
            dict(
                type="scatter",
                x=np.asarray(fpr, float),
                y=np.asarray(tpr, float),
                mode="lines",
                name=esc(name),
                line=dict(
                    color=METHOD_COLORS.get(method, "#334155"), width=3.5 if method == "bliss" else 1.8
                ),
                hovertemplate="FPR %{x:.3f}<br>TPR %{y:.3f}<extra>" + esc(name) + "</extra>",
            )
        )
    if operating_point is not None:
        data.append(
            dict(
                type="scatter",
                x=[float(operating_point[0])],
                y=[float(operating_point[1])],
                mode="markers",
                name="operating point",
                marker=dict(color="black", size=11, symbol="x"),
            )
        )
    layout = _layout_dict(
        title,
        height,
        legend=dict(x=0.98, y=0.02, xanchor="right", yanchor="bottom", bgcolor="rgba(255,255,255,0.8)"),
        xaxis=dict(title=dict(text="false-positive rate"), range=[0, 1]),
        yaxis=dict(title=dict(text="true-positive rate"), range=[0, 1.02]),
    )
    return _fast_figure(data, layout, template)


def score_histogram(
    scores: np.ndarray,
    is_anomaly: np.ndarray,
    threshold: float | None = None,
    title: str | None = "BLISS scores",
    nbins: int = 60,
    height: int = 300,
    template: str | None = TEMPLATE,
) -> go.Figure:
    """Score distribution of normal vs anomalous test images with the threshold line, each group
    as a share of its own size (as the scoring page draws it: groups of different sizes compare)."""
    s = np.asarray(scores, float)
    y = np.asarray(is_anomaly, bool)
    edges = np.histogram_bin_edges(s, bins=nbins)
    centers, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    data = []
    for mask, name, color in ((~y, "normal test images", NORMAL_COLOR), (y, "anomalies", ANOMALY_COLOR)):
        counts, _ = np.histogram(s[mask], bins=edges)
        data.append(
            dict(
                type="bar",
                x=centers,
                y=counts / max(int(mask.sum()), 1),
                width=widths,
                name=f"{name} ({int(mask.sum()):,})",
                marker=dict(color=color, opacity=0.6, line=dict(width=0)),
            )
        )
    extra: dict = {}
    if threshold is not None and np.isfinite(threshold):
        extra["shapes"] = [
            dict(
                type="line",
                xref="x",
                yref="paper",
                x0=threshold,
                x1=threshold,
                y0=0,
                y1=1,
                line=dict(color="black", dash="dash", width=2),
            )
        ]
        extra["annotations"] = [
            dict(
                x=threshold, y=1, xref="x", yref="paper", text="threshold", showarrow=False, yanchor="bottom"
            )
        ]
    layout = _layout_dict(
        title,
        height,
        barmode="overlay",
        bargap=0,
        xaxis=dict(title=dict(text="anomaly score (higher = more anomalous)")),
        yaxis=dict(title=dict(text="share of the group"), tickformat=".1%"),
        **extra,
    )
    return _fast_figure(data, layout, template)


def auroc_heatmap(
    lams: Sequence[float],
    topks: Sequence[int],
    grid: np.ndarray,
    current: tuple[float, int] | None = None,
    title: str | None = "BLISS AUROC over λ and K",
    height: int = 380,
    template: str | None = TEMPLATE,
) -> go.Figure:
    """Heat map of AUROC, rows = lambda, columns = K; ``current`` marks the slider position."""
    grid = np.asarray(grid, float)
    xs = [str(k) for k in topks]
    ys = [f"{l:g}" for l in lams]
    data = [
        dict(
            type="heatmap",
            z=grid,
            x=xs,
            y=ys,
            colorscale="Viridis",
            colorbar=dict(title=dict(text="AUROC")),
            text=[[f"{v:.3f}" for v in row] for row in grid],
            texttemplate="%{text}",
            textfont=dict(size=11),
            hovertemplate="K=%{x}<br>λ=%{y}<br>AUROC %{z:.4f}<extra></extra>",
        )
    ]
    shapes = []
    if current is not None:
        lam, k = current
        li = int(np.argmin(np.abs(np.asarray(lams, float) - lam)))
        ki = int(np.argmin(np.abs(np.asarray(topks, float) - k)))
        shapes.append(
            dict(
                type="rect",
                x0=ki - 0.5,
                x1=ki + 0.5,
                y0=li - 0.5,
                y1=li + 0.5,
                line=dict(color="white", width=3),
            )
        )
    layout = _layout_dict(
        title,
        height,
        shapes=shapes,
        margin=dict(l=70, r=20, t=50 if title else 20, b=50),
        xaxis=dict(title=dict(text="K (dictionary entries per image)"), type="category"),
        yaxis=dict(title=dict(text="λ"), type="category"),
    )
    return _fast_figure(data, layout, template)


def whatif_bars(
    names: Sequence[str],
    series: Mapping[str, Sequence[float]],
    threshold: float | None = None,
    title: str | None = None,
    height: int = 320,
    template: str | None = TEMPLATE,
) -> go.Figure:
    """Grouped bars of scores per image (e.g. internal, external, BLISS), with a threshold line."""
    palette = {"internal": "#64748b", "external": DICT_COLOR, "BLISS": METHOD_COLORS["bliss"]}
    fig = go.Figure()
    labels = [esc(n) for n in names]
    for key, values in series.items():
        fig.add_trace(go.Bar(x=labels, y=list(values), name=esc(key), marker_color=palette.get(key)))
    if threshold is not None and np.isfinite(threshold):
        fig.add_hline(
            y=threshold,
            line=dict(color="black", dash="dash"),
            annotation_text="threshold",
            annotation_position="top left",
        )
    _layout(fig, title, height=height, barmode="group", template=template)
    # below the axis: over the plot it would hide bars, beside the title it would crowd it
    fig.update_layout(
        legend=dict(orientation="h", x=0, xanchor="left", y=-0.15, yanchor="top", bgcolor="rgba(0,0,0,0)"),
        margin=dict(b=80),
    )
    fig.update_xaxes(type="category")
    return fig


def grouped_bars(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    title: str | None = None,
    yaxis: str | None = None,
    colors: Mapping[str, str] | None = None,
    height: int = 360,
    template: str | None = TEMPLATE,
) -> go.Figure:
    """Grouped bars: one group per category, one bar per series (e.g. a statistic per bundle, or
    each method's AUROC per bundle). Names are data, so they are escaped; values show on hover
    with 4 decimals."""
    x = [esc(c) for c in categories]
    data = []
    for i, (name, values) in enumerate(series.items()):
        color = (colors or {}).get(name) or CLASS_PALETTE[i % len(CLASS_PALETTE)]
        data.append(
            dict(
                type="bar",
                x=x,
                y=[float(v) for v in values],
                name=esc(name),
                marker=dict(color=color),
                hovertemplate="%{x}<br>%{y:.4f}<extra>" + esc(name) + "</extra>",
            )
        )
    layout = _layout_dict(
        title,
        height,
        barmode="group",
        legend=dict(orientation="h", x=0, xanchor="left", y=-0.15, yanchor="top"),
        xaxis=dict(type="category"),
        yaxis=dict(title=dict(text=esc(yaxis or ""))),
    )
    return _fast_figure(data, layout, template)


def figure_html(fig: go.Figure, template: str | None = TEMPLATE) -> str:
    """A self-contained HTML file of ``fig`` (plotly.js inlined, so it works offline)."""
    if template:
        fig = _with_template(fig, template)
    return fig.to_html(include_plotlyjs=True, full_html=True)
