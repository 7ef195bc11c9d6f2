"""What every ``gradkit`` command shares: its two kinds of error, the types of its numeric
options, a plain-text table and an atomic JSON write.

A problem is one line on stderr, never a traceback: exit status 2 for the user's mistake
(``UsageError``, as argparse's usage errors), 1 otherwise (``CLIError``).
"""
import argparse
import json

from ..io import atomic_write_bytes

__all__ = ["CLIError", "UsageError", "number", "positive_int", "positive_float",
           "non_negative_float", "fraction", "open_fraction", "probability", "fmt", "table",
           "write_json"]


class CLIError(Exception):
    """A problem to report in one line (exit status 1), not a traceback."""
    status = 1


class UsageError(CLIError):
    """The user's mistake (a model that is not installed or not there, a missing input file, an
    option that does not fit): one line, exit status 2, as argparse's usage errors."""
    status = 2


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
