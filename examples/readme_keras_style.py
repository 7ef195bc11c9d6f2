"""README's Keras example, runnable: the source article's TensorFlow 2 program with only the
import changed (the README block, verbatim, between the markers;
tests/docs/test_readme_examples.py keeps the two the same).

    python examples/readme_keras_style.py
Needs the full Fashion-MNIST (apt-get install dataset-fashion-mnist, or GRADKIT_DATA).
"""
# --- README block begins
import gradkit.tf as tf       # instead of: import tensorflow as tf
(x_train, y_train), (x_test, y_test) = tf.keras.datasets.fashion_mnist.load_data()
x_train, x_test = x_train.reshape(-1, 784) / 255.0, x_test.reshape(-1, 784) / 255.0
y_train, y_test = tf.keras.utils.to_categorical(y_train, 10), tf.keras.utils.to_categorical(y_test, 10)

model = tf.keras.models.Sequential([tf.keras.layers.Dense(128, activation='relu'),
                                    tf.keras.layers.Dense(10, activation='softmax')])
model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.001),
              loss=tf.keras.losses.CategoricalCrossentropy(), metrics=['accuracy'])
model.fit(x_train, y_train, epochs=1)         # the article trains for 10 epochs (~4 s each)
model.evaluate(x_test, y_test)
# --- README block ends
