"""Keras layers against the computation they stand for: PyTorch on the same weights (moved from
Keras layout), or a NumPy formula written from Keras' definitions with get_weights()."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradkit as gk
import gradkit.keras as keras
from gradkit.keras import layers

rng = np.random.default_rng(0)


def _x(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def _np(t):
    return np.asarray(t.array if hasattr(t, "array") else t)


# === Dense ====================================================================================
def test_dense_is_x_kernel_plus_bias_in_keras_layout():
    d = layers.Dense(5, activation="relu")
    assert not d.built and d.weights == []
    x = _x(4, 3)
    y = _np(d(x))
    kernel, bias = d.get_weights()
    assert kernel.shape == (3, 5) and bias.shape == (5,)           # Keras layout
    assert d.linear.weight.shape == (5, 3)                         # nn.Linear's layout inside
    np.testing.assert_allclose(y, np.maximum(x @ kernel + bias, 0), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(_np(d.kernel), kernel)


def test_dense_keras_default_initialisers():
    gk.manual_seed(0)
    d = layers.Dense(200)
    d(np.zeros((1, 300), np.float32))
    kernel, bias = d.get_weights()
    limit = math.sqrt(6 / (300 + 200))                             # glorot_uniform
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.95 * limit
    assert abs(kernel.std() - limit / math.sqrt(3)) < 0.01 * limit
    np.testing.assert_array_equal(bias, 0)                         # zeros


def test_dense_gradients_match_torch():
    d = layers.Dense(4, activation="tanh")
    x = gk.tensor(_x(6, 3), requires_grad=True)
    (d(x) ** 2).sum().backward()
    kernel, bias = d.get_weights()
    tx = torch.tensor(x.array, requires_grad=True)
    tk = torch.tensor(kernel, requires_grad=True)
    tb = torch.tensor(bias, requires_grad=True)
    (torch.tanh(tx @ tk + tb) ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.array, tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d.linear.weight.grad.array.T, tk.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_input_shape_builds_at_construction_and_set_weights_checks_shapes():
    model = keras.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(2)])
    assert model.built and model.layers[0].built and model.layers[1].built
    assert [w.shape for w in model.get_weights()] == [(3, 4), (4,), (4, 2), (2,)]
    with pytest.raises(ValueError, match=r"weight 0 has shape \(4, 3\); expected \(3, 4\)"):
        model.layers[0].set_weights([np.zeros((4, 3)), np.zeros(4)])
    new = [np.full(w.shape, i, np.float32) for i, w in enumerate(model.get_weights())]
    model.set_weights(new)
    for a, b in zip(model.get_weights(), new):
        np.testing.assert_array_equal(a, b)


# === Conv2D and pooling (channels-last) =======================================================
def _tf_same_pad(size, k, s, d=1):
    out = math.ceil(size / s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


@pytest.mark.parametrize("kernel,strides,padding,dilation", [
    ((3, 3), (1, 1), "valid", (1, 1)),
    ((3, 2), (2, 1), "valid", (1, 1)),
    ((4, 4), (1, 1), "same", (1, 1)),      # even kernel: TF puts the extra row/col after
    ((3, 3), (2, 2), "same", (1, 1)),      # strided 'same': asymmetric padding
    ((3, 3), (1, 1), "same", (2, 2)),
])
def test_conv2d_nhwc_matches_torch_conv2d_on_permuted_input(kernel, strides, padding, dilation):
    x = _x(2, 9, 8, 3)
    conv = layers.Conv2D(5, kernel, strides=strides, padding=padding, dilation_rate=dilation)
    gx = gk.tensor(x, requires_grad=True)
    y = conv(gx)
    k, b = conv.get_weights()
    assert k.shape == kernel + (3, 5)                              # (kh, kw, in, out)
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    tin = tx
    if padding == "same":
        (t, bo) = _tf_same_pad(9, kernel[0], strides[0], dilation[0])
        (lft, r) = _tf_same_pad(8, kernel[1], strides[1], dilation[1])
        tin = TF.pad(tx, (lft, r, t, bo))
    ty = TF.conv2d(tin, torch.tensor(k.transpose(3, 2, 0, 1)), torch.tensor(b), stride=strides,
                   dilation=dilation).permute(0, 2, 3, 1)
    np.testing.assert_allclose(_np(y), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    if padding == "same":
        assert y.shape[1:3] == (math.ceil(9 / strides[0]), math.ceil(8 / strides[1]))
    g = _x(*y.shape)
    (y * gk.tensor(g)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(gx.grad.array, tx.grad.numpy().transpose(0, 2, 3, 1),
                               rtol=1e-4, atol=1e-5)


def test_conv2d_input_errors_name_the_layer_and_the_fix():
    conv = layers.Conv2D(4, 3)
    with pytest.raises(ValueError, match=r"conv2d.*expected a 4-D batch of images \(N, H, W, C\)"
                                         r".*x\.reshape\(-1, H, W, 1\)"):
        conv(np.zeros((2, 28, 28), np.float32))
    conv(np.zeros((1, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r"expected 3 channels.*received 1"):
        conv(np.zeros((1, 8, 8, 1), np.float32))


def _pool_reference(x, k, s, padding, op):
    """Keras' pooling from its definition, with numpy loops (NHWC)."""
    N, H, W, C = x.shape
    if padding == "same":
        (t, _), (lft, _) = _tf_same_pad(H, k, s), _tf_same_pad(W, k, s)
        Ho, Wo = math.ceil(H / s), math.ceil(W / s)
    else:
        t = lft = 0
        Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    out = np.zeros((N, Ho, Wo, C), x.dtype)
    for i in range(Ho):
        for j in range(Wo):
            r0, c0 = i * s - t, j * s - lft
            win = x[:, max(r0, 0):min(r0 + k, H), max(c0, 0):min(c0 + k, W), :]
            out[:, i, j] = win.max(axis=(1, 2)) if op == "max" else win.mean(axis=(1, 2))
    return out


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("cls,op", [(layers.MaxPooling2D, "max"), (layers.AveragePooling2D, "avg")])
def test_pooling_matches_keras_definition(cls, op, padding):
    x = _x(2, 7, 6, 3)
    y = cls(pool_size=3, strides=2, padding=padding)(x)
    np.testing.assert_allclose(_np(y), _pool_reference(x, 3, 2, padding, op), rtol=1e-6, atol=1e-6)


def test_global_pooling_and_flatten_are_channels_last():
    x = _x(2, 4, 5, 3)
    np.testing.assert_allclose(_np(layers.GlobalAveragePooling2D()(x)), x.mean(axis=(1, 2)),
                               rtol=1e-6)
    np.testing.assert_allclose(_np(layers.GlobalMaxPooling2D()(x)), x.max(axis=(1, 2)))
    np.testing.assert_array_equal(_np(layers.Flatten()(x)), x.reshape(2, -1))  # NHWC order


# === normalization ============================================================================
def test_batch_normalization_training_and_inference_match_keras_rules():
    x = _x(8, 5, 5, 4) * 3 + 1
    bn = layers.BatchNormalization()
    y = bn(x, training=True)
    t = TF.batch_norm(torch.tensor(x.transpose(0, 3, 1, 2)), None, None, training=True, eps=1e-3)
    np.testing.assert_allclose(_np(y), t.numpy().transpose(0, 2, 3, 1), rtol=1e-4, atol=1e-4)
    gamma, beta, mean, var = bn.get_weights()
    # moving = 0.99 * moving + 0.01 * batch statistic (momentum=0.99 is PyTorch's 0.01)
    np.testing.assert_allclose(mean, 0.01 * x.mean(axis=(0, 1, 2)), rtol=1e-4)
    n = x.size // 4
    np.testing.assert_allclose(var, 0.99 + 0.01 * x.var(axis=(0, 1, 2)) * n / (n - 1), rtol=1e-4)
    inf = bn(x)  # inference: the moving statistics
    np.testing.assert_allclose(_np(inf), (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-4)
    bn.trainable = False  # Keras: a frozen BatchNormalization runs in inference mode
    np.testing.assert_allclose(_np(bn(x, training=True)), _np(inf), rtol=1e-6)
    assert bn.trainable_weights == [] and len(bn.non_trainable_weights) == 4


def test_layer_normalization_matches_torch():
    x = _x(3, 4, 6)
    ln = layers.LayerNormalization()
    np.testing.assert_allclose(_np(ln(x)), TF.layer_norm(torch.tensor(x), (6,), eps=1e-3).numpy(),
                               rtol=1e-4, atol=1e-5)


# === Embedding ================================================================================
def test_embedding_looks_up_rows_and_names_bad_ids():
    emb = layers.Embedding(10, 4)
    (table,) = emb.get_weights()
    assert table.shape == (10, 4) and np.abs(table).max() <= 0.05    # Keras' 'uniform'
    ids = np.array([[1, 2, 9], [0, 0, 3]])
    np.testing.assert_array_equal(_np(emb(ids)), table[ids])
    np.testing.assert_array_equal(_np(emb(ids.astype(np.float32))), table[ids])
    with pytest.raises(ValueError, match=r"token id 10 is outside \[0, 10\).*raise input_dim"):
        emb(np.array([[10]]))


# === recurrent ================================================================================
def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _keras_lstm(x, kernel, rec, bias):
    """Keras' LSTM step from its Keras-layout weights (gates i, f, c, o)."""
    N, T, _ = x.shape
    u = rec.shape[0]
    h, c = np.zeros((N, u)), np.zeros((N, u))
    outs = []
    for t in range(T):
        z = x[:, t] @ kernel + h @ rec + bias
        i, f, g, o = (z[:, k * u:(k + 1) * u] for k in range(4))
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        outs.append(h)
    return np.stack(outs, 1), h, c


def _keras_gru(x, kernel, rec, bias):
    """Keras' GRU (reset_after=True) from its Keras-layout weights (gates z, r, h)."""
    N, T, _ = x.shape
    u = rec.shape[0]
    h = np.zeros((N, u))
    outs = []
    for t in range(T):
        xz = x[:, t] @ kernel + bias[0]
        hz = h @ rec + bias[1]
        z = _sigmoid(xz[:, :u] + hz[:, :u])
        r = _sigmoid(xz[:, u:2 * u] + hz[:, u:2 * u])
        hh = np.tanh(xz[:, 2 * u:] + r * hz[:, 2 * u:])
        h = z * h + (1 - z) * hh
        outs.append(h)
    return np.stack(outs, 1), h


def test_lstm_follows_keras_formula_from_keras_layout_weights():
    x = _x(3, 5, 4)
    lstm = layers.LSTM(6, return_sequences=True, return_state=True)
    seq, h, c = lstm(x)
    kernel, rec, bias = lstm.get_weights()
    assert kernel.shape == (4, 24) and rec.shape == (6, 24) and bias.shape == (24,)
    # unit_forget_bias: the forget gate's quarter starts at 1
    np.testing.assert_array_equal(bias, np.r_[np.zeros(6), np.ones(6), np.zeros(12)])
    np.testing.assert_allclose(rec @ rec.T, np.eye(6), atol=1e-5)  # 'orthogonal' recurrent kernel
    lstm.set_weights([kernel, rec, rng.standard_normal(24).astype(np.float32)])
    seq, h, c = lstm(x)
    ref_seq, ref_h, ref_c = _keras_lstm(x, *lstm.get_weights())
    np.testing.assert_allclose(_np(seq), ref_seq, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_np(h), ref_h, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_np(c), ref_c, rtol=1e-4, atol=1e-5)
    last = layers.LSTM(6)
    last(x)
    last.set_weights(lstm.get_weights())
    np.testing.assert_allclose(_np(last(x)), ref_h, rtol=1e-4, atol=1e-5)
    assert last.count_params() == 4 * (4 * 6 + 6 * 6 + 6)            # Keras' count: one bias


def test_gru_follows_keras_reset_after_formula_and_gate_order():
    x = _x(2, 4, 3)
    gru = layers.GRU(5, return_sequences=True)
    gru(x)
    kernel, rec, _ = gru.get_weights()
    bias = rng.standard_normal((2, 15)).astype(np.float32)
    gru.set_weights([kernel, rec, bias])
    np.testing.assert_array_equal(gru.get_weights()[2], bias)
    ref, _ = _keras_gru(x, kernel, rec, bias)
    np.testing.assert_allclose(_np(gru(x)), ref, rtol=1e-4, atol=1e-5)


def test_simple_rnn_matches_torch_rnn():
    x = _x(2, 6, 3)
    rnn = layers.SimpleRNN(4)
    y = rnn(x)
    kernel, rec, bias = rnn.get_weights()
    t = torch.nn.RNN(3, 4, batch_first=True)
    with torch.no_grad():
        t.weight_ih_l0.copy_(torch.tensor(kernel.T))
        t.weight_hh_l0.copy_(torch.tensor(rec.T))
        t.bias_ih_l0.copy_(torch.tensor(bias))
        t.bias_hh_l0.zero_()
    out, _ = t(torch.tensor(x))
    np.testing.assert_allclose(_np(y), out[:, -1].detach().numpy(), rtol=1e-5, atol=1e-6)


# === MultiHeadAttention =======================================================================
def _softmax(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def test_multi_head_attention_matches_keras_einsum_definition():
    q_in, v_in = _x(2, 3, 8), _x(2, 5, 6)
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3)
    mask = rng.random((2, 3, 5)) > 0.3
    mask[:, :, 0] = True
    out, scores = mha(q_in, v_in, attention_mask=mask, return_attention_scores=True)
    wq, bq, wk, bk, wv, bv, wo, bo = mha.get_weights()
    assert wq.shape == (8, 2, 4) and wv.shape == (6, 2, 3) and wo.shape == (2, 3, 8)
    q = np.einsum("btd,dhk->bthk", q_in, wq) + bq
    k = np.einsum("bsd,dhk->bshk", v_in, wk) + bk
    v = np.einsum("bsd,dhk->bshk", v_in, wv) + bv
    s = np.einsum("bthk,bshk->bhts", q / 2.0, k)
    s = np.where(mask[:, None], s, -np.inf)
    p = _softmax(s)
    ref = np.einsum("bthv,hvd->btd", np.einsum("bhts,bshv->bthv", p, v), wo) + bo
    np.testing.assert_allclose(_np(scores), p, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(out), ref, rtol=1e-4, atol=1e-5)


# === training mode, freezing, lists of layers ==================================================
def test_dropout_is_off_unless_training_and_the_mode_is_restored():
    model = keras.Sequential([layers.Dropout(0.5)])
    x = np.ones((4, 100), np.float32)
    np.testing.assert_array_equal(_np(model(x)), x)               # Keras: inference by default
    y = _np(model(x, training=True))
    assert set(np.unique(y)) <= {0.0, 2.0} and (y == 0).any()
    assert model.training is False and model.layers[0].training is False
    model.train()
    assert (_np(model(x)) == 0).any()                              # PyTorch's switch works too


def test_subclassed_model_tracks_layers_in_attributes_and_lists():
    class Tower(keras.Model):
        def __init__(self):
            super().__init__()
            self.blocks = [layers.Dense(8, activation="relu") for _ in range(3)]
            self.head = layers.Dense(2)

        def call(self, x, training=None):
            for block in self.blocks:
                x = block(x)
            return self.head(x)

    model = Tower()
    model(np.zeros((1, 4), np.float32))
    assert len(model.trainable_variables) == 8
    names = [n for n, _ in model.named_parameters()]
    assert names[0] == "blocks.0.linear.weight" and names[-1] == "head.linear.bias"
    assert [type(layer).__name__ for layer in model.layers] == ["Dense"] * 4


def test_functional_model_equals_sequential_with_the_same_weights():
    inputs = keras.Input(shape=(6,))
    h = layers.Dense(5, activation="relu")(inputs)
    outputs = layers.Dense(3, activation="softmax")(h)
    functional = keras.Model(inputs, outputs)
    assert h.shape == (None, 5) and outputs.shape == (None, 3)
    seq = keras.Sequential([layers.Dense(5, activation="relu", input_shape=(6,)),
                            layers.Dense(3, activation="softmax")])
    seq.set_weights(functional.get_weights())
    x = _x(7, 6)
    np.testing.assert_allclose(functional.predict(x, verbose=0), seq.predict(x, verbose=0),
                               rtol=1e-6)
    with pytest.raises(ValueError, match=r"Input 'input_layer' of model 'functional'.*expected "
                                         r"shape \(None, 6\), received \(7, 4\)"):
        functional(_x(7, 4))


def test_functional_multi_input_and_disconnected_graph():
    a, b = keras.Input(shape=(3,), name="a"), keras.Input(shape=(2,), name="b")
    merged = layers.Concatenate()([layers.Dense(4)(a), b])
    model = keras.Model([a, b], layers.Dense(1)(merged))
    xa, xb = _x(5, 3), _x(5, 2)
    y1 = model.predict([xa, xb], verbose=0)
    y2 = model.predict({"a": xa, "b": xb}, verbose=0)
    np.testing.assert_array_equal(y1, y2)
    assert y1.shape == (5, 1)
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(a, merged)


def test_symbolic_tensor_arithmetic_points_to_layers():
    x = keras.Input(shape=(3,))
    with pytest.raises(TypeError, match=r"layers\.Add\(\)"):
        x + x


def test_summary_lists_layers_output_shapes_and_parameter_counts():
    model = keras.Sequential([layers.Dense(128, activation="relu", input_shape=(784,)),
                              layers.Dropout(0.2), layers.Dense(10, activation="softmax")])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert lines[0] == 'Model: "sequential"'
    row = next(line for line in lines if line.startswith("dense (Dense)"))
    assert "(None, 128)" in row and row.endswith("100,480")
    assert "dropout (Dropout)" in text and "(None, 10)" in text
    assert "Total params: 101,770" in text and "Trainable params: 101,770" in text
    lazy = keras.Sequential([layers.Dense(3)])
    lines = []
    lazy.summary(print_fn=lines.append)
    assert any(line.startswith("dense_2 (Dense)") and line.endswith("0 (unbuilt)") for line in lines)
    bn = keras.Sequential([layers.BatchNormalization(input_shape=(4,))])
    lines = []
    bn.summary(print_fn=lines.append)
    assert "Trainable params: 8" in lines and "Non-trainable params: 8" in lines
