"""``keras.preprocessing``: Keras 2's home of the data utilities, kept for the programs that import
them from here (``from tensorflow.keras.preprocessing.sequence import pad_sequences``).

    keras.preprocessing.sequence.pad_sequences     the same function as keras.utils.pad_sequences
"""
from . import sequence

__all__ = ["sequence"]
