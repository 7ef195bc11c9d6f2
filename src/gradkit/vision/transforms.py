"""``from gradkit.vision import transforms``: torchvision's per-sample transforms, by name.

Each transform takes one sample and returns one, as torchvision's do; the arithmetic is
``gradkit.data.transforms``' (which works on batches: a sample goes through as a batch of one).
Random transforms draw from gradkit's global generator, so ``gradkit.manual_seed`` fixes them.

    Compose                 chain transforms
    ToTensor                image -> float32 C x H x W in [0, 1]
    Normalize               (x - mean) / std per channel, on a C x H x W tensor
    Lambda                  any function
    RandomHorizontalFlip    mirror left-right with probability p
    RandomCrop              pad, then crop a window at a random offset
    CenterCrop              crop the central window

What an image is. gradkit does not depend on PIL. Where torchvision hands a transform a PIL
image, gradkit hands it what PIL would hold: a **uint8 Tensor in PIL's layout**, H x W (grey) or
H x W x C (colour). So the rule is by dtype: a uint8 Tensor is an image in PIL's layout (a NumPy
array or a PIL image is too), any other Tensor is a tensor image ``(..., C, H, W)`` as
``ToTensor`` makes it. Geometric transforms accept both, as torchvision's do, and keep the kind
(a PIL image comes back as a uint8 Tensor in PIL's layout). A uint8 Tensor whose last dimension
is not 1 to 4 channels looks channels-first and is refused with a message.

Not here: ``Resize`` and the other transforms that resample pixels (``RandomResizedCrop``,
``RandomRotation``, ``RandomAffine``, ...) and the colour ones. Their names exist and raise
NotImplementedError when constructed, naming what to use instead; see ``UNSUPPORTED``.
"""
import numbers

import numpy as np

from .. import _internal
from ..backend import get_default_dtype
from ..data import transforms as _batch
from ..tensor import Tensor

__all__ = ["Compose", "ToTensor", "Normalize", "Lambda", "RandomHorizontalFlip", "RandomCrop",
           "CenterCrop"]


# === what an image is ===========================================================================
def _is_pil_layout(img):
    """True for an image in PIL's layout: a uint8 Tensor, a NumPy array or a PIL image."""
    if isinstance(img, Tensor):
        return img.dtype == np.uint8
    return isinstance(img, np.ndarray) or hasattr(img, "__array_interface__")


def _pil_array(img, name):
    """An image in PIL's layout as an (H, W) or (H, W, C) array (no copy where possible)."""
    a = _internal.as_array(img)
    if a.ndim not in (2, 3):
        raise ValueError(f"{name}: an image in PIL's layout is H x W or H x W x C; got shape "
                         f"{a.shape}")
    if a.ndim == 3 and isinstance(img, Tensor) and a.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(
            f"{name}: a uint8 Tensor is an image in PIL's layout, H x W x C with C in (1, 2, 3, 4); "
            f"got shape {tuple(a.shape)}, which looks channels-first. Convert it with ToTensor() "
            f"first (or .to(gradkit.float32) / 255), or permute it to H x W x C")
    return a


def _as_pil_kind(array, like):
    """``array`` (PIL layout) in the kind of ``like``: a NumPy array stays one, else a Tensor."""
    if isinstance(like, np.ndarray):
        return array
    return _internal.wrap(np.ascontiguousarray(array))


def _tensor_array(img, name):
    a = _internal.as_array(img)
    if a.ndim < 2:
        raise ValueError(f"{name}: expected a tensor image of shape (..., C, H, W) or (H, W); got "
                         f"shape {tuple(a.shape)}")
    return a


def _one_image_batch(a, pil):
    """Image ``a`` as a batch of one for gradkit.data.transforms, and the way back.

    PIL layout (H, W) -> (1, H, W); (H, W, C) -> (1, H, W, C) with channels_last. A tensor image
    (..., H, W) -> (1, K, H, W), every leading dimension folded into K, so that one draw serves
    the whole image as in torchvision."""
    if pil:
        return a[None], True, lambda y: y[0]
    lead = a.shape[:-2]
    return a.reshape(1, -1, *a.shape[-2:]), False, lambda y: y.reshape(*lead, *y.shape[-2:])


# === Compose / Lambda =============================================================================
class Compose:
    """Apply ``transforms`` in order to one sample.

    Not a ``gradkit.data.transforms.Transform``: those map batches, these map one sample.

    >>> t = Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for i, t in enumerate(self.transforms):
            if not callable(t):
                raise TypeError(f"Compose: transforms[{i}] is {type(t).__name__}, which is not callable")

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        return type(self).__name__ + "(" + "".join(f"\n    {t}" for t in self.transforms) + "\n)"


class Lambda:
    """Apply a user function: ``Lambda(lambda x: x.view(-1))``."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return f"{type(self).__name__}()"


# === ToTensor / Normalize =========================================================================
class ToTensor:
    """An image in PIL's layout -> a float tensor ``(C, H, W)``.

    uint8 ``(H, W)`` or ``(H, W, C)`` (a dataset's item, a NumPy array or a PIL image) becomes
    float32 (the default dtype) ``(C, H, W)`` with ``y = x / 255``, in [0, 1]. Other NumPy arrays
    are only moved to channels-first, their values and dtype kept, as torchvision does (a float64
    array stays float64 and is not scaled). A float Tensor is refused, as torchvision refuses a
    tensor: it is already a tensor image.
    """

    def __call__(self, pic):
        if isinstance(pic, Tensor) and pic.dtype != np.uint8:
            raise TypeError(
                f"ToTensor: got a {pic.dtype} Tensor of shape {tuple(pic.shape)}; ToTensor converts "
                f"an image in PIL's layout (a uint8 Tensor H x W [x C] as the datasets give, a "
                f"NumPy array or a PIL image). This one is already a tensor image: drop ToTensor()")
        if not _is_pil_layout(pic):
            raise TypeError(f"ToTensor: pic should be an image (uint8 Tensor, NumPy array or PIL "
                            f"image); got {type(pic).__name__}")
        a = _pil_array(pic, "ToTensor")
        if a.dtype == np.bool_:  # PIL's mode "1": torchvision scales it as 0 / 255
            a = a.astype(np.uint8) * np.uint8(255)
        chw = (a[None] if a.ndim == 2 else a.transpose(2, 0, 1))
        if a.dtype == np.uint8:
            return _internal.wrap(_batch.ToFloat(dtype=get_default_dtype())(chw))
        return _internal.wrap(np.ascontiguousarray(chw))

    def __repr__(self):
        return f"{type(self).__name__}()"


class Normalize:
    """``y = (x - mean) / std`` per channel, on a float tensor image ``(..., C, H, W)``.

    ``mean``, ``std``: sequences of length C (or of length 1 for every channel). The result is a
    new tensor (``inplace=True`` writes it into the input instead). The MNIST recipe is
    ``Normalize((0.1307,), (0.3081,))``, after ``ToTensor()``.
    """

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace
        m, s = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
        if m.ndim > 1 or s.ndim > 1:
            raise ValueError(f"Normalize: mean and std must be numbers or sequences; got {mean!r}, {std!r}")
        # length-1 statistics apply to every channel, as torch's broadcasting does
        m, s = (m.reshape(()) if m.size == 1 else m), (s.reshape(()) if s.size == 1 else s)
        self._channels = max(m.size, s.size)
        self._normalize = _batch.Normalize(m, s, dim=-3)

    def __call__(self, tensor):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"Normalize: img should be a Tensor image; got {type(tensor).__name__}. "
                            f"Put ToTensor() before Normalize in the Compose")
        if tensor.dtype.kind != "f":
            raise TypeError(f"Normalize: input tensor should be a float tensor; got {tensor.dtype} "
                            f"(shape {tuple(tensor.shape)}). Put ToTensor() before Normalize, which "
                            f"turns a uint8 image into float32 in [0, 1]")
        x = _internal.as_array(tensor)
        if x.ndim < 3 or (self._channels > 1 and x.shape[-3] != self._channels):
            raise ValueError(
                f"Normalize: expected a tensor image of size (..., C, H, W) with C = "
                f"{self._channels} (the length of mean/std); got size {tuple(x.shape)}")
        y = self._normalize(x)
        if not self.inplace:
            return _internal.wrap(y)
        x[...] = y
        _internal.bump_version(tensor)
        return tensor

    def __repr__(self):
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


# === RandomHorizontalFlip / RandomCrop / CenterCrop ===============================================
class RandomHorizontalFlip:
    """Mirror the image left-right with probability ``p``. Defaults to ``0.5``."""

    def __init__(self, p=0.5):
        self.p = p
        # keyed by channels_last: (1, H, W, C) for PIL's layout, (1, K, H, W) for a tensor image
        self._flip = {c: _batch.RandomHorizontalFlip(p, channels_last=c) for c in (True, False)}

    def __call__(self, img):
        pil = _is_pil_layout(img)
        a = _pil_array(img, "RandomHorizontalFlip") if pil else _tensor_array(img, "RandomHorizontalFlip")
        batch, channels_last, back = _one_image_batch(a, pil)
        y = back(self._flip[channels_last](batch))
        return _as_pil_kind(y, img) if pil else _internal.wrap(y)

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p})"


def _size(size, name):
    """torchvision's size argument: an int (a square) or a sequence of 1 or 2 ints -> (h, w)."""
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, (tuple, list)) and len(size) == 1:
        return int(size[0]), int(size[0])
    if not isinstance(size, (tuple, list)) or len(size) != 2:
        raise ValueError(f"{name}: please provide only two dimensions (h, w) for size; got {size!r}")
    return int(size[0]), int(size[1])


def _ltrb(padding, name):
    """torchvision's padding argument -> (left, top, right, bottom)."""
    if isinstance(padding, numbers.Number):
        return (int(padding),) * 4
    if isinstance(padding, (tuple, list)) and len(padding) in (1, 2, 4):
        p = [int(v) for v in padding]
        return tuple(p * 4 if len(p) == 1 else p * 2 if len(p) == 2 else p)
    raise ValueError(f"{name}: padding must be an int or a sequence of 1, 2 or 4 ints "
                     f"(left, top, right, bottom); got {padding!r}")


_PAD_MODES = ("constant", "edge", "reflect", "symmetric")   # the same names in np.pad


def _pad(a, ltrb, fill, mode, pil):
    """Pad the image's H and W: (left, top, right, bottom), torchvision's order."""
    left, top, right, bottom = ltrb
    h_axis, w_axis = (0, 1) if pil else (a.ndim - 2, a.ndim - 1)
    widths = [(0, 0)] * a.ndim
    widths[h_axis], widths[w_axis] = (top, bottom), (left, right)
    kw = {"constant_values": fill} if mode == "constant" else {}
    return np.pad(a, widths, mode=mode, **kw)


class RandomCrop:
    """Pad by ``padding``, then crop a ``size`` window at a random offset.

    ``size``: int or (h, w); ``padding``: int, (left/right, top/bottom) or (left, top, right,
    bottom); ``pad_if_needed``: pad an image smaller than ``size`` up to it; ``fill``: the value of
    constant padding; ``padding_mode``: "constant", "edge", "reflect" or "symmetric". The CIFAR
    recipe is ``RandomCrop(32, padding=4)``.
    """

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = _size(size, "RandomCrop")
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode
        self._ltrb = None if padding is None else _ltrb(padding, "RandomCrop")
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"RandomCrop: padding_mode should be one of {', '.join(_PAD_MODES)}; "
                             f"got {padding_mode!r}")
        if not isinstance(fill, numbers.Number):
            raise TypeError(f"RandomCrop: fill must be a number (one value for every channel); "
                            f"got {fill!r}")
        self._crop = {c: _batch.RandomCrop(self.size, padding=0, channels_last=c) for c in (True, False)}

    def __call__(self, img):
        pil = _is_pil_layout(img)
        a = _pil_array(img, "RandomCrop") if pil else _tensor_array(img, "RandomCrop")
        if self._ltrb is not None:
            a = _pad(a, self._ltrb, self.fill, self.padding_mode, pil)
        h, w = a.shape[:2] if pil else a.shape[-2:]
        th, tw = self.size
        if self.pad_if_needed and w < tw:   # torchvision's order: the width first, both sides
            a = _pad(a, (tw - w, 0, tw - w, 0), self.fill, self.padding_mode, pil)
        if self.pad_if_needed and h < th:
            a = _pad(a, (0, th - h, 0, th - h), self.fill, self.padding_mode, pil)
        batch, channels_last, back = _one_image_batch(a, pil)
        y = back(self._crop[channels_last](batch))
        return _as_pil_kind(y, img) if pil else _internal.wrap(np.ascontiguousarray(y))

    def __repr__(self):
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class CenterCrop:
    """Crop the central ``size`` window (int or (h, w)); an image smaller than ``size`` is padded
    with zeros first. The window's top-left corner is ``round((H - h) / 2), round((W - w) / 2)``
    (Python's round, as torchvision)."""

    def __init__(self, size):
        self.size = _size(size, "CenterCrop")

    def __call__(self, img):
        pil = _is_pil_layout(img)
        a = _pil_array(img, "CenterCrop") if pil else _tensor_array(img, "CenterCrop")
        h, w = a.shape[:2] if pil else a.shape[-2:]
        th, tw = self.size
        if th > h or tw > w:
            ltrb = ((tw - w) // 2 if tw > w else 0, (th - h) // 2 if th > h else 0,
                    (tw - w + 1) // 2 if tw > w else 0, (th - h + 1) // 2 if th > h else 0)
            a = _pad(a, ltrb, 0, "constant", pil)
            h, w = a.shape[:2] if pil else a.shape[-2:]
        top, left = int(round((h - th) / 2.0)), int(round((w - tw) / 2.0))
        y = a[top:top + th, left:left + tw] if pil else a[..., top:top + th, left:left + tw]
        return _as_pil_kind(y, img) if pil else _internal.wrap(np.ascontiguousarray(y))

    def __repr__(self):
        return f"{type(self).__name__}(size={self.size})"


# === names torchvision has and this module does not ==============================================
_RESAMPLE = ("it resamples pixels (interpolation), which gradkit.vision does not implement "
             "exactly as torchvision; resize the images once beforehand (e.g. with Pillow: "
             "Image.resize((w, h), Image.BILINEAR)) and keep RandomCrop / CenterCrop / "
             "RandomHorizontalFlip in the pipeline")
UNSUPPORTED = {
    "Resize": _RESAMPLE,
    "RandomResizedCrop": _RESAMPLE,
    "RandomRotation": "its nearest-neighbour resampling is not implemented; "
                      "gradkit.data.transforms.RandomRotation rotates batches (bilinear)",
    "RandomAffine": _RESAMPLE,
    "RandomPerspective": _RESAMPLE,
    "ElasticTransform": _RESAMPLE,
    "FiveCrop": "use CenterCrop or RandomCrop",
    "TenCrop": "use CenterCrop or RandomCrop",
    "RandomVerticalFlip": "use Lambda(lambda x: x.flip(-2)) for a tensor image, or "
                          "RandomHorizontalFlip",
    "Pad": "use RandomCrop(size, padding=...) or Lambda with gradkit.nn.functional.pad",
    "ColorJitter": "colour transforms are not implemented; use Lambda for your own",
    "Grayscale": "use Lambda, e.g. Lambda(lambda x: x.mean(-3, keepdim=True)) on a tensor image",
    "RandomGrayscale": "colour transforms are not implemented; use Lambda for your own",
    "GaussianBlur": "use Lambda with gradkit.nn.functional.conv2d",
    "RandomErasing": "use Lambda for your own",
    "RandomApply": "use Lambda with gradkit.random",
    "RandomChoice": "use Lambda with gradkit.random",
    "RandomOrder": "use Compose",
    "AutoAugment": "use RandomCrop and RandomHorizontalFlip",
    "RandAugment": "use RandomCrop and RandomHorizontalFlip",
    "TrivialAugmentWide": "use RandomCrop and RandomHorizontalFlip",
    "AugMix": "use RandomCrop and RandomHorizontalFlip",
    "ToPILImage": "gradkit does not depend on PIL; an image in PIL's layout is a uint8 Tensor "
                  "(H x W [x C]); for a PIL image call PIL.Image.fromarray(t.numpy())",
    "PILToTensor": "use ToTensor (float32 in [0, 1]); a dataset's uint8 Tensor is already the "
                   "image in PIL's layout",
    "ConvertImageDtype": "use Lambda(lambda x: x.to(gradkit.float32) / 255) or ToTensor",
    "LinearTransformation": "use Lambda for your own",
}


def _unsupported(name, instead):
    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"transforms.{name} is not supported by gradkit.vision: {instead}")

    return type(name, (), {"__init__": __init__, "__doc__": f"Not supported: {instead}.",
                           "__module__": __name__})


globals().update({name: _unsupported(name, instead) for name, instead in UNSUPPORTED.items()})


def __getattr__(name):
    raise AttributeError(f"gradkit.vision.transforms has no {name!r}; it provides "
                         f"{', '.join(__all__)} (and names these raise NotImplementedError for: "
                         f"{', '.join(UNSUPPORTED)})")
