"""TensorFlow's ``.numpy()`` on the Keras/TF dialect's tensors (any eager tensor converts), while
the PyTorch dialect keeps PyTorch's refusal for a tensor that requires grad."""
import numpy as np
import pytest

import gradkit as gk
import gradkit.tf as tf

X = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)


def _model():
    return tf.keras.Sequential([tf.keras.layers.Dense(3, activation="relu"),
                                tf.keras.layers.Dense(2)])


def test_keras_outputs_and_what_is_computed_from_them_convert_to_numpy():
    model = _model()
    y = model(X)
    assert y.requires_grad                                  # the graph is still there...
    np.testing.assert_array_equal(y[:1].numpy(), y.array[:1])        # ...and numpy() works
    assert tf.nn.softmax(model(X)).numpy().shape == (4, 2)
    assert (model(X) * 2 + 1).numpy().shape == (4, 2)
    assert model.layers[0](X).numpy().shape == (4, 3)
    loss = tf.reduce_sum(model(X) ** 2)
    loss.backward()                                         # ...and gradients still flow
    assert model.layers[0].linear.weight.grad is not None


def test_tf_variables_and_their_results_convert_inside_a_tape():
    v = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(v * v)
        assert y.numpy() == pytest.approx(5.0)
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), [2.0, 4.0])


def test_pytorch_dialect_still_refuses_numpy_on_a_tensor_that_requires_grad():
    with pytest.raises(RuntimeError, match="requires grad; use tensor.detach"):
        gk.nn.Linear(5, 2)(gk.tensor(X)).numpy()
    w = gk.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        (w * 2)[:1].numpy()
    assert gk.nn.Linear(5, 2)(gk.tensor(X)).detach().numpy().shape == (4, 2)
