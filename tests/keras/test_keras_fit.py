"""compile / fit / evaluate / predict / train_on_batch: the loop's arithmetic against hand-written
equivalents, its data handling (arrays, loaders, tf.data, generators), the checks that run
before the first step, and the optimizers' Keras behaviour."""
import numpy as np
import pytest

import gradkit as gk
import gradkit.keras as keras
import gradkit.tf as tf
from gradkit import data as gk_data
from gradkit.keras import layers

rng = np.random.default_rng(1)


def _data(n=64, d=5, classes=3):
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.integers(0, classes, n)
    return x, y


def _model(d=5, classes=3, seed=0, activation="softmax"):
    gk.manual_seed(seed)
    return keras.Sequential([layers.Dense(8, activation="relu", input_shape=(d,)),
                             layers.Dense(classes, activation=activation)])


def _same(m1, m2):
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)


# === the loop against a hand-written one =======================================================
def test_fit_equals_a_manual_loop_over_the_same_batches():
    x, y = _data()
    fitted, manual = _model(), _model()
    _same(fitted, manual)
    fitted.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                   loss="sparse_categorical_crossentropy")
    fitted.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)

    opt = keras.optimizers.SGD(0.1, momentum=0.9)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    for _ in range(2):
        for i in range(0, 64, 16):
            loss = loss_fn(y[i:i + 16], manual(x[i:i + 16], training=True))
            grads = gk.grad(loss, manual.trainable_variables)
            opt.apply_gradients(zip(grads, manual.trainable_variables))
    _same(fitted, manual)


def test_gradient_accumulation_equals_a_larger_batch():
    x, y = _data(n=64)
    big, small = _model(), _model()
    big.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    small.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    big.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    small.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, gradient_accumulation_steps=4)
    assert big.optimizer.iterations == small.optimizer.iterations == 4
    for a, b in zip(big.get_weights(), small.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_shuffle_reorders_batches_each_epoch_reproducibly_from_the_seed():
    x, y = _data()
    runs = []
    for _ in range(2):
        m = _model()
        m.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
        gk.manual_seed(5)
        m.fit(x, y, batch_size=16, epochs=2, verbose=0)
        runs.append(m)
    _same(*runs)
    unshuffled = _model()
    unshuffled.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    unshuffled.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert not np.allclose(runs[0].get_weights()[0], unshuffled.get_weights()[0])


def test_validation_split_takes_the_last_fraction_before_shuffling():
    x, y = _data(n=80)
    m = _model()
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    h = m.fit(x, y, epochs=1, validation_split=0.25, verbose=0)
    last = m.evaluate(x[60:], y[60:], verbose=0, return_dict=True)
    first = m.evaluate(x[:20], y[:20], verbose=0, return_dict=True)
    assert h.history["val_loss"][0] == pytest.approx(last["loss"], rel=1e-6)
    assert h.history["val_accuracy"][0] == pytest.approx(last["accuracy"])
    assert h.history["val_loss"][0] != pytest.approx(first["loss"], rel=1e-3)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_class_weight_and_sample_weight_scale_each_samples_loss_keras_style():
    x, y = _data(n=16, classes=2)
    m = _model(classes=2)
    m.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    p = m.predict(x, verbose=0)
    per_sample = -np.log(p[np.arange(16), y])
    w = np.where(y == 1, 3.0, 0.5)
    loss = m.train_on_batch(x, y, class_weight={0: 0.5, 1: 3.0})
    # Keras divides the weighted sum by the number of samples, not by the sum of weights
    assert loss == pytest.approx((per_sample * w).sum() / 16, rel=1e-5)
    m.reset_metrics()
    sw = np.linspace(0, 1, 16)
    assert m.train_on_batch(x, y, sample_weight=sw) == pytest.approx((per_sample * sw).mean(),
                                                                      rel=1e-5)


def test_initial_epoch_and_history():
    x, y = _data()
    m = _model()
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    h = m.fit(x, y, epochs=5, initial_epoch=3, verbose=0)
    assert h.epoch == [3, 4] and len(h.history["loss"]) == 2 and m.history is h


def test_evaluate_and_predict_restore_the_mode_and_record_no_graph():
    x, y = _data()
    m = keras.Sequential([layers.Dense(8, input_shape=(5,)), layers.Dropout(0.5), layers.Dense(3)])
    m.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    seen = []
    m.layers[0].register_forward_hook(lambda mod, i, o: seen.append((mod.training,
                                                                     gk.is_grad_enabled())))
    m.train()
    p1, p2 = m.predict(x, verbose=0), m.predict(x, verbose=0)
    np.testing.assert_array_equal(p1, p2)          # dropout off in predict
    assert isinstance(p1, np.ndarray) and p1.shape == (64, 3)
    m.evaluate(x, y, verbose=0)
    assert m.training is True and all(layer.training for layer in m.layers)
    assert seen and all(mode == (False, False) for mode in seen)
    m.eval()
    m.fit(x, y, epochs=1, verbose=0)
    assert m.training is False
    assert seen[-1] == (True, True)


def test_evaluate_return_forms_and_metrics_names():
    x, y = _data()
    m = _model()
    m.compile("adam", "sparse_categorical_crossentropy")
    assert isinstance(m.evaluate(x, y, verbose=0), float)
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, acc = m.evaluate(x, y, verbose=0)
    assert m.metrics_names == ["loss", "accuracy"]
    p = m.predict(x, verbose=0)
    assert acc == pytest.approx((p.argmax(1) == y).mean())   # 'accuracy' became sparse here
    assert loss == pytest.approx(-np.log(p[np.arange(64), y]).mean(), rel=1e-5)


@pytest.mark.parametrize("source", ["loader", "tf_data", "list", "generator", "dataset"])
def test_fit_accepts_loaders_tf_datasets_lists_and_generators(source):
    x, y = _data()
    m = _model()
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    if source == "loader":
        data = gk_data.DataLoader(gk_data.TensorDataset(x, y), batch_size=16, shuffle=True, seed=0)
    elif source == "tf_data":
        data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(64, seed=0).batch(16)
    elif source == "list":
        data = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    elif source == "dataset":
        data = gk_data.TensorDataset(x, y)
    else:
        data = ((x[i % 64:i % 64 + 16], y[i % 64:i % 64 + 16]) for i in range(0, 10_000, 16))
    h = m.fit(data, epochs=2, verbose=0, batch_size=16,
              steps_per_epoch=4 if source == "generator" else None)
    assert m.optimizer.iterations == 8 and len(h.history["loss"]) == 2
    if source != "generator":
        loss, acc = m.evaluate(data, verbose=0)
        assert np.isfinite(loss) and 0 <= acc <= 1
    with pytest.raises(ValueError, match="y must be None when x is a dataset"):
        m.fit(data, y, epochs=1, verbose=0)


def test_a_one_pass_generator_without_steps_is_refused_at_the_second_epoch():
    x, y = _data()
    m = _model()
    m.compile("adam", "sparse_categorical_crossentropy")
    gen = ((x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16))
    with pytest.raises(ValueError, match="one-pass iterator.*exhausted"):
        m.fit(gen, epochs=2, verbose=0)


def test_train_on_batch_updates_and_returns_running_values():
    x, y = _data(n=16)
    m = _model()
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    before = m.get_weights()[0].copy()
    loss, acc = m.train_on_batch(x, y)
    assert np.isfinite(loss) and 0 <= acc <= 1
    assert not np.array_equal(before, m.get_weights()[0])
    logs = m.train_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}


# === checks before the first step ============================================================
def _fails_before_any_step(model, exc, match, *args, **kwargs):
    with pytest.raises(exc, match=match):
        model.fit(*args, verbose=0, **kwargs)
    assert model.optimizer.iterations == 0


def test_bad_data_fails_before_the_first_step():
    x, y = _data()
    m = _model()
    m.compile("adam", "sparse_categorical_crossentropy")
    _fails_before_any_step(m, ValueError, r"fit: x is empty \(0 samples", x[:0], y[:0])
    _fails_before_any_step(m, ValueError, r"x has 64, y has 60", x, y[:60])
    bad = x.copy()
    bad[37, 2] = np.nan
    _fails_before_any_step(m, ValueError, r"check_finite\(x\): 1 non-finite value.*sample 37", bad, y)
    labels = y.copy()
    labels[50] = 3
    _fails_before_any_step(m, ValueError, r"do not fit the model's 3 output units.*label 3", x, labels)
    with pytest.raises(ValueError, match="y is None"):
        m.fit(x, epochs=1, verbose=0)


def test_sparse_loss_with_one_hot_labels_says_which_loss_to_use():
    x, y = _data()
    m = _model()
    m.compile("adam", "sparse_categorical_crossentropy")
    onehot = keras.utils.to_categorical(y, 3)
    _fails_before_any_step(m, ValueError, r"SparseCategoricalCrossentropy expects integer class ids"
                           r".*one-hot labels\. Use CategoricalCrossentropy", x, onehot)


def test_categorical_loss_with_integer_labels_says_which_loss_to_use():
    x, y = _data()
    m = _model()
    m.compile("adam", keras.losses.CategoricalCrossentropy())
    _fails_before_any_step(m, ValueError, r"CategoricalCrossentropy expects one-hot labels of shape "
                           r"\(N, 3\).*integer class ids\. Use SparseCategoricalCrossentropy.*"
                           r"to_categorical\(y, 3\)", x, y)
    _fails_before_any_step(m, ValueError, r"one-hot labels have 4 columns.*outputs 3 units",
                           x, keras.utils.to_categorical(y, 4))


def test_binary_loss_with_class_ids_and_logits_without_from_logits():
    x, y = _data(classes=4)
    m = _model(classes=1, activation="sigmoid")
    m.compile("adam", "binary_crossentropy")
    _fails_before_any_step(m, ValueError, r"binary cross-entropy needs labels 0/1.*range from 0 to 3",
                           x, y.astype(np.float32))
    logits = _model(classes=1, activation=None)
    logits.compile("adam", "binary_crossentropy")
    _fails_before_any_step(logits, ValueError, r"outside \[0, 1\].*from_logits=True",
                           x, (y > 1).astype(np.float32))


def test_a_model_without_weights_cannot_be_trained_and_says_so():
    class LargeModel(keras.Model):
        def call(self, inputs):
            return inputs

    m = LargeModel()
    m.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="mse")
    x = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match=r"Adam: got an empty list of variables to optimize; the "
                                         r"model has no trainable weights"):
        m.fit(x, x, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"apply_gradients: got an empty list"):
        keras.optimizers.Adam().apply_gradients(zip([], m.trainable_variables))


def test_fit_needs_compile_and_a_keras_loss():
    x, y = _data()
    m = _model()
    with pytest.raises(RuntimeError, match=r"You must call compile\(\) before fit"):
        m.fit(x, y, verbose=0)
    with pytest.raises(TypeError, match=r"PyTorch-style loss taking \(input, target\)"):
        m.compile("adam", gk.nn.CrossEntropyLoss())
    with pytest.raises(ValueError, match=r"Unknown loss 'mean_sqared_error' \(did you mean "
                                         r"'mean_squared_error'\?\)"):
        m.compile("adam", "mean_sqared_error")
    with pytest.raises(ValueError, match="Unknown optimizer 'adamm'"):
        m.compile("adamm", "mse")


# === optimizers ==============================================================================
@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adagrad", "adamw", "adadelta",
                                  "adamax", "nadam", "lion"])
def test_every_optimizer_name_trains(name):
    x, y = _data()
    m = _model()
    m.compile(name, "sparse_categorical_crossentropy")
    h = m.fit(x, y, epochs=3, batch_size=64, verbose=0)
    assert m.optimizer.iterations == 3 and np.isfinite(h.history["loss"]).all()
    assert type(m.optimizer).__name__.lower() == name


def test_keras_adam_is_gradkit_adam_with_keras_defaults():
    x, y = _data()
    a, b = _model(), _model()
    a.compile(keras.optimizers.Adam(learning_rate=0.01), "sparse_categorical_crossentropy")
    b.compile(gk.optim.Adam(b.parameters(), lr=0.01, eps=1e-7), "sparse_categorical_crossentropy")
    a.fit(x, y, epochs=2, shuffle=False, verbose=0)
    b.fit(x, y, epochs=2, shuffle=False, verbose=0)
    _same(a, b)


def _one_update(optimizer, grad):
    w = gk.nn.Parameter(np.zeros(3, np.float32))
    optimizer.apply_gradients([(gk.tensor(np.asarray(grad, np.float32)), w)])
    return w.array


def test_clipping_and_decoupled_weight_decay():
    g = [3.0, 4.0, 0.0]   # norm 5
    np.testing.assert_allclose(_one_update(keras.optimizers.SGD(1.0, clipnorm=1.0), g),
                               [-0.6, -0.8, 0.0], rtol=1e-5)
    np.testing.assert_allclose(_one_update(keras.optimizers.SGD(1.0, clipvalue=3.5), g),
                               [-3.0, -3.5, 0.0])
    opt = keras.optimizers.SGD(1.0, global_clipnorm=2.5)
    a, b = gk.nn.Parameter(np.zeros(2, np.float32)), gk.nn.Parameter(np.zeros(1, np.float32))
    opt.apply_gradients([(gk.tensor([3.0, 0.0]), a), (gk.tensor([4.0]), b)])
    np.testing.assert_allclose(np.r_[a.array, b.array], [-1.5, 0, -2.0], rtol=1e-5)
    w = gk.nn.Parameter(np.ones(2, np.float32))
    keras.optimizers.SGD(0.1, weight_decay=0.5).apply_gradients([(gk.zeros(2), w)])
    np.testing.assert_allclose(w.array, [0.95, 0.95])       # w - lr·λ·w
    with pytest.raises(ValueError, match="clipnorm or global_clipnorm, not both"):
        keras.optimizers.Adam(clipnorm=1, global_clipnorm=1)


def test_learning_rate_is_settable_and_schedules_follow_iterations():
    opt = keras.optimizers.SGD(learning_rate=0.1)
    w = gk.nn.Parameter(np.zeros(1, np.float32))
    opt.apply_gradients([(gk.ones(1), w)])
    opt.learning_rate = 0.01
    opt.apply_gradients([(gk.ones(1), w)])
    np.testing.assert_allclose(w.array, [-0.11], rtol=1e-6)
    sched = keras.optimizers.schedules.ExponentialDecay(1.0, decay_steps=1, decay_rate=0.5)
    opt = keras.optimizers.SGD(learning_rate=sched)
    w = gk.nn.Parameter(np.zeros(1, np.float32))
    for _ in range(3):
        opt.apply_gradients([(gk.ones(1), w)])
    np.testing.assert_allclose(w.array, [-(1 + 0.5 + 0.25)], rtol=1e-6)


def test_minimize_with_a_callable_loss():
    w = gk.nn.Parameter(np.array([3.0], np.float32))
    opt = keras.optimizers.SGD(learning_rate=0.25)
    for _ in range(20):
        opt.minimize(lambda: (w * w).sum(), [w])
    assert abs(float(w.array[0])) < 1e-3
