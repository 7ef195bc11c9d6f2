"""Keras layers, each a thin adapter over a ``gradkit.nn`` module (see ``base.py``).

    keras.layers.Dense(128, activation="relu")           nn.Linear, built at the first call
    keras.layers.Conv2D(32, 3, padding="same")           nn.Conv2d on channels-last images
    keras.layers.Bidirectional(keras.layers.LSTM(64))    two nn.LSTMs, one per direction
"""
from .attention import MultiHeadAttention
from .base import KerasTensor, Layer
from .conv import (AveragePooling2D, AvgPool2D, Conv2D, Convolution2D, GlobalAveragePooling1D,
                   GlobalAveragePooling2D, GlobalAvgPool1D, GlobalMaxPool1D, GlobalMaxPooling1D,
                   GlobalMaxPooling2D, MaxPool2D, MaxPooling2D)
from .core import (Activation, Add, Concatenate, Dense, Dropout, Flatten, Input, InputLayer,
                   Masking, Reshape, Softmax)
from .embedding import Embedding
from .normalization import BatchNormalization, LayerNormalization
from .recurrent import GRU, LSTM, SimpleRNN
from .torch_module_wrapper import TorchModuleWrapper
from .wrappers import Bidirectional, TimeDistributed

__all__ = ["Layer", "KerasTensor", "Input", "InputLayer", "Dense", "Activation", "Softmax",
           "Flatten", "Dropout", "Reshape", "Add", "Concatenate", "Conv2D", "Convolution2D", "MaxPooling2D",
           "MaxPool2D", "AveragePooling2D", "AvgPool2D", "GlobalAveragePooling2D",
           "GlobalMaxPooling2D", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "GlobalAvgPool1D",
           "GlobalMaxPool1D", "Masking", "BatchNormalization", "LayerNormalization", "Embedding",
           "SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed", "MultiHeadAttention",
           "TorchModuleWrapper"]
