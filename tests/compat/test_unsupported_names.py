"""A PyTorch name gradkit lacks raises an AttributeError that says so and what to use instead,
never Python's bare "has no attribute ... Did you mean"; hasattr stays False."""
import traceback

import pytest

import gradkit as gk
import gradkit.nn as nn
import gradkit.nn.functional as F
from gradkit._unsupported import UnsupportedError


def _message(get):
    with pytest.raises(AttributeError) as info:
        get()
    assert isinstance(info.value, UnsupportedError)
    text = "".join(traceback.format_exception_only(info.value))
    assert "Did you mean" not in text
    return str(info.value)


@pytest.mark.parametrize("get,name,instead", [
    (lambda: gk.compile, "torch.compile", "call the model directly"),
    (lambda: gk.vmap, "torch.vmap", "a Python loop"),
    (lambda: gk.complex64, "torch.complex64", "real tensors"),
    (lambda: gk.dvide, "torch.dvide", None),
    (lambda: nn.LazyLinear, "torch.nn.LazyLinear", "nn.Linear(in_features, out_features)"),
    (lambda: nn.NoSuchLayer, "torch.nn.NoSuchLayer", None),
    (lambda: F.fold, "torch.nn.functional.fold", "index_add"),
    (lambda: gk.jit.freeze, "torch.jit.freeze", None),
    (lambda: gk.randn(2).pin_memory, "Tensor.pin_memory", "nothing: there is no device to copy to"),
    (lambda: gk.randn(2).data_ptr(), "Tensor.data_ptr", "x.array.ctypes.data"),
    (lambda: gk.randn(2).unique(), "Tensor.unique", None),
])
def test_message_names_the_name_and_the_alternative(get, name, instead):
    msg = _message(get)
    assert f"gradkit does not support {name} yet" in msg
    if instead:
        assert f"; instead: {instead}" in msg


def test_hasattr_and_getattr_default_still_work():
    assert not hasattr(gk, "compile") and not hasattr(nn, "LazyLinear")
    assert not hasattr(F, "fold") and not hasattr(gk.randn(1), "pin_memory")
    assert not hasattr(gk.Tensor, "storage")
    assert getattr(gk, "compile", None) is None
    assert hasattr(gk, "einsum") and hasattr(nn, "Conv3d") and hasattr(F, "interpolate")


def test_private_names_get_the_plain_error():
    with pytest.raises(AttributeError, match="has no attribute '_nope'"):
        gk._nope
    with pytest.raises(AttributeError, match="has no attribute '__wrapped__'"):
        nn.__wrapped__


def test_lazy_subpackages_still_load():
    assert gk.keras.__name__ == "gradkit.keras" and gk.jit.__name__ == "gradkit.jit"


def test_a_missing_keras_layer_says_so_and_what_to_use():
    from gradkit.keras import layers
    import gradkit.tf as tf

    with pytest.raises(AttributeError) as e:
        layers.ConvLSTM2D
    assert str(e.value).startswith("gradkit does not support keras.layers.ConvLSTM2D yet; "
                                   "instead: layers.TimeDistributed")
    assert "Did you mean" not in str(e.value)
    with pytest.raises(AttributeError, match="does not support keras.layers.Conv3D yet"):
        tf.keras.layers.Conv3D
    assert not hasattr(layers, "Conv3D") and hasattr(layers, "Conv1D")
