"""gradkit.vision: the torchvision-shaped door. The data sets read their files through
gradkit.datasets; the transforms' pixels are computed by ``transforms.functional``, with the
numbers of torchvision's tensor path.

    from torchvision import datasets, transforms        ->  from gradkit.vision import datasets, transforms
    import torchvision.transforms.functional as F       ->  import gradkit.vision.transforms.functional as F
    from torchvision.utils import save_image            ->  from gradkit.vision.utils import save_image

    datasets     MNIST, FashionMNIST, CIFAR10 (torchvision's arguments and attributes)
    transforms   Compose, ToTensor, Normalize, Resize, crops, pads, flips, RandomRotation,
                 RandomResizedCrop, Grayscale, ColorJitter, GaussianBlur, RandomErasing, ...
    utils        make_grid, save_image (PNG)

gradkit does not depend on PIL: where torchvision gives a PIL image, gradkit gives a uint8 Tensor
in PIL's layout (H x W, or H x W x C), which ``transforms.ToTensor()`` turns into float32
(C, H, W) in [0, 1]. ``gradkit.vision.models`` does not exist: the architectures are in
``gradkit.models``. See docs/vision.md.
"""
from . import datasets, transforms, utils

__all__ = ["datasets", "transforms", "utils"]
