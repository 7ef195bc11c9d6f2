"""``gradkit finetune``: supervised fine-tuning of a causal language model on conversations, and
of a sentence encoder on labelled sentences.

    gradkit finetune smollm2 --data train.jsonl --eval-data held_out.jsonl --out runs/qa
    gradkit finetune smollm2 --data qa.jsonl --eval-split 0.1 --lora-r 8 --target q_proj,v_proj
    gradkit finetune smollm2 --data qa.jsonl --quantized --out runs/qa-q4   # LoRA on Q4_1 blocks
    gradkit finetune smollm2 --data qa.jsonl --full --lr 2e-5 --checkpointing --out runs/qa-full
    gradkit chat smollm2 --adapter runs/qa             # talk to the result
    gradkit finetune minilm --task classify --data train.tsv --eval-data test.tsv --out runs/s

With ``--task classify`` the data are ``sentence<TAB>label`` lines (``gradkit.data.
LabelledSentences``) and the model is ``BertForSequenceClassification`` (a new head over the
pooled [CLS] state; ``--from-scratch`` gives the same architecture random weights, to see what
pretraining buys); LoRA then trains the head whole (PEFT's task SEQ_CLS) and the accuracy on the
held-out sentences is measured before and after.

The data are JSON Lines of ``{"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}``
(``gradkit.data.ChatDataset``: the chat template, labels on the assistant's replies only). The
model is wrapped with LoRA (``gradkit.peft``) or, with ``--full``, trained whole; AdamW with a
cosine schedule after a linear warm-up, gradient accumulation (the micro-batches' gradients add
up in ``.grad``; one optimizer step per k of them, scaled to their mean by the optimizer's
``grad_scale``), clipping of the joint gradient norm, optional activation
checkpointing. A batch with no assistant token left to learn is skipped. The held-out answer
loss (mean over the assistant's tokens) is measured before and after. ``--out`` receives:

    adapter_model.safetensors + adapter_config.json   the adapter, PEFT's format (LoRA)
    config.json + model.safetensors + tokenizer       the whole model (--full)
    run.json      every setting, versions, seed, steps, tokens/s, wall time, eval losses
    loss.png      the training loss per optimizer step (needs matplotlib)
    samples.md    greedy replies to held-out prompts, before and after
    checkpoint.safetensors   with --checkpoint-every N: the whole training state every N steps,
                  for --resume after a crash or Ctrl-C (removed when the run completes)

Everything here is glue over gradkit.models, gradkit.peft, gradkit.data and gradkit.optim;
cli/__init__.py registers the command (``add_commands``) and reports its errors (``UsageError``: one
line, exit status 2).
"""
import json
import math
import os
import platform
import sys
import time

import numpy as np

from .common import (Interrupted, UsageError, check_out, check_resume_settings, fraction,
                     interrupt_at_step_end, non_negative_float, open_fraction, positive_float,
                     positive_int, resume_command, write_json)
from .llm import NO_DEFAULTS_NOTE, load_language_model
from ..nn.quantized import weight_bytes, weight_count

__all__ = ["add_commands", "cmd_finetune"]

FILES = {"weights": "adapter_model.safetensors", "config": "adapter_config.json",
         "run": "run.json", "loss": "loss.png", "samples": "samples.md",
         "checkpoint": "checkpoint.safetensors"}
SAMPLE_PROMPTS = 3
SAMPLE_TOKENS = 48


# === data ========================================================================================
def _conversations(path, who):
    """``path``, after checking that it is a file."""
    if not os.path.isfile(path):
        raise UsageError(f"{who} {path}: no such file; give a JSON Lines file with one "
                         'conversation per line: {"messages": [{"role": "user", "content": '
                         '"..."}, {"role": "assistant", "content": "..."}]}')
    return path


def _dataset(path, tokenizer, max_len):
    from ..data import ChatDataset

    try:
        return ChatDataset(path, tokenizer, max_length=max_len, truncation="right")
    except (ValueError, TypeError, FileNotFoundError) as e:
        raise UsageError(str(e)) from None


def _first_user_message(source):
    """The first user message of the conversation at ``source`` ("path:line")."""
    path, _, line = source.rpartition(":")
    with open(path, encoding="utf-8") as f:
        for lineno, text in enumerate(f, 1):
            if lineno == int(line):
                messages = json.loads(text)["messages"]
                return next(m["content"] for m in messages if m["role"] == "user")
    return None


class _Examples:
    """Some of a ChatDataset's examples (a split), with their sources."""

    def __init__(self, ds, index):
        self.examples = [ds.examples[i] for i in index]
        self.sources = [ds.sources[i] for i in index]

    def __len__(self):
        return len(self.examples)

    def __getitem__(self, i):
        ids, labels = self.examples[i]
        return {"input_ids": ids, "labels": labels}


def _split(ds, fraction):
    n_eval = max(1, int(round(len(ds) * fraction)))
    if n_eval >= len(ds):
        raise UsageError(f"--eval-split {fraction} leaves no training conversation out of "
                         f"{len(ds)}; give a smaller fraction or --eval-data FILE")
    n = len(ds) - n_eval    # the last conversations are held out (as Keras' validation_split)
    return _Examples(ds, range(n)), _Examples(ds, range(n, len(ds)))


def _batches(ds, batch_size, collate, shuffle=False, seed=0):
    from ..data import DataLoader

    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, seed=seed, collate_fn=collate)


# === measuring ===================================================================================
def eval_loss(model, ds, collate, batch_size):
    """The mean cross-entropy over every assistant token of ``ds`` (not the mean of batch means)."""
    from .. import no_grad
    from ..data.chat import nothing_to_learn

    model.eval()
    total, count = 0.0, 0
    with no_grad():
        for batch in _batches(ds, batch_size, collate):
            n = int((batch["labels"][:, 1:] != -100).sum())
            if nothing_to_learn(batch["labels"]):
                continue
            total += float(model(**batch).loss.item()) * n
            count += n
    return total / count if count else float("nan")


def _reply(model, tokenizer, prompt):
    ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                        add_generation_prompt=True)
    model.eval()
    out = model.generate(np.asarray([ids]), max_new_tokens=SAMPLE_TOKENS, do_sample=False)
    new = np.asarray(out.numpy() if hasattr(out, "numpy") else out)[0, len(ids):]
    return tokenizer.decode([int(t) for t in new], skip_special_tokens=True).strip()


# === writing =====================================================================================
def _write_text(path, text):
    from ..io import atomic_write_bytes

    atomic_write_bytes(path, text.encode("utf-8"))


def _samples_md(prompts, before, after, title):
    def cell(s):
        return s.replace("|", "\\|").replace("\n", "<br>")

    lines = [f"# {title}", "", f"Greedy, at most {SAMPLE_TOKENS} new tokens.", "",
             "| prompt | before | after |", "|---|---|---|"]
    lines += [f"| {cell(p)} | {cell(b)} | {cell(a)} |" for p, b, a in zip(prompts, before, after)]
    return "\n".join(lines) + "\n"


def _loss_png(path, losses, title):
    from ..plot import _figure, _save   # the Agg figure and the atomic PNG write of gradkit.plot

    fig = _figure(6.4, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(np.arange(1, len(losses) + 1), losses, marker="o" if len(losses) < 30 else None)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss (assistant tokens)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


# === training ====================================================================================
class _Progress:
    """A tqdm bar on a terminal (when tqdm is installed), else a line every ``every`` steps."""

    def __init__(self, total, out, quiet):
        self.total, self.out, self.quiet, self.bar = total, out, quiet, None
        self.every = max(1, total // 20)
        if not quiet and sys.stderr.isatty():
            try:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=total, unit="step", desc="finetune", leave=True)
            except ImportError:
                pass

    def update(self, step, loss, lr, tokens_per_s):
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2e}", tok_s=f"{tokens_per_s:.0f}",
                                 refresh=False)
            self.bar.update(1)
        elif not self.quiet and (step % self.every == 0 or step == self.total):
            print(f"step {step}/{self.total}  loss {loss:.4f}  lr {lr:.2e}  "
                  f"{tokens_per_s:.0f} tokens/s", file=self.out, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


class _TrainedWeights:
    """The parameters being trained, by name: a LoRA run's adapter (and modules_to_save), or
    every weight with --full. This is what a checkpoint holds of the model; the frozen base is
    read again from MODEL when the run resumes."""

    def __init__(self, model):
        self.named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]

    def state_dict(self):
        return {n: p.detach() for n, p in self.named}

    def load_state_dict(self, state, strict=True):
        from .. import no_grad

        names = [n for n, _ in self.named]
        if list(state) != names:
            raise UsageError("--resume: the checkpoint holds other trained parameters than this "
                             f"run ({len(state)} vs {len(names)}); resume with the settings it "
                             "was written with")
        with no_grad():
            for n, p in self.named:
                p.copy_(state[n])


# settings that may change between a run and its --resume (they do not change the arithmetic)
_RESUME_FREE = ("func", "command", "command_line", "resume", "checkpoint_every", "quiet",
                "overwrite", "out")


def _resume_settings(args):
    return {k: v for k, v in sorted(vars(args).items()) if k not in _RESUME_FREE}


def checkpoint_path(args):
    return os.path.join(args.out, FILES["checkpoint"])


def _check_out(args):
    """--out for a new run (cli.common.check_out), or, with --resume, a run's folder holding
    its checkpoint."""
    has_checkpoint = os.path.isfile(checkpoint_path(args))
    if getattr(args, "resume", False):
        if not has_checkpoint:
            raise UsageError(f"--resume: {args.out} holds no checkpoint ({FILES['checkpoint']}) "
                             "to resume from; run without --resume to start the run")
        return
    if has_checkpoint and not args.overwrite:
        raise UsageError(f"--out {args.out}: holds an interrupted run's checkpoint; add --resume "
                         "to continue it, or --overwrite to start again")
    check_out(args.out, args.overwrite)


def train(model, params, train_ds, collate, args, out, skip=None):
    """The loop: AdamW, cosine schedule with warm-up, accumulation, clipping. ``skip(labels)``
    says a batch has nothing to learn. Returns the per-step losses and the counts for
    run.json.

    With ``--checkpoint-every N`` the whole training state (the trained weights, AdamW's
    moments, the schedule, the data order and position, the random generator, the losses so
    far) is written to --out every N optimizer steps (``gradkit.io.save_checkpoint``); with
    ``--resume`` the loop starts from it and continues exactly as the interrupted run would have.
    """
    from ..io import load_checkpoint, save_checkpoint
    from ..optim import AdamW
    from ..optim.lr_scheduler import get_cosine_schedule_with_warmup

    loader = _batches(train_ds, args.batch_size, collate, shuffle=True, seed=args.seed)
    k = args.grad_accum
    n_batches = len(loader)
    per_epoch = math.ceil(n_batches / k)
    total = per_epoch * args.epochs
    if args.max_steps is not None:
        total = args.max_steps                 # overrides --epochs: fewer, or more passes
    epochs = math.ceil(total / per_epoch)
    warmup = int(round(args.warmup * total))
    optimizer = AdamW(params, lr=args.lr, weight_decay=args.weight_decay,
                      clip_grad_norm=args.clip if args.clip > 0 else None)
    scheduler = get_cosine_schedule_with_warmup(optimizer, warmup, total)
    parts = {"model": _TrainedWeights(model), "optimizer": optimizer, "scheduler": scheduler,
             "loader": loader}
    every = getattr(args, "checkpoint_every", None)

    losses, skipped, tokens, step = [], 0, 0, 0
    if getattr(args, "resume", False):
        state = load_checkpoint(checkpoint_path(args), **parts)
        check_resume_settings(state["extra"]["settings"], _resume_settings(args), args.out)
        losses, skipped, tokens = list(state["extra"]["losses"]), state["extra"]["skipped"], \
            state["extra"]["tokens"]
        step = state["step"]
        print(f"resumed from {checkpoint_path(args)} at step {step}/{total}", file=out,
              flush=True)
    start_epoch = loader.state_dict()["epoch"]

    def save():
        os.makedirs(args.out, exist_ok=True)
        save_checkpoint(checkpoint_path(args), **parts, step=step,
                        extra={"settings": _resume_settings(args), "losses": losses,
                               "skipped": skipped, "tokens": tokens})

    progress = _Progress(total, out, args.quiet)
    model.train()
    start = time.perf_counter()
    epoch = start_epoch
    again = resume_command(getattr(args, "command_line", None) or "gradkit finetune", args.out)
    try:
        with interrupt_at_step_end() as interrupted:  # Ctrl-C: save at a step's end, then stop
            for epoch in range(start_epoch, epochs):
                group, group_loss, group_tokens = 0, 0.0, 0
                first = loader.state_dict()["batch"]     # 0, or where a resumed epoch stands
                for i, batch in enumerate(loader, first):
                    if skip is not None and skip(batch["labels"]):
                        skipped += 1
                    else:
                        loss = model(**batch).loss
                        loss.backward()                  # adds to the group's .grad
                        group += 1
                        group_loss += float(loss.item())
                        group_tokens += int(batch["attention_mask"].sum())
                    last = i == n_batches - 1
                    if (i + 1) % k and not last:
                        continue
                    if group:    # the mean of the group's gradients (a last group may be short)
                        lr = scheduler.get_last_lr()[0]          # the rate this step uses
                        optimizer.step(grad_scale=1.0 / group if group > 1 else None)
                        optimizer.zero_grad()
                        scheduler.step()
                        step += 1
                        tokens += group_tokens
                        losses.append(group_loss / group)
                        elapsed = time.perf_counter() - start
                        progress.update(step, losses[-1], lr,
                                        tokens / elapsed if elapsed else 0.0)
                        if every and step % every == 0 and step < total:
                            save()
                        if interrupted.is_set() and step < total:  # Ctrl-C: stop, resumable
                            save()
                            raise Interrupted(
                                f"interrupted (Ctrl-C) after step {step}/{total}; the training "
                                f"state is saved in {checkpoint_path(args)}; resume with: {again}")
                    group, group_loss, group_tokens = 0, 0.0, 0
                    if step >= total:
                        break
                if step >= total:
                    break
    except KeyboardInterrupt:  # a second Ctrl-C, in the middle of a step
        kept = (f"its last checkpoint is kept: resume with: {again}"
                if os.path.isfile(checkpoint_path(args)) else "run the command again to train")
        raise Interrupted(f"interrupted (Ctrl-C) during step {step + 1}; {kept}") from None
    finally:
        progress.close()
    seconds = time.perf_counter() - start
    return {"losses": losses, "steps": step, "planned_steps": total, "warmup_steps": warmup,
            "epochs_run": epoch + 1, "skipped_batches": skipped, "tokens": tokens,
            "train_seconds": round(seconds, 3),
            "tokens_per_second": round(tokens / seconds, 1) if seconds else None,
            "peak_rss_mb": _peak_rss_mb()}


def _peak_rss_mb():
    """The process's peak resident memory so far (loading included), in MiB."""
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / (2**20 if sys.platform == "darwin" else 2**10), 1)


def _versions():
    from .. import __version__

    return {"python": platform.python_version(), "numpy": np.__version__, "gradkit": __version__}


def _parameter_line(model, how, name, n_train, n_eval, what):
    """Trainable and all parameters (quantized weights count as frozen ones), and the line."""
    params = [p for p in model.parameters() if p.requires_grad]
    trainable = sum(p.numel() for p in params)
    total = weight_count(model)
    line = (f"gradkit finetune: {name}, {how}: {trainable:,} of {total:,} parameters trainable "
            f"({100 * trainable / total:.4f}%); {n_train} training and {n_eval} held-out {what}")
    return params, trainable, total, line


def _to_train(model, args, full, targets, task_type):
    """``model`` with every parameter trainable (``full``), or wrapped with the LoRA adapter the
    options describe (a PeftModel; targets None: the model type's default)."""
    if full:
        for p in model.parameters():
            p.requires_grad_(True)
        return model
    from ..peft import LoraConfig, get_peft_model

    try:
        config = LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha,
                            lora_dropout=args.lora_dropout, target_modules=targets,
                            task_type=task_type)
        return get_peft_model(model, config)
    except (ValueError, TypeError) as e:
        raise UsageError(str(e)) from None


def _check_method(args, default_targets):
    """The LoRA targets the options name (None: the model type's default), after checking that
    the options go together."""
    if args.full and args.target is not None:
        raise UsageError("--target chooses the layers LoRA adapts; --full trains every "
                         "parameter: give one or the other")
    if args.full and args.quantized:
        raise UsageError("--quantized keeps the base frozen in its quantized blocks, for LoRA; "
                         "--full trains every weight in float32: give one or the other")
    if args.from_scratch and args.task != "classify":
        raise UsageError("--from-scratch is for --task classify (a randomly initialised "
                         "encoder of the same size)")
    if args.target is None:
        return default_targets
    targets = [t.strip() for t in args.target.split(",") if t.strip()]
    if not targets:
        raise UsageError("--target is empty; give module names, e.g. q_proj,v_proj")
    return targets


def cmd_finetune(args, out=None):
    out = out or sys.stdout
    from ..utils.memory import keep_freed_memory

    if not getattr(args, "quantized", False):   # --quantized is chosen for memory: let the
        keep_freed_memory()   # heap shrink; otherwise reuse freed memory (fewer page faults)
    if args.task == "classify":
        return cmd_finetune_classify(args, out)
    from .. import manual_seed
    from ..data import ChatCollator
    from ..data.chat import nothing_to_learn

    started = time.perf_counter()
    _check_out(args)
    _conversations(args.data, "--data")
    if args.eval_data:
        _conversations(args.eval_data, "--eval-data")
    targets = _check_method(args, ["q_proj", "v_proj"])

    manual_seed(args.seed)
    model = load_language_model(args.model, "finetune", keep_quantized=args.quantized)
    tok = model.tokenizer
    if tok.chat_template is None:
        raise UsageError(f"{args.model}: the model has no chat template; fine-tuning on "
                         "conversations needs an instruct model's template")
    ds = _dataset(args.data, tok, args.max_len)
    if args.eval_data:
        train_ds, eval_ds = ds, _dataset(args.eval_data, tok, args.max_len)
    else:
        train_ds, eval_ds = _split(ds, args.eval_split)
    pad = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
    collate = ChatCollator(pad)

    base = model
    model = _to_train(model, args, args.full, targets, "CAUSAL_LM")
    if args.checkpointing:
        base.gradient_checkpointing_enable()
    how = "all parameters" if args.full else (
        f"{'QLoRA (quantized base)' if args.quantized else 'LoRA'} r={args.lora_r}, "
        f"alpha={args.lora_alpha:g} on {','.join(targets)}")
    name = os.path.basename(os.path.normpath(model.name_or_path or args.model))
    params, trainable, total_params, line = _parameter_line(
        model, how, name, len(train_ds), len(eval_ds), "conversations")
    print(line, file=out, flush=True)

    if args.prompts:
        prompts = list(args.prompts)
    else:
        prompts = [p for p in (_first_user_message(s) for s in eval_ds.sources[:SAMPLE_PROMPTS])
                   if p]
    before_loss = eval_loss(model, eval_ds, collate, args.batch_size)
    before = [_reply(model, tok, p) for p in prompts]
    print(f"held-out answer loss before: {before_loss:.4f}", file=out, flush=True)

    result = train(model, params, train_ds, collate, args, out, skip=nothing_to_learn)

    after_loss = eval_loss(model, eval_ds, collate, args.batch_size)
    after = [_reply(model, tok, p) for p in prompts]
    print(f"held-out answer loss after:  {after_loss:.4f}  ({result['steps']} steps, "
          f"{result['tokens_per_second'] or 0:.0f} tokens/s, {result['train_seconds']:.1f} s)",
          file=out, flush=True)

    run = {"task": "chat", "base_model": getattr(base, "name_or_path", None),
           "train_conversations": len(train_ds), "eval_conversations": len(eval_ds),
           "eval_loss_before": before_loss, "eval_loss_after": after_loss}
    title = f"{os.path.basename(os.path.normpath(args.out))}: {how}"
    _write_run(args, model, targets, trainable, total_params, result, run,
               _samples_md(prompts, before, after, title), title, started, out)
    if not args.full:
        print(f"chat with it: gradkit chat {args.model} --adapter {args.out}", file=out)
    return 0


def _write_run(args, model, targets, trainable, total_params, result, run, samples, title,
               started, out):
    """Write --out: the adapter or model, samples.md, loss.png and run.json (``run`` holds the
    task's own fields)."""
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out)     # the adapter (PEFT's files) or, with --full, the model
    settings = {k: v for k, v in vars(args).items() if k not in ("func", "command")}
    settings["target"] = None if args.full else targets
    run = {"command": "finetune", "model": args.model,
           "method": "full" if args.full else "qlora" if args.quantized else "lora",
           "settings": settings, "seed": args.seed, "versions": _versions(),
           "trainable_parameters": int(trainable), "all_parameters": int(total_params),
           "weight_bytes": int(weight_bytes(model)),
           **run, **{k: v for k, v in result.items() if k != "losses"},
           "losses": [round(v, 6) for v in result["losses"]], "wall_seconds": None}
    written = ["model.safetensors, config.json" if args.full else
               f"{FILES['weights']}, {FILES['config']}"]
    _write_text(os.path.join(args.out, FILES["samples"]), samples)
    written.append(FILES["samples"])
    try:
        _loss_png(os.path.join(args.out, FILES["loss"]), result["losses"], title)
        written.append(FILES["loss"])
    except ImportError as e:
        print(f"note: {FILES['loss']} not written: {e}", file=out)
    run["wall_seconds"] = round(time.perf_counter() - started, 3)
    write_json(os.path.join(args.out, FILES["run"]), run)
    written.append(FILES["run"])
    if os.path.exists(checkpoint_path(args)):  # the run is complete: nothing left to resume
        os.unlink(checkpoint_path(args))
    print(f"wrote {', '.join(written)} to {args.out}", file=out)


# === text classification (--task classify) =======================================================
def _sentences(path, who, label_names=None):
    from ..data import LabelledSentences

    try:
        ds = LabelledSentences(path)
    except (FileNotFoundError, ValueError, TypeError) as e:
        raise UsageError(f"{who} {e}") from None
    if label_names is not None:  # held-out labels are numbered as the training data's
        unknown = sorted(set(ds.label_names) - set(label_names))
        if unknown:
            raise UsageError(f"{who} {path}: labels {unknown} do not occur in --data (whose "
                             f"labels are {label_names})")
        ds = LabelledSentences(texts=ds.texts, labels=[ds.label_names[i] for i in ds.labels],
                               label_names=label_names)
    return ds


def evaluate_classifier(model, ds, collate, batch_size):
    """(accuracy, mean cross-entropy, predicted label ids) over ``ds``."""
    from .. import no_grad

    model.eval()
    correct, total, preds = 0, 0.0, []
    with no_grad():
        for batch in _batches(ds, batch_size, collate):
            out = model(**batch)
            p = out.logits.numpy().argmax(-1)
            preds += p.tolist()
            correct += int((p == batch["labels"]).sum())
            total += float(out.loss.item()) * len(p)
    n = max(len(preds), 1)
    return correct / n, total / n, preds


def _classifier(args, num_labels, id2label):
    """BertForSequenceClassification for MODEL with a new head (random weights throughout with
    --from-scratch)."""
    import warnings

    from .llm import _as_usage_error, _loading, model_path
    from ..models import BertForSequenceClassification

    path = model_path(args.model, default="minilm")
    _loading(path, "finetune")
    try:
        with warnings.catch_warnings():  # "newly initialised: classifier": said below instead
            warnings.simplefilter("ignore")
            model = BertForSequenceClassification.from_pretrained(
                path, num_labels=num_labels, id2label=id2label)
    except (FileNotFoundError, ValueError, TypeError) as e:
        raise _as_usage_error(e, "minilm") from None
    if model.tokenizer is None:
        raise UsageError(f"{path}: the model has no tokenizer.json; add the model's tokenizer")
    if args.from_scratch:
        model.bert.reset_parameters()
    return model


def cmd_finetune_classify(args, out):
    from .. import manual_seed
    from ..data import SentenceCollator

    started = time.perf_counter()
    _check_out(args)
    targets = _check_method(args, None)
    if args.quantized:
        raise UsageError("--quantized keeps a GGUF language model's blocks; --task classify "
                         "fine-tunes a float encoder: leave --quantized out")
    train_ds = _sentences(args.data, "--data")
    if args.eval_data:
        eval_ds = _sentences(args.eval_data, "--eval-data", train_ds.label_names)
    else:
        try:
            train_ds, eval_ds = train_ds.split(args.eval_split, seed=args.seed)
        except ValueError as e:
            raise UsageError(f"--eval-split {args.eval_split}: {e}") from None
    if len(set(train_ds.labels.tolist())) < 2:
        raise UsageError(f"--data {args.data}: every training sentence has the label "
                         f"{train_ds.label_names[train_ds.labels[0]]!r}; a classifier needs two "
                         "labels or more")

    manual_seed(args.seed)
    model = _classifier(args, train_ds.num_labels, train_ds.id2label)
    tok = model.tokenizer
    collate = SentenceCollator(tok, args.max_len)
    base = model
    model = _to_train(model, args, args.full or args.from_scratch, targets, "SEQ_CLS")
    if model is not base:
        targets = list(model.active_peft_config.target_modules)
    if args.checkpointing:
        base.gradient_checkpointing_enable()
    if args.from_scratch:
        how = "from scratch (random weights, all parameters)"
    elif args.full:
        how = "all parameters"
    else:
        how = (f"LoRA r={args.lora_r}, alpha={args.lora_alpha:g} on {','.join(targets)} "
               "+ the classifier")
    name = os.path.basename(os.path.normpath(base.name_or_path or args.model))
    params, trainable, total_params, line = _parameter_line(
        model, how, name, len(train_ds), len(eval_ds),
        f"sentences, {train_ds.num_labels} labels")
    print(line, file=out, flush=True)

    before_acc, before_loss, before = evaluate_classifier(model, eval_ds, collate, args.batch_size)
    print(f"held-out accuracy before: {before_acc:.4f} (loss {before_loss:.4f})", file=out,
          flush=True)
    result = train(model, params, train_ds, collate, args, out)
    after_acc, after_loss, after = evaluate_classifier(model, eval_ds, collate, args.batch_size)
    print(f"held-out accuracy after:  {after_acc:.4f} (loss {after_loss:.4f}; "
          f"{result['steps']} steps, {result['train_seconds']:.1f} s)", file=out, flush=True)

    names = train_ds.label_names
    rows = [f"| {t.replace('|', '/')} | {names[y]} | {names[b]} | {names[a]} |"
            for t, y, b, a in list(zip(eval_ds.texts, eval_ds.labels, before, after))[:8]]
    title = f"{os.path.basename(os.path.normpath(args.out))}: {how}"
    samples = "\n".join([f"# {title}", "", "| sentence | label | before | after |",
                          "|---|---|---|---|", *rows]) + "\n"
    run = {"task": "classify", "base_model": base.name_or_path, "labels": names,
           "train_sentences": len(train_ds), "eval_sentences": len(eval_ds),
           "eval_accuracy_before": before_acc, "eval_accuracy_after": after_acc,
           "eval_loss_before": before_loss, "eval_loss_after": after_loss}
    if args.from_scratch:
        args.full = True  # what was trained and is written: the whole model
    _write_run(args, model, targets, trainable, total_params, result, run, samples, title,
               started, out)
    return 0


# === the parser ==================================================================================
def add_commands(sub):
    """Register ``finetune`` on the ``gradkit`` subparsers ``sub``."""
    f = sub.add_parser(
        "finetune", help="fine-tune a pretrained language model on conversations (LoRA or full)",
        description="Supervised fine-tuning on JSON Lines conversations: LoRA adapters (PEFT's "
                    "format) or, with --full, every parameter; AdamW, cosine schedule with "
                    "warm-up, gradient accumulation and clipping. Measures the held-out answer "
                    "loss before and after, and writes the adapter (or model), run.json, "
                    "loss.png and samples.md to --out.",
        epilog="Example: gradkit finetune smollm2 --data examples/data/gradkit_qa.jsonl "
               "--eval-split 0.1 --out runs/qa; then: gradkit chat smollm2 --adapter runs/qa. "
               f"{NO_DEFAULTS_NOTE}")
    f.add_argument("model", metavar="MODEL",
                   help="a .gguf file, a Hugging Face folder, or the shortcut smollm2 (minilm "
                        "with --task classify)")
    f.add_argument("--task", choices=("chat", "classify"), default="chat",
                   help="chat: a language model on conversations (JSON Lines); classify: a "
                        "sentence encoder (BERT) on 'sentence<TAB>label' lines (default: chat)")
    f.add_argument("--data", required=True, metavar="FILE",
                   help='training conversations, one per line: {"messages": [{"role": "user", '
                        '"content": ...}, {"role": "assistant", "content": ...}]}; with --task '
                        'classify, one "sentence<TAB>label" per line')
    held = f.add_mutually_exclusive_group()
    held.add_argument("--eval-data", metavar="FILE", help="held-out conversations (sentences)")
    held.add_argument("--eval-split", type=open_fraction, default=0.1, metavar="F",
                      help="without --eval-data: hold out the last F of --data (classify: a "
                           "stratified random F, seeded by --seed) (default: 0.1)")
    f.add_argument("--out", required=True, metavar="DIR", help="where to write the run")
    f.add_argument("--overwrite", action="store_true",
                   help="write into --out even if it exists and is not empty")
    lora = f.add_argument_group("LoRA (the default) or full fine-tuning")
    lora.add_argument("--lora-r", type=positive_int, default=8, metavar="R",
                      help="rank of the update (default: 8)")
    lora.add_argument("--lora-alpha", type=positive_float, default=16, metavar="A",
                      help="scale: the update is B A * alpha / r (default: 16)")
    lora.add_argument("--lora-dropout", type=fraction, default=0.05, metavar="P",
                      help="dropout on the adapter's input (default: 0.05)")
    lora.add_argument("--target", metavar="NAMES",
                      help="comma-separated Linear names to adapt (default: q_proj,v_proj)")
    lora.add_argument("--full", action="store_true",
                      help="train every parameter instead; writes the whole model")
    lora.add_argument("--quantized", action="store_true",
                      help="keep a GGUF file's Q4_1/Q8_0 blocks as the frozen base (QLoRA: a "
                           "fifth of the float32 memory, each product dequantizing as it goes)")
    lora.add_argument("--from-scratch", action="store_true",
                      help="with --task classify: the same architecture with random weights, "
                           "trained whole (the baseline that shows what pretraining buys)")
    t = f.add_argument_group("training")
    t.add_argument("--epochs", type=positive_int, default=1, metavar="N",
                   help="passes over the data (default: 1)")
    t.add_argument("--max-steps", type=positive_int, metavar="N",
                   help="stop after N optimizer steps (overrides --epochs)")
    t.add_argument("--lr", type=positive_float, default=2e-4, metavar="LR",
                   help="AdamW's peak learning rate (default: 2e-4)")
    t.add_argument("--weight-decay", type=non_negative_float, default=0.0, metavar="WD",
                   help="AdamW's decoupled weight decay (default: 0)")
    t.add_argument("--batch-size", type=positive_int, default=4, metavar="B",
                   help="conversations per micro-batch (default: 4)")
    t.add_argument("--grad-accum", type=positive_int, default=1, metavar="K",
                   help="micro-batches per optimizer step (default: 1)")
    t.add_argument("--max-len", type=positive_int, default=256, metavar="T",
                   help="tokens per conversation; longer ones are cut on the right, with a "
                        "warning (default: 256)")
    t.add_argument("--warmup", type=fraction, default=0.05, metavar="F",
                   help="fraction of the steps for the linear warm-up (default: 0.05)")
    t.add_argument("--clip", type=non_negative_float, default=1.0, metavar="C",
                   help="clip the joint gradient norm to C; 0 turns it off (default: 1.0)")
    t.add_argument("--checkpointing", action="store_true",
                   help="activation checkpointing per transformer block (less memory, ~1.3x "
                        "time)")
    t.add_argument("--seed", type=int, default=0, help="seed for the adapter and the shuffling "
                                                       "(default: 0)")
    t.add_argument("--prompts", nargs="+", metavar="TEXT",
                   help="prompts for samples.md (default: the first user message of the first "
                        f"{SAMPLE_PROMPTS} held-out conversations)")
    t.add_argument("--quiet", action="store_true", help="no progress output during training")
    t.add_argument("--checkpoint-every", type=positive_int, metavar="N",
                   help="save the whole training state to --out every N optimizer steps "
                        f"({FILES['checkpoint']}; removed when the run completes)")
    t.add_argument("--resume", action="store_true",
                   help="continue the interrupted run in --out from its checkpoint, exactly as "
                        "it would have gone on (same settings)")
    f.set_defaults(func=cmd_finetune)
