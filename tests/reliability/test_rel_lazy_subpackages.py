"""``import gradkit as gk`` reaches the subpackages as attributes (``gk.data``, ``gk.utils.data``),
as ``torch.utils.data`` after ``import torch``, without importing them up front (issue 15)."""
import os
import subprocess
import sys

import pytest


def _run(code):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_subpackages_are_attributes_after_import_gradkit():
    out = _run("import gradkit as gk\n"
               "print(gk.data.DataLoader.__module__, gk.utils.data.DataLoader is gk.data.DataLoader,\n"
               "      gk.utils.checkpoint.__name__, gk.datasets.__name__, gk.metrics.__name__)")
    assert out == "gradkit.data.dataloader True gradkit.utils.checkpoint gradkit.datasets gradkit.metrics"


@pytest.mark.parametrize("name", ["keras", "tf", "models", "peft"])
def test_heavier_subpackages_too(name):
    assert _run(f"import gradkit as gk; print(gk.{name}.__name__)") == f"gradkit.{name}"


def test_import_gradkit_stays_lazy_and_unknown_names_still_fail():
    out = _run("import sys, gradkit as gk\n"
               "print(sorted(m for m in ('gradkit.data', 'gradkit.keras', 'gradkit.utils') if m in sys.modules))\n"
               "try:\n    gk.no_such_thing\nexcept AttributeError as e:\n    print(e)")
    lazy, err = out.splitlines()
    assert lazy == "[]"
    # an AttributeError that says the name is not supported (gradkit._unsupported)
    assert err.startswith("gradkit does not support torch.no_such_thing yet")
