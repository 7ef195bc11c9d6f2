"""The module paths real programs import at the top (issue 14, item 4): gradkit.distributed,
gradkit.onnx, gradkit.serialization, gradkit.nn.parallel and gradkit.vision exist, import in a
fresh interpreter, are attributes of gradkit after ``import gradkit`` (imported on first use), and
a missing feature raises a clear error only when it is called."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gradkit as gk
from gradkit import distributed as dist


def test_the_modules_import_lazily_in_a_fresh_interpreter():
    program = """
import sys
import gradkit
lazy = ["gradkit.vision", "gradkit.onnx", "gradkit.serialization"]   # distributed: nn.parallel's
assert not [m for m in lazy if m in sys.modules], [m for m in lazy if m in sys.modules]
assert gradkit.vision.datasets.MNIST and gradkit.distributed.is_available() is False
assert gradkit.onnx.export and gradkit.serialization.save is gradkit.save
import gradkit.nn.parallel
from gradkit.nn.parallel import DistributedDataParallel as DDP, DataParallel
import gradkit.distributed as dist
from gradkit.vision import datasets, transforms
from gradkit.vision.utils import save_image, make_grid
from gradkit.serialization import add_safe_globals, safe_globals
print("ok")
"""
    src = str(Path(gk.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


# === gradkit.distributed =======================================================================
def test_distributed_without_a_process_group_behaves_as_pytorchs():
    import torch.distributed as tdist

    assert dist.is_initialized() is tdist.is_initialized() is False
    assert dist.is_available() is False and dist.is_torchelastic_launched() is False
    rank = dist.get_rank() if dist.is_initialized() else 0          # the usual guard
    assert rank == 0
    for name in ("get_rank", "get_world_size", "barrier"):
        with pytest.raises(Exception) as ref:
            getattr(tdist, name)()
        with pytest.raises(type(ref.value), match=rf"{name}: Default process group has not been "
                                                   r"initialized.*runs in one process"):
            getattr(dist, name)()
    with pytest.raises(ValueError, match=r"all_reduce: .*not supported in this build"):
        dist.all_reduce(gk.ones(2), op=dist.ReduceOp.SUM)
    with pytest.raises(NotImplementedError, match=r"init_process_group: not supported in this "
                                                  r"build.*not torchrun"):
        dist.init_process_group(backend="gloo")
    with pytest.raises(ValueError, match="destroy_process_group"):
        dist.destroy_process_group()
    with pytest.raises(AttributeError, match="has no 'rpc': distributed training is not supported"):
        dist.rpc


# === gradkit.onnx =============================================================================
def test_onnx_export_says_what_to_use_instead():
    assert gk.onnx.is_in_onnx_export() is False
    with pytest.raises(NotImplementedError, match=r"exporting to ONNX is not supported in this "
                                                  r"build; save the weights with gradkit\.save"):
        gk.onnx.export(gk.nn.Linear(2, 2), (gk.ones(1, 2),), "model.onnx")


# === gradkit.serialization ====================================================================
class _Config:
    pass


def test_serialization_names(tmp_path):
    from gradkit import serialization

    assert serialization.save is gk.save and serialization.load is gk.load
    before = serialization.get_safe_globals()
    serialization.add_safe_globals([_Config])
    try:
        assert serialization.get_safe_globals() == before + [_Config]
        with serialization.safe_globals([dict]):
            assert dict in serialization.get_safe_globals()
            serialization.save({"w": gk.ones(2)}, tmp_path / "w.safetensors")
            loaded = serialization.load(tmp_path / "w.safetensors")
        assert dict not in serialization.get_safe_globals()
        assert loaded["w"].numpy().tolist() == [1.0, 1.0]
    finally:
        serialization.clear_safe_globals()
    with pytest.raises(TypeError, match="expected a list of classes"):
        serialization.add_safe_globals(_Config)
    assert callable(torch.serialization.add_safe_globals)    # the names PyTorch has
