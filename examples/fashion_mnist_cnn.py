"""Two conv + pooling blocks on Fashion-MNIST, without and with BatchNorm, to reach the
benchmark table's 0.916 and 0.934.

Fashion-MNIST's benchmark table (github.com/zalandoresearch/fashion-mnist): "2 Conv+pooling"
0.916, "2 Conv+pooling+BN" 0.934. Here: gradkit.models.ConvNet: two blocks of 3x3 conv
(32, 64 channels), ReLU, 2x2 max-pool, then dropout 0.25, Linear 3136-128, ReLU, dropout 0.25,
Linear 128-10; ``--batch-norm`` adds BatchNorm2d after each conv. Adam (lr 1e-3, cosine decay
to 0 over the run), batch 128; training images flipped left-right at random (the same flips for
both frameworks). Budget on this 2-core machine: 15 minutes, 30 with BatchNorm.

    python examples/fashion_mnist_cnn.py [--batch-norm] [--peer torch]
Needs: Fashion-MNIST (apt-get install dataset-fashion-mnist, or $GRADKIT_DATA/fashion-mnist).
"""
import numpy as np

import reproduce

PLAIN = {"budget": 15, "epochs": 15, "target": 0.916, "name": "fashion_mnist_cnn",
         "title": "2 Conv + pooling on Fashion-MNIST",
         "published": "0.916, \"2 Conv+pooling\" in Fashion-MNIST's benchmark table"}
BN = {"budget": 30, "epochs": 20, "target": 0.934, "name": "fashion_mnist_cnn_bn",
      "title": "2 Conv + pooling + BatchNorm on Fashion-MNIST",
      "published": "0.934, \"2 Conv+pooling+BN\" in Fashion-MNIST's benchmark table"}
BATCH = 128


def make(fw, batch_norm):
    from gradkit.models import ConvNet

    def torch_twin():
        nn = fw.nn
        blocks, c_in = [], 1
        for c_out in (32, 64):
            blocks.append(nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                blocks.append(nn.BatchNorm2d(c_out))
            blocks += [nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c_out

        class TwinConvNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential(*blocks)
                self.classifier = nn.Sequential(
                    nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
                    nn.Dropout(0.25), nn.Linear(128, 10))

            def forward(self, x):
                return self.classifier(self.features(x))
        return TwinConvNet()

    return reproduce.build(fw, ARGS.seed,
                           lambda: ConvNet(channels=(32, 64), batch_norm=batch_norm), torch_twin)


class Flipped:
    """The training images, each epoch's batch flipped left-right where a coin drawn from
    (seed, epoch, index) says so: the same flips for both frameworks."""

    def __init__(self, x, seed):
        self.x, self.seed, self.calls = x, seed, 0

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        self.calls += 1
        flip = np.random.default_rng([self.seed, self.calls]).random(len(idx)) < 0.5
        batch = self.x[idx]
        batch[flip] = batch[flip][..., ::-1]
        return batch


def data():
    x, y, xt, yt = reproduce.fashion_mnist()
    return Flipped(x, ARGS.seed), y, xt, yt


if __name__ == "__main__":
    ap = reproduce.parser(__doc__, None, None)
    ap.add_argument("--batch-norm", action="store_true", help="BatchNorm2d after each conv")
    ARGS = ap.parse_args()
    run = BN if ARGS.batch_norm else PLAIN
    ARGS.budget_min = ARGS.budget_min or run["budget"]
    ARGS.epochs = ARGS.epochs or run["epochs"]
    reproduce.main_classifier(
        ARGS, run["title"], run["name"], lambda fw: make(fw, ARGS.batch_norm),
        optimizer=lambda fw, m: fw.optim.Adam(m.parameters(), lr=1e-3),
        scheduler=lambda fw, opt: fw.optim.lr_scheduler.CosineAnnealingLR(opt, ARGS.epochs),
        target=run["target"], budget_min=ARGS.budget_min, batch_size=BATCH,
        published=run["published"], data=data)
