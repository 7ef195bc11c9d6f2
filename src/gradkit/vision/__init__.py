"""gradkit.vision: the torchvision-shaped door (names only; the math is gradkit.data's and
gradkit.datasets').

    from torchvision import datasets, transforms        ->  from gradkit.vision import datasets, transforms
    from torchvision.utils import save_image            ->  from gradkit.vision.utils import save_image

    datasets     MNIST, FashionMNIST, CIFAR10 (torchvision's arguments and attributes)
    transforms   Compose, ToTensor, Normalize, Lambda, RandomHorizontalFlip, RandomCrop, CenterCrop
    utils        make_grid, save_image (PNG)

gradkit does not depend on PIL: where torchvision gives a PIL image, gradkit gives a uint8 Tensor
in PIL's layout (H x W, or H x W x C), which ``transforms.ToTensor()`` turns into float32
(C, H, W) in [0, 1]. ``gradkit.vision.models`` does not exist: the architectures are in
``gradkit.models``. See docs/vision.md.
"""
from . import datasets, transforms, utils

__all__ = ["datasets", "transforms", "utils"]
