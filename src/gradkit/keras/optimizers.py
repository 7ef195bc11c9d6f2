"""Keras optimizers: thin wrappers over ``gradkit.optim``, in Keras' calling style.

A Keras optimizer is created without parameters and is handed (gradient, variable) pairs::

    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))

The first call builds the matching ``gradkit.optim`` optimizer over those variables; each call
then stores the gradients in ``.grad``, clips them, applies Keras' decoupled weight decay and
runs the gradkit optimizer's ``step()``. The update rules are gradkit.optim's (PyTorch's): the
only differences from Keras are where epsilon enters (Adam: ``m̂/(√v̂ + ε)``; Keras:
``m̂/(√v̂ + ε̂)`` with ε̂ = ε√(1-β2ᵗ); RMSprop: ``g/(√v + ε)``; Keras: ``g/√(v + ε)``),
which moves results by about ε.

Keras' names map to gradkit.optim's: ``learning_rate`` -> ``lr``, ``beta_1, beta_2`` ->
``betas``, ``epsilon`` -> ``eps``, RMSprop's ``rho`` -> ``alpha``. Keras' defaults are kept
(``epsilon=1e-7``; SGD ``learning_rate=0.01``; Adagrad ``initial_accumulator_value=0.1``).

Clipping (each before the update): ``clipnorm`` scales each gradient to norm ≤ clipnorm,
``global_clipnorm`` scales all of them together to joint norm ≤ global_clipnorm, ``clipvalue``
clips each element into [-clipvalue, clipvalue]. ``weight_decay=λ`` shrinks each variable
``w ← w - lr·λ·w`` before the step (decoupled, as Keras 3 does for every optimizer).
"""
import numpy as np

from .. import optim
from ..autograd import grad_mode
from ..autograd.functional import grad as _autograd_grad
from ..nn.utils import clip_grad_norm_, clip_grad_value_
from ..tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "Nadam", "Lion", "get", "serialize", "deserialize", "schedules"]


class Optimizer:
    """Base class of the Keras optimizers (see the module docstring).

    Common arguments: ``learning_rate`` (a float or a schedule ``lr(iterations)``),
    ``weight_decay``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``,
    ``gradient_accumulation_steps`` (apply the mean of k steps' gradients every k-th step),
    ``name``. ``use_ema`` and the other Keras 3 options are not supported.
    """

    _inner_class = None   # the gradkit.optim class
    _default_lr = 0.001

    def __init__(self, learning_rate=None, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) "
                            f"{', '.join(sorted(kwargs))}")
        if use_ema or loss_scale_factor:
            raise NotImplementedError(f"{type(self).__name__}: use_ema / loss_scale_factor are "
                                      "not supported by gradkit.keras")
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError(f"{type(self).__name__}: give clipnorm or global_clipnorm, not both")
        for label, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                         ("global_clipnorm", global_clipnorm)):
            if v is not None and v <= 0:
                raise ValueError(f"{type(self).__name__}: {label} must be positive, got {v}")
        if gradient_accumulation_steps is not None and int(gradient_accumulation_steps) < 1:
            raise ValueError(f"{type(self).__name__}: gradient_accumulation_steps must be >= 1")
        self.name = name or type(self).__name__.lower()
        self._learning_rate = self._default_lr if learning_rate is None else learning_rate
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.iterations = 0
        self._inner = None
        self._variables = []

    # ------------------------------------------------------------------ learning rate
    def _current_lr(self):
        lr = self._learning_rate
        return float(lr(self.iterations)) if callable(lr) else float(lr)

    @property
    def learning_rate(self):
        """The learning rate now (a float; a schedule is evaluated at ``iterations``).
        Assigning a float changes it from the next step on (what LR callbacks do)."""
        return self._current_lr()

    @learning_rate.setter
    def learning_rate(self, value):
        value = value.item() if isinstance(value, (Tensor, np.ndarray, np.generic)) else value
        self._learning_rate = value
        self._sync_lr()

    lr = learning_rate  # TF 2's older name

    def _sync_lr(self):
        if self._inner is not None:
            lr = self._current_lr()
            for group in self._inner.param_groups:
                group["lr"] = lr

    # ------------------------------------------------------------------ building
    def _hyper(self):
        """The gradkit.optim constructor's keyword arguments (besides params and lr)."""
        return {}

    def build(self, variables):
        """Create the gradkit.optim optimizer over ``variables`` (done by the first update)."""
        variables = list(variables)
        if not variables:
            raise ValueError(f"{type(self).__name__}: got an empty list of variables to optimize; "
                             "the model has no trainable weights (is it empty, not built yet, or "
                             "frozen with trainable=False?)")
        if isinstance(self._inner, optim.Optimizer) and self._variables:
            known = {id(v) for v in self._variables}
            new = [v for v in variables if id(v) not in known]
            if new:
                self._inner.add_param_group({"params": new})
                self._variables += new
            return
        self._inner = self._inner_class(variables, lr=self._current_lr(), **self._hyper())
        self._variables = variables

    @property
    def variables(self):
        return list(self._variables)

    # ------------------------------------------------------------------ updating
    def apply_gradients(self, grads_and_vars):
        """Apply ``[(gradient, variable), ...]`` (e.g. ``zip(grads, model.trainable_variables)``).
        A None gradient (the loss does not depend on that variable) is skipped."""
        pairs = list(grads_and_vars)
        if not pairs:
            raise ValueError(f"{type(self).__name__}.apply_gradients: got an empty list of "
                             "(gradient, variable) pairs; the model has no trainable variables "
                             "(does it have any layers? has it been called on data yet?)")
        for g, v in pairs:
            if not isinstance(v, Tensor):
                raise TypeError(f"apply_gradients: expected (gradient, variable) pairs with "
                                f"gradkit variables; got a {type(v).__name__} variable")
        pairs = [(g, v) for g, v in pairs if g is not None]
        if not pairs:
            raise ValueError("apply_gradients: every gradient is None: the loss does not depend "
                             "on these variables (was the forward pass done inside the tape?)")
        variables = [v for _, v in pairs]
        self.build(variables)
        for g, v in pairs:
            g = g.data if isinstance(g, Tensor) else np.asarray(g)
            if g.shape != v.shape:
                raise ValueError(f"apply_gradients: a gradient of shape {g.shape} for a variable "
                                 f"of shape {tuple(v.shape)}")
            v.grad = Tensor._make(np.array(g, dtype=v.dtype))
        self._apply_stored_gradients(variables)
        return self.iterations

    def apply(self, grads, trainable_variables=None):
        """Keras 3's form: ``optimizer.apply(grads, model.trainable_variables)``."""
        if trainable_variables is None:
            trainable_variables = self._variables
        return self.apply_gradients(zip(grads, trainable_variables))

    def minimize(self, loss, var_list, tape=None):
        """Compute the gradient of ``loss`` (a scalar Tensor, or a no-argument callable returning
        one) with respect to ``var_list`` and apply it."""
        var_list = list(var_list() if callable(var_list) else var_list)
        if callable(loss):
            with grad_mode.enable_grad():
                loss = loss()
        grads = tape.gradient(loss, var_list) if tape is not None else \
            _autograd_grad(loss, var_list, allow_unused=True)
        return self.apply_gradients(zip(grads, var_list))

    def _apply_stored_gradients(self, variables):
        """The gradients are in ``.grad``: clip, decay, step, clear. (fit calls this directly
        after ``loss.backward()``.)"""
        known = {id(x) for x in self._variables}
        if self._inner is None or any(id(v) not in known for v in variables):
            self.build(variables)
        live = [v for v in variables if v.grad is not None]
        if self.clipvalue is not None:
            clip_grad_value_(live, self.clipvalue)
        if self.clipnorm is not None:
            for v in live:
                clip_grad_norm_([v], self.clipnorm)
        if self.global_clipnorm is not None:
            clip_grad_norm_(live, self.global_clipnorm)
        self._sync_lr()
        if self.weight_decay:
            decay = 1.0 - self._current_lr() * float(self.weight_decay)
            with grad_mode.no_grad():
                for v in live:
                    v.data *= v.data.dtype.type(decay)   # w ← w − lr·λ·w  (Keras 3)
                    v._vc[0] += 1
        self._inner.step()
        for v in variables:
            v.grad = None
        self.iterations += 1

    # ------------------------------------------------------------------ the other dialect
    def __getattr__(self, name):
        if name in ("step", "zero_grad"):
            raise AttributeError(
                f"'{type(self).__name__}' is a Keras optimizer: it has no {name}(), and it does "
                "not read the .grad that loss.backward() leaves. Use one of the two dialects:\n"
                "  PyTorch style: opt = gradkit.optim." + (self._inner_class.__name__ if
                                                           self._inner_class else "Adam") +
                "(model.parameters(), lr=...); then opt.zero_grad(); loss.backward(); "
                "opt.step()\n"
                "  Keras style:   with tf.GradientTape() as tape: loss = loss_fn(y, model(x))\n"
                "                 grads = tape.gradient(loss, model.trainable_variables)\n"
                "                 optimizer.apply_gradients(zip(grads, model.trainable_variables))"
                "\n  (or simply model.compile(optimizer, loss) and model.fit(x, y))")
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    # ------------------------------------------------------------------ state and config
    def get_config(self):
        lr = self._learning_rate
        config = {"name": self.name,
                  "learning_rate": lr if not callable(lr) else _serialize_schedule(lr),
                  "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                  "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm,
                  "gradient_accumulation_steps": self.gradient_accumulation_steps}
        config.update(self._own_config())
        return config

    def _own_config(self):
        return {}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def state_dict(self):
        """The gradkit optimizer's state (PyTorch's structure) and the step count."""
        return {"iterations": self.iterations,
                "inner": self._inner.state_dict() if self._inner is not None else None}

    def load_state_dict(self, state):
        self.iterations = int(state["iterations"])
        if state.get("inner") is not None:
            if self._inner is None:
                raise ValueError(f"{type(self).__name__}.load_state_dict: build the optimizer "
                                 "first (optimizer.build(model.trainable_variables))")
            self._inner.load_state_dict(state["inner"])

    def __repr__(self):
        return f"<keras.optimizers.{type(self).__name__} learning_rate={self.learning_rate}>"


# === the optimizers ===========================================================================
class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum: gradkit.optim.SGD. Defaults:
    ``learning_rate=0.01``, ``momentum=0.0``, ``nesterov=False``."""

    _inner_class, _default_lr = optim.SGD, 0.01

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if momentum < 0:
            raise ValueError(f"SGD: momentum must be >= 0, got {momentum}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _hyper(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}

    def _own_config(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam: gradkit.optim.Adam. Defaults: ``learning_rate=0.001``, ``beta_1=0.9``,
    ``beta_2=0.999``, ``epsilon=1e-7``, ``amsgrad=False``."""

    _inner_class = optim.Adam

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def _hyper(self):
        return {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon, "amsgrad": self.amsgrad}

    def _own_config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (``w ← w − lr·λ·w`` each step). Defaults as Adam, and
    ``weight_decay=0.004`` (Keras' default)."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)


class RMSprop(Optimizer):
    """RMSprop: gradkit.optim.RMSprop. Defaults: ``learning_rate=0.001``, ``rho=0.9``,
    ``momentum=0.0``, ``epsilon=1e-7``, ``centered=False``."""

    _inner_class = optim.RMSprop

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def _hyper(self):
        return {"alpha": self.rho, "momentum": self.momentum, "eps": self.epsilon,
                "centered": self.centered}

    def _own_config(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad: gradkit.optim.Adagrad. Defaults: ``learning_rate=0.001``,
    ``initial_accumulator_value=0.1``, ``epsilon=1e-7``."""

    _inner_class = optim.Adagrad

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _hyper(self):
        return {"initial_accumulator_value": self.initial_accumulator_value, "eps": self.epsilon}

    def _own_config(self):
        return {"initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta: gradkit.optim.Adadelta. Defaults: ``learning_rate=0.001``, ``rho=0.95``,
    ``epsilon=1e-7``."""

    _inner_class = optim.Adadelta

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho, self.epsilon = rho, epsilon

    def _hyper(self):
        return {"rho": self.rho, "eps": self.epsilon}

    def _own_config(self):
        return {"rho": self.rho, "epsilon": self.epsilon}


class Adamax(Adam):
    """Adamax: gradkit.optim.Adamax. Defaults as Adam (without amsgrad)."""

    _inner_class = optim.Adamax

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, **kwargs)

    def _hyper(self):
        return {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon}

    def _own_config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Nadam(Adamax):
    """Nadam: gradkit.optim.NAdam. Defaults as Adam."""

    _inner_class = optim.NAdam


class Lion(Optimizer):
    """Lion: gradkit.optim.Lion. Defaults: ``learning_rate=0.001``, ``beta_1=0.9``,
    ``beta_2=0.99``."""

    _inner_class = optim.Lion

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2 = beta_1, beta_2

    def _hyper(self):
        return {"betas": (self.beta_1, self.beta_2)}

    def _own_config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2}


class _Wrapped(Optimizer):
    """A gradkit.optim optimizer handed to ``compile``: used as it is (its own lr and state)."""

    def __init__(self, inner):
        super().__init__(learning_rate=inner.param_groups[0]["lr"], name=type(inner).__name__)
        self._inner = inner
        self._inner_class = type(inner)
        self._variables = [p for g in inner.param_groups for p in g["params"]]

    def _sync_lr(self):
        pass  # the gradkit optimizer (and its schedulers) own the learning rate

    @property
    def learning_rate(self):
        return self._inner.param_groups[0]["lr"]

    @learning_rate.setter
    def learning_rate(self, value):
        for group in self._inner.param_groups:
            group["lr"] = float(value)


# === learning-rate schedules (optimizer.learning_rate = schedule) =============================
class _Schedules:
    """``keras.optimizers.schedules``: ``lr(step)`` functions of the optimizer's step count."""

    class LearningRateSchedule:
        def __call__(self, step):
            raise NotImplementedError

        def get_config(self):
            return dict(self.__dict__)

        @classmethod
        def from_config(cls, config):
            return cls(**config)

    class ExponentialDecay(LearningRateSchedule):
        """lr = initial · rate^(step / decay_steps) (floored exponent if ``staircase``)."""

        def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                     name=None):
            self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
            self.decay_rate, self.staircase, self.name = decay_rate, staircase, name

        def __call__(self, step):
            p = step / self.decay_steps
            return self.initial_learning_rate * self.decay_rate ** (np.floor(p) if self.staircase
                                                                    else p)

    class PiecewiseConstantDecay(LearningRateSchedule):
        """values[i] while step ≤ boundaries[i] (values has one more entry)."""

        def __init__(self, boundaries, values, name=None):
            if len(values) != len(boundaries) + 1:
                raise ValueError("PiecewiseConstantDecay: values needs len(boundaries) + 1 entries")
            self.boundaries, self.values, self.name = list(boundaries), list(values), name

        def __call__(self, step):
            for b, v in zip(self.boundaries, self.values):
                if step <= b:
                    return v
            return self.values[-1]

    class CosineDecay(LearningRateSchedule):
        """lr = initial · ((1 - alpha) · ½(1 + cos(π · p)) + alpha),
        p = min(step, decay_steps) / decay_steps."""

        def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name=None):
            self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
            self.alpha, self.name = alpha, name

        def __call__(self, step):
            p = min(step, self.decay_steps) / self.decay_steps
            cos = 0.5 * (1 + np.cos(np.pi * p))
            return self.initial_learning_rate * ((1 - self.alpha) * cos + self.alpha)

    def deserialize(self, config):
        return getattr(self, config["class_name"]).from_config(config["config"])


schedules = _Schedules()


def _serialize_schedule(schedule):
    if isinstance(schedule, _Schedules.LearningRateSchedule):
        return {"class_name": type(schedule).__name__, "config": schedule.get_config()}
    raise NotImplementedError("a custom learning-rate function cannot be saved; use a "
                              "keras.optimizers.schedules class")


# === lookup ==================================================================================
_CLASSES = (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion)
_BY_NAME = {c.__name__.lower(): c for c in _CLASSES}
_BY_NAME.update({c.__name__: c for c in _CLASSES})


def get(identifier):
    """'adam', 'sgd', 'rmsprop', 'adagrad', 'adamw', ... (Keras' defaults), a Keras optimizer,
    or a ``gradkit.optim`` optimizer (used as it is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, optim.Optimizer):
        return _Wrapped(identifier)
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer '{identifier}'; known: "
                             f"{', '.join(sorted(k for k in _BY_NAME if k.islower()))}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, optim.Optimizer):
        raise TypeError(f"compile(optimizer={identifier.__name__}): pass an instance built on "
                        "the model's parameters, or a Keras optimizer such as "
                        "keras.optimizers.Adam(learning_rate=1e-3)")
    raise TypeError(f"optimizer must be a name, a Keras optimizer or a gradkit.optim optimizer; "
                    f"got {type(identifier).__name__}")


def serialize(optimizer):
    if isinstance(optimizer, _Wrapped):
        return None  # a gradkit.optim optimizer is tied to its parameters: not saved
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config, custom_objects=None):
    cls = _BY_NAME.get(config["class_name"])
    if cls is None:
        from .saving import deserialize_object
        return deserialize_object(config, custom_objects, "optimizer")
    return cls.from_config(config["config"])
