"""examples/readme_*.py hold README's two examples verbatim (the README blocks run in
tests/docs/test_docs_run.py; these files are the same code as scripts a user runs)."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("script,first_line", [("readme_pytorch_style.py", "import gradkit as torch"),
                                               ("readme_keras_style.py", "import gradkit.tf as tf")])
def test_the_example_script_holds_the_readme_block(script, first_line):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    block = next(b for b in blocks if b.startswith(first_line))
    text = (ROOT / "examples" / script).read_text(encoding="utf-8")
    held = text.split("# --- README block begins\n", 1)[1].split("# --- README block ends", 1)[0]
    assert held == block, f"examples/{script} no longer matches README.md's block; copy it over"
