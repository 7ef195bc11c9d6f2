"""gradkit.models.ResNet (CIFAR-style, BasicBlock): shapes for 28 and 32 px and 1 or 3 channels,
the 6n + 2 depths, save/load, a PyTorch twin (BasicBlock and whole ResNet-8, train and eval mode,
running statistics), and that it learns."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import gradkit as gk
from gradkit import nn
from gradkit.models import BasicBlock, ResNet, resnet8, resnet20
from test_zoo_index import (assert_matches_torch, assert_round_trip, bar_images, batches_of,
                            classify, start_and_end, train)


# === the PyTorch twin: the same network, written with torch.nn
class TorchBasicBlock(torch.nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(planes)
        self.conv2 = torch.nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or in_planes != planes:
            self.downsample = torch.nn.Sequential(
                torch.nn.Conv2d(in_planes, planes, 1, stride, bias=False),
                torch.nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.bn2(self.conv2(TF.relu(self.bn1(self.conv1(x)))))
        return TF.relu(out + (x if self.downsample is None else self.downsample(x)))


class TorchResNet(torch.nn.Module):
    def __init__(self, depth, num_classes=10, in_channels=3):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = torch.nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(16)
        stages, c_in = [], 16
        for planes, stride in [(16, 1), (32, 2), (64, 2)]:
            blocks = [TorchBasicBlock(c_in, planes, stride)]
            blocks += [TorchBasicBlock(planes, planes) for _ in range(n - 1)]
            stages.append(torch.nn.Sequential(*blocks))
            c_in = planes
        self.layer1, self.layer2, self.layer3 = stages
        self.fc = torch.nn.Linear(64, num_classes)

    def forward(self, x):
        x = TF.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(TF.adaptive_avg_pool2d(x, 1).flatten(1))


# === shapes and depths
@pytest.mark.parametrize("factory, depth, blocks", [(resnet8, 8, 1), (resnet20, 20, 3)])
def test_factories_build_6n_plus_2_layers(factory, depth, blocks):
    model = factory()
    assert model.depth == depth
    assert [len(s) for s in (model.layer1, model.layer2, model.layer3)] == [blocks] * 3
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(convs) + 1 == depth   # the 3x3 convs and the classifier (shortcuts not counted)


@pytest.mark.parametrize("in_channels, size", [(1, 28), (3, 32)])
def test_shapes_for_fashion_mnist_and_cifar(in_channels, size):
    model = resnet8(num_classes=7, in_channels=in_channels)
    assert model(gk.randn(2, in_channels, size, size)).shape == (2, 7)


def test_parameter_counts_are_the_papers():
    # He et al. (2016), Table 6: 0.27M for ResNet-20 (plus the projection shortcuts' 2.7k here)
    count = sum(p.numel() for p in resnet20().parameters())
    assert 0.27e6 <= count < 0.28e6


def test_block_shapes_and_shortcut():
    same = BasicBlock(8, 8)
    down = BasicBlock(8, 16, stride=2)
    assert same.downsample is None and down.downsample is not None
    assert same(gk.randn(2, 8, 14, 14)).shape == (2, 8, 14, 14)
    assert down(gk.randn(2, 8, 14, 14)).shape == (2, 16, 7, 7)


# === save/load
def test_save_load_round_trip(tmp_path):
    def make():
        m = resnet8(in_channels=1)
        with gk.no_grad():
            m(gk.randn(4, 1, 28, 28))   # running statistics of their own
        return m

    assert_round_trip(make, [gk.randn(3, 1, 28, 28)], tmp_path)


# === the PyTorch twin in float64
@pytest.mark.parametrize("in_planes, planes, stride", [(4, 4, 1), (4, 8, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_basic_block_matches_pytorch(in_planes, planes, stride, training):
    x = np.random.default_rng(0).standard_normal((3, in_planes, 8, 8))
    gk_block = BasicBlock(in_planes, planes, stride)
    t_block = TorchBasicBlock(in_planes, planes, stride)
    for m in gk_block.modules():   # BatchNorm away from weight 1, bias 0, running 0 and 1
        if isinstance(m, nn.BatchNorm2d):
            for t in (m.weight, m.bias, m.running_mean):
                nn.init.uniform_(t, -0.5, 0.5)
            nn.init.uniform_(m.running_var, 0.5, 1.5)
    assert_matches_torch(gk_block, t_block, x, train=training)


@pytest.mark.parametrize("in_channels, size", [(1, 28), (3, 32)])
def test_resnet8_matches_pytorch_in_training_and_evaluation(in_channels, size):
    x = np.random.default_rng(0).standard_normal((2, in_channels, size, size))
    gk_model, t_model = resnet8(in_channels=in_channels), TorchResNet(8, in_channels=in_channels)
    assert_matches_torch(gk_model, t_model, x, train=True)
    # the training forward updated both models' running statistics the same way ...
    t_state = t_model.state_dict()
    for name, value in gk_model.state_dict().items():
        np.testing.assert_allclose(value.numpy(), t_state[name].numpy(), rtol=0, atol=1e-10,
                                   err_msg=name)
    # ... which evaluation mode then uses
    gk_model.zero_grad()
    t_model.zero_grad()
    assert_matches_torch(gk_model, t_model, x, train=False)


# === it learns
def test_learns_bar_images_at_28px_one_channel():
    x, y = bar_images(32, size=28)
    model = resnet8(num_classes=4, in_channels=1)
    losses = train(model, batches_of(x, y, 16), classify, steps=16, lr=1e-2)
    first, last = start_and_end(losses, k=3)
    assert last < 0.2 * first, (first, last)


def test_depth_must_be_6n_plus_2():
    for depth in (18, 9, 2, 21, 8.0):
        with pytest.raises(ValueError, match=r"6n \+ 2.*8, 14, 20, 32, 44, 56, 110"):
            ResNet(depth)
