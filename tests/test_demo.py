import subprocess
import sys


def test_demo_runs_passes_gradcheck_and_learns_xor():
    out = subprocess.run([sys.executable, "-m", "gradkit", "demo"], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "gradient check against central differences: passed" in out
    final = [line for line in out.splitlines() if line.startswith("step 1000")][0]
    assert float(final.split()[-1]) < 0.01
    source = out.splitlines()[-1].split(": ", 1)[1]
    assert out.splitlines()[-1].startswith("the code of this demo") and source.endswith("demo.py")
    assert "def forward(params, x):" in open(source, encoding="utf-8").read()
