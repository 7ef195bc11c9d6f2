"""Bidirectional, TimeDistributed, Softmax and go_backwards against what they stand for: the
wrapped layers run by hand on the same weights, PyTorch's bidirectional recurrences (the nn
modules' state_dicts moved over), NumPy formulas, and float64 finite differences."""
import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.keras as keras
from gradkit.autograd import gradcheck
from gradkit.keras import layers

rng = np.random.default_rng(0)
RNNS = {"SimpleRNN": layers.SimpleRNN, "LSTM": layers.LSTM, "GRU": layers.GRU}


def _x(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def _np(t):
    return np.asarray(t.array if hasattr(t, "array") else t)


def _merge(f, b, mode):
    return {"concat": lambda: np.concatenate([f, b], -1), "sum": lambda: f + b,
            "mul": lambda: f * b, "ave": lambda: (f + b) / 2, None: lambda: [f, b]}[mode]()


# === Bidirectional: the two layers by hand ======================================================
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("kind", list(RNNS))
def test_bidirectional_is_the_layer_forward_and_a_second_on_the_reversed_sequence(
        kind, return_sequences, merge_mode):
    cls = RNNS[kind]
    bi = layers.Bidirectional(cls(4, return_sequences=return_sequences), merge_mode=merge_mode)
    x = _x(3, 6, 5)
    out = bi(x)
    weights = bi.get_weights()
    forward, backward = cls(4, return_sequences=return_sequences), \
        cls(4, return_sequences=return_sequences)
    forward(x), backward(x)
    forward.set_weights(weights[:3])
    backward.set_weights(weights[3:])
    f = _np(forward(x))
    b = _np(backward(np.ascontiguousarray(x[:, ::-1])))   # the reversed sequence...
    if return_sequences:
        b = b[:, ::-1]                                     # ...and its outputs back in time order
    expected = _merge(f, b, merge_mode)
    if merge_mode is None:
        assert isinstance(out, list) and len(out) == 2
        for got, want in zip(out, expected):
            np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(_np(out), expected, rtol=1e-5, atol=1e-6)
        units = 8 if merge_mode == "concat" else 4
        assert out.shape == ((3, 6, units) if return_sequences else (3, units))


@pytest.mark.parametrize("kind", list(RNNS))
def test_bidirectional_matches_torch_bidirectional_outputs_states_and_gradients(kind):
    bi = layers.Bidirectional(RNNS[kind](4, return_sequences=True, return_state=True))
    x = _x(2, 5, 3)
    bi(x)
    torch_cls = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind]
    ref = torch_cls(3, 4, batch_first=True, bidirectional=True)
    state = {k: torch.tensor(_np(v)) for k, v in bi.forward_layer.rnn.state_dict().items()}
    state.update({k + "_reverse": torch.tensor(_np(v))
                  for k, v in bi.backward_layer.rnn.state_dict().items()})
    ref.load_state_dict(state)

    tx = torch.tensor(x, requires_grad=True)
    t_out, t_h = ref(tx)
    out, *states = bi(x)
    np.testing.assert_allclose(_np(out), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    t_states = [t_h[0], t_h[1]] if kind != "LSTM" else [t_h[0][0], t_h[1][0], t_h[0][1], t_h[1][1]]
    assert len(states) == len(t_states)              # [h_f, (c_f), h_b, (c_b)]
    for got, want in zip(states, t_states):
        np.testing.assert_allclose(_np(got), want.detach().numpy(), rtol=1e-5, atol=1e-6)

    g = _x(*out.shape)
    (out * gk.tensor(g)).sum().backward()
    (t_out * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(_np(bi.forward_layer.rnn.weight_hh_l0.grad),
                               ref.weight_hh_l0.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_np(bi.backward_layer.rnn.weight_ih_l0.grad),
                               ref.weight_ih_l0_reverse.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_lstm_gradients_pass_float64_finite_differences(return_sequences):
    bi = layers.Bidirectional(layers.LSTM(2, return_sequences=return_sequences), dtype="float64")
    x = gk.tensor(_x(2, 3, 2, dtype=np.float64), dtype=gk.float64, requires_grad=True)
    bi(x)
    weights = bi.trainable_weights
    assert len(weights) == 6 and all(w.dtype == np.float64 for w in weights)
    assert gradcheck(lambda x, *ws: bi(x), [x, *weights], eps=1e-6, atol=1e-6, rtol=1e-4)


def test_bidirectional_keras_names_weights_and_order():
    lstm = layers.LSTM(3, name="encoder")
    bi = layers.Bidirectional(lstm)
    assert bi.name.startswith("bidirectional")
    assert bi.forward_layer.name == "forward_encoder"
    assert bi.backward_layer.name == "backward_encoder"
    assert bi.forward_layer is not lstm and not bi.forward_layer.go_backwards
    assert bi.backward_layer.go_backwards
    bi(_x(2, 4, 5))
    assert not lstm.built                     # the given layer is a template, as in Keras
    shapes = [w.shape for w in bi.get_weights()]
    assert shapes == [(5, 12), (3, 12), (12,)] * 2          # forward's, then backward's
    assert bi.count_params() == 2 * (5 * 12 + 3 * 12 + 12)
    # the two directions start from different draws; the LSTM forget-gate bias at 1 in both
    fw, bw = bi.get_weights()[:3], bi.get_weights()[3:]
    assert not np.allclose(fw[0], bw[0])
    np.testing.assert_array_equal(fw[2][3:6], 1)
    np.testing.assert_array_equal(bw[2][3:6], 1)
    assert list(bi.state_dict())[:3] == ["forward_layer.rnn.weight_ih_l0",
                                         "forward_layer.rnn.weight_hh_l0",
                                         "forward_layer.rnn.bias_ih_l0"]


def test_bidirectional_weights_argument_and_set_weights_round_trip():
    source = layers.Bidirectional(layers.GRU(3))
    source(_x(1, 2, 4))
    weights = source.get_weights()
    copy = layers.Bidirectional(layers.GRU(3), weights=weights)
    x = _x(2, 5, 4)
    np.testing.assert_allclose(_np(copy(x)), _np(source(x)), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="expected a list of 6 arrays"):
        copy.set_weights(weights[:3])


def test_bidirectional_initial_state_halves_go_forward_then_backward():
    bi = layers.Bidirectional(layers.LSTM(3, return_sequences=True))
    x = _x(2, 4, 2)
    bi(x)
    h = [gk.tensor(_x(2, 3)) for _ in range(4)]
    out = _np(bi(x, initial_state=h))
    forward = layers.LSTM(3, return_sequences=True)
    forward(x)
    forward.set_weights(bi.get_weights()[:3])
    np.testing.assert_allclose(out[..., :3], _np(forward(x, initial_state=h[:2])), rtol=1e-5,
                               atol=1e-6)
    assert not np.allclose(out, _np(bi(x)))


def test_bidirectional_given_backward_layer_and_refusals():
    fw, bw = layers.SimpleRNN(2), layers.SimpleRNN(2, go_backwards=True)
    bi = layers.Bidirectional(fw, backward_layer=bw, merge_mode="sum")
    assert bi.backward_layer is bw and bi.backward_layer.name == bw.name
    assert bi(_x(2, 3, 4)).shape == (2, 2)
    with pytest.raises(ValueError, match="go_backwards"):
        layers.Bidirectional(fw, backward_layer=layers.SimpleRNN(2))
    with pytest.raises(ValueError, match="return_sequences"):
        layers.Bidirectional(fw, backward_layer=layers.SimpleRNN(2, go_backwards=True,
                                                                 return_sequences=True))
    with pytest.raises(ValueError, match="merge_mode 'max'"):
        layers.Bidirectional(fw, merge_mode="max")
    with pytest.raises(ValueError, match="recurrent layer"):
        layers.Bidirectional(layers.Dense(3))


def test_bidirectional_in_sequential_functional_fit_and_save(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        layers.Bidirectional(layers.LSTM(4, return_sequences=True), input_shape=(6, 3)),
        layers.Bidirectional(layers.GRU(3), merge_mode="ave"),
        layers.Dense(1, activation="sigmoid")])
    assert model.output_shape == (None, 1)
    x = _x(32, 6, 3)
    y = (x[:, 0, 0] > x[:, -1, 0]).astype(np.float32)     # needs both ends of the sequence
    model.compile("adam", "binary_crossentropy")
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "bi.keras")
    loaded = keras.models.load_model(tmp_path / "bi.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)
    assert loaded.layers[0].forward_layer.name == model.layers[0].forward_layer.name

    inputs = keras.Input(shape=(None, 3))
    seq = layers.Bidirectional(layers.SimpleRNN(5, return_sequences=True))(inputs)
    assert tuple(seq.shape) == (None, None, 10)


def test_go_backwards_reads_the_steps_last_to_first_and_returns_them_in_that_order():
    x = _x(2, 5, 3)
    back = layers.LSTM(4, go_backwards=True, return_sequences=True)
    plain = layers.LSTM(4, return_sequences=True)
    back(x), plain(x)
    plain.set_weights(back.get_weights())
    np.testing.assert_allclose(_np(back(x)), _np(plain(np.ascontiguousarray(x[:, ::-1]))),
                               rtol=1e-6, atol=1e-6)
    assert back.get_config()["go_backwards"] is True


# === TimeDistributed =============================================================================
def test_time_distributed_dense_is_dense_at_every_step():
    td = layers.TimeDistributed(layers.Dense(3, activation="tanh"))
    x = _x(2, 4, 5)
    y = _np(td(x))
    assert y.shape == (2, 4, 3)
    dense = td.layer
    for t in range(4):
        np.testing.assert_allclose(y[:, t], _np(dense(x[:, t])), rtol=1e-6, atol=1e-6)
    kernel, bias = td.get_weights()                 # the wrapped layer's weights are its weights
    assert kernel.shape == (5, 3) and td.count_params() == 18
    np.testing.assert_allclose(y, np.tanh(x @ kernel + bias), rtol=1e-5, atol=1e-6)


def test_time_distributed_over_images_and_its_refusal():
    td = layers.TimeDistributed(layers.Conv2D(2, 3))
    assert td(_x(2, 3, 6, 6, 1)).shape == (2, 3, 4, 4, 2)
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        layers.TimeDistributed(layers.Dense(2))(_x(4, 5))
    with pytest.raises(ValueError, match="Keras layer"):
        layers.TimeDistributed(lambda x: x)


def test_time_distributed_trains_and_saves(tmp_path):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([layers.TimeDistributed(layers.Dense(4), input_shape=(5, 3)),
                              layers.TimeDistributed(layers.Dropout(0.5)),
                              layers.TimeDistributed(layers.Dense(2)), layers.Softmax()])
    assert model.output_shape == (None, 5, 2)
    x, y = _x(16, 5, 3), rng.integers(0, 2, (16, 5))
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "td.keras")
    loaded = keras.models.load_model(tmp_path / "td.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)


# === Softmax ======================================================================================
def test_softmax_layer_axes_and_mask():
    x = _x(2, 3, 4)

    def softmax(a, axis):
        e = np.exp(a - a.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    np.testing.assert_allclose(_np(layers.Softmax()(x)), softmax(x, -1), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(_np(layers.Softmax(axis=1)(x)), softmax(x, 1), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(_np(layers.Softmax(axis=(1, 2))(x)), softmax(x, (1, 2)),
                               rtol=1e-5, atol=1e-7)
    mask = np.ones((2, 3, 4), bool)
    mask[0, 0, 2:] = False
    mask[1, 2, :] = False                                 # a row masked entirely
    y = _np(layers.Softmax()(x, mask=mask))
    np.testing.assert_allclose(y[0, 0, :2], softmax(x[0, 0, :2], -1), rtol=1e-6)
    np.testing.assert_array_equal(y[0, 0, 2:], 0)
    np.testing.assert_array_equal(y[1, 2], 0)             # Keras 3: zeros, not a uniform row
    np.testing.assert_allclose(y[1, :2], softmax(x[1, :2], -1), rtol=1e-6)
    np.testing.assert_array_equal(_np(layers.Softmax()(x, mask=mask.astype(np.float32) * 0.9)),
                                  y)                      # a float mask counts where > 0.5
    row = _np(layers.Softmax()(x[:1, :1], mask=np.array([True, False, True, True])))
    assert row[0, 0, 1] == 0 and row.sum() == pytest.approx(1, rel=1e-6)   # a mask that broadcasts
    assert layers.Softmax(axis=1).get_config()["axis"] == 1
