"""Keras layers, each a thin adapter over a ``gradkit.nn`` module (see ``base.py``).

    keras.layers.Dense(128, activation="relu")           nn.Linear, built at the first call
    keras.layers.Conv2D(32, 3, padding="same")           nn.Conv2d on channels-last images
    keras.layers.Bidirectional(keras.layers.LSTM(64))    two nn.LSTMs, one per direction

By family, as Keras files them: core.py, conv.py, pooling.py, reshaping.py, merging.py,
activations.py, regularization.py, normalization.py, preprocessing.py, embedding.py,
recurrent.py, attention.py, wrappers.py.
"""
from ... import _unsupported
from .activations import ELU, LeakyReLU, PReLU, ReLU
from .attention import AdditiveAttention, Attention, MultiHeadAttention
from .base import KerasTensor, Layer
from .conv import (Conv1D, Conv2D, Conv2DTranspose, Convolution1D, Convolution2D,
                   Convolution2DTranspose, DepthwiseConv2D, SeparableConv2D,
                   SeparableConvolution2D)
from .core import (Activation, Dense, Dropout, Flatten, Identity, Input, InputLayer, Lambda,
                   Masking, Reshape, Softmax)
from .embedding import Embedding
from .merging import Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract
from .normalization import (BatchNormalization, GroupNormalization, LayerNormalization,
                            UnitNormalization)
from .pooling import (AveragePooling1D, AveragePooling2D, AvgPool1D, AvgPool2D,
                      GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAvgPool1D,
                      GlobalMaxPool1D, GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPool1D,
                      MaxPool2D, MaxPooling1D, MaxPooling2D)
from .preprocessing import Normalization, Rescaling
from .recurrent import GRU, LSTM, SimpleRNN
from .regularization import GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D
from .reshaping import (Cropping1D, Cropping2D, Permute, RepeatVector, UpSampling1D, UpSampling2D,
                        ZeroPadding1D, ZeroPadding2D)
from .torch_module_wrapper import TorchModuleWrapper
from .wrappers import Bidirectional, TimeDistributed

__all__ = ["Layer", "KerasTensor", "Input", "InputLayer", "Dense", "Activation", "Softmax",
           "Flatten", "Dropout", "Reshape", "Masking", "Identity", "Lambda",
           "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
           "Conv1D", "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D",
           "Convolution1D", "Convolution2D", "Convolution2DTranspose", "SeparableConvolution2D",
           "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "MaxPool1D",
           "MaxPool2D", "AvgPool1D", "AvgPool2D", "GlobalAveragePooling2D",
           "GlobalMaxPooling2D", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "GlobalAvgPool1D",
           "GlobalMaxPool1D", "UpSampling1D", "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D",
           "Cropping1D", "Cropping2D", "Permute", "RepeatVector",
           "ReLU", "LeakyReLU", "PReLU", "ELU",
           "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout",
           "BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization",
           "Rescaling", "Normalization", "Embedding",
           "SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed", "MultiHeadAttention",
           "Attention", "AdditiveAttention", "TorchModuleWrapper"]

# a Keras layer gradkit does not have says so, and what to use instead (docs/compat.md)
__getattr__ = _unsupported.module_getattr(__name__, "keras.layers")
