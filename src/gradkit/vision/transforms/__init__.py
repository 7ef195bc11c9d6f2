"""``from gradkit.vision import transforms``: torchvision's per-sample transforms, by name.

    from torchvision import transforms                  ->  from gradkit.vision import transforms
    import torchvision.transforms.functional as F       ->  import gradkit.vision.transforms.functional as F

Each transform takes one sample and returns one, as torchvision's do, with torchvision's names,
arguments, defaults and reprs. The classes (``transforms.py``) hold the arguments and draw the
random parameters from gradkit's global generator, so ``gradkit.manual_seed`` fixes them; the
pixels are computed once, in ``functional``, with the numbers of torchvision's tensor path.

    Compose  Lambda  RandomApply  RandomChoice                         combining
    ToTensor  ToPILImage  ConvertImageDtype  Normalize                 conversion
    Resize  CenterCrop  Pad  RandomCrop  RandomResizedCrop
    RandomHorizontalFlip  RandomVerticalFlip  RandomRotation           geometry
    Grayscale  RandomGrayscale  ColorJitter  GaussianBlur  RandomErasing   colour and noise
    InterpolationMode

What an image is. gradkit does not depend on PIL. Where torchvision hands a transform a PIL
image, gradkit hands it what PIL would hold: a **uint8 Tensor in PIL's layout**, H x W (grey) or
H x W x C (colour). So the rule is by dtype: a uint8 Tensor is an image in PIL's layout (a NumPy
array or a PIL image is too), any other Tensor is a tensor image ``(..., C, H, W)`` as
``ToTensor`` makes it. Every transform but Normalize and RandomErasing (tensor images only, as in
torchvision) accepts both and keeps the kind (a PIL image comes back as a uint8 Tensor in PIL's
layout). A uint8 Tensor whose last dimension is not 1 to 4 channels looks channels-first and is
refused with a message.

The names torchvision has and gradkit does not (``RandomAffine``, ``AutoAugment``, ...) exist and
raise NotImplementedError when constructed, naming what to use instead; see ``UNSUPPORTED``.
"""
from . import functional
from .transforms import (CenterCrop, ColorJitter, Compose, ConvertImageDtype, GaussianBlur,
                         Grayscale, InterpolationMode, Lambda, Normalize, Pad, RandomApply,
                         RandomChoice, RandomCrop, RandomErasing, RandomGrayscale,
                         RandomHorizontalFlip, RandomResizedCrop, RandomRotation,
                         RandomVerticalFlip, Resize, ToPILImage, ToTensor)
from .transforms import __all__ as _classes

__all__ = [*_classes, "functional"]


# === names torchvision has and this module does not ==============================================
_AUGMENT = ("use RandomResizedCrop or RandomCrop, RandomHorizontalFlip and ColorJitter, which "
            "gradkit.vision.transforms has")
_COLOUR = ("use ColorJitter, or RandomApply([Lambda(your_function)], p) on a tensor image")
UNSUPPORTED = {
    "RandomAffine": "use RandomRotation for the rotation, RandomCrop(size, padding=...) for "
                    "translation and RandomResizedCrop for scale",
    "RandomPerspective": "use RandomRotation or RandomResizedCrop",
    "ElasticTransform": "use RandomRotation or RandomResizedCrop",
    "FiveCrop": "use CenterCrop, or Lambda with functional.crop for the corners",
    "TenCrop": "use CenterCrop, or Lambda with functional.crop and functional.hflip",
    "RandomOrder": "use Compose (a fixed order) or RandomChoice",
    "LinearTransformation": "use Lambda for your own (e.g. Lambda(lambda x: (x.reshape(1, -1) - "
                            "mean) @ W)) on a tensor image",
    "RandomInvert": "use RandomApply([Lambda(lambda x: 1 - x)], p) on a float tensor image",
    "RandomPosterize": _COLOUR,
    "RandomSolarize": _COLOUR,
    "RandomAdjustSharpness": _COLOUR,
    "RandomAutocontrast": _COLOUR,
    "RandomEqualize": _COLOUR,
    "AutoAugmentPolicy": _AUGMENT,
    "AutoAugment": _AUGMENT,
    "RandAugment": _AUGMENT,
    "TrivialAugmentWide": _AUGMENT,
    "AugMix": _AUGMENT,
    "PILToTensor": "use ToTensor (float32 in [0, 1]); a dataset's uint8 Tensor is already the "
                   "image in PIL's layout",
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
