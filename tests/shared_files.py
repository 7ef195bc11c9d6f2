"""Files the tests need that a fresh clone does not have, and the one rule for their absence.

- the project's shared data sets, ``../shared/data`` beside the checkout (``GRADKIT_DATA``
  overrides);
- the five source articles whose listings must run, ``../shared/seeds`` (``GRADKIT_SEEDS``);
- the full Fashion-MNIST from Debian's ``dataset-fashion-mnist``;
- the pretrained models from pip packages (``gradkit.models.pretrained`` finds them).

A test that needs one of them is marked ``data`` (``pytest -m "not data"`` runs the rest with
nothing but the clone): ``@pytest.mark.data("boston_housing")`` names what it needs and
tests/conftest.py calls ``need_files`` before the test; a fixture that brings such files calls a
``need_*`` helper itself and is listed in tests/conftest.py's ``DATA_FIXTURES``.
"""
import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = Path(os.environ.get("GRADKIT_DATA") or SHARED / "data")
SEEDS = Path(os.environ.get("GRADKIT_SEEDS") or SHARED / "seeds")
# where gradkit.datasets.fashion_mnist finds Debian's package (gradkit/datasets/idx.py)
FASHION_MNIST_APT = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = [f"{split}-{kind}-ubyte.gz" for split in ("train", "t10k")
                       for kind in ("images-idx3", "labels-idx1")]

SHARED_HINT = ("put the project's shared/ folder beside the checkout, or point GRADKIT_DATA and "
               "GRADKIT_SEEDS at its data/ and seeds/; pytest -m 'not data' runs without it")
FASHION_MNIST_HINT = "apt-get install dataset-fashion-mnist (as root); pytest -m 'not data' runs without it"


def need(present, what, hint):
    """Skip a test whose file or package is missing, with the command that brings it; under CI
    (CI=true) fail instead, so that CI can never pass by skipping. Returns ``present``."""
    if not present:
        msg = f"missing {what}: {hint}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    return present


def need_data(name):
    """The shared data set's folder ``SHARED_DATA/name`` (e.g. "mnist")."""
    folder = SHARED_DATA / name
    return need(folder if folder.is_dir() else None, f"the shared data set {folder}", SHARED_HINT)


def need_seeds():
    """The folder of the five source articles."""
    return need(SEEDS if any(SEEDS.glob("00*_*.txt")) else None,
                f"the source articles {SEEDS}/00*_*.txt", SHARED_HINT)


def need_fashion_mnist(apt=False):
    """The folder holding the full Fashion-MNIST: ``SHARED_DATA/fashion-mnist`` or Debian's
    package folder (``apt=True``: the package folder only)."""
    folders = [FASHION_MNIST_APT] if apt else [SHARED_DATA / "fashion-mnist", FASHION_MNIST_APT]
    found = next((f for f in folders if all((f / n).is_file() for n in FASHION_MNIST_FILES)), None)
    return need(found, f"Fashion-MNIST ({FASHION_MNIST_APT})", FASHION_MNIST_HINT)


def need_files(*names):
    """What ``@pytest.mark.data(*names)`` asks for: "seeds", "fashion-mnist", "fashion-mnist-apt"
    or a shared data set's folder name."""
    special = {"seeds": need_seeds, "fashion-mnist": need_fashion_mnist,
               "fashion-mnist-apt": lambda: need_fashion_mnist(apt=True)}
    for name in names:
        if name in special:
            special[name]()
        else:
            need_data(name)


def seed_article(prefix):
    """The text of the seed article ``<prefix>_*.txt`` (e.g. "001")."""
    found = sorted(need_seeds().glob(f"{prefix}_*.txt"))
    need(found, f"the source article {SEEDS}/{prefix}_*.txt", SHARED_HINT)
    return found[0].read_text(encoding="utf-8")
