"""Keras masking and recurrent dropout (gradkit/keras/layers/masks.py, recurrent.py).

PyTorch is the oracle, in float64: a masked SimpleRNN/LSTM/GRU equals a step-by-step loop over
torch's RNNCell/LSTMCell/GRUCell with the same weights (Keras' rule at a masked step: the state is
carried, the output repeats the previous one), outputs and weight gradients; a right-padded batch
ends where ``pack_padded_sequence`` does. Recurrent dropout is checked against the same loop with
the layer's own masks applied by hand, at every step.
"""
import re
import warnings

import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.keras as keras
from gradkit.keras.layers.masks import get_keras_mask
from gradkit.keras.preprocessing.sequence import pad_sequences

layers = keras.layers
F64 = "float64"
N, T, FEAT, UNITS = 4, 6, 3, 5
KINDS = ["SimpleRNN", "LSTM", "GRU"]


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, T, FEAT))
    # right padding, left padding and holes: every kind of mask Keras allows
    keep = np.array([[1, 1, 1, 1, 1, 1],
                     [1, 1, 1, 0, 0, 0],
                     [0, 0, 1, 1, 1, 1],
                     [1, 0, 1, 0, 0, 1]], bool)
    return x, keep


def _layer(kind, **kwargs):
    layer = getattr(layers, kind)(UNITS, dtype=F64, **kwargs)
    layer(np.zeros((1, T, FEAT)))   # built; the weights from Keras' initializers
    return layer


def _torch_cell(kind, layer):
    """The torch cell with the layer's weights (Keras' one bias goes to bias_ih, bias_hh = 0 for
    SimpleRNN/LSTM, whose nn module keeps bias_hh as a zero buffer)."""
    cls = {"SimpleRNN": torch.nn.RNNCell, "LSTM": torch.nn.LSTMCell, "GRU": torch.nn.GRUCell}[kind]
    cell = cls(FEAT, UNITS).double()
    r = layer.rnn
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(torch.tensor(getattr(r, name + "_l0").array))
    return cell


def _torch_masked_loop(kind, cell, x, keep, zero_output=False):
    """Keras' masked recurrence, step by step on a torch cell: (outputs (N, T, H), final h, c)."""
    n = x.shape[0]
    h = torch.zeros(n, UNITS, dtype=torch.float64)
    c = torch.zeros_like(h)
    out, outs = torch.zeros_like(h), []
    for t in range(x.shape[1]):
        m = torch.tensor(keep[:, t:t + 1])
        if kind == "LSTM":
            h_new, c_new = cell(x[:, t], (h, c))
            c = torch.where(m, c_new, c)
        else:
            h_new = cell(x[:, t], h)
        h = torch.where(m, h_new, h)
        out = torch.where(m, h_new, out)
        outs.append(torch.where(m, out, torch.zeros_like(out)) if zero_output else out)
    return torch.stack(outs, 1), h, c


def _grads(layer):
    r = layer.rnn
    names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0"] + \
        (["bias_hh_l0"] if isinstance(layer, layers.GRU) else [])
    return [getattr(r, n).grad.array for n in names]


def _torch_grads(kind, cell):
    names = ["weight_ih", "weight_hh", "bias_ih"] + (["bias_hh"] if kind == "GRU" else [])
    return [getattr(cell, n).grad.numpy() for n in names]


# === masked recurrences against torch ===========================================================
@pytest.mark.parametrize("kind", KINDS)
def test_masked_rnn_equals_torch_cell_loop_outputs_states_and_gradients(kind):
    x, keep = _data()
    layer = _layer(kind, return_sequences=True, return_state=True)
    cell = _torch_cell(kind, layer)
    out = layer(gk.Tensor(x), mask=gk.Tensor(keep))
    y, h = out[0], out[1]
    rng = np.random.default_rng(1)
    r_y, r_h = rng.normal(size=y.shape), rng.normal(size=h.shape)
    ((y * gk.Tensor(r_y)).sum() + (h * gk.Tensor(r_h)).sum()).backward()

    xt = torch.tensor(x)
    ty, th, tc = _torch_masked_loop(kind, cell, xt, keep)
    ((ty * torch.tensor(r_y)).sum() + (th * torch.tensor(r_h)).sum()).backward()
    np.testing.assert_allclose(y.array, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h.array, th.detach().numpy(), rtol=1e-12, atol=1e-12)
    if kind == "LSTM":
        np.testing.assert_allclose(out[2].array, tc.detach().numpy(), rtol=1e-12, atol=1e-12)
    for g, tg in zip(_grads(layer), _torch_grads(kind, cell)):
        np.testing.assert_allclose(g, tg, rtol=1e-10, atol=1e-12)
    # a masked step repeats the previous output; before the first kept step, zeros
    np.testing.assert_array_equal(y.array[1, 3:], np.broadcast_to(y.array[1, 2], (3, UNITS)))
    np.testing.assert_array_equal(y.array[2, :2], 0.0)


@pytest.mark.parametrize("kind", KINDS)
def test_right_padded_batch_ends_where_pack_padded_sequence_does(kind):
    x, _ = _data(2)
    lengths = np.array([6, 4, 2, 1])
    keep = np.arange(T)[None] < lengths[:, None]
    layer = _layer(kind, return_sequences=True, return_state=True)
    module = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind]
    tm = module(FEAT, UNITS, batch_first=True).double()
    tm.load_state_dict({k: torch.tensor(v.array) for k, v in layer.rnn.state_dict().items()})
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), torch.tensor(lengths),
                                                     batch_first=True, enforce_sorted=False)
    t_out, t_h = tm(packed)
    t_out, _ = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=True)
    out = layer(x, mask=keep)
    h_n = t_h[0] if kind == "LSTM" else t_h
    np.testing.assert_allclose(out[1].array, h_n[0].detach().numpy(), atol=1e-12)
    if kind == "LSTM":
        np.testing.assert_allclose(out[2].array, t_h[1][0].detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(out[0].array[keep], t_out.detach().numpy()[keep], atol=1e-12)


def test_unmasked_and_all_true_mask_take_the_fused_path_unchanged():
    x, _ = _data()
    layer = _layer("LSTM", return_sequences=True)
    plain = layer(x).array
    np.testing.assert_array_equal(layer(x, mask=np.ones((N, T), bool)).array, plain)
    keep = np.ones((N, T), bool)
    keep[0, -1] = False
    assert not np.array_equal(layer(x, mask=keep).array, plain)
    with pytest.raises(ValueError, match=r"mask has shape \(4, 5\); expected \(batch, timesteps\)"):
        layer(x, mask=np.ones((N, T - 1), bool))


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_go_backwards_respects_the_mask(kind):
    x, keep = _data(3)
    layer = _layer(kind, go_backwards=True, return_sequences=True)
    cell = _torch_cell(kind, layer)
    y = layer(x, mask=keep)
    ty, _, _ = _torch_masked_loop(kind, cell, torch.tensor(x[:, ::-1].copy()), keep[:, ::-1].copy())
    np.testing.assert_allclose(y.array, ty.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("merge_mode", ["concat", "sum"])
def test_bidirectional_with_mask_equals_torch_bidirectional_packed(merge_mode):
    x, _ = _data(4)
    lengths = np.array([6, 3, 5, 1])
    keep = np.arange(T)[None] < lengths[:, None]
    bi = layers.Bidirectional(layers.LSTM(UNITS, return_sequences=True), merge_mode=merge_mode,
                              dtype=F64)
    bi(np.zeros((1, T, FEAT)))
    assert bi.forward_layer.zero_output_for_mask and bi.backward_layer.zero_output_for_mask
    tm = torch.nn.LSTM(FEAT, UNITS, batch_first=True, bidirectional=True).double()
    with torch.no_grad():
        for sfx, rnn in (("", bi.forward_layer.rnn), ("_reverse", bi.backward_layer.rnn)):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(tm, f"{name}_l0{sfx}").copy_(torch.tensor(getattr(rnn, name + "_l0").array))
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), torch.tensor(lengths),
                                                     batch_first=True, enforce_sorted=False)
    t_out, _ = tm(packed)
    t_out = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=True,
                                                   total_length=T)[0].detach().numpy()
    if merge_mode == "sum":
        t_out = t_out[..., :UNITS] + t_out[..., UNITS:]
    out = bi(x, mask=keep)
    # the backward direction starts at each sequence's last real step; padded steps give zeros
    np.testing.assert_allclose(out.array, t_out, atol=1e-12)
    masked = layers.Masking(dtype=F64)(np.where(keep[..., None], x, 0.0))   # the mask attached
    out = bi(masked)
    np.testing.assert_allclose(out.array, t_out, atol=1e-12)
    assert get_keras_mask(out) is get_keras_mask(masked)


# === masks through models ======================================================================
def _ids():
    return np.array([[3, 7, 2, 0, 0, 0],
                     [5, 1, 0, 0, 0, 0],
                     [9, 8, 7, 6, 5, 4]])


def test_embedding_mask_zero_makes_the_mask_and_dense_passes_it_on():
    emb = layers.Embedding(10, 4, mask_zero=True)
    e = emb(_ids())
    np.testing.assert_array_equal(get_keras_mask(e).array, _ids() != 0)
    np.testing.assert_array_equal(emb.compute_mask(_ids()).array, _ids() != 0)
    d = layers.Dense(3)(e)
    np.testing.assert_array_equal(get_keras_mask(d).array, _ids() != 0)
    assert get_keras_mask(layers.Embedding(10, 4)(_ids())) is None
    assert layers.Embedding(10, 4, mask_zero=True).get_config()["mask_zero"] is True


def _padded(ids, extra):
    """The same sequences with ``extra`` more zeros in front (Keras' default 'pre' padding)."""
    return np.concatenate([np.zeros((len(ids), extra), ids.dtype), ids[:, ::-1]], 1)


def test_sequential_mask_reaches_the_lstm_and_padding_does_not_matter():
    model = keras.Sequential([layers.Embedding(10, 4, mask_zero=True),
                              layers.Dense(8, activation="relu"), layers.Dropout(0.5),
                              layers.LSTM(5)])
    a, b = model.predict(_padded(_ids(), 0), verbose=0), model.predict(_padded(_ids(), 9),
                                                                       verbose=0)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    unmasked = keras.Sequential([layers.Embedding(10, 4), layers.LSTM(5)])
    assert not np.allclose(unmasked.predict(_padded(_ids(), 0), verbose=0),
                           unmasked.predict(_padded(_ids(), 9), verbose=0), atol=1e-4)


def test_functional_keras_tensors_carry_the_mask_and_the_nodes_pass_it():
    inp = keras.Input(shape=(None,), dtype="int64")
    e = layers.Embedding(10, 4, mask_zero=True)(inp)
    assert e._keras_mask is not None and e._keras_mask.shape == (None, None)
    h = layers.Dense(6)(e)
    assert h._keras_mask is not None
    seq = layers.GRU(5, return_sequences=True)(h)
    assert seq._keras_mask is not None
    last = layers.GRU(3)(seq)
    assert last._keras_mask is None
    model = keras.Model(inp, last)
    np.testing.assert_allclose(model.predict(_padded(_ids(), 0), verbose=0),
                               model.predict(_padded(_ids(), 5), verbose=0), rtol=1e-6, atol=1e-7)
    clone = keras.models.clone_model(model)        # rebuilt from config: mask_zero kept
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(_padded(_ids(), 3), verbose=0),
                               model.predict(_padded(_ids(), 0), verbose=0), rtol=1e-6, atol=1e-7)


class _Recorder(layers.Layer):
    """A custom layer that takes the mask in call and passes it on."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.seen = None

    def call(self, x, mask=None):
        self.seen = mask
        return x * 2.0


class _DropFirstStep(layers.Layer):
    """A custom compute_mask: the first step is masked too."""

    def call(self, x):
        return x + 0.0

    def compute_mask(self, inputs, mask=None):
        keep = mask.array.copy()
        keep[:, 0] = False
        return gk.Tensor(keep)


def test_subclassed_layers_receive_and_compute_masks():
    emb = layers.Embedding(10, 4, mask_zero=True, dtype=F64)
    rec, lstm = _Recorder(dtype=F64), layers.LSTM(5, dtype=F64)
    ids = _ids()
    out = lstm(rec(emb(ids)))
    np.testing.assert_array_equal(rec.seen.array, ids != 0)
    np.testing.assert_allclose(out.array, lstm(emb(ids).array * 2.0, mask=ids != 0).array)
    dropped = lstm(_DropFirstStep(dtype=F64)(emb(ids)))
    keep = ids != 0
    keep[:, 0] = False
    np.testing.assert_allclose(dropped.array, lstm(emb(ids).array, mask=keep).array)


def test_subclassed_model_masks_ride_with_the_tensors():
    class Classifier(keras.Model):
        def __init__(self):
            super().__init__()
            self.emb = layers.Embedding(10, 4, mask_zero=True)
            self.rnn = layers.SimpleRNN(4)
            self.out = layers.Dense(1)

        def call(self, x, training=None):
            return self.out(self.rnn(self.emb(x)))

    model = Classifier()
    np.testing.assert_allclose(model(_padded(_ids(), 0)).array, model(_padded(_ids(), 4)).array,
                               rtol=1e-6, atol=1e-7)


def test_masking_layer_and_time_distributed():
    x, keep = _data(5)
    padded = np.where(keep[..., None], x, 0.0)
    masking = layers.Masking(mask_value=0.0, dtype=F64)
    m = masking(padded)
    np.testing.assert_array_equal(get_keras_mask(m).array, keep)
    td = layers.TimeDistributed(layers.Dense(4, dtype=F64))
    y = td(m)
    np.testing.assert_array_equal(get_keras_mask(y).array, keep)
    lstm = layers.LSTM(3, dtype=F64)
    np.testing.assert_allclose(lstm(y).array, lstm(td(padded).array, mask=keep).array)
    minus = layers.Masking(mask_value=-1.0)(np.array([[[-1.0, -1.0], [2.0, -1.0]]]))
    np.testing.assert_array_equal(get_keras_mask(minus).array, [[False, True]])
    np.testing.assert_array_equal(minus.array, [[[0.0, 0.0], [2.0, -1.0]]])


def test_global_average_pooling_1d_averages_the_kept_steps():
    x, keep = _data(6)
    pool = layers.GlobalAveragePooling1D(dtype=F64)
    y = pool(x, mask=keep)
    want = (x * keep[..., None]).sum(1) / keep.sum(1, keepdims=True)
    np.testing.assert_allclose(y.array, want)
    assert get_keras_mask(y) is None
    np.testing.assert_allclose(pool(x).array, x.mean(1))
    # from an embedding: padding leaves the average alone
    emb = layers.Embedding(10, 3, mask_zero=True)
    pooled = [pool(emb(_padded(_ids(), k))).array for k in (0, 7)]
    np.testing.assert_allclose(pooled[0], pooled[1], rtol=1e-6)
    # gradients reach the kept steps only
    xt = gk.Tensor(x, requires_grad=True)
    pool(xt, mask=keep).sum().backward()
    np.testing.assert_allclose(xt.grad.array, np.broadcast_to(
        (keep / keep.sum(1, keepdims=True))[..., None], x.shape))


def test_a_layer_without_masking_warns_naming_itself_and_the_mask_stops():
    e = layers.Embedding(10, 4, mask_zero=True)(_ids())
    with pytest.warns(UserWarning, match=re.escape(
            "Layer 'flatten' (of type Flatten) was passed an input with a mask attached to it")):
        f = layers.Flatten()(e)
    assert get_keras_mask(f) is None
    with pytest.warns(UserWarning, match=r"\(of type GlobalMaxPooling1D\)"):
        layers.GlobalMaxPooling1D()(e)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layers.Flatten()(layers.Embedding(10, 4)(_ids()))   # no mask, no warning


# === the loss and the metrics of fit/evaluate ==================================================
def test_compiled_loss_and_metrics_weight_by_the_output_mask():
    ids = _ids()
    labels = np.random.default_rng(0).integers(0, 3, ids.shape)
    model = keras.Sequential([layers.Embedding(10, 4, mask_zero=True),
                              layers.LSTM(6, return_sequences=True),
                              layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    probs = model.predict(ids, verbose=0)
    keep = ids != 0
    nll = -np.log(np.take_along_axis(probs, labels[..., None], -1)[..., 0])
    loss, acc = model.evaluate(ids, labels, verbose=0)
    np.testing.assert_allclose(loss, nll[keep].sum() / (keep.sum() + 1e-7), rtol=1e-5)
    np.testing.assert_allclose(acc, (probs.argmax(-1) == labels)[keep].mean(), rtol=1e-6)
    # the padded steps' labels do not matter
    other = np.where(keep, labels, (labels + 1) % 3)
    np.testing.assert_allclose(model.evaluate(ids, other, verbose=0), [loss, acc], rtol=1e-6)
    w = np.array([1.0, 2.0, 0.5])
    weighted = model.evaluate(ids, labels, sample_weight=w, verbose=0)[0]
    np.testing.assert_allclose(weighted, (nll * w[:, None])[keep].sum() / (keep.sum() + 1e-7),
                               rtol=1e-5)


@pytest.mark.data("sentiment")
def test_fit_on_padded_sentences_is_invariant_to_the_padding():
    from gradkit.datasets import sentiment_sentences
    sentences, labels = sentiment_sentences("train")
    sentences, labels = sentences[::4], labels[::4]          # 600 sentences: a quick fit
    words = [re.findall(r"[a-z']+", s.lower()) for s in sentences]
    counts = {}
    for ws in words:
        for w in ws:
            counts[w] = counts.get(w, 0) + 1
    vocab = {w: i + 2 for i, w in enumerate(sorted(counts, key=lambda w: (-counts[w], w))[:1500])}
    seqs = [[vocab.get(w, 1) for w in ws] for ws in words]   # 0 = padding, 1 = unknown
    whole = np.array([0 < len(s) <= 20 for s in seqs])       # what both paddings keep whole
    seqs, labels = [s for s, k in zip(seqs, whole) if k], labels[whole]
    x20, x40 = pad_sequences(seqs, maxlen=20), pad_sequences(seqs, maxlen=40)

    def model():
        gk.manual_seed(0)
        m = keras.Sequential([layers.Embedding(1502, 16, mask_zero=True),
                              layers.LSTM(16, recurrent_dropout=0.2),
                              layers.Dense(1, activation="sigmoid")])
        m.compile("adam", "binary_crossentropy", metrics=["accuracy"])
        return m

    m20 = model()   # each model is built and trained from the same draws of the generator
    h20 = m20.fit(x20, labels, epochs=3, batch_size=32, verbose=0)
    m40 = model()
    h40 = m40.fit(x40, labels, epochs=3, batch_size=32, verbose=0)
    assert h20.history["accuracy"][-1] > 0.6                 # it learns
    # the same sentence padded to 20 or to 40 steps: the same predictions
    p20, p40 = m20.predict(x20, verbose=0), m20.predict(x40, verbose=0)
    np.testing.assert_allclose(p20, p40, rtol=1e-5, atol=1e-6)
    # and training on either padding gave the same model (same draws, same kept steps)
    np.testing.assert_allclose(h20.history["loss"], h40.history["loss"], rtol=1e-4)
    np.testing.assert_allclose(m40.predict(x40, verbose=0), p20, rtol=1e-3, atol=1e-4)


# === recurrent dropout ===========================================================================
def _torch_dropout_loop(kind, layer, x, drop_x, drop_h):
    """Keras' cell with its dropout masks, written out in torch (gate order i, f, g, o / one
    gate): gate g reads (x · mx_g) W_ig + (h · mh_g) W_hg + b."""
    r = layer.rnn
    w_ih, w_hh = torch.tensor(r.weight_ih_l0.array, requires_grad=True), \
        torch.tensor(r.weight_hh_l0.array, requires_grad=True)
    b = torch.tensor(r.bias_ih_l0.array, requires_grad=True)
    G = 4 if kind == "LSTM" else 1
    mx = [torch.tensor(m.array) for m in drop_x] if drop_x else [None]
    mh = [torch.tensor(m.array) for m in drop_h] if drop_h else [None]
    mx, mh = mx * (G // len(mx)), mh * (G // len(mh))
    h = torch.zeros(x.shape[0], UNITS, dtype=torch.float64)
    c, outs = torch.zeros_like(h), []
    xt = torch.tensor(x)
    for t in range(x.shape[1]):
        a = torch.cat([(xt[:, t] if mx[g] is None else xt[:, t] * mx[g])
                       @ w_ih[g * UNITS:(g + 1) * UNITS].T
                       + (h if mh[g] is None else h * mh[g]) @ w_hh[g * UNITS:(g + 1) * UNITS].T
                       for g in range(G)], 1) + b
        if kind == "LSTM":
            i, f, g_, o = a.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g_)
            h = torch.sigmoid(o) * torch.tanh(c)
        else:
            h = torch.tanh(a)
        outs.append(h)
    return torch.stack(outs, 1), (w_ih, w_hh, b)


@pytest.mark.parametrize("kind,kwargs", [("SimpleRNN", dict(recurrent_dropout=0.4)),
                                         ("SimpleRNN", dict(dropout=0.3, recurrent_dropout=0.4)),
                                         ("LSTM", dict(recurrent_dropout=0.4)),
                                         ("LSTM", dict(dropout=0.3, recurrent_dropout=0.4))])
def test_recurrent_dropout_uses_one_mask_per_sequence_at_every_step(kind, kwargs):
    x, _ = _data(7)
    layer = _layer(kind, return_sequences=True, **kwargs)
    drawn = []
    draw = layer._dropout_masks

    def spy(inputs):
        drawn.append(draw(inputs))
        return drawn[-1]

    layer._dropout_masks = spy
    y = layer(x, training=True)
    assert len(drawn) == 1                                    # drawn once for the whole sequence
    drop_x, drop_h = drawn[0]
    G = 4 if kind == "LSTM" else 1
    assert len(drop_h) == G and (drop_x is None or len(drop_x) == G)   # Keras: one per gate
    for m, rate in [(m, kwargs["recurrent_dropout"]) for m in drop_h] + \
            [(m, kwargs.get("dropout")) for m in drop_x or []]:
        assert m.shape[0] == N and set(np.unique(m.array)) <= {0.0, 1 / (1 - rate)}
    rng = np.random.default_rng(8)
    r_y = rng.normal(size=y.shape)
    (y * gk.Tensor(r_y)).sum().backward()
    ty, (w_ih, w_hh, b) = _torch_dropout_loop(kind, layer, x, drop_x, drop_h)
    (ty * torch.tensor(r_y)).sum().backward()
    np.testing.assert_allclose(y.array, ty.detach().numpy(), atol=1e-12)
    r = layer.rnn
    np.testing.assert_allclose(r.weight_ih_l0.grad.array, w_ih.grad.numpy(), atol=1e-11)
    np.testing.assert_allclose(r.weight_hh_l0.grad.array, w_hh.grad.numpy(), atol=1e-11)
    np.testing.assert_allclose(r.bias_ih_l0.grad.array, b.grad.numpy(), atol=1e-11)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM"])
def test_recurrent_dropout_only_in_training(kind):
    x, keep = _data(9)
    gk.manual_seed(1)
    layer = _layer(kind, return_sequences=True, dropout=0.2, recurrent_dropout=0.5)
    plain = getattr(layers, kind)(UNITS, return_sequences=True, dtype=F64)
    plain(np.zeros((1, T, FEAT)))
    plain.set_weights(layer.get_weights())
    np.testing.assert_array_equal(layer(x).array, plain(x).array)          # inference
    np.testing.assert_array_equal(layer(x, mask=keep).array, plain(x, mask=keep).array)
    first, second = layer(x, training=True).array, layer(x, training=True).array
    assert not np.allclose(first, plain(x).array)
    assert not np.allclose(first, second)                  # a new mask at every call
    model = keras.Sequential([layer])
    model.compile("sgd", "mse")
    x32 = x.astype(np.float32)   # what the model's input conversion does
    np.testing.assert_array_equal(model.predict(x, verbose=0), plain(x32.astype(F64)).array)


def test_dropout_on_inputs_alone_keeps_the_fused_path_with_one_mask_per_sequence():
    x, _ = _data(10)
    layer = _layer("GRU", return_sequences=True, dropout=0.5)
    drawn = []
    draw = layer._dropout_masks
    layer._dropout_masks = lambda inputs: drawn.append(draw(inputs)) or drawn[-1]
    y = layer(x, training=True)
    (m,), none = drawn[0]
    assert none is None and m.shape == (N, FEAT)
    plain = _layer("GRU", return_sequences=True)
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(y.array, plain(x * m.array[:, None, :]).array, atol=1e-12)


def test_gru_recurrent_dropout_and_bad_rates_are_refused_clearly():
    with pytest.raises(NotImplementedError, match=r"GRU\(recurrent_dropout>0\).*GRUStep"):
        layers.GRU(4, recurrent_dropout=0.2)
    with pytest.raises(ValueError, match=r"LSTM: dropout must be a fraction in \[0, 1\)"):
        layers.LSTM(4, dropout=1.5)
    config = layers.LSTM(4, dropout=0.1, recurrent_dropout=0.2, seed=3).get_config()
    assert (config["dropout"], config["recurrent_dropout"], config["seed"]) == (0.1, 0.2, 3)
