"""GradientTape: TensorFlow's way of asking for gradients, on gradkit's engine.

    with tf.GradientTape() as tape:              # records what happens inside the block
        loss = loss_fn(y, model(x))
    grads = tape.gradient(loss, model.trainable_variables)   # a list, None where unconnected

gradkit records a graph whenever an input requires grad, so the tape adds no recording of its
own: ``gradient`` is ``gradkit.grad(targets, sources, allow_unused=True)`` plus TensorFlow's
rules about *which* sources a tape may differentiate:

* trainable Variables / Parameters are watched automatically (``watch_accessed_variables=True``);
* ``tape.watch(t)`` watches a plain tensor: it is flagged ``requires_grad`` while the tape is
  recording (so the ops on it are recorded) and the flag is restored when the block exits;
* a source the tape did not watch, or one the target does not depend on, gets ``None``
  (``unconnected_gradients='zero'`` gives zeros instead);
* a non-persistent tape answers one ``gradient`` (or ``jacobian``) call; ``persistent=True``
  keeps the graph for several; tapes that recorded at the same time (a GAN's generator and
  discriminator tapes) each answer their call, whatever the order;
* while another tape is recording, ``gradient`` builds a differentiable result
  (``create_graph=True``), so nested tapes give second derivatives.

After a non-persistent tape's one ``gradient`` call, when no other tape is recording, the target
tensors are detached in place (their graph has been freed anyway): ``loss.numpy()`` then works as
in TensorFlow, where a tensor never carries a graph.
"""
import warnings

import numpy as np

from .. import _internal
from ..autograd import grad_mode
from ..autograd.functional import grad as _grad
from ..autograd.functional import jacobian_rows, stack_gradients
from ..tensor import Tensor

__all__ = ["GradientTape"]

_recording = []  # tapes whose block is open and recording, innermost last
_flags = {}      # id(tensor) -> [tensor, how many tapes flagged it]: tensors watch() made require grad


def _flag(t):
    entry = _flags.get(id(t))
    if entry is None:
        _flags[id(t)] = [t, 1]
        t.requires_grad = True
    else:
        entry[1] += 1


def _unflag(t):
    entry = _flags.get(id(t))
    if entry is None:
        return
    entry[1] -= 1
    if entry[1] == 0:
        del _flags[id(t)]
        if t.is_leaf:
            t.requires_grad = False


# === nested structures (TensorFlow's tf.nest: lists, tuples, namedtuples, dicts by sorted key)
def _flatten(struct):
    if isinstance(struct, dict):
        return [leaf for k in sorted(struct) for leaf in _flatten(struct[k])]
    if isinstance(struct, (list, tuple)):
        return [leaf for s in struct for leaf in _flatten(s)]
    return [struct]


def _pack(struct, leaves):
    """``struct`` with its leaves replaced, in order, by ``leaves`` (an iterator)."""
    if isinstance(struct, dict):
        packed = {k: _pack(struct[k], leaves) for k in sorted(struct)}  # leaves come sorted
        return type(struct)((k, packed[k]) for k in struct)              # keys keep their order
    if isinstance(struct, tuple):
        items = [_pack(s, leaves) for s in struct]
        return type(struct)(*items) if hasattr(struct, "_fields") else tuple(items)
    if isinstance(struct, list):
        return [_pack(s, leaves) for s in struct]
    return next(leaves)


def _as_list(sources):
    """Materialise one-shot iterables (a generator, ``zip``) so they can be flattened and packed."""
    if isinstance(sources, (Tensor, list, tuple, dict)):
        return sources
    if hasattr(sources, "__iter__"):
        return list(sources)
    return sources


def _unconnected_zero(unconnected_gradients):
    value = getattr(unconnected_gradients, "value", unconnected_gradients)
    value = str(value).lower()
    if value not in ("none", "zero"):
        raise ValueError(f"GradientTape: unconnected_gradients must be 'none' or 'zero'; got "
                         f"{unconnected_gradients!r}")
    return value == "zero"


class GradientTape:
    """Record operations for automatic differentiation (``tf.GradientTape``).

    Args:
        persistent: allow several ``gradient``/``jacobian`` calls. Defaults to ``False``.
        watch_accessed_variables: watch every trainable variable used inside the block.
            Defaults to ``True``; with ``False`` only what ``watch`` names gets a gradient.

    >>> x = tf.constant(3.0)
    >>> with tf.GradientTape() as tape:
    ...     tape.watch(x)
    ...     y = x * x
    >>> tape.gradient(y, x)            # 2x = 6
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self.persistent = bool(persistent)
        self.watch_accessed_variables = bool(watch_accessed_variables)
        self._watched = {}      # id -> tensor, everything watch() was given
        self._flagged = []      # the tensors this tape made require grad (restored on exit)
        self._recording = False
        self._used = False
        self._shared = False    # recorded while another tape did: the graph may serve both
        self._prev_grad_mode = None

    # ------------------------------------------------------------------ the block
    def __enter__(self):
        if self._recording:
            raise RuntimeError("GradientTape: this tape is already recording; a tape's `with` "
                               "block cannot be nested inside itself (create a second tape)")
        self._recording = True
        if _recording:  # e.g. `with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:`
            self._shared = True
            for other in _recording:
                other._shared = True
        _recording.append(self)
        self._prev_grad_mode = grad_mode.state.enabled
        grad_mode.state.enabled = True  # a tape records even inside no_grad(), as in TensorFlow
        return self

    def __exit__(self, *exc):
        self._recording = False
        if self in _recording:
            _recording.remove(self)
        grad_mode.state.enabled = self._prev_grad_mode
        self._unflag_all()
        return False

    def _unflag_all(self):
        for t in self._flagged:
            _unflag(t)
        self._flagged = []

    def stop_recording(self):
        """A context in which nothing is recorded (gradkit: ``no_grad()``, so it pauses every
        tape, not only this one)."""
        if not self._recording:
            raise RuntimeError("GradientTape.stop_recording: the tape is not recording; call it "
                               "inside the tape's `with` block")
        return _StopRecording(self)

    def reset(self):
        """Forget what was watched and allow a new ``gradient`` call, as if the block were left
        and entered again with a new tape."""
        self._unflag_all()
        self._watched = {}
        self._used = False

    # ------------------------------------------------------------------ watching
    def watch(self, tensor):
        """Watch a tensor (or a nested list/tuple/dict of them) so gradients can flow to it."""
        if not self._recording:
            raise RuntimeError("GradientTape.watch: the tape is not recording; call watch() "
                               "inside the `with tf.GradientTape() as tape:` block")
        for t in _flatten(tensor):
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.watch: expected a tensor or Variable, got "
                                f"{type(t).__name__}; convert it first with tf.constant(...)")
            if t.array.dtype.kind != "f":
                warnings.warn(f"GradientTape.watch: a tensor of dtype {t.dtype} cannot have a "
                              "gradient (only floating point tensors can); its gradient will be "
                              "None. Cast it with tf.cast(x, tf.float32).", stacklevel=2)
                continue
            if id(t) in self._watched:
                continue
            self._watched[id(t)] = t
            if not t.requires_grad:
                _flag(t)
                self._flagged.append(t)

    def watched_variables(self):
        """The tensors passed to ``watch`` (gradkit does not track which variables were read)."""
        return tuple(self._watched.values())

    # ------------------------------------------------------------------ gradients
    def _claim(self, what):
        if self._used and not self.persistent:
            raise RuntimeError(
                "A non-persistent GradientTape can only be used to compute one set of gradients "
                f"(or jacobians); this is the second {what}() call. Create the tape with "
                "tf.GradientTape(persistent=True) to call it several times.")
        self._used = True

    def _others_recording(self):
        """Does some tape record the gradient computation itself (then it must be differentiable)?"""
        return any(t is not self or self.persistent for t in _recording)

    def _differentiable(self, t):
        """Can this tape give ``t`` a gradient? (see the module docstring)"""
        if not t.is_leaf:
            return True  # an intermediate result computed from watched tensors
        if id(t) in self._watched:
            return True
        return t.requires_grad and self.watch_accessed_variables

    def _vjp(self, targets, sources, grad_outputs, create_graph, retain_graph):
        """Σ_i grad_outputs[i] · d targets[i] / d source for each source; None where unconnected."""
        relit = [t for t in self._watched.values() if not t.requires_grad]
        for t in relit:  # watched tensors lose the flag on exit; gradient() may come after it
            t.requires_grad = True
        try:
            wanted = [i for i, s in enumerate(sources) if self._differentiable(s)]
            outs = [(t, g) for t, g in zip(targets, grad_outputs) if t.requires_grad]
            result = [None] * len(sources)
            if not wanted or not outs:
                return result
            gs = []
            for t, g in outs:
                if g is None:
                    g = _internal.wrap(np.ones_like(t.array))
                elif not isinstance(g, Tensor):
                    g = _internal.wrap(np.asarray(g, dtype=t.array.dtype))
                gs.append(g)
            got = _grad([t for t, _ in outs], [sources[i] for i in wanted], grad_outputs=gs,
                        retain_graph=retain_graph, create_graph=create_graph, allow_unused=True)
            for i, g in zip(wanted, got):
                result[i] = g
            return result
        finally:
            for t in relit:
                if id(t) not in _flags and t.is_leaf:
                    t.requires_grad = False

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """d target / d sources, in the structure of ``sources`` (a tensor, list, tuple or dict).

        ``target`` may be a tensor or a structure of them: their gradients are summed, and a
        non-scalar target counts as its sum (TensorFlow's rule; PyTorch would ask for
        ``grad_outputs``). ``output_gradients``: the upstream gradient of each target, same
        structure. Unconnected or unwatched sources get ``None`` (or zeros with
        ``unconnected_gradients='zero'``).
        """
        zero = _unconnected_zero(unconnected_gradients)
        self._claim("gradient")
        sources = _as_list(sources)
        targets = _flatten(target)
        leaves = _flatten(sources)
        for t in targets + leaves:
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.gradient: targets and sources must be tensors or "
                                f"Variables; got {type(t).__name__}")
        if output_gradients is None:
            grad_outputs = [None] * len(targets)
        else:
            grad_outputs = _flatten(output_gradients)
            if len(grad_outputs) != len(targets):
                raise ValueError(f"GradientTape.gradient: {len(grad_outputs)} output_gradients "
                                 f"for {len(targets)} targets; give one per target")
        create_graph = self._others_recording()
        # the graph is freed after the one call, unless another tape recorded it too (a GAN's
        # generator and discriminator tapes share the discriminator's graph)
        grads = self._vjp(targets, leaves, grad_outputs, create_graph,
                          retain_graph=self.persistent or create_graph or self._shared)
        if zero:
            grads = [_internal.wrap(np.zeros_like(s.array)) if g is None else g
                     for g, s in zip(grads, leaves)]
        if not self.persistent and not create_graph:
            for t in targets:  # the graph is spent: make them plain tensors, as TensorFlow's are
                if not t.is_leaf:
                    t.detach_()
        return _pack(sources, iter(grads))

    def jacobian(self, target, sources, unconnected_gradients="none", parallel_iterations=None,
                 experimental_use_pfor=True):
        """The full Jacobian: for each source, a tensor of shape ``target.shape + source.shape``.

        One backward pass per element of ``target``.
        """
        zero = _unconnected_zero(unconnected_gradients)
        self._claim("jacobian")
        sources = _as_list(sources)
        leaves = _flatten(sources)
        create_graph = self._others_recording()
        rows = jacobian_rows(lambda unit: self._vjp([target], leaves, [unit], create_graph,
                                                    retain_graph=True), target)
        out = []
        for j, s in enumerate(leaves):
            col = [r[j] for r in rows]      # d target.flat[k] / d leaves[j], k = 0, 1, ...
            if all(g is None for g in col) and not zero:
                out.append(None)
                continue
            jac = stack_gradients(col, s, differentiable=create_graph)
            out.append(jac.reshape(tuple(target.shape) + tuple(s.shape)))
        return _pack(sources, iter(out))

    def batch_jacobian(self, target, source, unconnected_gradients="none",
                       parallel_iterations=None, experimental_use_pfor=True):
        """Per-example Jacobian: target (B, ...), source (B, ...) -> (B, target[1:], source[1:]),
        assuming example b of the target depends only on example b of the source."""
        zero = _unconnected_zero(unconnected_gradients)
        self._claim("batch_jacobian")
        if target.ndim == 0 or source.ndim == 0 or target.shape[0] != source.shape[0]:
            raise ValueError(f"GradientTape.batch_jacobian: target and source need the same "
                             f"first (batch) dimension; got {target.shape} and {source.shape}")
        create_graph = self._others_recording()
        b = target.shape[0]
        m = int(np.prod(target.shape[1:], dtype=np.int64))
        cols = []   # cols[k]: d target[b].flat[k] / d source[b], for every b at once
        for k in range(m):
            unit = np.zeros((b, m), target.array.dtype)
            unit[:, k] = 1
            (g,) = self._vjp([target], [source], [unit.reshape(target.shape)], create_graph,
                             retain_graph=True)
            cols.append(g)
        if all(g is None for g in cols) and not zero:
            return None
        jac = stack_gradients(cols, source, axis=1, differentiable=create_graph)
        return jac.reshape(tuple(target.shape) + tuple(source.shape[1:]))

    def __repr__(self):
        state = "recording" if self._recording else "not recording"
        return f"<GradientTape persistent={self.persistent} {state}>"


class _StopRecording:
    def __init__(self, tape):
        self.tape = tape

    def __enter__(self):
        self._prev = grad_mode.state.enabled
        grad_mode.state.enabled = False
        self.tape._recording = False
        if self.tape in _recording:
            _recording.remove(self.tape)

    def __exit__(self, *exc):
        grad_mode.state.enabled = self._prev
        self.tape._recording = True
        _recording.append(self.tape)
        return False
