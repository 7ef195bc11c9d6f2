"""Keras optimizers: a table over ``gradkit.optim``, in Keras' calling style.

A Keras optimizer is created without parameters and is handed (gradient, variable) pairs::

    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))

Each class below is one row of a table: the ``gradkit.optim`` class it builds, its Keras
arguments with Keras' defaults (``keras_defaults``, in Keras' positional order) and the names
gradkit.optim gives them (``to_optim``; a name missing there is the same in both). The first
update builds that gradkit.optim optimizer over the variables; every update is then its
``step()``, which also does the clipping and the weight decay. This file has no math.

The update rules are gradkit.optim's (PyTorch's): the only differences from Keras are where
epsilon enters (Adam: ``m̂/(√v̂ + ε)``; Keras: ``m̂/(√v̂ + ε̂)`` with ε̂ = ε√(1-β2ᵗ); RMSprop:
``g/(√v + ε)``; Keras: ``g/√(v + ε)``), which moves results by about ε.

Options every Keras optimizer takes, and the gradkit.optim option that does the work:
``clipnorm`` → ``clip_grad_norm_per_param`` (each gradient to norm ≤ clipnorm),
``global_clipnorm`` → ``clip_grad_norm`` (all of them to joint norm ≤ global_clipnorm),
``clipvalue`` → ``clip_grad_value`` (each element into [-clipvalue, clipvalue]), and
``weight_decay=λ`` → ``weight_decay=λ, decoupled_weight_decay=True`` (``w ← w − lr·λ·w`` before
the step, as Keras 3 does for every optimizer).
"""
import inspect

import numpy as np

from .. import _internal, optim
from ..autograd import grad_mode
from ..autograd.functional import grad as _autograd_grad
from ..optim import lr_scheduler
from ..tensor import Tensor
from .registry import deserialize_object

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "Nadam", "Lion", "get", "serialize", "deserialize", "schedules"]

# the arguments every Keras optimizer takes besides its own (Keras 3's base optimizer)
_COMMON = dict(weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
               use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
               loss_scale_factor=None, gradient_accumulation_steps=None, name=None)


class Optimizer:
    """Base class of the Keras optimizers (see the module docstring).

    Common arguments: ``learning_rate`` (a float or a schedule ``lr(iterations)``),
    ``weight_decay``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``,
    ``gradient_accumulation_steps`` (``fit`` applies the mean of k batches' gradients every
    k-th batch), ``name``. ``use_ema`` and ``loss_scale_factor`` are not supported.
    """

    optim_class = None                         # the gradkit.optim class
    keras_defaults = {"learning_rate": 0.001}  # Keras' arguments, in order, with its defaults
    to_optim = {}                              # Keras name -> gradkit.optim name (or (name, i))

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # help() shows the Keras signature: the own arguments, then the common ones
        own = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d)
               for n, d in cls.keras_defaults.items()]
        common = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d)
                  for n, d in _COMMON.items() if n not in cls.keras_defaults]
        cls.__signature__ = inspect.Signature(own + common)

    def __init__(self, *args, **kwargs):
        cls = type(self).__name__
        names = list(self.keras_defaults)
        if len(args) > len(names):
            raise TypeError(f"{cls}: takes at most {len(names)} positional arguments "
                            f"({', '.join(names)}); got {len(args)}")
        for n, a in zip(names, args):
            if n in kwargs:
                raise TypeError(f"{cls}: got multiple values for argument '{n}'")
            kwargs[n] = a
        own = {n: kwargs.pop(n, d) for n, d in self.keras_defaults.items()}
        unknown = set(kwargs) - set(_COMMON)
        if unknown:
            raise TypeError(f"{cls}: unexpected keyword argument(s) {', '.join(sorted(unknown))}")
        common = {**_COMMON, **kwargs}
        if "weight_decay" in own:  # AdamW lists it among its own arguments
            common["weight_decay"] = own.pop("weight_decay")
        if common["use_ema"] or common["loss_scale_factor"]:
            raise NotImplementedError(f"{cls}: use_ema / loss_scale_factor are not supported by "
                                      "gradkit.keras")
        if common["clipnorm"] is not None and common["global_clipnorm"] is not None:
            raise ValueError(f"{cls}: give clipnorm or global_clipnorm, not both")
        for label in ("clipnorm", "clipvalue", "global_clipnorm"):
            v = common[label]
            if v is not None and v <= 0:
                raise ValueError(f"{cls}: {label} must be positive, got {v}")
        steps = common["gradient_accumulation_steps"]
        if steps is not None and int(steps) < 1:
            raise ValueError(f"{cls}: gradient_accumulation_steps must be >= 1")

        lr = own.pop("learning_rate")
        self._learning_rate = self.keras_defaults["learning_rate"] if lr is None else lr
        self.name = common["name"] or cls.lower()
        self.weight_decay = common["weight_decay"]
        self.clipnorm, self.clipvalue = common["clipnorm"], common["clipvalue"]
        self.global_clipnorm = common["global_clipnorm"]
        self.gradient_accumulation_steps = steps
        for n, v in own.items():  # optimizer.beta_1, optimizer.momentum, ... as in Keras
            setattr(self, n, v)
        self.iterations = 0
        self._inner = None
        self._variables = []
        if self.optim_class is not None:  # gradkit.optim's checks, now rather than at build
            options = self._optim_options()
            if callable(self._learning_rate):
                options.pop("lr")
            self.optim_class.check_options(options)

    def _optim_options(self):
        """The gradkit.optim constructor's keyword arguments, from the Keras settings."""
        options = {"lr": self._current_lr()}
        for n in self.keras_defaults:
            if n in ("learning_rate", "weight_decay"):
                continue
            target = self.to_optim.get(n, n)
            if isinstance(target, tuple):  # beta_1, beta_2 -> betas[0], betas[1]
                name, i = target
                options.setdefault(name, {})[i] = getattr(self, n)
            else:
                options[target] = getattr(self, n)
        for name, v in options.items():
            if isinstance(v, dict):
                options[name] = tuple(v[i] for i in sorted(v))
        if self.weight_decay:
            options["weight_decay"] = float(self.weight_decay)
            if not self.optim_class.decoupled_weight_decay:
                options["decoupled_weight_decay"] = True
        for keras_name, optim_name in (("clipnorm", "clip_grad_norm_per_param"),
                                       ("global_clipnorm", "clip_grad_norm"),
                                       ("clipvalue", "clip_grad_value")):
            if getattr(self, keras_name) is not None:
                options[optim_name] = getattr(self, keras_name)
        return options

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
        self._inner = self.optim_class(variables, **self._optim_options())
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
            g = _internal.as_array(g)
            if g.shape != v.shape:
                raise ValueError(f"apply_gradients: a gradient of shape {g.shape} for a variable "
                                 f"of shape {tuple(v.shape)}")
            v.grad = _internal.wrap(np.array(g, dtype=v.dtype))
        self.apply_stored_gradients(variables)
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

    def apply_stored_gradients(self, variables, micro_batches=1):
        """One update from the gradients that ``loss.backward()`` left in ``variables``' ``.grad``
        (what ``fit`` calls), then clear them. ``micro_batches``: how many backward passes
        summed their gradients there (gradient accumulation); the update uses their mean, through
        ``gradkit.optim.Optimizer.step(grad_scale=1 / micro_batches)``, before clipping."""
        known = {id(x) for x in self._variables}
        if self._inner is None or any(id(v) not in known for v in variables):
            self.build(variables)
        self._sync_lr()
        self._inner.step(grad_scale=1.0 / micro_batches)
        self._inner.zero_grad()
        self.iterations += 1

    # ------------------------------------------------------------------ the other dialect
    def __getattr__(self, name):
        if name in ("step", "zero_grad"):
            raise AttributeError(
                f"'{type(self).__name__}' is a Keras optimizer: it has no {name}(), and it does "
                "not read the .grad that loss.backward() leaves. Use one of the two dialects:\n"
                "  PyTorch style: opt = gradkit.optim." + (self.optim_class.__name__ if
                                                           self.optim_class else "Adam") +
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
        config.update({n: getattr(self, n) for n in self.keras_defaults
                       if n not in ("learning_rate", "weight_decay")})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def state_dict(self):
        """The gradkit optimizer's state (PyTorch's structure), the step count and the learning
        rate when it is a number (a callback such as ReduceLROnPlateau may have changed it)."""
        state = {"iterations": self.iterations,
                 "inner": self._inner.state_dict() if self._inner is not None else None}
        if not callable(self._learning_rate):
            state["learning_rate"] = float(self._learning_rate)
        return state

    def load_state_dict(self, state):
        self.iterations = int(state["iterations"])
        if state.get("learning_rate") is not None and not callable(self._learning_rate):
            self._learning_rate = float(state["learning_rate"])
        if state.get("inner") is not None:
            if self._inner is None:
                raise ValueError(f"{type(self).__name__}.load_state_dict: build the optimizer "
                                 "first (optimizer.build(model.trainable_variables))")
            self._inner.load_state_dict(state["inner"])

    def __repr__(self):
        return f"<keras.optimizers.{type(self).__name__} learning_rate={self.learning_rate}>"


# === the table: Keras name -> gradkit.optim class, Keras' arguments and defaults, renames ======
_ADAM_NAMES = {"beta_1": ("betas", 0), "beta_2": ("betas", 1), "epsilon": "eps"}


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum: gradkit.optim.SGD."""
    optim_class = optim.SGD
    keras_defaults = {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False}


class Adam(Optimizer):
    """Adam: gradkit.optim.Adam."""
    optim_class = optim.Adam
    keras_defaults = {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                      "amsgrad": False}
    to_optim = _ADAM_NAMES


class AdamW(Optimizer):
    """Adam with decoupled weight decay (``w ← w − lr·λ·w`` each step): gradkit.optim.AdamW."""
    optim_class = optim.AdamW
    keras_defaults = {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9,
                      "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False}
    to_optim = _ADAM_NAMES


class RMSprop(Optimizer):
    """RMSprop: gradkit.optim.RMSprop (Keras' ``rho`` is its ``alpha``)."""
    optim_class = optim.RMSprop
    keras_defaults = {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
                      "centered": False}
    to_optim = {"rho": "alpha", "epsilon": "eps"}


class Adagrad(Optimizer):
    """Adagrad: gradkit.optim.Adagrad."""
    optim_class = optim.Adagrad
    keras_defaults = {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7}
    to_optim = {"epsilon": "eps"}


class Adadelta(Optimizer):
    """Adadelta: gradkit.optim.Adadelta."""
    optim_class = optim.Adadelta
    keras_defaults = {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7}
    to_optim = {"epsilon": "eps"}


class Adamax(Optimizer):
    """Adamax: gradkit.optim.Adamax."""
    optim_class = optim.Adamax
    keras_defaults = {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
    to_optim = _ADAM_NAMES


class Nadam(Optimizer):
    """Nadam: gradkit.optim.NAdam."""
    optim_class = optim.NAdam
    keras_defaults = {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
    to_optim = _ADAM_NAMES


class Lion(Optimizer):
    """Lion: gradkit.optim.Lion."""
    optim_class = optim.Lion
    keras_defaults = {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.99}
    to_optim = {"beta_1": ("betas", 0), "beta_2": ("betas", 1)}


class _Wrapped(Optimizer):
    """A gradkit.optim optimizer handed to ``compile``: used as it is (its own lr and state)."""

    def __init__(self, inner):
        super().__init__(learning_rate=inner.param_groups[0]["lr"], name=type(inner).__name__)
        self._inner = inner
        self.optim_class = type(inner)
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
    """``keras.optimizers.schedules``: ``lr(step)`` functions of the optimizer's step count.
    Each is Keras' arguments and config over a closed form of ``gradkit.optim.lr_scheduler``."""

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
            if self.staircase:  # StepLR's closed form
                return lr_scheduler.step_decay(self.initial_learning_rate, step,
                                               self.decay_steps, self.decay_rate)
            return lr_scheduler.exponential_decay(self.initial_learning_rate,
                                                  step / self.decay_steps, self.decay_rate)

    class PiecewiseConstantDecay(LearningRateSchedule):
        """values[i] while step ≤ boundaries[i] (values has one more entry)."""

        def __init__(self, boundaries, values, name=None):
            if len(values) != len(boundaries) + 1:
                raise ValueError("PiecewiseConstantDecay: values needs len(boundaries) + 1 entries")
            self.boundaries, self.values, self.name = list(boundaries), list(values), name

        def __call__(self, step):
            return lr_scheduler.piecewise_constant(step, self.boundaries, self.values)

    class CosineDecay(LearningRateSchedule):
        """lr = initial · ((1 - alpha) · ½(1 + cos(π · p)) + alpha),
        p = min(step, decay_steps) / decay_steps."""

        def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name=None):
            self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
            self.alpha, self.name = alpha, name

        def __call__(self, step):  # CosineAnnealingLR's closed form, held after decay_steps
            return lr_scheduler.cosine_annealing(self.initial_learning_rate,
                                                 min(step, self.decay_steps), self.decay_steps,
                                                 eta_min=self.alpha * self.initial_learning_rate)

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
        return deserialize_object(config, custom_objects, "optimizer")
    return cls.from_config(config["config"])
