"""Gradient checkpointing switches for the pretrained models, with transformers' names.

A model's layer stack (LlamaModel, BertEncoder) has a ``gradient_checkpointing`` flag; when it is
on, in training mode while a graph is recorded, each layer runs through
``gradkit.autograd.checkpoint``: the graph keeps each layer's input instead of its activations,
and the backward recomputes the layer (memory for about one more forward pass).
"""


class GradientCheckpointing:
    """``gradient_checkpointing_enable()``, ``gradient_checkpointing_disable()`` and
    ``is_gradient_checkpointing`` for any model holding layer stacks with the flag."""

    def _stacks(self):
        return [m for m in self.modules() if hasattr(m, "gradient_checkpointing_kwargs")]

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs=None):
        """Turn checkpointing on; ``gradient_checkpointing_kwargs`` go to each ``checkpoint``
        call (e.g. ``{"use_reentrant": False}``, ``{"preserve_rng_state": False}``)."""
        for m in self._stacks():
            m.gradient_checkpointing = True
            m.gradient_checkpointing_kwargs = dict(gradient_checkpointing_kwargs or {})

    def gradient_checkpointing_disable(self):
        for m in self._stacks():
            m.gradient_checkpointing = False

    @property
    def is_gradient_checkpointing(self):
        return any(m.gradient_checkpointing for m in self._stacks())
