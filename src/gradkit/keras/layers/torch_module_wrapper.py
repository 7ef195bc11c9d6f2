"""TorchModuleWrapper: a PyTorch-style ``nn.Module`` used as a Keras layer (Keras 3's name).

    model = keras.Sequential([keras.Input((1, 28, 28)),
                              keras.layers.TorchModuleWrapper(models.create_model("lenet5")),
                              keras.layers.Softmax()])
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"]); model.fit(x, y)

The module's parameters are the layer's weights (trained by ``fit``, listed by ``weights``, saved
by ``save_weights`` and ``model.save`` under the module's own names), ``training=`` switches the
module's train/eval mode, and the layer returns what the module's ``forward`` returns. A module
that returns more than its output (a recurrent model's ``(logits, hidden)``) is unwrapped with
``output_index=0``.

Saving the whole model (``model.save("m.keras")``) writes the layer's config; Keras 3 pickles the
module into it, which gradkit never does: a module made by ``gradkit.models.create_model`` is
written as its zoo name and arguments (and rebuilt from them), and any other module is refused
with an error that says how to save its weights instead.
"""
from ...nn.module import Module
from .base import Layer

__all__ = ["TorchModuleWrapper"]


class TorchModuleWrapper(Layer):
    """module: an ``nn.Module``, or its zoo description ``{"zoo": NAME, "kwargs": {...}}`` (as
    a saved config holds it). output_index: which element of a tuple output to return.
    input_dtype: 'int64' for a module that takes token ids (found at the first call on ids, and
    saved, so that a loaded model built on zeros gives its module ids, not floats)."""

    _integer_inputs = True   # token ids reach the module as ids; floats still take the dtype

    def __init__(self, module, name=None, output_shape=None, output_index=None, input_dtype=None,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        if isinstance(module, dict):
            from ...models.zoo import create_model   # a saved config: rebuild from the zoo

            if set(module) != {"zoo", "kwargs"}:
                raise ValueError("TorchModuleWrapper: a module description must be "
                                 "{'zoo': NAME, 'kwargs': {...}} (what model.save writes), got "
                                 f"keys {sorted(module)}")
            module = create_model(module["zoo"], **module["kwargs"])
        if not isinstance(module, Module):
            raise TypeError("TorchModuleWrapper: module must be a gradkit nn.Module (for "
                            f"example one of gradkit.models), got {type(module).__name__}")
        self.module = module
        self.output_index = output_index
        self.input_dtype = input_dtype
        self._declared_output_shape = output_shape
        self.built = True   # the module has its weights already

    def call(self, inputs, training=None):
        if self.input_dtype is None and inputs.dtype.kind in "iu":
            self.input_dtype = "int64"
        elif self.input_dtype == "int64" and inputs.dtype.kind == "f":
            inputs = inputs.long()
        out = self.module(inputs)
        if self.output_index is not None:
            out = out[self.output_index]
        return out

    def get_config(self):
        spec = getattr(self.module, "zoo_spec", None)
        if spec is None:
            raise NotImplementedError(
                f"TorchModuleWrapper '{self.name}': its module ({type(self.module).__name__}) "
                "was not made by gradkit.models.create_model, so model.save cannot describe it "
                "without pickle (which gradkit never writes); save the weights instead with "
                "model.save_weights(path) (or gk.save(module.state_dict(), path)) and rebuild "
                "the module in code, or make it with create_model(name, ...)")
        config = super().get_config()   # name, trainable, dtype, batch_input_shape
        config["module"] = {"zoo": spec["name"], "kwargs": dict(spec["kwargs"])}
        for key in ("output_index", "input_dtype"):
            if getattr(self, key) is not None:
                config[key] = getattr(self, key)
        return config
