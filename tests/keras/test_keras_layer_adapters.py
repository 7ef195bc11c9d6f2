"""The Keras layers that wrap an nn module (Dense, Conv2D, Embedding, LayerNormalization,
BatchNormalization, SimpleRNN, LSTM, GRU, MultiHeadAttention), pinned from the outside:

* the initial weights with seeded initializers (Keras layout and the saved state_dict: names,
  shapes, bytes), recorded as checksums from the code before the layers became declared adapters;
* the outputs on those weights (recorded sums);
* the messages of refused inputs (recorded in full);
* the Keras initializers are the only draws when a layer is built: nn's default initialisation is
  not run (the global generator gives the Keras draws, in the layer's weight order, and nothing
  else).
"""
import hashlib

import numpy as np
import pytest

import gradkit as gk
import gradkit.keras as keras
from gradkit import random as gk_random
from gradkit.keras import initializers as I
from gradkit.keras import layers as L


def _zeros(*shape):
    return np.zeros(shape, np.float32)


# === one case per layer kind: (make the layer, the inputs that build it) =====================
CASES = {
    "dense": (lambda: L.Dense(5, kernel_initializer=I.GlorotUniform(seed=1),
                              bias_initializer=I.RandomNormal(seed=2)), [(4, 3)]),
    "dense_no_bias": (lambda: L.Dense(4, use_bias=False, kernel_initializer=I.HeNormal(seed=3)),
                      [(2, 6)]),
    "conv2d": (lambda: L.Conv2D(4, (3, 2), kernel_initializer=I.GlorotNormal(seed=4),
                                bias_initializer=I.RandomUniform(seed=5)), [(2, 7, 6, 3)]),
    "conv2d_groups_channels_first": (
        lambda: L.Conv2D(4, 3, groups=2, data_format="channels_first", use_bias=False,
                         kernel_initializer=I.LecunUniform(seed=6)), [(2, 4, 6, 6)]),
    "embedding": (lambda: L.Embedding(11, 4, embeddings_initializer=I.RandomNormal(seed=7)),
                  None),
    "layer_normalization": (
        lambda: L.LayerNormalization(gamma_initializer=I.RandomNormal(seed=8),
                                     beta_initializer=I.RandomUniform(seed=9)), [(2, 3, 5)]),
    "layer_normalization_two_axes_no_scale": (
        lambda: L.LayerNormalization(axis=[-2, -1], scale=False,
                                     beta_initializer=I.RandomUniform(seed=10)), [(2, 3, 5)]),
    "batch_normalization": (
        lambda: L.BatchNormalization(gamma_initializer=I.RandomNormal(seed=11),
                                     beta_initializer=I.RandomUniform(seed=12),
                                     moving_mean_initializer=I.RandomUniform(seed=13),
                                     moving_variance_initializer=I.Constant(2.0)),
        [(2, 5, 5, 3)]),
    "batch_normalization_no_center_no_scale": (
        lambda: L.BatchNormalization(center=False, scale=False,
                                     gamma_initializer=I.RandomNormal(seed=14)), [(3, 4)]),
    "simple_rnn": (lambda: L.SimpleRNN(3, kernel_initializer=I.GlorotUniform(seed=15),
                                       recurrent_initializer=I.Orthogonal(seed=16),
                                       bias_initializer=I.RandomNormal(seed=17)), [(2, 5, 4)]),
    "lstm": (lambda: L.LSTM(3, kernel_initializer=I.GlorotUniform(seed=18),
                            recurrent_initializer=I.Orthogonal(seed=19),
                            bias_initializer=I.RandomNormal(seed=20)), [(2, 5, 4)]),
    "gru": (lambda: L.GRU(3, kernel_initializer=I.GlorotUniform(seed=21),
                          recurrent_initializer=I.Orthogonal(seed=22),
                          bias_initializer=I.RandomNormal(seed=23)), [(2, 5, 4)]),
    "gru_no_bias": (lambda: L.GRU(2, use_bias=False, kernel_initializer=I.HeUniform(seed=24),
                                  recurrent_initializer=I.Orthogonal(seed=25)), [(2, 5, 4)]),
    "multi_head_attention": (
        lambda: L.MultiHeadAttention(2, 3, value_dim=4, kernel_initializer=I.GlorotUniform(seed=26),
                                     bias_initializer=I.RandomNormal(seed=27)),
        [(1, 2, 5), (1, 3, 6)]),
    "multi_head_attention_output_shape_no_bias": (
        lambda: L.MultiHeadAttention(2, 3, use_bias=False, output_shape=7,
                                     kernel_initializer=I.LecunNormal(seed=28)),
        [(1, 2, 5), (1, 3, 6)]),
}


def _built(kind):
    make, shapes = CASES[kind]
    layer = make()
    if shapes is not None:
        layer(*[_zeros(*s) for s in shapes])
    return layer


def _digest(layer):
    """A checksum of the Keras weights (layout, order, values) and of the state_dict (the saved
    names, shapes and values), and what is trainable."""
    h = hashlib.sha256()
    for w in layer.get_weights():
        h.update(f"{w.dtype}{w.shape}".encode())
        h.update(np.ascontiguousarray(w).tobytes())
    for name, t in layer.state_dict().items():
        h.update(f"{name}{t.dtype}{t.shape}".encode())
        h.update(np.ascontiguousarray(t.array).tobytes())
    h.update(repr([n for n, p in layer.named_parameters() if p.requires_grad]).encode())
    h.update(repr((len(layer.trainable_weights), len(layer.non_trainable_weights),
                   layer.count_params())).encode())
    return h.hexdigest()[:16]


# recorded from the layers before they became declared adapters
SEEDED_DIGESTS = {
    "dense": "8b56c5ecd52bf675",
    "dense_no_bias": "bd19949b4ff57c14",
    "conv2d": "587944fb0c37bc4c",
    "conv2d_groups_channels_first": "2042478ed49a4b8a",
    "embedding": "aad5535a99e452fd",
    "layer_normalization": "72f047224125487d",
    "layer_normalization_two_axes_no_scale": "3817e1cce15a5e3d",
    "batch_normalization": "fa7b0d9337a7c134",
    "batch_normalization_no_center_no_scale": "16f0bf735877927f",
    "simple_rnn": "da12bc9a1cd89418",
    "lstm": "91d6ca7c29260c3d",
    "gru": "e3c3e4525a161cb8",
    "gru_no_bias": "dcd18c4cd5c76518",
    "multi_head_attention": "e16b7e548eebe71e",
    "multi_head_attention_output_shape_no_bias": "cb770f9c5a8eace2",
}


@pytest.mark.parametrize("kind", list(CASES))
def test_seeded_initial_weights_and_state_dict_are_the_recorded_ones(kind):
    assert _digest(_built(kind)) == SEEDED_DIGESTS[kind]


def test_state_dict_names_are_pytorchs():
    names = {kind: list(_built(kind).state_dict()) for kind in
             ("dense", "conv2d", "embedding", "batch_normalization", "simple_rnn", "lstm", "gru",
              "multi_head_attention")}
    assert names == {
        "dense": ["linear.weight", "linear.bias"],
        "conv2d": ["conv.weight", "conv.bias"],
        "embedding": ["embedding.weight"],
        "batch_normalization": ["bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
                                "bn.num_batches_tracked"],
        "simple_rnn": ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0"],
        "lstm": ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0"],
        "gru": ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0"],
        "multi_head_attention": [f"{p}_dense.{w}" for p in ("query", "key", "value", "output")
                                 for w in ("weight", "bias")],
    }


# === outputs on the seeded weights ===========================================================
def _inputs(kind):
    rng = np.random.default_rng(1)
    _, shapes = CASES[kind]
    if kind == "embedding":
        return [rng.integers(0, 11, (2, 3))]
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


# (sum, sum of squares) of the outputs, recorded before the refactoring
OUTPUT_SUMS = {
    "dense": (-1.4805855825543404, 3.5885251165297847),
    "dense_no_bias": (3.6006458066403866, 9.321141556295313),
    "conv2d": (12.7898762319237, 158.23145247604214),
    "conv2d_groups_channels_first": (-7.164976523024961, 146.0340713142673),
    "embedding": (-0.4782695627218345, 0.04778531214338655),
    "layer_normalization": (0.4123603692278266, 0.1944648820347634),
    "layer_normalization_two_axes_no_scale": (0.30461384542286396, 29.858211789600904),
    "batch_normalization": (-1.4440686479210854, 0.3698483189911549),
    "batch_normalization_no_center_no_scale": (0.019320951774716377, 0.05594885252062075),
    "simple_rnn": (1.5185118913650513, 3.0502238621472415),
    "lstm": (-0.45857526548206806, 0.10072052331348628),
    "gru": (0.13620877265930176, 0.19392672611619233),
    "gru_no_bias": (-0.8849636614322662, 1.4054485377956256),
    "multi_head_attention": (2.034770928323269, 1.4268987369584147),
    "multi_head_attention_output_shape_no_bias": (0.43291307985782623, 1.3697795354014553),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_outputs_on_the_seeded_weights_are_the_recorded_ones(kind):
    layer = _built(kind)
    y = np.asarray(layer(*_inputs(kind)).array, np.float64)
    assert (y.sum(), (y * y).sum()) == pytest.approx(OUTPUT_SUMS[kind], rel=1e-5, abs=1e-6)


# === refused inputs: the messages, in full ===================================================
def _message(fn):
    with pytest.raises(ValueError) as info:
        fn()
    return str(info.value)


BUILT_FOR = ("The layer was built for {} by its first input; every later input must have the same "
             "size (build a new model for data of another shape).")


def test_dense_refusals():
    d = L.Dense(3, name="d")
    d(_zeros(2, 4))
    assert _message(lambda: d(_zeros(2, 5))) == (
        "Input 0 of layer 'd' (Dense) is incompatible with the layer: expected 4 features (the "
        "last axis), received 5 (input shape (2, 5)). " + BUILT_FOR.format(4))
    assert _message(lambda: d(np.zeros((), np.float32))) == (
        "Input 0 of layer 'd' (Dense) is incompatible with the layer: expected 4 features (the "
        "last axis), received 0 (input shape ()). " + BUILT_FOR.format(4))
    declared = L.Dense(3, input_shape=(4,), name="declared")
    declared(_zeros(1, 4))
    assert _message(lambda: declared(_zeros(2, 5))) == (
        "Input 0 of layer 'declared' (Dense) is incompatible with the layer: expected 4 features "
        "(the last axis), received 5 (input shape (2, 5)). The layer was declared with "
        "input_shape=(4,), but the data has 5: change it to input_shape=(5,), or remove "
        "input_shape= and let the layer infer it from the first batch.")
    model = keras.Sequential([L.Dense(3, name="first"), L.Dense(2, name="second")])
    model(_zeros(2, 4))
    assert _message(lambda: model(_zeros(2, 5))) == (
        "Input 0 of layer 'first' (Dense) is incompatible with the layer: expected 4 features (the "
        "last axis), received 5 (input shape (2, 5)). " + BUILT_FOR.format(4))


def test_conv2d_refusals():
    c = L.Conv2D(4, 3, name="c")
    assert _message(lambda: c(_zeros(2, 8, 8))) == (
        "Input 0 of layer 'c' (Conv2D) is incompatible with the layer: expected a 4-D batch of "
        "images (N, H, W, C), received shape (None, 8, 8). For grayscale images add the channel "
        "axis: x.reshape(-1, H, W, 1) or x[..., None].")
    assert not c.built
    c(_zeros(1, 8, 8, 3))
    assert _message(lambda: c(_zeros(1, 8, 8, 1))) == (
        "Input 0 of layer 'c' (Conv2D) is incompatible with the layer: expected 3 channels (axis "
        "-1), received 1 (input shape (1, 8, 8, 1)). " + BUILT_FOR.format(3))
    assert _message(lambda: c(_zeros(8, 8, 3))) == (
        "Input 0 of layer 'c' (Conv2D) is incompatible with the layer: expected a 4-D batch of "
        "images (N, H, W, C), received shape (8, 8, 3). For grayscale images add the channel "
        "axis: x.reshape(-1, H, W, 1) or x[..., None].")
    cf = L.Conv2D(4, 3, data_format="channels_first", name="cf")
    cf(_zeros(1, 3, 8, 8))
    assert _message(lambda: cf(_zeros(1, 1, 8, 8))) == (
        "Input 0 of layer 'cf' (Conv2D) is incompatible with the layer: expected 3 channels (axis "
        "1), received 1 (input shape (1, 1, 8, 8)). " + BUILT_FOR.format(3))
    assert _message(lambda: cf(_zeros(3, 8, 8))).startswith(
        "Input 0 of layer 'cf' (Conv2D) is incompatible with the layer: expected a 4-D batch of "
        "images (N, C, H, W), received shape (3, 8, 8).")


def test_embedding_refusals():
    e = L.Embedding(10, 4, name="e")
    for bad, ids in ((10, [[3, 10, 12]]), (-1, [[1, -1, 11]]), (12, [[12, -1]])):
        assert _message(lambda: e(np.array(ids))) == (
            f"Input 0 of layer 'e' (Embedding) is incompatible with the layer: token id {bad} is "
            "outside [0, 10) (input_dim=10); raise input_dim to the vocabulary size (largest id "
            "+ 1)")
    with pytest.raises(TypeError, match=r"^Embedding 'e': inputs are token ids and must be whole "
                                         r"numbers; got float values such as 1.5$"):
        e(np.array([[1.5]]))


def test_normalization_refusals():
    b = L.BatchNormalization(name="b")
    b(_zeros(4, 3))
    head = "Input 0 of layer 'b' (BatchNormalization) is incompatible with the layer: "
    assert _message(lambda: b(_zeros(4, 5))) == (
        head + "expected 3 channels (axis -1), received 5 (input shape (4, 5)). "
        + BUILT_FOR.format(3))
    assert _message(lambda: b(_zeros(4, 2, 3))) == (
        head + "expected 3 channels (axis -1), received 2 (input shape (4, 2, 3)). "
        + BUILT_FOR.format(3))
    b4 = L.BatchNormalization(name="b4")
    b4(_zeros(4, 5, 5, 3))
    head4 = "Input 0 of layer 'b4' (BatchNormalization) is incompatible with the layer: "
    assert _message(lambda: b4(_zeros(4, 5, 5, 2))) == (
        head4 + "expected 3 channels (axis -1), received 2 (input shape (4, 5, 5, 2)). "
        + BUILT_FOR.format(3))
    assert _message(lambda: b4(_zeros(4, 3))) == (
        head4 + "expected 3 channels (axis -1), received None (input shape (4, 3)). "
        + BUILT_FOR.format(3))
    assert _message(lambda: L.BatchNormalization(name="b1")(_zeros(4))) == (
        "BatchNormalization 'b1': expected an input of rank 2, 3 or 4 with the channels on a "
        "non-batch axis, got shape (None,)")
    ln = L.LayerNormalization(name="ln")
    ln(_zeros(2, 6))
    assert _message(lambda: ln(_zeros(2, 5))) == (
        "Input 0 of layer 'ln' (LayerNormalization) is incompatible with the layer: expected (6,) "
        "as the normalised trailing axes, received (5,) (input shape (2, 5)). "
        + BUILT_FOR.format((6,)))
    ln2 = L.LayerNormalization(axis=[-2, -1], name="ln2")
    ln2(_zeros(2, 3, 6))
    assert _message(lambda: ln2(_zeros(2, 4, 6))) == (
        "Input 0 of layer 'ln2' (LayerNormalization) is incompatible with the layer: expected "
        "(3, 6) as the normalised trailing axes, received (4, 6) (input shape (2, 4, 6)). "
        + BUILT_FOR.format((3, 6)))


@pytest.mark.parametrize("cls", [L.SimpleRNN, L.LSTM, L.GRU])
def test_recurrent_refusals(cls):
    name = cls.__name__
    r = cls(3, name="r")
    assert _message(lambda: r(_zeros(2, 4))) == (
        f"{name} 'r': expected a 3-D input (batch, timesteps, features), got shape (None, 4)")
    r(_zeros(2, 5, 4))
    head = f"Input 0 of layer 'r' ({name}) is incompatible with the layer: "
    assert _message(lambda: r(_zeros(2, 5, 6))) == (
        head + "expected 4 features (the last axis), received 6 (input shape (2, 5, 6)). "
        + BUILT_FOR.format(4))
    assert _message(lambda: r(_zeros(2, 4))) == (
        head + "expected a 3-D batch (batch, timesteps, features), received shape (2, 4)")


def test_other_errors_inside_a_layer_name_the_layer_once():
    """The nn module's own message (nn's wording, not pinned here), named once."""
    mha = L.MultiHeadAttention(2, 4)
    mha(_zeros(2, 3, 8), _zeros(2, 5, 6))
    message = _message(lambda: mha(_zeros(2, 3, 7), _zeros(2, 5, 6)))
    assert message.startswith("in layer 'query_dense' (Linear): ") and message.count("in layer") == 1

    def refuse(y):
        raise ValueError("the activation refuses")

    model = keras.Sequential([L.Dense(2, activation=refuse, name="inner")])
    assert _message(lambda: model(_zeros(1, 3))) == (
        "in layer 'inner' (Dense): the activation refuses")
    lstm = L.LSTM(3, name="l")
    lstm(_zeros(2, 5, 4))
    message = _message(lambda: lstm(_zeros(2, 5, 4), initial_state=[gk.zeros(2, 2),
                                                                     gk.zeros(2, 2)]))
    assert message.startswith("in layer 'rnn' (LSTM): ") and "h_0" in message
    assert message.count("in layer") == 1


# === built once: the Keras initializers are the only draws ===================================
class _CountingGenerator:
    """The global generator, counting the values drawn through it."""

    def __init__(self, generator):
        self._generator, self.drawn = generator, 0

    def __getattr__(self, name):
        attr = getattr(self._generator, name)
        if not callable(attr):
            return attr

        def draw(*args, **kwargs):
            out = attr(*args, **kwargs)
            self.drawn += np.size(out)
            return out
        return draw


@pytest.mark.parametrize("make,shapes,drawn", [
    (lambda: L.Dense(5), [(2, 3)], 3 * 5),                          # glorot kernel, zero bias
    (lambda: L.Conv2D(4, 3), [(1, 6, 6, 2)], 3 * 3 * 2 * 4),
    (lambda: L.Embedding(7, 3), None, 7 * 3),                        # 'uniform'
    (lambda: L.SimpleRNN(3), [(2, 4, 5)], 5 * 3 + 3 * 3),            # kernel, orthogonal
    (lambda: L.LSTM(3), [(2, 4, 5)], 5 * 12 + 3 * 12),
    (lambda: L.GRU(3), [(2, 4, 5)], 5 * 9 + 3 * 9),
    (lambda: L.MultiHeadAttention(2, 3), [(1, 2, 5), (1, 3, 6)], (5 + 6 + 6) * 6 + 6 * 5),
    (lambda: L.LayerNormalization(), [(2, 5)], 0),
    (lambda: L.BatchNormalization(), [(2, 5)], 0),
])
def test_building_draws_only_the_keras_initializers(monkeypatch, make, shapes, drawn):
    counting = _CountingGenerator(gk_random.get_generator())
    monkeypatch.setattr(gk_random, "_generator", counting)
    layer = make()
    if shapes is not None:
        layer(*[_zeros(*s) for s in shapes])
    assert counting.drawn == drawn


@pytest.mark.parametrize("kind", ["dense", "conv2d", "embedding", "simple_rnn", "lstm", "gru",
                                  "multi_head_attention", "batch_normalization"])
def test_under_set_random_seed_the_weights_are_the_keras_draws_in_keras_order(kind):
    """With unseeded initializers the weights are what the global generator gives the Keras
    initializers, drawn in the order of get_weights(), as if nothing else drew before them."""
    make, shapes = CASES[kind]
    unseeded = {"dense": lambda: L.Dense(5, bias_initializer="random_normal"),
                "conv2d": lambda: L.Conv2D(4, (3, 2), bias_initializer="random_uniform"),
                "embedding": lambda: L.Embedding(11, 4),
                "simple_rnn": lambda: L.SimpleRNN(3, bias_initializer="random_normal"),
                "lstm": lambda: L.LSTM(3, bias_initializer="random_normal"),
                "gru": lambda: L.GRU(3, bias_initializer="random_normal"),
                "multi_head_attention": lambda: L.MultiHeadAttention(
                    2, 3, value_dim=4, bias_initializer="random_normal"),
                "batch_normalization": lambda: L.BatchNormalization(
                    gamma_initializer="random_normal", beta_initializer="random_uniform",
                    moving_mean_initializer="random_uniform")}[kind]
    keras.utils.set_random_seed(0)
    layer = unseeded()
    if shapes is not None:
        layer(*[_zeros(*s) for s in shapes])
    weights = layer.get_weights()
    keras.utils.set_random_seed(0)
    inits = {
        "dense": ["glorot_uniform", "random_normal"],
        "conv2d": ["glorot_uniform", "random_uniform"],
        "embedding": ["uniform"],
        "simple_rnn": ["glorot_uniform", "orthogonal", "random_normal"],
        "lstm": ["glorot_uniform", "orthogonal", "random_normal"],
        "gru": ["glorot_uniform", "orthogonal", "random_normal"],
        "multi_head_attention": ["glorot_uniform", "random_normal"] * 4,
        "batch_normalization": ["random_normal", "random_uniform", "random_uniform", "ones"],
    }[kind]
    expected = [np.asarray(I.get(name)(w.shape, dtype="float32")) for name, w in
                zip(inits, weights)]
    if kind == "lstm":
        expected[2][3:6] = 1.0                                       # unit_forget_bias
    for w, e in zip(weights, expected):
        np.testing.assert_array_equal(w, e)


# === the declaration ===========================================================================
def test_a_new_adapter_is_its_module_its_weights_and_its_call():
    from gradkit import nn
    from gradkit.keras.layers.base import Adapter, KerasWeight, permuted

    class Conv1D(Adapter):
        """(N, L, C_in) -> (N, L_out, filters) over nn.Conv1d."""

        def __init__(self, filters, kernel_size, **kwargs):
            super().__init__(**kwargs)
            self.filters, self.kernel_size = filters, kernel_size
            self._set_initializers(kernel_initializer="glorot_uniform", bias_initializer="ones")

        def nn_modules(self, input_shape):
            return {"conv": nn.Conv1d(input_shape[-1], self.filters, self.kernel_size)}

        def keras_weights(self):   # kernel (k, in, out) = weight (out, in, k) permuted
            return [KerasWeight("kernel", self.conv.weight, permuted(2, 1, 0),
                                init=self.kernel_initializer),
                    KerasWeight("bias", self.conv.bias, init=self.bias_initializer)]

        def call(self, x):
            return self.conv(x.permute(0, 2, 1)).permute(0, 2, 1)

    counting = _CountingGenerator(gk_random.get_generator())
    layer = Conv1D(4, 3)
    x = np.random.default_rng(0).standard_normal((2, 6, 5)).astype(np.float32)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gk_random, "_generator", counting)
        y = np.asarray(layer(x).array)
    assert counting.drawn == 3 * 5 * 4                         # the glorot kernel, nothing else
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 5, 4) and np.all(bias == 1)
    limit = np.sqrt(6 / (3 * 5 + 3 * 4))
    assert 0 < np.abs(kernel).max() <= limit
    ref = np.stack([np.einsum("nkc,kco->no", x[:, t:t + 3], kernel) for t in range(4)], 1) + bias
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    assert list(layer.state_dict()) == ["conv.weight", "conv.bias"]


def test_a_parameter_left_out_of_the_declaration_is_refused_at_build():
    from gradkit import nn
    from gradkit.keras.layers.base import TRANSPOSED, Adapter, KerasWeight

    class Forgetful(Adapter):
        def nn_modules(self, input_shape):
            return {"linear": nn.Linear(input_shape[-1], 2)}

        def keras_weights(self):
            return [KerasWeight("kernel", self.linear.weight, TRANSPOSED, init=I.Ones())]

        def call(self, x):
            return self.linear(x)

    with pytest.raises(RuntimeError, match=r"Forgetful\.keras_weights\(\) does not declare "
                                           r"linear\.bias, so nothing initialises it"):
        Forgetful()(_zeros(1, 3))


@pytest.mark.parametrize("kind", ["dense", "embedding", "lstm", "multi_head_attention",
                                  "batch_normalization"])
def test_trainable_false_freezes_the_weights_whenever_they_are_built(kind):
    make, shapes = CASES[kind]
    layer = make()
    layer.trainable = False
    if shapes is not None:
        layer(*[_zeros(*s) for s in shapes])
    assert layer.trainable_weights == [] and layer.weights
    assert not any(p.requires_grad for p in layer.parameters())
    frozen_at_construction = {"embedding": lambda: L.Embedding(5, 2, trainable=False),
                              "multi_head_attention": lambda: L.MultiHeadAttention(
                                  2, 3, trainable=False)}.get(kind)
    if frozen_at_construction is not None:
        layer = frozen_at_construction()
        if shapes is not None:
            layer(*[_zeros(*s) for s in shapes])
        assert layer.trainable_weights == [] and layer.weights


@pytest.mark.parametrize("cls", [L.LayerNormalization, L.BatchNormalization])
def test_gamma_with_scale_false_stays_fixed_when_the_layer_is_unfrozen(cls):
    layer = cls(scale=False)
    layer(_zeros(3, 4))
    layer.trainable = False
    layer.trainable = True
    gamma = (layer.norm if cls is L.LayerNormalization else layer.bn).weight
    assert not gamma.requires_grad and np.all(gamma.array == 1)
    assert all(w is not gamma for w in layer.weights)
