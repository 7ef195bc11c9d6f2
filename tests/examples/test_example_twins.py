"""The reproduction examples' PyTorch twins (what `--peer torch` runs) are the same models as the
gradkit ones they are compared with: built from gradkit's initial weights, they give the same
outputs, so RESULTS.md's side-by-side rows differ only by the frameworks. Also the examples'
shared pieces: the batch order and the windows repeat for a seed, the LR schedule's shape."""
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import gradkit as gk

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))

import reproduce  # noqa: E402

IDS = np.random.default_rng(0).integers(0, 65, (2, 20))
IMAGES = np.random.default_rng(0).random((2, 1, 28, 28)).astype(np.float32)


def _example(name):
    module = __import__(name)
    module.ARGS = types.SimpleNamespace(seed=0)
    return module


@pytest.mark.parametrize("name, build, x", [
    ("fashion_mnist_mlp", lambda m, fw: m.make(fw), IMAGES),
    ("fashion_mnist_cnn", lambda m, fw: m.make(fw, False), IMAGES),
    ("fashion_mnist_cnn", lambda m, fw: m.make(fw, True), IMAGES),
    ("mnist_lenet5", lambda m, fw: m.make(fw), IMAGES),
    ("fashion_mnist_resnet20", lambda m, fw: m.make(fw),
     np.pad(IMAGES, ((0, 0), (0, 0), (2, 2), (2, 2)))),
    ("shakespeare_char_lstm", lambda m, fw: m.make(fw, 65), IDS),
    ("shakespeare_gpt", lambda m, fw: m.make(fw, 65), IDS),
])
def test_the_torch_twin_equals_the_gradkit_model(name, build, x):
    module = _example(name)
    outputs = []
    for framework in ("gradkit", "torch"):
        fw = reproduce.Framework(framework, 1)
        model = build(module, fw)
        model.eval()
        with fw.torch.no_grad():
            outputs.append(reproduce.logits_of(model(fw.tensor(x))).numpy())
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-4, atol=1e-5)


def test_copy_weights_names_what_differs():
    import torch

    source = gk.nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match="names differ"):
        reproduce.copy_weights(source, torch.nn.Sequential(torch.nn.Linear(3, 2)))


def test_batches_and_windows_repeat_for_a_seed_and_cover_the_data():
    a = reproduce.batch_order(1000, 128, seed=0, epoch=3)
    assert [b.tolist() for b in a] == [b.tolist() for b in reproduce.batch_order(1000, 128, 0, 3)]
    assert sorted(np.concatenate(a).tolist()) == list(range(1000))
    assert not np.array_equal(np.concatenate(a), np.concatenate(reproduce.batch_order(1000, 128, 0, 4)))
    ids = np.arange(500)
    x, y = reproduce.random_windows(ids, 4, 16, seed=1, step=7)
    np.testing.assert_array_equal(y, x + 1)                    # the next character
    np.testing.assert_array_equal(x, reproduce.random_windows(ids, 4, 16, 1, 7)[0])


def test_warm_up_then_cosine_to_the_floor():
    f = reproduce.cosine_with_warmup(warmup=10, steps=110, floor=0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(60) == pytest.approx(0.55) and f(110) == pytest.approx(0.1)
    assert all(f(s) >= f(s + 1) for s in range(10, 110))
