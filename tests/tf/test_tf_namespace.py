"""gradkit.tf's names: TensorFlow's dtype rules, Variables, the math and nn functions (values
checked against NumPy/PyTorch), tf.function, tf.random, and the errors for missing names."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.tf as tf


# === making tensors ===============================================================================
def test_constant_follows_tensorflows_dtype_rules():
    assert tf.constant(1.0).dtype == np.float32
    assert tf.constant([1, 2]).dtype == np.int32            # TensorFlow: int32, not int64
    assert tf.constant(np.arange(3.0)).dtype == np.float64  # arrays keep their dtype
    assert tf.constant([1, 2], dtype=tf.float64).dtype == np.float64
    np.testing.assert_array_equal(tf.constant(7, shape=(2, 3)).numpy(), np.full((2, 3), 7))
    a = np.ones(3)
    c = tf.constant(a)
    a[0] = 5
    assert c.numpy()[0] == 1.0                               # a copy
    with pytest.raises(ValueError, match="cannot fill shape"):
        tf.constant([1, 2, 3], shape=(2, 2))


def test_convert_to_tensor_passes_tensors_through_and_refuses_a_silent_cast():
    t = gk.tensor([1.0, 2.0], requires_grad=True) * 2
    assert tf.convert_to_tensor(t) is t                      # graph kept
    assert tf.convert_to_tensor([1.5]).dtype == np.float32
    assert tf.convert_to_tensor(3, dtype_hint=tf.float32).dtype == np.float32
    with pytest.raises(ValueError, match="use tf.cast"):
        tf.convert_to_tensor(t, dtype=tf.float64)
    with pytest.raises(TypeError, match="numbers and booleans only"):
        tf.constant(["a", "b"])


def test_factories():
    assert tf.zeros((2, 3)).dtype == np.float32 and tf.zeros((2, 3)).shape == (2, 3)
    np.testing.assert_array_equal(tf.ones(2, dtype=tf.int32).numpy(), [1, 1])
    np.testing.assert_array_equal(tf.range(5).numpy(), np.arange(5))
    assert tf.range(5).dtype == np.int32 and tf.range(0.0, 1.0, 0.5).dtype == np.float32
    np.testing.assert_array_equal(tf.shape(tf.zeros((4, 2))).numpy(), [4, 2])
    np.testing.assert_array_equal(tf.fill([2], 3.0).numpy(), [3.0, 3.0])
    assert tf.zeros_like(tf.constant([1, 2])).dtype == np.int32


# === Variable =======================================================================================
def test_variable_assign_semantics():
    v = tf.Variable([1.0, 2.0], name="w")
    data = v.array
    assert v.name == "w:0" and v.trainable and v.requires_grad and v.dtype == np.float32
    assert v.assign([3.0, 4.0]) is v
    assert v.array is data                                    # updated in place
    np.testing.assert_array_equal(v.numpy(), [3.0, 4.0])
    snapshot = v.numpy()
    v.assign_add([1.0, 1.0])
    v.assign_sub(0.5)                                        # a scalar broadcasts
    np.testing.assert_array_equal(v.numpy(), [3.5, 4.5])
    np.testing.assert_array_equal(snapshot, [3.0, 4.0])      # numpy() is a copy, as in TF
    with pytest.raises(ValueError, match=r"shape \(3,\).*'w' has shape \(2,\)"):
        v.assign([1.0, 2.0, 3.0])
    assert "tf.Variable 'w:0' shape=(2,) dtype=float32" in repr(v)


def test_variable_assign_invalidates_a_graph_that_saved_the_old_value():
    v = tf.Variable(2.0)
    y = v * v
    v.assign(5.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_variable_is_a_parameter_for_optimizers_and_modules():
    v = tf.Variable(np.array([1.0, -1.0], np.float32))
    assert isinstance(v, gk.nn.Parameter)
    opt = gk.optim.SGD([v], lr=0.5)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(v * v)
    (g,) = tape.gradient(loss, [v])
    v.grad = g
    opt.step()
    np.testing.assert_allclose(v.numpy(), [0.0, 0.0])

    class Holder(gk.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(1.0)
    assert [n for n, _ in Holder().named_parameters()] == ["w"]


def test_variable_dtype_and_integer_variables():
    assert tf.Variable(1).dtype == np.int32 and not tf.Variable(1).requires_grad
    assert tf.Variable(lambda: np.zeros(2)).dtype == np.float64   # an initializer callable
    assert tf.Variable(1.0, dtype=tf.float64).dtype == np.float64


# === math ===========================================================================================
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 2), [1, 2], -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(axis, keepdims):
    a = np.random.default_rng(0).normal(size=(2, 3, 4))
    np_axis = tuple(axis) if isinstance(axis, list) else axis
    for fn, ref in [(tf.reduce_sum, np.sum), (tf.reduce_mean, np.mean), (tf.reduce_max, np.max),
                    (tf.reduce_min, np.min), (tf.reduce_prod, np.prod), (tf.reduce_std, np.std),
                    (tf.reduce_variance, np.var)]:
        out = fn(tf.constant(a), axis=axis, keepdims=keepdims)
        np.testing.assert_allclose(out.numpy(), ref(a, axis=np_axis, keepdims=keepdims), rtol=1e-12)


def test_integer_reduce_mean_truncates_as_tensorflow():
    out = tf.reduce_mean(tf.constant([1, 2, 4]))
    assert out.dtype == np.int32 and out.item() == 2


def test_matmul_transposes_and_elementwise_ops():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(5, 4))
    np.testing.assert_allclose(tf.matmul(a, b, transpose_b=True).numpy(), a @ b.T)
    np.testing.assert_allclose(tf.matmul(a.T, b.T, transpose_a=True).numpy(), a @ b.T)
    x = np.abs(a) + 0.1
    for fn, ref in [(tf.square, np.square), (tf.sqrt, np.sqrt), (tf.exp, np.exp), (tf.log, np.log),
                    (tf.abs, np.abs), (tf.math.log, np.log), (tf.tanh, np.tanh)]:
        np.testing.assert_allclose(fn(x).numpy(), ref(x), rtol=1e-12)
    np.testing.assert_allclose(tf.add(a, 1.0).numpy(), a + 1)
    np.testing.assert_allclose(tf.multiply(tf.constant(a), a).numpy(), a * a)
    assert tf.add(1, 2).item() == 3


def test_argmax_defaults_to_axis_0_and_cast_reshape():
    m = tf.constant([[1, 9, 3], [7, 2, 8]])
    np.testing.assert_array_equal(tf.argmax(m).numpy(), [1, 0, 1])
    np.testing.assert_array_equal(tf.argmax(m, axis=1).numpy(), [1, 2])
    assert tf.argmax(m).dtype == np.int64
    c = tf.cast(tf.constant([1.7, -1.7]), tf.int32)
    assert c.dtype == np.int32 and c.numpy().tolist() == [1, -1]     # truncation toward 0
    assert tf.reshape(tf.range(6), [-1, 2]).shape == (3, 2)
    assert tf.transpose(tf.zeros((2, 3, 4))).shape == (4, 3, 2)


def test_cast_between_floats_is_differentiable():
    v = tf.Variable(np.array([1.0, 2.0]))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.cast(v, tf.float32) * 3.0)
    g = tape.gradient(y, v)
    assert g.dtype == np.float64
    np.testing.assert_array_equal(g.numpy(), [3.0, 3.0])


def test_one_hot_as_tensorflow():
    out = tf.one_hot([0, 2, -1, 3], depth=3)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]])
    out = tf.one_hot(tf.constant([1, 0]), 2, on_value=5, off_value=-1, axis=0)
    np.testing.assert_array_equal(out.numpy(), [[-1, 5], [5, -1]])
    with pytest.raises(TypeError, match="tf.cast"):
        tf.one_hot([0.5], 3)


def test_gather_where_concat_stack_squeeze():
    p = tf.constant(np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(tf.gather(p, [[2, 0]]).numpy(), np.arange(12.0).reshape(3, 4)[[[2, 0]]])
    np.testing.assert_array_equal(tf.gather(p, [1], axis=1).numpy()[:, 0], [1, 5, 9])
    np.testing.assert_array_equal(tf.where(tf.constant([[True, False], [False, True]])).numpy(),
                                  [[0, 0], [1, 1]])
    np.testing.assert_array_equal(tf.where([True, False], 1.0, 2.0).numpy(), [1.0, 2.0])
    assert tf.concat([p, p], axis=0).shape == (6, 4) and tf.stack([p, p], axis=1).shape == (3, 2, 4)
    assert tf.squeeze(tf.zeros((1, 3, 1)), axis=[0]).shape == (3, 1)
    assert tf.expand_dims(p, -1).shape == (3, 4, 1)


# === nn ==============================================================================================
def test_nn_functions_match_pytorch():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 5))
    labels = rng.integers(0, 5, size=6)
    t = torch.tensor(logits)
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy(), torch.softmax(t, -1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(tf.nn.log_softmax(logits, axis=0).numpy(), torch.log_softmax(t, 0).numpy(), rtol=1e-12)
    np.testing.assert_allclose(tf.nn.relu(logits).numpy(), torch.relu(t).numpy())
    np.testing.assert_allclose(tf.nn.sigmoid(logits).numpy(), torch.sigmoid(t).numpy(), rtol=1e-12)
    np.testing.assert_allclose(tf.nn.leaky_relu(logits).numpy(),
                               torch.nn.functional.leaky_relu(t, 0.2).numpy())   # TF's slope 0.2
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    np.testing.assert_allclose(ce.numpy(), torch.nn.functional.cross_entropy(
        t, torch.tensor(labels), reduction="none").numpy(), rtol=1e-12)
    probs = np.eye(5)[labels]
    ce2 = tf.nn.softmax_cross_entropy_with_logits(labels=probs, logits=logits)
    np.testing.assert_allclose(ce2.numpy(), ce.numpy(), rtol=1e-12)
    z = rng.integers(0, 2, size=(6, 5)).astype(float)
    np.testing.assert_allclose(tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=logits).numpy(),
                               torch.nn.functional.binary_cross_entropy_with_logits(
                                   t, torch.tensor(z), reduction="none").numpy(), rtol=1e-10)


def test_sparse_cross_entropy_keeps_leading_dims():
    logits = np.random.default_rng(1).normal(size=(2, 3, 4))
    labels = np.array([[0, 1, 3], [2, 2, 0]])
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
    ref = -np.take_along_axis(torch.log_softmax(torch.tensor(logits), -1).numpy(), labels[..., None], -1)[..., 0]
    assert ce.shape == (2, 3)
    np.testing.assert_allclose(ce.numpy(), ref, rtol=1e-12)


# === tf.function ======================================================================================
def test_function_runs_as_written_bare_with_arguments_and_on_methods():
    calls = []

    @tf.function
    def f(x):
        calls.append(x)          # a Python side effect runs on every call (no tracing)
        return x * 2

    @tf.function(jit_compile=True, reduce_retracing=True)
    def g(x):
        return x + 1

    class M:
        @tf.function
        def h(self, x):
            return x - 1

    assert f(3) == 6 and f(4) == 8 and calls == [3, 4]
    assert g(1) == 2 and M().h(1) == 0
    assert f.__name__ == "f" and f.python_function(5) == 10
    assert tf.function(lambda: 7)() == 7

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.float32)])
    def k(x):
        return x * 3
    assert k(tf.constant([1.0])).item() == 3.0


# === tf.random ======================================================================================
def test_set_seed_makes_random_tensors_reproducible():
    tf.random.set_seed(42)
    a = tf.random.normal((3,)).numpy(), tf.random.uniform((2,), 1.0, 2.0).numpy()
    tf.random.set_seed(42)
    b = tf.random.normal((3,)).numpy(), tf.random.uniform((2,), 1.0, 2.0).numpy()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[1].dtype == np.float32 and np.all((a[1] >= 1.0) & (a[1] < 2.0))
    ints = tf.random.uniform((100,), 0, 10, dtype=tf.int32)
    assert ints.dtype == np.int32 and set(ints.numpy().tolist()) <= set(range(10))
    with pytest.raises(ValueError, match="maxval"):
        tf.random.uniform((2,), dtype=tf.int32)


def test_op_seeds_give_a_repeatable_sequence_per_call_site():
    tf.random.set_seed(1)
    first = [tf.random.normal((2,), seed=7).numpy() for _ in range(2)]
    tf.random.set_seed(1)
    again = [tf.random.normal((2,), seed=7).numpy() for _ in range(2)]
    assert not np.array_equal(first[0], first[1])          # two calls differ
    np.testing.assert_array_equal(first[0], again[0])      # the sequence repeats after set_seed
    np.testing.assert_array_equal(first[1], again[1])


def test_set_seed_seeds_gradkit_itself():
    tf.random.set_seed(3)
    a = gk.randn(4).numpy()
    gk.manual_seed(3)
    np.testing.assert_array_equal(a, gk.randn(4).numpy())


# === what is not there ==============================================================================
@pytest.mark.parametrize("module, name, hint", [
    (tf, "reduce_summ", "Did you mean reduce_sum"),
    (tf.nn, "conv2d", "tf.nn offers: .*relu"),
    (tf.random, "truncated_normal", "tf.random offers: normal, set_seed, shuffle, uniform"),
    (tf.data, "TFRecordDataset", "Dataset"),
    (tf.math, "log1p", "Did you mean log"),
])
def test_missing_names_raise_attribute_error_listing_what_exists(module, name, hint):
    with pytest.raises(AttributeError, match=hint):
        getattr(module, name)
    assert not hasattr(module, name)


def test_importing_gradkit_tf_does_not_import_keras():
    code = "import sys, gradkit.tf as tf; assert 'gradkit.keras' not in sys.modules; print(tf.__version__)"
    src = str(Path(gk.__file__).resolve().parents[1])     # the gradkit under test
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert out.returncode == 0, out.stderr


def test_keras_and_gradient_tape_resolve_lazily():
    from gradkit.keras.tape import GradientTape
    assert tf.GradientTape is GradientTape
    import gradkit.keras
    assert tf.keras is gradkit.keras
    assert "keras" in dir(tf) and "GradientTape" in dir(tf)


def test_small_helpers():
    v = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = tf.stop_gradient(v * v) * v + tf.identity(v)
    assert tape.gradient(y, v).item() == pytest.approx(5.0)     # 4 from the stopped branch's value + 1
    assert tf.executing_eagerly() and tf.is_tensor(y) and not tf.is_tensor(2.0)
    assert tf.config.list_physical_devices("GPU") == []
    assert tf.dtypes.float32 == tf.float32 == np.float32 and tf.newaxis is None
