"""The nn modules and functions added by the API-coverage pass, against PyTorch in float64:
same weights (moved by state_dict), same outputs and gradients; gradcheck where differentiable."""
import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn.functional as F
from oracle import check


@pytest.mark.parametrize("shape,kw", [
    ((1, 2, 5), dict(scale_factor=2, mode="nearest")),
    ((1, 2, 5), dict(size=3, mode="nearest")),
    ((1, 2, 4, 5), dict(size=(7, 3), mode="nearest")),
    ((1, 2, 4, 5), dict(scale_factor=1.5, mode="nearest-exact")),
    ((1, 2, 5), dict(size=8, mode="linear", align_corners=False)),
    ((1, 2, 5), dict(scale_factor=0.6, mode="linear", align_corners=True)),
    ((2, 1, 4, 5), dict(size=(6, 3), mode="bilinear", align_corners=False)),
    ((2, 1, 4, 5), dict(scale_factor=2, mode="bilinear", align_corners=True)),
    ((1, 2, 3, 4, 2), dict(size=(4, 3, 5), mode="trilinear", align_corners=False)),
    ((1, 2, 4, 5), dict(size=(6, 7), mode="bicubic", align_corners=False)),
    ((1, 2, 4, 5), dict(scale_factor=2, mode="bicubic", align_corners=True)),
    ((1, 2, 6, 6), dict(size=(3, 2), mode="area")),
])
def test_interpolate(shape, kw):
    check(lambda x: F.interpolate(x, **kw), lambda x: torch.nn.functional.interpolate(x, **kw),
          shapes=[shape])


def test_upsample_module():
    check(lambda x: gk.nn.Upsample(scale_factor=2, mode="bilinear")(x),
          lambda x: torch.nn.Upsample(scale_factor=2, mode="bilinear")(x), shapes=[(1, 1, 3, 3)])


@pytest.mark.parametrize("mode,padding_mode,align", [
    ("bilinear", "zeros", False), ("bilinear", "zeros", True), ("bilinear", "border", False),
    ("nearest", "zeros", False),
])
def test_grid_sample(mode, padding_mode, align):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 4, 5))
    grid = rng.uniform(-1.2, 1.2, size=(2, 3, 2, 2))   # some points fall outside
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align)
    check(lambda a, g: F.grid_sample(a, g, **kw),
          lambda a, g: torch.nn.functional.grid_sample(a, g, **kw), inputs=[x, grid],
          grad_inputs=[True, mode == "bilinear"], gradcheck=mode == "bilinear")


def test_glu():
    check(lambda x: F.glu(x, 1), lambda x: torch.nn.functional.glu(x, 1), shapes=[(2, 4, 3)])
    check(lambda x: gk.nn.GLU()(x), lambda x: torch.nn.GLU()(x), shapes=[(2, 6)])


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(padding="same", dilation=(2, 1, 1)),
                                dict(groups=2, stride=(1, 2, 1), bias=False),
                                dict(padding=1, padding_mode="replicate")])
def test_conv3d(kw):
    torch.manual_seed(0)
    tm = torch.nn.Conv3d(4, 6, (3, 2, 3), **kw).double()
    gm = gk.nn.Conv3d(4, 6, (3, 2, 3), **kw).double()
    gm.load_state_dict({k: gk.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(2, 4, 5, 4, 6))
    check(lambda t: gm(t), lambda t: tm(t), inputs=[x], gradcheck=False)
    names = [n for n, _ in tm.named_parameters()]
    assert names == [n for n, _ in gm.named_parameters()]


def test_conv3d_gradcheck_weight():
    x, w = np.random.default_rng(1).normal(size=(1, 2, 3, 3, 3)), \
        np.random.default_rng(2).normal(size=(2, 2, 2, 2, 2))
    check(lambda a, b: F.conv3d(a, b, padding=1), lambda a, b: torch.nn.functional.conv3d(a, b, padding=1),
          inputs=[x, w])


def test_buffer_registers():
    class M(gk.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = gk.nn.Buffer(gk.ones(2))
            self.b = gk.nn.Buffer(gk.zeros(3), persistent=False)

    class T(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Buffer(torch.ones(2))
            self.b = torch.nn.Buffer(torch.zeros(3), persistent=False)

    m, t = M(), T()
    assert list(m.state_dict()) == list(t.state_dict()) == ["a"]
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in t.named_buffers()] == ["a", "b"]
    assert list(m.parameters()) == []


def test_parameter_dict_and_list():
    gd = gk.nn.ParameterDict({"w": gk.nn.Parameter(gk.ones(2)), "s": gk.zeros(3)})
    td = torch.nn.ParameterDict({"w": torch.nn.Parameter(torch.ones(2)), "s": torch.zeros(3)})
    assert list(gd.state_dict()) == list(td.state_dict())
    assert isinstance(gd["s"], gk.nn.Parameter) and "w" in gd and len(gd) == 2
    gl = gk.nn.ParameterList([gk.ones(2), gk.nn.Parameter(gk.zeros(1))])
    tl = torch.nn.ParameterList([torch.ones(2), torch.nn.Parameter(torch.zeros(1))])
    assert list(gl.state_dict()) == list(tl.state_dict()) and len(gl) == 2
    assert gl[-1] is list(gl.parameters())[1]


def _linear_pair(make):
    torch.manual_seed(0)
    t = torch.nn.Linear(3, 4).double()
    g = gk.nn.Linear(3, 4).double()
    g.load_state_dict({k: gk.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    return make(g, gk), make(t, torch)


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_hook_form(dim):
    g, t = _linear_pair(lambda m, lib: lib.nn.utils.weight_norm(m, dim=dim))
    assert list(g.state_dict()) == list(t.state_dict())
    x = np.random.default_rng(0).normal(size=(5, 3))
    check(lambda a: g(a), lambda a: t(a), inputs=[x], gradcheck=False)
    # gradients reach g and v, as in PyTorch
    g(gk.tensor(x)).sum().backward()
    t(torch.tensor(x)).sum().backward()
    for n in ("weight_g", "weight_v"):
        np.testing.assert_allclose(getattr(g, n).grad.array, getattr(t, n).grad.numpy(), rtol=1e-8)
    gk.nn.utils.remove_weight_norm(g)
    torch.nn.utils.remove_weight_norm(t)
    np.testing.assert_allclose(g.weight.array, t.weight.detach().numpy(), rtol=1e-10)
    assert list(g.state_dict()) == list(t.state_dict())


def test_weight_norm_parametrization():
    g, t = _linear_pair(lambda m, lib: lib.nn.utils.parametrizations.weight_norm(m))
    assert list(g.state_dict()) == list(t.state_dict())
    np.testing.assert_allclose(g.weight.array, t.weight.detach().numpy(), rtol=1e-10)
    x = np.random.default_rng(0).normal(size=(5, 3))
    g(gk.tensor(x)).sum().backward()
    t(torch.tensor(x)).sum().backward()
    for i in (0, 1):
        np.testing.assert_allclose(getattr(g.parametrizations.weight, f"original{i}").grad.array,
                                   getattr(t.parametrizations.weight, f"original{i}").grad.numpy(),
                                   rtol=1e-8)
    gk.nn.utils.parametrize.remove_parametrizations(g, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(t, "weight")
    assert type(g) is gk.nn.Linear and list(g.state_dict()) == list(t.state_dict())


@pytest.mark.parametrize("batch_first,side", [(False, "right"), (True, "right"), (True, "left")])
def test_pad_sequence(batch_first, side):
    shapes = [(3, 2), (1, 2), (4, 2)]
    check(lambda *xs: gk.nn.utils.rnn.pad_sequence(list(xs), batch_first, -1.0, side),
          lambda *xs: torch.nn.utils.rnn.pad_sequence(list(xs), batch_first, -1.0, side),
          shapes=shapes)
