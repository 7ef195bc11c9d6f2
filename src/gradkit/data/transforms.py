"""Composable, vectorised transforms on batches of NumPy arrays.

Every transform here takes a **batch** ``x: (N, ...)`` and returns a batch; per-sample randomness
(crop offsets, flips, angles) is drawn as one array of N values, so a batch of 128 images costs a
few NumPy calls, not 128 Python iterations. A dataset applies its transform to whole batches on
the DataLoader's fast path and to a batch of one when indexed (``ds[i]``), so the two agree.

Random transforms take ``rng`` (a ``np.random.Generator``); the DataLoader passes one derived
from its seed, the epoch and the batch index, which makes augmentations reproducible and
resumable. Called without ``rng`` they draw from gradkit's global generator.

Images are channels-first like PyTorch: ``(N, C, H, W)`` or ``(N, H, W)``; pass
``channels_last=True`` for ``(N, H, W, C)`` (the Keras layout).

    Compose                 chain transforms
    ToFloat                 uint8 [0, 255] -> float32 [0, 1]
    Normalize               (x - mean) / std, per channel
    Standardize             per-feature mean/std fitted on the training split only
    RandomCrop              pad then crop at a random offset
    RandomHorizontalFlip    mirror left-right with probability p
    RandomRotation          rotate by a small random angle (bilinear)
    OneHot                  class indices (N,) -> (N, num_classes)
"""
import numpy as np

from .checks import check_labels
from ._random import global_generator

__all__ = [
    "Transform", "Compose", "ToFloat", "Normalize", "Standardize", "RandomCrop",
    "RandomHorizontalFlip", "RandomRotation", "OneHot", "apply_transform",
]


class Transform:
    """Base class: ``__call__(x, rng=None)`` maps a batch ``(N, ...)`` to a batch."""

    def __call__(self, x, rng=None):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(self, x, rng=None)")

    def extra_repr(self):
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"


def apply_transform(transform, x, rng=None):
    """Call ``transform`` on batch ``x``; gradkit transforms also get ``rng``, plain callables do not."""
    if isinstance(transform, Transform):
        return transform(x, rng)
    return transform(x)


def _rng(rng):
    return global_generator() if rng is None else rng


def _float_dtype(x):
    # float inputs keep their precision; integer images become float32 (the default float dtype)
    return x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)


# === Compose / ToFloat / Normalize / Standardize / OneHot ==========================================

class Compose(Transform):
    """Apply ``transforms`` in order, passing the same ``rng`` along.

    >>> t = Compose([ToFloat(), Normalize(0.2860, 0.3530)])
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for i, t in enumerate(self.transforms):
            if not callable(t):
                raise TypeError(f"Compose: transforms[{i}] is {type(t).__name__}, which is not callable")

    def __call__(self, x, rng=None):
        for t in self.transforms:
            x = apply_transform(t, x, rng)
        return x

    def __repr__(self):
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class ToFloat(Transform):
    """Cast to float32 and scale: ``y = x * scale``.

    ``scale`` defaults to ``1/255`` for uint8 input (pixels to [0, 1], computed as ``x / 255``:
    the same float32 numbers as torchvision's ``ToTensor``) and to ``1`` for anything else.
    """

    def __init__(self, scale=None, dtype=np.float32):
        self.scale, self.dtype = scale, np.dtype(dtype)

    def __call__(self, x, rng=None):
        x = np.asarray(x)
        y = x.astype(self.dtype)
        if self.scale is None and x.dtype == np.uint8:
            # x / 255 as torchvision's ToTensor computes it: x * (1/255) differs from it in the
            # last bit for half of the 256 values
            y /= self.dtype.type(255)
        elif self.scale is not None and self.scale != 1:
            y *= self.dtype.type(self.scale)
        return y

    def extra_repr(self):
        return f"scale={self.scale}, dtype={self.dtype}"


class Normalize(Transform):
    """``y = (x - mean) / std`` with one mean/std per channel (or one scalar for all values).

    ``mean``, ``std``: scalars or sequences of length C; ``dim``: the channel axis of the batch,
    ``1`` for ``(N, C, H, W)`` (default), ``-1`` for channels-last. Integer input is cast to
    float32 first (without the 1/255 scaling of ``ToFloat``).
    """

    def __init__(self, mean, std, dim=1):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        self.dim = dim
        if self.mean.ndim > 1 or self.std.ndim > 1:
            raise ValueError(f"Normalize: mean and std must be scalars or 1-D; got shapes {self.mean.shape}, {self.std.shape}")
        if (self.std == 0).any():
            raise ValueError(f"Normalize: std has a zero entry ({self.std.tolist()}); dividing by it gives inf")
        if self.mean.ndim == 1 and self.std.ndim == 1 and self.mean.shape != self.std.shape:
            raise ValueError(f"Normalize: mean has {self.mean.size} channels but std has {self.std.size}")
        self._cache = {}

    def _params(self, dtype, shape):
        """mean and std shaped to broadcast against a batch of ``shape``, in ``dtype`` (cached)."""
        if self.mean.ndim == 0 and self.std.ndim == 0:
            return dtype.type(self.mean), dtype.type(self.std)
        channels = max(self.mean.size, self.std.size)
        if len(shape) < 2 or shape[self.dim] != channels:
            got = shape[self.dim] if len(shape) >= 2 else None
            raise ValueError(
                f"Normalize: mean/std have {channels} channels but the batch has {got} at dim "
                f"{self.dim} (shape {shape}); the batch must be (N, C, ...) with C = {channels}, "
                f"or pass dim=-1 for channels-last images"
            )
        key = (dtype, len(shape))
        if key not in self._cache:
            bshape = [1] * len(shape)
            bshape[self.dim] = channels
            mean = np.broadcast_to(self.mean, (channels,)).reshape(bshape).astype(dtype)
            std = np.broadcast_to(self.std, (channels,)).reshape(bshape).astype(dtype)
            self._cache[key] = mean, std
        return self._cache[key]

    def __call__(self, x, rng=None):
        x = np.asarray(x)
        dtype = _float_dtype(x)
        mean, std = self._params(dtype, x.shape)
        y = x.astype(dtype)  # a copy: the caller's batch is never modified
        y -= mean
        y /= std  # a division, not * (1/std): the same float32 numbers as torchvision's Normalize
        return y

    def extra_repr(self):
        return f"mean={self.mean.tolist()}, std={self.std.tolist()}, dim={self.dim}"


class Standardize(Transform):
    """Per-feature ``y = (x - mean) / std`` with mean and std fitted on the training split.

    Fit on the training data only (``Standardize().fit(x_train)``), then apply the same statistics
    to validation and test: fitting on all data leaks the test set into training. Statistics are
    over axis 0 (samples), population std (ddof=0, as scikit-learn's ``StandardScaler``); a
    feature with std 0 is divided by 1. Float64 input stays float64, everything else becomes float32.
    """

    def __init__(self):
        self.mean = self.std = None

    def fit(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim < 1 or x.shape[0] < 1:
            raise ValueError(f"Standardize.fit: need at least one sample; got shape {x.shape}")
        self.mean = x.mean(axis=0)
        std = x.std(axis=0)
        self.std = np.where(std == 0, 1.0, std)
        return self

    def fit_transform(self, x):
        return self.fit(x)(x)

    def _check(self, x, where):
        if self.mean is None:
            raise RuntimeError(f"Standardize.{where}: not fitted; call .fit(x_train) on the training split first")
        if x.shape[1:] != self.mean.shape:
            raise ValueError(
                f"Standardize.{where}: fitted on samples of shape {self.mean.shape}; got a batch of "
                f"shape {x.shape} (samples {x.shape[1:]})"
            )

    def __call__(self, x, rng=None):
        x = np.asarray(x)
        self._check(x, "__call__")
        dtype = _float_dtype(x)
        return ((x - self.mean) / self.std).astype(dtype, copy=False)

    def inverse(self, y):
        """Undo the transform: ``x = y * std + mean``."""
        y = np.asarray(y)
        self._check(y, "inverse")
        return (y * self.std + self.mean).astype(_float_dtype(y), copy=False)

    def state_dict(self):
        """The fitted statistics as plain lists (JSON-able)."""
        return {"mean": None if self.mean is None else self.mean.tolist(),
                "std": None if self.std is None else self.std.tolist()}

    def load_state_dict(self, state):
        self.mean = None if state["mean"] is None else np.asarray(state["mean"], dtype=np.float64)
        self.std = None if state["std"] is None else np.asarray(state["std"], dtype=np.float64)

    def extra_repr(self):
        return "unfitted" if self.mean is None else f"features={self.mean.shape}"


class OneHot(Transform):
    """Class indices ``(N,)`` -> one-hot ``(N, num_classes)`` of ``dtype`` (float32 by default).

    Labels outside ``[0, num_classes)`` raise ``ValueError`` naming the first bad index.
    """

    def __init__(self, num_classes, dtype=np.float32):
        self.num_classes, self.dtype = int(num_classes), np.dtype(dtype)

    def __call__(self, y, rng=None):
        y = np.asarray(y)
        check_labels(y, self.num_classes, name="OneHot")
        return np.eye(self.num_classes, dtype=self.dtype)[y.astype(np.intp)]

    def extra_repr(self):
        return f"num_classes={self.num_classes}"


# === RandomCrop / RandomHorizontalFlip / RandomRotation ============================================

def _as_nkhw(x, channels_last, name):
    """View batch ``x`` as (N, K, H, W); returns it and a function that restores the layout."""
    x = np.asarray(x)
    if x.ndim == 3:
        return x[:, None], lambda y: y[:, 0]
    if x.ndim == 4 and channels_last:
        return x.transpose(0, 3, 1, 2), lambda y: y.transpose(0, 2, 3, 1)
    if x.ndim == 4:
        return x, lambda y: y
    raise ValueError(
        f"{name}: expected a batch of images (N, H, W) or (N, C, H, W)"
        f"{' / (N, H, W, C)' if channels_last else ''}; got shape {x.shape}. Flat images "
        f"such as (N, 784) must be reshaped first, e.g. x.reshape(-1, 1, 28, 28)"
    )


def _pair(v, name, what):
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    if len(v) != 2:
        raise ValueError(f"{name}: {what} must be an int or a pair (h, w); got {v!r}")
    return int(v[0]), int(v[1])


class RandomCrop(Transform):
    """Pad each image by ``padding`` then crop a ``size`` window at a random offset.

    ``size``: int or (h, w); ``padding``: int or (ph, pw), added on both sides;
    ``padding_mode``: ``"constant"`` (with ``fill``), ``"edge"`` or ``"reflect"``.
    The CIFAR recipe is ``RandomCrop(32, padding=4)``.
    """

    def __init__(self, size, padding=0, fill=0, padding_mode="constant", channels_last=False):
        self.size = _pair(size, "RandomCrop", "size")
        self.padding = _pair(padding, "RandomCrop", "padding")
        if padding_mode not in ("constant", "edge", "reflect"):
            raise ValueError(f"RandomCrop: padding_mode must be 'constant', 'edge' or 'reflect'; got {padding_mode!r}")
        self.fill, self.padding_mode, self.channels_last = fill, padding_mode, channels_last

    def __call__(self, x, rng=None):
        x4, restore = _as_nkhw(x, self.channels_last, "RandomCrop")
        n, _, H, W = x4.shape
        (h, w), (ph, pw) = self.size, self.padding
        if ph or pw:
            pad = ((0, 0), (0, 0), (ph, ph), (pw, pw))
            kw = {"constant_values": self.fill} if self.padding_mode == "constant" else {}
            x4 = np.pad(x4, pad, mode=self.padding_mode, **kw)
        Hp, Wp = H + 2 * ph, W + 2 * pw
        if h > Hp or w > Wp:
            raise ValueError(f"RandomCrop: crop size ({h}, {w}) is larger than the padded image ({Hp}, {Wp})")
        rng = _rng(rng)
        oy = rng.integers(0, Hp - h + 1, size=n)
        ox = rng.integers(0, Wp - w + 1, size=n)
        windows = np.lib.stride_tricks.sliding_window_view(x4, (h, w), axis=(2, 3))  # (N, K, Hp-h+1, Wp-w+1, h, w)
        return restore(windows[np.arange(n), :, oy, ox])  # advanced indices around a slice: (N, K, h, w)

    def extra_repr(self):
        return f"size={self.size}, padding={self.padding}, padding_mode={self.padding_mode!r}"


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p`` (default 0.5)."""

    def __init__(self, p=0.5, channels_last=False):
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1]; got {p}")
        self.p, self.channels_last = p, channels_last

    def __call__(self, x, rng=None):
        x = np.asarray(x)
        _as_nkhw(x, self.channels_last, "RandomHorizontalFlip")  # shape check only
        flip = _rng(rng).random(x.shape[0]) < self.p
        out = x.copy()
        out[flip] = np.flip(x[flip], axis=-2 if self.channels_last and x.ndim == 4 else -1)
        return out

    def extra_repr(self):
        return f"p={self.p}"


class RandomRotation(Transform):
    """Rotate each image about its centre by an angle drawn uniformly from ``degrees``.

    ``degrees``: d for [-d, d], or (lo, hi); positive is counter-clockwise, as torchvision.
    Bilinear sampling; pixels that come from outside the image get ``fill``. Integer images are
    rounded back to their dtype.
    """

    def __init__(self, degrees, fill=0, channels_last=False):
        lo, hi = (-abs(degrees), abs(degrees)) if np.isscalar(degrees) else degrees
        if lo > hi:
            raise ValueError(f"RandomRotation: degrees range ({lo}, {hi}) is empty")
        self.degrees, self.fill, self.channels_last = (float(lo), float(hi)), fill, channels_last

    def __call__(self, x, rng=None):
        x4, restore = _as_nkhw(x, self.channels_last, "RandomRotation")
        n, k, H, W = x4.shape
        theta = np.deg2rad(_rng(rng).uniform(*self.degrees, size=n)).astype(np.float32)
        cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
        dy = np.arange(H, dtype=np.float32)[:, None] - (H - 1) / 2
        dx = np.arange(W, dtype=np.float32)[None, :] - (W - 1) / 2
        # output pixel (dy, dx) reads the input at the inverse rotation of its offset from the centre
        # (y points down, so a counter-clockwise turn by theta reads from R(-theta) in y-up terms)
        sx = cos * dx - sin * dy + (W - 1) / 2  # (N, H, W)
        sy = sin * dx + cos * dy + (H - 1) / 2
        x0, y0 = np.floor(sx).astype(np.intp), np.floor(sy).astype(np.intp)
        wx, wy = (sx - x0)[..., None], (sy - y0)[..., None]
        img = x4.transpose(0, 2, 3, 1)  # (N, H, W, K): a gather then leaves K last
        nidx = np.arange(n)[:, None, None]
        dtype = _float_dtype(x4)

        def corner(yy, xx):
            inside = (yy >= 0) & (yy < H) & (xx >= 0) & (xx < W)
            v = img[nidx, np.clip(yy, 0, H - 1), np.clip(xx, 0, W - 1)].astype(dtype)
            return np.where(inside[..., None], v, dtype.type(self.fill))

        out = ((1 - wy) * ((1 - wx) * corner(y0, x0) + wx * corner(y0, x0 + 1))
               + wy * ((1 - wx) * corner(y0 + 1, x0) + wx * corner(y0 + 1, x0 + 1)))
        if x4.dtype.kind in "iub":
            info = np.iinfo(x4.dtype) if x4.dtype.kind != "b" else None
            out = np.rint(out)
            out = np.clip(out, info.min, info.max) if info else out > 0.5
        return restore(out.astype(x4.dtype, copy=False).transpose(0, 3, 1, 2))

    def extra_repr(self):
        return f"degrees={self.degrees}, fill={self.fill}"
