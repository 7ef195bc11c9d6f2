"""gradkit.plot: the PNG files exist, are PNGs of the documented pixel size, errors are clear."""
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import gradkit.metrics as M
import gradkit.plot as P

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _read_png(path):
    from matplotlib.image import imread

    with open(path, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE
    return imread(path)


def test_training_curves_from_a_dict(tmp_path):
    history = {"loss": [0.9, 0.6, 0.5], "val_loss": [1.0, 0.8, 0.7],
               "mae": [3.1, 2.5, 2.2], "val_mae": [3.3, 2.9, 2.8]}
    path = P.training_curves(history, tmp_path / "curves.png")
    image = _read_png(path)
    assert image.shape[:2] == (350, 900)  # 2 quantities: 2 x 4.5 in by 3.5 in at 100 dpi
    assert image[..., :3].std() > 0.05  # something was drawn
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png"]  # no temporary left


def test_training_curves_from_a_history_object_overwrites_atomically(tmp_path):
    logs = {"loss": [0.9, 0.5], "accuracy": [0.6, 0.8], "val_accuracy": [0.55, 0.7],
            "auc": [0.7, 0.9], "lr": [0.01, 0.005], "confusion_matrix": [np.eye(2), np.eye(2)]}
    history = SimpleNamespace(history=logs, epoch=[3, 4])  # resumed at initial_epoch=3
    path = tmp_path / "run.png"
    path.write_bytes(b"old")
    P.training_curves(history, path)
    # loss, accuracy, auc, lr (the per-epoch matrices are skipped): 3 columns x 2 rows
    assert _read_png(path).shape[:2] == (700, 1350)


@pytest.mark.parametrize("history", [{}, {"loss": []}, SimpleNamespace(history={})])
def test_empty_history_is_a_clear_error(tmp_path, history):
    with pytest.raises(ValueError, match="history is empty.*train at least one epoch"):
        P.training_curves(history, tmp_path / "x.png")
    assert not list(tmp_path.iterdir())


def test_training_curves_refuses_what_is_not_a_history(tmp_path):
    with pytest.raises(TypeError, match="History .*or a dict of per-epoch lists"):
        P.training_curves([0.9, 0.5], tmp_path / "x.png")
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        P.training_curves({"loss": [1.0]}, tmp_path / "missing" / "x.png")


def test_confusion_matrix_png_from_array_and_from_the_metric(tmp_path, rng):
    cm = np.array([[50, 3, 1], [4, 40, 6], [0, 2, 44]])
    image = _read_png(P.confusion_matrix(cm, tmp_path / "cm.png", class_names=["a", "b", "c"]))
    assert image.shape[:2] == (400, 400)
    metric = M.ConfusionMatrix(12)
    y = rng.integers(0, 12, 500)
    metric.update_state(y, np.where(rng.random(500) < 0.7, y, rng.integers(0, 12, 500)))
    image = _read_png(P.confusion_matrix(metric, tmp_path / "cm12.png", normalize=True))
    assert image.shape[:2] == (790, 790)  # 0.45 * 12 + 2.5 = 7.9 inches


def test_confusion_matrix_bad_inputs(tmp_path):
    with pytest.raises(ValueError, match=r"square \(C, C\) matrix; got shape \(2, 3\)"):
        P.confusion_matrix(np.ones((2, 3)), tmp_path / "x.png")
    with pytest.raises(ValueError, match="2 class_names for a 3 x 3 matrix"):
        P.confusion_matrix(np.eye(3), tmp_path / "x.png", class_names=["a", "b"])
    with pytest.raises(ValueError, match="normalize must be"):
        P.confusion_matrix(np.eye(3), tmp_path / "x.png", normalize="rows")
    assert not list(tmp_path.iterdir())


def test_missing_matplotlib_names_the_extra(tmp_path, monkeypatch):
    for name in [n for n in sys.modules if n == "matplotlib" or n.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install (-e )?'[^']*\[plot\]'"):
        P.training_curves({"loss": [1.0]}, tmp_path / "x.png")


def test_a_loss_spanning_decades_gets_a_log_axis_and_one_epoch_is_marked(tmp_path, monkeypatch):
    figs = []
    monkeypatch.setattr(P, "_save", lambda fig, path: figs.append(fig) or path)
    P.training_curves({"loss": [10, 1, 0.01], "accuracy": [0.1, 0.5, 0.9]}, tmp_path / "a.png")
    P.training_curves({"loss": [0.5]}, tmp_path / "b.png")
    assert [ax.get_yscale() for ax in figs[0].axes] == ["log", "linear"]
    assert figs[1].axes[0].get_lines()[0].get_markersize() >= 6
