"""tf.GradientTape on gradkit's engine: the same gradients as gradkit.grad and PyTorch, and
TensorFlow's rules for watching, persistence, nesting and unconnected sources."""
import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.tf as tf


def _mlp_weights(rng):
    return [rng.normal(size=(4, 5)), rng.normal(size=5), rng.normal(size=(5, 3)), rng.normal(size=3)]


def _mlp(x, w1, b1, w2, b2, ns):
    """The same two-layer network in either framework (``ns``: gradkit.tf or torch)."""
    h = ns.tanh(x @ w1 + b1)
    return ((h @ w2 + b2) ** 2).mean()


def test_gradients_equal_gradkit_grad_and_pytorch_for_a_small_model():
    rng = np.random.default_rng(0)
    arrays = _mlp_weights(rng)
    x = rng.normal(size=(8, 4))
    variables = [tf.Variable(a, dtype=tf.float64) for a in arrays]
    with tf.GradientTape() as tape:
        loss = _mlp(tf.constant(x), *variables, ns=tf)
    grads = tape.gradient(loss, variables)

    loss2 = _mlp(tf.constant(x), *variables, ns=tf)
    expected = gk.grad(loss2, variables)

    tw = [torch.tensor(a, requires_grad=True) for a in arrays]
    _mlp(torch.tensor(x), *tw, ns=torch).backward()

    assert isinstance(grads, list) and len(grads) == 4
    for g, e, t in zip(grads, expected, tw):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=0, atol=0)
        np.testing.assert_allclose(g.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_watch_makes_a_constant_differentiable_and_restores_it_afterwards():
    x = tf.constant(3.0)
    assert not x.requires_grad
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    assert not x.requires_grad           # the flag lasts only while the tape records
    assert tape.gradient(y, x).item() == pytest.approx(6.0)
    assert not x.requires_grad
    x.numpy()                             # still a plain constant


def test_an_unwatched_constant_gets_none():
    x = tf.constant(3.0)
    with tf.GradientTape() as tape:
        y = x * x
    assert tape.gradient(y, x) is None


def test_variables_are_watched_automatically_unless_watch_accessed_variables_is_false():
    v, w = tf.Variable(2.0), tf.Variable(5.0)
    with tf.GradientTape() as tape:
        y = v * v
    assert tape.gradient(y, v).item() == pytest.approx(4.0)

    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(w)
        y = v * w
    gv, gw = tape.gradient(y, [v, w])
    assert gv is None and gw.item() == pytest.approx(2.0)
    assert [t is w for t in tape.watched_variables()] == [True]


def test_a_non_trainable_variable_gets_none_unless_watched():
    v = tf.Variable(3.0, trainable=False)
    assert not v.trainable and not v.requires_grad
    with tf.GradientTape() as tape:
        y = v * v
    assert tape.gradient(y, v) is None
    with tf.GradientTape() as tape:
        tape.watch(v)
        y = v * v
    assert tape.gradient(y, v).item() == pytest.approx(6.0)
    assert not v.requires_grad


def test_persistent_tape_answers_several_calls():
    x = tf.Variable(2.0)
    with tf.GradientTape(persistent=True) as tape:
        y = x * x
        z = y * y
    assert tape.gradient(z, x).item() == pytest.approx(32.0)    # 4x³
    assert tape.gradient(y, x).item() == pytest.approx(4.0)     # 2x
    assert tape.gradient(z, x).item() == pytest.approx(32.0)


def test_non_persistent_tape_refuses_a_second_call_with_tensorflows_message():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(RuntimeError, match="A non-persistent GradientTape can only be used to "
                                           "compute one set of gradients.*persistent=True"):
        tape.gradient(y, x)


@pytest.mark.parametrize("x0", [-1.5, 0.3, 2.0])
def test_nested_tapes_give_the_second_derivative_of_x_cubed(x0):
    x = tf.constant(x0)
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = x * x * x
        dy_dx = inner.gradient(y, x)
    d2y_dx2 = outer.gradient(dy_dx, x)
    assert dy_dx.item() == pytest.approx(3 * x0 ** 2, rel=1e-6)
    assert d2y_dx2.item() == pytest.approx(6 * x0, rel=1e-6)


def test_nested_tapes_give_the_second_derivative_of_tanh_as_pytorch():
    values = np.linspace(-2, 2, 7)
    x = tf.Variable(values)                    # float64, watched by both tapes
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = tf.tanh(x)
        dy = inner.gradient(y, x)              # a non-scalar target counts as its sum
    d2y = outer.gradient(dy, x)

    tx = torch.tensor(values, requires_grad=True)
    (tdy,) = torch.autograd.grad(torch.tanh(tx).sum(), tx, create_graph=True)
    (td2y,) = torch.autograd.grad(tdy.sum(), tx)
    np.testing.assert_allclose(dy.numpy(), tdy.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(d2y.numpy(), td2y.numpy(), rtol=1e-12, atol=1e-15)
    t = np.tanh(values)
    np.testing.assert_allclose(d2y.numpy(), -2 * t * (1 - t ** 2), rtol=1e-12, atol=1e-15)


def test_persistent_tape_can_differentiate_its_own_gradient():
    x = tf.Variable(1.5)
    with tf.GradientTape(persistent=True) as tape:
        y = x ** 3
        dy = tape.gradient(y, x)               # recorded on the same (persistent) tape
    assert tape.gradient(dy, x).item() == pytest.approx(9.0)


def test_unconnected_sources_give_none_or_zeros():
    x, z = tf.Variable([1.0, 2.0]), tf.Variable([[3.0]])
    with tf.GradientTape(persistent=True) as tape:
        y = tf.reduce_sum(x * x)
    gx, gz = tape.gradient(y, [x, z])
    assert gz is None
    np.testing.assert_array_equal(gx.numpy(), [2.0, 4.0])
    gx, gz = tape.gradient(y, [x, z], unconnected_gradients=tf.UnconnectedGradients.ZERO)
    np.testing.assert_array_equal(gz.numpy(), np.zeros((1, 1)))
    with pytest.raises(ValueError, match="unconnected_gradients must be 'none' or 'zero'"):
        tape.gradient(y, x, unconnected_gradients="nan")


def test_target_that_does_not_depend_on_anything_gives_none():
    x = tf.Variable(1.0)
    with tf.GradientTape() as tape:
        y = tf.constant(2.0) * 3
    assert tape.gradient(y, [x]) == [None]


def test_nested_source_structures_are_preserved():
    a, b, c = tf.Variable(1.0), tf.Variable(2.0), tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = a * b * c
    g = tape.gradient(y, {"first": a, "rest": (b, [c])})
    assert set(g) == {"first", "rest"} and isinstance(g["rest"], tuple) and isinstance(g["rest"][1], list)
    assert (g["first"].item(), g["rest"][0].item(), g["rest"][1][0].item()) == (6.0, 3.0, 2.0)


def test_output_gradients_weight_the_target_and_several_targets_are_summed():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(3, 2))
    up = rng.normal(size=(4, 2))
    x = rng.normal(size=(4, 3))
    v = tf.Variable(w)
    with tf.GradientTape(persistent=True) as tape:
        y = tf.matmul(tf.constant(x), v)
        s = tf.reduce_sum(v)
    g = tape.gradient(y, v, output_gradients=tf.constant(up))
    np.testing.assert_allclose(g.numpy(), x.T @ up, rtol=1e-12)
    g2 = tape.gradient([y, s], v)                                    # d(Σy + s)/dv
    np.testing.assert_allclose(g2.numpy(), x.T @ np.ones((4, 2)) + 1, rtol=1e-12)


def test_gradient_with_respect_to_an_intermediate_tensor():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        h = x * 3.0
        y = h * h
    assert tape.gradient(y, h).item() == pytest.approx(12.0)   # 2h


def test_stop_recording_hides_operations_from_the_tape():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        with tape.stop_recording():
            y = x * x
        z = x * 3.0
    assert tape.gradient(y, x) is None
    with tf.GradientTape() as tape:
        z = x * 3.0
    assert tape.gradient(z, x).item() == 3.0
    with pytest.raises(RuntimeError, match="not recording"):
        tape.stop_recording()


def test_reset_allows_a_new_gradient_and_forgets_watched_tensors():
    x = tf.constant(2.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        tape.gradient(x * x, x)
        tape.reset()
        assert not x.requires_grad
        y = x * x * x
    assert tape.gradient(y, x) is None     # x was forgotten by reset and not watched again
    assert tape.watched_variables() == ()


def test_loss_numpy_works_after_the_tape_is_used_as_in_the_seed_program():
    v = tf.Variable([1.0, -2.0])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(v * v)
    tape.gradient(loss, [v])
    assert loss.numpy() == pytest.approx(5.0)      # gradkit would refuse numpy() on a graph tensor


def test_the_tape_records_inside_no_grad():
    v = tf.Variable(3.0)
    with gk.no_grad():
        with tf.GradientTape() as tape:
            y = v * v
        assert not gk.is_grad_enabled()
    assert tape.gradient(y, v).item() == pytest.approx(6.0)


def test_watching_an_integer_tensor_warns_and_gives_none():
    k = tf.constant(3)
    with tf.GradientTape() as tape:
        with pytest.warns(UserWarning, match="only floating point tensors"):
            tape.watch(k)
        y = tf.cast(k, tf.float32) * 2.0
    assert tape.gradient(y, k) is None


def test_watch_outside_the_block_and_non_tensors_are_errors():
    tape = tf.GradientTape()
    with pytest.raises(RuntimeError, match="inside the `with tf.GradientTape"):
        tape.watch(tf.constant(1.0))
    with tf.GradientTape() as tape, pytest.raises(TypeError, match="tf.constant"):
        tape.watch(np.ones(3))


def test_jacobian_and_batch_jacobian_match_pytorch():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(3, 2))
    xs = rng.normal(size=(5, 3))
    v = tf.Variable(w)
    x = tf.constant(xs)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = tf.tanh(tf.matmul(x, v))                      # (5, 2)
    jv = tape.jacobian(y, v)                              # (5, 2, 3, 2)
    bj = tape.batch_jacobian(y, x)                        # (5, 2, 3)

    tv, tx = torch.tensor(w), torch.tensor(xs)
    tj = torch.autograd.functional.jacobian(lambda a: torch.tanh(tx @ a), tv)
    txj = torch.autograd.functional.jacobian(lambda a: torch.tanh(a @ tv), tx)   # (5, 2, 5, 3)
    assert jv.shape == (5, 2, 3, 2) and bj.shape == (5, 2, 3)
    np.testing.assert_allclose(jv.numpy(), tj.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(bj.numpy(), np.einsum("bibj->bij", txj.numpy()), rtol=1e-12, atol=1e-14)


def test_two_tapes_recording_together_each_answer_as_in_the_gan_tutorial():
    # TensorFlow's DCGAN step: both losses share the discriminator's graph on the fake images
    rng = np.random.default_rng(3)
    g_w, d_w = rng.normal(size=(4, 6)), rng.normal(size=(6, 1))
    noise, real = rng.normal(size=(8, 4)), rng.normal(size=(8, 6))
    gen, disc = tf.Variable(g_w), tf.Variable(d_w)

    def losses(gen, disc):
        fake_out = tf.sigmoid(tf.matmul(tf.tanh(tf.matmul(noise, gen)), disc))
        real_out = tf.sigmoid(tf.matmul(real, disc))
        gen_loss = -tf.reduce_mean(tf.math.log(fake_out))
        disc_loss = -tf.reduce_mean(tf.math.log(real_out)) - tf.reduce_mean(tf.math.log(1 - fake_out))
        return gen_loss, disc_loss

    with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
        gen_loss, disc_loss = losses(gen, disc)
    g_gen = gen_tape.gradient(gen_loss, [gen])
    g_disc = disc_tape.gradient(disc_loss, [disc])

    tg, td = torch.tensor(g_w, requires_grad=True), torch.tensor(d_w, requires_grad=True)
    fake_out = torch.sigmoid(torch.tanh(torch.tensor(noise) @ tg) @ td)
    real_out = torch.sigmoid(torch.tensor(real) @ td)
    (tgg,) = torch.autograd.grad(-torch.log(fake_out).mean(), tg, retain_graph=True)
    (tdd,) = torch.autograd.grad(-torch.log(real_out).mean() - torch.log(1 - fake_out).mean(), td)
    np.testing.assert_allclose(g_gen[0].numpy(), tgg.numpy(), rtol=1e-10)
    np.testing.assert_allclose(g_disc[0].numpy(), tdd.numpy(), rtol=1e-10)
