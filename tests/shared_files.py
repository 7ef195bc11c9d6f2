"""Where the tests find the project's shared/ folder (beside the checkout): its data sets
(GRADKIT_DATA overrides) and the five source articles whose listings must run (GRADKIT_SEEDS)."""
import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = Path(os.environ.get("GRADKIT_DATA") or SHARED / "data")
SEEDS = Path(os.environ.get("GRADKIT_SEEDS", SHARED / "seeds"))


def seed_article(prefix):
    """The text of the seed article ``<prefix>_*.txt`` (e.g. "001")."""
    found = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    if not found:
        raise FileNotFoundError(f"seed article {prefix}_*.txt not found in {SEEDS}: the tests expect "
                                "the project's shared/ folder beside the checkout; set GRADKIT_SEEDS "
                                "to the seeds folder (and GRADKIT_DATA to the data folder) elsewhere")
    return found[0].read_text(encoding="utf-8")


def need(present, what, hint):
    """Skip a test whose file or package is missing, with the command that brings it; under CI
    (CI=true) fail instead, so that CI can never pass by skipping. Returns ``present``."""
    if not present:
        msg = f"{what} is not installed: {hint}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    return present
