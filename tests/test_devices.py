"""gradkit.devices, gk.cuda, gk.accelerator, gk.backends: the device API of PyTorch programs.
The questions answer as PyTorch's CPU build answers them (checked side by side); using a device
this build cannot compute on raises one clear error; CPU is a real device object."""
import subprocess
import sys

import numpy as np
import pytest
import torch

import gradkit as gk
import gradkit.nn as nn

QUESTIONS = ["cuda.is_available()", "cuda.device_count()", "cuda.is_initialized()",
             "cuda.manual_seed(0)", "cuda.manual_seed_all(0)", "cuda.empty_cache()",
             "cuda.memory_allocated()", "cuda.max_memory_allocated()",
             "cuda.is_bf16_supported()", "accelerator.is_available()",
             "accelerator.current_accelerator()", "accelerator.device_count()",
             "backends.mps.is_available()", "backends.mps.is_built()",
             "backends.cudnn.is_available()", "backends.cudnn.benchmark",
             "backends.cudnn.deterministic", "backends.cudnn.enabled",
             "backends.cuda.matmul.allow_tf32", "get_float32_matmul_precision()",
             "tensor([1.0]).is_cuda", "str(tensor([1.0]).device)", "str(device('cuda:1'))",
             "repr(device('cpu'))", "repr(device('cuda', 0))", "device('cpu') == device('cpu:0')",
             "device('cpu') == 'cpu'", "tensor([1.0]).device == device('cpu')",
             "tensor([1.0]).device.type", "device('cuda:2').index"]


@pytest.mark.parametrize("expr", QUESTIONS)
def test_answers_as_pytorchs_cpu_build(expr):
    assert eval(expr, vars(gk)) == eval(expr, vars(torch))


@pytest.mark.parametrize("call", ["tensor([1.0]).cuda()", "tensor([1.0]).to('cuda')",
                                  "tensor([1.0]).to('mps')", "tensor([1.0]).to(device('cuda:0'))",
                                  "zeros(2, device='cuda')", "randn(2, device='cuda')",
                                  "tensor([1.0], device='cuda')", "arange(3, device='cuda')",
                                  "zeros_like(tensor([1.0]), device='cuda')",
                                  "nn.Linear(2, 2).to('cuda')", "nn.Linear(2, 2).cuda()",
                                  "cuda.synchronize()", "cuda.current_device()"])
def test_using_a_device_that_is_not_there_raises_where_pytorch_does_and_names_the_fix(call):
    with pytest.raises(Exception):      # PyTorch's CPU build refuses each of these too
        eval(call, {**vars(torch), "nn": torch.nn})
    with pytest.raises(RuntimeError, match=r"device '(cuda|mps)(:0)?' is not available: gradkit "
                                           r"computes on the CPU.*is_available\(\) else 'cpu'"):
        eval(call, {**vars(gk), "nn": nn})


def test_the_usual_device_choice_runs_a_training_step_on_the_cpu():
    device = gk.device("cuda" if gk.cuda.is_available() else "cpu")
    if gk.accelerator.is_available():
        device = gk.accelerator.current_accelerator()
    gk.backends.cudnn.benchmark = True
    gk.backends.cuda.matmul.allow_tf32 = True
    model = nn.Linear(3, 2).to(device)
    x = gk.randn(4, 3).to(device, non_blocking=True)
    loss = model(x).pow(2).mean()
    loss.backward()
    assert model.weight.grad.device == device and x.device.type == "cpu"
    assert gk.backends.cudnn.benchmark is True          # the switch keeps what was written


def test_to_reads_devices_dtypes_and_tensors_in_any_order():
    x = gk.tensor([1.5, 2.5])
    assert x.to("cpu") is x and x.to(gk.device("cpu")) is x and x.to("cpu", gk.float32) is x
    assert x.to("cpu", gk.float64).dtype == gk.float64
    assert x.to(gk.float64, device="cpu").dtype == gk.float64
    assert x.to(gk.zeros(1, dtype=gk.float16)).dtype == gk.float16
    assert x.to(dtype=gk.int64).tolist() == [1, 2]
    y = x.to("cpu", copy=True)
    assert y is not x and np.array_equal(y.numpy(), x.numpy())
    with pytest.raises(TypeError, match=r"expected a dtype \(gk.float32\), a device \('cpu'\)"):
        x.to([1])


def test_module_to_device_and_dtype_in_place():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    assert m.to(gk.device("cpu"), gk.float64) is m
    assert m[0].weight.dtype == gk.float64 and m[1].running_mean.dtype == gk.float64
    assert m[1].num_batches_tracked.dtype == gk.int64          # integer buffers keep theirs
    with pytest.raises(TypeError, match="only floating dtypes"):
        m.to(gk.int64)


def test_device_objects_validate_as_pytorch_does():
    assert gk.device("cuda", 1) == gk.device("cuda:1") and str(gk.device("cuda", 1)) == "cuda:1"
    assert hash(gk.device("cpu")) == hash(gk.device("cpu"))
    for bad, match in [("gpu", "unknown device type 'gpu'"), ("cuda:x", "invalid device string"),
                       (1.5, "expected a string")]:
        with pytest.raises((ValueError, TypeError), match=match):
            gk.device(bad)
        with pytest.raises((ValueError, TypeError, RuntimeError)):
            torch.device(bad)


def test_dtype_objects_are_accepted_by_to_including_bfloat16():
    x = gk.tensor([1.0, 2.0])
    for name in ("bfloat16", "float16", "float64", "int64"):
        assert str(x.to(getattr(gk, name)).dtype) == name


def test_bfloat16_without_ml_dtypes_names_the_extra():
    code = ("import sys; sys.modules['ml_dtypes'] = None\n"
            "import gradkit as gk\n"
            "try:\n    gk.bfloat16\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "gk.bfloat16 needs the ml_dtypes package" in out and "bf16" in out


def test_deterministic_and_matmul_precision_switches():
    gk.use_deterministic_algorithms(True)
    try:
        assert gk.are_deterministic_algorithms_enabled() is True
    finally:
        gk.use_deterministic_algorithms(False)
    with pytest.raises(ValueError, match="'highest', 'high' or 'medium'"):
        gk.set_float32_matmul_precision("low")


def test_import_paths_of_real_programs():
    import gradkit.backends.cudnn as cudnn
    cudnn.deterministic = True
    assert gk.backends.cudnn.deterministic is True
    cudnn.deterministic = False


@pytest.mark.parametrize("spec,value", [(".4f", 1.23456), ("+.2f", 1.5), (".1e", 12345.0),
                                        ("", 2.5), (">8.3f", -0.5)])
def test_format_specs_on_one_element_tensors_as_on_numbers(spec, value):
    assert format(gk.tensor(value), spec) == format(torch.tensor(value), spec) \
        == format(value, spec)
    assert format(gk.tensor([value]), spec) == format(value, spec)   # PyTorch: 0-d only


def test_a_format_spec_on_a_larger_tensor_says_what_to_do():
    with pytest.raises(TypeError, match=r"shape \(2,\): a format spec applies to one-element"):
        f"{gk.tensor([1.0, 2.0]):.2f}"
    assert f"{gk.tensor([1, 2])}" == str(gk.tensor([1, 2]))
