"""Seed 003's TensorFlow skeleton, as printed (an empty network, then loss.backward() and
optimizer.step() mixing the dialects): it must stop with a message that explains itself."""
import numpy as np
import pytest

import gradkit.tf as tf   # instead of: import tensorflow as tf


def test_seed_003_tensorflow_skeleton_as_printed_explains_the_empty_model():
    rng = np.random.default_rng(0)
    train_loader = [(rng.standard_normal((4, 3)).astype(np.float32),
                     np.eye(3, dtype=np.float32)[[0, 1, 2, 0]])]

    # ---- the listing, verbatim
    class LargeModel(tf.keras.Model):
        def __init__(self):
            super(LargeModel, self).__init__()
            # 定义神经网络结构

        def call(self, inputs):
            # 定义前向传播过程
            return inputs

    model = LargeModel()
    criterion = tf.keras.losses.CategoricalCrossentropy()
    optimizer = tf.keras.optimizers.Adam(learning_rate=0.001)
    with pytest.raises(RuntimeError, match=r"does not require grad.*a model with no layers"):
        for epoch in range(10):
            for i, (inputs, labels) in enumerate(train_loader):
                outputs = model(inputs)
                loss = criterion(outputs, labels)
                loss.backward()
                optimizer.step()
