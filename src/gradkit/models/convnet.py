"""ConvNet: the everyday image classifier, a few conv blocks then a small dense head.

Each block halves the image and widens the channels:

    block(c_in -> c_out) = Conv2d(c_in, c_out, 3, padding=1) ─ [BatchNorm2d] ─ ReLU ─ MaxPool 2

    x (N, 1, 28, 28) ─ block(1 -> 32) ─ block(32 -> 64)      -> (N, 64, 7, 7)      features
                     ─ flatten ─ Dropout ─ Linear(3136, 128) ─ ReLU ─ Dropout ─ Linear(128, 10)
                                                                                   classifier

Two blocks (the default) suit 28x28 grayscale images (MNIST, Fashion-MNIST); a third block
(``channels=(32, 64, 128)``) suits 32x32 colour ones (CIFAR-10). With BatchNorm the conv has no
bias of its own: BatchNorm's shift takes its place.
"""
from .. import nn

__all__ = ["ConvNet"]


class ConvNet(nn.Module):
    """x: (N, in_channels, image_size, image_size) float32 -> (N, num_classes) logits.

    channels: the output channels of each conv block. Defaults to ``(32, 64)``.
    batch_norm: BatchNorm2d after each conv. Defaults to ``True``.
    dropout: before each Linear of the head. Defaults to ``0.25``.
    hidden: the width of the head's hidden layer. Defaults to ``128``.

    >>> ConvNet(in_channels=3, image_size=32, channels=(32, 64, 128))(gk.randn(4, 3, 32, 32)).shape
    (4, 10)
    """

    def __init__(self, num_classes=10, in_channels=1, image_size=28, channels=(32, 64),
                 batch_norm=True, dropout=0.25, hidden=128):
        super().__init__()
        channels = tuple(channels)
        if not channels:
            raise ValueError("ConvNet: channels must name at least one conv block, e.g. (32, 64)")
        side = image_size // 2 ** len(channels)  # each MaxPool halves the side (rounding down)
        if side < 1:
            raise ValueError(f"ConvNet: {len(channels)} blocks halve a {image_size}px image "
                             f"{len(channels)} times, to nothing; use fewer blocks or larger "
                             "images")
        self.num_classes, self.in_channels, self.image_size = num_classes, in_channels, image_size
        blocks, c_in = [], in_channels
        for c_out in channels:
            blocks.append(nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                blocks.append(nn.BatchNorm2d(c_out))
            blocks += [nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c_out
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(c_in * side * side, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        c, s = self.in_channels, self.image_size
        if x.ndim != 4 or tuple(x.shape[1:]) != (c, s, s):
            raise ValueError(f"ConvNet: expected images (N, {c}, {s}, {s}), got shape "
                             f"{tuple(x.shape)}; set in_channels and image_size to match")
        return self.classifier(self.features(x))

    def extra_repr(self):
        return (f"num_classes={self.num_classes}, in_channels={self.in_channels}, "
                f"image_size={self.image_size}")
