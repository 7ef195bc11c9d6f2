"""ResNet for small images: the CIFAR-10 networks of He et al. (2016), "Deep Residual Learning
for Image Recognition", section 4.2.

A residual block learns a correction F(x) to its input instead of a whole new mapping:

    BasicBlock:  out = relu( bn2(conv2( relu(bn1(conv1(x))) )) + shortcut(x) )

shortcut(x) = x when the shapes match; where a stage halves the image and doubles the channels it
is a 1x1 convolution with stride 2 and a BatchNorm (the projection shortcut, the paper's option
B; its CIFAR networks used option A, zero-padding, which has no parameters).

The network for depth 6n + 2:

    x (N, C, 32, 32) ─ conv1 3x3, 16 ─ bn1 ─ relu                  (N, 16, 32, 32)
      ─ layer1: n blocks, 16 channels                              (N, 16, 32, 32)
      ─ layer2: n blocks, 32 channels, the first with stride 2     (N, 32, 16, 16)
      ─ layer3: n blocks, 64 channels, the first with stride 2     (N, 64, 8, 8)
      ─ global average pool ─ fc: Linear(64, classes)             (N, classes)

2 layers per block x 3n blocks + conv1 + fc = 6n + 2 layers: resnet8 (n = 1), resnet20 (n = 3),
resnet32, resnet44, resnet56, resnet110. A 28x28 image (Fashion-MNIST, ``in_channels=1``) goes
through the same network: 28 -> 14 -> 7 before the pool. Names follow torchvision's ResNet
(``layer1.0.conv1.weight``, ``layer2.0.downsample.0.weight``, ``fc.weight``).

=== BasicBlock  ResNet  resnet8  resnet20
"""
from .. import nn
from ..nn import functional as F

__all__ = ["BasicBlock", "ResNet", "resnet8", "resnet20", "VALID_DEPTHS"]

VALID_DEPTHS = (8, 14, 20, 32, 44, 56, 110)   # the 6n + 2 most used; any 6n + 2 >= 8 works


# === BasicBlock
class BasicBlock(nn.Module):
    """Two 3x3 convolutions with BatchNorm and a shortcut around them.

    x: (N, in_planes, H, W) -> (N, planes, H / stride, W / stride).
    """

    expansion = 1  # output channels / planes (torchvision's Bottleneck has 4)

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes))
        else:
            self.downsample = None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


# === ResNet
class ResNet(nn.Module):
    """The CIFAR ResNet of ``depth`` = 6n + 2 layers: (N, in_channels, H, W) -> (N, num_classes).

    depth: 8, 14, 20, 32, 44, 56, 110 (any 6n + 2 >= 8). Defaults to ``20``.
    in_channels: ``3`` for CIFAR-10 (the default), ``1`` for (Fashion-)MNIST.
    width: channels of the first stage (then 2x, 4x). Defaults to ``16``, the paper's.

    Convolutions start from kaiming_normal_ (fan_out, relu), BatchNorm from weight 1, bias 0, as
    in torchvision.

    >>> resnet20(in_channels=1)(gk.randn(2, 1, 28, 28)).shape
    (2, 10)
    """

    def __init__(self, depth=20, num_classes=10, in_channels=3, width=16, block=BasicBlock):
        super().__init__()
        if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
            raise ValueError(f"ResNet: depth must be 6n + 2 with n >= 1 (3 stages of n "
                             f"BasicBlocks of 2 layers, plus the first conv and the classifier): "
                             f"one of {', '.join(map(str, VALID_DEPTHS))}, ...; got {depth!r}")
        n = (depth - 2) // 6
        self.depth, self.num_classes, self.in_channels = depth, num_classes, in_channels
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.in_planes = width
        self.layer1 = self._make_layer(block, width, n, stride=1)
        self.layer2 = self._make_layer(block, 2 * width, n, stride=2)
        self.layer3 = self._make_layer(block, 4 * width, n, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width * block.expansion, num_classes)
        self.reset_parameters()

    def _make_layer(self, block, planes, blocks, stride):
        """A stage: ``blocks`` blocks, the first of which changes the stride and the width."""
        layers = [block(self.in_planes, planes, stride)]
        self.in_planes = planes * block.expansion
        layers += [block(self.in_planes, planes) for _ in range(blocks - 1)]
        return nn.Sequential(*layers)

    def reset_parameters(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"ResNet: expected images (N, {self.in_channels}, H, W), got shape "
                             f"{tuple(x.shape)}; set in_channels to match")
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.avgpool(x).flatten(1)   # (N, 64)
        return self.fc(x)

    def extra_repr(self):
        return (f"depth={self.depth}, num_classes={self.num_classes}, "
                f"in_channels={self.in_channels}")


# === resnet8  resnet20
def resnet8(num_classes=10, in_channels=3, **kwargs):
    """ResNet-8: one BasicBlock per stage, 78k parameters."""
    return ResNet(8, num_classes, in_channels, **kwargs)


def resnet20(num_classes=10, in_channels=3, **kwargs):
    """ResNet-20: three BasicBlocks per stage, 0.27M parameters (the paper's smallest CIFAR net,
    8.75% test error on CIFAR-10)."""
    return ResNet(20, num_classes, in_channels, **kwargs)
