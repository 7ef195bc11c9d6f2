"""The seeds' GradientTape program (shared/seeds/001, section 5) runs on gradkit with only the
import line changed, on real data (MNIST's 10,000-image test split), and learns; and the
GradientTape loop and Keras ``fit`` give the same weights after one epoch."""
import re

import numpy as np
import pytest

import gradkit.tf as tf
from gradkit.datasets import mnist
from shared_files import seed_article


# The listing exactly as printed in the article, with `import tensorflow as tf` changed. The
# article leaves `train_dataset` to the reader; the test supplies it (a tf.data.Dataset).
LISTING = """\
import gradkit.tf as tf

# 定义神经网络模型
model = tf.keras.models.Sequential([
  tf.keras.layers.Dense(10, activation='relu'),
  tf.keras.layers.Dense(1, activation='sigmoid')
])

# 定义损失函数和优化器
loss_fn = tf.keras.losses.BinaryCrossentropy()
optimizer = tf.keras.optimizers.Adam()

# 定义训练步骤
@tf.function
def train_step(images, labels):
  with tf.GradientTape() as tape:
    predictions = model(images)
    loss = loss_fn(labels, predictions)
  gradients = tape.gradient(loss, model.trainable_variables)
  optimizer.apply_gradients(zip(gradients, model.trainable_variables))
  return loss

# 训练模型
for epoch in range(10):
  for images, labels in train_dataset:
    loss = train_step(images, labels)
    print('Epoch:', epoch, 'Loss:', loss.numpy())
"""


def _binary_mnist():
    """MNIST test split as a binary task for the seed's sigmoid output: is the digit 5 or more?
    Pixels scaled to [0, 1], flattened (the seed's model has no Flatten layer)."""
    x, y = mnist("test")
    x = x.reshape(len(x), 784).astype(np.float32) / 255.0
    y = (y >= 5).astype(np.float32).reshape(-1, 1)
    return x, y


@pytest.mark.data("seeds")
def test_the_listing_is_the_articles_with_only_the_import_changed():
    article = seed_article("001")
    (block,) = re.findall(r"```python\n(.*?)```", article, re.S)
    assert block == LISTING.replace("import gradkit.tf as tf", "import tensorflow as tf", 1)


@pytest.mark.data("mnist")
def test_seed_gradient_tape_program_learns_on_mnist(capsys):
    x, y = _binary_mnist()
    x_train, y_train, x_test, y_test = x[:4000], y[:4000], x[5000:], y[5000:]
    tf.random.set_seed(0)
    train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(4000, seed=0).batch(64)

    namespace = {"train_dataset": train_dataset}
    exec(compile(LISTING, "seed_001_listing", "exec"), namespace)

    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 10 * len(train_dataset)
    first = [float(line.split()[-1]) for line in printed[:20]]
    last = [float(line.split()[-1]) for line in printed[-len(train_dataset):]]
    assert printed[-1].startswith("Epoch: 9 Loss:")
    assert np.mean(last) < 0.6 * np.mean(first)

    model = namespace["model"]
    p = model.predict(x_test, verbose=0)
    accuracy = ((np.asarray(p) > 0.5) == (y_test > 0.5)).mean()
    assert accuracy >= 0.88, f"held-out accuracy {accuracy:.3f}"


def _seed_model():
    model = tf.keras.models.Sequential([
        tf.keras.layers.Dense(10, activation="relu"),
        tf.keras.layers.Dense(1, activation="sigmoid"),
    ])
    model(np.zeros((1, 784), np.float32))   # build now, so both models draw the same weights
    return model


@pytest.mark.data("mnist")
@pytest.mark.parametrize("shuffle_seed", [None, 3])
def test_gradient_tape_loop_and_fit_give_identical_weights_after_one_epoch(shuffle_seed):
    x, y = _binary_mnist()
    x, y = x[:2000], y[:2000]

    def dataset():
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        if shuffle_seed is not None:
            ds = ds.shuffle(len(x), seed=shuffle_seed)   # same seed: the same batch order
        return ds.batch(32)

    tf.random.set_seed(0)
    looped = _seed_model()
    tf.random.set_seed(0)
    fitted = _seed_model()
    for a, b in zip(looped.get_weights(), fitted.get_weights()):
        np.testing.assert_array_equal(a, b)

    loss_fn = tf.keras.losses.BinaryCrossentropy()
    optimizer = tf.keras.optimizers.Adam()

    @tf.function
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            predictions = looped(images, training=True)
            loss = loss_fn(labels, predictions)
        gradients = tape.gradient(loss, looped.trainable_variables)
        optimizer.apply_gradients(zip(gradients, looped.trainable_variables))
        return loss

    for images, labels in dataset():
        train_step(images, labels)

    fitted.compile(optimizer=tf.keras.optimizers.Adam(), loss=tf.keras.losses.BinaryCrossentropy())
    fitted.fit(dataset(), epochs=1, shuffle=False, verbose=0)

    moved = False
    for a, b, w0 in zip(looped.get_weights(), fitted.get_weights(), _initial(shuffle_seed)):
        np.testing.assert_array_equal(a, b)      # identical, not merely close
        moved |= not np.allclose(a, w0)
    assert moved


def _initial(_):
    tf.random.set_seed(0)
    return _seed_model().get_weights()
