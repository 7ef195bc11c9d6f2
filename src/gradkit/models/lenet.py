"""LeNet-5 (LeCun et al., 1998): the convolutional network that read cheques, in its modern form.

    x (N, C, 28, 28)
    ─ conv1: Conv2d(C, 6, 5, padding=2) ─ ReLU ─ MaxPool 2   -> (N, 6, 14, 14)
    ─ conv2: Conv2d(6, 16, 5)          ─ ReLU ─ MaxPool 2   -> (N, 16, 5, 5)
    ─ flatten                                              -> (N, 400)
    ─ fc1: Linear(400, 120) ─ ReLU ─ fc2: Linear(120, 84) ─ ReLU ─ fc3: Linear(84, classes)

The paper's network took 32x32 images, used tanh-like squashing and average pooling; ReLU and
max pooling (as in PyTorch's tutorial) train faster and are what people mean by LeNet-5 today.
A 28x28 image (MNIST) is padded by 2 so that the shapes after conv1 are the paper's.
"""
from .. import nn
from ..nn import functional as F

__all__ = ["LeNet5"]


class LeNet5(nn.Module):
    """x: (N, in_channels, image_size, image_size) float32 -> (N, num_classes) logits.

    num_classes: defaults to ``10``. in_channels: ``1`` (MNIST, the default) or ``3`` (CIFAR).
    image_size: ``28`` (padded to 32 by conv1, the default) or ``32``.

    >>> LeNet5()(gk.randn(8, 1, 28, 28)).shape
    (8, 10)
    """

    def __init__(self, num_classes=10, in_channels=1, image_size=28):
        super().__init__()
        if image_size not in (28, 32):
            raise ValueError(f"LeNet5: image_size must be 28 (MNIST) or 32 (the paper's, CIFAR), "
                             f"got {image_size}; for other sizes use ConvNet, which adapts")
        self.num_classes, self.in_channels, self.image_size = num_classes, in_channels, image_size
        self.conv1 = nn.Conv2d(in_channels, 6, 5, padding=(32 - image_size) // 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        c, s = self.in_channels, self.image_size
        if x.ndim != 4 or tuple(x.shape[1:]) != (c, s, s):
            raise ValueError(f"LeNet5: expected images (N, {c}, {s}, {s}), got shape "
                             f"{tuple(x.shape)}; set in_channels and image_size to match")
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)   # (N, 6, 14, 14)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)   # (N, 16, 5, 5)
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)

    def extra_repr(self):
        return (f"num_classes={self.num_classes}, in_channels={self.in_channels}, "
                f"image_size={self.image_size}")
