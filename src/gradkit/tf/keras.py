"""``gradkit.tf.keras`` is ``gradkit.keras``: the same module objects under TensorFlow's path.

TensorFlow programs import Keras by module path as often as by attribute::

    from tensorflow.keras import layers                      # gradkit.tf.keras ...
    from tensorflow.keras.layers import Dense, LSTM
    from tensorflow.keras.preprocessing.sequence import pad_sequences

Importing this module puts ``gradkit.keras`` and each of its loaded submodules into
``sys.modules`` under the ``gradkit.tf.keras`` name as well, so that every such import finds
the module already loaded: ``gradkit.tf.keras.layers is gradkit.keras.layers``. Nothing is
loaded twice (a second copy would hold second copies of every class, and ``isinstance`` would
fail between them). ``gradkit.keras`` imports all of its submodules when it is imported, so the
aliases cover the whole package; tests/tf/test_tf_module_paths.py checks that it stays so.
"""
import sys

from .. import keras as _keras

_SOURCE, _ALIAS = _keras.__name__, __name__    # "gradkit.keras", "gradkit.tf.keras"

for _name, _module in list(sys.modules.items()):
    if _name == _SOURCE or _name.startswith(_SOURCE + "."):
        sys.modules.setdefault(_ALIAS + _name[len(_SOURCE):], _module)

# this module's own entry becomes gradkit.keras: the import statement that is running returns it
sys.modules[__name__] = _keras
