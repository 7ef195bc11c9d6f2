"""The Keras 3 layers added beside the first ones (conv.py, pooling.py, reshaping.py,
merging.py, activations.py, regularization.py, normalization.py, preprocessing.py, attention.py,
core.py's Identity and Lambda), pinned against PyTorch float64 references of the same
computation with the same weights (Keras' layout converted to PyTorch's), written from Keras'
definitions (TensorFlow's 'same' padding, channels-last): outputs, the gradients of a sum with
respect to the input and every weight, shapes on symbolic inputs, and a save/load round trip.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradkit as gk
import gradkit.keras as keras
from gradkit.keras import layers as L

RNG = np.random.default_rng(0)


def _rand(*shape):
    return RNG.normal(size=shape)


def _grads_in_keras_layout(layer):
    """The gradients of the layer's weights in get_weights()' layout (None: not trained)."""
    out = []
    for w in layer._weight_entries():
        if w.tensors[0].grad is None:
            out.append(None)
            continue
        grads = [t.grad.array for t in w.tensors]
        out.append(w.to_keras(*grads) if w.to_keras else grads[0])
    return out


def _compare(layer, inputs, reference, training=False):
    """Run ``layer`` (float64) and ``reference(torch inputs, *torch Keras-layout weights)``;
    compare outputs, and the gradients of sum(output · r) for the inputs and every weight."""
    many = isinstance(inputs, list)
    xs = inputs if many else [inputs]
    gx = [gk.tensor(x, requires_grad=True) for x in xs]
    y = layer(gx if many else gx[0], training=training)
    tx = [torch.tensor(x, requires_grad=True) for x in xs]
    tw = [torch.tensor(w, requires_grad=bool(w.dtype.kind == "f" and p.requires_grad))
          for w, p in zip(layer.get_weights(), layer.weights)]
    ty = reference(*tx, *tw)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-9, atol=1e-10)
    r = _rand(*y.shape)
    (y * gk.tensor(r)).sum().backward()
    (ty * torch.tensor(r)).sum().backward()
    for g, t in zip(gx, tx):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-10)
    for g, t in zip(_grads_in_keras_layout(layer), tw):
        if t.requires_grad:
            np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-9, atol=1e-10)
        else:
            assert g is None
    return y


def _same(size, k, s, d=1):
    """TensorFlow's 'same' padding (before, after) of one axis."""
    total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def _nhwc(f):   # a channels-first torch function on channels-last tensors
    return lambda x, *w: f(x.permute(0, 3, 1, 2), *w).permute(0, 2, 3, 1)


def _ntc(f):
    return lambda x, *w: f(x.transpose(1, 2), *w).transpose(1, 2)


F64 = dict(dtype="float64")


# === convolutions =============================================================================
@pytest.mark.parametrize("padding, strides, dilation", [("valid", 1, 1), ("same", 2, 1),
                                                        ("same", 1, 2), ("causal", 1, 2),
                                                        ("valid", 3, 1)])
def test_conv1d(padding, strides, dilation):
    layer = L.Conv1D(5, 3, strides=strides, padding=padding, dilation_rate=dilation,
                     bias_initializer="glorot_uniform", **F64)

    def ref(x, kernel, bias):      # kernel (k, in, out) -> torch (out, in, k)
        x = x.transpose(1, 2)
        if padding == "same":
            x = TF.pad(x, _same(x.shape[2], 3, strides, dilation))
        elif padding == "causal":
            x = TF.pad(x, (2 * dilation, 0))
        return TF.conv1d(x, kernel.permute(2, 1, 0), bias, strides, 0, dilation).transpose(1, 2)

    _compare(layer, _rand(2, 11, 4), ref)
    assert layer.get_weights()[0].shape == (3, 4, 5)


@pytest.mark.parametrize("kernel, strides, padding, output_padding", [
    (3, 2, "same", None), (3, 2, "valid", None), (4, 2, "same", None), (2, 1, "same", None),
    ((3, 2), (1, 2), "valid", None), (1, 3, "same", None), (1, 3, "valid", None),
    (3, 2, "same", 1), (3, 2, "valid", 1)])
def test_conv2d_transpose(kernel, strides, padding, output_padding):
    layer = L.Conv2DTranspose(4, kernel, strides=strides, padding=padding,
                              output_padding=output_padding, bias_initializer="glorot_uniform",
                              **F64)
    ks = (kernel, kernel) if isinstance(kernel, int) else kernel
    ss = (strides, strides) if isinstance(strides, int) else strides
    H, W = 5, 6

    def ref(x, k, bias):      # kernel (kh, kw, out, in) -> torch (in, out, kh, kw), no flip
        full = TF.conv_transpose2d(x.permute(0, 3, 1, 2), k.permute(3, 2, 0, 1), None, ss)
        pads = []
        for n, kk, s in ((W, ks[1], ss[1]), (H, ks[0], ss[0])):   # TensorFlow's output
            F_ = (n - 1) * s + kk
            if output_padding is not None:
                p = kk // 2 if padding == "same" else 0
                length = (n - 1) * s + kk - 2 * p + output_padding
                before = max((n_fwd := math.ceil(length / s)) and
                             ((n_fwd - 1) * s + kk - length), 0) // 2 if padding == "same" else 0
            elif padding == "same":
                length, before = n * s, max(kk - s, 0) // 2
            else:
                length, before = n * s + max(kk - s, 0), 0
            pads += [-before, length - (F_ - before)]
        y = TF.pad(full, pads) + bias[:, None, None]
        return y.permute(0, 2, 3, 1)

    y = _compare(layer, _rand(2, H, W, 3), ref)
    assert layer.get_weights()[0].shape == ks + (4, 3)
    if output_padding is None:
        expect = (H * ss[0], W * ss[1]) if padding == "same" else \
            ((H - 1) * ss[0] + max(ks[0], ss[0]), (W - 1) * ss[1] + max(ks[1], ss[1]))
        assert y.shape[1:3] == expect


@pytest.mark.parametrize("padding, strides", [("valid", 1), ("same", 2)])
def test_depthwise_and_separable_conv2d(padding, strides):
    def pad(x):
        if padding == "same":
            (t, b), (l, r) = _same(x.shape[2], 3, strides), _same(x.shape[3], 3, strides)
            x = TF.pad(x, (l, r, t, b))
        return x

    def depthwise(x, k):   # kernel (kh, kw, C, m) -> torch (C·m, 1, kh, kw)
        C, m = k.shape[2], k.shape[3]
        return TF.conv2d(pad(x), k.permute(2, 3, 0, 1).reshape(C * m, 1, 3, 3), None, strides,
                         groups=C)

    dw = L.DepthwiseConv2D(3, strides=strides, padding=padding, depth_multiplier=2,
                           bias_initializer="glorot_uniform", **F64)
    _compare(dw, _rand(2, 7, 6, 3), _nhwc(lambda x, k, b: depthwise(x, k) + b[:, None, None]))
    assert [w.shape for w in dw.get_weights()] == [(3, 3, 3, 2), (6,)]

    sep = L.SeparableConv2D(5, 3, strides=strides, padding=padding, depth_multiplier=2,
                            bias_initializer="glorot_uniform", **F64)
    _compare(sep, _rand(2, 7, 6, 3), _nhwc(lambda x, k, p, b: TF.conv2d(
        depthwise(x, k), p.permute(3, 2, 0, 1), b)))
    assert [w.shape for w in sep.get_weights()] == [(3, 3, 3, 2), (1, 1, 6, 5), (5,)]


# === pooling, reshaping =======================================================================
def test_pooling1d():
    x = _rand(2, 9, 3)
    _compare(L.MaxPooling1D(**F64), x, _ntc(lambda t: TF.max_pool1d(t, 2)))
    _compare(L.MaxPooling1D(3, strides=1, padding="same", **F64), x,
             _ntc(lambda t: TF.max_pool1d(TF.pad(t, (1, 1), value=-math.inf), 3, 1)))
    _compare(L.AveragePooling1D(3, strides=2, **F64), x, _ntc(lambda t: TF.avg_pool1d(t, 3, 2)))
    _compare(L.AveragePooling1D(3, strides=1, padding="same", **F64), x,   # padding left out
             _ntc(lambda t: TF.avg_pool1d(t, 3, 1, 1, count_include_pad=False)))


def test_upsampling_padding_cropping():
    x4, x3 = _rand(2, 4, 5, 3), _rand(2, 6, 3)
    _compare(L.UpSampling2D((2, 3), **F64), x4,
             lambda t: t.repeat_interleave(2, 1).repeat_interleave(3, 2))
    _compare(L.UpSampling2D(interpolation="bilinear", **F64), x4, _nhwc(
        lambda t: TF.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)))
    _compare(L.UpSampling1D(3, **F64), x3, lambda t: t.repeat_interleave(3, 1))
    _compare(L.ZeroPadding2D(((1, 2), (3, 0)), **F64), x4, lambda t: TF.pad(t, (0, 0, 3, 0, 1, 2)))
    _compare(L.ZeroPadding2D(1, data_format="channels_first", **F64), x4,
             lambda t: TF.pad(t, (1, 1, 1, 1)))
    _compare(L.ZeroPadding1D((2, 1), **F64), x3, lambda t: TF.pad(t, (0, 0, 2, 1)))
    _compare(L.Cropping2D(((1, 0), (2, 1)), **F64), x4, lambda t: t[:, 1:, 2:-1])
    _compare(L.Cropping1D(2, **F64), x3, lambda t: t[:, 2:-2])
    _compare(L.Permute((2, 1), **F64), x3, lambda t: t.permute(0, 2, 1))
    _compare(L.RepeatVector(4, **F64), x3[:, 0], lambda t: t[:, None].expand(2, 4, 3))
    with pytest.raises(ValueError, match="cropping"):
        L.Cropping1D(3)(np.zeros((1, 6, 2)))


# === merging ==================================================================================
def test_merging_layers():
    a, b, c = _rand(3, 4), _rand(3, 4), _rand(3, 4)
    _compare(L.Multiply(**F64), [a, b, c], lambda x, y, z: x * y * z)
    _compare(L.Subtract(**F64), [a, b], lambda x, y: x - y)
    _compare(L.Average(**F64), [a, b, c], lambda x, y, z: (x + y + z) / 3)
    _compare(L.Maximum(**F64), [a, b, c], lambda x, y, z: torch.maximum(torch.maximum(x, y), z))
    _compare(L.Minimum(**F64), [a, b], torch.minimum)
    _compare(L.Dot(axes=1, **F64), [a, b], lambda x, y: (x * y).sum(1, keepdim=True))
    _compare(L.Dot(axes=1, normalize=True, **F64), [a, b],
             lambda x, y: (TF.normalize(x, dim=1) * TF.normalize(y, dim=1)).sum(1, keepdim=True))
    s, t = _rand(2, 5, 4), _rand(2, 6, 4)
    _compare(L.Dot(axes=2, **F64), [s, t], lambda x, y: x @ y.transpose(1, 2))
    _compare(L.Dot(axes=(1, 1), **F64), [s, _rand(2, 5, 3)], lambda x, y: x.transpose(1, 2) @ y)
    with pytest.raises(ValueError, match="exactly 2"):
        L.Subtract()([a, b, c])


# === activations, noise =======================================================================
def test_activation_layers():
    x = _rand(3, 4, 5)
    _compare(L.LeakyReLU(**F64), x, lambda t: TF.leaky_relu(t, 0.3))
    assert L.LeakyReLU().negative_slope == 0.3           # Keras 3's layer default
    _compare(L.ELU(0.7, **F64), x, lambda t: TF.elu(t, 0.7))
    _compare(L.ReLU(**F64), x, TF.relu)
    _compare(L.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.5, **F64), x,
             lambda t: torch.where(t >= 0.5, t.clamp(max=1.0), 0.1 * (t - 0.5)))
    prelu = L.PReLU(alpha_initializer="glorot_uniform", **F64)
    _compare(prelu, x, lambda t, a: torch.where(t > 0, t, a * t))
    assert prelu.get_weights()[0].shape == (4, 5)
    shared = L.PReLU(alpha_initializer="glorot_uniform", shared_axes=[1], **F64)
    _compare(shared, x, lambda t, a: torch.where(t > 0, t, a * t))
    assert shared.get_weights()[0].shape == (1, 5)
    assert np.array_equal(L.PReLU()(np.array([[-2.0, 3.0]])).numpy(), [[0.0, 3.0]])   # alpha 0


def test_noise_and_spatial_dropout_layers():
    gk.manual_seed(0)
    x = np.random.default_rng(1).uniform(1, 2, (64, 6, 8)).astype("float32")
    for layer in (L.SpatialDropout1D(0.5), L.GaussianNoise(0.3), L.GaussianDropout(0.3)):
        assert np.array_equal(layer(x).numpy(), x)                       # inference: identity
    y = L.SpatialDropout1D(0.5)(x, training=True).numpy()
    dropped, kept = (y == 0).all(axis=1), np.isclose(y, 2 * x).all(axis=1)   # whole channels
    assert (dropped | kept).all() and 0.4 < dropped.mean() < 0.6
    x4 = np.ones((32, 3, 3, 8), "float32")
    y4 = L.SpatialDropout2D(0.25)(x4, training=True).numpy()
    assert (np.ptp(y4.reshape(32, 9, 8), axis=1) == 0).all()            # constant per map
    noise = L.GaussianNoise(0.3)(x, training=True).numpy() - x
    assert abs(noise.std() - 0.3) < 0.02 and abs(noise.mean()) < 0.02
    factor = L.GaussianDropout(0.3)(x, training=True).numpy() / x
    assert abs(factor.std() - math.sqrt(0.3 / 0.7)) < 0.03 and abs(factor.mean() - 1) < 0.03


# === normalization, preprocessing =============================================================
def test_group_and_unit_normalization():
    layer = L.GroupNormalization(2, gamma_initializer="glorot_uniform",
                                 beta_initializer="glorot_uniform", **F64)
    _compare(layer, _rand(2, 3, 4, 6), _nhwc(lambda t, g, b: TF.group_norm(t, 2, g, b, 1e-3)))
    layer = L.GroupNormalization(-1, **F64)                                # instance norm
    _compare(layer, _rand(2, 5, 4), _ntc(lambda t, g, b: TF.group_norm(t, 4, g, b, 1e-3)))
    _compare(L.UnitNormalization(**F64), _rand(3, 4, 5), lambda t: TF.normalize(t, dim=-1))
    with pytest.raises(ValueError, match="divide"):
        L.GroupNormalization(4)(np.zeros((1, 3, 6)))


def test_rescaling_and_normalization_adapt():
    x = np.random.default_rng(2).normal(3.0, 2.0, (200, 4)) * [1, 2, 3, 4]
    _compare(L.Rescaling(1 / 127.5, offset=-1, **F64), x, lambda t: t / 127.5 - 1)
    norm = L.Normalization(**F64)
    norm.adapt(x)
    mean, var, count = norm.get_weights()
    np.testing.assert_allclose(mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(var, x.var(0), rtol=1e-12)
    assert count == 0 and count.dtype == np.int64
    _compare(norm, x[:5], lambda t, m, v, c: (t - m) / v.sqrt())
    batches = L.Normalization(axis=None, **F64)                            # one mean, in batches
    batches.adapt([(x[:50], None), (x[50:], None)].__iter__())
    np.testing.assert_allclose(batches.get_weights()[0], x.mean(), rtol=1e-12)
    given = L.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0], invert=True)
    assert given.get_weights() == []
    np.testing.assert_allclose(given(np.array([[1.0, 1.0]])).numpy(), [[3.0, 5.0]])


# === attention ================================================================================
def _attend(scores, v, keep=None, q_keep=None):     # Keras' _apply_scores, in torch
    if keep is not None:
        scores = scores - 1e9 * torch.tensor(~keep, dtype=scores.dtype)
    out = torch.softmax(scores, -1) @ v
    return out if q_keep is None else out * torch.tensor(q_keep[..., None], dtype=out.dtype)


def test_attention_dot_concat_and_additive():
    q, v, k = _rand(2, 4, 3), _rand(2, 5, 3), _rand(2, 5, 3)
    _compare(L.Attention(**F64), [q, v], lambda q, v: _attend(q @ v.transpose(1, 2), v))
    _compare(L.Attention(use_scale=True, **F64), [q, v, k],
             lambda q, v, k, s: _attend(q @ k.transpose(1, 2) * s, v))
    _compare(L.Attention(use_scale=True, score_mode="concat", **F64), [q, v],
             lambda q, v, s, c: _attend(
                 c * torch.tanh(s * (q[:, :, None] + v[:, None])).sum(-1), v))
    additive = L.AdditiveAttention(**F64)
    _compare(additive, [q, v, k],
             lambda q, v, k, s: _attend((s * torch.tanh(q[:, :, None] + k[:, None])).sum(-1), v))
    assert additive.get_weights()[0].shape == (3,)
    _compare(L.AdditiveAttention(use_scale=False, **F64), [q, v],
             lambda q, v: _attend(torch.tanh(q[:, :, None] + v[:, None]).sum(-1), v))


def test_attention_masks_and_scores():
    q, v = _rand(2, 4, 3), _rand(2, 5, 3)
    q_keep = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
    v_keep = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    layer = L.Attention(**F64)
    out, w = layer([gk.tensor(q), gk.tensor(v)], mask=[q_keep, v_keep],
                   return_attention_scores=True)
    ref = _attend(torch.tensor(q) @ torch.tensor(v).transpose(1, 2), torch.tensor(v),
                  v_keep[:, None], q_keep)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-9, atol=1e-12)
    assert np.allclose(w.numpy()[0, :, 3:], 0) and np.allclose(w.numpy().sum(-1), 1)
    causal = layer([gk.tensor(q), gk.tensor(v)], use_causal_mask=True)
    ref = _attend(torch.tensor(q) @ torch.tensor(v).transpose(1, 2), torch.tensor(v),
                  np.tril(np.ones((4, 5), bool)))
    np.testing.assert_allclose(causal.numpy(), ref.numpy(), rtol=1e-9, atol=1e-12)


# === symbolic shapes, saving, Lambda ==========================================================
@pytest.mark.parametrize("make, shape, expected", [
    (lambda: L.Conv1D(8, 3, strides=2, padding="same"), (10, 4), (None, 5, 8)),
    (lambda: L.Conv2DTranspose(6, 3, strides=2, padding="same"), (7, 5, 3), (None, 14, 10, 6)),
    (lambda: L.Conv2DTranspose(6, 3, strides=2), (7, 5, 3), (None, 15, 11, 6)),
    (lambda: L.DepthwiseConv2D(3, depth_multiplier=3), (7, 5, 2), (None, 5, 3, 6)),
    (lambda: L.SeparableConv2D(4, 3, padding="same"), (7, 5, 2), (None, 7, 5, 4)),
    (lambda: L.MaxPooling1D(3, padding="same"), (10, 4), (None, 4, 4)),
    (lambda: L.AveragePooling1D(), (10, 4), (None, 5, 4)),
    (lambda: L.UpSampling2D((2, 3)), (4, 5, 3), (None, 8, 15, 3)),
    (lambda: L.UpSampling1D(), (4, 3), (None, 8, 3)),
    (lambda: L.ZeroPadding2D(((1, 2), (0, 3))), (4, 5, 3), (None, 7, 8, 3)),
    (lambda: L.ZeroPadding1D(), (4, 3), (None, 6, 3)),
    (lambda: L.Cropping2D(((1, 0), (2, 2))), (4, 5, 3), (None, 3, 1, 3)),
    (lambda: L.Cropping1D((0, 2)), (4, 3), (None, 2, 3)),
    (lambda: L.Permute((3, 1, 2)), (4, 5, 3), (None, 3, 4, 5)),
    (lambda: L.RepeatVector(6), (3,), (None, 6, 3)),
    (lambda: L.PReLU(), (4, 3), (None, 4, 3)),
    (lambda: L.GroupNormalization(3), (4, 6), (None, 4, 6)),
    (lambda: L.Normalization(), (4, 6), (None, 4, 6)),
])
def test_symbolic_output_shapes(make, shape, expected):
    assert tuple(make()(keras.Input(shape=shape)).shape) == expected


def test_symbolic_merging_and_attention_shapes():
    a, b = keras.Input(shape=(4, 3)), keras.Input(shape=(6, 3))
    assert tuple(L.Dot(axes=2)([a, b]).shape) == (None, 4, 6)
    assert tuple(L.Attention()([a, b]).shape) == (None, 4, 3)
    assert tuple(L.Multiply()([a, a]).shape) == (None, 4, 3)


def test_model_with_the_new_layers_round_trips(tmp_path):
    gk.manual_seed(3)
    image, seq = keras.Input(shape=(8, 8, 3)), keras.Input(shape=(12, 4))
    x = L.Rescaling(0.5, offset=0.1)(image)
    x = L.ZeroPadding2D(1)(x)
    x = L.SeparableConv2D(6, 3, strides=2, padding="same", bias_initializer="glorot_uniform")(x)
    x = L.GroupNormalization(3, beta_initializer="glorot_uniform")(x)
    x = L.PReLU(alpha_initializer="glorot_uniform", shared_axes=[1, 2])(x)
    x = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(x)
    x = L.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=1)(x)
    x = L.UpSampling2D(interpolation="bilinear")(x)
    x = L.Cropping2D(((1, 1), (2, 0)))(x)
    x = L.SpatialDropout2D(0.3)(x)
    x = L.LeakyReLU(0.2)(x)
    x = L.GlobalAveragePooling2D()(x)
    s = L.Normalization()
    s.adapt(RNG.normal(2.0, 3.0, (50, 12, 4)))
    y = s(seq)
    y = L.Conv1D(6, 3, padding="causal", dilation_rate=2)(y)
    y = L.MaxPooling1D()(y)
    y = L.AveragePooling1D(2, padding="same")(y)
    y = L.UpSampling1D(2)(y)
    y = L.ZeroPadding1D((1, 0))(y)
    y = L.Cropping1D((0, 1))(y)
    y = L.GaussianNoise(0.1)(y)
    y = L.Attention(use_scale=True)([y, y])
    y = L.AdditiveAttention()([y, y])
    y = L.ELU()(y)
    y = L.Permute((2, 1))(y)
    y = L.UnitNormalization()(y)
    y = L.GlobalMaxPooling1D()(L.ReLU(max_value=2.0)(y))
    y = L.GaussianDropout(0.2)(y)
    z = L.Concatenate()([x, L.Dense(4)(y)])
    z = L.Add()([L.Multiply()([z, z]), L.Subtract()([z, L.Identity()(z)])])
    z = L.Average()([L.Maximum()([z, z]), L.Minimum()([z, z])])
    r = L.RepeatVector(2)(z)
    out = L.Dot(axes=2, normalize=True)([r, r])
    model = keras.Model([image, seq], out)
    data = [RNG.normal(size=(3, 8, 8, 3)).astype("float32"),
            RNG.normal(size=(3, 12, 4)).astype("float32")]
    before = model.predict(data, verbose=0)
    model.save(tmp_path / "more.keras")
    loaded = keras.models.load_model(tmp_path / "more.keras")
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), before)
    assert [type(layer).__name__ for layer in loaded.layers] == \
        [type(layer).__name__ for layer in model.layers]
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_lambda_runs_and_refuses_to_be_saved(tmp_path):
    model = keras.Sequential([keras.Input(shape=(3,)), L.Lambda(lambda x: x * 2),
                              L.Lambda(lambda x, k: x + k, arguments={"k": 1.0})])
    np.testing.assert_allclose(model.predict(np.ones((2, 3), "float32"), verbose=0), 3.0)
    with pytest.raises(ValueError, match=r"Lambda layer 'lambda.*cannot be saved.*"
                                         r"register_keras_serializable.*save_weights"):
        model.save(tmp_path / "lambda.keras")
