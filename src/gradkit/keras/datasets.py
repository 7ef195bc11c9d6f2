"""``keras.datasets``: the classic data sets in Keras' shapes, dtypes and splits, read by
``gradkit.datasets`` (files found on disk or downloaded, always verified).

    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()

=================  ====================================  ===============================
data set           x_train, y_train                      x_test, y_test
=================  ====================================  ===============================
mnist              uint8 (60000, 28, 28), uint8 (60000,)   uint8 (10000, 28, 28), (10000,)
fashion_mnist      uint8 (60000, 28, 28), uint8 (60000,)   uint8 (10000, 28, 28), (10000,)
cifar10            uint8 (50000, 32, 32, 3), uint8 (50000, 1)  (10000, 32, 32, 3), (10000, 1)
boston_housing     float64 (404, 13), float64 (404,)       float64 (102, 13), (102,)
imdb               object (25000,) of int lists, int64     object (25000,), (25000,)
=================  ====================================  ===============================

Images are channels-last, as Keras' Conv2D expects; pixel values are raw 0-255 (divide by
255.0 yourself, as the Keras tutorials do). Boston housing is split as Keras splits it
(``test_split=0.2, seed=113``: the same 404/102 rows). Files are looked up in ``path`` (a
folder), ``$GRADKIT_DATA``, ``~/.cache/gradkit`` and system folders, and fetched if missing,
as Keras fetches them on first use.

IMDB is Keras' own preprocessed file, ``imdb.npz`` (reviews as word indices, by frequency rank),
read from Keras' cache folder (``~/.keras/datasets``, or ``$KERAS_HOME/datasets``) or
``$GRADKIT_DATA/imdb/``; gradkit does not fetch it (see ``imdb.load_data``).
"""
import json
import os
import pickletools
import zipfile
from pathlib import Path

import numpy as np

from .. import datasets as gk_datasets

__all__ = ["mnist", "fashion_mnist", "cifar10", "boston_housing", "imdb"]


class _ImageSet:
    def __init__(self, name, loader, channels_last_from_nchw=False, label_shape=None):
        self.name, self._loader = name, loader
        self._transpose = channels_last_from_nchw
        self._label_column = label_shape == "column"

    def load_data(self, path=None):
        """((x_train, y_train), (x_test, y_test)) in Keras' shapes and dtypes (see the module
        docstring). ``path``: a folder holding the files (optional)."""
        out = []
        for split in ("train", "test"):
            x, y = self._loader(split, root=path, download=True)
            if self._transpose:
                x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
            y = y.astype(np.uint8)
            if self._label_column:
                y = y.reshape(-1, 1)
            out.append((x, y))
        return tuple(out)

    def __repr__(self):
        return f"<keras.datasets.{self.name}>"


class _Boston:
    name = "boston_housing"

    def load_data(self, path=None, test_split=0.2, seed=113):
        """((x_train, y_train), (x_test, y_test)): float64 features (N, 13) and median values
        in $1000s (N,), split as Keras: rows shuffled with ``seed``, the last ``test_split`` of
        them for testing (404 train / 102 test by default)."""
        out = []
        for split in ("train", "test"):
            out.append(gk_datasets.boston_housing(split, root=path, download=True,
                                                  test_split=test_split, seed=seed,
                                                  dtype=np.float64))
        return tuple(out)

    def __repr__(self):
        return "<keras.datasets.boston_housing>"


mnist = _ImageSet("mnist", gk_datasets.mnist)
fashion_mnist = _ImageSet("fashion_mnist", gk_datasets.fashion_mnist)
cifar10 = _ImageSet("cifar10", gk_datasets.cifar10, channels_last_from_nchw=True,
                    label_shape="column")
boston_housing = _Boston()


# === IMDB: Keras' imdb.npz ======================================================================
_KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def _keras_cache():
    """Keras' dataset cache: ``$KERAS_HOME/datasets``, by default ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def _find_keras_file(fname, folder, where, size):
    """The path of Keras' data file ``fname``: ``fname`` itself when absolute, else the first of
    ``$GRADKIT_DATA/<folder>/``, ``$GRADKIT_DATA/``, Keras' cache and gradkit's cache that holds
    it. Not found: ``DatasetNotFoundError`` saying where to put it."""
    if os.path.isabs(fname):
        dirs, fname = [Path(fname).parent], Path(fname).name
    else:
        dirs = []
        for entry in os.environ.get("GRADKIT_DATA", "").split(os.pathsep):
            if entry:
                dirs += [Path(entry) / folder, Path(entry)]
        dirs += [_keras_cache(), gk_datasets.cache_dir() / folder]
    for d in dirs:
        if (d / fname).is_file():
            return d / fname
    searched = "\n".join(f"  {d}" for d in dirs)
    raise gk_datasets.DatasetNotFoundError(
        f"{where}: file {fname} not found. Searched:\n{searched}\nFix: gradkit does not download "
        f"it; fetch {_KERAS_ORIGIN}{fname} ({size}) and put it at {_keras_cache() / fname} "
        f"(Keras' cache folder), or in $GRADKIT_DATA/{folder}/, or pass path= the file's full "
        "path")


# the names the pickle stream of a NumPy object array uses for its rebuilding function and class
_ARRAY_NAMES = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype")}
_VALUE_OPS = {"BININT", "BININT1", "BININT2", "LONG1", "LONG4", "BINFLOAT", "SHORT_BINBYTES",
              "BINBYTES", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "SHORT_BINSTRING",
              "BINSTRING"}
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}


class _Call:
    """``fn(*args)`` with ``state``, as a pickle stream describes it: recorded, never called."""

    def __init__(self, fn, args):
        self.fn, self.args, self.state = fn, args, None


def _read_object_array(stream):
    """A 1-D object array of lists of numbers from the pickle stream that ``np.save`` writes for
    it, read as data: the stream's opcodes are decoded (``pickletools.genops``, which executes
    nothing) and only values, lists, tuples and the NumPy array's own names are accepted; no
    class or function named in the file is ever imported or called."""
    stack, marks, memo = [], [], {}
    for op, arg, _ in pickletools.genops(stream):
        name = op.name
        if name in ("PROTO", "FRAME"):
            continue
        if name == "STOP":
            break
        if name in _VALUE_OPS:
            stack.append(arg)
        elif name in _CONSTANTS:
            stack.append(_CONSTANTS[name])
        elif name in ("GLOBAL", "STACK_GLOBAL"):
            module, qual = arg.split(" ") if name == "GLOBAL" else stack[-2:]
            if name == "STACK_GLOBAL":
                del stack[-2:]
            if (module, qual) not in _ARRAY_NAMES:
                raise ValueError(f"{module}.{qual} is not allowed in a data file (only NumPy "
                                 "arrays of numbers and lists are)")
            stack.append((module, qual))
        elif name == "MARK":
            marks.append(len(stack))
        elif name in ("EMPTY_LIST", "EMPTY_TUPLE"):
            stack.append([] if name == "EMPTY_LIST" else ())
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3", "TUPLE", "APPENDS", "LIST"):
            start = len(stack) - int(name[-1]) if name[-1].isdigit() else marks.pop()
            items = stack[start:]
            del stack[start:]
            if name == "APPENDS":
                stack[-1].extend(items)
            else:
                stack.append(items if name == "LIST" else tuple(items))
        elif name == "APPEND":
            item = stack.pop()
            stack[-1].append(item)
        elif name in ("BINPUT", "LONG_BINPUT", "MEMOIZE"):
            memo[len(memo) if name == "MEMOIZE" else arg] = stack[-1]
        elif name in ("BINGET", "LONG_BINGET"):
            stack.append(memo[arg])
        elif name == "REDUCE":
            args = stack.pop()
            stack.append(_Call(stack.pop(), args))
        elif name == "BUILD":
            state = stack.pop()
            stack[-1].state = state
        else:
            raise ValueError(f"the pickle opcode {name} is not plain data")
    array = stack[-1] if stack else None
    state = getattr(array, "state", None)
    if not (isinstance(state, tuple) and len(state) == 5 and isinstance(state[4], list)
            and len(state[1]) == 1 and state[1][0] == len(state[4])):
        raise ValueError("an object array is not a 1-D array of lists")
    return _object_array(state[4])


def _read_npz(path, keys, where):
    """The arrays ``keys`` of the .npz file ``path``; object arrays (lists of word indices) are
    read as data by ``_read_object_array``, where Keras runs ``np.load(allow_pickle=True)``."""
    headers = {(1, 0): np.lib.format.read_array_header_1_0,
               (2, 0): np.lib.format.read_array_header_2_0}
    arrays = {}
    try:
        with zipfile.ZipFile(path) as z:
            for key in keys:
                with z.open(f"{key}.npy") as f:
                    version = np.lib.format.read_magic(f)
                    if version not in headers:
                        raise ValueError(f"{key}.npy is in .npy format version {version}")
                    _, _, dtype = headers[version](f)
                    if dtype.hasobject:
                        arrays[key] = _read_object_array(f)
                    else:
                        f.seek(0)
                        arrays[key] = np.lib.format.read_array(f, allow_pickle=False)
    except (KeyError, ValueError, IndexError, OSError, zipfile.BadZipFile) as e:
        raise gk_datasets.CorruptFileError(
            f"{where}: {path} is not Keras' {Path(path).name} (a .npz holding {', '.join(keys)}): "
            f"{e}. Fetch it again from {_KERAS_ORIGIN}{Path(path).name}") from None
    return arrays


def _object_array(lists):
    """A 1-D object array of lists (``np.array`` would make a 2-D array of equal-length lists)."""
    out = np.empty(len(lists), dtype=object)
    for i, item in enumerate(lists):   # one by one: a slice assignment would broadcast the lists
        out[i] = item
    return out


class _Imdb:
    name = "imdb"

    def load_data(self, path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113,
                  start_char=1, oov_char=2, index_from=3, **kwargs):
        """IMDB movie reviews, 25,000 to train and 25,000 to test, as lists of word indices;
        labels 1 (positive) and 0 (negative). Keras' rules, applied in this order:

        1. each split is shuffled with ``np.random.RandomState(seed)`` (train, then test);
        2. every index is shifted by ``index_from`` (Defaults to ``3``) and each review starts
           with ``start_char`` (Defaults to ``1``; ``None``: no start mark); 0 stays padding;
        3. with ``maxlen``, reviews of ``maxlen`` or more indices (start mark included) are
           dropped, with their labels;
        4. indices outside ``[skip_top, num_words)`` become ``oov_char`` (Defaults to ``2``;
           ``None``: they are removed). ``num_words`` defaults to the largest index, which is
           then itself out of range, and ``skip_top > 1`` turns the start mark into
           ``oov_char`` too: both as in Keras.

        Returns ``((x_train, y_train), (x_test, y_test))``: x an object array of lists of ints,
        y int64. Word ``w`` of ``get_word_index()`` is index ``word_index[w] + index_from``.

        The file is Keras' ``imdb.npz`` (17 MB), read from ``path`` when absolute, else from
        ``$GRADKIT_DATA/imdb/``, ``$GRADKIT_DATA``, Keras' cache (``~/.keras/datasets``) or
        ``~/.cache/gradkit/imdb``; gradkit does not download it. Maas et al., "Learning Word
        Vectors for Sentiment Analysis", ACL 2011.
        """
        if kwargs:
            raise TypeError(f"imdb.load_data: unrecognized keyword arguments {sorted(kwargs)}")
        where = "keras.datasets.imdb.load_data"
        file = _find_keras_file(path, "imdb", where, "17 MB")
        f = _read_npz(file, ("x_train", "y_train", "x_test", "y_test"), where)
        rng = np.random.RandomState(seed)
        splits = []
        for x, y in ((f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])):
            order = np.arange(len(x))
            rng.shuffle(order)
            splits.append((x[order], y[order]))

        head = [] if start_char is None else [start_char]
        shift = index_from or 0
        splits = [([head + [w + shift for w in review] for review in x], y) for x, y in splits]
        if maxlen:
            splits = [([r for r in x if len(r) < maxlen], y[[len(r) < maxlen for r in x]])
                      for x, y in splits]
            if not splits[0][0] or not splits[1][0]:
                raise ValueError(f"{where}: after dropping the reviews of maxlen={maxlen} or more "
                                 "indices, no review was kept; increase maxlen")
        if not num_words:
            num_words = max(max(r) for x, _ in splits for r in x if r)
        if oov_char is not None:
            splits = [([[w if skip_top <= w < num_words else oov_char for w in r] for r in x], y)
                      for x, y in splits]
        else:
            splits = [([[w for w in r if skip_top <= w < num_words] for r in x], y)
                      for x, y in splits]
        return tuple((_object_array(x), np.asarray(y)) for x, y in splits)

    def get_word_index(self, path="imdb_word_index.json"):
        """{word: frequency rank (1 = most frequent)}, from Keras' ``imdb_word_index.json``
        (found as ``load_data`` finds ``imdb.npz``). In ``load_data``'s reviews, word ``w`` is
        the index ``word_index[w] + index_from``."""
        file = _find_keras_file(path, "imdb", "keras.datasets.imdb.get_word_index", "1.6 MB")
        with open(file, encoding="utf-8") as fh:
            return json.load(fh)

    def __repr__(self):
        return "<keras.datasets.imdb>"


imdb = _Imdb()
