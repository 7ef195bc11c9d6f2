"""gradkit.nn.parallel: DataParallel as PyTorch's on a machine without GPUs (holds ``.module``
and calls it; state_dict keys prefixed ``module.``), DistributedDataParallel refused as PyTorch
refuses it without a process group."""
import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn as nn


def _pair():
    ref = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    mine = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    mine.load_state_dict({k: gk.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    return torch.nn.DataParallel(ref), nn.DataParallel(mine)


def test_data_parallel_is_the_module_called():
    ref, mine = _pair()
    assert nn.DataParallel is nn.parallel.DataParallel
    assert list(mine.state_dict()) == list(ref.state_dict()) == [
        "module.0.weight", "module.0.bias", "module.2.weight", "module.2.bias"]
    assert mine.device_ids == ref.device_ids == []
    assert isinstance(mine.module, nn.Sequential) and repr(mine).startswith("DataParallel(\n  (module): Sequential(")
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    xt = torch.from_numpy(x).requires_grad_(True)
    xg = gk.tensor(x, requires_grad=True)
    ref(xt).pow(2).sum().backward()
    mine(xg).pow(2).sum().backward()
    np.testing.assert_allclose(mine(xg).detach().numpy(), ref(xt).detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)
    for (name, p), (_, q) in zip(mine.named_parameters(), ref.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    # a checkpoint of the wrapped model loads into PyTorch's wrapper by name, and back
    ref2 = torch.nn.DataParallel(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)))
    ref2.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in mine.state_dict().items()})
    np.testing.assert_allclose(ref2(xt).detach().numpy(), ref(xt).detach().numpy(), rtol=1e-6)


def test_data_parallel_accepts_pytorchs_arguments():
    m = nn.parallel.DataParallel(nn.Linear(2, 2), device_ids=[0, 1], output_device=0, dim=0)
    assert m(gk.ones(3, 2)).shape == (3, 2) and m.device_ids == []
    out = nn.parallel.data_parallel(nn.Linear(2, 1), gk.ones(3, 2))
    assert out.shape == (3, 1)
    with pytest.raises(TypeError, match="module must be a gradkit.nn.Module; got function"):
        nn.DataParallel(lambda x: x)


def test_distributed_data_parallel_needs_a_process_group_as_in_pytorch():
    with pytest.raises(Exception) as ref:
        torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(2, 2))
    with pytest.raises(type(ref.value), match=r"DistributedDataParallel: Default process group has "
                                              r"not been initialized.*runs in one process"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
