"""``from tensorflow.keras.layers import Dense`` and the other module-path imports work on
gradkit.tf.keras, each in a fresh interpreter, and give gradkit.keras' own objects (never a second
copy of a module)."""
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import gradkit as gk

FORMS = {
    "tf.keras layers": "from gradkit.tf.keras import layers\nassert layers is K.layers",
    "tf.keras.layers Dense": "from gradkit.tf.keras.layers import Dense, LSTM, Bidirectional\n"
                             "assert Dense is K.layers.Dense and "
                             "Bidirectional is K.layers.Bidirectional",
    "tf.keras.models Sequential": "from gradkit.tf.keras.models import Sequential, load_model\n"
                                  "assert Sequential is K.Sequential",
    "tf.keras submodules": "from gradkit.tf.keras import optimizers, losses, callbacks, datasets, "
                           "utils, preprocessing; from gradkit.tf.keras.datasets import imdb\n"
                           "assert optimizers is K.optimizers and preprocessing is "
                           "K.preprocessing and imdb is K.datasets.imdb",
    "tf.keras.preprocessing.sequence": "from gradkit.tf.keras.preprocessing.sequence import "
                                       "pad_sequences\n"
                                       "assert pad_sequences is K.utils.pad_sequences",
    "import tf.keras as": "import gradkit.tf.keras as keras\nassert keras is K",
    "tf then tf.keras attribute": "import gradkit.tf as tf\nassert tf.keras.layers.Dense is "
                                  "K.layers.Dense\nfrom gradkit.tf.keras.layers import Dense\n"
                                  "assert Dense is tf.keras.layers.Dense",
    "keras layers": "from gradkit.keras import layers; from gradkit.keras.layers import Dense\n"
                    "assert layers is K.layers and Dense is K.layers.Dense",
}

# after the import under test: gradkit.keras as K, and no module loaded twice
CHECK = """
import sys
import gradkit.keras as K
for name, module in list(sys.modules.items()):
    if name.startswith("gradkit.tf.keras"):
        assert module is sys.modules["gradkit.keras" + name[len("gradkit.tf.keras"):]], name
"""


@pytest.fixture(scope="module")
def fresh_runs():
    """Each form run in its own fresh interpreter; started together, collected once."""
    src = str(Path(gk.__file__).resolve().parents[1])      # the gradkit under test
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = {}
    for form, code in FORMS.items():
        statement, _, check = code.partition("\n")
        program = f"{statement}\n{CHECK}\n{check}\nprint('ok')"
        procs[form] = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, env=env)
    results = {}
    for form, p in procs.items():
        out, err = p.communicate(timeout=120)
        results[form] = (p.returncode, out, err)
    return results


@pytest.mark.parametrize("form", list(FORMS))
def test_import_form_works_in_a_fresh_interpreter(fresh_runs, form):
    code, out, err = fresh_runs[form]
    assert code == 0 and out.strip() == "ok", f"{FORMS[form]}\n{err}"


def test_tf_keras_modules_are_gradkit_keras_modules():
    import gradkit.keras as keras
    import gradkit.tf as tf
    import gradkit.tf.keras
    import gradkit.tf.keras.layers
    assert gradkit.tf.keras is keras is tf.keras
    assert gradkit.tf.keras.layers is keras.layers
    assert sys.modules["gradkit.tf.keras.layers.recurrent"] is keras.layers.recurrent


def test_every_gradkit_keras_module_is_loaded_with_the_package():
    # the aliases in gradkit/tf/keras.py cover the modules loaded when it runs: a module that
    # gradkit.keras imported only later would be loaded a second time under gradkit.tf.keras
    import gradkit.keras as keras
    names = [m.name for m in pkgutil.walk_packages(keras.__path__, "gradkit.keras.")]
    assert "gradkit.keras.layers.wrappers" in names
    assert [n for n in names if n not in sys.modules] == []
