"""docs/reliability.md keeps a table of every probe (issue 15, "Probes in the suite"): each test
of tests/reliability/ and of tests/io/test_checkpoint.py and tests/io/test_resume.py is named in
a row, and every test file a row links to exists. A new probe fails this test until its row is
written: what it tries, what gradkit does, and what PyTorch 2.13 and Keras 3 do."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
PROBES = sorted(p for p in (ROOT / "tests" / "reliability").glob("test_*.py")
                if p.name != Path(__file__).name) + [
    ROOT / "tests" / "io" / "test_checkpoint.py", ROOT / "tests" / "io" / "test_resume.py"]
# rows written for probes that other work adds (issue 15's exact resume in fit and the CLI)
PENDING = {"tests/keras/test_keras_resume.py", "tests/cli/test_cli_resume.py"}


def test_every_probe_has_a_row():
    text = DOC.read_text(encoding="utf-8")
    missing = [f"{path.relative_to(ROOT).as_posix()}::{name}"
               for path in PROBES
               for name in re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), re.M)
               if f"`{name}`" not in text]
    assert not missing, ("docs/reliability.md has no row naming these probes (add one: the probe, "
                         "gradkit, PyTorch 2.13, Keras 3):\n" + "\n".join(missing))


def test_every_linked_test_file_exists():
    text = DOC.read_text(encoding="utf-8")
    links = set(re.findall(r"\]\(\.\./(tests/[\w/]+\.py)\)", text))
    assert links, "no links to tests found"
    broken = sorted(link for link in links - PENDING if not (ROOT / link).is_file())
    assert not broken, f"docs/reliability.md links to missing files: {broken}"


def test_every_row_has_four_cells():
    rows = [line for line in DOC.read_text(encoding="utf-8").splitlines()
            if line.startswith("| ") and not line.startswith("| probe |")]
    bad = [row[:80] for row in rows
           if len(re.split(r"(?<!\\)\|", row.strip())[1:-1]) != 4]
    assert not bad, f"rows without the four columns (probe, gradkit, PyTorch 2.13, Keras 3): {bad}"
