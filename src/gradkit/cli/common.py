"""What every ``gradkit`` command shares: its two kinds of error, the types of its numeric
options, a plain-text table, an atomic JSON write, a run folder written as a whole, and what a
training command needs to stop on Ctrl-C and resume (a flag set by SIGINT and checked at the
end of each step, the settings a resumed run must share, the command that resumes it).

A problem is one line on stderr, never a traceback: exit status 2 for the user's mistake
(``UsageError``, as argparse's usage errors), 1 otherwise (``CLIError``).
"""
import argparse
import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import tempfile
import threading

from ..io import atomic_write_bytes

__all__ = ["CLIError", "UsageError", "Interrupted", "number", "positive_int", "positive_float",
           "non_negative_float", "fraction", "open_fraction", "probability", "fmt", "plural",
           "table", "write_json", "check_out", "staged_folder", "interrupt_at_step_end",
           "resume_command", "check_resume_settings"]


class CLIError(Exception):
    """A problem to report in one line (exit status 1), not a traceback."""
    status = 1


class UsageError(CLIError):
    """The user's mistake (a model that is not installed or not there, a missing input file, an
    option that does not fit): one line, exit status 2, as argparse's usage errors."""
    status = 2


class Interrupted(CLIError):
    """Ctrl-C, after the command cleaned up: one line saying what was (not) kept, exit status
    130 (128 + SIGINT), as a shell reports it."""
    status = 130


# === numeric options ========================================================================
def number(convert, ok, expected):
    """An argparse type: ``convert(text)``, refused with "expected <expected>, got ..." unless
    ``ok(value)``. One rule for every numeric option of every command."""
    def parse(text):
        try:
            v = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {v}")
        return v
    return parse


positive_int = number(int, lambda v: v >= 1, "a positive integer")
positive_float = number(float, lambda v: v > 0, "a positive number")
non_negative_float = number(float, lambda v: v >= 0, "a number >= 0")
fraction = number(float, lambda v: 0 <= v < 1, "a fraction in [0, 1)")
open_fraction = number(float, lambda v: 0 < v < 1, "a fraction in (0, 1)")
probability = number(float, lambda v: 0 < v <= 1, "a number in (0, 1]")


# === output =================================================================================
def fmt(v):
    if v is None:
        return "-"
    return f"{v:.4f}" if abs(v) < 1000 else f"{v:,.1f}"


def plural(n, word):
    """``plural(1, "epoch")`` is "1 epoch", ``plural(1437, "sample")`` "1,437 samples"."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def table(rows, header):
    """A plain-text table: one list of cells per row, columns padded to their widest cell."""
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    fmt = [("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
           for r in cells]
    return "\n".join([fmt[0], line] + fmt[1:])


def write_json(path, obj):
    atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode("utf-8"))


# === the run folder: refused if taken, written whole ==========================================
def _nearest_existing(path):
    """``path`` or its closest ancestor that exists (``.`` for a relative path's top)."""
    while not os.path.lexists(path):
        parent = os.path.dirname(path) or "."
        if parent == path:
            break
        path = parent
    return path


def check_out(folder, overwrite, names=None):
    """Refuse ``--out folder`` before any work: a file; a non-empty folder without --overwrite;
    with --overwrite and a run's own file ``names``, a folder holding anything else (--overwrite
    replaces a run, never someone's folder; ``names=None``: the command writes into the folder
    and replaces nothing else); a place where nothing can be created."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError(f"--out {folder}: is a file; give a folder for the run")
    if os.path.isdir(folder) and os.listdir(folder):
        if not overwrite:
            raise UsageError(f"--out {folder}: the folder exists and is not empty; give a new "
                             "folder, or add --overwrite to write over it")
        others = [] if names is None else sorted(set(os.listdir(folder)) - set(names))
        if others:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise UsageError(f"--out {folder}: holds files that are not a run's ({shown}), and "
                             "--overwrite replaces the whole folder; give a new folder")
    base = _nearest_existing(os.path.dirname(os.path.normpath(folder)) or ".")  # the stage's place
    if not os.path.isdir(base):
        raise UsageError(f"--out {folder}: {base} is a file, so no folder can be made under it; "
                         "give another place, e.g. --out runs/NAME")
    try:  # os.access says yes to root even on /proc: try it
        os.rmdir(tempfile.mkdtemp(dir=base, prefix=".gradkit-probe-"))
    except OSError as e:
        raise UsageError(f"--out {folder}: cannot create a folder in {base} ({e.strerror}); give "
                         "a place you can write to, e.g. --out runs/NAME") from None


@contextlib.contextmanager
def staged_folder(folder, overwrite, names, own=()):
    """Yield a new, empty temporary sibling of ``folder`` to write the run into; when the block
    ends normally, it becomes ``folder`` in one rename (an old run that --overwrite replaces is
    removed only then). On any error or Ctrl-C the temporary folder, and any parent folder made
    for it, is removed: a run is there whole or not at all, never half, never mixed with an
    older one (a killed run's temporary folder is removed by the next run into ``folder``).
    ``own``: files the run itself keeps in ``folder`` while it runs (its checkpoint, for
    --resume); a folder holding only these is replaced without --overwrite."""
    folder = os.path.abspath(folder)
    parent = os.path.dirname(folder)
    made = []  # the missing parents, outermost first
    p = parent
    while not os.path.lexists(p):
        made.insert(0, p)
        p = os.path.dirname(p)
    _remove_dead_stages(parent, os.path.basename(folder))
    stage = os.path.join(parent, f".{os.path.basename(folder)}.{os.getpid()}."
                                 f"{secrets.token_hex(4)}.partial")
    try:
        os.makedirs(parent, exist_ok=True)
        os.mkdir(stage)
    except OSError as e:
        _remove_empty(made)
        raise UsageError(f"--out {folder}: cannot create it ({e.strerror}); give a place you "
                         "can write to, e.g. --out runs/NAME") from None
    old = None
    try:
        yield stage
        only_own = os.path.isdir(folder) and set(os.listdir(folder)) <= set(own)
        check_out(folder, overwrite or only_own, names)  # again: it may have been written meanwhile
        if os.path.lexists(folder):  # an empty folder, or the run --overwrite replaces
            old = stage[:-len(".partial")] + ".old"
            os.rename(folder, old)
        try:
            os.rename(stage, folder)
        except OSError:
            if old is not None:
                os.rename(old, folder)
                old = None
            raise
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        _remove_empty(made)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_dead_stages(parent, name):
    """Remove the temporary folders ``.{name}.{pid}.{token}.partial`` of runs whose process is
    gone (killed: SIGKILL leaves no chance to clean up). POSIX only (``os.kill(pid, 0)``)."""
    if os.name != "posix" or not os.path.isdir(parent):
        return
    pattern = re.compile(re.escape(f".{name}.") + r"(\d+)\.[0-9a-f]{8}\.partial")
    for entry in os.listdir(parent):
        m = pattern.fullmatch(entry)
        if not m or int(m[1]) == os.getpid():
            continue
        try:
            os.kill(int(m[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)
        except OSError:  # the process exists, under another user
            pass


def _remove_empty(folders):
    for f in reversed(folders):
        try:
            os.rmdir(f)
        except OSError:
            break


# === Ctrl-C at a step's end, and resuming ====================================================
@contextlib.contextmanager
def interrupt_at_step_end():
    """Within the block the first Ctrl-C (SIGINT) does not interrupt: it sets the flag yielded
    (a ``threading.Event``), which the training loop checks at the end of each step to save a
    checkpoint and stop there, never in the middle of a step. A second Ctrl-C interrupts at once
    (KeyboardInterrupt), for a step that takes too long. Outside the main thread, where no
    signal handler can be set, Ctrl-C keeps its usual effect."""
    flag = threading.Event()

    def on_sigint(signum, frame):
        if flag.is_set():
            raise KeyboardInterrupt
        flag.set()

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def resume_command(command_line, folder):
    """The command that continues an interrupted run: the one that started it
    (``args.command_line``), without --overwrite and --out, plus ``--out FOLDER --resume``."""
    words, skip = [], False
    for w in shlex.split(command_line or "gradkit train"):
        if skip:
            skip = False
            continue
        if w in ("--out", "--resume", "--overwrite") or w.startswith(("--out=", "--resume=")):
            skip = w == "--out"
            continue
        words.append(w)
    return shlex.join(words + ["--out", folder, "--resume"])


def check_resume_settings(saved, now, folder):
    """A resumed run must train as the interrupted one would have: ``now`` (option -> value)
    equal to the ``saved`` settings, else a UsageError naming each option that differs."""
    changed = [f"--{k.replace('_', '-')} {now.get(k)!r} (the checkpoint's: {saved.get(k)!r})"
               for k in sorted(set(now) | set(saved)) if now.get(k) != saved.get(k)]
    if changed:
        raise UsageError(f"--resume: the run in {folder} was started with other settings; "
                         f"resume with the same ones: {'; '.join(changed)}")
