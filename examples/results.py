"""Recording an example's result in RESULTS.md: each example owns one section, between
``<!-- NAME:begin -->`` and ``<!-- NAME:end -->``, which a new run replaces (written atomically)
with its table, the command that produced it, the commit, the date and the wall time."""
import datetime
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(ROOT, "RESULTS.md")
HEADER = """# Results on real data

Each section is written by the example script named in it (`python examples/NAME.py`), from a
run on the machine it names; a new run replaces its section. Figures are what that run measured,
and a target the run missed is marked as missed.
"""


def commit():
    """The short hash of HEAD, marked when the working tree has uncommitted changes to code."""
    def git(*argv):
        return subprocess.run(["git", *argv], cwd=ROOT, check=True, capture_output=True,
                              text=True).stdout.strip()
    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", "src", "examples")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" with uncommitted changes" if dirty else "")


# the code a run used is the code at its start: an example imports this module first, and the
# working tree may change (another commit, an edit) while a long run goes on
COMMIT_AT_START = commit()


def machine():
    return f"{os.cpu_count()} cores, Python {platform.python_version()}"


def record(name, title, body, wall_seconds, path=RESULTS):
    """Replace section ``name`` of RESULTS.md with ``title``, ``body`` (markdown) and the run's
    facts: the command as run, commit, date, machine, wall time."""
    from gradkit.io import atomic_write_bytes

    command = "python " + " ".join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    facts = (f"Command: `{command}` · commit {COMMIT_AT_START} · "
             f"{datetime.date.today().isoformat()} · {machine()} · "
             f"wall time {wall_seconds / 60:.1f} min")
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    section = f"{begin}\n## {title}\n\n{body.strip()}\n\n{facts}\n{end}"
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else HEADER
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))
    print(f"recorded in {os.path.relpath(path, ROOT)}: {title}")
