# A character-level language model as in the char-RNN tutorials: an embedding, an LSTM and a
# linear head trained on a text, then sampled with temperature, top-k and torch.multinomial.
# The text is the first 20,000 characters of tiny Shakespeare ($GRADKIT_DATA).
import json
import os

import gradkit as torch
import gradkit.nn as nn
import gradkit.nn.functional as F

text = open(os.path.join(os.environ["GRADKIT_DATA"], "tinyshakespeare", "input.txt"),
            encoding="utf-8").read()[:20000]
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
torch.manual_seed(0)


class CharLM(nn.Module):
    def __init__(self, vocab, emb=32, hidden=128):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, idx, state=None):
        out, state = self.lstm(self.emb(idx), state)
        return self.head(out), state


model = CharLM(len(chars))
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
seq, batch = 64, 32
for step in range(150):
    ix = torch.randint(len(data) - seq - 1, (batch,))
    xb = torch.stack([data[i:i + seq] for i in ix])
    yb = torch.stack([data[i + 1:i + seq + 1] for i in ix])
    logits, _ = model(xb)
    loss = F.cross_entropy(logits.view(-1, len(chars)), yb.view(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if step % 50 == 0:
        print(f"step {step}: loss {loss.item():.4f}")


@torch.no_grad()
def sample(start, n, temperature=0.8, top_k=10):
    idx = torch.tensor([[stoi[c] for c in start]])
    logits, state = model(idx)
    out = list(start)
    for _ in range(n):
        logits = logits[:, -1, :] / temperature
        v, _ = torch.topk(logits, top_k)
        logits[logits < v[:, [-1]]] = -float("Inf")
        probs = F.softmax(logits, dim=-1)
        nxt = torch.multinomial(probs, num_samples=1)
        out.append(chars[nxt.item()])
        logits, state = model(nxt, state)
    return "".join(out)


text_out = sample("ROMEO:", 200)
print(text_out)
model.eval()
with torch.no_grad():
    xb, yb = data[:-1][:4096].view(16, 256), data[1:][:4096].view(16, 256)
    val = F.cross_entropy(model(xb)[0].reshape(-1, len(chars)), yb.reshape(-1)).item()
print(json.dumps({"loss": val, "sample_chars_known": all(c in stoi for c in text_out),
                  "sample_length": len(text_out)}))
