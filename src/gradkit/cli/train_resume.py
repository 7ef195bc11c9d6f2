"""What ``gradkit train`` needs to stop and resume (imported when training starts, so that
``gradkit --help`` does not load ``gradkit.keras``): the two callbacks it adds to ``fit``,

    RunLog        each step's own training loss, the training time and the run's settings;
                  its state goes into the checkpoint, so a resumed run reports the whole run
    Checkpoints   keras.callbacks.BackupAndRestore in --out: every --checkpoint-every steps,
                  and at the end of the step during which Ctrl-C came, then stops the command
                  (exit status 130) with the command that resumes it

and the checks of ``--out`` and ``--resume`` before any work (``check_folder``: a folder holding
a checkpoint is refused without --resume; with it, the settings must be those of the run that
saved it). Both callbacks run inside ``fit``; the exact resume itself (weights, optimizer, data
order and position, random generator, History) is BackupAndRestore's.
"""
import os
import shlex
import time

from ..io import load_checkpoint
from ..keras.callbacks import BackupAndRestore, Callback
from .common import Interrupted, UsageError, check_out, check_resume_settings

__all__ = ["RunLog", "Checkpoints", "CHECKPOINT", "settings", "check_folder", "command_of"]

CHECKPOINT = BackupAndRestore.FILENAME  # in --out while a run is unfinished


class RunLog(Callback):
    """``step_loss``: each training step's own loss. fit logs the running mean m_k over the
    epoch's N_k samples so far, so step k's loss is (m_k N_k - m_{k-1} N_{k-1}) / (N_k - N_{k-1});
    every batch but an epoch's last has ``batch_size`` of the ``n`` samples. ``seconds``: the
    training time, over every process of a resumed run. ``settings`` and ``run`` (what started
    the run) ride along in the checkpoint, for --resume to check and report."""

    def __init__(self, settings, run, n, batch_size):
        super().__init__()
        self.settings, self.run, self.n, self.batch_size = settings, run, n, batch_size
        self.step_loss, self.seconds_before, self._mean = [], 0.0, 0.0
        self._t0 = time.perf_counter()

    def on_train_begin(self, logs=None):
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if batch == 0:  # not on_epoch_begin: a resumed epoch begins again in its middle
            self._mean = 0.0
        n_prev = min(batch * self.batch_size, self.n)
        n_k = min(n_prev + self.batch_size, self.n)
        m_k = float(logs["loss"])
        self.step_loss.append((m_k * n_k - self._mean * n_prev) / (n_k - n_prev))
        self._mean = m_k

    @property
    def seconds(self):
        return self.seconds_before + time.perf_counter() - self._t0

    def state_dict(self):
        return {"settings": self.settings, "run": self.run, "step_loss": list(self.step_loss),
                "mean": self._mean, "seconds": self.seconds}

    def load_state_dict(self, state):
        self.step_loss = [float(v) for v in state["step_loss"]]
        self._mean, self.seconds_before = float(state["mean"]), float(state["seconds"])
        self._t0 = time.perf_counter()


class Checkpoints(BackupAndRestore):
    """BackupAndRestore in ``folder``, every ``every`` steps (None: only on Ctrl-C), never
    deleted by fit (the finished run replaces the folder, checkpoint and all). When
    ``interrupted`` (a threading.Event set by SIGINT) is set, it saves at the end of that step
    (or epoch) and raises Interrupted with ``resume`` (the command that continues)."""

    def __init__(self, folder, every, interrupted, resume):
        super().__init__(folder, save_freq=every or False, delete_checkpoint=False)
        self.interrupted, self.resume = interrupted, resume
        self._epoch = 0

    def on_train_begin(self, logs=None):
        try:
            super().on_train_begin(logs)
        except ValueError as e:  # a checkpoint of another run, or damaged: one line, status 2
            raise UsageError(f"--resume: {e}") from None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if self.interrupted.is_set():
            self._stop(f"in epoch {self._epoch + 1}/{self.params.get('epochs')} after step "
                       f"{batch + 1}/{self.params.get('steps')}")

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.interrupted.is_set():
            self._stop(f"at the end of epoch {epoch + 1}/{self.params.get('epochs')}")

    def _stop(self, where):
        self.save_backup()
        raise Interrupted(f"interrupted (Ctrl-C) {where}; the training state is saved in "
                          f"{self.path}; resume with: {self.resume}")


# === before any work: --out, --resume ==========================================================
def settings(run, args):
    """What a resumed run must share with the interrupted one for the same arithmetic (the
    resolved values: --epochs left out means the data set's default)."""
    keys = ("model", "dataset", "seed", "epochs", "batch_size", "lr", "limit", "seq_len")
    return {**{k: run[k] for k in keys if k in run}, "validation_split": args.validation_split}


def _saved_log(path, folder):
    """The RunLog state (settings, run, step losses) in the checkpoint ``path``; a missing,
    damaged or foreign checkpoint is a UsageError."""
    if not os.path.isfile(path):
        raise UsageError(f"--resume: {folder} holds no checkpoint ({CHECKPOINT}) to resume from; "
                         "run without --resume to start the run")
    try:
        state = load_checkpoint(path, restore_rng=False)
    except (ValueError, KeyError, TypeError, OSError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UsageError(f"--resume: {path} cannot be read ({first}); start the run again "
                         "with --overwrite") from None
    logs = [v for k, v in (state.get("callbacks") or {}).items()
            if k.split(".")[0] == RunLog.__name__]
    if len(logs) != 1 or "settings" not in logs[0]:
        raise UsageError(f"--resume: {path} is not the checkpoint of a gradkit train run; start "
                         "the run again with --overwrite")
    return state, logs[0]


def check_folder(args, folder, settings, again, files):
    """--out for a new run, or with --resume the folder of an interrupted one (before minutes
    of loading and training). Returns (checkpoint state, saved RunLog state) when resuming, else
    None. ``again``: the command that resumes."""
    checkpoint = os.path.join(folder, CHECKPOINT)
    names = list(files.values()) + [CHECKPOINT]
    if not args.resume:
        if os.path.isfile(checkpoint) and not args.overwrite:
            raise UsageError(f"--out {folder}: holds an interrupted run's checkpoint; add "
                             f"--resume to continue it ({again}), or --overwrite to start again")
        check_out(folder, args.overwrite, names)
        return None
    if args.overwrite:
        raise UsageError("--resume continues the run in --out and --overwrite starts it again; "
                         "give one of them")
    state, saved = _saved_log(checkpoint, folder)
    check_resume_settings(saved["settings"], settings, folder)
    check_out(folder, True, names)  # the checkpoint, and an older run an --overwrite replaces
    return state, saved


def command_of(run, args):
    """The command line of ``run``'s settings, when the command was not recorded (cmd_train
    called with a hand-made Namespace)."""
    words = ["gradkit", "train", "--model", run["model"], "--dataset", run["dataset"],
             "--epochs", str(run["epochs"]), "--batch-size", str(run["batch_size"]),
             "--lr", repr(run["lr"]), "--seed", str(run["seed"]),
             "--validation-split", repr(args.validation_split)]
    for option, value in (("--limit", run["limit"]), ("--seq-len", run.get("seq_len")),
                          ("--data-dir", run["data_dir"]),
                          ("--checkpoint-every", getattr(args, "checkpoint_every", None))):
        if value is not None:
            words += [option, str(value)]
    return shlex.join(words)
