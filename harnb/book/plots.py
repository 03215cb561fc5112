"""Figures for the book: plotly where interaction helps, matplotlib for print.

Plotly figures are returned as HTML that expects ``plotly.js`` to be loaded once by the page (the
book serves it from ``_static``), because jupyter-book 1 drops plotly's own MIME type and
embedding 4.7 MB of JavaScript per figure would bloat every page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from harnb.config import ARCHITECTURES, CHANNELS, CLASSES, DATASETS
from harnb.study.published import display_name

if TYPE_CHECKING:
    import plotly.graph_objects as go

_PLOTLY_LOADER = (
    "<script>if (typeof Plotly === 'undefined') {{ var s = document.createElement('script');"
    " s.src = 'https://cdn.plot.ly/plotly-{v}.min.js'; document.head.appendChild(s); }}</script>"
)


def show(fig: go.Figure):
    """Render a plotly figure as HTML that works in the built book and in Jupyter.

    In the book, plotly.js comes from the page's ``_static``; in a live notebook without it,
    a small loader fetches it.
    """
    import plotly
    from IPython.display import HTML

    html = fig.to_html(include_plotlyjs=False, full_html=False, config={"responsive": True})
    return HTML(_PLOTLY_LOADER.format(v=plotly.__version__) + html)


def class_distribution(counts: pd.DataFrame, title: str = "Windows per class") -> go.Figure:
    """Grouped bar chart of windows per class; ``counts`` has rows datasets and columns classes."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for ds, row in counts.iterrows():
        fig.add_bar(name=str(ds), x=list(counts.columns), y=row.values, meta={"dataset": str(ds)})
    fig.update_layout(
        barmode="group", title=title, xaxis_title="class", yaxis_title="windows", height=420
    )
    return fig


def signals(
    panels: list[tuple[str, np.ndarray, np.ndarray]],
    title: str = "",
    channels: tuple[str, ...] = CHANNELS,
):
    """Matplotlib figure of several (label, t, X[n, 6]) signals, acc and gyro in two rows."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(panels), figsize=(5 * len(panels), 5), squeeze=False)
    for j, (label, t, x) in enumerate(panels):
        for row, sl, unit in ((0, slice(0, 3), "m/s²"), (1, slice(3, 6), "rad/s")):
            ax = axes[row, j]
            for k, ch in zip(range(sl.start, sl.stop), channels[sl], strict=True):
                ax.plot(t, x[:, k], lw=0.8, label=ch)
            ax.set_ylabel(unit)
            ax.set_title(label if row == 0 else "")
            ax.legend(fontsize=7, loc="upper right")
        axes[1, j].set_xlabel("time (s)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def heatmap(
    matrix: pd.DataFrame,
    title: str,
    zmin: float = 0.0,
    zmax: float = 1.0,
    fmt: str = ".2f",
    xlabel: str = "test dataset",
    ylabel: str = "training dataset",
) -> go.Figure:
    """Annotated heat-map (cross-dataset matrix, confusion matrix)."""
    import plotly.graph_objects as go

    z = matrix.to_numpy(dtype=float)
    text = [[("" if np.isnan(v) else format(v, fmt)) for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in matrix.columns],
            y=[str(i) for i in matrix.index],
            text=text,
            texttemplate="%{text}",
            colorscale="Viridis",
            zmin=zmin,
            zmax=zmax,
        )
    )
    fig.update_layout(title=title, xaxis_title=xlabel, yaxis_title=ylabel, height=420)
    fig.update_yaxes(autorange="reversed")
    return fig


def curves(history: pd.DataFrame, title: str = "") -> go.Figure:
    """Pre-training curves: one line per pre-training (model, target, seed), one row of
    panels per model, one column per metric; colour = target, dash = seed.

    ``history`` is tidy (model, target, seed, step, metric, value), e.g.
    :meth:`harnb.study.published.Pretraining.curves`. Each trace carries its (model, target,
    seed, metric) in ``meta``, so a test can check that no line joins two pre-trainings.
    """
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    models = list(dict.fromkeys(history["model"]))
    metrics = list(dict.fromkeys(history["metric"]))
    rank = {display_name(d): i for i, d in enumerate(DATASETS)}  # the paper's order
    targets = sorted(dict.fromkeys(history["target"]), key=lambda t: (rank.get(t, 99), t))
    seeds = sorted(set(history["seed"]))
    colour = {t: qualitative.Plotly[i % 10] for i, t in enumerate(targets)}
    dash = {s: ("solid", "dash", "dot", "dashdot")[i % 4] for i, s in enumerate(seeds)}
    fig = make_subplots(
        rows=max(len(models), 1),
        cols=max(len(metrics), 1),
        column_titles=metrics or None,
        row_titles=models or None,
        horizontal_spacing=0.07,
        vertical_spacing=0.05,
    )
    shown: set[tuple] = set()
    for (m, t, seed, metric), d in history.groupby(["model", "target", "seed", "metric"],
                                                   sort=False):  # fmt: skip
        d = d.sort_values("step")
        fig.add_scatter(
            x=d["step"], y=d["value"], mode="lines", name=f"{t} · seed {seed}",
            legendgroup=f"{t} · seed {seed}", showlegend=(t, seed) not in shown,
            legendrank=100 * targets.index(t) + seeds.index(seed),
            line={"color": colour[t], "dash": dash[seed], "width": 1.5},
            meta={"model": m, "target": t, "seed": int(seed), "metric": metric},
            hovertemplate=f"{m} · {t} · seed {seed}<br>{metric}: %{{y:.3f}} at step %{{x}}"
                          "<extra></extra>",
            row=models.index(m) + 1, col=metrics.index(metric) + 1,
        )  # fmt: skip
        shown.add((t, seed))
    fig.update_xaxes(title_text="optimiser step", row=max(len(models), 1))
    fig.update_layout(
        height=200 + 230 * max(len(models), 1),
        title=title or None,
        legend={"title_text": "target · seed", "orientation": "h", "yanchor": "top",
                "y": -0.06, "x": 0},
        margin={"t": 40, "r": 30},
    )  # fmt: skip
    return fig


def scatter_2d(xy: np.ndarray, labels: np.ndarray, title: str = "", hover=None) -> go.Figure:
    """Interactive 2-D scatter coloured by union class (t-SNE)."""
    import plotly.express as px

    names = np.asarray([CLASSES[int(i)] for i in labels])
    fig = px.scatter(
        x=xy[:, 0],
        y=xy[:, 1],
        color=names,
        hover_name=hover,
        title=title,
        category_orders={"color": [c for c in CLASSES if c in set(names)]},
        opacity=0.7,
    )
    fig.update_traces(marker={"size": 4})
    fig.update_layout(
        height=520, legend_title="class", xaxis_title="t-SNE 1", yaxis_title="t-SNE 2"
    )
    return fig


def raw_vs_resampled(rec, segments, seconds: float = 4.0):
    """Matplotlib: a recording's raw acc/gyro samples against its 50 Hz resampled signal.

    ``segments`` is what :func:`harnb.data.preprocess.resample_recording` returns for ``rec``.
    """
    import matplotlib.pyplot as plt

    t_seg, x_seg = segments[0][0], segments[0][1]
    t0 = float(t_seg[0])
    fig, axes = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    for ax, stream, sl, unit in (
        (axes[0], rec.acc, slice(0, 3), "acc (m/s²)"),
        (axes[1], rec.gyro, slice(3, 6), "gyro (rad/s)"),
    ):
        keep = (stream.t >= t0) & (stream.t < t0 + seconds)
        kseg = (t_seg >= t0) & (t_seg < t0 + seconds)
        for k in range(3):
            c = f"C{k}"
            ax.plot(stream.t[keep] - t0, stream.xyz[keep, k], ".", ms=3, color=c, alpha=0.5)
            ax.plot(
                t_seg[kseg] - t0,
                x_seg[kseg, sl.start + k],
                "-",
                lw=1,
                color=c,
                label=CHANNELS[sl.start + k],
            )
        ax.set_ylabel(unit)
        ax.legend(fontsize=7, loc="upper right")
    axes[1].set_xlabel("time (s); dots: raw samples, lines: 50 Hz resampled")
    fig.suptitle(f"{display_name(rec.dataset)} subject {rec.subject}, {rec.session} ({rec.device})")
    fig.tight_layout()
    return fig


def window_examples(X: np.ndarray, y: np.ndarray, title: str = ""):
    """Matplotlib: one example window per class present (acc on top, gyro below)."""
    import matplotlib.pyplot as plt

    classes = [int(c) for c in np.unique(y)]
    fig, axes = plt.subplots(
        2, len(classes), figsize=(2.6 * len(classes), 4), squeeze=False, sharey="row"
    )
    t = np.arange(X.shape[1]) / 50.0
    for j, c in enumerate(classes):
        w = X[np.flatnonzero(y == c)[0]]
        for k in range(3):
            axes[0, j].plot(t, w[:, k], lw=0.8)
            axes[1, j].plot(t, w[:, 3 + k], lw=0.8)
        axes[0, j].set_title(CLASSES[c], fontsize=9)
        axes[1, j].set_xlabel("s")
    axes[0, 0].set_ylabel("acc (m/s²)")
    axes[1, 0].set_ylabel("gyro (rad/s)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def tsne_panels(points: pd.DataFrame, title: str = "") -> go.Figure:
    """t-SNE maps side by side: ``points`` has x, y, label (union class id), subject, panel."""
    import plotly.express as px

    names = np.asarray([CLASSES[int(i)] for i in points["label"]])
    fig = px.scatter(
        points.assign(activity=names),
        x="x",
        y="y",
        color="activity",
        facet_col="panel",
        facet_col_wrap=3,
        hover_name="subject",
        category_orders={"activity": [c for c in CLASSES if c in set(names)]},
        opacity=0.7,
        title=title,
    )
    fig.update_traces(marker={"size": 3})
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
    fig.update_xaxes(title="", showticklabels=False, matches=None)
    fig.update_yaxes(title="", showticklabels=False, matches=None)
    fig.update_layout(height=460, legend_title="activity", margin={"t": 60})
    return fig


#: One colour per fine-tuning strategy, the same on every figure of the book.
STRATEGY_COLORS: dict[str, str] = {
    "Rd": "#636efa",
    "P_F": "#ef553b",
    "P_U": "#00cc96",
    "FE-RF": "#7f7f7f",  # the classical baselines: greys, drawn where a results file has them
    "FE-LR": "#bcbd22",
}


def headline(frame: pd.DataFrame, title: str = "") -> go.Figure:
    """Macro-F1 against the share of target labels per strategy: ours with 95 % intervals
    (solid), the paper's same-target average (dashed); one panel per model.

    ``frame`` is :func:`harnb.book.pages.findings.headline_frame`'s (model, ratio, strategy,
    source, f1, lo, hi). The front page and chapter 5 both draw it, so their colours and error
    bars agree; each trace carries its (model, strategy, source) in ``meta``.
    """
    from plotly.subplots import make_subplots

    rank = {m: i for i, m in enumerate(ARCHITECTURES)}  # the paper's order
    models = sorted(dict.fromkeys(frame["model"]), key=lambda m: (rank.get(m, 99), m))
    labels = [f"{r} %" for r in sorted(set(frame["ratio"]))]
    sources = sorted(set(frame["source"]), key=lambda s: (s != "ours", s))
    fig = make_subplots(
        rows=1,
        cols=max(len(models), 1),
        subplot_titles=models if len(models) > 1 else None,
        shared_yaxes=True,
        horizontal_spacing=0.03,
    )
    shown: set[str] = set()
    for j, m in enumerate(models, start=1):
        for st in STRATEGY_COLORS:
            for src in sources:
                d = frame[(frame["model"] == m) & (frame["strategy"] == st)
                          & (frame["source"] == src)].sort_values("ratio")  # fmt: skip
                if d.empty:
                    continue
                ours = src == "ours"
                err = (
                    {"type": "data", "array": (d["hi"] - d["f1"]).to_numpy(),
                     "arrayminus": (d["f1"] - d["lo"]).to_numpy(), "visible": True}
                    if ours and d[["lo", "hi"]].notna().all().all() else None
                )  # fmt: skip
                name = f"{st}, {src}"
                fig.add_scatter(
                    x=[f"{r} %" for r in d["ratio"]], y=d["f1"], mode="lines+markers",
                    name=name, legendgroup=name, showlegend=name not in shown,
                    line={"color": STRATEGY_COLORS[st], "dash": "solid" if ours else "dash"},
                    error_y=err, meta={"model": m, "strategy": st, "source": src},
                    row=1, col=j,
                )  # fmt: skip
                shown.add(name)
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=labels)
    fig.update_xaxes(title_text="target labels used", row=1, col=1)
    fig.update_yaxes(title_text="macro-F1 × 100", row=1, col=1)
    fig.update_layout(
        height=480, title=title or None, margin={"t": 40, "r": 20},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0, "title_text": ""},
    )  # fmt: skip
    return fig


def resampling_example(dataset: str, cfg=None):
    """Chapter 2's figure: the first labelled recording of ``dataset`` (or of any dataset
    present), raw samples against the 50 Hz signal."""
    from harnb.data import datasets, preprocess

    cfg = cfg or preprocess.PreprocessConfig()
    ready = datasets.available()
    name = dataset if dataset in ready else ready[0]
    rec = next(r for r in datasets.load(name) if (r.labels >= 0).any())
    segments = preprocess.resample_recording(rec, rate=cfg.rate, max_gap_s=cfg.max_gap_s)
    return raw_vs_resampled(rec, segments, seconds=3.0)


def window_examples_all(store) -> None:
    """One figure per dataset of the store: one example window per class."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    for name in store.datasets():
        sel = store.select(store.dataset == name)
        fig = window_examples(sel.X, sel.y, title=f"{display_name(name)}: one window per class")
        display(fig)
        plt.close(fig)
