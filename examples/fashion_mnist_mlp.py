"""MLP 784-256-128-100-10 on Fashion-MNIST, to reach the benchmark table's 0.8833.

Fashion-MNIST's benchmark table (github.com/zalandoresearch/fashion-mnist, "MLP 256-128-100":
0.8833 test accuracy). Here: gradkit.models.MLP((784, 256, 128, 100, 10)) with ReLU and dropout
0.2, Adam (lr 1e-3, halved every 5 epochs), batch 128, 15 epochs, on the 60,000 training images;
accuracy on the 10,000 test images. Budget on this 2-core machine: 3 minutes.

    python examples/fashion_mnist_mlp.py [--peer torch] [--budget-min 3]
Needs: Fashion-MNIST (apt-get install dataset-fashion-mnist, or $GRADKIT_DATA/fashion-mnist).
"""
import reproduce

SIZES = (784, 256, 128, 100, 10)
BUDGET, EPOCHS, BATCH, TARGET = 3, 15, 128, 0.8833


def make(fw):
    from gradkit.models import MLP

    def torch_twin():
        nn = fw.nn
        layers = []
        for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(SIZES) - 2:
                layers += [nn.ReLU(), nn.Dropout(0.2)]

        class TwinMLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = nn.Sequential(*layers)

            def forward(self, x):
                return self.layers(x.flatten(1))
        return TwinMLP()

    return reproduce.build(fw, ARGS.seed, lambda: MLP(SIZES, dropout=0.2), torch_twin)


if __name__ == "__main__":
    ARGS = reproduce.parser(__doc__, BUDGET, EPOCHS).parse_args()
    reproduce.main_classifier(
        ARGS, "MLP 256-128-100 on Fashion-MNIST", "fashion_mnist_mlp", make,
        optimizer=lambda fw, m: fw.optim.Adam(m.parameters(), lr=1e-3),
        scheduler=lambda fw, opt: fw.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5),
        target=TARGET, budget_min=BUDGET, batch_size=BATCH,
        published="0.8833, \"MLP 256-128-100\" in Fashion-MNIST's benchmark table",
        data=reproduce.fashion_mnist)
