"""torchvision's transform classes. Each keeps its arguments, draws its random parameters from
gradkit's global generator (``get_params``, torchvision's static methods) and calls
``functional`` for the pixels.

    Compose  Lambda  RandomApply  RandomChoice                         combining
    ToTensor  ToPILImage  ConvertImageDtype  Normalize                 conversion
    Resize  CenterCrop  Pad  RandomCrop  RandomResizedCrop
    RandomHorizontalFlip  RandomVerticalFlip  RandomRotation           geometry
    Grayscale  RandomGrayscale  ColorJitter  GaussianBlur  RandomErasing   colour and noise
"""
import math
import numbers
import warnings

import numpy as np

from ... import _internal
from ...random import get_generator
from . import functional as F
from .functional import InterpolationMode

__all__ = ["Compose", "ToTensor", "ToPILImage", "ConvertImageDtype", "Normalize", "Resize",
           "CenterCrop", "Pad", "Lambda", "RandomApply", "RandomChoice", "RandomCrop",
           "RandomHorizontalFlip", "RandomVerticalFlip", "RandomResizedCrop", "ColorJitter",
           "RandomRotation", "Grayscale", "RandomGrayscale", "RandomErasing", "GaussianBlur",
           "InterpolationMode"]


def _rng():
    # looked up on every draw: gradkit.manual_seed replaces the generator
    return get_generator()


def _interpolation(mode, name, supported=F.RESIZE_MODES):
    """``mode`` (an InterpolationMode, Pillow's integer constant or the name) as an
    InterpolationMode; one that ``functional`` does not compute raises here."""
    return InterpolationMode(F._interpolation(mode, name, supported))


class _Transform:
    """What torchvision's transforms (``nn.Module`` s there) share: ``t(img)`` is ``t.forward(img)``."""

    def __call__(self, img):
        return self.forward(img)


# === Compose / Lambda / RandomApply / RandomChoice ==============================================
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


class RandomApply(_Transform):
    """Apply all of ``transforms``, in order, with probability ``p`` (default 0.5), else none."""

    def __init__(self, transforms, p=0.5):
        self.transforms, self.p = transforms, p

    def forward(self, img):
        if self.p < _rng().random():
            return img
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        return (f"{type(self).__name__}(\n    p={self.p}"
                + "".join(f"\n    {t}" for t in self.transforms) + "\n)")


class RandomChoice:
    """Apply one of ``transforms``, picked with the weights ``p`` (default: equal)."""

    def __init__(self, transforms, p=None):
        if not isinstance(transforms, (list, tuple)):
            raise TypeError("RandomChoice: argument transforms should be a sequence")
        if p is not None and (not isinstance(p, (list, tuple)) or len(p) != len(transforms)):
            raise TypeError(f"RandomChoice: p should be a sequence of {len(transforms)} weights; "
                            f"got {p!r}")
        self.transforms, self.p = transforms, p

    def __call__(self, *args):
        weights = None if self.p is None else np.asarray(self.p, np.float64) / np.sum(self.p)
        return self.transforms[int(_rng().choice(len(self.transforms), p=weights))](*args)

    def __repr__(self):
        return (type(self).__name__ + "(" + "".join(f"\n    {t}" for t in self.transforms)
                + f"\n)(p={self.p})")


# === ToTensor / ToPILImage / ConvertImageDtype / Normalize =======================================
class ToTensor:
    """An image in PIL's layout -> a float tensor ``(C, H, W)``.

    uint8 ``(H, W)`` or ``(H, W, C)`` (a dataset's item, a NumPy array or a PIL image) becomes
    float32 (the default dtype) ``(C, H, W)`` with ``y = x / 255``, in [0, 1]. Other NumPy arrays
    are only moved to channels-first, their values and dtype kept, as torchvision does (a float64
    array stays float64 and is not scaled). A float Tensor is refused, as torchvision refuses a
    tensor: it is already a tensor image.
    """

    def __call__(self, pic):
        return F.to_tensor(pic)

    def __repr__(self):
        return f"{type(self).__name__}()"


class ToPILImage:
    """A tensor image (C, H, W) or an array (H, W[, C]) -> a PIL image; needs Pillow, which
    gradkit does not depend on (constructing one without it raises ImportError)."""

    def __init__(self, mode=None):
        F._pil_image_module("ToPILImage")
        self.mode = mode

    def __call__(self, pic):
        return F.to_pil_image(pic, self.mode)

    def __repr__(self):
        return f"{type(self).__name__}(" + ("" if self.mode is None else f"mode={self.mode}") + ")"


class ConvertImageDtype(_Transform):
    """Convert a Tensor to ``dtype`` and scale: uint8 [0, 255] <-> float [0, 1] (see
    ``functional.convert_image_dtype``)."""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, image):
        return F.convert_image_dtype(image, self.dtype)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Normalize(_Transform):
    """``y = (x - mean) / std`` per channel, on a float tensor image ``(..., C, H, W)``.

    ``mean``, ``std``: sequences of length C (or of length 1 for every channel). The result is a
    new tensor (``inplace=True`` writes it into the input instead). The MNIST recipe is
    ``Normalize((0.1307,), (0.3081,))``, after ``ToTensor()``.
    """

    def __init__(self, mean, std, inplace=False):
        self._normalizer = F._normalizer(mean, std)   # malformed statistics fail here
        self.mean, self.std, self.inplace = mean, std, inplace

    def forward(self, tensor):
        return F._normalize(tensor, *self._normalizer, self.inplace)

    def __repr__(self):
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


# === Resize / CenterCrop / Pad ===================================================================
class Resize(_Transform):
    """Resize to ``size``: (h, w), or an int for the shorter side keeping the aspect ratio
    (``int(size * long / short)`` for the other, capped by ``max_size``). ``interpolation``:
    BILINEAR (default), NEAREST, NEAREST_EXACT or BICUBIC; ``antialias`` (default True) filters
    as Pillow does when shrinking. See ``functional.resize``.

    >>> Resize(224)(x).shape           # x (3, 300, 400) -> (3, 224, 298)
    """

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
        if not isinstance(size, (numbers.Integral, list, tuple)):
            raise TypeError(f"Resize: size should be int or sequence; got {type(size).__name__}")
        if isinstance(size, (list, tuple)) and len(size) not in (1, 2):
            raise ValueError(f"Resize: if size is a sequence, it should have 1 or 2 values; got {size!r}")
        sizes = [size] if isinstance(size, numbers.Integral) else size
        if any(not isinstance(s, numbers.Integral) or s <= 0 for s in sizes):
            raise ValueError(f"Resize: size must be positive integers; got {size!r}")
        self.size, self.max_size, self.antialias = size, max_size, antialias
        self.interpolation = _interpolation(interpolation, "Resize")

    def forward(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self):
        return (f"{type(self).__name__}(size={self.size}, interpolation={self.interpolation.value}, "
                f"max_size={self.max_size}, antialias={self.antialias})")


class CenterCrop(_Transform):
    """Crop the central ``size`` window (int or (h, w)); an image smaller than ``size`` is padded
    with zeros first. The window's top-left corner is ``round((H - h) / 2), round((W - w) / 2)``
    (Python's round, as torchvision)."""

    def __init__(self, size):
        self.size = F._size_hw(size, "CenterCrop")

    def forward(self, img):
        return F.center_crop(img, self.size)

    def __repr__(self):
        return f"{type(self).__name__}(size={self.size})"


def _check_padding_mode(padding_mode, name):
    if padding_mode not in F.PAD_MODES:
        raise ValueError(f"{name}: padding_mode should be one of {', '.join(F.PAD_MODES)}; got "
                         f"{padding_mode!r}")


def _check_fill(fill, name):
    if fill is not None and not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError(f"{name}: fill must be a number (or, for an image in PIL's layout, one "
                        f"value per channel); got {fill!r}")


class Pad(_Transform):
    """Pad the borders by ``padding`` (int, (left/right, top/bottom) or (left, top, right,
    bottom)) with ``padding_mode`` "constant" (``fill``), "edge", "reflect" or "symmetric"."""

    def __init__(self, padding, fill=0, padding_mode="constant"):
        F._ltrb(padding, "Pad")
        _check_fill(fill, "Pad")
        _check_padding_mode(padding_mode, "Pad")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def forward(self, img):
        return F.pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self):
        return (f"{type(self).__name__}(padding={self.padding}, fill={self.fill}, "
                f"padding_mode={self.padding_mode})")


# === RandomCrop / RandomResizedCrop / flips / RandomRotation =====================================
class RandomCrop(_Transform):
    """Pad by ``padding``, then crop a ``size`` window at a random offset.

    ``size``: int or (h, w); ``padding``: int, (left/right, top/bottom) or (left, top, right,
    bottom); ``pad_if_needed``: pad an image smaller than ``size`` up to it; ``fill``: the value of
    constant padding; ``padding_mode``: "constant", "edge", "reflect" or "symmetric". The CIFAR
    recipe is ``RandomCrop(32, padding=4)``.
    """

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = F._size_hw(size, "RandomCrop")
        if padding is not None:
            F._ltrb(padding, "RandomCrop")
        _check_padding_mode(padding_mode, "RandomCrop")
        _check_fill(fill, "RandomCrop")
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    @staticmethod
    def get_params(img, output_size):
        """``(top, left, h, w)`` of a uniformly placed ``output_size`` window."""
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than input "
                             f"image size {(h, w)}")
        if (h, w) == (th, tw):
            return 0, 0, h, w
        return int(_rng().integers(0, h - th + 1)), int(_rng().integers(0, w - tw + 1)), th, tw

    def forward(self, img):
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, h, w = F.get_dimensions(img)
        th, tw = self.size
        if self.pad_if_needed and w < tw:   # torchvision's order: the width first, both sides
            img = F.pad(img, [tw - w, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and h < th:
            img = F.pad(img, [0, th - h], self.fill, self.padding_mode)
        _, h, w = F.get_dimensions(img)
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: crop size {(th, tw)} is larger than the padded image "
                             f"{(h, w)}; pass pad_if_needed=True or a larger padding")
        return F.crop(img, *self.get_params(img, self.size))

    def __repr__(self):
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class RandomResizedCrop(_Transform):
    """Crop a random window (area ``scale`` of the image's, aspect ratio ``ratio``, log-uniform)
    and resize it to ``size``: the Inception / ImageNet training crop.

    Defaults: ``scale=(0.08, 1.0)``, ``ratio=(3/4, 4/3)``, BILINEAR, ``antialias=True``.
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        self.size = F._size_hw(size, "RandomResizedCrop")
        if not isinstance(scale, (list, tuple)) or not isinstance(ratio, (list, tuple)):
            raise TypeError(f"RandomResizedCrop: scale and ratio should be sequences (min, max); "
                            f"got {scale!r}, {ratio!r}")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("RandomResizedCrop: scale and ratio should be of kind (min, max)")
        self.interpolation = _interpolation(interpolation, "RandomResizedCrop")
        self.antialias, self.scale, self.ratio = antialias, scale, ratio

    @staticmethod
    def get_params(img, scale, ratio):
        """``(top, left, h, w)``: up to 10 draws of an area fraction in ``scale`` and a
        log-uniform aspect ratio in ``ratio``, the first window that fits; else the central crop
        of the ratio closest to the image's."""
        _, height, width = F.get_dimensions(img)
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * _rng().uniform(scale[0], scale[1])
            aspect_ratio = math.exp(_rng().uniform(*log_ratio))
            w = int(round(math.sqrt(target_area * aspect_ratio)))
            h = int(round(math.sqrt(target_area / aspect_ratio)))
            if 0 < w <= width and 0 < h <= height:
                return int(_rng().integers(0, height - h + 1)), int(_rng().integers(0, width - w + 1)), h, w
        in_ratio = width / height
        if in_ratio < min(ratio):
            w, h = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            h, w = height, int(round(height * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def forward(self, img):
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, self.size, self.interpolation, antialias=self.antialias)

    def __repr__(self):
        return (f"{type(self).__name__}(size={self.size}, scale={tuple(round(s, 4) for s in self.scale)}, "
                f"ratio={tuple(round(r, 4) for r in self.ratio)}, "
                f"interpolation={self.interpolation.value}, antialias={self.antialias})")


class RandomHorizontalFlip(_Transform):
    """Mirror the image left-right with probability ``p``. Defaults to ``0.5``."""

    def __init__(self, p=0.5):
        self.p = p

    def forward(self, img):
        return F.hflip(img) if _rng().random() < self.p else img

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p})"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror the image top-bottom with probability ``p``. Defaults to ``0.5``."""

    def forward(self, img):
        return F.vflip(img) if _rng().random() < self.p else img


class RandomRotation(_Transform):
    """Rotate by an angle drawn uniformly from ``degrees`` (d: [-d, d], or (min, max)),
    counter-clockwise. ``interpolation``: NEAREST (default) or BILINEAR; ``expand``, ``center``,
    ``fill`` (default 0) as in ``functional.rotate``."""

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False, center=None,
                 fill=0):
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError(f"RandomRotation: if degrees is a single number, it must be "
                                 f"positive; got {degrees}")
            degrees = [-degrees, degrees]
        elif not isinstance(degrees, (list, tuple)) or len(degrees) != 2:
            raise ValueError(f"RandomRotation: degrees should be a number or a sequence of length "
                             f"2; got {degrees!r}")
        if center is not None and (not isinstance(center, (list, tuple)) or len(center) != 2):
            raise ValueError(f"RandomRotation: center should be a sequence of length 2; got {center!r}")
        _check_fill(fill, "RandomRotation")
        self.degrees = [float(d) for d in degrees]
        self.interpolation = _interpolation(interpolation, "RandomRotation", ("nearest", "bilinear"))
        self.expand, self.center, self.fill = expand, center, 0 if fill is None else fill

    @staticmethod
    def get_params(degrees):
        """An angle drawn uniformly from [degrees[0], degrees[1]]."""
        return float(_rng().uniform(float(degrees[0]), float(degrees[1])))

    def forward(self, img):
        channels = F.get_dimensions(img)[0]
        fill = ([float(self.fill)] * channels if isinstance(self.fill, numbers.Number)
                else [float(f) for f in self.fill])
        angle = self.get_params(self.degrees)
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, fill)

    def __repr__(self):
        return (f"{type(self).__name__}(degrees={self.degrees}, interpolation="
                f"{self.interpolation.value}, expand={self.expand}"
                + ("" if self.center is None else f", center={self.center}") + f", fill={self.fill})")


# === Grayscale / RandomGrayscale / ColorJitter / GaussianBlur / RandomErasing ====================
class Grayscale(_Transform):
    """To grey, ``0.2989 R + 0.587 G + 0.114 B``, in ``num_output_channels`` (1 or 3) channels."""

    def __init__(self, num_output_channels=1):
        self.num_output_channels = num_output_channels

    def forward(self, img):
        return F.rgb_to_grayscale(img, num_output_channels=self.num_output_channels)

    def __repr__(self):
        return f"{type(self).__name__}(num_output_channels={self.num_output_channels})"


class RandomGrayscale(_Transform):
    """To grey with probability ``p`` (default 0.1), keeping the number of channels."""

    def __init__(self, p=0.1):
        self.p = p

    def forward(self, img):
        channels = F.get_dimensions(img)[0]
        if _rng().random() < self.p:
            return F.rgb_to_grayscale(img, num_output_channels=channels)
        return img

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p})"


class ColorJitter(_Transform):
    """Change brightness, contrast, saturation and hue by random factors, in a random order.

    Each of ``brightness``, ``contrast``, ``saturation``: v for a factor in [max(0, 1 - v), 1 + v],
    or (min, max); ``hue``: v for a shift in [-v, v] (v <= 0.5), or (min, max). 0 leaves it out.
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = self._check_input(brightness, "brightness")
        self.contrast = self._check_input(contrast, "contrast")
        self.saturation = self._check_input(saturation, "saturation")
        self.hue = self._check_input(hue, "hue", center=0, bound=(-0.5, 0.5), clip_first_on_zero=False)

    @staticmethod
    def _check_input(value, name, center=1, bound=(0, float("inf")), clip_first_on_zero=True):
        if isinstance(value, numbers.Number):
            if value < 0:
                raise ValueError(f"ColorJitter: if {name} is a single number, it must be non "
                                 f"negative; got {value}")
            value = [center - float(value), center + float(value)]
            if clip_first_on_zero:
                value[0] = max(value[0], 0.0)
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            value = [float(value[0]), float(value[1])]
        else:
            raise TypeError(f"ColorJitter: {name} should be a single number or a list/tuple with "
                            f"length 2; got {value!r}")
        if not bound[0] <= value[0] <= value[1] <= bound[1]:
            raise ValueError(f"ColorJitter: {name} values should be between {bound}, but got {value}.")
        return None if value[0] == value[1] == center else tuple(value)

    @staticmethod
    def get_params(brightness, contrast, saturation, hue):
        """``(fn_idx, b, c, s, h)``: the order of the four adjustments (a permutation of 0..3, as
        a Tensor) and a factor drawn uniformly from each range (None where the range is None)."""
        fn_idx = _internal.wrap(_rng().permutation(4))
        b, c, s, h = (None if r is None else float(_rng().uniform(r[0], r[1]))
                      for r in (brightness, contrast, saturation, hue))
        return fn_idx, b, c, s, h

    def forward(self, img):
        fn_idx, b, c, s, h = self.get_params(self.brightness, self.contrast, self.saturation, self.hue)
        for fn_id in fn_idx.tolist():
            if fn_id == 0 and b is not None:
                img = F.adjust_brightness(img, b)
            elif fn_id == 1 and c is not None:
                img = F.adjust_contrast(img, c)
            elif fn_id == 2 and s is not None:
                img = F.adjust_saturation(img, s)
            elif fn_id == 3 and h is not None:
                img = F.adjust_hue(img, h)
        return img

    def __repr__(self):
        return (f"{type(self).__name__}(brightness={self.brightness}, contrast={self.contrast}, "
                f"saturation={self.saturation}, hue={self.hue})")


class GaussianBlur(_Transform):
    """Blur with a Gaussian of ``kernel_size`` (odd) and a sigma drawn uniformly from ``sigma``
    ((min, max), default (0.1, 2.0); a number for a fixed one)."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        self.kernel_size = F._size_hw(kernel_size, "GaussianBlur")
        if any(k <= 0 or k % 2 == 0 for k in self.kernel_size):
            raise ValueError(f"GaussianBlur: kernel size value should be an odd and positive "
                             f"number; got {kernel_size!r}")
        if isinstance(sigma, numbers.Number):
            if sigma <= 0:
                raise ValueError(f"GaussianBlur: if sigma is a single number, it must be positive; "
                                 f"got {sigma}")
            sigma = (sigma, sigma)
        elif not (isinstance(sigma, (list, tuple)) and len(sigma) == 2 and 0.0 < sigma[0] <= sigma[1]):
            raise ValueError(f"GaussianBlur: sigma should be a positive number or a (min, max) "
                             f"pair with 0 < min <= max; got {sigma!r}")
        self.sigma = sigma

    @staticmethod
    def get_params(sigma_min, sigma_max):
        return float(_rng().uniform(sigma_min, sigma_max))

    def forward(self, img):
        sigma = self.get_params(self.sigma[0], self.sigma[1])
        return F.gaussian_blur(img, list(self.kernel_size), [sigma, sigma])

    def __repr__(self):
        return f"{type(self).__name__}(kernel_size={self.kernel_size}, sigma={self.sigma})"


class RandomErasing(_Transform):
    """With probability ``p``, set a random rectangle of a tensor image to ``value`` (a number,
    one per channel, or "random" for standard normal noise): area ``scale`` of the image's,
    aspect ratio ``ratio`` (log-uniform). Zhong et al., 2017. Use it after ``ToTensor()``."""

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False):
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError(f"RandomErasing: value should be a number, 'random' or a sequence; got {value!r}")
        if isinstance(value, str) and value != "random":
            raise ValueError(f"RandomErasing: if value is a str, it should be 'random'; got {value!r}")
        if not isinstance(scale, (list, tuple)) or not isinstance(ratio, (list, tuple)):
            raise TypeError(f"RandomErasing: scale and ratio should be sequences; got {scale!r}, {ratio!r}")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("RandomErasing: scale and ratio should be of kind (min, max)")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError(f"RandomErasing: scale should be between 0 and 1; got {scale!r}")
        if not 0 <= p <= 1:
            raise ValueError(f"RandomErasing: probability p should be between 0 and 1; got {p}")
        self.p, self.scale, self.ratio, self.value, self.inplace = p, scale, ratio, value, inplace

    @staticmethod
    def get_params(img, scale, ratio, value=None):
        """``(i, j, h, w, v)``: up to 10 draws of a window that fits inside the image; ``v`` the
        values (standard normal noise (C, h, w) when ``value`` is None). None fits: the whole
        image and ``img`` itself, which leaves it unchanged."""
        c, img_h, img_w = F.get_dimensions(img)
        area = img_h * img_w
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            erase_area = area * _rng().uniform(scale[0], scale[1])
            aspect_ratio = math.exp(_rng().uniform(*log_ratio))
            h = int(round(math.sqrt(erase_area * aspect_ratio)))
            w = int(round(math.sqrt(erase_area / aspect_ratio)))
            if not (h < img_h and w < img_w):
                continue
            if value is None:
                v = _rng().standard_normal((c, h, w), dtype=np.float32)
            else:
                v = np.asarray(value, dtype=np.float32)[:, None, None]
            i, j = int(_rng().integers(0, img_h - h + 1)), int(_rng().integers(0, img_w - w + 1))
            return i, j, h, w, _internal.wrap(v)
        return 0, 0, img_h, img_w, img

    def forward(self, img):
        if not _rng().random() < self.p:
            return img
        if isinstance(self.value, numbers.Number):
            value = [float(self.value)]
        elif isinstance(self.value, str):
            value = None
        else:
            value = [float(v) for v in self.value]
        channels = F.get_dimensions(img)[0]
        if value is not None and len(value) not in (1, channels):
            raise ValueError(f"RandomErasing: if value is a sequence, it should have either a "
                             f"single value or {channels} (the number of input channels); got "
                             f"{len(value)}")
        i, j, h, w, v = self.get_params(img, scale=self.scale, ratio=self.ratio, value=value)
        return F.erase(img, i, j, h, w, v, self.inplace)

    def __repr__(self):
        return (f"{type(self).__name__}(p={self.p}, scale={self.scale}, ratio={self.ratio}, "
                f"value={self.value}, inplace={self.inplace})")
