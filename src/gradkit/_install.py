"""Where this gradkit comes from, for messages and run records: a git clone or an installed
package.

    clone_root()        the clone's top folder when gradkit is imported from a git clone, else None
    git_commit()        the clone's HEAD commit, or None (not a clone, no git, any failure)
    pip_install(extra)  the pip command that adds an optional extra *here*, quoted for zsh:
                        ``pip install -e '.[cli]'`` in a clone, ``pip install 'gradkit[cli]'``
                        otherwise

The extras are pyproject.toml's ``[project.optional-dependencies]``: cli, plot, progress,
sklearn, llm, bf16.
"""
import os
import shlex
import subprocess
from pathlib import Path

__all__ = ["clone_root", "git_commit", "pip_install"]


def clone_root():
    """The git clone gradkit is imported from (src/gradkit/ two levels below it), or None."""
    root = Path(__file__).resolve().parents[2]
    if (root / ".git").exists() and (root / "pyproject.toml").is_file():
        return root
    return None


def git_commit():
    """The clone's HEAD commit (40 hex digits), or None."""
    root = clone_root()
    if root is None:
        return None
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None


def pip_install(extra):
    """``pip install -e '<clone>[extra]'`` (``.`` when the current folder is the clone) when
    gradkit comes from a git clone, else ``pip install 'gradkit[extra]'``. The brackets are
    quoted: zsh would expand them as a glob."""
    root = clone_root()
    if root is None:
        return f"pip install {shlex.quote(f'gradkit[{extra}]')}"
    try:
        here = Path.cwd().resolve() == root
    except OSError:  # the current folder was removed
        here = False
    return f"pip install -e {shlex.quote(('.' if here else os.fspath(root)) + f'[{extra}]')}"
