"""Embedding: token ids -> learned vectors. Wraps ``nn.Embedding``."""
import numpy as np

from ... import _internal, nn
from ...tensor import Tensor
from .base import Adapter, KerasWeight

__all__ = ["Embedding"]


class Embedding(Adapter):
    """(N, T) integer ids in [0, input_dim) -> (N, T, output_dim).

    ``input_dim`` is the vocabulary size, ``output_dim`` the vector size. The table starts from
    ``embeddings_initializer='uniform'`` (Keras: U(-0.05, 0.05); PyTorch's nn.Embedding uses
    N(0, 1)). Float inputs holding whole numbers are cast to int64. ``input_length`` (Keras 2)
    is accepted as ``input_shape=(input_length,)``.

    ``mask_zero=True``: id 0 is padding. The output carries the mask ``ids != 0`` (N, T), which
    the layers after it pass on or use (an LSTM skips the padded steps; see masks.py); id 0
    still has a row in the table, so ``input_dim`` is the vocabulary size + 1, as in Keras.
    Defaults to False.
    """

    _integer_inputs = True

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 input_length=None, **kwargs):
        if input_length is not None and "input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        if embeddings_regularizer is not None or embeddings_constraint is not None:
            raise NotImplementedError("Embedding: regularizers/constraints are not supported "
                                      "by gradkit.keras yet")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self._set_initializers(embeddings_initializer=embeddings_initializer)
        # the table's size is known from the arguments: built now, as Keras does
        self.build_modules(None)
        self.built = True

    # the adapter: nn.Embedding as ``embedding``; embeddings = embedding.weight
    def nn_modules(self, input_shape):
        return {"embedding": nn.Embedding(self.input_dim, self.output_dim, dtype=self._dtype)}

    def keras_weights(self):
        return [KerasWeight("embeddings", self.embedding.weight,
                            init=self.embeddings_initializer)]

    def input_error(self, x):
        bad = x.array[(x.array < 0) | (x.array >= self.input_dim)]
        if bad.size:
            e = ValueError(f"Input 0 of layer '{self.name}' (Embedding) is incompatible with the "
                           f"layer: token id {int(bad[0])} is outside [0, {self.input_dim}) "
                           f"(input_dim={self.input_dim}); raise input_dim to the vocabulary size "
                           "(largest id + 1)")
            _internal.name_error(e)
            return e

    def _convert(self, x):
        x = super()._convert(x)
        if isinstance(x, Tensor) and x.dtype.kind == "f":
            if not np.all(x.array == np.floor(x.array)):
                raise TypeError(f"Embedding '{self.name}': inputs are token ids and must be whole "
                                f"numbers; got float values such as "
                                f"{x.array[x.array != np.floor(x.array)][0]}")
            x = Tensor(x.array.astype(np.int64))
        return x

    def call(self, inputs):
        return self.embedding(inputs)

    def compute_mask(self, inputs, mask=None):
        """``ids != 0`` with ``mask_zero=True``, else None."""
        if not self.mask_zero:
            return None
        return Tensor(_internal.as_array(inputs) != 0)

    @property
    def embeddings(self):
        return self.embedding.weight

    def get_config(self):
        config = super().get_config()
        config.update(input_dim=self.input_dim, output_dim=self.output_dim,
                      mask_zero=self.mask_zero, **self._initializers_config())
        return config
