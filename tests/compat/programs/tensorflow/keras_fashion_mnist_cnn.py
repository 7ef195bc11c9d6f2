# TensorFlow's tutorials "Basic classification: classify images of clothing" and "Convolutional
# Neural Network (CNN)" joined: Fashion-MNIST through keras.datasets, a Sequential CNN built from
# `from tensorflow.keras import layers, models`, compile/fit/evaluate/predict. Trained on the
# first 6,000 images for 2 epochs to stay quick.
import json

import numpy as np
import tensorflow as tf
from tensorflow.keras import layers, models

tf.random.set_seed(0)
fashion_mnist = tf.keras.datasets.fashion_mnist
(train_images, train_labels), (test_images, test_labels) = fashion_mnist.load_data()
train_images, test_images = train_images / 255.0, test_images / 255.0
train_images, train_labels = train_images[:6000, ..., np.newaxis], train_labels[:6000]
test_images = test_images[..., np.newaxis]
class_names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
               'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']

model = models.Sequential([
    layers.Input(shape=(28, 28, 1)),
    layers.Conv2D(16, (3, 3), activation='relu'),
    layers.MaxPooling2D((2, 2)),
    layers.Conv2D(32, (3, 3), activation='relu'),
    layers.MaxPooling2D((2, 2)),
    layers.Flatten(),
    layers.Dense(64, activation='relu'),
    layers.Dense(10),
])
model.summary()
model.compile(optimizer='adam',
              loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=['accuracy'])
history = model.fit(train_images, train_labels, epochs=2, batch_size=64, verbose=2,
                    validation_split=0.1)
test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=2)
print('\nTest accuracy:', test_acc)
probability_model = tf.keras.Sequential([model, tf.keras.layers.Softmax()])
predictions = probability_model.predict(test_images[:5], verbose=0)
print([class_names[i] for i in np.argmax(predictions, axis=1)])
print(json.dumps({"accuracy": float(test_acc), "epochs": len(history.history['loss']),
                  "probabilities_sum": float(np.sum(predictions, axis=1).mean())}))
