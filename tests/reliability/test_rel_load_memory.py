"""Loading memory (issue 15, defect 6): ``gk.load`` and Keras ``load_model`` read the file once
(no whole-file copy, no random initialisation of weights about to be loaded), and a crafted
config asking for a huge layer is refused from the shapes before anything is allocated.

Peak memory is measured in a fresh interpreter: /proc/self/clear_refs resets the peak (VmHWM) to
the current resident size after the imports, so the peak increase is the load's alone."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import safetensors.numpy

import gradkit as gk
import gradkit.keras as keras

_MEASURE = """
import gc, sys
import gradkit as gk
import gradkit.keras as keras

def status(key):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024

gc.collect()
with open('/proc/self/clear_refs', 'w') as f:
    f.write('5')   # reset the peak resident size to the current one
before = status('VmRSS')
loaded = {call}
print(status('VmHWM') - before)
"""


def _peak_increase(call):
    """The peak resident-memory increase (bytes) of evaluating ``call`` in a fresh interpreter."""
    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("needs Linux's /proc/self/clear_refs to reset the peak resident size")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", _MEASURE.format(call=call)], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    return int(r.stdout.split()[-1])


N = 4096   # a 4096 x 4096 float32 weight: 64 MiB


def test_gk_load_peak_memory_is_about_the_file_size(tmp_path):
    p = tmp_path / "big.safetensors"
    gk.save({"w": np.ones((N, N), np.float32), "b": np.arange(N, dtype=np.float32)}, p)
    size = os.path.getsize(p)
    peak = _peak_increase(f"gk.load({str(p)!r})")
    assert peak < 1.6 * size, f"gk.load: +{peak / 2**20:.0f} MiB for {size / 2**20:.0f} MiB"


def test_load_model_peak_memory_is_about_the_file_size(tmp_path):
    p = tmp_path / "big.keras"
    keras.Sequential([keras.layers.Dense(N, input_shape=(N,))]).save(p)
    size = os.path.getsize(p)
    peak = _peak_increase(f"keras.models.load_model({str(p)!r})")
    assert peak < 1.6 * size, f"load_model: +{peak / 2**20:.0f} MiB for {size / 2**20:.0f} MiB"


def test_loaded_tensors_are_writable_and_never_write_to_the_file(tmp_path):
    p = tmp_path / "w.safetensors"
    gk.save({"w": gk.ones(4, 3), "n": gk.tensor(5)}, p)
    before = p.read_bytes()
    sd = gk.load(p)
    sd["w"].array[...] = 7.0
    sd["n"].array[...] = 1
    assert p.read_bytes() == before
    np.testing.assert_array_equal(gk.load(p)["w"].array, np.ones((4, 3), np.float32))


def test_load_model_draws_no_random_initial_values(tmp_path):
    p = tmp_path / "m.keras"
    keras.Sequential([keras.layers.Dense(3, input_shape=(4,)), keras.layers.Dense(2)]).save(p)
    gk.manual_seed(0)
    expected = gk.rand(5).array
    gk.manual_seed(0)
    keras.models.load_model(p)
    np.testing.assert_array_equal(gk.rand(5).array, expected)   # the global generator untouched


# === a crafted config: the layers' sizes are checked against the file's weights first ===========
def _crafted_model_file(path, units, weight_shape=(2, 4)):
    """A model file whose config asks for Dense(units) on 4 inputs, holding weights of
    ``weight_shape`` (a model.save file edited by hand)."""
    config = {"class_name": "Sequential", "config": {"name": "seq", "trainable": True, "layers": [
        {"class_name": "Dense", "config": {"name": "huge", "units": units,
                                           "batch_input_shape": [None, 4]},
         "build_input_shape": [None, 4]}], "declared_shape": [None, 4]},
        "build_input_shape": [None, 4]}
    tensors = {"0.linear.weight": np.zeros(weight_shape, np.float32),
               "0.linear.bias": np.zeros(weight_shape[:1], np.float32)}
    safetensors.numpy.save_file(tensors, path, metadata={
        "format": "gradkit.keras", "version": "1", "model_config": json.dumps(config)})


def test_crafted_config_asking_for_dense_2_pow_38_is_refused_before_allocating(tmp_path):
    p = tmp_path / "crafted.keras"
    _crafted_model_file(p, 2**38)
    # the address space capped 2 GiB above what the imports took: an attempt to allocate the
    # layer (4 TiB) fails in the child instead of swapping the machine
    code = f"""
import resource
import gradkit.keras as keras
with open('/proc/self/status') as f:
    vm = [int(line.split()[1]) * 1024 for line in f if line.startswith('VmSize')][0]
resource.setrlimit(resource.RLIMIT_AS, (vm + 2 * 2**30, resource.RLIM_INFINITY))
try:
    keras.models.load_model({str(p)!r})
except ValueError as e:
    print(e)
"""
    if not os.path.exists("/proc/self/status"):
        pytest.skip("needs Linux's /proc/self/status")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, OPENBLAS_NUM_THREADS="1"), timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    msg = r.stdout
    assert "crafted.keras" in msg and "'huge'" in msg and "Dense" in msg, msg
    assert "(274877906944, 4)" in msg and "(2, 4)" in msg, msg


def test_crafted_config_whose_shapes_differ_from_the_weights_is_refused(tmp_path):
    p = tmp_path / "edited.keras"
    _crafted_model_file(p, 2**16)   # config: (65536, 4); file: (2, 4)
    with pytest.raises(ValueError) as e:
        keras.models.load_model(p)
    msg = str(e.value)
    assert "edited.keras" in msg and "'huge'" in msg and "0.linear.weight" in msg
    assert "(65536, 4)" in msg and "(2, 4)" in msg


def test_a_valid_crafted_file_still_loads(tmp_path):
    p = tmp_path / "ok.keras"
    _crafted_model_file(p, 2)
    model = keras.models.load_model(p)
    assert model.layers[0].get_weights()[0].shape == (4, 2)
