"""The PyTorch column of docs/reliability.md: the file probes of tests/reliability/ and tests/io/
run against ``torch.save``/``torch.load`` and ``safetensors.torch``, one printed line each.
(The probes on labels, shapes and numerics run PyTorch inside their tests.)

    python -m benchmarks.reliability_pytorch            # about a minute, mostly the 9 kills

Linux only (SIGKILL, RLIMIT_FSIZE, /proc/self/status). Nothing here is gradkit.
"""
import json
import os
import random
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import time

import safetensors.torch
import torch

WRITER = r"""
import sys, torch
state = {f"w{i}": torch.full((1024, 1024), float(i)) for i in range(48)}   # 192 MiB
torch.save(state, sys.argv[1])
print("ready", flush=True)
while True:
    torch.save(state, sys.argv[1])
"""

PEAK = """
import gc, torch
def status(key):
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))
gc.collect()
with open('/proc/self/clear_refs', 'w') as f:
    f.write('5')
before = status('VmRSS')
loaded = torch.load({path!r})
print(status('VmHWM') - before)
"""


def outcome(fn):
    """'ok: <value>' or 'ExceptionType: message' (first line, shortened)."""
    try:
        return f"ok: {fn()!r}"[:160]
    except Exception as e:   # noqa: BLE001  the type is the result
        return f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:140]}"


def kills(folder, n=9):
    """SIGKILL a process that torch.saves in a loop, n times; how often is the file unreadable?"""
    rng, bad = random.Random(0), 0
    for k in range(n):
        path = os.path.join(folder, f"kill{k}.pt")
        proc = subprocess.Popen([sys.executable, "-c", WRITER, path], stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.4))
        proc.kill()
        proc.wait()
        bad += not outcome(lambda: len(torch.load(path))).startswith("ok")
        os.remove(path)
    return f"{bad} of {n} kills left an unreadable file"


def disk_full(folder):
    """torch.save over a good file, with writes past 1 MiB refused (EFBIG, as a full disk)."""
    path = os.path.join(folder, "full.pt")
    torch.save({"w": torch.ones(10)}, path)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, hard))
    try:
        error = outcome(lambda: torch.save({"w": torch.ones(1 << 20)}, path))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    return f"save: {error}; the previous file: {outcome(lambda: torch.load(path)['w'].shape)}"


def crafted_safetensors(folder):
    """The crafted headers of tests/reliability/test_rel_checkpoint.py, through safetensors."""
    f32 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    cases = {
        "bad JSON": (b'{"a": {"dtype": "F32", ', b""),
        "unknown dtype": (json.dumps({"a": {**f32, "dtype": "Q8"}}).encode(), b"\0" * 8),
        "shape vs bytes": (json.dumps({"a": {**f32, "shape": [3]}}).encode(), b"\0" * 8),
        "100,000-deep header": (b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", b""),
    }
    lines = []
    for name, (header, body) in cases.items():
        path = os.path.join(folder, "crafted.safetensors")
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(header)) + header + body)
        lines.append(f"  {name}: {outcome(lambda: safetensors.torch.load_file(path))}")
    return "\n" + "\n".join(lines)


def damaged(folder):
    path = os.path.join(folder, "d.pt")
    torch.save({"w": torch.arange(1000.0)}, path)
    data = open(path, "rb").read()
    edited = bytearray(data)
    edited[data.index(struct.pack("<f", 500.0))] ^= 1           # one bit of one weight
    open(path, "wb").write(bytes(edited))
    flipped = outcome(lambda: torch.load(path)["w"][500].item())
    open(path, "wb").write(data[:-10])
    return f"one bit flipped: {flipped}; 10 bytes cut: {outcome(lambda: torch.load(path))}"


class Payload:
    def __reduce__(self):
        return (print, ("a crafted pickle ran code",))


def main():
    print(f"torch {torch.__version__}, safetensors {safetensors.__version__}")
    with tempfile.TemporaryDirectory() as folder:
        p = os.path.join(folder, "z.pt")
        torch.save({"n": torch.tensor(7)}, p)
        print("0-d tensor round trip:", outcome(lambda: tuple(torch.load(p)["n"].shape)))
        for mask in (0o022, 0o002):
            old = os.umask(mask)
            torch.save({}, p + str(mask))
            os.umask(old)
            print(f"file mode with umask {mask:o}: {os.stat(p + str(mask)).st_mode & 0o777:o}")
        torch.save(Payload(), p)
        print("crafted pickle, torch.load default:", outcome(lambda: torch.load(p)))
        print("the same, weights_only=False:", outcome(lambda: torch.load(p, weights_only=False)))
        print("missing parent folder:",
              outcome(lambda: torch.save({}, os.path.join(folder, "no", "such", "m.pt"))))
        print("a lambda in the state:", outcome(lambda: torch.save({"f": lambda: 0}, p)))
        print("damaged file:", damaged(folder))
        print("crafted safetensors headers (safetensors.torch.load_file):",
              crafted_safetensors(folder))
        a, b = torch.nn.Linear(3, 4), torch.nn.Linear(4, 3)      # same count, other shapes
        opt_a = torch.optim.Adam(a.parameters())
        a(torch.randn(2, 3)).sum().backward()
        opt_a.step()
        opt_b = torch.optim.Adam(b.parameters())
        print("Adam state of another model, load:", outcome(lambda: opt_b.load_state_dict(
            opt_a.state_dict())))
        b(torch.randn(2, 4)).sum().backward()
        print("  ... then step:", outcome(opt_b.step))
        big = os.path.join(folder, "big.pt")
        torch.save({"w": torch.ones(4096, 4096)}, big)
        r = subprocess.run([sys.executable, "-c", PEAK.format(path=big)], capture_output=True,
                           text=True)
        print(f"torch.load peak memory for a {os.path.getsize(big) / 2**20:.0f} MiB file: "
              f"+{int(r.stdout) / 2**20:.0f} MiB")
        print("torch.save with the disk full:", disk_full(folder))
        print("SIGKILL during torch.save:", kills(folder))


if __name__ == "__main__":
    main()
