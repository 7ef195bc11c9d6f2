"""gk.io.save_checkpoint / load_checkpoint: a PyTorch-style run killed with SIGKILL in the middle of
an epoch and resumed ends bit-identical to an uninterrupted run, step by step; damaged, edited and
foreign files name themselves; a failed save leaves the previous checkpoint intact."""
import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gradkit as gk
import gradkit.nn as nn

# A run with everything that makes resuming hard: shuffling, dropout (global generator),
# BatchNorm (running statistics, a 0-d counter), Adam's moments, a schedule stepped per batch,
# and random augmentation inside the loader. It checkpoints every CKPT_EVERY steps, appends each
# step's loss to losses.jsonl, and with KILL_AT kills itself (SIGKILL: no cleanup, no atexit)
# right after that step's update, between two checkpoints.
SCRIPT = textwrap.dedent("""
    import json, os, signal, sys
    import numpy as np
    import gradkit as gk
    import gradkit.nn as nn
    from gradkit.data import DataLoader, TensorDataset
    from gradkit.data.transforms import Transform

    out, kill_at, resume = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "resume"
    ckpt = os.path.join(out, "ckpt.safetensors")
    gk.manual_seed(0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 6)).astype(np.float32)
    y = (x[:, :3].sum(1) > 0).astype(np.int64)

    class Jitter(Transform):            # a random augmentation, drawn from the loader's generator
        def __call__(self, batch, rng):
            return batch + rng.normal(0, 0.05, batch.shape).astype(np.float32)

    ds = TensorDataset(x, y, transform=Jitter())
    loader = DataLoader(ds, batch_size=16, shuffle=True)
    model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(16, 2))
    opt = gk.optim.Adam(model.parameters(), lr=1e-2)
    sched = gk.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.9)
    loss_fn = nn.CrossEntropyLoss()
    step, start_epoch = 0, 0
    if resume:
        state = gk.io.load_checkpoint(ckpt, model=model, optimizer=opt, scheduler=sched,
                                      loader=loader)
        step, start_epoch = state["step"], state["epoch"]
    log = open(os.path.join(out, "losses.jsonl"), "a")
    for epoch in range(start_epoch, 3):
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            log.write(json.dumps([step, loss.item()]) + "\\n"); log.flush()
            if step % 5 == 0:
                gk.io.save_checkpoint(ckpt, model=model, optimizer=opt, scheduler=sched,
                                      loader=loader, epoch=epoch, step=step)
            if step == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
    gk.save(model.state_dict(), os.path.join(out, "final.safetensors"))
""")


def _run(tmp_path, out, kill_at, mode):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    return subprocess.run([sys.executable, str(script), str(out), str(kill_at), mode],
                          capture_output=True, text=True, timeout=120)


def _losses(folder):
    return [json.loads(line) for line in (folder / "losses.jsonl").read_text().splitlines()]


def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path):
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    straight.mkdir(), broken.mkdir()
    assert _run(tmp_path, straight, -1, "fresh").returncode == 0
    # 13 batches per epoch (200 / 16); step 18 is in the second epoch, 3 steps after the
    # checkpoint of step 15 (the loader's position inside the epoch: batch 2)
    killed = _run(tmp_path, broken, 18, "fresh")
    assert killed.returncode == -signal.SIGKILL
    assert not (broken / "final.safetensors").exists()
    resumed = _run(tmp_path, broken, -1, "resume")
    assert resumed.returncode == 0, resumed.stderr

    expected = dict(map(tuple, _losses(straight)))
    got = _losses(broken)
    assert [s for s, _ in got[:18]] == list(range(1, 19))          # the killed run's steps
    after = got[18:]                                                 # the resumed run's steps
    assert [s for s, _ in after] == list(range(16, 40))             # continues after step 15
    for s, value in after:
        assert value == expected[s], f"step {s}: {value} != {expected[s]}"
    a, b = gk.load(straight / "final.safetensors"), gk.load(broken / "final.safetensors")
    assert list(a) == list(b)
    for k in a:  # every weight, BatchNorm's statistics and its counter: bit for bit
        assert np.array_equal(a[k].numpy(), b[k].numpy()), k
    assert b["1.num_batches_tracked"].shape == ()


def _net():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))


def _save(path, **kw):
    gk.manual_seed(0)
    model = _net()
    opt = gk.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(gk.randn(5, 3)).sum().backward()
    opt.step()
    gk.io.save_checkpoint(path, model=model, optimizer=opt, epoch=2, step=7,
                          extra={"note": "x", "best": 0.5}, **kw)
    return model, opt


def test_round_trip_restores_parts_rng_and_returns_counters(tmp_path):
    path = tmp_path / "c.safetensors"
    model, opt = _save(path)
    after_save = gk.rand(3).numpy()            # what the generator gives next after the save
    gk.manual_seed(123)                        # a different place
    fresh = _net()
    fresh_opt = gk.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
    state = gk.io.load_checkpoint(path, model=fresh, optimizer=fresh_opt)
    assert (state["epoch"], state["step"], dict(state["extra"])) == (2, 7, {"note": "x", "best": 0.5})
    assert np.array_equal(gk.rand(3).numpy(), after_save)
    for (k, v), (k2, v2) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert k == k2 and np.array_equal(v.numpy(), v2.numpy())
    buf = fresh_opt.state_dict()["state"][0]["momentum_buffer"]
    assert np.array_equal(buf.numpy(), opt.state_dict()["state"][0]["momentum_buffer"].numpy())


def test_callbacks_state_round_trips_and_missing_ones_are_named(tmp_path):
    class Counter:
        def __init__(self, n=0):
            self.n = n

        def state_dict(self):
            return {"n": self.n}

        def load_state_dict(self, state):
            self.n = state["n"]

    path = tmp_path / "c.safetensors"
    gk.io.save_checkpoint(path, callbacks={"stopper": Counter(3)})
    c = Counter()
    gk.io.load_checkpoint(path, callbacks={"stopper": c})
    assert c.n == 3
    with pytest.raises(ValueError, match=r"no state for callback 'other'.*same order"):
        gk.io.load_checkpoint(path, callbacks={"other": Counter()})


def test_an_edited_byte_fails_the_checksum(tmp_path):
    path = tmp_path / "c.safetensors"
    _save(path)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01                            # a bit in the last tensor's bytes
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"c\.safetensors fails its checksum.*damaged or edited"):
        gk.io.load_checkpoint(path, model=_net())


def test_a_truncated_file_names_itself(tmp_path):
    path = tmp_path / "c.safetensors"
    _save(path)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"c\.safetensors is not a valid safetensors file.*truncated"):
        gk.io.load_checkpoint(path, model=_net())


def test_a_weights_file_is_not_a_training_checkpoint(tmp_path):
    path = tmp_path / "w.safetensors"
    gk.save(_net().state_dict(), path)
    with pytest.raises(ValueError, match=r"not a gradkit training checkpoint.*gk\.load"):
        gk.io.load_checkpoint(path, model=_net())


def test_asking_for_a_part_that_was_not_saved_names_it(tmp_path):
    path = tmp_path / "c.safetensors"
    _save(path)
    sched_opt = gk.optim.SGD(_net().parameters(), lr=0.1)
    sched = gk.optim.lr_scheduler.StepLR(sched_opt, 2)
    with pytest.raises(ValueError, match=r"holds no scheduler state \(it has model, optimizer\)"):
        gk.io.load_checkpoint(path, scheduler=sched)


def test_a_failed_save_raises_clearly_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.safetensors"
    model, _ = _save(path)
    before = path.read_bytes()

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match=r"save_checkpoint: could not write .*c\.safetensors.*No space "
                                      r"left.*previous checkpoint .* is intact"):
        gk.io.save_checkpoint(path, model=model, epoch=3)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert gk.io.load_checkpoint(path, model=_net())["epoch"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]  # no temporary file left


def test_an_object_without_state_dict_is_refused_by_name(tmp_path):
    with pytest.raises(TypeError, match=r"scheduler= must have a state_dict\(\) method; got a str"):
        gk.io.save_checkpoint(tmp_path / "c.safetensors", scheduler="cosine")
