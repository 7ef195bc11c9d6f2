"""PNG plots of a training run: the curves per epoch and a confusion matrix.

    training_curves(history, path)                  loss and each metric per epoch, train and val
    confusion_matrix(cm, path, class_names=None)    a heat map with the counts in the cells

matplotlib is optional (``pip install 'gradkit[plot]'``) and imported only when a plot is drawn.
The figures are drawn on matplotlib's Agg canvas directly, without ``pyplot``: nothing global
changes (a notebook keeps its backend, no window opens, threads do not share a current figure),
and the PNG is written atomically (a temporary file in the same folder, then a rename), so a
reader never sees half an image.
"""
import io
import math
import os

import numpy as np

__all__ = ["training_curves", "confusion_matrix"]

DPI = 100


def _figure(width_in, height_in):
    """A matplotlib Figure on an Agg canvas, ``width_in x height_in`` inches at ``DPI``."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        from ._install import pip_install
        raise ImportError("gradkit.plot needs matplotlib, an optional dependency: "
                          f"{pip_install('plot')}  (or: pip install matplotlib)") from e
    fig = Figure(figsize=(width_in, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _check_folder(path):
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write the plot {os.fspath(path)!r}: the folder {folder!r} "
                                "does not exist; create it first (os.makedirs(folder, exist_ok=True))")


def _save(fig, path):
    from .io import atomic_write_bytes

    path = os.fspath(path)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)  # no bbox_inches='tight': the pixel size stays known
    atomic_write_bytes(path, buf.getvalue())
    return path


# === training curves =====================================================================

def _series(history):
    """``history`` (a History with ``.history``, or a dict of lists) -> (dict of float lists, epochs)."""
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict):
        raise TypeError("training_curves: history must be a History (what model.fit returns) or "
                        f"a dict of per-epoch lists such as {{'loss': [0.9, 0.5]}}; got "
                        f"{type(history).__name__}")
    series = {}
    for key, values in logs.items():
        try:
            values = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            continue  # not numbers (None, strings): nothing to draw
        if values.ndim == 1 and values.size:  # one number per epoch; skip per-epoch arrays
            series[str(key)] = values
    if not series:
        raise ValueError("training_curves: the history is empty (no epoch was recorded); train at "
                         "least one epoch (model.fit returns the History) or pass a dict of lists "
                         "such as {'loss': [0.9, 0.5], 'val_loss': [1.0, 0.7]}")
    n = max(len(v) for v in series.values())
    epochs = getattr(history, "epoch", None)
    if epochs is None or len(epochs) != n:
        epochs = range(n)
    return series, [int(e) + 1 for e in epochs]  # Keras counts epochs from 1 on screen


def _quantities(series):
    """Group ``x`` with ``val_x``: [('loss', ['loss', 'val_loss']), ('accuracy', [...]), ...]."""
    names = []
    for key in series:
        base = key.removeprefix("val_")
        if base not in names:
            names.append(base)
    names.sort(key=lambda b: b != "loss")  # the loss first, the rest in the order of the logs
    return [(b, [k for k in (b, "val_" + b) if k in series]) for b in names]


def _spans_decades(values, decades=2):
    """All finite values positive and max / min above 10**decades: a log axis shows them."""
    values = values[np.isfinite(values)]
    return values.size > 1 and values.min() > 0 and values.max() / values.min() > 10.0 ** decades


def training_curves(history, path, title=None):
    """Write a PNG of every logged quantity per epoch, one subplot each, to ``path``; return it.

    ``history``: the History of ``model.fit`` (its ``.history`` dict and ``.epoch`` list) or a
    dict of per-epoch lists. ``x`` and ``val_x`` share a subplot (train solid, validation
    dashed); the loss comes first. A quantity whose positive values span more than two decades
    (a loss falling from 10 to 0.01) gets a log y axis; each point is marked, larger when a
    curve has a single point (one epoch), so it shows. Subplots are laid out 3 to a row; each
    is 4.5 x 3.5 inches at 100 dpi, so 2 quantities make a 900 x 350 pixel image, 4 make
    1350 x 700.
    """
    series, epochs = _series(history)
    _check_folder(path)
    groups = _quantities(series)
    ncols = min(len(groups), 3)
    nrows = math.ceil(len(groups) / ncols)
    fig = _figure(4.5 * ncols, 3.5 * nrows)
    for i, (base, keys) in enumerate(groups):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        for key in keys:
            values = series[key]
            x = epochs[:len(values)] if len(values) == len(epochs) else range(1, len(values) + 1)
            val = key.startswith("val_")
            ax.plot(x, values, "--" if val else "-", marker="o",
                    markersize=3 if len(values) > 1 else 7, label="validation" if val else "train")
        if _spans_decades(np.concatenate([series[k] for k in keys])):
            ax.set_yscale("log")
        ax.set_title(base)
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


# === confusion matrix ====================================================================

def confusion_matrix(cm, path, class_names=None, normalize=False, title=None):
    """Write a PNG heat map of confusion matrix ``cm`` (C, C) to ``path``; return the path.

    Rows are true classes, columns predicted ones (sklearn's layout); ``cm`` may be an array or
    a ``gradkit.metrics.ConfusionMatrix``. Each cell shows its count; ``normalize=True``
    (or 'true') colours by the fraction of each true class and prints it above the count,
    'pred' by column, 'all' by the total. Counts are written in the cells up to C = 30.
    The image is square: max(4, 0.45 C + 2.5) inches (at most 20) at 100 dpi, 400 x 400 pixels
    up to C = 3.
    """
    if hasattr(cm, "confusion") and hasattr(cm, "result"):  # a ConfusionMatrix metric
        cm = cm.confusion
    counts = np.asarray(cm, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise ValueError(f"confusion_matrix: cm must be a non-empty square (C, C) matrix; got "
                         f"shape {counts.shape}")
    if not np.isfinite(counts).all() or (counts < 0).any():
        raise ValueError("confusion_matrix: cm must hold finite, non-negative counts")
    C = counts.shape[0]
    names = [str(i) for i in range(C)] if class_names is None else [str(n) for n in class_names]
    if len(names) != C:
        raise ValueError(f"confusion_matrix: {len(names)} class_names for a {C} x {C} matrix; "
                         f"give one name per class")
    mode = "true" if normalize is True else (normalize or None)
    if mode not in (None, "true", "pred", "all"):
        raise ValueError(f"confusion_matrix: normalize must be False, True, 'true', 'pred' or "
                         f"'all'; got {normalize!r}")
    total = {"true": counts.sum(1, keepdims=True), "pred": counts.sum(0, keepdims=True),
             "all": counts.sum(), None: 1.0}[mode]
    shown = np.divide(counts, total, out=np.zeros_like(counts), where=np.asarray(total) > 0)

    _check_folder(path)
    size = min(max(4.0, 0.45 * C + 2.5), 20.0)
    fig = _figure(size, size)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(shown, cmap="Blues", vmin=0.0, vmax=max(float(shown.max()), 1e-12))
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(C), labels=names, rotation=45 if C > 6 else 0, ha="right" if C > 6 else "center")
    ax.set_yticks(range(C), labels=names)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    ax.set_title(title or ("confusion matrix" + (f" (normalized over {mode})" if mode else "")))
    if C <= 30:
        integral = np.all(counts == np.round(counts))
        dark = shown > 0.5 * shown.max()
        for i in range(C):
            for j in range(C):
                count = f"{int(counts[i, j])}" if integral else f"{counts[i, j]:.3g}"
                text = f"{shown[i, j]:.2f}\n({count})" if mode else count
                ax.text(j, i, text, ha="center", va="center", fontsize=8 if C > 10 else 10,
                        color="white" if dark[i, j] else "black")
    fig.tight_layout()
    return _save(fig, path)
