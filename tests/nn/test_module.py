"""Module: registration, traversal, modes, state_dict, hooks, errors naming the layer."""
import copy

import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(8, 3)
        self.register_buffer("steps", gk.zeros(1))
        self.register_buffer("scratch", gk.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 8)
        self.act = torch.nn.ReLU()
        self.fc2 = torch.nn.Linear(8, 3)
        self.register_buffer("steps", torch.zeros(1))
        self.register_buffer("scratch", torch.zeros(2), persistent=False)


def test_registration_and_names_match_pytorch():
    g, t = Net(), TorchNet()
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert list(g.state_dict()) == list(t.state_dict())
    assert [n for n, _ in g.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in g.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert len(list(g.children())) == 3
    assert all(p.requires_grad for p in g.parameters())


def test_load_torch_weights_gives_same_outputs_and_gradients():
    g, t = Net(), TorchNet()
    t.double()
    g.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    g.double()
    x = np.random.default_rng(0).standard_normal((5, 4))
    gy = g(gk.tensor(x))
    ty = t.fc2(t.act(t.fc1(torch.tensor(x))))
    np.testing.assert_allclose(gy.array, ty.detach().numpy(), rtol=1e-10)
    gy.sum().backward()
    ty.sum().backward()
    for (n, p), (_, q) in zip(g.named_parameters(), t.named_parameters()):
        np.testing.assert_allclose(p.grad.array, q.grad.numpy(), rtol=1e-10, err_msg=n)


def test_state_dict_strict_errors_list_missing_unexpected_and_closest_name():
    g = Net()
    sd = {k: v.array.copy() for k, v in g.state_dict().items()}
    sd["fc1.wieght"] = sd.pop("fc1.weight")
    sd["extra.bias"] = np.zeros(3, np.float32)
    with pytest.raises(RuntimeError) as info:
        g.load_state_dict(sd)
    msg = str(info.value)
    assert 'Missing key(s) in state_dict: "fc1.weight"' in msg
    assert 'Unexpected key in state_dict: "fc1.wieght" (did you mean "fc1.weight"?)' in msg
    assert '"extra.bias"' in msg
    missing, unexpected = g.load_state_dict(sd, strict=False)
    assert missing == ["fc1.weight"] and set(unexpected) == {"fc1.wieght", "extra.bias"}


def test_state_dict_shape_mismatch_is_named():
    g = Net()
    sd = {k: v.array.copy() for k, v in g.state_dict().items()}
    sd["fc2.weight"] = np.zeros((4, 8), np.float32)
    with pytest.raises(RuntimeError, match=r"size mismatch for fc2.weight.*\(4, 8\).*\(3, 8\)"):
        g.load_state_dict(sd)


def test_shared_parameter_listed_once_updated_once_and_tied_after_round_trip(tmp_path):
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Linear(3, 5, bias=False)
            self.out = nn.Linear(5, 3, bias=False)
            self.out.weight = self.emb.weight  # the same Parameter in two modules

        def forward(self, x):
            return x @ self.emb.weight.T @ self.out.weight

    m = Tied()
    params = list(m.parameters())
    assert len(params) == 1
    assert set(m.state_dict()) == {"emb.weight", "out.weight"}   # PyTorch lists both keys
    before = m.emb.weight.array.copy()
    x = gk.randn(2, 3)
    m(x).sum().backward()
    with gk.no_grad():
        for p in m.parameters():
            p -= 0.1 * p.grad
    np.testing.assert_allclose(m.emb.weight.array, before - 0.1 * m.emb.weight.grad.array)
    gk.save(m.state_dict(), tmp_path / "tied.safetensors")
    m2 = Tied()
    m2.load_state_dict(gk.load(tmp_path / "tied.safetensors"))
    assert m2.emb.weight is m2.out.weight
    np.testing.assert_array_equal(m2.emb.weight.array, m.emb.weight.array)


def test_train_eval_propagates():
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Sequential(nn.Dropout(0.2)))
    m.eval()
    assert not any(mod.training for mod in m.modules())
    m.train()
    assert all(mod.training for mod in m.modules())


def test_requires_grad_false_freezes_submodule():
    m = Net()
    m.fc1.requires_grad_(False)
    y = m(gk.randn(3, 4)).sum()
    y.backward()
    assert m.fc1.weight.grad is None and m.fc2.weight.grad is not None


def test_zero_grad_and_apply_and_to_dtype():
    m = Net()
    m(gk.randn(2, 4)).sum().backward()
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "Net"]
    m.to(gk.float64)
    assert all(p.dtype == gk.float64 for p in m.parameters())
    assert m.steps.dtype == gk.float64


def test_repr_is_a_tree():
    r = repr(Net())
    assert r.startswith("Net(\n  (fc1): Linear(in_features=4, out_features=8, bias=True)")
    assert "(act): ReLU()" in r


def test_forward_hooks():
    m = Net()
    outs = []
    h = m.fc1.register_forward_hook(lambda mod, inp, out: outs.append(out.shape))
    m(gk.randn(2, 4))
    h.remove()
    m(gk.randn(2, 4))
    assert outs == [(2, 8)]
    m.fc2.register_forward_hook(lambda mod, inp, out: out * 0)
    assert np.all(m(gk.randn(2, 4)).array == 0)


def test_wrong_input_shape_names_the_layer_in_the_model():
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Sequential(nn.Linear(7, 2)))
    with pytest.raises(ValueError, match=r"in layer '2\.0' \(Linear\): Linear\(in_features=7\): "
                                         r"input has 8 features \(shape \(3, 8\)\); the last "
                                         r"dimension must be 7"):
        m(gk.randn(3, 4))
    with pytest.raises(ValueError, match=r"in layer 'fc1' \(Linear\).*must be 4"):
        Net()(gk.randn(3, 5))


def test_wrong_dtype_is_reported():
    with pytest.raises(TypeError, match=r"in layer 'fc1' \(Linear\): linear: input dtype float64"):
        Net()(gk.randn(3, 4, dtype=gk.float64))


def test_parameter_assignment_errors():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="nn.Parameter"):
        m.weight = gk.zeros(2, 2)

    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Bad()


def test_containers():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(list(layers.parameters())) == 6 and len(layers) == 3
    d = nn.ModuleDict({"a": nn.Linear(2, 3), "b": nn.ReLU()})
    assert list(d.keys()) == ["a", "b"] and "a" in d
    assert [n for n, _ in d.named_parameters()] == ["a.weight", "a.bias"]
    s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert isinstance(s[0], nn.Linear) and len(s[1:]) == 2
    assert s(gk.randn(4, 2)).shape == (4, 1)


def test_deepcopy_gives_independent_parameters():
    m = Net()
    m2 = copy.deepcopy(m)
    assert m2.fc1.weight is not m.fc1.weight
    np.testing.assert_array_equal(m2.fc1.weight.array, m.fc1.weight.array)
    with gk.no_grad():
        m2.fc1.weight.fill_(0)
    assert not np.all(m.fc1.weight.array == 0)
    assert [n for n, _ in m2.named_parameters()] == [n for n, _ in m.named_parameters()]


def test_flatten_unflatten_identity():
    x = gk.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert nn.Unflatten(1, (3, 20))(nn.Flatten()(x)).shape == (2, 3, 20)
    assert nn.Identity(54, foo=1)(x) is x
