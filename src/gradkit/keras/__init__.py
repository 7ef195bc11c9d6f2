"""gradkit.keras: the Keras dialect on gradkit's engine (``import gradkit.keras as keras``).

    model = keras.Sequential([keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=3, validation_split=0.1)
    model.evaluate(x_test, y_test)

The same objects are ``tf.keras`` under ``import gradkit.tf as tf``. Everything here sits on
``gradkit.nn`` (each layer wraps an nn module), ``gradkit.optim`` (each optimizer wraps one),
``gradkit.data`` (the batches) and ``gradkit.metrics``; it adds no math of its own. Keras'
conventions are kept where they differ from PyTorch's: channels-last images, losses called
``loss(y_true, y_pred)``, ``from_logits=False`` by default, glorot_uniform/zeros initial weights,
layers in inference mode unless training. See docs/keras.md.
"""
from . import (activations, applications, backend, callbacks, datasets, initializers, layers,
               losses, metrics, models, optimizers, preprocessing, regularizers, saving, utils)
from .layers import Input, Layer
from .models import Model, Sequential
from .tape import GradientTape

__version__ = "3.x (gradkit)"

__all__ = ["Model", "Sequential", "Input", "Layer", "GradientTape", "layers", "models", "optimizers", "losses",
           "metrics", "callbacks", "activations", "initializers", "regularizers", "datasets",
           "utils", "backend", "saving", "applications", "preprocessing"]
