"""Every differentiable op, by family. Each file reads as a table of derivatives."""
from .creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,
                       linspace, multinomial, ones, ones_like, rand, rand_like, randint, randn,
                       randn_like, randperm, tensor, zeros, zeros_like)
from .activation import dropout, elu, erf, gelu, leaky_relu, relu, sigmoid, silu, softplus
from .elementwise import (abs, absolute, add, allclose, cast, ceil, clamp, clip, cos, div, divide,
                          eq, equal, exp, expm1, floor, floor_divide, ge, greater, greater_equal,
                          gt, isfinite, isinf, isnan, le, less, less_equal, log, log1p,
                          logical_and, logical_not, logical_or, logical_xor, lt, maximum, minimum,
                          mul, nan_to_num, ne, neg, negative, not_equal, pow, remainder, round, rsqrt, sign,
                          sin, sqrt, square, sub, tanh, true_divide, trunc, where)
from .elementwise import equal_all as equal  # noqa: F811  torch.equal: same shape and values
from .indexing import (chunk, gather, getitem, index_add, index_select, masked_fill, masked_scatter,
                       narrow, nonzero, one_hot, pad, scatter, scatter_add, split, take_along_dim,
                       unbind, unfold)
from .inplace import clone, inplace, setitem
from .linalg import bmm, dot, einsum, matmul, mm, outer
from .linalg import torch_svd as svd  # torch.svd (U, S, V); gk.linalg.svd is linalg.svd
from .reduction import (all, amax, amin, any, argmax, argmin, cumsum, log_softmax, logsumexp, max,
                        histc, mean, min, norm, prod, softmax, std, sum, var)
from .shape import (broadcast_to, expand, flatten, flip, permute, reshape, squeeze, sum_to_shape,
                    roll, swapaxes, transpose, unsqueeze, view)
from .sorting import argsort, sort, topk
from .indexing import tril, triu
from .joining import (cat, concat, concatenate, meshgrid, repeat, repeat_interleave, stack,
                      tile)
