"""Hypothesis: random shapes (up to 3 dims, sides up to 4) and random subsets of dims with keepdim,
for sum / mean / var / amax / logsumexp / prod; values and gradients against PyTorch (float64)
through the oracle. gradcheck is off here for speed: tests/ops/test_reduction.py runs it on
fixed cases."""
import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import check

settings.register_profile(
    "reductions", max_examples=30, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture])  # conftest's autouse seed fixture
PROFILE = settings.get_profile("reductions")

shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)


@st.composite
def shape_dims_keepdim(draw):
    """A shape, a dim argument (None, an int or a tuple of distinct dims, each maybe negative) and
    keepdim."""
    shape = draw(shapes)
    nd = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        dim = None
    else:
        axes = list(range(nd)) if nd else [0]  # a 0-d tensor takes dim 0 / -1
        chosen = draw(st.lists(st.sampled_from(axes), min_size=1, max_size=len(axes), unique=True))
        signed = [d - max(nd, 1) if draw(st.booleans()) else d for d in chosen]
        dim = signed[0] if kind == "int" else tuple(signed)
    return shape, dim, draw(st.booleans())


def _norm_dims(dim, ndim):
    if dim is None:
        return tuple(range(ndim))
    dims = dim if isinstance(dim, tuple) else (dim,)
    return tuple(sorted(d % ndim for d in dims)) if ndim else ()


def torch_over(fn, x, dim, keepdim):
    """torch ``fn(x, -1)`` over any set of dims: move them last, flatten them, reduce."""
    dims = _norm_dims(dim, x.ndim)
    rest = [d for d in range(x.ndim) if d not in dims]
    moved = x.permute(*rest, *dims) if x.ndim else x
    y = fn(moved.reshape(*[x.shape[d] for d in rest], -1), -1)
    shape = [1 if d in dims else x.shape[d] for d in range(x.ndim)] if keepdim else \
        [x.shape[d] for d in rest]
    return y.reshape(shape)


def _inputs(shape, seed, low=-2.0, high=2.0):
    return [np.random.default_rng(seed).uniform(low, high, size=shape)]


seeds = st.integers(0, 2**16)


@settings(PROFILE)
@given(case=shape_dims_keepdim(), seed=seeds)
def test_sum(case, seed):
    shape, dim, keepdim = case
    check(lambda x: x.sum(dim, keepdim=keepdim), lambda x: torch_over(torch.sum, x, dim, keepdim),
          inputs=_inputs(shape, seed), gradcheck=False)


@settings(PROFILE)
@given(case=shape_dims_keepdim(), seed=seeds)
def test_mean(case, seed):
    shape, dim, keepdim = case
    check(lambda x: x.mean(dim, keepdim=keepdim), lambda x: torch_over(torch.mean, x, dim, keepdim),
          inputs=_inputs(shape, seed), gradcheck=False)


@settings(PROFILE)
@given(case=shape_dims_keepdim(), correction=st.sampled_from([0, 1]), seed=seeds)
def test_var(case, correction, seed):
    shape, dim, keepdim = case
    n = int(np.prod([shape[d] for d in _norm_dims(dim, len(shape))]))
    if n <= correction:  # nan, tested on its own in test_reduction.py
        correction = 0
    def torch_var(t, d):
        return torch.var(t, d, correction=correction)
    check(lambda x: x.var(dim, keepdim=keepdim, correction=correction),
          lambda x: torch_over(torch_var, x, dim, keepdim),
          inputs=_inputs(shape, seed), gradcheck=False)


@settings(PROFILE)
@given(case=shape_dims_keepdim(), seed=seeds)
def test_amax_without_ties(case, seed):
    shape, dim, keepdim = case
    # a permutation of distinct values: one maximum per slice, so one gradient path
    n = int(np.prod(shape))
    x = np.random.default_rng(seed).permutation(n).reshape(shape) * 0.25 - 1.0
    check(lambda x: x.amax(dim, keepdim=keepdim),
          lambda x: torch_over(lambda t, d: torch.amax(t, d), x, dim, keepdim),
          inputs=[x.astype(np.float64)], gradcheck=False)


@settings(PROFILE)
@given(case=shape_dims_keepdim(), seed=seeds)
def test_logsumexp(case, seed):
    shape, dim, keepdim = case
    check(lambda x: x.logsumexp(dim, keepdim=keepdim),
          lambda x: torch_over(torch.logsumexp, x, dim, keepdim),
          inputs=_inputs(shape, seed, -5.0, 5.0), gradcheck=False)


@settings(PROFILE)
@given(case=shape_dims_keepdim(), seed=seeds, zeros=st.integers(0, 2))
def test_prod(case, seed, zeros):
    shape, dim, keepdim = case
    # magnitudes in [0.5, 1.5] keep the product of up to 64 factors well scaled; then up to two
    # zeros, where the gradient is the product of the other factors (or 0 with two zeros)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, size=min(zeros, flat.size), replace=False)] = 0.0
    check(lambda x: x.prod(dim, keepdim=keepdim), lambda x: torch_over(torch.prod, x, dim, keepdim),
          inputs=[x], gradcheck=False)
